"""The SQL of one batch: look up stored hashes, stream COPY into a staging table dropped at commit, then one
upsert that skips no-ops."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import psycopg2.errors
from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.connector import (
    RAW_HASH_COLUMN,
    TABLE_VERSION_SETTING,
    TableColumn,
    qualified,
    quote,
)
from target_supabase_hybrid.mappings import DELETED_AT_COLUMN, MERGED_INTO_COLUMN, TABLE_VERSION_COLUMN
from target_supabase_hybrid.values import replace_lone_surrogates

STAGE_TABLE = "target_supabase_hybrid_stage"
# COPY data is sent in chunks of about this many bytes (~50 HubSpot records), so the server parses each chunk
# while Python builds the next one.
COPY_CHUNK_BYTES = 1 << 16


def encode_lines(lines: list[str]) -> bytes:
    """COPY payload as UTF-8; unpaired surrogates (from `\\ud800` escapes in the input) become U+FFFD."""
    text = "\n".join(lines) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return replace_lone_surrogates(text).encode("utf-8")


class CopyStream:
    """A read-only file object producing COPY data lazily from an iterator of lines (for `copy_expert`)."""

    def __init__(self, lines: Iterable[bytes], chunk_bytes: int = COPY_CHUNK_BYTES) -> None:
        """Encoded lines without their trailing newline; nothing is consumed before the first `read`."""
        self._lines: Iterator[bytes] = iter(lines)
        self._chunk_bytes = chunk_bytes

    def read(self, size: int = -1) -> bytes:
        """The next chunk of whole lines (~`chunk_bytes`); b"" at the end."""
        parts: list[bytes] = []
        length = 0
        for line in self._lines:
            parts.append(line)
            length += len(line) + 1
            if length >= self._chunk_bytes:
                break
        if not parts:
            return b""
        parts.append(b"")
        return b"\n".join(parts)


def has_rows(cur: Cursor, schema: str, table: str) -> bool:
    """Whether the table holds any row."""
    cur.execute(f"SELECT EXISTS (SELECT FROM {qualified(schema, table)})")
    row = cur.fetchone()
    return bool(row and row[0])


def _batch_join(keys: tuple[str, ...]) -> tuple[str, str]:
    """(`unnest(...) AS b(...)`, the condition matching `t`'s keys to it): the batch's keys as a relation."""
    probe = ", ".join(f"b{i}" for i in range(len(keys)))
    match = " AND ".join(f"t.{quote(k)} = b.b{i}" for i, k in enumerate(keys))
    return f"unnest({', '.join(['%s::text[]'] * len(keys))}) AS b({probe})", match


def _key_arrays(batch_keys: Sequence[tuple[str, ...]]) -> list[list[str]]:
    return [list(column) for column in zip(*batch_keys, strict=True)]


def stored_hashes(
    cur: Cursor, schema: str, table: str, keys: tuple[str, ...], batch_keys: Sequence[tuple[str, ...]]
) -> dict[tuple[str, ...], str | None]:
    """`raw_hash` of the rows that already exist for `batch_keys` (an index lookup, no jsonb involved); None
    for retired rows, so that a record seen again revives its row even when unchanged."""
    if not batch_keys:
        return {}
    batch, match = _batch_join(keys)
    cur.execute(
        f"SELECT {', '.join(f't.{quote(k)}' for k in keys)},"
        f" CASE WHEN t.{quote(DELETED_AT_COLUMN)} IS NULL THEN t.{quote(RAW_HASH_COLUMN)} END"
        f" FROM {qualified(schema, table)} AS t JOIN {batch} ON {match}",
        _key_arrays(batch_keys),
    )
    width = len(keys)
    return {tuple(row[:width]): row[width] for row in cur.fetchall()}


def set_table_version(cur: Cursor, version: int) -> None:
    """Rows written in this transaction take `version` as their `_sdc_table_version` (see `connector`)."""
    cur.execute(table_version_statement(version))


def table_version_statement(version: int) -> str:
    """The `SET LOCAL` of a batch's table version (an int: nothing to quote)."""
    return f"SET LOCAL {TABLE_VERSION_SETTING} = '{int(version)}'"


def stamp_version(
    cur: Cursor,
    schema: str,
    table: str,
    *,
    keys: tuple[str, ...],
    batch_keys: Sequence[tuple[str, ...]],
    version: int,
) -> None:
    """Give the rows of `batch_keys` that this batch did not write (unchanged, or older than stored) the
    batch's table version: the full sync saw them. One statement per batch, an index probe per key."""
    if not batch_keys:
        return
    batch, match = _batch_join(keys)
    column = quote(TABLE_VERSION_COLUMN)
    cur.execute(
        f"UPDATE {qualified(schema, table)} AS t SET {column} = %s FROM {batch}"
        f" WHERE {match} AND t.{column} IS DISTINCT FROM %s",
        [version, *_key_arrays(batch_keys), version],
    )


def stage(cur: Cursor, columns: list[TableColumn], lines: Iterable[bytes]) -> None:
    """Create the temp staging table (`ON COMMIT DROP`: nothing outlives the transaction) and COPY into it.

    `lines` is consumed while the COPY runs, so a generator overlaps row building with server-side parsing.
    """
    definitions = ", ".join(f"{quote(c.name)} {c.sql_type}" for c in columns)
    cur.execute(f"CREATE TEMP TABLE {STAGE_TABLE} ({definitions}) ON COMMIT DROP")
    names = ", ".join(quote(c.name) for c in columns)
    cur.copy_expert(f"COPY {STAGE_TABLE} ({names}) FROM STDIN", CopyStream(lines))


def copy_statement(schema: str, table: str, columns: list[TableColumn]) -> str:
    """`COPY "schema"."table" (columns) FROM STDIN` (text format)."""
    return f"COPY {qualified(schema, table)} ({', '.join(quote(c.name) for c in columns)}) FROM STDIN"


def copy_new_rows(
    cur: Cursor, schema: str, table: str, columns: list[TableColumn], lines: Iterable[bytes]
) -> bool:
    """COPY rows whose keys are all new straight into the table (no staging, no upsert).

    Runs in a savepoint: if a key exists after all (a concurrent writer, or a key repeated across batches of
    this run) it rolls back to it and returns False, and the caller takes the staged upsert path.
    """
    cur.execute("SAVEPOINT target_supabase_hybrid_direct")
    try:
        cur.copy_expert(copy_statement(schema, table, columns), CopyStream(lines))
    except psycopg2.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT target_supabase_hybrid_direct")
        return False
    cur.execute("RELEASE SAVEPOINT target_supabase_hybrid_direct")
    return True


def upsert(
    cur: Cursor,
    schema: str,
    table: str,
    keys: tuple[str, ...],
    columns: list[TableColumn],
    *,
    tracks_merges: bool = False,
    updated_at: str | None = None,
) -> tuple[int, int]:
    """Merge the staging table into the table; return (inserted, updated).

    Rows whose stored `raw_hash` equals the staged one are left untouched. A row whose hash differs but whose
    `raw_json` is equal (e.g. stored before `raw_hash` existed) gets its hash and columns refreshed but keeps
    its `synced_at` and counts as unchanged. A retired row written again is live again (`synced_at` moves).

    With `updated_at` (the column of the record's modified date) a stored row is never replaced by an older
    record (a sweep or a late search result may deliver a stale copy; equal dates do update: association
    edits keep the date), and a row retired by a merge only by a strictly newer one (HubSpot never answers
    with a merged-away id again, so an equal copy is from before the merge). Such rows count as unchanged.
    """
    names = ", ".join(quote(c.name) for c in columns)
    version, deleted, merged = (
        quote(c) for c in (TABLE_VERSION_COLUMN, DELETED_AT_COLUMN, MERGED_INTO_COLUMN)
    )
    updates = [f"{quote(c.name)} = EXCLUDED.{quote(c.name)}" for c in columns if c.name not in keys]
    # An incremental record (no version) leaves the version of the full sync that last saw the row.
    updates += [f"{version} = COALESCE(EXCLUDED.{version}, t.{version})", f"{deleted} = NULL"]
    if tracks_merges:
        updates.append(f"{merged} = NULL")
    raw_hash = quote(RAW_HASH_COLUMN)
    conditions = [f"(t.{raw_hash} IS DISTINCT FROM EXCLUDED.{raw_hash} OR t.{deleted} IS NOT NULL)"]
    if updated_at:
        newer = f"EXCLUDED.{quote(updated_at)} > t.{quote(updated_at)}"
        not_older = f"(EXCLUDED.{quote(updated_at)} >= t.{quote(updated_at)}) IS NOT FALSE"
        conditions.append(
            f"CASE WHEN t.{merged} IS NOT NULL THEN {newer} ELSE {not_older} END"
            if tracks_merges
            else not_older
        )
    cur.execute(
        f"""WITH merged AS (
            INSERT INTO {qualified(schema, table)} AS t ({names})
            SELECT {names} FROM {STAGE_TABLE}
            ON CONFLICT ({", ".join(quote(k) for k in keys)}) DO UPDATE SET {", ".join(updates)},
                synced_at = CASE WHEN t.raw_json IS DISTINCT FROM EXCLUDED.raw_json
                                   OR t.{deleted} IS NOT NULL THEN now()
                                 ELSE t.synced_at END
            WHERE {" AND ".join(conditions)}
            RETURNING (xmax = 0) AS inserted, synced_at = now() AS changed
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted AND changed)
        FROM merged"""
    )
    row = cur.fetchone()
    assert row is not None  # noqa: S101 - an aggregate always returns one row
    return int(row[0]), int(row[1])
