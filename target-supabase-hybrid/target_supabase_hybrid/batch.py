"""The batch a sink is receiving: one entry per key (the last record wins), kept as little as possible.

Two shapes, chosen when the batch starts:
- *eager* (the table was empty when the sink started, so every key is expected to be new): each record's COPY
  line is built on arrival, and streamed into an open COPY when there is one. Only the lines are kept (for a
  fallback to the staged upsert), never the records.
- *lazy* (the table had rows): only each record's key, JSON and hash are kept; after the stored hashes are
  looked up, lines are built from the JSON of the records that changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from target_supabase_hybrid.rows import Serialized
from target_supabase_hybrid.streamed_copy import StreamedCopy


class PendingBatch:
    """Records received for one batch, deduplicated by key."""

    def __init__(self, eager: bool, stream: StreamedCopy | None = None, version: int | None = None) -> None:
        """`eager`: build COPY lines on arrival (and stream them into `stream` while it is healthy);
        `version`: the Singer table version of every record in the batch (None: none)."""
        self.eager = eager
        self.stream = stream
        self.version = version
        self.received = 0
        # Ids merged records of this batch replaced → the id they were merged into (HubSpot tables).
        self.merged_into: dict[str, str] = {}
        self.lines: dict[tuple[str, ...], bytes] = {}
        self.serialized: dict[tuple[str, ...], Serialized] = {}
        # Conversion failures of the line kept for a key (eager batches; only keys that have any).
        self._failed: dict[tuple[str, ...], list[str]] = {}
        # Set when a key repeats within the batch: the direct COPY into the table would fail on it.
        self.repeated_key = False
        # Set when the streamed COPY met a key already in the table.
        self.keys_exist = False
        # Set once the streamed COPY committed.
        self.streamed = False

    @property
    def distinct(self) -> int:
        """Records left after deduplication."""
        return len(self.lines) if self.eager else len(self.serialized)

    @property
    def duplicates(self) -> int:
        """Records replaced by a later record with the same key."""
        return self.received - self.distinct

    def add_line(self, key: tuple[str, ...], line: bytes, failed: list[str]) -> None:
        """Keep an eager batch's line for `key` (replacing an earlier one) and stream it when possible.

        `failed` (columns whose value did not convert) is kept as is: pass a new list per record.
        """
        self.received += 1
        if key in self.lines:
            self.repeated_key = True
            self._failed.pop(key, None)
            if self.stream is not None:
                self.stream.abort()  # a repeated key cannot go straight into the table
        self.lines[key] = line
        if failed:
            self._failed[key] = failed
        if self.stream is not None and not self.stream.failed:
            self.stream.write(line)

    def add_serialized(self, serialized: Serialized) -> None:
        """Keep a lazy batch's record JSON for its key (replacing an earlier one)."""
        self.received += 1
        self.serialized[serialized.key] = serialized

    def add_merge(self, merged_id: str, old_ids: list[str]) -> None:
        """A record of this batch (`merged_id`) replaced `old_ids`: their rows retire with the batch."""
        for old_id in old_ids:
            self.merged_into[old_id] = merged_id

    def conversion_nulls(self) -> Counter[str]:
        """Conversion failures of the lines kept (an eager batch's; lazy batches count while converting)."""
        nulls: Counter[str] = Counter()
        for failed in self._failed.values():
            nulls.update(failed)
        return nulls

    def eager_lines(self) -> Iterator[bytes]:
        """The kept lines, one per key."""
        return iter(self.lines.values())

    def close_stream(self) -> None:
        """Abort the open COPY, if any (the caller rolls its transaction back)."""
        if self.stream is not None:
            self.stream.abort()
