"""Load fast paths: `raw_hash` skips unchanged records, direct COPY for new keys, streamed COPY chunks."""

from __future__ import annotations

import hashlib
import json

import pytest

from target_supabase_hybrid.loader import CopyStream
from tests.target.singer import connect, hubspot, query, record, run, schema, sync_logs

CONTACTS = [schema("contacts")] + [record("contacts", hubspot(str(i), email=f"{i}@x.io")) for i in range(30)]


def execute(database_url: str, sql: str) -> None:
    with connect(database_url) as cur:
        cur.execute(sql)


def counts(database_url: str, stream: str = "contacts") -> tuple[int, int, int]:
    log = sync_logs(database_url)[stream]
    return log["records_inserted"], log["records_updated"], log["records_unchanged"]


def test_given_a_load_then_raw_hash_is_the_md5_of_the_record_json_as_received(database_url):
    with_nul = record("contacts", hubspot("99", firstname="a\u0000b"))
    run(database_url, [*CONTACTS[:3], with_nul])
    stored = {
        r["hubspot_id"]: (r["raw_hash"], r["raw_json"])
        for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")
    }
    for message in CONTACTS[1:3]:
        rec = message["record"]
        text = json.dumps(rec)  # as `run` wrote it into the message: stored and hashed as received
        assert stored[rec["id"]] == (hashlib.md5(text.encode()).hexdigest(), rec)  # noqa: S324
    # Text that cannot be stored as received (here a NUL escape) is cleaned and serialised compactly.
    cleaned = {**with_nul["record"], "properties": {"firstname": "ab"}}
    compact = json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)
    assert stored["99"] == (hashlib.md5(compact.encode()).hexdigest(), cleaned)  # noqa: S324


def test_given_keys_repeated_across_batches_of_a_new_table_then_direct_copy_falls_back_to_upsert(
    database_url,
):
    messages = [*CONTACTS, record("contacts", hubspot("3", email="changed@x.io"))]
    run(database_url, messages, batch_size=7)  # batch 5 holds key 3 again: the direct COPY must not fail
    rows = {r["hubspot_id"]: r["email"] for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")}
    assert len(rows) == 30
    assert rows["3"] == "changed@x.io"
    assert counts(database_url) == (30, 1, 0)


def test_given_rows_stored_before_raw_hash_existed_then_they_count_unchanged_and_get_their_hash(database_url):
    run(database_url, CONTACTS)
    before = {
        r["hubspot_id"]: r["synced_at"] for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")
    }
    execute(database_url, "ALTER TABLE hubspot_contacts_raw DROP COLUMN raw_hash")

    run(database_url, [*CONTACTS, record("contacts", hubspot("5", email="new@x.io"))])
    after = {r["hubspot_id"]: r for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")}
    assert counts(database_url) == (0, 1, 29)
    assert all(r["raw_hash"] for r in after.values())
    assert after["5"]["email"] == "new@x.io"
    assert after["5"]["synced_at"] > before["5"]
    assert all(after[k]["synced_at"] == v for k, v in before.items() if k != "5")


def test_given_an_unchanged_reload_then_no_row_is_rewritten(database_url):
    run(database_url, CONTACTS)
    xmin = {
        r["hubspot_id"]: r["xmin"]
        for r in query(database_url, "SELECT hubspot_id, xmin::text FROM hubspot_contacts_raw")
    }
    run(database_url, CONTACTS, batch_size=8)
    assert counts(database_url) == (0, 0, 30)
    after = {
        r["hubspot_id"]: r["xmin"]
        for r in query(database_url, "SELECT hubspot_id, xmin::text FROM hubspot_contacts_raw")
    }
    assert after == xmin


def test_given_a_stored_hash_differs_but_json_is_equal_then_columns_refresh_without_counting_an_update(
    database_url,
):
    run(database_url, CONTACTS)
    execute(
        database_url,
        "UPDATE hubspot_contacts_raw SET raw_hash = 'stale', email = NULL WHERE hubspot_id = '4'",
    )
    run(database_url, CONTACTS)
    assert counts(database_url) == (0, 0, 30)
    row = query(database_url, "SELECT email, raw_hash FROM hubspot_contacts_raw WHERE hubspot_id = '4'")[0]
    assert row["email"] == "4@x.io"
    assert row["raw_hash"] != "stale"


RECORD_COMMIT_MODE = """
CREATE TABLE commit_modes (mode text);
CREATE FUNCTION record_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO commit_modes VALUES (current_setting('synchronous_commit'));
    RETURN NULL;
END $$;
CREATE TRIGGER record_commit_mode AFTER INSERT OR UPDATE ON hubspot_contacts_raw
    FOR EACH STATEMENT EXECUTE FUNCTION record_commit_mode();
"""


@pytest.mark.parametrize("synchronous_commit_off", [True, False])
def test_given_synchronous_commit_setting_then_batches_commit_in_that_mode_and_load_the_same(
    database_url, synchronous_commit_off
):
    # The test server runs with synchronous_commit=off; this database defaults to on, as Supabase does.
    with connect(database_url) as cur:
        cur.execute("SELECT current_database()")
        name = cur.fetchone()["current_database"]
    execute(database_url, f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    run(database_url, CONTACTS[:2])  # creates the table
    execute(database_url, RECORD_COMMIT_MODE)  # each statement writing rows records the mode it ran in

    run(database_url, CONTACTS, synchronous_commit_off=synchronous_commit_off)

    modes = {r["mode"] for r in query(database_url, "SELECT mode FROM commit_modes")}
    assert modes == {"off" if synchronous_commit_off else "on"}
    assert counts(database_url) == (29, 0, 1)


def test_given_lines_then_copy_stream_yields_whole_lines_in_chunks():
    stream = CopyStream([f"line{i}".encode() for i in range(10)], chunk_bytes=12)
    chunks = list(iter(lambda: stream.read(8192), b""))
    assert len(chunks) > 1
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    assert b"".join(chunks).decode().splitlines() == [f"line{i}" for i in range(10)]
    assert CopyStream([]).read() == b""


def test_given_many_small_batches_and_a_schema_change_then_fast_paths_keep_order_counts_and_state(
    database_url,
):
    extended = schema("contacts")
    extended["schema"]["properties"]["extra"] = {"type": "string"}
    messages = [
        schema("contacts"),
        *(record("contacts", hubspot(str(i % 7), email=f"a{i}@x.io")) for i in range(20)),
        {"type": "STATE", "value": {"bookmark": 1}},
        extended,
        *(record("contacts", {**hubspot(str(i % 5), email=f"b{i}@x.io"), "extra": "e"}) for i in range(9)),
        {"type": "STATE", "value": {"bookmark": 2}},
    ]
    states = run(database_url, messages, batch_size=2)
    assert states[-1] == {"bookmark": 2}
    rows = {r["hubspot_id"]: r["email"] for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")}
    assert rows == {"0": "b5@x.io", "1": "b6@x.io", "2": "b7@x.io", "3": "b8@x.io", "4": "b4@x.io",
                    "5": "a19@x.io", "6": "a13@x.io"}  # fmt: skip
    log = sync_logs(database_url)["contacts"]
    assert log["status"] == "success"
    assert (log["records_received"], log["records_inserted"]) == (29, 7)
    assert (
        log["records_inserted"] + log["records_updated"] + log["records_unchanged"]
        == 29 - log["duplicates_merged"]
    )


def test_given_repeated_values_then_memoised_conversions_count_every_failure_and_match_direct_conversion(
    monkeypatch,
):
    from collections import Counter

    from target_supabase_hybrid import rows as rows_module
    from target_supabase_hybrid.connector import loaded_columns
    from target_supabase_hybrid.mappings import resolve_mapping
    from target_supabase_hybrid.phones import PhoneNormalizer
    from target_supabase_hybrid.rows import RowBuilder
    from target_supabase_hybrid.values import to_timestamptz

    monkeypatch.setattr(rows_module, "_MEMO_LIMIT", 3)  # the memo is cleared and refilled along the way
    mapping = resolve_mapping("contacts", ["id"], None)
    builder = RowBuilder(mapping, loaded_columns(mapping), PhoneNormalizer("RU"))
    values = ["not a date", "2024-01-02T03:04:05Z", " ", "not a date", "2024-01-02 03:04", "not a date", 5]
    records = [
        {"id": str(i), "properties": {"createdate": value, "vsl_watched": "TRUE", "email": "a\tb"}}
        for i, value in enumerate(values * 3)
    ]
    failed_columns: list[str] = []
    lines = [builder.copy_line(r, builder.serialize(r), failed_columns).decode() for r in records]
    failures = Counter(failed_columns)
    columns = [c.name for c in loaded_columns(mapping)]
    created = [line.split("\t")[columns.index("createdate")] for line in lines]
    expected, failed = [], 0
    for value in values * 3:
        try:
            converted = to_timestamptz(value)
        except ValueError:
            converted, failed = None, failed + 1
        expected.append("\\N" if converted is None else converted)
    assert created == expected
    assert failed == 9
    assert failures == Counter({"createdate": failed})
    assert {line.split("\t")[columns.index("vsl_watched")] for line in lines} == {"t"}
    assert {line.split("\t")[columns.index("email")] for line in lines} == {"a\\tb"}


def test_given_bulk_gc_then_thresholds_and_frozen_objects_are_restored():
    import gc

    from target_supabase_hybrid.reader import BULK_GC_THRESHOLD, bulk_gc

    before = gc.get_threshold()
    with bulk_gc():
        assert gc.get_threshold() == BULK_GC_THRESHOLD
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
