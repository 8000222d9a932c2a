"""PostgreSQL going away mid-run (connections terminated from another session, server restarted): the target
reconnects and retries, or fails clearly without printing state; the next run completes exactly."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.hubspot_simulator import Simulator
from tests.local_postgres import LocalPostgres
from tests.reliability.pipeline import (
    PORTAL,
    TOKEN,
    Run,
    assert_database_equals_portal,
    assert_state_covers_only_committed,
    run_pipeline,
    start,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
TERMINATE_TARGET = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE application_name = 'target-supabase-hybrid' AND pid <> pg_backend_pid()"
)


@pytest.fixture
def slow_portal(make_simulator: Any) -> Simulator:
    """Slow enough (latency per request) that the database can be disturbed mid-run."""
    sim: Simulator = make_simulator(**{**PORTAL, "latency_ms": 120.0})
    return sim


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL of our own, so restarting it disturbs no other test."""
    data_dir = REPO_ROOT / ".data" / f"reliability-postgres-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    server = LocalPostgres(data_dir, durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        Path(f"{data_dir}.listen_port").unlink(missing_ok=True)


def test_given_target_connections_terminated_mid_run_then_batches_retry_and_everything_lands_once(
    slow_portal: Simulator, database_url: str, tmp_path: Path
) -> None:
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    run = start(slow_portal, database_url, tmp_path, target={"batch_size": 20})
    terminated = 0
    for threshold in (40, 120, 200, 300):

        def reached(r: Run, n: int = threshold) -> bool:
            return len(r.records) >= n or r.tap.poll() is not None

        run.wait_for(reached)
        with admin.cursor() as cur:
            cur.execute(TERMINATE_TARGET)
            terminated += cur.fetchone()[0]
    run.finish()
    admin.close()

    assert run.ok, run.stderr()[-4000:]
    assert terminated >= 2  # the target really lost its connection mid-run
    assert "Transient database error" in run.stderr("target")
    assert_state_covers_only_committed(run, database_url)
    assert_database_equals_portal(slow_portal, database_url)


def test_given_postgres_restarted_mid_run_then_target_recovers_or_fails_without_state_and_rerun_is_exact(
    slow_portal: Simulator, own_postgres: LocalPostgres, tmp_path: Path
) -> None:
    own_postgres.psql("postgres", "CREATE DATABASE outage")
    url = own_postgres.url("outage").replace("postgres@", "postgres:pg-s3cret-pw@")
    run = start(slow_portal, url, tmp_path, target={"batch_size": 20, "max_retries": 8})
    run.wait_for(lambda r: len(r.records) >= 60)
    own_postgres.stop()
    restarter = threading.Timer(1.5, own_postgres.start)
    restarter.start()
    run.finish()
    restarter.join()

    output = run.stderr() + run.stdout()
    assert "pg-s3cret-pw" not in output
    assert TOKEN not in output
    if run.target.returncode == 0:
        assert "Transient database error" in run.stderr("target")
        assert_state_covers_only_committed(run, url)
        state = run.state
    else:  # a clear failure, and no state that would skip what was not committed
        assert run.states == []
        assert "database" in run.stderr("target").lower()
        state = None
    time.sleep(0.1)
    run_pipeline(slow_portal, url, tmp_path, state=state)
    assert_database_equals_portal(slow_portal, url)
