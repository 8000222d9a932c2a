"""`scripts/demo` as a new user runs it: quiet by default, the run id in its summary, and honest about ports —
another clone's demo PostgreSQL on the default port, or a different DEMO_PG_PORT while its own still runs."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.meltano_project import REPO_ROOT
from tests.harness.catalogs import MELTANO_STREAMS
from tests.local_postgres import free_port, port_is_free
from tests.target.singer import query

pytestmark = [pytest.mark.xdist_group("meltano"), pytest.mark.slow]

DEFAULT_PG_PORT = 54329


@contextmanager
def port_taken(port: int) -> Iterator[None]:
    """Something listening on `port`, as another clone's demo PostgreSQL would be (if nothing already is)."""
    if not port_is_free(port):
        yield
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    """The demo's data folder, under .data like the real one (its server user cannot reach pytest's tmp)."""
    path = REPO_ROOT / ".data" / f"test-demo-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_demo(demo: Path, *args: str, **env: str) -> str:
    """Run scripts/demo with its data and Meltano's system database in `demo`, on a small portal."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_HUBSPOT_RAW_", "TARGET_SUPABASE_HYBRID_", "MELTANO_", "DEMO_"))
    }
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "demo"), *args],
        env={
            **base,
            "DEMO_DATA_DIR": str(demo),
            "DEMO_CONTACTS": "150",
            "DEMO_DEALS": "20",
            "DEMO_CALLS": "40",
            "MELTANO_DATABASE_URI": f"sqlite:///{demo / 'meltano.db'}",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return output


def summary(output: str) -> tuple[str, str]:
    """(run id, PostgreSQL URL) from the demo's closing message."""
    run_id = re.search(r"^Run id: (\S+)", output, flags=re.MULTILINE)
    url = re.search(r"^  URL:  (\S+)", output, flags=re.MULTILINE)
    assert run_id is not None, output[-3000:]
    assert url is not None, output[-3000:]
    return run_id.group(1), url.group(1)


def test_given_busy_default_port_and_then_another_port_while_running_then_demo_says_which_port_it_really_uses(
    demo_dir: Path,
) -> None:
    try:
        with port_taken(DEFAULT_PG_PORT):
            first = run_demo(demo_dir)
        run_id, url = summary(first)
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert (
            f"Port {DEFAULT_PG_PORT} is in use (another clone's demo PostgreSQL?); using port {port}" in first
        )
        assert port != DEFAULT_PG_PORT
        assert "METRIC" not in first
        logs = query(
            url, "SELECT stream, status FROM sync_logs WHERE meltano_run_id = %s ORDER BY 1", (run_id,)
        )
        assert logs == [{"stream": s, "status": "success"} for s in MELTANO_STREAMS]
        assert f"sync_logs rows of run {run_id}" in first

        other = free_port()
        second = run_demo(demo_dir, "--metrics", DEMO_PG_PORT=str(other))
        second_run_id, second_url = summary(second)
        assert f"already running on port {port}; port {other} applies after it is stopped" in second
        assert second_url == url
        assert port_is_free(other)  # nothing was started there, and nothing there was used
        assert "METRIC" in second
        assert second_run_id != run_id
        rows = query(url, "SELECT count(*) AS n FROM sync_logs WHERE meltano_run_id = %s", (second_run_id,))
        assert rows == [{"n": len(MELTANO_STREAMS)}]
    finally:
        run_demo(demo_dir, "--stop")
