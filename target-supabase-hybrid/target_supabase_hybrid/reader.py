"""Reading Singer messages with msgspec: the SDK's `json.loads(parse_float=Decimal)` was a top cost."""

from __future__ import annotations

import gc
import json
import sys
import typing as t
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import msgspec
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

from target_supabase_hybrid.sdk_private import HookedSingerReader

_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class _Envelope(msgspec.Struct):
    """What a message is, read without decoding its record (kept as the JSON text it had)."""

    type: str
    stream: str | None = None
    record: msgspec.Raw = msgspec.Raw(b"")  # empty: no record
    version: int | None = None  # Singer's table version (a full sync's records carry one)


_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)


def _is_utf8(line: str | bytes) -> bool:
    if isinstance(line, str) or line.isascii():
        return True
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_json(text: msgspec.Raw | bytes | str) -> t.Any:
    """JSON as the reader decodes it (numbers exact, as `Decimal`)."""
    return _DECODER.decode(text)


# A batch holds ~10 objects per record (dicts, strings), all acyclic and freed by reference counting; with the
# default threshold (700) the cyclic collector ran ~430 times per seed load, repeatedly traversing the pending
# batches (~0.15-0.3 s of a run). It still runs, ~60x less often, while messages are processed.
BULK_GC_THRESHOLD = (50_000, 20, 100)


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect cycles less often for the duration (start-up objects frozen out of it); restore afterwards."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*BULK_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


class FastSingerReader(HookedSingerReader):
    """Same messages as the SDK reader (floats as exact `Decimal`), decoded ~2-3x faster.

    RECORD lines of `raw_record_streams` go straight to `on_raw_record` with the record as its JSON text
    (`msgspec.Raw`, from a light decode that skips it) and the message's table version: no message dict, no
    generic dispatch.
    """

    # Called when processing stops on an exception (the target rolls back its streamed batches).
    on_failure: t.Callable[[], None] | None = None
    # Streams whose records the target takes as JSON text, and where it takes them (stream, record text,
    # version).
    raw_record_streams: t.AbstractSet[str] = frozenset()
    on_raw_record: t.Callable[[str, msgspec.Raw, int | None], None] | None = None

    @override
    def process_lines(
        self, file_input: t.IO[str] | None, callbacks: dict[str, t.Callable[[dict], None]]
    ) -> t.Counter[str]:
        if file_input is None:
            # Lines as bytes: msgspec decodes UTF-8 itself, faster than the text layer of `sys.stdin`.
            file_input = t.cast("t.IO[str]", getattr(sys.stdin, "buffer", sys.stdin))
        with bulk_gc():
            try:
                return self._process(file_input, callbacks)
            except BaseException:
                if self.on_failure is not None:
                    self.on_failure()
                raise

    def _process(
        self, lines: t.Iterable[str | bytes], callbacks: dict[str, t.Callable[[dict], None]]
    ) -> t.Counter[str]:
        """The SDK's loop (decode, require "type", dispatch, count), raw records aside.

        Unlike the SDK's loop it does not keep the line in `_current_message`: singer-sdk 0.54.9 never reads
        it (checked by `tests/target/test_sdk_private.py`).
        """
        stats: t.Counter[str] = Counter()
        raw_records = 0
        for line in lines:
            if self.raw_record_streams and self.on_raw_record is not None:
                raw = self._raw_record(line)
                if raw is not None:
                    self.on_raw_record(*raw)
                    raw_records += 1
                    continue
            message = self.deserialize_json(line)
            self.assert_line_requires(message, requires={"type"})
            kind = message["type"]
            if callback := callbacks.get(kind):
                callback(message)
            else:
                self.process_unknown_message(message)
            stats[kind] += 1
        stats["RECORD"] += raw_records
        return stats

    def _raw_record(self, line: str | bytes) -> tuple[str, msgspec.Raw, int | None] | None:
        """(stream, record text, version) when `line` is a RECORD of a raw stream, else None (decoded in full
        then; a version that is not an integer, too)."""
        try:
            envelope = _ENVELOPE_DECODER.decode(line)
        except msgspec.DecodeError:  # its subclass ValidationError too
            return None
        stream = envelope.stream
        if (
            envelope.type == "RECORD"
            and envelope.record
            and stream in self.raw_record_streams
            and _is_utf8(line)  # msgspec does not check the text it skips
        ):
            return t.cast("str", stream), envelope.record, envelope.version
        return None

    @override
    def deserialize_json(self, line: str | bytes) -> dict:
        try:
            message = _DECODER.decode(line)
        except msgspec.DecodeError:
            # msgspec refuses some JSON the stdlib accepts (lone "\\ud800" escapes). Not the SDK's fallback:
            # it logs and raises with the whole line, and records may hold personal data.
            try:
                message = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise InvalidInputLine(
                    f"Unable to parse an input line as JSON: {exc.msg} at character {exc.pos} of {len(line)}"
                    " (its content is not shown: records may hold personal data)"
                ) from None
            except UnicodeDecodeError as exc:
                raise InvalidInputLine(
                    f"An input line is not valid UTF-8 (byte {exc.start} of {len(line)}; its content is not"
                    " shown: records may hold personal data)"
                ) from None
        if not isinstance(message, dict):
            raise InvalidInputLine(f"A Singer message must be a JSON object, got {type(message).__name__}")
        return message
