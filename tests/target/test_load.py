"""What lands in PostgreSQL: typed columns, raw_json, dedupe, idempotence, schema changes, other taps."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from tests.target.singer import hubspot, query, record, run, schema, state, sync_logs


def test_given_messy_values_then_typed_columns_convert_or_null_and_raw_json_keeps_originals(database_url):
    deals = [
        hubspot("1", amount="5000.00", createdate="2024-03-01T10:00:00Z", closedate="1709287200000"),
        hubspot(
            "2", amount="abc", createdate="not a date", closedate="", dealname="Tab\there\nnewline \\ slash"
        ),
        hubspot("3", amount=None, createdate="2024-03-01", dealname="nul\u0000inside", pipeline="ok"),
    ]
    run(database_url, [schema("deals"), *(record("deals", d) for d in deals), state({"s": 1})])

    rows = {r["hubspot_id"]: r for r in query(database_url, "SELECT * FROM hubspot_deals_raw")}
    assert rows["1"]["amount"] == Decimal("5000.00")
    assert rows["1"]["createdate"] == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert rows["1"]["closedate"] == datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert rows["2"]["amount"] is None
    assert rows["2"]["createdate"] is None
    assert rows["2"]["closedate"] is None  # blank: NULL, but not a conversion failure
    assert rows["2"]["dealname"] == "Tab\there\nnewline \\ slash"
    assert rows["3"]["createdate"] == datetime(2024, 3, 1, tzinfo=timezone.utc)
    assert rows["3"]["dealname"] == "nulinside"
    assert rows["2"]["raw_json"] == deals[1]
    assert rows["2"]["raw_json"]["properties"]["amount"] == "abc"
    assert rows["3"]["raw_json"]["properties"]["dealname"] == "nulinside"
    assert rows["1"]["updated_at"] == datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert rows["1"]["archived"] is False

    log = sync_logs(database_url)["deals"]
    assert log["conversion_nulls"] == 2
    assert log["conversion_nulls_by_column"] == {"amount": 1, "createdate": 1}
    assert (log["records_received"], log["records_inserted"], log["status"]) == (3, 3, "success")


def test_given_booleans_and_integers_then_only_exact_forms_convert(database_url):
    contacts = [
        hubspot("1", vsl_watched="true", vsl_watch_duration="60000"),
        hubspot("2", vsl_watched="FALSE", vsl_watch_duration="60000.0"),
        hubspot("3", vsl_watched="yes", vsl_watch_duration="12.5"),
    ]
    run(database_url, [schema("contacts"), *(record("contacts", c) for c in contacts)])
    rows = query(
        database_url,
        "SELECT hubspot_id, vsl_watched, vsl_watch_duration FROM hubspot_contacts_raw ORDER BY 1",
    )
    assert [(r["vsl_watched"], r["vsl_watch_duration"]) for r in rows] == [
        (True, 60000),
        (False, 60000),
        (None, None),
    ]
    assert sync_logs(database_url)["contacts"]["conversion_nulls_by_column"] == {
        "vsl_watched": 1,
        "vsl_watch_duration": 1,
    }


def test_given_nul_escapes_and_lone_surrogates_then_load_does_not_crash(database_url):
    line = (
        '{"type": "RECORD", "stream": "contacts", "record": {"id": "9", "properties": '
        '{"firstname": "a\\u0000b", "lastname": "bad \\ud800 surrogate", '
        '"k\\u0000ey": {"deep": ["x\\u0000"]}}}}'
    )
    run(database_url, [schema("contacts"), line])
    row = query(database_url, "SELECT firstname, lastname, raw_json FROM hubspot_contacts_raw")[0]
    assert row["firstname"] == "ab"
    assert row["lastname"] == "bad \ufffd surrogate"
    assert row["raw_json"]["properties"]["key"] == {"deep": ["x"]}


def test_given_duplicate_keys_in_one_batch_then_last_wins(database_url):
    messages = [schema("contacts")] + [record("contacts", hubspot("1", email=f"v{i}@x.io")) for i in range(5)]
    run(database_url, messages)
    rows = query(database_url, "SELECT email, raw_json FROM hubspot_contacts_raw")
    assert [r["email"] for r in rows] == ["v4@x.io"]
    log = sync_logs(database_url)["contacts"]
    assert (log["records_received"], log["duplicates_merged"], log["records_inserted"]) == (5, 4, 1)


def test_given_same_input_twice_then_second_run_counts_unchanged_and_rewrites_nothing(database_url):
    messages = [schema("contacts")] + [
        record("contacts", hubspot(str(i), email=f"{i}@x.io")) for i in range(50)
    ]
    run(database_url, messages)
    before = {
        r["hubspot_id"]: r["synced_at"] for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")
    }
    changed = [*messages, record("contacts", hubspot("7", email="new@x.io", updated="2024-07-01T00:00:00Z"))]
    run(database_url, changed)
    after = {r["hubspot_id"]: r for r in query(database_url, "SELECT * FROM hubspot_contacts_raw")}
    assert after["7"]["email"] == "new@x.io"
    assert after["7"]["synced_at"] > before["7"]
    assert all(after[k]["synced_at"] == v for k, v in before.items() if k != "7")
    second = query(database_url, "SELECT * FROM sync_logs ORDER BY id")[-1]
    assert (second["records_received"], second["duplicates_merged"]) == (51, 1)
    assert (second["records_inserted"], second["records_updated"], second["records_unchanged"]) == (0, 1, 49)


def test_given_schema_change_mid_stream_then_all_records_land_in_order(database_url):
    extended = schema("contacts")
    extended["schema"]["properties"]["extra"] = {"type": "string"}
    messages = [
        schema("contacts"),
        record("contacts", hubspot("1", email="old@x.io")),
        extended,
        record("contacts", {**hubspot("1", email="new@x.io"), "extra": "e"}),
        record("contacts", {**hubspot("2", email="two@x.io"), "extra": "f"}),
    ]
    run(database_url, messages, batch_size=100)
    rows = query(
        database_url,
        "SELECT hubspot_id, email, raw_json->>'extra' AS extra FROM hubspot_contacts_raw ORDER BY 1",
    )
    assert rows == [
        {"hubspot_id": "1", "email": "new@x.io", "extra": "e"},
        {"hubspot_id": "2", "email": "two@x.io", "extra": "f"},
    ]
    log = sync_logs(database_url)["contacts"]
    assert (log["records_received"], log["records_inserted"], log["records_updated"]) == (3, 2, 1)


def test_given_streams_from_another_tap_then_they_land_keyed_with_raw_json(database_url):
    props = {"org": {"type": "string"}, "n": {"type": "integer"}, "tags": {"type": "array"}}
    messages = [
        schema("Public.Order-Lines!", key=["org", "n"], properties=props),
        record("Public.Order-Lines!", {"org": "a", "n": 1, "tags": ["x"]}),
        record("Public.Order-Lines!", {"org": "a", "n": 2, "tags": []}),
        record("Public.Order-Lines!", {"org": "a", "n": 1, "tags": ["y"]}),
        schema("events", key=[], properties={"what": {"type": "string"}}),
        record("events", {"what": "click"}),
        record("events", {"what": "view"}),
        record("events", {"what": "click"}),
    ]
    run(database_url, messages)
    rows = query(database_url, 'SELECT org, n, raw_json FROM "public_order_lines" ORDER BY n')
    assert rows == [
        {"org": "a", "n": "1", "raw_json": {"org": "a", "n": 1, "tags": ["y"]}},
        {"org": "a", "n": "2", "raw_json": {"org": "a", "n": 2, "tags": []}},
    ]
    events = query(database_url, "SELECT raw_json FROM events ORDER BY raw_json->>'what'")
    assert [e["raw_json"] for e in events] == [{"what": "click"}, {"what": "view"}]
    run(database_url, messages)  # keyless streams are idempotent too
    assert len(query(database_url, "SELECT 1 FROM events")) == 2


def test_given_new_promoted_column_in_config_then_it_is_added_and_filled_from_raw_json(database_url):
    messages = [
        schema("deals"),
        *(record("deals", hubspot(str(i), hs_priority=p)) for i, p in enumerate(["high", "low"])),
    ]
    run(database_url, messages)
    extra = {
        "deals": {
            "extra_columns": [
                {"name": "priority", "source": "properties.hs_priority", "indexed": True},
                {"name": "score", "source": "properties.hs_priority", "sql_type": "integer"},
            ]
        }
    }
    run(database_url, [schema("deals")], tables=extra)
    rows = query(database_url, "SELECT hubspot_id, priority, score FROM hubspot_deals_raw ORDER BY 1")
    assert rows == [
        {"hubspot_id": "0", "priority": "high", "score": None},
        {"hubspot_id": "1", "priority": "low", "score": None},
    ]


def test_given_custom_table_mapping_then_columns_and_table_follow_config(database_url):
    tables = {
        "companies": {
            "table": "crm_companies",
            "hubspot_id_key": True,
            "columns": [
                {"name": "domain", "sql_type": "text"},
                {"name": "employees", "source": "properties.numberofemployees", "sql_type": "integer"},
            ],
        }
    }
    run(
        database_url,
        [schema("companies"), record("companies", hubspot("5", domain="a.io", numberofemployees="12"))],
        tables=tables,
    )
    assert query(database_url, "SELECT hubspot_id, domain, employees FROM crm_companies") == [
        {"hubspot_id": "5", "domain": "a.io", "employees": 12}
    ]


def test_given_meltano_run_then_sync_logs_store_its_identity(database_url, monkeypatch):
    monkeypatch.setenv("MELTANO_RUN_ID", "3f1c-run")
    monkeypatch.setenv("MELTANO_STATE_ID", "dev:tap-hubspot-raw-to-target-supabase-hybrid")
    states = run(
        database_url,
        [schema("calls"), record("calls", hubspot("1", hs_call_duration="1000")), state({"a": 1})],
    )
    log = sync_logs(database_url)["calls"]
    assert states == [{"a": 1}]
    assert (log["meltano_run_id"], log["meltano_state_id"]) == (
        "3f1c-run",
        "dev:tap-hubspot-raw-to-target-supabase-hybrid",
    )
    assert log["finished_at"] >= log["started_at"]
    assert log["duration_seconds"] >= 0
    assert json.loads(json.dumps(log["conversion_nulls_by_column"])) == {}
