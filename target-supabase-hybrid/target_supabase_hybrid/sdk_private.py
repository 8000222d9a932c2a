"""The target's only uses of singer-sdk internals (against singer-sdk 0.54.9), each for want of a public hook.

The SDK classes the target builds on, with the private parts it relies on turned into public methods, so that
no private name of the SDK appears anywhere else in the package. singer-sdk 0.54.9 has no public hook for:

- how a RECORD, a STATE or an ACTIVATE_VERSION message is handled: `BaseSingerReader.process_lines` (final)
  dispatches them to `Target._process_record_message`, `Target._process_state_message` and
  `Target._process_activate_version_message` (whose warning about `_sdc_*` metadata columns does not apply
  to this target);
- what happens before a STATE is written: `Target.drain_all` (final) calls `Target._write_state_message`;
- the age of the records the sinks hold: `Target._max_record_age_in_minutes` and the drain that the SDK's
  record path triggers from it, `Target._handle_max_record_age`;
- the context of the batch a sink is receiving, started at its first record: `BatchSink._get_context`;
- the Singer-spec check of a record's key properties: `Sink._singer_validate_message`;
- what a reader does with a message of an unknown type: `SingerReader._process_unknown_message`.

``tests/target/test_sdk_private.py`` fails when an SDK release changes what these rely on.
"""

from __future__ import annotations

from typing import Any

from singer_sdk.io_base import SingerReader
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target
from typing_extensions import override


class HookedTarget(Target):
    """singer-sdk's `Target` with public hooks on its RECORD and STATE paths."""

    def take_record(self, stream_name: str, record: dict) -> bool:
        """Take a RECORD on the target's own path; False leaves it to the SDK's (the default)."""
        return False

    def record_version(self, stream_name: str, version: Any) -> None:
        """Called before each RECORD message is handled, on either path, with its Singer table version (None
        when it has none): the SDK passes the version on only as a record metadata column."""

    def state_received(self, state: Any) -> None:
        """Called after each STATE message is taken in, with its value (the SDK holds it as the state to write
        next)."""

    def before_state_written(self) -> None:
        """Called before a STATE is written: everything that state covers must be committed on return."""

    def process_record_message(self, message_dict: dict) -> None:
        """A RECORD message: on the target's own path when `take_record` takes it, else on the SDK's."""
        stream_name = message_dict.get("stream")
        record = message_dict.get("record")
        if isinstance(stream_name, str):
            self.record_version(stream_name, message_dict.get("version"))
            if record is not None and self.take_record(stream_name, record):
                return
        super()._process_record_message(message_dict)

    def process_activate_version_message(self, message_dict: dict) -> None:
        """An ACTIVATE_VERSION message; by default the SDK's handling (each sink's `activate_version`)."""
        super()._process_activate_version_message(message_dict)

    def drain_if_records_too_old(self) -> None:
        """Drain every sink when the oldest record held is older than the SDK's limit (five minutes): what the
        SDK's record path does after each record."""
        self._handle_max_record_age()

    @property
    def seconds_since_full_drain(self) -> float:
        """How long ago every sink was last drained (the start of the run if never)."""
        return self._max_record_age_in_minutes * 60

    @override
    def _process_record_message(self, message_dict: dict) -> None:
        self.process_record_message(message_dict)

    @override
    def _process_state_message(self, message_dict: dict) -> None:
        super()._process_state_message(message_dict)
        self.state_received(message_dict.get("value"))

    @override
    def _process_activate_version_message(self, message_dict: dict) -> None:
        self.process_activate_version_message(message_dict)

    @override
    def _write_state_message(self, state: dict) -> None:
        self.before_state_written()
        super()._write_state_message(state)


class HookedBatchSink(BatchSink):
    """singer-sdk's `BatchSink` with what a record path of the target's own needs from it."""

    def batch_context(self) -> dict:
        """The context of the batch being received; the first call of a batch starts it (`start_batch`)."""
        return self._get_context({})

    def check_key_properties(self, record: dict) -> None:
        """Raise the SDK's `MissingKeyPropertiesError` when `record` lacks a key property of the stream."""
        self._singer_validate_message(record)


class HookedSingerReader(SingerReader):
    """singer-sdk's `SingerReader` with its handling of unknown message types as a public method."""

    def process_unknown_message(self, message_dict: dict) -> None:
        """What the SDK does with a message whose type no callback takes (0.54.9: raise `ValueError`)."""
        self._process_unknown_message(message_dict)
