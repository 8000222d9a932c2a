"""Retiring rows the source no longer has: the SQL, run inside the caller's transaction.

- A *complete full sync* stamps every row it saw with its Singer table version (`loader`), then activates that
  version: the rows it did not see are retired (`retire_unseen`). Only an `ACTIVATE_VERSION` message does
  this, and a tap sends it only once a full sync has read everything.
- A *merged* HubSpot record lists the ids it replaced; their rows are retired with the id they were merged
  into (`retire_merged`), in the transaction of the batch that holds the merged record.

A retired row keeps its data with `_sdc_deleted_at` set (or is deleted, with `hard_delete`); a record seen
again revives it (`loader.upsert`).
"""

from __future__ import annotations

from collections.abc import Mapping

from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.connector import SYNC_LOGS_TABLE, qualified, quote
from target_supabase_hybrid.mappings import DELETED_AT_COLUMN, MERGED_INTO_COLUMN, TABLE_VERSION_COLUMN


def retire_unseen(cur: Cursor, schema: str, table: str, version: int, *, hard_delete: bool) -> int:
    """Retire the rows the full sync of `version` did not see (stamped with no version or an older one);
    return how many. Soft: `_sdc_deleted_at = now()` on live rows. Hard: DELETE every such row, the ones
    retired earlier (merged away, say) included."""
    relation = qualified(schema, table)
    unseen = f"({quote(TABLE_VERSION_COLUMN)} IS NULL OR {quote(TABLE_VERSION_COLUMN)} < %s)"
    if hard_delete:
        cur.execute(f"DELETE FROM {relation} WHERE {unseen}", (version,))
    else:
        deleted = quote(DELETED_AT_COLUMN)
        cur.execute(
            f"UPDATE {relation} SET {deleted} = now() WHERE {unseen} AND {deleted} IS NULL", (version,)
        )
    return int(cur.rowcount)


def retire_merged(cur: Cursor, schema: str, table: str, key: str, merged_into: Mapping[str, str]) -> int:
    """Retire the live rows of the ids in `merged_into` (old id → the id of the record it was merged into);
    return how many."""
    pairs = [(old, new) for old, new in merged_into.items() if old != new]
    if not pairs:
        return 0
    deleted, merged = quote(DELETED_AT_COLUMN), quote(MERGED_INTO_COLUMN)
    cur.execute(
        f"UPDATE {qualified(schema, table)} AS t SET {deleted} = now(), {merged} = m.new_id"
        " FROM unnest(%s::text[], %s::text[]) AS m(old_id, new_id)"
        f" WHERE t.{quote(key)} = m.old_id AND t.{deleted} IS NULL",
        ([old for old, _ in pairs], [new for _, new in pairs]),
    )
    return int(cur.rowcount)


def other_streams(cur: Cursor, schema: str, table: str, stream: str) -> list[str]:
    """Streams other than `stream` that earlier runs loaded into `table` (from `sync_logs`)."""
    cur.execute(
        f"SELECT DISTINCT stream FROM {qualified(schema, SYNC_LOGS_TABLE)}"
        " WHERE table_name = %s AND stream <> %s ORDER BY stream",
        (table, stream),
    )
    return [row[0] for row in cur.fetchall()]


def live_rows(cur: Cursor, schema: str, table: str, archived_column: str | None) -> int:
    """Rows not retired (and, with an `archived` column, not archived): what the source counts as live."""
    condition = f"{quote(DELETED_AT_COLUMN)} IS NULL"
    if archived_column:
        condition += f" AND {quote(archived_column)} IS NOT TRUE"
    cur.execute(f"SELECT count(*) FROM {qualified(schema, table)} WHERE {condition}")
    row = cur.fetchone()
    return int(row[0]) if row else 0
