"""The tap's output feeds a different Singer target unchanged (target-jsonl, in its own venv)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tap.conftest import run_tap, tap_config

pytestmark = pytest.mark.needs_registry  # installs target-jsonl from PyPI (once, into .data/)

REPO_ROOT = Path(__file__).resolve().parents[2]
# target-jsonl pins old singer-python and conflicts with meltano in the main venv: it gets its own.
VENV = REPO_ROOT / ".data" / "tap-tests-target-jsonl-venv"
TARGET = VENV / "bin" / "target-jsonl"


def ensure_target_jsonl() -> Path:
    """Install target-jsonl 0.1.4 into a separate venv under .data/ (once), or skip if PyPI is unreachable."""
    if TARGET.exists():
        return TARGET
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
    install = subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "-q", "target-jsonl==0.1.4"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"cannot install target-jsonl from the package registry: {install.stderr[-500:]}")
    return TARGET


def test_tap_output_loads_into_target_jsonl_unchanged(portal_sim, tmp_path):
    target = ensure_target_jsonl()
    out = run_tap(tap_config(portal_sim))
    (tmp_path / "target.json").write_text(
        json.dumps({"destination_path": str(tmp_path / "out"), "do_timestamp_file": False})
    )

    result = subprocess.run(
        [str(target), "--config", str(tmp_path / "target.json")],
        input=out.text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    for stream in ("contacts", "deals", "calls"):
        lines = (tmp_path / "out" / f"{stream}.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in lines] == out.records[stream]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == out.state
