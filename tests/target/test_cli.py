"""The console script: every state reaches stdout and the exit status is right (no interpreter teardown)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.target.singer import hubspot, query, record, schema, state

EXECUTABLE = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "target-supabase-hybrid"


def run_cli(database_url: str, tmp_path: Path, messages: list[dict]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"database_url": database_url}))
    return subprocess.run(  # our own console script, as Meltano runs it
        [str(EXECUTABLE), "--config", str(config)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_given_a_run_then_every_state_is_on_stdout_and_the_status_is_zero(database_url, tmp_path):
    messages = [schema("deals"), *(record("deals", hubspot(str(i))) for i in range(3)), state({"b": 1})]
    done = run_cli(database_url, tmp_path, messages)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"b": 1}]
    assert len(query(database_url, "SELECT 1 FROM hubspot_deals_raw")) == 3


def test_given_a_failed_batch_then_the_status_is_not_zero_and_no_state_is_printed(database_url, tmp_path):
    messages = [schema("deals"), record("deals", {"id": None}), state({"b": 1})]
    done = run_cli(database_url, tmp_path, messages)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "null key property" in done.stderr


def test_given_an_invalid_config_then_the_status_is_not_zero(database_url, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"database_url": database_url, "batch_size": 0}))
    done = subprocess.run(
        [str(EXECUTABLE), "--config", str(config)], input="", capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Config validation failed" in done.stderr
