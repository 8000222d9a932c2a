"""Helpers: drive the target through its real interface (Singer lines into `listen`) and read what landed."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg2
import psycopg2.extras

from target_supabase_hybrid.target import TargetSupabaseHybrid


def schema(stream: str, key: list[str] | None = None, properties: dict | None = None) -> dict:
    """A SCHEMA message; HubSpot-shaped by default."""
    props = properties or {
        "id": {"type": "string"},
        "properties": {"type": "object"},
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
        "archived": {"type": "boolean"},
        "archivedAt": {"type": ["string", "null"], "format": "date-time"},
        "associations": {"type": "object"},
    }
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": ["id"] if key is None else key,
        "schema": {"type": "object", "properties": props},
    }


def record(stream: str, rec: dict) -> dict:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": rec}


def state(value: dict) -> dict:
    """A STATE message."""
    return {"type": "STATE", "value": value}


def hubspot(
    id_: str, updated: str = "2024-06-01T00:00:00.000Z", associations: dict | None = None, **props: Any
) -> dict:
    """A HubSpot object as the tap emits it (design §3)."""
    return {
        "id": id_,
        "properties": props,
        "createdAt": "2024-01-02T03:04:05.678Z",
        "updatedAt": updated,
        "archived": False,
        "archivedAt": None,
        "associations": associations or {},
    }


def run(database_url: str, messages: Iterable[dict | str], **config: Any) -> list[dict]:
    """Feed messages to a new target; return the state values it printed."""
    target = TargetSupabaseHybrid(config={"database_url": database_url, **config})
    lines = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO(lines))
    # A target prints each state value it has made safe, one JSON object per line.
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


@contextlib.contextmanager
def connect(database_url: str) -> Iterator[Any]:
    """A dict cursor on the test database."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            yield cur
    finally:
        conn.close()


def query(database_url: str, sql: str, params: tuple = ()) -> list[dict]:
    """Rows as dicts."""
    with connect(database_url) as cur:
        cur.execute(sql, params)
        return [dict(r) for r in cur.fetchall()]


def sync_logs(database_url: str) -> dict[str, dict]:
    """The latest sync_logs row per stream."""
    rows = query(database_url, "SELECT * FROM sync_logs ORDER BY id")
    return {r["stream"]: r for r in rows}
