"""Fill columns added to an existing table from its `raw_json` with the loader's conversions."""

from __future__ import annotations

import io
from collections import Counter

from psycopg2.extensions import connection as Connection  # noqa: N812

from target_supabase_hybrid.connector import TableColumn, qualified, quote
from target_supabase_hybrid.loader import encode_lines
from target_supabase_hybrid.mappings import TableMapping
from target_supabase_hybrid.phones import PhoneNormalizer
from target_supabase_hybrid.values import CONVERTERS, COPY_NULL, Unconvertible, copy_text, dig

BACKFILL_STAGE = "target_supabase_hybrid_backfill"
CHUNK_ROWS = 5000


def backfill(
    conn: Connection, schema: str, mapping: TableMapping, added: list[TableColumn], phones: PhoneNormalizer
) -> Counter[str]:
    """Set `added` columns on every row (in the caller's transaction); count unconvertible values."""
    promoted = [c for c in added if c.source is not None]
    failures: Counter[str] = Counter()
    if not promoted:
        return failures
    keys = mapping.key_column_names
    stage_columns = [TableColumn(k, "text") for k in keys] + promoted
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TEMP TABLE {BACKFILL_STAGE} ("
            + ", ".join(f"{quote(c.name)} {c.sql_type}" for c in stage_columns)
            + ") ON COMMIT DROP"
        )
    relation = qualified(schema, mapping.table)
    key_list = ", ".join(quote(k) for k in keys)
    with conn.cursor(name="target_supabase_hybrid_backfill_read") as reader:
        reader.itersize = CHUNK_ROWS
        reader.execute(f"SELECT {key_list}, raw_json FROM {relation}")
        while rows := reader.fetchmany(CHUNK_ROWS):
            lines = [_line(row, len(keys), promoted, phones, failures) for row in rows]
            with conn.cursor() as cur:
                cur.execute(f"TRUNCATE {BACKFILL_STAGE}")
                names = ", ".join(quote(c.name) for c in stage_columns)
                cur.copy_expert(
                    f"COPY {BACKFILL_STAGE} ({names}) FROM STDIN", io.BytesIO(encode_lines(lines))
                )
                sets = ", ".join(f"{quote(c.name)} = s.{quote(c.name)}" for c in promoted)
                match = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
                cur.execute(f"UPDATE {relation} AS t SET {sets} FROM {BACKFILL_STAGE} s WHERE {match}")
    return failures


def _line(
    row: tuple, key_count: int, promoted: list[TableColumn], phones: PhoneNormalizer, failures: Counter[str]
) -> str:
    record = row[key_count]
    fields = [copy_text(str(k)) for k in row[:key_count]]
    for column in promoted:
        assert column.source is not None  # noqa: S101 - filtered above
        convert = phones.e164_text if column.is_e164 else CONVERTERS[column.sql_type]
        try:
            value = convert(dig(record, column.source.path))
        except Unconvertible:
            failures[column.name] += 1
            value = None
        fields.append(COPY_NULL if value is None else value)
    return "\t".join(fields)
