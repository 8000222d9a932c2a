"""`TargetSupabaseHybrid`: Singer records → hybrid PostgreSQL tables (typed hot columns + `raw_json`)."""

from __future__ import annotations

import threading
import uuid
from typing import Any, ClassVar

import msgspec
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TargetCapabilities
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.sinks import Sink
from typing_extensions import override

from target_supabase_hybrid import drift, interrupts, label_views, settings, views
from target_supabase_hybrid.connection import ConnectionFactory
from target_supabase_hybrid.errors import Interrupted
from target_supabase_hybrid.mappings import streams_writing_table
from target_supabase_hybrid.new_destination import check_destination_has_runs, streams_with_bookmarks
from target_supabase_hybrid.phones import PhoneNormalizer
from target_supabase_hybrid.reader import FastSingerReader, bulk_gc, decode_json
from target_supabase_hybrid.rehearsal import MELTANO_TEST_STREAM, RehearsalSink
from target_supabase_hybrid.sdk_private import HookedTarget
from target_supabase_hybrid.settings import CONFIG_SCHEMA
from target_supabase_hybrid.sinks import HybridSink
from target_supabase_hybrid.sync_log import SyncLog, mark_unfinished
from target_supabase_hybrid.table_sink import TableSink


class TargetSupabaseHybrid(HookedTarget):
    """Upserts each stream into a table keyed on its key, with promoted typed columns and `raw_json`."""

    name = "target-supabase-hybrid"
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = HybridSink
    message_reader_class = FastSingerReader
    # ACTIVATE_VERSION retires the rows a complete full sync did not see; `hard_delete` deletes them.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        *HookedTarget.capabilities,
        PluginCapabilities.ACTIVATE_VERSION,
        TargetCapabilities.HARD_DELETE,
    ]

    @classmethod
    @override
    def invoke(cls, **kwargs: Any) -> None:
        with interrupts.run_ends_cleanly(cls.logger):
            super().invoke(**kwargs)

    @classmethod
    @override
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        super().append_builtin_config(config_jsonschema)
        for name in settings.SDK_SETTINGS_NOT_OFFERED:
            config_jsonschema["properties"].pop(name, None)

    def __init__(self, **kwargs: Any) -> None:
        """Check the settings before reading any input; SIGINT/SIGTERM stop the run (see `interrupts`)."""
        super().__init__(**kwargs)
        try:
            settings.check_schema_name(self.config.get("schema") or "public")
            for warning in settings.check_sdk_settings(self.config):
                self.logger.warning("%s", warning)
            self.connections = ConnectionFactory(
                self.config["database_url"],
                self.config.get("sslmode"),
                allow_insecure=bool(self.config.get("allow_insecure_connection")),
            )
        except ValueError as exc:
            raise ConfigValidationError(str(exc), errors=[str(exc)]) from None
        try:
            self.phones = PhoneNormalizer(
                self.config.get("default_phone_region"), self.config.get("phone_fallback_regions") or ()
            )
        except ValueError as exc:
            message = f"default_phone_region / phone_fallback_regions: {exc}"
            raise ConfigValidationError(message, errors=[message]) from None
        if isinstance(self.message_reader, FastSingerReader):
            self.message_reader.on_failure = self.abort_streams
            self.message_reader.on_raw_record = self._process_raw_record
        self.run_id = uuid.uuid4()
        self.is_finishing = False
        # HubSpot's count of live objects per stream, from the latest STATE that recorded one in this run.
        self._counts: dict[str, drift.HubspotCount] = {}
        self._sync_logs: dict[str, SyncLog] = {}
        self._finished_streams: set[str] = set()
        self._database_checked = False
        # Streams the input state (the first STATE, before any SCHEMA) says earlier runs loaded.
        self.resumed_streams: frozenset[str] = frozenset()
        self._state_seen = False
        self._state_unwritten = False  # a STATE was received that no STATE written since covers
        # The sink of each stream (as the SDK's `get_sink` returned it on the stream's last SCHEMA), and every
        # sink of this run, retired ones included.
        self._sinks: dict[str, Sink] = {}
        self._every_sink: dict[int, Sink] = {}
        # Which sink writes each (schema, table), and tables written by several streams (never streamed into).
        self._table_writers: dict[tuple[str, str], TableSink] = {}
        self._shared_tables: set[tuple[str, str]] = set()
        # Sinks whose last streamed batch is committing in the background (drains may run in threads).
        self._committing: set[HybridSink] = set()
        self._committing_lock = threading.Lock()
        self.commits = interrupts.CommitGate()
        interrupts.install(self.commits, self.record_interruption)

    @property
    def db_schema(self) -> str:
        """The schema everything lands in."""
        return str(self.config.get("schema") or "public")

    def record_interruption(self) -> None:
        """Mark this run's unfinished `sync_logs` rows `interrupted` (once no commit can happen any more)."""
        if not any(log.opened for log in self._sync_logs.values()):
            return
        reason = f"interrupted by {Interrupted(self.commits.signum or 0).signal_name}"
        self.commits.wait_for_commits()
        conn = self.connections.connect()
        try:
            with conn, conn.cursor() as cur:
                mark_unfinished(cur, self.db_schema, self.run_id, "interrupted", reason)
        finally:
            conn.close()

    def sync_log_for(self, stream: str, table: str) -> SyncLog:
        """The one `sync_logs` row of `stream` in this run (shared by its sinks across schema changes)."""
        if stream not in self._sync_logs:
            self._sync_logs[stream] = SyncLog(self.db_schema, self.run_id, stream, table)
        return self._sync_logs[stream]

    def claim_table(self, sink: TableSink) -> None:
        """Register `sink` as its table's writer, before its DDL runs.

        A sink streams a batch with its transaction open while input is read; any other statement of this run
        on that table (DDL of a new sink, a COPY with the same keys) would wait for that transaction, which
        only this thread can finish. So a previous writer of another stream is drained first and the table is
        marked shared (no streaming into it from then on). A retired sink of the same stream was drained when
        its SCHEMA changed.
        """
        table = (sink.db_schema, sink.mapping.table)
        previous = self._table_writers.get(table)
        if previous is not None and previous is not sink and previous.stream_name != sink.stream_name:
            self._shared_tables.add(table)
            self.drain_one(previous)
            previous.settle()
        self._table_writers[table] = sink

    def commit_started(self, sink: HybridSink) -> None:
        """`sink` commits a batch in the background: settle it before any STATE is written."""
        with self._committing_lock:
            self._committing.add(sink)

    def commit_settled(self, sink: HybridSink) -> None:
        """`sink` has no background commit any more."""
        with self._committing_lock:
            self._committing.discard(sink)

    @override
    def before_state_written(self) -> None:
        # A STATE covers every record before it: each batch committing in the background must be committed.
        self._state_unwritten = False
        with self._committing_lock:
            committing = list(self._committing)
        for sink in committing:
            sink.settle()

    def is_shared_table(self, sink: TableSink) -> bool:
        """Whether several streams of this run write `sink`'s table."""
        return (sink.db_schema, sink.mapping.table) in self._shared_tables

    def other_writers(self, sink: TableSink) -> list[str]:
        """Other streams that write `sink`'s table in this run, or would by the settings (`tables.<stream>.
        table`, or a HubSpot stream's default table); `sync_logs` tells those of earlier runs."""
        table = (sink.db_schema, sink.mapping.table)
        writers = {
            other.stream_name
            for other in self._every_sink.values()
            if isinstance(other, TableSink) and (other.db_schema, other.mapping.table) == table
        }
        writers |= streams_writing_table(self.config.get("tables") or {}, sink.mapping.table)
        return sorted(writers - {sink.stream_name})

    def abort_streams(self) -> None:
        """Roll back every streamed batch still open: whatever stopped the run, none of them may commit."""
        with self._committing_lock:
            committing = list(self._committing)
        sinks = [*self._every_sink.values(), *committing]
        for sink in {id(s): s for s in sinks}.values():
            if isinstance(sink, HybridSink):
                sink.abort_stream()

    def _check_new_destination(self) -> None:
        """Before anything loads: refuse old state when the destination has no run at all."""
        self._check_database()
        self._database_checked = True
        conn = self.connections.connect()
        try:
            with conn, conn.cursor() as cur:
                check_destination_has_runs(cur, self.db_schema, self.resumed_streams)
        finally:
            conn.close()

    def _check_database(self) -> None:
        self.connections.check_reachable(int(self.config.get("max_retries", 4)) + 1, self.logger)

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return RehearsalSink if stream_name == MELTANO_TEST_STREAM else HybridSink

    @override
    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: Any = None,
    ) -> Sink:
        if not self._database_checked:  # before the first sink: a wrong setting fails once, named
            self._check_database()
            self._database_checked = True
        existing = self._sinks.get(stream_name)
        if (
            schema is not None
            and existing is None
            and (self._state_unwritten or any(s.current_size for s in self._sinks.values()))
        ):
            # The first SCHEMA of a stream: taps sync one stream after another, so the streams before it have
            # ended. Commit their last records (an ACTIVATE_VERSION may have committed them already) and
            # print the state that follows them, so an interruption from here on keeps every stream already
            # finished.
            self.drain_all()
        # A changed SCHEMA retires the sink until the next full drain; commit its records now so they can
        # never land after (and overwrite) newer records of the same stream.
        if (
            schema is not None
            and existing is not None
            and existing.current_size
            and (existing.original_schema != schema or existing.key_properties != key_properties)
        ):
            self.drain_one(existing)
            if isinstance(existing, HybridSink):
                existing.settle()
        sink = super().get_sink(stream_name, record=record, schema=schema, key_properties=key_properties)
        if schema is not None:  # a SCHEMA message: `sink` is the stream's sink from now on
            self._sinks[stream_name] = sink
            self._every_sink[id(sink)] = sink
            self._choose_raw_record_streams()
        return sink

    def _choose_raw_record_streams(self) -> None:
        """Records of streams on the own record path are read as JSON text: hashed and stored as received,
        partly decoded."""
        if isinstance(self.message_reader, FastSingerReader):
            self.message_reader.raw_record_streams = frozenset(
                name for name, sink in self._sinks.items() if self._takes_own_record_path(name, sink)
            )

    def _takes_own_record_path(self, stream_name: str, sink: Sink) -> bool:
        """Whether records of `stream_name` skip the SDK's record path (no maps, metadata or validation)."""
        maps = self.mapper.stream_maps.get(stream_name)
        return (
            isinstance(sink, HybridSink)
            and maps is not None
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not sink.include_sdc_metadata_properties
            and self.config.get("validate_records") is not True
        )

    @override
    def record_version(self, stream_name: str, version: Any) -> None:
        maps = self.mapper.stream_maps.get(stream_name) or ()
        for stream_map in maps:
            sink = self._sinks.get(stream_map.stream_alias)
            if isinstance(sink, HybridSink):
                sink.expect_version(version)

    @override
    def process_activate_version_message(self, message_dict: dict) -> None:
        """Each sink of the stream retires the rows the full sync did not see (unless
        `process_activate_version_messages` is false)."""
        stream_name = message_dict.get("stream")
        maps = self.mapper.stream_maps.get(stream_name) if isinstance(stream_name, str) else None
        if not maps:
            self.logger.warning("ACTIVATE_VERSION for stream %r before its SCHEMA: ignored", stream_name)
            return
        for stream_map in maps:
            sink = self.get_sink(stream_map.stream_alias)
            if not sink.process_activate_version_messages:
                self.logger.info(
                    "Stream %s: ACTIVATE_VERSION ignored (process_activate_version_messages is false): rows"
                    " the full sync did not see stay live",
                    stream_map.stream_alias,
                )
                continue
            sink.activate_version(message_dict.get("version"))  # type: ignore[arg-type] # checked by the sink

    @override
    def take_record(self, stream_name: str, record: dict) -> bool:
        """Hand records to their sink without the SDK's per-record copy and timestamp parsing.

        The SDK path costs more than the whole database load and rewrites date-time strings, while
        `raw_json` must keep records exactly as received. Stream maps, flattening, record metadata or
        `validate_records: true` take the SDK path. (Records of streams on this path usually come through
        `_process_raw_record`, still as JSON text.)
        """
        sink = self._sinks.get(stream_name)
        if not isinstance(sink, HybridSink) or not self._takes_own_record_path(stream_name, sink):
            return False
        context = sink.batch_context()
        sink.check_key_properties(record)
        sink.process_record(record, context)
        self._after_record(sink)
        return True

    def _process_raw_record(self, stream_name: str, raw: msgspec.Raw, version: int | None) -> None:
        """A RECORD of a stream in the reader's `raw_record_streams`, its record still as JSON text."""
        sink = self._sinks.get(stream_name)
        if not isinstance(sink, HybridSink):  # not expected: the set is kept in step on each SCHEMA
            message = {
                "type": "RECORD",
                "stream": stream_name,
                "record": decode_json(raw),
                "version": version,
            }
            self.process_record_message(message)
            return
        sink.expect_version(version)
        sink.process_raw_record(raw, sink.batch_context())
        self._after_record(sink)

    def _after_record(self, sink: HybridSink) -> None:
        """The SDK's bookkeeping after a record: counts, metric, drain when full, drain when too old."""
        sink.tally_record_read()
        sink.record_counter_metric.increment()
        if sink.is_full:
            self.drain_one(sink)
        self.drain_if_records_too_old()

    @override
    def state_received(self, state: Any) -> None:
        """Keep HubSpot's counts this run recorded; checkpoint periodically: commit everything received so
        far, then emit this STATE.

        The first STATE, when it comes before any SCHEMA, is the tap's input state (see `new_destination`).

        The SDK emits STATE only on a full drain (end of input, or records older than five minutes), so
        without this a killed run resumes from the previous run's state. Every record that precedes this
        STATE is in some sink; `drain_all` commits them all before it writes the state.
        """
        if not self._state_seen and not self._sinks:
            self.resumed_streams = streams_with_bookmarks(state)
            if self.resumed_streams and self.config.get("check_new_destination", True):
                self._check_new_destination()
        self._state_seen = True
        self._state_unwritten = True
        self._counts.update(drift.counts_in(state))
        interval = self.config.get("state_checkpoint_seconds", 60)
        if self.seconds_since_full_drain >= interval:
            self.drain_all()

    @override
    def process_endofpipe(self) -> None:
        # Batches drained from here on are the streams' last: they finish their sync_logs row in their
        # own transaction. Streams with nothing pending get a final row update of their own.
        self.is_finishing = True
        try:
            with bulk_gc():
                super().process_endofpipe()
        except BaseException:
            self.abort_streams()
            raise
        sinks = {id(s): s for s in self._sinks.values()}.values()
        for sink in sinks:
            if isinstance(sink, HybridSink) and sink.sync_log.status == "running":
                sink.finish()
                sink.clean_up()
        for sink in sinks:
            count = self._counts.get(sink.stream_name)
            if count is not None and type(sink) is HybridSink and not self.other_writers(sink):
                sink.record_drift(count)
        loaded = any(not isinstance(sink, RehearsalSink) for sink in sinks)
        if loaded and self.config.get("create_views", True):
            views.create_views(self.connections, self.db_schema, self.logger)
            label_views.create_label_views(self.connections, self.db_schema, self.logger)


if __name__ == "__main__":
    TargetSupabaseHybrid.cli()
