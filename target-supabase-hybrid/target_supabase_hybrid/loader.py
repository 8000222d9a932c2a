"""The SQL of one batch: COPY into a staging table dropped at commit, then one upsert that skips no-ops."""

from __future__ import annotations

import io

from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.connector import TableColumn, qualified, quote
from target_supabase_hybrid.values import replace_lone_surrogates

STAGE_TABLE = "target_supabase_hybrid_stage"


def encode_lines(lines: list[str]) -> bytes:
    """COPY payload as UTF-8; unpaired surrogates (from `\\ud800` escapes in the input) become U+FFFD."""
    text = "\n".join(lines) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return replace_lone_surrogates(text).encode("utf-8")


def stage(cur: Cursor, columns: list[TableColumn], lines: list[str]) -> None:
    """Create the temp staging table (`ON COMMIT DROP`: nothing outlives the transaction) and COPY into it."""
    definitions = ", ".join(f"{quote(c.name)} {c.sql_type}" for c in columns)
    cur.execute(f"CREATE TEMP TABLE {STAGE_TABLE} ({definitions}) ON COMMIT DROP")
    names = ", ".join(quote(c.name) for c in columns)
    cur.copy_expert(f"COPY {STAGE_TABLE} ({names}) FROM STDIN", io.BytesIO(encode_lines(lines)))


def upsert(
    cur: Cursor, schema: str, table: str, keys: tuple[str, ...], columns: list[TableColumn]
) -> tuple[int, int]:
    """Merge the staging table into the table; return (inserted, updated). Unchanged rows: untouched."""
    names = ", ".join(quote(c.name) for c in columns)
    updates = ", ".join(f"{quote(c.name)} = EXCLUDED.{quote(c.name)}" for c in columns if c.name not in keys)
    cur.execute(
        f"""WITH merged AS (
            INSERT INTO {qualified(schema, table)} AS t ({names})
            SELECT {names} FROM {STAGE_TABLE}
            ON CONFLICT ({", ".join(quote(k) for k in keys)}) DO UPDATE SET {updates}, synced_at = now()
            WHERE t.raw_json IS DISTINCT FROM EXCLUDED.raw_json
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"""
    )
    row = cur.fetchone()
    assert row is not None  # noqa: S101 - an aggregate always returns one row
    return int(row[0]), int(row[1])
