"""`TargetSupabaseHybrid`: Singer records → hybrid PostgreSQL tables (typed hot columns + `raw_json`)."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target
from typing_extensions import override

from target_supabase_hybrid import interrupts, settings, views
from target_supabase_hybrid.connection import ConnectionFactory, error_line, with_retries
from target_supabase_hybrid.errors import Interrupted, TargetError
from target_supabase_hybrid.phones import PhoneNormalizer
from target_supabase_hybrid.reader import FastSingerReader, bulk_gc
from target_supabase_hybrid.rehearsal import MELTANO_TEST_STREAM, RehearsalSink
from target_supabase_hybrid.settings import CONFIG_SCHEMA
from target_supabase_hybrid.sinks import HybridSink
from target_supabase_hybrid.sync_log import SyncLog, mark_unfinished


@contextmanager
def run_ends_cleanly(logger: logging.Logger) -> Iterator[None]:
    """Errors that say what to fix end the run with their message alone (no traceback), exit status 1;
    an interruption records itself and exits 128 + the signal number (130 SIGINT, 143 SIGTERM)."""
    try:
        yield
    except Interrupted as exc:
        try:
            exc.record()
        except Exception as failure:  # noqa: BLE001 - the interruption is what the user must hear about
            logger.warning("Could not mark this run's sync_logs rows 'interrupted': %s", error_line(failure))
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story
        sys.exit(exc.exit_code)
    except TargetError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story
        sys.exit(1)


class TargetSupabaseHybrid(Target):
    """Upserts each stream into a table keyed on its key, with promoted typed columns and `raw_json`."""

    name = "target-supabase-hybrid"
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = HybridSink
    message_reader_class = FastSingerReader

    @classmethod
    @override
    def invoke(cls, **kwargs: Any) -> None:
        with run_ends_cleanly(cls.logger):
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
        self.run_id = uuid.uuid4()
        self.is_finishing = False
        self._sync_logs: dict[str, SyncLog] = {}
        self._finished_streams: set[str] = set()
        self._database_checked = False
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

    def record_failure(self, log: SyncLog, received: int, message: str) -> None:
        """Best effort: mark the stream `failed` (`partial` if earlier batches committed), with the error."""
        if not log.opened:  # nothing of this stream was written (e.g. its table was refused)
            return
        status = "partial" if log.totals.inserted + log.totals.updated + log.totals.unchanged else "failed"
        totals = type(log.totals)(**{**log.totals.__dict__, "failed": log.totals.failed + received})
        try:
            conn = self.connections.connect()
            try:
                with conn, conn.cursor() as cur:
                    log.write(cur, totals, status, message)
            finally:
                conn.close()
            log.committed(totals, status)
        except Exception as exc:  # noqa: BLE001 - the original error is what matters to the user
            self.logger.warning(
                "Could not record the failure in sync_logs: %s", self.connections.scrub(error_line(exc))
            )

    def _check_database(self) -> None:
        """Connect once; a server that is down is retried like a batch, then reported in one line."""
        attempts = int(self.config.get("max_retries", 4)) + 1
        try:
            with_retries(
                self.connections.check,
                attempts=attempts,
                logger=self.logger,
                scrubber=self.connections.scrub,
            )
        except psycopg2.Error as exc:
            raise TargetError(
                f"database_url: could not connect to {self.connections.host} ({attempts} attempts): "
                + self.connections.scrub(error_line(exc))
            ) from None

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
        # A changed SCHEMA retires the sink until the next full drain; commit its records now so they can
        # never land after (and overwrite) newer records of the same stream.
        existing = self._sinks_active.get(stream_name)
        if (
            schema is not None
            and existing is not None
            and existing.current_size
            and (existing.original_schema != schema or existing.key_properties != key_properties)
        ):
            self.drain_one(existing)
        return super().get_sink(stream_name, record=record, schema=schema, key_properties=key_properties)

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        """Hand records to their sink without the SDK's per-record copy and timestamp parsing.

        The SDK path costs more than the whole database load and rewrites date-time strings, while
        `raw_json` must keep records exactly as received. Stream maps, flattening, record metadata or
        `validate_records: true` take the SDK path.
        """
        stream_name = message_dict.get("stream")
        maps = self.mapper.stream_maps.get(stream_name) if stream_name is not None else None
        sink = self._sinks_active.get(stream_name) if stream_name is not None else None
        if (
            sink is None
            or not maps
            or len(maps) != 1
            or type(maps[0]) is not SameRecordTransform
            or sink.include_sdc_metadata_properties
            or self.config.get("validate_records") is True
            or "record" not in message_dict
        ):
            super()._process_record_message(message_dict)
            return
        record = message_dict["record"]
        context = sink._get_context(record)
        sink._singer_validate_message(record)
        sink.tally_record_read()
        sink.process_record(record, context)
        sink.record_counter_metric.increment()
        if sink.is_full:
            self.drain_one(sink)
        self._handle_max_record_age()

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        """Checkpoint periodically: commit everything received so far, then emit this STATE.

        The SDK emits STATE only on a full drain (end of input, or records older than five minutes), so
        without this a killed run resumes from the previous run's state. Every record that precedes this
        STATE is in some sink; `drain_all` commits them all before it writes the state.
        """
        super()._process_state_message(message_dict)
        interval = self.config.get("state_checkpoint_seconds", 60)
        if self._max_record_age_in_minutes * 60 >= interval:
            self.drain_all()

    @override
    def process_endofpipe(self) -> None:
        # Batches drained from here on are the streams' last: they finish their sync_logs row in their
        # own transaction. Streams with nothing pending get a final row update of their own.
        self.is_finishing = True
        with bulk_gc():
            super().process_endofpipe()
        sinks = {id(s): s for s in self._sinks_active.values()}.values()
        for sink in sinks:
            if isinstance(sink, HybridSink) and sink.sync_log.status == "running":
                sink.finish()
                sink.clean_up()
        loaded = any(not isinstance(sink, RehearsalSink) for sink in sinks)
        if loaded and self.config.get("create_views", True):
            views.create_views(self.connections, self.db_schema, self.logger)


if __name__ == "__main__":
    TargetSupabaseHybrid.cli()
