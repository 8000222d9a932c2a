"""Which table a stream lands in, its key, and which fields are promoted to typed columns.

Defaults reproduce the seed's hybrid tables for the HubSpot `contacts`, `deals` and `calls` streams, and land
tap-hubspot-raw's label streams (owners, pipelines, dispositions, property definitions and history) in
`hubspot_<stream>_raw` keyed on their ids; the `tables` setting overrides or extends them per stream. Other
HubSpot object streams (records in HubSpot's shape: key `id`, `properties`, `updatedAt`, `archived`) land in
`hubspot_<type>_raw` keyed on `hubspot_id`, so they never collide with an application's own `companies` or
`tickets`. Any other stream gets a table named after it with its key properties and `raw_json` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SQL_TYPES = ("text", "boolean", "integer", "bigint", "numeric", "timestamptz", "date", "double precision")
HUBSPOT_KEY_COLUMN = "hubspot_id"
# Streams without key properties are keyed on a hash of the whole record: re-runs stay idempotent and
# identical records collapse into one row (documented in the README).
RECORD_HASH_COLUMN = "_sdc_record_hash"
RECORD_HASH_SOURCE = "*"
MAX_IDENTIFIER_LENGTH = 63
HUBSPOT_OBJECT_FIELDS = ("properties", "updatedAt", "archived")
# Columns the target keeps on every hybrid table besides the loaded ones: the Singer table version of the
# full sync that last saw the row, and when the target found the row gone from the source (NULL: live).
TABLE_VERSION_COLUMN = "_sdc_table_version"
DELETED_AT_COLUMN = "_sdc_deleted_at"
# HubSpot object tables also keep the id of the record a row was merged into.
MERGED_INTO_COLUMN = "merged_into"
# Where a merged HubSpot record lists the ids it replaced, `;`-joined (shared/hubspot-api.md §10, §13).
MERGED_IDS_PATH = ("properties", "hs_merged_object_ids")
KEPT_COLUMNS = (
    "raw_json",
    "raw_hash",
    "synced_at",
    TABLE_VERSION_COLUMN,
    DELETED_AT_COLUMN,
    MERGED_INTO_COLUMN,
)
_NOT_IDENTIFIER_CHAR = re.compile(r"[^a-z0-9_]+")


def sanitize_identifier(name: str) -> str:
    """Turn any stream or property name into a lower-case PostgreSQL identifier (still quoted when used)."""
    cleaned = _NOT_IDENTIFIER_CHAR.sub("_", name.lower()).strip("_") or "unnamed"
    if cleaned[0].isdigit():
        cleaned = f"_{cleaned}"
    return cleaned[:MAX_IDENTIFIER_LENGTH]


@dataclass(frozen=True)
class PromotedColumn:
    """A typed column filled from one path in the record (the record itself stays in `raw_json`)."""

    name: str
    source: str
    sql_type: str = "text"
    indexed: bool = False
    phone: bool = False

    @property
    def path(self) -> tuple[str, ...]:
        """The source path split on dots: `properties.amount` → ("properties", "amount")."""
        return tuple(self.source.split("."))


@dataclass(frozen=True)
class TableMapping:
    """Where one stream lands: table, key columns (column name → record field) and promoted columns."""

    table: str
    key_columns: tuple[tuple[str, str], ...]
    columns: tuple[PromotedColumn, ...] = field(default_factory=tuple)
    # The table this stream's name gave it before HubSpot streams defaulted to `hubspot_<type>_raw`.
    legacy_table: str | None = None
    # Records in HubSpot's object shape, keyed on their `id`: merged records retire the rows they replaced.
    hubspot: bool = False

    @property
    def key_column_names(self) -> tuple[str, ...]:
        """Names of the primary-key columns."""
        return tuple(column for column, _ in self.key_columns)

    @property
    def tracks_merges(self) -> bool:
        """Whether the table has `merged_into` and merged records retire the rows of the ids they list."""
        return self.hubspot and len(self.key_columns) == 1 and self.key_columns[0][1] == "id"

    def promoted(self, source: str, sql_type: str) -> str | None:
        """The promoted column filled from `source` with `sql_type` (e.g. `updatedAt` as timestamptz)."""
        return next((c.name for c in self.columns if c.source == source and c.sql_type == sql_type), None)


def _p(name: str, prop: str | None = None, sql_type: str = "text", **flags: bool) -> PromotedColumn:
    return PromotedColumn(name=name, source=f"properties.{prop or name}", sql_type=sql_type, **flags)


_HUBSPOT_COMMON = (
    PromotedColumn("archived", "archived", "boolean"),
    PromotedColumn("updated_at", "updatedAt", "timestamptz", indexed=True),
)

DEFAULT_MAPPINGS: dict[str, tuple[str, tuple[PromotedColumn, ...]]] = {
    "contacts": (
        "hubspot_contacts_raw",
        (
            _p("email", indexed=True),
            _p("phone", indexed=True, phone=True),
            _p("firstname"),
            _p("lastname"),
            _p("createdate", sql_type="timestamptz"),
            _p("lifecyclestage"),
            _p("vsl_watched", sql_type="boolean"),
            _p("vsl_watch_duration", sql_type="bigint"),
            _p("mobilephone", phone=True),
            _p("hubspot_owner_id"),
            *_HUBSPOT_COMMON,
        ),
    ),
    "deals": (
        "hubspot_deals_raw",
        (
            _p("amount", sql_type="numeric"),
            _p("dealstage", indexed=True),
            _p("createdate", sql_type="timestamptz"),
            _p("closedate", sql_type="timestamptz"),
            _p("qualified_status"),
            _p("trial_status"),
            _p("payment_status"),
            _p("pipeline"),
            _p("dealname"),
            _p("hubspot_owner_id"),
            _p("dealtype"),
            *_HUBSPOT_COMMON,
        ),
    ),
    "calls": (
        "hubspot_calls_raw",
        (
            _p("call_duration", "hs_call_duration", "bigint"),
            _p("call_to_number", "hs_call_to_number", indexed=True, phone=True),
            _p("call_from_number", "hs_call_from_number", phone=True),
            _p("call_timestamp", "hs_timestamp", "timestamptz", indexed=True),
            _p("direction", "hs_call_direction"),
            _p("status", "hs_call_status"),
            _p("disposition", "hs_call_disposition"),
            _p("title", "hs_call_title"),
            _p("hubspot_owner_id"),
            *_HUBSPOT_COMMON,
        ),
    ),
}


@dataclass(frozen=True)
class LabelTable:
    """Where a tap-hubspot-raw label stream lands (recognised by its name, key and fields)."""

    table: str
    key_columns: tuple[tuple[str, str], ...]
    columns: tuple[PromotedColumn, ...]
    fields: tuple[str, ...]  # the stream's schema has these: another tap's `owners` lands as any stream

    @property
    def key_sources(self) -> tuple[str, ...]:
        """The record fields of the key, in order."""
        return tuple(source for _, source in self.key_columns)


def _f(name: str, field: str | None = None, sql_type: str = "text", **flags: bool) -> PromotedColumn:
    return PromotedColumn(name=name, source=field or name, sql_type=sql_type, **flags)


_ARCHIVED_AND_UPDATED = (_f("archived", sql_type="boolean"), _f("updated_at", "updatedAt", "timestamptz"))

LABEL_TABLES: dict[str, LabelTable] = {
    "owners": LabelTable(
        "hubspot_owners_raw",
        ((HUBSPOT_KEY_COLUMN, "id"),),
        (
            _f("email"),
            _f("first_name", "firstName"),
            _f("last_name", "lastName"),
            _f("owner_type", "type"),
            _f("user_id", "userId", "bigint"),
            *_ARCHIVED_AND_UPDATED,
        ),
        ("id", "email", "firstName", "lastName"),
    ),
    "pipelines": LabelTable(
        "hubspot_pipelines_raw",
        (("object_type", "objectType"), (HUBSPOT_KEY_COLUMN, "id")),
        (_f("label"), _f("display_order", "displayOrder", "integer"), *_ARCHIVED_AND_UPDATED),
        ("objectType", "id", "stages"),
    ),
    "call_dispositions": LabelTable(
        "hubspot_call_dispositions_raw", ((HUBSPOT_KEY_COLUMN, "id"),), (_f("label"),), ("id", "label")
    ),
    "property_definitions": LabelTable(
        "hubspot_property_definitions_raw",
        (("object_type", "objectType"), ("name", "name")),
        (_f("label"), _f("type"), _f("field_type", "fieldType"), _f("group_name", "groupName")),
        ("objectType", "name", "fieldType", "options"),
    ),
    "property_history": LabelTable(
        "hubspot_property_history_raw",
        (
            ("object_type", "objectType"),
            ("object_id", "objectId"),
            ("property", "property"),
            ("timestamp", "timestamp"),
            ("source_type", "sourceType"),
            ("value", "value"),
        ),
        (
            _f("changed_at", "timestamp", "timestamptz", indexed=True),
            _f("source_id", "sourceId"),
            _f("updated_by_user_id", "updatedByUserId", "bigint"),
        ),
        ("objectType", "objectId", "property", "timestamp", "sourceType", "value"),
    ),
}


def label_table(
    stream_name: str, key_properties: Sequence[str], schema: Mapping[str, Any] | None
) -> LabelTable | None:
    """The label table of a tap-hubspot-raw label stream, or None for any other stream."""
    label = LABEL_TABLES.get(stream_name)
    fields = (schema or {}).get("properties") or {}
    if (
        label is None
        or tuple(key_properties) != label.key_sources
        or not all(f in fields for f in label.fields)
    ):
        return None
    return label


def _column_from_config(raw: Mapping[str, Any]) -> PromotedColumn:
    sql_type = str(raw.get("sql_type", "text")).lower()
    if sql_type not in SQL_TYPES:
        raise ValueError(f"column {raw.get('name')!r}: sql_type {sql_type!r} is not one of {SQL_TYPES}")
    return PromotedColumn(
        name=sanitize_identifier(str(raw["name"])),
        source=str(raw.get("source") or f"properties.{raw['name']}"),
        sql_type=sql_type,
        indexed=bool(raw.get("indexed", False)),
        phone=bool(raw.get("phone", False)),
    )


def is_hubspot_object(key_properties: Sequence[str], schema: Mapping[str, Any] | None) -> bool:
    """Records in HubSpot's object shape (design §3), as tap-hubspot-raw emits for every object type."""
    fields = (schema or {}).get("properties") or {}
    return tuple(key_properties) == ("id",) and all(f in fields for f in HUBSPOT_OBJECT_FIELDS)


def resolve_mapping(
    stream_name: str,
    key_properties: Sequence[str],
    tables_config: Mapping[str, Any] | None,
    schema: Mapping[str, Any] | None = None,
) -> TableMapping:
    """Combine the seed defaults, the user's `tables` setting and the stream's key properties."""
    override: Mapping[str, Any] = (tables_config or {}).get(stream_name) or {}
    hubspot = stream_name in DEFAULT_MAPPINGS or is_hubspot_object(key_properties, schema)
    label = label_table(stream_name, key_properties, schema)
    legacy_table = None
    if stream_name in DEFAULT_MAPPINGS:
        default_table, default_columns = DEFAULT_MAPPINGS[stream_name]
    elif label is not None:
        default_table, default_columns = label.table, label.columns
    elif hubspot:
        default_table, default_columns = f"hubspot_{stream_name}_raw", _HUBSPOT_COMMON
        legacy_table = None if override.get("table") else sanitize_identifier(stream_name)
    else:
        default_table, default_columns = stream_name, ()
    table = sanitize_identifier(str(override.get("table") or default_table))
    columns = default_columns
    if "columns" in override:
        columns = tuple(_column_from_config(c) for c in override["columns"])
    elif "extra_columns" in override:
        columns = default_columns + tuple(_column_from_config(c) for c in override["extra_columns"])
    taken = sorted({c.name for c in columns} & set(KEPT_COLUMNS))
    if taken:
        raise ValueError(
            f"stream {stream_name!r}: {taken} are columns the target keeps itself; give the promoted"
            " column another name"
        )
    keys = tuple(override.get("key") or key_properties)
    if label is not None and keys == label.key_sources:
        key_columns: tuple[tuple[str, str], ...] = label.key_columns
    elif keys == ("id",) and (stream_name in DEFAULT_MAPPINGS or override.get("hubspot_id_key", hubspot)):
        key_columns = ((HUBSPOT_KEY_COLUMN, "id"),)
    elif keys:
        key_columns = tuple((sanitize_identifier(k), k) for k in keys)
    else:
        key_columns = ((RECORD_HASH_COLUMN, RECORD_HASH_SOURCE),)
    return TableMapping(
        table=table, key_columns=key_columns, columns=columns, legacy_table=legacy_table, hubspot=hubspot
    )


def streams_writing_table(tables: Mapping[str, Any], table: str) -> set[str]:
    """The streams the settings send to `table`: named in `tables.<stream>.table`, or a HubSpot stream's
    default table that no `tables` entry renames."""
    writers = set()
    for stream, mapping in tables.items():
        named = isinstance(mapping, dict) and mapping.get("table")
        if named and sanitize_identifier(str(named)) == table:
            writers.add(stream)
    for stream, (default_table, _) in DEFAULT_MAPPINGS.items():
        if default_table == table and not (tables.get(stream) or {}).get("table"):
            writers.add(stream)
    return writers
