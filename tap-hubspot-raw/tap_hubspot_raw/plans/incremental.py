"""Incremental sync: what changed inside a window of modified dates, then what was archived in it.

Changed objects come from the search endpoint in modified order (keyset paging, see
:class:`~tap_hubspot_raw.pagination.SearchCursor`), their associations from the v4 batch endpoint. Archived
objects are swept from the list endpoint (``archived=true``; archived objects never appear in search) and
kept when their ``archivedAt`` lies in the window. They are emitted after every changed object, so any
bookmark the SDK writes meanwhile (it follows the emitted records) never passes a change not yet emitted.
The first search page and the sweep start as soon as the plan does (the scheduler starts every incremental
stream's plan at once), so their latency overlaps the other streams'.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING

from tap_hubspot_raw.pagination import SearchCursor, to_epoch_ms
from tap_hubspot_raw.plans.workers import Batch, WorkerGroup

if TYPE_CHECKING:
    from tap_hubspot_raw.reader import Reader, SearchPage


class IncrementalSync:
    """Objects modified in ``[low_ms, high_ms]`` and objects archived in it."""

    def __init__(self, reader: Reader, *, low_ms: int, high_ms: int) -> None:
        """Plan the reads of ``reader``'s object type for the window."""
        self.reader = reader
        self.low_ms = low_ms
        self.high_ms = high_ms
        self._first_page: Future[SearchPage] = Future()
        self.total: int | None = None  # changed objects in the window, from the first search page
        self.group = WorkerGroup(
            f"{reader.object_type}-incremental", [self._read_first_search_page, self._sweep_archived]
        )

    def start(self) -> None:
        """Send the first search request and start the archived sweep (idempotent)."""
        self.group.start()

    def cancel(self) -> None:
        """Stop the background reads."""
        self.group.cancel()

    def _read_first_search_page(self) -> None:
        try:
            self._first_page.set_result(self.reader.search_modified(self._cursor()))
        except BaseException as exc:  # noqa: BLE001 - re-raised by the stream's thread
            self._first_page.set_exception(exc)

    def _cursor(self) -> SearchCursor:
        return SearchCursor(low_ms=self.low_ms, high_ms=self.high_ms)

    def _sweep_archived(self) -> None:
        after: str | None = None
        while True:
            page = self.reader.list_page(archived=True, after=after)
            in_window = [r for r in page.results if self._archived_in_window(r)]
            self.group.put(Batch(self.reader.finish_list(in_window, archived=True), archived=True))
            if page.after is None:
                return
            after = page.after

    def _archived_in_window(self, record: dict) -> bool:
        archived_at = record.get("archivedAt")
        return bool(archived_at) and self.low_ms <= to_epoch_ms(str(archived_at)) <= self.high_ms

    def batches(self) -> Iterator[Batch]:
        """Changed objects in modified order, one batch per search page; then the archived ones."""
        self.start()
        try:
            yield from self._changed()
            yield from self.group.batches()
        finally:
            self.cancel()

    def _changed(self) -> Iterator[Batch]:
        cursor: SearchCursor | None = self._cursor()
        page = self._first_page.result()
        self.total = page.total
        while cursor is not None:
            fresh = [r for r in page.results if cursor.accept(r)]
            yield Batch(self.reader.finish_search(fresh))
            cursor = cursor.advance(page, self.reader.modified_property)
            if cursor is not None:
                page = self.reader.search_modified(cursor)
