"""DDL: hybrid tables, their evolution, indexes and Supabase security; the `sync_logs` table.

Everything here runs on a cursor inside the caller's transaction (pooler-safe: no session state).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.mappings import PromotedColumn, TableMapping

SYNC_LOGS_TABLE = "sync_logs"
PUBLIC_API_ROLES = ("anon", "authenticated")
E164_SUFFIX = "_e164"
RAW_HASH_COLUMN = "raw_hash"

logger = logging.getLogger(__name__)


def quote(identifier: str) -> str:
    """Quote an identifier for PostgreSQL."""
    return '"' + identifier.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """`"schema"."table"`."""
    return f"{quote(schema)}.{quote(table)}"


@dataclass(frozen=True)
class TableColumn:
    """A column the loader writes, with the promoted column it comes from (None for keys/raw_json)."""

    name: str
    sql_type: str
    source: PromotedColumn | None = None
    is_e164: bool = False


def loaded_columns(mapping: TableMapping) -> list[TableColumn]:
    """Columns written per row, in COPY order: keys, promoted (+ E.164 twins), raw_hash, raw_json."""
    columns = [TableColumn(name, "text") for name in mapping.key_column_names]
    for promoted in mapping.columns:
        columns.append(TableColumn(promoted.name, promoted.sql_type, promoted))
        if promoted.phone:
            columns.append(TableColumn(promoted.name + E164_SUFFIX, "text", promoted, is_e164=True))
    # md5 of the JSON text sent as raw_json: unchanged records are recognised without touching jsonb.
    columns.append(TableColumn(RAW_HASH_COLUMN, "text"))
    columns.append(TableColumn("raw_json", "jsonb"))
    return columns


def _existing_columns(cur: Cursor, schema: str, table: str) -> dict[str, str]:
    cur.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
        (qualified(schema, table),),
    )
    return dict(cur.fetchall())


def _comment(cur: Cursor, relation: str, column: str) -> str | None:
    cur.execute(
        "SELECT col_description(attrelid, attnum) FROM pg_attribute WHERE attrelid = to_regclass(%s)"
        " AND attname = %s",
        (relation, column),
    )
    row = cur.fetchone()
    return None if row is None else row[0]


def _primary_key(cur: Cursor, schema: str, table: str) -> tuple[str, ...]:
    cur.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(%s) AND i.indisprimary"
        " ORDER BY array_position(i.indkey::int2[], a.attnum)",
        (qualified(schema, table),),
    )
    return tuple(row[0] for row in cur.fetchall())


def secure(cur: Cursor, relation: str) -> None:
    """Row-level security on, and nothing granted to Supabase's public API roles (where they exist)."""
    cur.execute(f"ALTER TABLE {relation} ENABLE ROW LEVEL SECURITY")
    revoke_public_roles(cur, f"TABLE {relation}")


def revoke_public_roles(cur: Cursor, target: str) -> None:
    """`REVOKE ALL ON <target> FROM anon, authenticated` for the roles this server has."""
    cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(PUBLIC_API_ROLES),))
    roles = [row[0] for row in cur.fetchall()]
    if roles:
        cur.execute(f"REVOKE ALL ON {target} FROM {', '.join(quote(r) for r in roles)}")


def ensure_table(cur: Cursor, schema: str, mapping: TableMapping, phone_rules: str = "") -> list[TableColumn]:
    """Create or evolve the table; return the columns to (re)fill from raw_json in existing rows.

    Those are the columns added to an existing table, and the E.164 columns whose numbers were normalized
    under other phone settings (`phone_rules`, kept as the column's comment): changing the regions later
    re-normalizes stored numbers without a re-extract.
    """
    relation = qualified(schema, mapping.table)
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    wanted = loaded_columns(mapping)
    existing = _existing_columns(cur, schema, mapping.table)
    added: list[TableColumn] = []
    if not existing:
        definitions = [
            f"{quote(c.name)} {c.sql_type}{' NOT NULL' if c.source is None else ''}" for c in wanted
        ]
        keys = ", ".join(quote(k) for k in mapping.key_column_names)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {relation} ({', '.join(definitions)},"
            f" synced_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ({keys}))"
        )
    else:
        primary_key = _primary_key(cur, schema, mapping.table)
        if primary_key != mapping.key_column_names:
            raise ValueError(
                f"table {schema}.{mapping.table} has primary key {primary_key} but the stream's key is "
                f"{mapping.key_column_names}; rename or drop the table, or set `tables.<stream>.key`."
            )
        for column in wanted:
            if column.name not in existing:
                cur.execute(f"ALTER TABLE {relation} ADD COLUMN {quote(column.name)} {column.sql_type}")
                added.append(column)
    for column in wanted:
        if column.is_e164 and _comment(cur, relation, column.name) != phone_rules:
            if existing and column not in added:
                added.append(column)
            cur.execute(f"COMMENT ON COLUMN {relation}.{quote(column.name)} IS %s", (phone_rules,))
    for promoted in mapping.columns:
        if promoted.indexed:
            _index(cur, schema, mapping.table, promoted.name)
            if promoted.phone:
                _index(cur, schema, mapping.table, promoted.name + E164_SUFFIX)
    secure(cur, relation)
    return added


def _index(cur: Cursor, schema: str, table: str, column: str) -> None:
    name = f"{table}_{column}_idx"[:63]
    cur.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {qualified(schema, table)} ({quote(column)})")


def ensure_sync_logs(cur: Cursor, schema: str) -> None:
    """The run log: one row per stream per run."""
    relation = qualified(schema, SYNC_LOGS_TABLE)
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    cur.execute(
        f"""CREATE TABLE IF NOT EXISTS {relation} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id uuid NOT NULL,
            stream text NOT NULL,
            table_name text NOT NULL,
            status text NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed')),
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            duration_seconds numeric(12, 3),
            records_received bigint NOT NULL DEFAULT 0,
            records_inserted bigint NOT NULL DEFAULT 0,
            records_updated bigint NOT NULL DEFAULT 0,
            records_unchanged bigint NOT NULL DEFAULT 0,
            records_failed bigint NOT NULL DEFAULT 0,
            duplicates_merged bigint NOT NULL DEFAULT 0,
            batches bigint NOT NULL DEFAULT 0,
            conversion_nulls bigint NOT NULL DEFAULT 0,
            conversion_nulls_by_column jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            error text,
            meltano_run_id text,
            meltano_state_id text,
            meltano_job_trigger text,
            meltano_environment text,
            meltano_extractor text,
            UNIQUE (run_id, stream)
        )"""
    )
    secure(cur, relation)
