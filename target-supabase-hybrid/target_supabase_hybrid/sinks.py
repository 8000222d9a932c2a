"""`HybridSink`: each batch is deduplicated, staged with COPY and upserted in one committed transaction."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from psycopg2.extensions import connection as Connection  # noqa: N812
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_supabase_hybrid import connector, loader
from target_supabase_hybrid.backfill import backfill
from target_supabase_hybrid.connection import error_line, with_retries
from target_supabase_hybrid.errors import BatchLoadError, TargetError
from target_supabase_hybrid.mappings import resolve_mapping
from target_supabase_hybrid.rows import Batch, RowBuilder
from target_supabase_hybrid.settings import DEFAULT_BATCH_SIZE
from target_supabase_hybrid.sync_log import Totals

if TYPE_CHECKING:
    from target_supabase_hybrid.target import TargetSupabaseHybrid

T = TypeVar("T")
__all__ = ["BatchLoadError", "HybridSink"]


class HybridSink(BatchSink):
    """Loads one stream into its hybrid table."""

    target: TargetSupabaseHybrid

    def __init__(
        self, target: TargetSupabaseHybrid, stream_name: str, schema: dict, key_properties: Any
    ) -> None:
        """Resolve the table mapping; the connection opens in `setup`."""
        self.target = target
        self._max_size: int | None = None
        super().__init__(target, stream_name, schema, key_properties)
        self.db_schema: str = self.config.get("schema") or "public"
        self.mapping = resolve_mapping(
            stream_name, self.key_properties, self.config.get("tables"), self.schema
        )
        self.columns = connector.loaded_columns(self.mapping)
        self.rows = RowBuilder(self.mapping, self.columns, target.phones)
        self.sync_log = target.sync_log_for(stream_name, self.mapping.table)
        self._conn: Connection | None = None
        # False while the table was empty when this sink started: no stored hashes to look up.
        self._table_had_rows = True

    @property
    @override
    def max_size(self) -> int:
        # Read for every record (`is_full`): computed once.
        if self._max_size is None:
            self._max_size = int(self.config.get("batch_size") or DEFAULT_BATCH_SIZE)
        return self._max_size

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.target.connections.connect()
        return self._conn

    def _reconnect(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one committed transaction; transient failures retry on a new connection."""

        def attempt() -> T:
            conn = self._connection()
            try:
                result = work(conn)
                with self.target.commits.commit():  # none once the run is interrupted
                    conn.commit()
            except BaseException:
                if not conn.closed:
                    conn.rollback()
                raise
            return result

        return with_retries(
            attempt,
            attempts=int(self.config.get("max_retries", 4)) + 1,
            logger=self.logger,
            scrubber=self.target.connections.scrub,
            on_retry=self._reconnect,
        )

    @override
    def setup(self) -> None:
        self._guarded(lambda: self._transaction(self._prepare), received=0)

    def _prepare(self, conn: Connection) -> None:
        """`sync_logs`, the table (created, or checked and evolved), this run's log row."""
        with conn.cursor() as cur:
            connector.ensure_sync_logs(cur, self.db_schema)
            added = connector.ensure_table(
                cur, self.db_schema, self.mapping, self.target.phones.rules, self.stream_name
            )
            self.sync_log.open(cur)
            self._table_had_rows = loader.has_rows(cur, self.db_schema, self.mapping.table)
        if added:
            failed = backfill(conn, self.db_schema, self.mapping, added, self.target.phones)
            self.logger.info(
                "Filled %s of %s from raw_json (new columns, or phone numbers under changed settings;"
                " unconvertible → NULL: %s)",
                [c.name for c in added],
                self.mapping.table,
                dict(failed),
            )

    @override
    def process_batch(self, context: dict) -> None:
        records: list[dict[str, Any]] = context.get("records", [])
        if not records:
            return
        started = time.perf_counter()
        batch = self._guarded(lambda: self.rows.collect(records), received=len(records))
        self._commit(batch, started)

    def _commit(self, batch: Batch, started: float) -> None:
        finishing = self.target.is_finishing
        before = self.sync_log.totals
        totals, nulls = self._guarded(
            lambda: self._transaction(lambda conn: self._load(conn, batch, finishing)), batch.received
        )
        self.sync_log.committed(totals, "success" if finishing else "running")
        self.tally_record_written(totals.inserted + totals.updated - before.inserted - before.updated)
        self.tally_duplicate_merged(batch.duplicates)
        self.logger.info(
            "Committed %d records into %s in %.2fs (totals: %d inserted, %d updated, %d unchanged, %s)",
            batch.received,
            self.mapping.table,
            time.perf_counter() - started,
            totals.inserted,
            totals.updated,
            totals.unchanged,
            f"conversion NULLs {dict(nulls)}" if nulls else "no conversion NULLs",
        )

    def _load(self, conn: Connection, batch: Batch, finishing: bool) -> tuple[Totals, Counter[str]]:
        """Skip records whose stored `raw_hash` matches, COPY the rest (straight into the table when none of
        their keys exists yet, else through staging + upsert), log the totals."""
        nulls: Counter[str] = Counter()
        keys = self.mapping.key_column_names
        with conn.cursor() as cur:
            if self.config.get("synchronous_commit_off"):
                cur.execute("SET LOCAL synchronous_commit = off")
            entries = batch.entries
            all_new = not self._table_had_rows
            if self._table_had_rows:
                stored = loader.stored_hashes(
                    cur, self.db_schema, self.mapping.table, keys, [e.key for e in entries]
                )
                entries = [e for e in entries if stored.get(e.key) != e.hash]
                all_new = not stored
            inserted = updated = 0
            if entries and all_new:
                nulls = Counter()
                if loader.copy_new_rows(
                    cur,
                    self.db_schema,
                    self.mapping.table,
                    self.columns,
                    self.rows.copy_lines(entries, nulls),
                ):
                    inserted = len(entries)
                    entries = []
            if entries:
                nulls = Counter()
                loader.stage(cur, self.columns, self.rows.copy_lines(entries, nulls))
                inserted, updated = loader.upsert(cur, self.db_schema, self.mapping.table, keys, self.columns)
            totals = self.sync_log.totals.plus(
                received=batch.received,
                inserted=inserted,
                updated=updated,
                duplicates=batch.duplicates,
                nulls=nulls,
            )
            self.sync_log.write(cur, totals, "success" if finishing else "running")
        return totals, nulls

    def _guarded(self, work: Callable[[], T], received: int) -> T:
        """Run `work`; on failure record it in `sync_logs`, then stop the run with a scrubbed error.

        Errors that already say what to fix (settings, tables the target does not own) pass unchanged.
        """
        try:
            return work()
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then re-raised
            message = self.target.connections.scrub(f"{type(exc).__name__}: {error_line(exc)}")
            code = getattr(exc, "pgcode", None)
            self.target.record_failure(self.sync_log, received, message)
            raise BatchLoadError(
                f"stream {self.stream_name!r} → table {self.mapping.table!r}: {received} records were not "
                f"loaded (nothing from this batch was committed and no state covering it is emitted)"
                f"{f' [SQLSTATE {code}]' if code else ''}: {message}"
            ) from None

    def finish(self, status: str = "success") -> None:
        """Mark the stream's log row final (used when no batch was pending at the end of input)."""
        totals = self.sync_log.totals
        self._transaction(lambda conn: self.sync_log.write(conn.cursor(), totals, status))
        self.sync_log.committed(totals, status)

    @override
    def clean_up(self) -> None:
        super().clean_up()
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None
