"""The tap's only uses of singer-sdk internals (against singer-sdk 0.54.9), each for want of a public hook.

``tests/tap/test_sdk_private.py`` fails when an SDK release changes what these rely on.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, cast

from singer_sdk.singerlib import StateMessage

if TYPE_CHECKING:
    from types import FrameType

    from singer_sdk.helpers.types import Context
    from singer_sdk.streams import Stream
    from singer_sdk.tap_base import Tap


def advance_bookmark(stream: Stream, value: str, context: Context | None = None) -> None:
    """Move ``stream``'s bookmark (or its ``context`` partition's) to ``value`` (never past it: a full sync's
    signpost still caps it).

    The SDK advances bookmarks only from emitted records. A run that read every change up to its start must
    bookmark that start even when it emitted nothing newer (otherwise the next run's window keeps growing and
    re-reads the same records). ``Stream._increment_stream_state`` is the SDK's own path for a record's
    replication key: it updates the bookmark or, for an unsorted stream, the progress marker that the SDK
    promotes (capped by the signpost) when the stream finishes, and marks the state unwritten.
    """
    stream._increment_stream_state({str(stream.replication_key): value}, context=context)


def set_table_version(stream: Stream, version: int | None) -> None:
    """Stamp ``stream``'s RECORD messages with ``version`` (Singer's table version), or stop stamping them.

    The SDK stamps records only in its own FULL_TABLE mode, from ``Stream._stream_version``; our streams are
    incremental streams whose first run (and every full refresh) reads everything, which is exactly when a
    target may retire the rows the read did not see.
    """
    stream._stream_version = version


def write_activate_version(stream: Stream, version: int) -> None:
    """Write Singer's ACTIVATE_VERSION message for ``stream`` (through its stream maps, as the SDK does)."""
    stream._write_activate_version_message(version)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: the run stops where it is.

    A ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` on the way up (the SDK's
    own stream loop has one) treats it as an error to log and retry.
    """

    def __init__(self, signum: int) -> None:
        """Record which signal stopped the run."""
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


class InterruptsStopTheRun:
    """Mixed into the tap: SIGINT and SIGTERM raise :class:`Interrupted` in the main thread.

    singer-sdk registers ``PluginBase._handle_termination`` for both signals as soon as a plugin is created
    (before discovery) and exits 0 from it, so an interrupted run looked successful to Meltano. There is no
    public hook for what a signal does; overriding the handler the SDK registers covers discovery too.

    Like the SDK's handler, it first writes the state as it stands: it covers every record written so far
    (the SDK advances it only after writing a record, and a message is written by one ``write`` call), so a
    target that is still running can commit what it holds and pass the state on.
    """

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        tap = cast("Tap", self)
        tap.write_message(StateMessage(value=tap.state))
        raise Interrupted(signum)
