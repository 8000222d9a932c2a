"""PostgreSQL going away mid-run (connections terminated from another session, server stopped): the target
reconnects and retries while the outage is shorter than its retries, and otherwise fails clearly without a
state covering what it could not commit; either way the next run completes exactly."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.harness.landed import assert_database_equals_portal, assert_state_covers_only_committed
from tests.harness.pipeline import run_pipeline, start
from tests.harness.presets import PIPELINE_PORTAL, PIPELINE_TOKEN
from tests.harness.runner import Run
from tests.hubspot_simulator import Simulator
from tests.local_postgres import LocalPostgres

REPO_ROOT = Path(__file__).resolve().parents[2]
TERMINATE_TARGET = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE application_name = 'target-supabase-hybrid' AND pid <> pg_backend_pid()"
)
DB_PASSWORD = "pg-s3cret-pw"
# Nothing is committed until a STATE arrives (batches far larger than the portal, a checkpoint at every
# STATE), so the outage below always meets a commit that covers records the target holds.
COMMIT_AT_STATE = {"batch_size": 100_000, "state_checkpoint_seconds": 0}


@pytest.fixture
def slow_portal(make_simulator: Any) -> Simulator:
    """Slow enough (latency per request) that the database can be disturbed mid-run."""
    sim: Simulator = make_simulator(**{**PIPELINE_PORTAL, "latency_ms": 120.0})
    return sim


@pytest.fixture
def own_postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL of our own, so stopping it disturbs no other test."""
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


def outage_url(server: LocalPostgres) -> str:
    server.psql("postgres", "CREATE DATABASE outage")
    return server.url("outage").replace("postgres@", f"postgres:{DB_PASSWORD}@")


def first_state_after_records(message: dict[str, Any], run: Run) -> bool:
    return message.get("type") == "STATE" and run.record_count > 0


def stop_postgres_when_the_target_must_commit(
    sim: Simulator, server: LocalPostgres, workdir: Path, max_retries: int
) -> tuple[Run, str]:
    """Start the pipeline, stop ``server`` just before the target gets its first STATE (so it must commit
    the records it holds while the server is down), then let the STATE through."""
    url = outage_url(server)
    run = start(
        sim,
        url,
        workdir,
        target={**COMMIT_AT_STATE, "max_retries": max_retries},
        hold_before=first_state_after_records,
    )
    run.wait_until_held()
    server.stop()
    run.release()
    return run, url


def assert_no_secret_in_output(run: Run) -> None:
    output = run.stderr() + run.stdout()
    assert DB_PASSWORD not in output
    assert PIPELINE_TOKEN not in output


def test_given_target_connections_terminated_mid_run_then_batches_retry_and_everything_lands_once(
    slow_portal: Simulator, database_url: str, tmp_path: Path
) -> None:
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    run = start(slow_portal, database_url, tmp_path, target={"batch_size": 20})
    terminated = 0
    for threshold in (40, 120, 200, 300):

        def reached(r: Run, n: int = threshold) -> bool:
            return r.record_count >= n or r.tap.poll() is not None

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


def test_given_postgres_down_while_the_target_commits_then_it_retries_until_back_and_lands_everything(
    slow_portal: Simulator, own_postgres: LocalPostgres, tmp_path: Path
) -> None:
    # 8 retries, 0.5 s doubling: over two minutes of them.
    run, url = stop_postgres_when_the_target_must_commit(slow_portal, own_postgres, tmp_path, max_retries=8)
    # Back only after a reconnect attempt has failed too: the target kept retrying a server that was down.
    run.wait_for(lambda r: r.stderr("target").count("Transient database error") >= 2)
    own_postgres.start()
    run.finish()

    assert run.ok, run.stderr()[-4000:]
    assert_no_secret_in_output(run)
    assert_state_covers_only_committed(run, url)
    assert_database_equals_portal(slow_portal, url)


def test_given_postgres_down_longer_than_the_retries_then_the_target_fails_clearly_and_the_rerun_is_exact(
    slow_portal: Simulator, own_postgres: LocalPostgres, tmp_path: Path
) -> None:
    run, url = stop_postgres_when_the_target_must_commit(slow_portal, own_postgres, tmp_path, max_retries=1)
    run.finish()
    own_postgres.start()

    assert run.returncode("target") != 0
    assert "database" in run.stderr("target").lower()
    assert_no_secret_in_output(run)
    # No state covers the records it could not commit (it may have printed none at all).
    assert_state_covers_only_committed(run, url, state_expected=False)
    run_pipeline(slow_portal, url, tmp_path, state=run.state)
    assert_database_equals_portal(slow_portal, url)
