"""Hostile input: each nasty value gets its typed value, a counted NULL, or a clear failure; nothing else is
lost and nothing is executed as SQL (every table still exists, a canary table is untouched)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from aiohttp import web
from singer_sdk.exceptions import InvalidInputLine, MissingKeyPropertiesError, RecordsWithoutSchemaException

from tests.harness.landed import assert_database_equals_portal, query
from tests.harness.pipeline import run_pipeline
from tests.harness.presets import PIPELINE_TOKEN as TOKEN
from tests.hubspot_simulator import Simulator
from tests.target.singer import hubspot, record, run, schema, state

INJECTION = '"; DROP TABLE canary; --'
MEGABYTE = "x" * 1_000_000 + "\u00e9\U0001f600"


def make_canary(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE canary (v text); INSERT INTO canary VALUES ('alive')")
    finally:
        conn.close()


def assert_canary_alive(database_url: str, *tables: str) -> None:
    assert query(database_url, "SELECT v FROM canary") == [("alive",)]
    existing = {
        r[0] for r in query(database_url, "SELECT tablename FROM pg_tables WHERE schemaname='public'")
    }
    assert {"canary", "sync_logs", *tables} <= existing


def ascii_json_response(data: Any, status: int = 200) -> web.Response:
    """HubSpot escapes non-ASCII as \\uXXXX, which is how lone surrogates travel in JSON at all."""
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json;charset=utf-8"})


def test_given_nasty_property_values_in_hubspot_then_tap_and_target_land_them_typed_or_counted(
    portal: Simulator, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Simulator, "json_response", staticmethod(ascii_json_response))
    make_canary(database_url)
    nasty_deals: dict[int, dict[str, str | None]] = {
        1: {"amount": "1,234.50", "dealname": "nul\x00inside", "closedate": "10000-01-01T00:00:00Z"},
        2: {"amount": "NaN", "dealname": "lone \ud800 surrogate", "closedate": "99999999999999999"},
        3: {"amount": "-0", "dealname": INJECTION, "closedate": "0001-01-01T00:00:00Z"},
        4: {"amount": "1e400", "dealname": MEGABYTE, "closedate": "-infinity"},
        5: {"amount": "Infinity", "dealname": "back\\slash \\u0000 \"quote\" 'apos'"},
    }
    for deal_id, properties in nasty_deals.items():
        portal.portal.update_object("deals", deal_id, properties)
    portal.portal.update_object("contacts", 9, {"vsl_watched": "maybe", "vsl_watch_duration": "1e400"})
    portal.portal.update_object("contacts", 10, {"vsl_watched": "TRUE", "vsl_watch_duration": "-0"})
    portal.portal.update_object("calls", 11, {"hs_call_duration": "NaN", "hs_timestamp": "0000-00-00"})
    portal.portal.flush_indexing()  # changes made a while ago: search shows them too

    run = run_pipeline(portal, database_url, tmp_path)

    assert TOKEN not in run.stderr() + run.stdout()
    assert_database_equals_portal(portal, database_url)  # raw_json: everything, modulo NUL/surrogates
    deals = {
        r[0]: r[1:]
        for r in query(
            database_url,
            "SELECT hubspot_id, amount::text, dealname, closedate FROM hubspot_deals_raw WHERE hubspot_id IN "
            "('1','2','3','4','5')",
        )
    }
    assert deals["1"] == (None, "nulinside", None)
    assert deals["2"] == (None, "lone \ufffd surrogate", None)
    assert deals["3"][:2] == ("0", INJECTION)
    assert deals["3"][2].year == 1
    assert deals["4"][0] == "1" + "0" * 400
    assert deals["4"][1] == MEGABYTE
    assert deals["4"][2] is None
    assert deals["5"][0] is None
    contacts = {
        r[0]: r[1:]
        for r in query(
            database_url,
            "SELECT hubspot_id, vsl_watched, vsl_watch_duration FROM hubspot_contacts_raw "
            "WHERE hubspot_id IN ('9', '10')",
        )
    }
    assert contacts == {"9": (None, None), "10": (True, 0)}
    assert query(
        database_url, "SELECT call_duration, call_timestamp FROM hubspot_calls_raw WHERE hubspot_id='11'"
    ) == [(None, None)]
    logs = {
        r[0]: r[1]
        for r in query(
            database_url,
            "SELECT stream, conversion_nulls_by_column FROM sync_logs WHERE status = 'success'",
        )
    }
    assert logs["deals"]["amount"] >= 3
    assert logs["deals"]["closedate"] >= 3
    assert logs["contacts"]["vsl_watched"] >= 1
    assert logs["contacts"]["vsl_watch_duration"] >= 1
    assert logs["calls"]["call_duration"] >= 1
    assert logs["calls"]["call_timestamp"] >= 1
    assert_canary_alive(database_url, "hubspot_deals_raw", "hubspot_contacts_raw", "hubspot_calls_raw")


WEIRD_STREAM = 'We"ird. str\u00e9am' + INJECTION
WEIRD_KEY = 'i"d; --'


def test_given_hostile_names_and_values_then_target_lands_them_as_data_never_as_sql(
    database_url: str,
) -> None:
    make_canary(database_url)
    weird_properties = {
        WEIRD_KEY: {"type": "string"},
        "a b.c": {"type": "string"},
        "ünï\u00e7ode": {"type": ["number", "null"]},
        INJECTION: {"type": ["string", "null"]},
    }
    lines: list[dict | str] = [
        schema(WEIRD_STREAM, key=[WEIRD_KEY], properties=weird_properties),
        record(WEIRD_STREAM, {WEIRD_KEY: "1", "a b.c": "x'); DROP TABLE canary; --", INJECTION: "v"}),
        record(WEIRD_STREAM, {WEIRD_KEY: "2\x00", "ünï\u00e7ode": -0.0}),
        schema("contacts"),
        record(
            "contacts",
            {**hubspot("7"), "properties": {"prop with space": "1", 'quo"te': INJECTION, "dot.ted": "\x00"}},
        ),
        # JSON numbers outside float range and non-standard NaN: kept exactly where JSONB can, else null.
        '{"type": "RECORD", "stream": "contacts", "record": '
        '{"id": "8", "properties": {"big": 1e400, "nan": NaN}}}',
        state({"done": 1}),
    ]
    assert run(database_url, lines) == [{"done": 1}]

    table = "we_ird_str_am_drop_table_canary"
    rows = query(database_url, f'SELECT i_d, raw_json FROM "{table}" ORDER BY 1')
    assert [r[0] for r in rows] == ["1", "2"]
    assert rows[0][1]["a b.c"] == "x'); DROP TABLE canary; --"
    assert rows[0][1][INJECTION] == "v"
    contact = query(database_url, "SELECT raw_json FROM hubspot_contacts_raw WHERE hubspot_id = '7'")[0][0]
    assert contact["properties"] == {"prop with space": "1", 'quo"te': INJECTION, "dot.ted": ""}
    big = query(
        database_url, "SELECT raw_json->'properties' FROM hubspot_contacts_raw WHERE hubspot_id = '8'"
    )
    assert big[0][0] == {"big": 10**400, "nan": None}
    assert_canary_alive(database_url, table, "hubspot_contacts_raw")


@pytest.mark.parametrize(
    ("bad_line", "error"),
    [
        (record("contacts", {"properties": {"email": "no-id@x.io"}}), MissingKeyPropertiesError),
        (record("contacts", {"id": None, "properties": {}}), Exception),  # "null key property" (tests/target)
        (record("tickets", hubspot("1")), RecordsWithoutSchemaException),  # record before its schema
        ('{"type": "RECORD", "stream": "contacts", "record": {"id": "\\x41"}}', InvalidInputLine),
        ('{"type": "RECORD", "stream": "contacts", "record": {"id": "3"', InvalidInputLine),  # truncated
    ],
)
def test_given_unloadable_message_then_run_fails_clearly_without_state_and_committed_rows_stay(
    database_url: str, bad_line: Any, error: type[Exception], capsys: pytest.CaptureFixture[str]
) -> None:
    make_canary(database_url)
    good = [schema("contacts"), *(record("contacts", hubspot(str(i))) for i in range(5)), state({"b": 1})]
    assert run(database_url, good) == [{"b": 1}]

    with pytest.raises(error):
        run(database_url, [schema("contacts"), record("contacts", hubspot("5")), bad_line, state({"b": 2})])

    assert '"b": 2' not in capsys.readouterr().out  # no state past the bad message
    assert len(query(database_url, "SELECT 1 FROM hubspot_contacts_raw")) >= 5
    assert_canary_alive(database_url, "hubspot_contacts_raw")
