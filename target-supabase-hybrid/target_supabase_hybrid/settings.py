"""The target's settings: the single source of truth for `--about`, the README table and meltano.yml."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

# Batches of 2,000-10,000 load about equally fast; 5,000 keeps a batch of HubSpot records near 100 MB.
DEFAULT_BATCH_SIZE = 5_000

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

PROMOTED_COLUMN = th.ObjectType(
    th.Property("name", th.StringType, required=True, description="Column name."),
    th.Property(
        "source",
        th.StringType,
        description="Dotted path in the record, e.g. `properties.amount` (default `properties.<name>`).",
    ),
    th.Property(
        "sql_type",
        th.StringType,
        default="text",
        allowed_values=[
            "text",
            "boolean",
            "integer",
            "bigint",
            "numeric",
            "timestamptz",
            "date",
            "double precision",
        ],
        description="Column type; values that do not convert are stored as NULL and counted in sync_logs.",
    ),
    th.Property("indexed", th.BooleanType, default=False, description="Create a b-tree index on the column."),
    th.Property("phone", th.BooleanType, default=False, description="Also store `<name>_e164` (normalized)."),
)

TABLE_MAPPING = th.ObjectType(
    th.Property(
        "table",
        th.StringType,
        description="Table name (default: hubspot_<stream>_raw for HubSpot object streams, else the stream).",
    ),
    th.Property("key", th.ArrayType(th.StringType), description="Key fields (default: the stream's key)."),
    th.Property(
        "columns",
        th.ArrayType(PROMOTED_COLUMN),
        description="Promoted columns, replacing the defaults for this stream.",
    ),
    th.Property(
        "extra_columns",
        th.ArrayType(PROMOTED_COLUMN),
        description="Promoted columns added to the defaults for this stream.",
    ),
    th.Property(
        "hubspot_id_key",
        th.BooleanType,
        description=(
            "Store the key `id` as `hubspot_id` (automatic for contacts, deals, calls and other streams in"
            " HubSpot's record shape; false keeps `id`)."
        ),
    ),
    additional_properties=False,
)

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "database_url",
        th.StringType,
        required=True,
        secret=True,
        title="Database URL",
        description="PostgreSQL URL: Supabase pooler (port 6543 or 5432), direct connection, or local.",
    ),
    th.Property(
        "schema",
        th.StringType,
        default="public",
        title="Schema",
        description=(
            "Schema the tables and sync_logs are created in: lower-case letters, digits and underscores,"
            " starting with a letter or underscore (created when missing)."
        ),
    ),
    th.Property(
        "batch_size",
        th.IntegerType(minimum=1),
        default=DEFAULT_BATCH_SIZE,
        title="Batch size",
        description="Records per transaction (2,000-10,000 is fastest; memory grows with it).",
    ),
    th.Property(
        "tables",
        th.ObjectType(additional_properties=TABLE_MAPPING),
        title="Table mappings",
        description="Per-stream table, key and promoted columns (overrides the seed defaults).",
    ),
    th.Property(
        "sslmode",
        th.StringType,
        allowed_values=SSL_MODES,
        title="SSL mode",
        description="libpq sslmode. Default: `require` for remote hosts, libpq's default for local ones.",
    ),
    th.Property(
        "allow_insecure_connection",
        th.BooleanType,
        default=False,
        title="Allow insecure connection",
        description="Allow a remote host without TLS (sslmode disable/allow/prefer). Not recommended.",
    ),
    th.Property(
        "default_phone_region",
        th.StringType,
        title="Default phone region",
        description="ISO country code (e.g. `US`, `RU`) for phone numbers written without `+country`.",
    ),
    th.Property(
        "phone_fallback_regions",
        th.ArrayType(th.StringType),
        title="Phone fallback regions",
        description=(
            "ISO country codes tried in order for numbers not possible in `default_phone_region`; then 11-15"
            " digits without `+` are read as international when valid. Order matters: [US, RU] reads"
            " `(857) 829 5489` as US, [RU, US] as Russian."
        ),
    ),
    th.Property(
        "create_views",
        th.BooleanType,
        default=True,
        title="Create views",
        description="Create the analyst views (`hubspot_call_contacts`, `hubspot_deals`, `hubspot_contacts`, "
        "`hubspot_calls`, `hubspot_stage_history`, `hubspot_pipeline_stages`, `hubspot_property_options`) "
        "once the tables each reads exist.",
    ),
    th.Property(
        "validate_records",
        th.BooleanType,
        default=False,
        title="Validate records",
        description="Validate records against the stream schema (slow; raw_json keeps records as received).",
    ),
    th.Property(
        "synchronous_commit_off",
        th.BooleanType,
        default=False,
        title="Asynchronous commit",
        description=(
            "Off by default. `SET LOCAL synchronous_commit = off` in each batch transaction (transaction-"
            "scoped, so pooler-safe): commits skip the WAL flush wait. A server crash can then lose the last"
            " ~0.6 s of commits (never corrupt them) whose STATE may already be printed: re-run from an"
            " earlier bookmark after a crash."
        ),
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
        default=4,
        title="Max retries",
        description="Retries of a batch after a transient error (connection lost, deadlock, serialization).",
    ),
    th.Property(
        "check_new_destination",
        th.BooleanType,
        default=True,
        title="Check for a new destination",
        description=(
            "Stop before loading a stream when the incoming state says earlier runs loaded it but this"
            " destination has no trace of it (its table is missing or empty and sync_logs never saw it): a"
            " new `schema`, `database_url` or table with old state would receive only recent changes. Run"
            " once with `--full-refresh` (or a state id per destination); false loads the changes anyway."
        ),
    ),
    th.Property(
        "hard_delete",
        th.BooleanType,
        default=False,
        title="Hard delete",
        description=(
            "When a complete full sync retires the rows it did not see (objects HubSpot deleted for good or"
            " merged away), DELETE them instead of setting `_sdc_deleted_at`; rows retired earlier go too."
        ),
    ),
    th.Property(
        "process_activate_version_messages",
        th.BooleanType,
        default=True,
        title="Process ACTIVATE_VERSION messages",
        description=(
            "Retire the rows a complete full sync did not see when it ends (its ACTIVATE_VERSION message);"
            " false keeps them live. Merged records retire the rows they replaced either way."
        ),
    ),
    th.Property(
        "state_checkpoint_seconds",
        th.IntegerType(minimum=0),
        default=60,
        title="State checkpoint interval (seconds)",
        description=(
            "When a STATE message arrives and this long has passed since the last checkpoint, commit every "
            "pending batch and emit that state, so a run killed mid-stream resumes near where it stopped. "
            "0 checkpoints at every STATE message."
        ),
    ),
).to_dict()

# Settings the SDK adds to every target's `--about`; this target removes them (`append_builtin_config`):
# it always upserts on the key, batches by `batch_size`, and keeps `raw_json` exactly as received.
SDK_SETTINGS_NOT_OFFERED = ("load_method", "batch_size_rows", "add_record_metadata")
# Unquoted PostgreSQL identifiers as users type them in SQL: no quoting surprises, no case folding.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED_SCHEMAS = ("pg_", "information_schema")


def check_schema_name(name: str) -> None:
    """A schema name users can type unquoted in SQL, and that PostgreSQL lets a user create."""
    if not _SCHEMA_NAME.fullmatch(name) or name.startswith(_RESERVED_SCHEMAS):
        raise ValueError(
            f"schema {name!r} is not a usable schema name: use lower-case letters, digits and underscores,"
            " starting with a letter or underscore, at most 63 characters, not pg_* or information_schema"
            " (e.g. public or hubspot)."
        )


def check_sdk_settings(config: Mapping[str, Any]) -> list[str]:
    """Refuse the SDK settings this target does not offer when they would change anything; return warnings.

    Older plugin definitions declared `load_method` with the SDK's default `append-only`, so Meltano may
    still pass that value: it is accepted with a warning (the target upserts either way).
    """
    if config.get("batch_size_rows") is not None:
        raise ValueError("batch_size_rows is not a setting of this target: use batch_size.")
    if config.get("add_record_metadata"):
        raise ValueError(
            "add_record_metadata is not supported: raw_json keeps each record exactly as received (_sdc_*"
            " timestamps in it would make every record look changed); remove the setting."
        )
    load_method = config.get("load_method")
    if load_method not in (None, "upsert", "append-only"):
        raise ValueError(
            f"load_method {load_method!r} is not supported: this target always upserts on each stream's key;"
            " remove the setting."
        )
    if load_method == "append-only":
        return [
            "load_method 'append-only' is ignored: this target always upserts on each stream's key (older"
            " plugin definitions declared this default; remove the setting)."
        ]
    return []
