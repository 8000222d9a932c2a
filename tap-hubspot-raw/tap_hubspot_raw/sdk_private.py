"""The tap's only uses of singer-sdk internals (against singer-sdk 0.54.9), each for want of a public hook.

``tests/tap/test_sdk_private.py`` fails when an SDK release changes what these rely on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from singer_sdk.streams import Stream


def advance_bookmark(stream: Stream, value: str) -> None:
    """Move ``stream``'s bookmark to ``value`` (never past it: a full sync's signpost still caps it).

    The SDK advances bookmarks only from emitted records. A run that read every change up to its start must
    bookmark that start even when it emitted nothing newer (otherwise the next run's window keeps growing and
    re-reads the same records). ``Stream._increment_stream_state`` is the SDK's own path for a record's
    replication key: it updates the bookmark or, for an unsorted stream, the progress marker that the SDK
    promotes (capped by the signpost) when the stream finishes, and marks the state unwritten.
    """
    stream._increment_stream_state({str(stream.replication_key): value}, context=None)


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
