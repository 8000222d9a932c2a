"""Old state meeting a new destination: refuse to load only the changes into a table that never had the rest.

Meltano keys state on the pipeline, not on where it loads: after a change of `schema`, `database_url` or a
stream's table, the tap resumes from its bookmarks and the new destination would silently receive only what
changed since. The tap sends its input state before any record (singer-sdk taps write it first), so the target
knows which streams the state says were loaded. A destination with no run at all in its `sync_logs` is refused
at that first STATE, before anything is written to it; otherwise each such stream is checked against its
table before it loads (a stream moved to another table of a destination that has history).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.connector import SYNC_LOGS_TABLE, listed_in_sync_logs, qualified
from target_supabase_hybrid.errors import TargetError

_HOW_TO_FIX = (
    " Load it in full once: `meltano run --full-refresh <tap> <target>` (or run the tap without state), or"
    " give each destination its own state (`meltano run --state-id-suffix <destination> ...`). Set"
    " check_new_destination: false to load the changes alone anyway."
)


def streams_with_bookmarks(state: Mapping[str, Any]) -> frozenset[str]:
    """Streams whose state holds anything (a bookmark, a full sync's progress): earlier runs loaded them."""
    bookmarks = state.get("bookmarks") if isinstance(state, Mapping) else None
    if not isinstance(bookmarks, Mapping):
        return frozenset()
    return frozenset(name for name, value in bookmarks.items() if value)


def check_destination_has_runs(cur: Cursor, schema: str, streams: frozenset[str]) -> None:
    """Raise when `streams` come with state but the destination's `sync_logs` holds no run at all."""
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified(schema, SYNC_LOGS_TABLE),))
    row = cur.fetchone()
    if row and row[0]:
        cur.execute(f"SELECT EXISTS (SELECT FROM {qualified(schema, SYNC_LOGS_TABLE)})")
        row = cur.fetchone()
        if row and row[0]:
            return
    raise TargetError(
        f"the incoming state says earlier runs loaded {', '.join(sorted(streams))}, but schema {schema!r} of"
        " this database has no run of this target in its sync_logs: a new destination would receive only"
        " changes since those runs." + _HOW_TO_FIX
    )


def check_destination_history(cur: Cursor, schema: str, table: str, stream: str, *, has_rows: bool) -> None:
    """Raise when the destination has no trace of `stream` (called for streams the input state has loaded)."""
    if has_rows or listed_in_sync_logs(cur, schema, table, stream):
        return
    raise TargetError(
        f"stream {stream!r}: the incoming state says earlier runs loaded it, but this destination has no"
        f" trace of it (table {schema}.{table} is missing or empty, and sync_logs has no run of it), so only"
        " changes since those runs would arrive." + _HOW_TO_FIX
    )
