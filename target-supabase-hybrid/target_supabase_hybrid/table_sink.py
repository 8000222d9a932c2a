"""`TableSink`: a Singer sink that owns one table: its setup, its transactions (retried when transient),
failures recorded in `sync_logs`, Singer table versions and what a complete full sync retires, and the drift
check against HubSpot's count. How records become rows is `HybridSink`'s (sinks.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import psycopg2
from psycopg2.extensions import connection as Connection  # noqa: N812
from typing_extensions import override

from target_supabase_hybrid import connector, drift, loader, retirement
from target_supabase_hybrid.backfill import backfill
from target_supabase_hybrid.connection import error_line, with_retries
from target_supabase_hybrid.drift import HubspotCount
from target_supabase_hybrid.errors import BatchLoadError, TargetError
from target_supabase_hybrid.mappings import resolve_mapping
from target_supabase_hybrid.new_destination import check_destination_history
from target_supabase_hybrid.sdk_private import HookedBatchSink
from target_supabase_hybrid.settings import DEFAULT_BATCH_SIZE
from target_supabase_hybrid.sync_log import Totals

if TYPE_CHECKING:
    from target_supabase_hybrid.target import TargetSupabaseHybrid

T = TypeVar("T")


class TableSink(HookedBatchSink):
    """One stream's table, written in committed transactions."""

    target: TargetSupabaseHybrid

    def __init__(
        self, target: TargetSupabaseHybrid, stream_name: str, schema: dict, key_properties: Any
    ) -> None:
        """Resolve the table mapping; the connection opens in `setup`."""
        self.target = target
        self._max_size: int | None = None
        super().__init__(target, stream_name, schema, key_properties)
        self.db_schema: str = self.config.get("schema") or "public"
        try:
            self.mapping = resolve_mapping(
                stream_name, self.key_properties, self.config.get("tables"), self.schema
            )
        except ValueError as exc:
            raise TargetError(f"tables: {exc}") from None
        self.sync_log = target.sync_log_for(stream_name, self.mapping.table)
        self._conn: Connection | None = None
        # False while the table was empty when this sink started: no stored hashes to look up.
        self._table_had_rows = True
        # The Singer table version of the records arriving now (None: they carry none).
        self._version: int | None = None

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
        # Another sink of this run streaming into the same table holds its transaction open: finish it first
        # (its locks would block this DDL), and stream into a shared table no more.
        self.target.claim_table(self)
        self._guarded(lambda: self._transaction(self._prepare), received=0)

    def _prepare(self, conn: Connection) -> None:
        """`sync_logs`, the table (created, or checked and evolved), this run's log row."""
        with conn.cursor() as cur:
            connector.ensure_sync_logs(cur, self.db_schema)
            added = connector.ensure_table(
                cur, self.db_schema, self.mapping, self.target.phones.rules, self.stream_name
            )
            self._table_had_rows = loader.has_rows(cur, self.db_schema, self.mapping.table)
            if self.stream_name in self.target.resumed_streams and self.config.get(
                "check_new_destination", True
            ):
                check_destination_history(
                    cur, self.db_schema, self.mapping.table, self.stream_name, has_rows=self._table_had_rows
                )
            self.sync_log.open(cur)
        if added:
            failed = backfill(conn, self.db_schema, self.mapping, added, self.target.phones)
            self.logger.info(
                "Filled %s of %s from raw_json (new columns, or phone numbers under changed settings;"
                " unconvertible → NULL: %s)",
                [c.name for c in added],
                self.mapping.table,
                dict(failed),
            )

    def expect_version(self, version: Any) -> None:
        """The next record's Singer table version: a batch holds records of one version (its transaction
        stamps them with it), so a batch of another version is committed first."""
        if version is not None and type(version) is not int:
            raise TargetError(
                f"stream {self.stream_name!r}: a RECORD message has version {version!r}; Singer table"
                " versions are integers"
            )
        if version == self._version:
            return
        if self.current_size:
            self.target.drain_one(self)
        self._version = version

    def settle(self) -> None:
        """Wait for work on the table still in progress in the background (a subclass may commit behind)."""

    def _settle_quietly(self) -> None:
        """`settle` without loading anything again (the run is stopping)."""

    def _guarded(self, work: Callable[[], T], received: int) -> T:
        """Run `work`; on failure record it in `sync_logs`, then stop the run with a scrubbed error.

        Errors that already say what to fix (settings, tables the target does not own) pass unchanged.
        """
        try:
            return work()
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then re-raised
            self._fail(exc, received)

    def _fail(self, exc: Exception, received: int) -> NoReturn:
        """Record `exc` in `sync_logs` (the batch's `received` records failed) and raise `BatchLoadError`."""
        self._settle_quietly()  # a batch that committed behind counts in the totals recorded with the failure
        message = self.target.connections.scrub(f"{type(exc).__name__}: {error_line(exc)}")
        code = getattr(exc, "pgcode", None)
        self.sync_log.record_failure(self.target.connections, received, message, self.logger)
        raise BatchLoadError(
            f"stream {self.stream_name!r} → table {self.mapping.table!r}: {received} records were not "
            f"loaded (nothing from this batch was committed and no state covering it is emitted)"
            f"{f' [SQLSTATE {code}]' if code else ''}: {message}"
        ) from None

    @override
    def activate_version(self, new_version: int) -> None:
        """A full sync that read everything stamped its rows with `new_version`: retire the rows it did not
        see (soft-delete, or DELETE with `hard_delete`), once every record before this message is committed.

        Not in a table several streams write: one stream's full sync has not seen the others' rows.
        """
        if type(new_version) is not int:
            raise TargetError(
                f"stream {self.stream_name!r}: ACTIVATE_VERSION has version {new_version!r}; Singer table"
                " versions are integers"
            )
        self.target.drain_one(self)
        self.settle()
        writers = self.target.other_writers(self)
        hard_delete = bool(self.config.get("hard_delete"))

        def retire(conn: Connection) -> tuple[Totals, list[str]]:
            with conn.cursor() as cur:
                others = writers or retirement.other_streams(
                    cur, self.db_schema, self.mapping.table, self.stream_name
                )
                if others:
                    return self.sync_log.totals, others
                count = retirement.retire_unseen(
                    cur, self.db_schema, self.mapping.table, new_version, hard_delete=hard_delete
                )
                totals = self.sync_log.totals.plus_retired(retired=count)
                self.sync_log.write(cur, totals, self.sync_log.status)
            return totals, []

        totals, others = self._guarded(lambda: self._transaction(retire), received=0)
        if others:
            self.logger.warning(
                "Stream %s: its full sync is complete, but table %s is also written by %s: rows it did not"
                " see are not retired (give each stream its own table to have them retired)",
                self.stream_name,
                self.mapping.table,
                others,
            )
            return
        retired = totals.retired - self.sync_log.totals.retired
        self.sync_log.committed(totals, self.sync_log.status)
        self.logger.info(
            "Stream %s: full sync complete (table version %d); %d rows of %s it did not see %s",
            self.stream_name,
            new_version,
            retired,
            self.mapping.table,
            "deleted (hard_delete)" if hard_delete else "marked _sdc_deleted_at",
        )

    def record_drift(self, count: HubspotCount) -> None:
        """Put HubSpot's count of live objects beside the table's live rows in `sync_logs`; warn when they
        differ by more than what changed while the run went on. Never fails the run (its state is out)."""
        archived = self.mapping.promoted("archived", "boolean") if self.mapping.hubspot else None

        def compare(conn: Connection) -> tuple[int, str | None]:
            with conn.cursor() as cur:
                if not drift.is_this_runs(count, self.sync_log.previous_run_ended(cur)):
                    return 0, None
                live = retirement.live_rows(cur, self.db_schema, self.mapping.table, archived)
                status = drift.status(count, live, self.sync_log.totals.changed)
                self.sync_log.write_drift(cur, count.live, live, status)
            return live, status

        try:
            table_live, status = self._transaction(compare)
        except psycopg2.Error as exc:
            self.logger.warning(
                "Stream %s: drift not checked (%s)",
                self.stream_name,
                self.target.connections.scrub(error_line(exc)),
            )
            return
        if status == drift.DRIFT:
            self.logger.warning(
                "Stream %s: table %s has %d live rows but HubSpot counts %d live objects (drift %+d, more"
                " than the %d changes made while this run went on explain). Rows were deleted behind the"
                " pipeline's back, or HubSpot deleted objects for good; run a full refresh (meltano run"
                " --full-refresh ...) to converge",
                self.stream_name,
                self.mapping.table,
                table_live,
                count.live,
                table_live - count.live,
                count.recent + self.sync_log.totals.changed,
            )

    def finish(self, status: str = "success") -> None:
        """Mark the stream's log row final (used when no batch was pending at the end of input)."""
        totals = self.sync_log.totals
        self._transaction(lambda conn: self.sync_log.write(conn.cursor(), totals, status))
        self.sync_log.committed(totals, status)

    @override
    def clean_up(self) -> None:
        self.settle()
        super().clean_up()
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None
