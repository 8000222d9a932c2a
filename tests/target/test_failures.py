"""Nothing lost silently: failed batches stop the run without state; transient errors retry."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_supabase_hybrid.sinks import BatchLoadError
from tests.target.singer import hubspot, query, record, run, schema, state, sync_logs

REFUSE_ID_13 = """
CREATE FUNCTION refuse_13() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hubspot_id = '13' THEN RAISE EXCEPTION 'refusing record 13' USING ERRCODE = '23514'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_13 BEFORE INSERT ON hubspot_contacts_raw FOR EACH ROW EXECUTE FUNCTION refuse_13();
"""


def _execute(database_url: str, sql: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"postgres:{password}@{parts.hostname}:{parts.port}"))


def test_given_refused_batch_then_run_fails_state_not_advanced_and_log_says_why(database_url):
    first = [
        schema("contacts"),
        *(record("contacts", hubspot(str(i))) for i in range(10)),
        state({"bookmark": 1}),
    ]
    assert run(database_url, first) == [{"bookmark": 1}]
    _execute(database_url, REFUSE_ID_13)
    url = _with_password(database_url, "s3cret-pw")  # trust auth ignores it; it must never be echoed

    second = [
        schema("contacts"),
        *(record("contacts", hubspot(str(i), email="changed@x.io")) for i in range(10, 14)),
        state({"bookmark": 2}),
        *(record("contacts", hubspot(str(i))) for i in range(14, 20)),
        state({"bookmark": 3}),
    ]
    with pytest.raises(BatchLoadError) as failure:
        run(url, second, batch_size=4)
    assert "refusing record 13" in str(failure.value)
    assert "s3cret-pw" not in str(failure.value)

    ids = sorted(
        int(r["hubspot_id"]) for r in query(database_url, "SELECT hubspot_id FROM hubspot_contacts_raw")
    )
    assert ids == list(range(10))  # the failed batch (10..13) left nothing behind
    log = query(database_url, "SELECT * FROM sync_logs ORDER BY id")[-1]
    assert (log["status"], log["records_failed"], log["records_inserted"]) == ("failed", 4, 0)
    assert "refusing record 13" in log["error"]
    assert "s3cret-pw" not in log["error"]


def test_given_failure_after_committed_batches_then_status_partial_and_no_state_printed(database_url, capsys):
    run(database_url, [schema("contacts")])
    _execute(database_url, REFUSE_ID_13)
    messages = [
        schema("contacts"),
        *(record("contacts", hubspot(str(i))) for i in range(20)),
        state({"b": 9}),
    ]
    with pytest.raises(BatchLoadError):
        run(database_url, messages, batch_size=5)
    assert '"b"' not in capsys.readouterr().out
    assert len(query(database_url, "SELECT 1 FROM hubspot_contacts_raw")) == 10  # batches 0-4, 5-9 committed
    log = query(database_url, "SELECT * FROM sync_logs ORDER BY id")[-1]
    assert (log["status"], log["records_inserted"], log["records_failed"]) == ("partial", 10, 5)


@pytest.mark.parametrize(
    "failure",
    [
        "RAISE EXCEPTION 'simulated' USING ERRCODE = '40001'",  # serialization failure
        "RAISE EXCEPTION 'simulated' USING ERRCODE = '40P01'",  # deadlock detected
        "PERFORM pg_terminate_backend(pg_backend_pid())",  # connection dropped
    ],
)
def test_given_transient_error_then_batch_is_retried_and_lands_once(database_url, failure):
    run(database_url, [schema("deals")])
    _execute(
        database_url,
        f"""CREATE SEQUENCE attempts;
        CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF nextval('attempts') = 1 THEN {failure}; END IF; RETURN NEW; END $$;
        CREATE TRIGGER fail_once BEFORE INSERT ON hubspot_deals_raw
            FOR EACH ROW EXECUTE FUNCTION fail_once();""",
    )
    states = run(
        database_url, [schema("deals"), record("deals", hubspot("1", amount="5")), state({"ok": True})]
    )
    assert states == [{"ok": True}]
    assert query(database_url, "SELECT hubspot_id, amount FROM hubspot_deals_raw")[0]["amount"] == 5
    log = sync_logs(database_url)["deals"]
    assert (log["status"], log["records_inserted"], log["batches"]) == ("success", 1, 1)


def test_given_null_key_then_run_fails_clearly(database_url):
    with pytest.raises(BatchLoadError, match="null key property"):
        run(database_url, [schema("contacts"), record("contacts", {"id": None, "properties": {}})])


def test_given_unparseable_line_then_error_and_logs_name_the_problem_not_the_record(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    private = "jane.doe.private@example.com"
    broken = '{"type": "RECORD", "stream": "contacts", "record": {"id": "1", "email": "' + private + '"'

    with pytest.raises(InvalidInputLine) as failure:
        run(database_url, [schema("contacts"), broken])

    assert "character" in str(failure.value)
    assert private not in str(failure.value)
    assert private not in caplog.text


def test_given_stdin_with_invalid_utf8_then_the_cli_fails_clearly_without_echoing_the_record(
    database_url: str, tmp_path
) -> None:
    private = b"jane.doe.private@example.com"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"database_url": database_url}))
    lines = [
        json.dumps(schema("contacts")).encode(),
        b'{"type": "RECORD", "stream": "contacts", "record": {"id": "1", "email": "' + private + b'\xff"}}',
    ]
    done = subprocess.run(  # our own CLI, reading stdin as bytes
        [sys.executable, "-m", "target_supabase_hybrid", "--config", str(config)],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode != 0
    assert b"not valid UTF-8" in done.stderr
    assert private not in done.stderr
    assert private not in done.stdout
