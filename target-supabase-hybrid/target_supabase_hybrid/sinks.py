"""`HybridSink`: each batch is deduplicated, staged with COPY and upserted in one committed transaction
(streamed into the table while it is read, and committed behind, when the table allows)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import psycopg2
import psycopg2.errors
from psycopg2.extensions import connection as Connection  # noqa: N812
from psycopg2.extensions import cursor as Cursor  # noqa: N812
from typing_extensions import override

from target_supabase_hybrid import connector, loader, retirement
from target_supabase_hybrid.batch import PendingBatch
from target_supabase_hybrid.commit_behind import CommitBehind
from target_supabase_hybrid.connection import error_line
from target_supabase_hybrid.errors import BatchLoadError
from target_supabase_hybrid.rows import RowBuilder, Serialized
from target_supabase_hybrid.streamed_copy import CopyAbortedError, StreamedCopy
from target_supabase_hybrid.sync_log import Totals
from target_supabase_hybrid.table_sink import TableSink

if TYPE_CHECKING:
    from target_supabase_hybrid.target import TargetSupabaseHybrid

__all__ = ["BatchLoadError", "HybridSink"]


@dataclass
class _Committing:
    """A streamed batch committing in the background (`job`, whose result is the totals its commit makes
    true), and what its log line needs."""

    job: CommitBehind[Totals]
    batch: PendingBatch
    nulls: Counter[str]
    finishing: bool
    started: float


def _discard(conn: Connection) -> None:
    """Roll back (or close) a connection whose transaction failed."""
    try:
        if not conn.closed:
            conn.rollback()
    except psycopg2.Error:
        conn.close()


class HybridSink(TableSink):
    """Loads one stream into its hybrid table."""

    def __init__(
        self, target: TargetSupabaseHybrid, stream_name: str, schema: dict, key_properties: Any
    ) -> None:
        """Resolve the table mapping and how rows are built; the connection opens in `setup`."""
        super().__init__(target, stream_name, schema, key_properties)
        self.columns = connector.loaded_columns(self.mapping)
        self.rows = RowBuilder(self.mapping, self.columns, target.phones, self.key_properties)
        # False once a streamed COPY failed for another reason than an existing key: buffered from then on.
        self._may_stream = True
        # The previous streamed batch, committing in the background on its own connection, and the connection
        # the batch after next will use.
        self._committing: _Committing | None = None
        self._spare_conn: Connection | None = None
        # The batch being received (from its `start_batch`) and the one being drained (`start_drain` to
        # `mark_drained`): the batches whose COPY `abort_stream` ends.
        self._receiving: PendingBatch | None = None
        self._draining: PendingBatch | None = None

    @override
    def start_batch(self, context: dict) -> None:
        # The table was empty when this sink started: every key is expected to be new, so each record's line
        # is built on arrival and streamed into a COPY straight into the table while the batch is read.
        eager = not self._table_had_rows
        stream = self._open_stream() if eager else None
        self._receiving = context["pending"] = PendingBatch(eager, stream, self._version)

    @override
    def start_drain(self) -> dict:
        self._draining, self._receiving = self._receiving, None
        return super().start_drain()

    @override
    def mark_drained(self) -> None:
        super().mark_drained()
        self._draining = None

    @override
    def process_record(self, record: dict, context: dict) -> None:
        batch: PendingBatch = context["pending"]
        try:
            serialized = self.rows.serialize(record)
            self._add(batch, serialized, record)
        except Exception as exc:  # noqa: BLE001 - recorded and re-raised by `_fail`
            self.abort_stream(batch)
            self._fail(exc, batch.received + 1)

    def process_raw_record(self, raw: msgspec.Raw, context: dict) -> None:
        """`process_record` for a record given as the JSON text it had in the input (stored as received)."""
        batch: PendingBatch = context["pending"]
        fields, data, plain = self.rows.read_raw(raw, for_row=batch.eager)
        self.check_key_properties(fields)
        try:
            self._add(batch, self.rows.identify(fields, data), fields, plain=plain)
        except Exception as exc:  # noqa: BLE001 - recorded and re-raised by `_fail`
            self.abort_stream(batch)
            self._fail(exc, batch.received + 1)

    def _add(
        self, batch: PendingBatch, serialized: Serialized, record: dict[str, Any], *, plain: bool = False
    ) -> None:
        merged = self.rows.merged_ids(record)
        if merged:
            batch.add_merge(serialized.key[0], merged)
        if batch.eager:
            failed: list[str] = []
            line = self.rows.copy_line(record, serialized, failed, plain=plain)
            batch.add_line(serialized.key, line, failed)
        else:
            batch.add_serialized(serialized)

    @override
    def process_batch(self, context: dict) -> None:
        batch: PendingBatch | None = context.get("pending")
        if batch is None or not batch.received:
            return
        self.settle()
        started = time.perf_counter()
        finishing = self.target.is_finishing
        stream = batch.stream
        if stream is not None and not stream.failed:
            # Committed behind: the main thread goes on reading while the server takes the last chunks.
            nulls = batch.conversion_nulls()
            totals = self.sync_log.totals.plus(
                received=batch.received,
                inserted=batch.distinct,
                updated=0,
                duplicates=batch.duplicates,
                nulls=nulls,
            )
            status = "success" if finishing else "running"

            def finish(cur: Cursor) -> Totals:
                final = totals.plus_retired(merged=self._retire_merged(cur, batch))
                self.sync_log.write(cur, final, status)
                return final

            job = CommitBehind(stream, finish, self.target.commits, self.stream_name)
            self._committing = _Committing(job, batch, nulls, finishing, started)
            self._conn, self._spare_conn = self._spare_conn, None  # the job keeps the stream's connection
            self.target.commit_started(self)
            return
        if stream is not None:  # aborted (a repeated key) or failed before the end
            try:
                stream.finish()
            except (psycopg2.Error, CopyAbortedError) as exc:
                self._stream_failed(exc, batch)
            self._rollback()
        totals, nulls = self._guarded(
            lambda: self._transaction(lambda conn: self._load(conn, batch, finishing)), batch.received
        )
        self._committed(batch, totals, nulls, finishing, started)

    @override
    def settle(self) -> None:
        """Wait for the batch committing in the background, if any; load it the buffered way if that failed
        (the batch being received then loads the buffered way too: its COPY shares nothing with it)."""
        committing = self._take_committing()
        if committing is None:
            return
        batch = committing.batch
        error = committing.job.wait()
        if error is None and committing.job.result is not None:
            self._spare_conn = committing.job.connection
            batch.streamed = True
            self._committed(
                batch, committing.job.result, committing.nulls, committing.finishing, committing.started
            )
            return
        _discard(committing.job.connection)
        self.abort_stream()
        if isinstance(error, (psycopg2.Error, CopyAbortedError)):
            self._stream_failed(error, batch)
        totals, nulls = self._guarded(
            lambda: self._transaction(lambda conn: self._load(conn, batch, committing.finishing)),
            batch.received,
        )
        self._committed(batch, totals, nulls, committing.finishing, committing.started)

    def _take_committing(self) -> _Committing | None:
        committing, self._committing = self._committing, None
        if committing is not None:
            self.target.commit_settled(self)
        return committing

    @override
    def _settle_quietly(self) -> None:
        """Wait for the background commit without loading anything again (the run is stopping)."""
        committing = self._take_committing()
        if committing is None:
            return
        if committing.job.wait() is None and committing.job.result is not None:
            self._spare_conn = committing.job.connection
            committing.batch.streamed = True
            self._committed(
                committing.batch,
                committing.job.result,
                committing.nulls,
                committing.finishing,
                committing.started,
            )
        else:
            _discard(committing.job.connection)

    def _committed(
        self, batch: PendingBatch, totals: Totals, nulls: Counter[str], finishing: bool, started: float
    ) -> None:
        """Bookkeeping once a batch is committed: totals, the SDK's tallies, the log line."""
        before = self.sync_log.totals
        self.sync_log.committed(totals, "success" if finishing else "running")
        self.tally_record_written(totals.inserted + totals.updated - before.inserted - before.updated)
        self.tally_duplicate_merged(batch.duplicates)
        self.logger.info(
            "Committed %d records into %s in %.2fs%s (totals: %d inserted, %d updated, %d unchanged, %s)",
            batch.received,
            self.mapping.table,
            time.perf_counter() - started,
            " after streaming them" if batch.streamed else "",
            totals.inserted,
            totals.updated,
            totals.unchanged,
            f"conversion NULLs {dict(nulls)}" if nulls else "no conversion NULLs",
        )

    def _open_stream(self) -> StreamedCopy | None:
        """A COPY into the table, fed while the batch is read; None when this sink does not stream."""
        if not self._may_stream or self.target.is_shared_table(self):
            return None
        try:
            conn = self._connection()
        except psycopg2.Error:
            return None  # the buffered path connects again, with retries and a recorded failure
        prelude = ["SET LOCAL synchronous_commit = off"] if self.config.get("synchronous_commit_off") else []
        if self._version is not None:
            prelude.append(loader.table_version_statement(self._version))
        statement = loader.copy_statement(self.db_schema, self.mapping.table, self.columns)
        return StreamedCopy(conn, statement, prelude, name=self.stream_name)

    def abort_stream(self, batch: PendingBatch | None = None) -> None:
        """End the open COPY of `batch` (default: the batch being received or drained), if any, and roll its
        transaction back: nothing of it is committed. A batch committing in the background is waited for."""
        self._settle_quietly()
        batches = [batch] if batch is not None else [self._receiving, self._draining]
        for pending in batches:
            if pending is not None and pending.stream is not None:
                pending.close_stream()
                self._rollback()

    def _rollback(self) -> None:
        try:
            if self._conn is not None and not self._conn.closed:
                self._conn.rollback()
        except psycopg2.Error:
            self._reconnect()

    def _stream_failed(self, exc: psycopg2.Error | CopyAbortedError, batch: PendingBatch) -> None:
        """Learn from a failed streamed COPY (rolled back): the batch loads the buffered way."""
        if isinstance(exc, psycopg2.errors.UniqueViolation):
            # Keys of this batch exist already (repeated across batches, or another writer): this batch takes
            # the staged upsert, and later ones look their stored hashes up first.
            self._table_had_rows = True
            batch.keys_exist = True
        elif not isinstance(exc, CopyAbortedError):
            self._may_stream = False
            self.logger.info(
                "Streamed COPY into %s failed (%s); loading this batch again the buffered way, and the "
                "next ones without streaming",
                self.mapping.table,
                self.target.connections.scrub(f"{type(exc).__name__}: {error_line(exc)}"),
            )

    def _load(self, conn: Connection, batch: PendingBatch, finishing: bool) -> tuple[Totals, Counter[str]]:
        """Eager batches: COPY the kept lines (straight into the table unless keys exist). Lazy batches: skip
        records whose stored `raw_hash` matches and COPY the rest (straight into the table when none of their
        keys exists yet, else through staging + upsert). Then log the totals."""
        nulls: Counter[str] = Counter()
        with conn.cursor() as cur:
            if self.config.get("synchronous_commit_off"):
                cur.execute("SET LOCAL synchronous_commit = off")
            if batch.version is not None:
                loader.set_table_version(cur, batch.version)
            if batch.eager:
                nulls = batch.conversion_nulls()
                inserted, updated = self._write_rows(
                    cur,
                    batch.eager_lines,
                    batch.distinct,
                    direct=not (batch.repeated_key or batch.keys_exist),
                )
                existed = list(batch.lines) if inserted < batch.distinct else []
            else:
                stored = loader.stored_hashes(
                    cur,
                    self.db_schema,
                    self.mapping.table,
                    self.mapping.key_column_names,
                    list(batch.serialized),
                )
                changed = [s for s in batch.serialized.values() if stored.get(s.key) != s.digest]

                def lines() -> Iterator[bytes]:
                    nulls.clear()
                    return self._lines_from_json(changed, nulls)

                inserted, updated = self._write_rows(cur, lines, len(changed), direct=not stored)
                existed = list(stored)
            if batch.version is not None:  # rows the full sync saw but did not write carry its version too
                loader.stamp_version(
                    cur,
                    self.db_schema,
                    self.mapping.table,
                    keys=self.mapping.key_column_names,
                    batch_keys=existed,
                    version=batch.version,
                )
            totals = self.sync_log.totals.plus(
                received=batch.received,
                inserted=inserted,
                updated=updated,
                duplicates=batch.duplicates,
                nulls=nulls,
            ).plus_retired(merged=self._retire_merged(cur, batch))
            self.sync_log.write(cur, totals, "success" if finishing else "running")
        return totals, nulls

    def _retire_merged(self, cur: Cursor, batch: PendingBatch) -> int:
        """Retire the rows of the ids that merged records of `batch` replaced (after the batch's own rows are
        written: a stale copy of an old id in the same batch is retired too); how many."""
        if not batch.merged_into:
            return 0
        key = self.mapping.key_column_names[0]
        return retirement.retire_merged(cur, self.db_schema, self.mapping.table, key, batch.merged_into)

    def _write_rows(
        self, cur: Cursor, lines: Callable[[], Iterable[bytes]], count: int, *, direct: bool
    ) -> tuple[int, int]:
        """COPY `count` rows straight into the table when `direct` (falling back when a key exists after all),
        else through staging and the upsert; return (inserted, updated)."""
        if not count:
            return 0, 0
        if direct and loader.copy_new_rows(cur, self.db_schema, self.mapping.table, self.columns, lines()):
            return count, 0
        loader.stage(cur, self.columns, lines())
        return loader.upsert(
            cur,
            self.db_schema,
            self.mapping.table,
            self.mapping.key_column_names,
            self.columns,
            tracks_merges=self.mapping.tracks_merges,
            updated_at=self.mapping.promoted("updatedAt", "timestamptz") if self.mapping.hubspot else None,
        )

    def _lines_from_json(self, entries: list[Serialized], nulls: Counter[str]) -> Iterator[bytes]:
        """Lines built while the COPY consumes them; conversion failures are added to `nulls` at the end."""
        failed: list[str] = []
        for serialized in entries:
            yield self.rows.copy_line_from_json(serialized, failed)
        nulls.update(failed)

    @override
    def clean_up(self) -> None:
        self.settle()
        self.abort_stream()
        super().clean_up()
        if self._spare_conn is not None and not self._spare_conn.closed:
            self._spare_conn.close()
        self._spare_conn = None
