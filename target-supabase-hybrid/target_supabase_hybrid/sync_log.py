"""`sync_logs`: one row per stream per run, updated inside each batch's transaction.

Counts are written as absolute totals in the same transaction as the batch they describe, so the row never
claims data that did not commit; the totals kept here advance only after that commit.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.connection import error_line
from target_supabase_hybrid.connector import SYNC_LOGS_TABLE, qualified

if TYPE_CHECKING:
    import logging

    from target_supabase_hybrid.connection import ConnectionFactory

# Environment Meltano sets for plugins (or the user sets for `meltano run`): stored when present.
MELTANO_ENV = {
    "meltano_run_id": "MELTANO_RUN_ID",
    "meltano_state_id": "MELTANO_STATE_ID",
    "meltano_job_trigger": "MELTANO_JOB_TRIGGER",
    "meltano_environment": "MELTANO_ENVIRONMENT",
    "meltano_extractor": "MELTANO_EXTRACTOR_NAME",
}
MAX_ERROR_CHARS = 4000
STATUSES = ("running", "success", "partial", "failed", "interrupted")


@dataclass(frozen=True)
class Totals:
    """Cumulative counts for one stream in this run."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    duplicates: int = 0
    batches: int = 0
    conversion_nulls: Counter[str] = field(default_factory=Counter)
    retired: int = 0  # rows a complete full sync did not see, retired (or deleted)
    merged: int = 0  # rows of ids that merged records replaced, retired

    def plus(
        self, *, received: int, inserted: int, updated: int, duplicates: int, nulls: Counter[str]
    ) -> Totals:
        """These totals with one more committed batch."""
        return replace(
            self,
            received=self.received + received,
            inserted=self.inserted + inserted,
            updated=self.updated + updated,
            unchanged=self.unchanged + (received - duplicates - inserted - updated),
            duplicates=self.duplicates + duplicates,
            batches=self.batches + 1,
            conversion_nulls=self.conversion_nulls + nulls,
        )

    def plus_retired(self, *, retired: int = 0, merged: int = 0) -> Totals:
        """These totals with more rows retired."""
        return replace(self, retired=self.retired + retired, merged=self.merged + merged)

    @property
    def changed(self) -> int:
        """Rows this run wrote or retired."""
        return self.inserted + self.updated + self.retired + self.merged


class SyncLog:
    """The `sync_logs` row of one stream in one run."""

    def __init__(self, schema: str, run_id: uuid.UUID, stream: str, table: str) -> None:
        """Nothing is written until `open`."""
        self.relation = qualified(schema, SYNC_LOGS_TABLE)
        self.run_id = run_id
        self.stream = stream
        self.table = table
        self.totals = Totals()
        self.status = "running"
        # Set once the row was inserted (in a transaction that may yet roll back: updates are then no-ops).
        self.opened = False

    def open(self, cur: Cursor) -> None:
        """Insert the `running` row (idempotent: a second sink for the same stream reuses it)."""
        meltano = {column: os.environ.get(var) or None for column, var in MELTANO_ENV.items()}
        columns = ", ".join(meltano)
        cur.execute(
            f"INSERT INTO {self.relation} (run_id, stream, table_name, status, {columns})"
            f" VALUES (%s, %s, %s, 'running', {', '.join(['%s'] * len(meltano))})"
            " ON CONFLICT (run_id, stream) DO NOTHING",
            (str(self.run_id), self.stream, self.table, *meltano.values()),
        )
        self.opened = True

    def write(self, cur: Cursor, totals: Totals, status: str = "running", error: str | None = None) -> None:
        """Write `totals` and `status`; a final status also sets finished_at and the duration."""
        final = status != "running"
        cur.execute(
            f"""UPDATE {self.relation} SET records_received = %s, records_inserted = %s,
                records_updated = %s, records_unchanged = %s, records_failed = %s, duplicates_merged = %s,
                batches = %s, conversion_nulls = %s, conversion_nulls_by_column = %s,
                records_retired = %s, records_merged = %s, status = %s,
                error = COALESCE(%s, error),
                finished_at = CASE WHEN %s THEN clock_timestamp() END,
                duration_seconds = CASE WHEN %s THEN EXTRACT(EPOCH FROM clock_timestamp() - started_at) END
            WHERE run_id = %s AND stream = %s""",
            (
                totals.received,
                totals.inserted,
                totals.updated,
                totals.unchanged,
                totals.failed,
                totals.duplicates,
                totals.batches,
                sum(totals.conversion_nulls.values()),
                json.dumps(dict(totals.conversion_nulls)),
                totals.retired,
                totals.merged,
                status,
                error[:MAX_ERROR_CHARS] if error else None,
                final,
                final,
                str(self.run_id),
                self.stream,
            ),
        )

    def record_failure(
        self, connections: ConnectionFactory, received: int, message: str, logger: logging.Logger
    ) -> None:
        """Best effort, in a transaction of its own: mark the stream `failed` (`partial` if earlier batches
        committed), with the error and the `received` records that failed."""
        if not self.opened:  # nothing of this stream was written (e.g. its table was refused)
            return
        loaded = self.totals.inserted + self.totals.updated + self.totals.unchanged
        status = "partial" if loaded else "failed"
        totals = replace(self.totals, failed=self.totals.failed + received)
        try:
            conn = connections.connect()
            try:
                with conn, conn.cursor() as cur:
                    self.write(cur, totals, status, message)
            finally:
                conn.close()
            self.committed(totals, status)
        except Exception as exc:  # noqa: BLE001 - the original error is what matters to the user
            logger.warning(
                "Could not record the failure in sync_logs: %s", connections.scrub(error_line(exc))
            )

    def write_drift(self, cur: Cursor, hubspot_live: int, table_live: int, status: str) -> None:
        """Record HubSpot's count of live objects beside the table's live rows, and whether they disagree."""
        cur.execute(
            f"""UPDATE {self.relation} SET hubspot_live = %s, table_live = %s, drift = %s, drift_status = %s
            WHERE run_id = %s AND stream = %s""",
            (hubspot_live, table_live, table_live - hubspot_live, status, str(self.run_id), self.stream),
        )

    def previous_run_ended(self, cur: Cursor) -> datetime | None:
        """When the stream's latest earlier run ended (None: none did)."""
        cur.execute(
            f"SELECT max(finished_at) FROM {self.relation} WHERE stream = %s AND run_id <> %s",
            (self.stream, str(self.run_id)),
        )
        row = cur.fetchone()
        return row[0] if row else None

    def committed(self, totals: Totals, status: str = "running") -> None:
        """Remember what the database now holds."""
        self.totals = totals
        self.status = status


def mark_unfinished(cur: Cursor, schema: str, run_id: uuid.UUID, status: str, error: str) -> None:
    """Give every row of this run still `running` a final `status` (e.g. `interrupted`); counts stay exact."""
    cur.execute(
        f"""UPDATE {qualified(schema, SYNC_LOGS_TABLE)} SET status = %s, error = COALESCE(error, %s),
            finished_at = clock_timestamp(),
            duration_seconds = EXTRACT(EPOCH FROM clock_timestamp() - started_at)
        WHERE run_id = %s AND status = 'running'""",
        (status, error[:MAX_ERROR_CHARS], str(run_id)),
    )
