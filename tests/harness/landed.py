"""What landed in PostgreSQL, compared with the simulated portal and with what the pipeline was told."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import psycopg2

from tests.harness.runner import Run
from tests.hubspot_simulator import Simulator

TABLES = {"contacts": "hubspot_contacts_raw", "deals": "hubspot_deals_raw", "calls": "hubspot_calls_raw"}
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_nul(value: Any) -> Any:
    """As PostgreSQL can store it: NUL characters stripped (keys too), lone surrogates become U+FFFD."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def query(database_url: str, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
    finally:
        conn.close()


def landed(database_url: str, table: str) -> dict[str, dict[str, Any]]:
    """``raw_json`` by HubSpot id; a duplicate row or an archived column disagreeing with it fails."""
    rows = query(database_url, f"SELECT hubspot_id, raw_json, archived FROM {table}")
    out: dict[str, dict[str, Any]] = {}
    for hubspot_id, raw_json, archived in rows:
        assert hubspot_id not in out, f"duplicate {table} row {hubspot_id}"
        assert archived == raw_json["archived"], (table, hubspot_id)
        out[hubspot_id] = raw_json
    return out


def portal_objects(sim: Simulator, stream: str) -> dict[str, dict[str, Any]]:
    """Every live and archived object of ``stream`` in the simulated portal, by id."""
    return {
        obj["id"]: obj
        for archived in (False, True)
        for obj in sim.portal.iter_objects(stream, archived=archived)
    }


def assert_database_equals_portal(sim: Simulator, database_url: str, streams: Iterable[str] = TABLES) -> None:
    """Every object once, properties equal modulo NUL, archived flags equal; nothing else."""
    for stream in streams:
        rows = landed(database_url, TABLES[stream])
        expected = portal_objects(sim, stream)
        missing = sorted(expected.keys() - rows.keys(), key=int)
        extra = sorted(rows.keys() - expected.keys(), key=int)
        assert not missing, f"{stream}: missing {missing[:20]}"
        assert not extra, f"{stream}: unexpected {extra[:20]}"
        for object_id, obj in expected.items():
            row = rows[object_id]
            assert row["properties"] == without_nul(obj["properties"]), (stream, object_id)
            assert row["archived"] == obj["archived"], (stream, object_id)


def assert_state_covers_only_committed(run: Run, database_url: str, *, state_expected: bool = True) -> None:
    """Every record the tap emitted before the STATE the target printed last is in the database.

    "In the database" means a row with that id whose updatedAt is at least the record's (a later run or a
    later record may have refreshed it, never regressed it). A target that printed no STATE fails, unless
    the caller says none may be expected (``state_expected=False``: a run killed before its first commit).
    """
    if run.state is None:
        assert not state_expected, "the target printed no STATE: nothing it committed can be resumed from"
        return
    position = next(
        (i for i, m in enumerate(run.messages) if m.get("type") == "STATE" and m["value"] == run.state), None
    )
    assert position is not None, "the target printed a state the tap never sent"
    covered = [m for m in run.messages[:position] if m.get("type") == "RECORD"]
    by_stream: dict[str, dict[str, str]] = {}
    for message in covered:
        by_stream.setdefault(message["stream"], {})[message["record"]["id"]] = message["record"]["updatedAt"]
    for stream, updated in by_stream.items():
        rows = landed(database_url, TABLES[stream])
        lost = [i for i in updated if i not in rows]
        assert not lost, f"state covers {len(lost)} uncommitted {stream} records, e.g. {lost[:10]}"
        regressed = [i for i, ts in updated.items() if rows[i]["updatedAt"] < ts]
        assert not regressed, f"{stream} rows older than records the state covers: {regressed[:10]}"
