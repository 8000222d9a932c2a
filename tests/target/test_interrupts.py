"""SIGINT / SIGTERM to the target's process: the batch in progress rolls back, no state beyond what is
committed is printed, this run's sync_logs rows say `interrupted`, the log says so without a traceback, and
the exit status is 130 / 143. Driven through the target's CLI; a slow statement trigger holds a batch
mid-commit."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest

from tests.target.cli import RunningTarget, run_target
from tests.target.singer import hubspot, query, record, schema, state

SLOW_CONTACT_INSERTS = """
CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
CREATE TRIGGER slow BEFORE INSERT ON hubspot_contacts_raw FOR EACH STATEMENT EXECUTE FUNCTION slow_down();
"""
SLEEPING_TARGET = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'target-supabase-hybrid'"
    " AND wait_event = 'PgSleep'"
)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def scalar(database_url: str, sql: str) -> int:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
            assert row is not None
            return int(row[0])
    finally:
        conn.close()


def contacts(first: int, count: int) -> list[dict]:
    return [record("contacts", hubspot(str(i))) for i in range(first, first + count)]


def deals(first: int, count: int) -> list[dict]:
    return [record("deals", hubspot(str(i), amount="5")) for i in range(first, first + count)]


@pytest.fixture
def slow_database(database_url: str, tmp_path: Path) -> str:
    """The target's tables, created by a first run; each INSERT/COPY into contacts then takes a second."""
    created = run_target(tmp_path, {"database_url": database_url}, [schema("contacts"), schema("deals")])
    assert created.returncode == 0, created.stderr[-3000:]
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute(SLOW_CONTACT_INSERTS)
    conn.close()
    return database_url


def start_and_commit_a_checkpoint(database_url: str, tmp_path: Path, batch_size: int) -> RunningTarget:
    """A target with 10 contacts and 5 deals committed and state {"n": 1} printed."""
    target = RunningTarget.start(
        tmp_path, {"database_url": database_url, "batch_size": batch_size, "state_checkpoint_seconds": 0}
    )
    target.send(schema("contacts"), schema("deals"), *contacts(0, 10), *deals(0, 5), state({"n": 1}))
    wait_until(lambda: target.states == [{"n": 1}], "the first checkpoint")
    return target


def assert_interrupted_cleanly(target: RunningTarget, database_url: str, signum: int) -> None:
    code = target.wait()
    name = signal.Signals(signum).name
    assert code == 128 + signum, target.stderr[-3000:]
    assert f"Interrupted by {name}" in target.stderr
    assert "Traceback" not in target.stderr
    assert target.states == [{"n": 1}]  # nothing printed beyond the committed checkpoint
    logs = query(
        database_url,
        "SELECT stream, status, error, records_inserted, finished_at IS NOT NULL AS finished FROM sync_logs"
        " WHERE status <> 'success' ORDER BY stream",
    )
    assert [(log["stream"], log["status"], log["error"], log["finished"]) for log in logs] == [
        ("contacts", "interrupted", f"interrupted by {name}", True),
        ("deals", "interrupted", f"interrupted by {name}", True),
    ]
    inserted = {log["stream"]: log["records_inserted"] for log in logs}
    # Whole batches only: the rows are exactly what sync_logs (written in each batch's transaction) counts.
    assert scalar(database_url, "SELECT count(*) FROM hubspot_contacts_raw") == inserted["contacts"] == 10
    assert scalar(database_url, "SELECT count(*) FROM hubspot_deals_raw") == inserted["deals"]
    assert inserted["deals"] in (5, 10)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(10, id="full-batch-commit-in-main-thread"),
        pytest.param(1000, id="checkpoint-drain-threads"),
    ],
)
def test_given_signal_while_a_batch_is_being_committed_then_it_rolls_back_and_the_run_says_interrupted(
    slow_database: str, tmp_path: Path, signum: int, batch_size: int
) -> None:
    target = start_and_commit_a_checkpoint(slow_database, tmp_path, batch_size)
    target.send(*deals(5, 5), *contacts(10, 10), state({"n": 2}))
    wait_until(lambda: scalar(slow_database, SLEEPING_TARGET) > 0, "a contacts batch in its COPY")

    target.proc.send_signal(signum)

    assert_interrupted_cleanly(target, slow_database, signum)
    assert scalar(slow_database, "SELECT count(*) FROM hubspot_contacts_raw WHERE hubspot_id::int >= 10") == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_given_signal_while_waiting_for_input_then_it_stops_at_once_and_says_interrupted(
    slow_database: str, tmp_path: Path, signum: int
) -> None:
    target = start_and_commit_a_checkpoint(slow_database, tmp_path, batch_size=1000)
    target.send(*contacts(10, 3))  # pending, not yet covered by a state

    target.proc.send_signal(signum)

    assert_interrupted_cleanly(target, slow_database, signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("full_sync", [False, True], ids=["incremental", "full-sync-activate-version"])
def test_given_signal_after_a_stream_ended_then_its_records_and_state_are_kept(
    database_url: str, tmp_path: Path, signum: int, full_sync: bool
) -> None:
    # Default settings: the periodic checkpoint (60 s) is not what commits contacts here.
    target = RunningTarget.start(tmp_path, {"database_url": database_url})
    ended = [state({"n": 1})]
    if full_sync:  # tap-hubspot-raw's full sync: ACTIVATE_VERSION (which commits the records), then STATE
        ended = [{"type": "ACTIVATE_VERSION", "stream": "contacts", "version": 7}, *ended]
    records = [{**message, "version": 7} if full_sync else message for message in contacts(0, 10)]
    target.send(schema("contacts"), *records, *ended, schema("deals"), *deals(0, 3))
    wait_until(lambda: target.states == [{"n": 1}], "the state after contacts ended")
    wait_until(
        lambda: scalar(database_url, "SELECT count(*) FROM sync_logs WHERE stream = 'deals'") == 1,
        "the deals table set up",
    )

    target.proc.send_signal(signum)

    assert target.wait() == 128 + signum, target.stderr[-3000:]
    assert target.states == [{"n": 1}]
    assert scalar(database_url, "SELECT count(*) FROM hubspot_contacts_raw") == 10
    assert scalar(database_url, "SELECT count(*) FROM hubspot_deals_raw") == 0  # not covered by a state
    statuses = query(database_url, "SELECT stream, status FROM sync_logs ORDER BY stream")
    assert [(log["stream"], log["status"]) for log in statuses] == [
        ("contacts", "interrupted"),
        ("deals", "interrupted"),
    ]
