"""DDL: hybrid tables, their evolution and indexes; the `sync_logs` table; only ever on relations it owns.

Everything here runs on a cursor inside the caller's transaction (pooler-safe: no session state), so a
refusal or an error leaves the database as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg2.errors
from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid import ownership, security
from target_supabase_hybrid.errors import TargetError
from target_supabase_hybrid.mappings import (
    DELETED_AT_COLUMN,
    MERGED_INTO_COLUMN,
    TABLE_VERSION_COLUMN,
    PromotedColumn,
    TableMapping,
)

SYNC_LOGS_TABLE = "sync_logs"
SYNC_LOG_STATUSES = ("running", "success", "partial", "failed", "interrupted")
# Columns only a `sync_logs` created by this target (before ownership marks existed) has together.
_SYNC_LOGS_SHAPE = frozenset({"run_id", "stream", "table_name", "status", "records_received", "batches"})
# Columns every hybrid table has had since the first release.
_HYBRID_SHAPE = frozenset({"raw_json", "synced_at"})
E164_SUFFIX = "_e164"
RAW_HASH_COLUMN = "raw_hash"
# A batch's Singer table version, set with `SET LOCAL` in its transaction: rows it writes take it as the
# default of `_sdc_table_version`, so no COPY path needs a field for it (unset: NULL).
TABLE_VERSION_SETTING = "target_supabase_hybrid.table_version"
_TABLE_VERSION_DEFAULT = f"nullif(current_setting('{TABLE_VERSION_SETTING}', true), '')::bigint"
# Columns added to `sync_logs` after its first release, with their definitions.
SYNC_LOG_DRIFT_STATUSES = ("ok", "drift")
_SYNC_LOGS_ADDED = {
    "records_retired": "bigint NOT NULL DEFAULT 0",
    "records_merged": "bigint NOT NULL DEFAULT 0",
    "hubspot_live": "bigint",
    "table_live": "bigint",
    "drift": "bigint",
    "drift_status": "text CONSTRAINT sync_logs_drift_status_check CHECK (drift_status IN ("
    + ", ".join(f"'{status}'" for status in SYNC_LOG_DRIFT_STATUSES)
    + "))",
}

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


def kept_columns(mapping: TableMapping) -> dict[str, str]:
    """Columns the target maintains itself (never in a COPY), with their definitions: the table version of
    the full sync that last saw the row, when the row was found gone, and (HubSpot objects) its merge."""
    columns = {
        TABLE_VERSION_COLUMN: f"bigint DEFAULT {_TABLE_VERSION_DEFAULT}",
        DELETED_AT_COLUMN: "timestamptz",
    }
    if mapping.tracks_merges:
        columns[MERGED_INTO_COLUMN] = "text"
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


def ensure_schema(cur: Cursor, schema: str) -> None:
    """Create the schema when missing, usable by Supabase's service role; when it exists, issue nothing
    (CREATE SCHEMA IF NOT EXISTS would still need CREATE on the database, which a least-privilege role does
    not have, and the grants on a schema of the user's own are theirs)."""
    cur.execute("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)", (schema,))
    row = cur.fetchone()
    if row and row[0]:
        return
    try:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    except psycopg2.errors.InsufficientPrivilege:
        raise TargetError(
            f"schema: {schema!r} does not exist and this database user may not create it; create it"
            f" (CREATE SCHEMA {quote(schema)} AUTHORIZATION <loading user>) or choose an existing schema."
        ) from None
    security.grant_service_role_schema_usage(cur, schema)


def listed_in_sync_logs(cur: Cursor, schema: str, table: str, stream: str | None = None) -> bool:
    """Whether `sync_logs` has a run that loaded `table` (for `stream`, when given)."""
    cur.execute(
        f"SELECT EXISTS (SELECT FROM {qualified(schema, SYNC_LOGS_TABLE)} WHERE table_name = %s"
        " AND (%s::text IS NULL OR stream = %s))",
        (table, stream, stream),
    )
    row = cur.fetchone()
    return bool(row and row[0])


def _claim_table(cur: Cursor, schema: str, table: str, stream: str, columns: set[str]) -> None:
    """Go on only with a table this target created; mark one created before marks existed."""
    relation = qualified(schema, table)
    found = ownership.lookup(cur, relation)
    if found is not None and ownership.is_marked(found[1]):
        return
    if (
        found is not None
        and found[0] == "r"
        and columns >= _HYBRID_SHAPE
        and listed_in_sync_logs(cur, schema, table)
    ):
        ownership.mark(cur, "TABLE", relation, f"hybrid table of stream {stream!r}", previous=found[1])
        logger.info("Marked %s as the target's own (created by an earlier version of the target)", relation)
        return
    raise ownership.refused(
        "table",
        f"{schema}.{table}",
        f"Stream {stream!r} can load into another table (tables.{stream}.table) or another schema (schema)",
    )


def _refuse_moved_default(cur: Cursor, schema: str, mapping: TableMapping, stream: str) -> None:
    """An earlier version loaded this HubSpot stream into a table named after the stream: never split it."""
    legacy = mapping.legacy_table
    if (
        legacy
        and ownership.lookup(cur, qualified(schema, legacy))
        and listed_in_sync_logs(cur, schema, legacy, stream)
    ):
        raise TargetError(
            f"tables: earlier runs loaded stream {stream!r} into table {legacy!r}; HubSpot streams other than"
            f" contacts, deals and calls now land in {mapping.table!r} by default. To keep loading into the"
            f" old table set tables.{stream}.table: {legacy} (with hubspot_id_key: false if its key column is"
            f" id); to start the new table instead, run once with --full-refresh after renaming the old one."
        )


def ensure_table(
    cur: Cursor, schema: str, mapping: TableMapping, phone_rules: str = "", stream: str = ""
) -> list[TableColumn]:
    """Create or evolve the table; return the columns to (re)fill from raw_json in existing rows.

    Those are the columns added to an existing table, and the E.164 columns whose numbers were normalized
    under other phone settings (`phone_rules`, kept as the column's comment): changing the regions later
    re-normalizes stored numbers without a re-extract. A table the target did not create is refused before
    anything changes; security is applied once, at creation.
    """
    stream = stream or mapping.table
    relation = qualified(schema, mapping.table)
    ensure_schema(cur, schema)
    wanted = loaded_columns(mapping)
    existing = _existing_columns(cur, schema, mapping.table)
    added: list[TableColumn] = []
    if not existing:
        _refuse_moved_default(cur, schema, mapping, stream)
        definitions = [
            f"{quote(c.name)} {c.sql_type}{' NOT NULL' if c.source is None else ''}" for c in wanted
        ]
        keys = ", ".join(quote(k) for k in mapping.key_column_names)
        definitions += [f"{quote(name)} {definition}" for name, definition in kept_columns(mapping).items()]
        cur.execute(
            f"CREATE TABLE {relation} ({', '.join(definitions)},"
            f" synced_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ({keys}))"
        )
        ownership.mark(cur, "TABLE", relation, f"hybrid table of stream {stream!r}")
        security.secure_new_table(cur, relation)
    else:
        _claim_table(cur, schema, mapping.table, stream, set(existing))
        primary_key = _primary_key(cur, schema, mapping.table)
        if primary_key != mapping.key_column_names:
            raise TargetError(
                f"table {schema}.{mapping.table} has primary key {primary_key} but the stream's key is "
                f"{mapping.key_column_names}; rename or drop the table, or set `tables.<stream>.key`."
            )
        for column in wanted:
            if column.name not in existing:
                cur.execute(f"ALTER TABLE {relation} ADD COLUMN {quote(column.name)} {column.sql_type}")
                added.append(column)
        _add_kept_columns(cur, relation, mapping, existing)
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
    return added


def _add_kept_columns(cur: Cursor, relation: str, mapping: TableMapping, existing: dict[str, str]) -> None:
    """Tables from before retirement: add the columns the target keeps (once)."""
    for name, definition in kept_columns(mapping).items():
        if name not in existing:
            # Added without its default first: existing rows stay NULL (no full sync has stamped them yet).
            sql_type, _, default = definition.partition(" DEFAULT ")
            cur.execute(f"ALTER TABLE {relation} ADD COLUMN {quote(name)} {sql_type}")
            if default:
                cur.execute(f"ALTER TABLE {relation} ALTER COLUMN {quote(name)} SET DEFAULT {default}")


def _index(cur: Cursor, schema: str, table: str, column: str) -> None:
    name = f"{table}_{column}_idx"[:63]
    cur.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {qualified(schema, table)} ({quote(column)})")


def ensure_sync_logs(cur: Cursor, schema: str) -> None:
    """The run log: one row per stream per run. Refuses a `sync_logs` table the target did not create."""
    relation = qualified(schema, SYNC_LOGS_TABLE)
    ensure_schema(cur, schema)
    found = ownership.lookup(cur, relation)
    if found is None:
        _create_sync_logs(cur, relation)
        ownership.mark(cur, "TABLE", relation, "one row per stream per run")
        security.secure_new_table(cur, relation)
        return
    if not ownership.is_marked(found[1]):
        if found[0] != "r" or not set(_existing_columns(cur, schema, SYNC_LOGS_TABLE)) >= _SYNC_LOGS_SHAPE:
            raise ownership.refused(
                "table",
                f"{schema}.{SYNC_LOGS_TABLE}",
                "Set schema to a schema of the target's own, or rename that table",
            )
        # Created before ownership marks: mark it, and close what that version left open (its id sequence
        # kept Supabase's default grants, so the API roles could setval it and stop every later insert).
        ownership.mark(cur, "TABLE", relation, "one row per stream per run", previous=found[1])
        security.revoke_api_roles_on_sequences(cur, relation)
        logger.info("Marked %s as the target's own (created by an earlier version of the target)", relation)
    _allow_all_statuses(cur, relation)
    _add_sync_log_columns(cur, schema)


def _create_sync_logs(cur: Cursor, relation: str) -> None:
    statuses = ", ".join(f"'{status}'" for status in SYNC_LOG_STATUSES)
    later = ", ".join(f"{name} {definition}" for name, definition in _SYNC_LOGS_ADDED.items())
    cur.execute(
        f"""CREATE TABLE {relation} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id uuid NOT NULL,
            stream text NOT NULL,
            table_name text NOT NULL,
            status text NOT NULL CONSTRAINT sync_logs_status_check CHECK (status IN ({statuses})),
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
            {later},
            UNIQUE (run_id, stream)
        )"""
    )


def _add_sync_log_columns(cur: Cursor, schema: str) -> None:
    """Tables from before retirement and drift checks: add their columns (once)."""
    existing = _existing_columns(cur, schema, SYNC_LOGS_TABLE)
    missing = [f"ADD COLUMN {name} {d}" for name, d in _SYNC_LOGS_ADDED.items() if name not in existing]
    if missing:
        cur.execute(f"ALTER TABLE {qualified(schema, SYNC_LOGS_TABLE)} {', '.join(missing)}")


def _allow_all_statuses(cur: Cursor, relation: str) -> None:
    """Tables from before `interrupted` existed: widen their status check (once)."""
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = to_regclass(%s) AND contype = 'c'",
        (relation,),
    )
    for name, definition in cur.fetchall():
        if "status" in definition and not all(s in definition for s in SYNC_LOG_STATUSES):
            statuses = ", ".join(f"'{status}'" for status in SYNC_LOG_STATUSES)
            cur.execute(
                f"ALTER TABLE {relation} DROP CONSTRAINT {quote(name)},"
                f" ADD CONSTRAINT {quote(name)} CHECK (status IN ({statuses}))"
            )
