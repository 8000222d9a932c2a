"""Streamed batches: into a new table, rows are COPYed while the input is still being read, and whatever
stops the run, nothing of an open batch is committed and no transaction stays open."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

import psycopg2
import pytest
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_supabase_hybrid.target import TargetSupabaseHybrid
from tests.target.singer import hubspot, query, record, run, schema, state, sync_logs

TARGET_CONNECTIONS = "application_name = 'target-supabase-hybrid' AND pid <> pg_backend_pid()"


def listen(database_url: str, lines: Iterator[str], **config: Any) -> None:
    """Feed lines to a new target one at a time (the generator runs between records)."""
    target = TargetSupabaseHybrid(config={"database_url": database_url, **config})
    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(cast("IO[str]", lines))  # the reader only iterates over it


def poll(database_url: str, sql: str, done: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """Run `sql` until `done(first value)` holds (the target's worker thread runs concurrently)."""
    deadline = time.monotonic() + timeout
    while True:
        value = query(database_url, sql)[0]["v"]
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def contacts(ids: range) -> list[str]:
    return [json.dumps(record("contacts", hubspot(str(i), email=f"{i}@x.io"))) for i in ids]


def test_given_a_new_table_when_records_are_still_arriving_then_they_are_already_being_copied(database_url):
    seen: dict[str, Any] = {}

    def lines() -> Iterator[str]:
        yield json.dumps(schema("contacts"))
        yield from contacts(range(2000))
        # Mid-batch (batch_size 5,000): the COPY runs and the server has rows, none of them committed yet.
        seen["copying"] = poll(
            database_url,
            f"SELECT count(*) AS v FROM pg_stat_activity WHERE {TARGET_CONNECTIONS} AND state = 'active'"
            ' AND query LIKE \'COPY "public"."hubspot_contacts_raw"%%\'',
            lambda v: v == 1,
        )
        seen["tuples"] = poll(
            database_url,
            "SELECT coalesce(max(tuples_processed), 0) AS v FROM pg_stat_progress_copy",
            lambda v: v > 0,
        )
        seen["visible"] = query(database_url, "SELECT count(*) AS v FROM hubspot_contacts_raw")[0]["v"]
        yield from contacts(range(2000, 2500))
        yield json.dumps(state({"bookmark": 1}))

    listen(database_url, lines())
    assert seen == {"copying": 1, "tuples": seen["tuples"], "visible": 0}
    assert seen["tuples"] > 0
    assert query(database_url, "SELECT count(*) AS v FROM hubspot_contacts_raw")[0]["v"] == 2500
    log = sync_logs(database_url)["contacts"]
    assert (log["status"], log["records_inserted"], log["batches"]) == ("success", 2500, 1)


def test_given_a_streamed_batch_when_the_input_breaks_then_nothing_is_committed_and_no_transaction_stays_open(
    database_url,
):
    def lines() -> Iterator[str]:
        yield json.dumps(schema("contacts"))
        yield from contacts(range(1000))
        poll(
            database_url,
            f"SELECT count(*) AS v FROM pg_stat_activity WHERE {TARGET_CONNECTIONS} AND state = 'active'",
            lambda v: v == 1,
        )
        yield '{"type": "RECORD", "stream": "contacts", "record": {"id": "broken'

    with pytest.raises(InvalidInputLine):
        listen(database_url, lines())
    assert query(database_url, "SELECT count(*) AS v FROM hubspot_contacts_raw")[0]["v"] == 0
    open_work = query(
        database_url,
        f"SELECT count(*) AS v FROM pg_stat_activity WHERE {TARGET_CONNECTIONS}"
        " AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')",
    )[0]["v"]
    assert open_work == 0


def test_given_two_streams_writing_one_table_then_both_land_without_waiting_on_each_other(
    database_url, monkeypatch
):
    # A lock wait between the target's own connections would hang the run: make it fail instead.
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=5s")
    tables = {name: {"table": "shared", "key": ["id"]} for name in ("first", "second")}
    messages = [
        schema("first"),
        *(record("first", {"id": str(i), "v": "first"}) for i in range(1, 6)),
        schema("second"),
        *(record("second", {"id": str(i), "v": "second"}) for i in range(3, 9)),
        state({"bookmark": 1}),
    ]
    assert run(database_url, messages, tables=tables) == [{"bookmark": 1}]
    rows = {
        r["id"]: r["raw_json"]["v"]
        for r in query(database_url, "SELECT hubspot_id AS id, raw_json FROM shared")
    }
    assert rows == {"1": "first", "2": "first", **{str(i): "second" for i in range(3, 9)}}


def test_given_a_key_repeated_in_a_streamed_batch_then_only_the_kept_record_counts_conversion_nulls(
    database_url,
):
    messages = [
        schema("contacts"),
        record("contacts", hubspot("1", vsl_watched="maybe")),
        record("contacts", hubspot("2", vsl_watched="maybe")),
        record("contacts", hubspot("3", vsl_watch_duration="1.5")),
        record("contacts", hubspot("1", vsl_watched="TRUE", vsl_watch_duration="12")),
    ]
    run(database_url, messages)
    rows = {r["hubspot_id"]: r for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")}
    assert (rows["1"]["vsl_watched"], rows["1"]["vsl_watch_duration"]) == (True, 12)
    assert (rows["2"]["vsl_watched"], rows["3"]["vsl_watch_duration"]) == (None, None)
    log = sync_logs(database_url)["contacts"]
    assert (log["records_inserted"], log["duplicates_merged"]) == (3, 1)
    assert log["conversion_nulls_by_column"] == {"vsl_watched": 1, "vsl_watch_duration": 1}


MESSY = [
    hubspot("1", email="tab\tand\\backslash", phone="8 (912) 345-67-89", createdate="1700000000000"),
    hubspot("2", firstname="nul\u0000char", lastname="lone \ud800 surrogate", vsl_watch_duration="3.0"),
    hubspot("3", amount=1.50, hubspot_owner_id={"nested": [1, 2.25]}, vsl_watched="no", createdate="soon"),
    {"id": "4", "properties": "not an object", "updatedAt": 1717200000000, "archived": "TRUE"},
    {"id": "5", "properties": {"email": "é ✓ \U0001f600", "mobilephone": "+1 650 253 0000 ext. 7"}},
]


def test_given_the_same_records_then_streamed_and_looked_up_loads_store_identical_rows(database_url):
    def load(schema_name: str, seed_first: bool) -> list[dict]:
        messages: list[dict | str] = [schema("contacts")]
        if seed_first:  # a table with rows: stored hashes are looked up, lines built from the JSON
            run(database_url, [*messages, record("contacts", hubspot("0"))], schema=schema_name)
        run(database_url, [*messages, *(record("contacts", r) for r in MESSY)], schema=schema_name)
        return query(
            database_url,
            f"SELECT * FROM {schema_name}.hubspot_contacts_raw WHERE hubspot_id <> '0' ORDER BY hubspot_id",
        )

    streamed, looked_up = load("streamed", seed_first=False), load("looked_up", seed_first=True)
    for row in [*streamed, *looked_up]:
        del row["synced_at"]
    assert streamed == looked_up
    assert streamed[0]["email"] == "tab\tand\\backslash"
    assert streamed[1]["firstname"] == "nulchar"

    def nulls(schema_name: str) -> Any:
        return query(database_url, f"SELECT conversion_nulls_by_column AS v FROM {schema_name}.sync_logs")

    assert nulls("streamed")[-1] == nulls("looked_up")[-1]
    assert nulls("streamed")[-1]["v"]


def test_given_a_streamed_copy_blocked_on_a_lock_then_abort_cancels_it(database_url):
    from target_supabase_hybrid.streamed_copy import StreamedCopy

    run(database_url, [schema("deals")])
    blocker = psycopg2.connect(database_url)
    conn = psycopg2.connect(database_url)
    try:
        with blocker.cursor() as cur:
            cur.execute("LOCK TABLE hubspot_deals_raw IN ACCESS EXCLUSIVE MODE")
        stream = StreamedCopy(conn, "COPY hubspot_deals_raw (hubspot_id, raw_json) FROM STDIN", name="deals")
        stream.write(b'1\t{"id": "1"}')
        started = time.monotonic()
        stream.abort()
        assert time.monotonic() - started < 15
        assert stream.failed
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        blocker.close()
        conn.close()


def test_given_a_key_repeated_within_a_batch_then_later_batches_still_stream(database_url, caplog):
    caplog.set_level(logging.INFO)
    ids = ["1", "1", "2", "3", "4", "5"]  # batch_size 3: the first batch repeats a key, the second does not
    run(database_url, [schema("contacts"), *(record("contacts", hubspot(i)) for i in ids)], batch_size=3)
    committed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Committed")]
    assert len(committed) == 2
    assert "after streaming" not in committed[0]
    assert "after streaming" in committed[1]
    assert "Streamed COPY into" not in caplog.text
    assert query(database_url, "SELECT count(*) AS v FROM hubspot_contacts_raw")[0]["v"] == 5


def test_given_record_text_with_tabs_escapes_or_odd_shapes_then_it_loads_as_json(database_url):
    prefix = '{"type": "RECORD", "stream": "contacts", "record": '
    lines = [
        json.dumps(schema("contacts")),
        prefix + '{"id":\t"1",\r"properties": {"email": "a@x.io"}}}',
        prefix + '{"id": "2", "properties": {"firstname": "\\u00e9\\ud83d\\ude00"}}}',
        prefix + '{"id": "3", "properties": null}}',
        prefix + '{"id": "4", "properties": {"email": "\\\\u0000 is text"}}}',
    ]
    for name, seeded in (("fresh", False), ("seeded", True)):  # lines built on arrival / from stored JSON
        if seeded:
            run(database_url, [schema("contacts"), record("contacts", hubspot("0"))], schema=name)
        run(database_url, lines, schema=name)
        rows = {r["hubspot_id"]: r for r in query(database_url, f"SELECT * FROM {name}.hubspot_contacts_raw")}
        assert rows["1"]["email"] == "a@x.io", name
        assert rows["1"]["raw_json"] == {"id": "1", "properties": {"email": "a@x.io"}}
        assert rows["2"]["firstname"] == "é\U0001f600"
        assert rows["3"]["raw_json"]["properties"] is None
        assert rows["4"]["email"] == "\\u0000 is text"


@pytest.mark.parametrize(
    "config",
    [{"stream_maps": {"contacts": {"mapped": "'yes'"}}}, {"validate_records": True}],
    ids=["stream_maps", "validate_records"],
)
def test_given_the_sdk_record_path_then_records_arrive_as_dicts_and_land(database_url, config):
    rec = hubspot("1", email="a@x.io")
    run(database_url, [schema("contacts"), record("contacts", rec)], **config)
    row = query(database_url, "SELECT email, raw_hash, raw_json FROM hubspot_contacts_raw")[0]
    assert row["email"] == "a@x.io"
    stored = row["raw_json"]
    assert stored["id"] == "1"
    if "stream_maps" in config:
        assert stored["mapped"] == "yes"
    # Serialised again from the dict the SDK handed over, not hashed as received.
    assert row["raw_hash"] != hashlib.md5(json.dumps(rec).encode()).hexdigest()  # noqa: S324
    assert sync_logs(database_url)["contacts"]["records_inserted"] == 1


def test_given_a_statement_timeout_shorter_than_a_slow_batch_then_it_lands_the_buffered_way(
    database_url, monkeypatch, caplog
):
    # A streamed COPY lasts as long as its batch takes to arrive; a server statement_timeout can cancel it.
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=1000")

    def lines() -> Iterator[str]:
        yield json.dumps(schema("contacts"))
        yield from contacts(range(100))
        time.sleep(2)  # a slow tap, mid-batch
        yield from contacts(range(100, 150))
        yield json.dumps(state({"bookmark": 1}))

    listen(database_url, lines())
    assert query(database_url, "SELECT count(*) AS v FROM hubspot_contacts_raw")[0]["v"] == 150
    assert "Streamed COPY into hubspot_contacts_raw failed (QueryCanceled" in caplog.text
    log = sync_logs(database_url)["contacts"]
    assert (log["status"], log["records_inserted"], log["records_failed"]) == ("success", 150, 0)


SLOW_COMMIT = """
CREATE FUNCTION slow_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
CREATE TRIGGER slow_statement AFTER INSERT ON hubspot_contacts_raw
    FOR EACH STATEMENT EXECUTE FUNCTION slow_statement();
"""


def execute(database_url: str, sql: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def test_given_a_batch_committing_in_the_background_then_a_state_is_written_only_after_its_commit(
    database_url,
):
    run(database_url, [schema("contacts")])  # an empty table: the next run streams into it
    execute(database_url, SLOW_COMMIT)  # each COPY now ends a second after its last row
    rows_when_state_was_written: list[int] = []

    class Stdout(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("{"):
                rows = query(database_url, "SELECT count(*) AS v FROM hubspot_contacts_raw")[0]["v"]
                rows_when_state_was_written.append(rows)
            return super().write(text)

    lines = [schema("contacts"), *(record("contacts", hubspot(str(i))) for i in range(3)), state({"n": 1})]
    lines += [*(record("contacts", hubspot(str(i))) for i in range(3, 5)), state({"n": 2})]
    target = TargetSupabaseHybrid(config={"database_url": database_url, "state_checkpoint_seconds": 0})
    with contextlib.redirect_stdout(Stdout()):
        target.listen(cast("IO[str]", iter(json.dumps(m) for m in lines)))
    # The first state covers 3 committed records; the second (written again at the end) all 5.
    assert rows_when_state_was_written[0] == 3
    assert set(rows_when_state_was_written[1:]) == {5}


def test_given_a_batch_committing_in_the_background_then_the_next_batch_is_already_being_copied(database_url):
    run(database_url, [schema("contacts")])
    execute(database_url, SLOW_COMMIT)
    seen: dict[str, Any] = {}

    def lines() -> Iterator[str]:
        yield json.dumps(schema("contacts"))
        yield from contacts(range(3))  # batch_size 3: this batch commits behind, for a second
        yield from contacts(range(3, 5))
        seen["copies"] = poll(
            database_url,
            "SELECT count(*) FILTER (WHERE wait_event = 'PgSleep') || '/' || count(*) AS v"
            f" FROM pg_stat_activity WHERE {TARGET_CONNECTIONS} AND state = 'active' AND query LIKE 'COPY%%'",
            lambda v: v == "1/2",
        )

    listen(database_url, lines(), batch_size=3)
    assert seen["copies"] == "1/2"  # one COPY still ending (its trigger sleeps), the next one running
    assert query(database_url, "SELECT count(*) AS v FROM hubspot_contacts_raw")[0]["v"] == 5
    log = sync_logs(database_url)["contacts"]
    assert (log["status"], log["records_inserted"], log["batches"]) == ("success", 5, 2)
