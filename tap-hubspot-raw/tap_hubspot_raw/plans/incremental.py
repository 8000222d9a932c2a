"""Incremental sync: what changed inside a window of modified dates, then two rolling sweeps.

Changed objects come from the search endpoint in modified order (keyset paging, see
:class:`~tap_hubspot_raw.pagination.SearchCursor`), their associations from the v4 batch endpoint. A window
only sees what moves a modified date, so two sweeps follow, each a slice per run that resumes where the last
run's stopped (the stream keeps the cursors in its state):

- the **refresh** re-reads a slice of live objects by id (search, all properties, associations through v4):
  adding or removing an association moves neither record's modified date (``shared/hubspot-api.md`` §13), so
  without it an association edit would never arrive; each object comes round within ``refresh_hours``;
- the **archived sweep** reads a slice of ``archived=true`` list pages (archived objects never appear in
  search, and the list cannot be filtered by ``archivedAt``), so its cost per run stays bounded however many
  objects the recycle bin holds; the whole list comes round within ``archived_sweep_hours``.

Sweep records are emitted after every changed object and only if modified no later than the window's end
(later changes are the next run's). Each batch of changes tells the stream how far the changes are read
(``changed_through``), so an interrupted run resumes from there. The first search page and the sweeps
start as soon as the plan does (the
scheduler starts every incremental stream's plan at once), so their latency overlaps the other streams'.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_hubspot_raw.api import SEARCH_PAGE_SIZE
from tap_hubspot_raw.idspace import ID_CEILING
from tap_hubspot_raw.pagination import SearchCursor, to_epoch_ms
from tap_hubspot_raw.plans.workers import Batch, Record, WorkerGroup

if TYPE_CHECKING:
    from tap_hubspot_raw.reader import Reader, SearchPage


@dataclass(frozen=True)
class Sweeps:
    """This run's slices of the two rolling sweeps."""

    refresh_after_id: int = 0  # the refresh resumes after this id
    refresh_count: int = 0  # objects to re-read this run
    archived_after: str | None = None  # the archived sweep resumes at this list cursor (None: the start)
    archived_pages: int | None = None  # list pages to read this run (None: to the end of the list)
    # Archived objects are emitted when archived since the previous round (of this position) started:
    # earlier ones were emitted then. ``archived_round_started_ms``: when the current round started.
    archived_since_ms: int = 0
    archived_round_started_ms: int | None = None


class IncrementalSync:
    """Objects modified in ``[low_ms, high_ms]``, then this run's slices of the two sweeps."""

    def __init__(self, reader: Reader, *, low_ms: int, high_ms: int, sweeps: Sweeps | None = None) -> None:
        """Plan the reads of ``reader``'s object type for the window."""
        self.reader = reader
        self.low_ms = low_ms
        self.high_ms = high_ms
        self.sweeps = sweeps or Sweeps()
        self._first_page: Future[SearchPage] = Future()
        self.total: int | None = None  # changed objects in the window, from the first search page
        self.live_total: int | None = None  # HubSpot's count of live objects, taken as the run starts
        self.archived_pages_read = 0
        self.group = WorkerGroup(
            f"{reader.object_type}-incremental",
            [self._read_first_search_page, self._count_live, self._refresh, self._sweep_archived],
        )

    def start(self) -> None:
        """Send the first search request and start the sweeps (idempotent)."""
        self.group.start()

    def cancel(self) -> None:
        """Stop the background reads."""
        self.group.cancel()

    def batches(self) -> Iterator[Batch]:
        """Changed objects in modified order, one batch per search page; then the sweeps' batches."""
        self.start()
        try:
            yield from self._changed()
            yield from self.group.batches()
        finally:
            self.cancel()

    # Changed objects ----------------------------------------------------------------------------

    def _read_first_search_page(self) -> None:
        try:
            self._first_page.set_result(self.reader.search_modified(self._cursor()))
        except BaseException as exc:  # noqa: BLE001 - re-raised by the stream's thread
            self._first_page.set_exception(exc)

    def _count_live(self) -> None:
        self.live_total = self.reader.count()

    def _cursor(self) -> SearchCursor:
        return SearchCursor(low_ms=self.low_ms, high_ms=self.high_ms)

    def _changed(self) -> Iterator[Batch]:
        cursor: SearchCursor | None = self._cursor()
        page = self._first_page.result()
        self.total = page.total
        while cursor is not None:
            fresh = [r for r in page.results if cursor.accept(r)]
            records = self.reader.finish_search(fresh)
            # Changes come in modified order: once emitted, everything up to the last one's date is read.
            through = {"changed_through": to_epoch_ms(str(records[-1]["updatedAt"]))} if records else None
            yield Batch(records, state=through)
            cursor = cursor.advance(page, self.reader.modified_property)
            if cursor is not None:
                page = self.reader.search_modified(cursor)

    # Sweeps -------------------------------------------------------------------------------------

    def _not_after_window(self, records: list[Record]) -> list[Record]:
        """Records modified no later than the window's end (later ones are the next run's changes)."""
        return [r for r in records if r.get("updatedAt") and to_epoch_ms(str(r["updatedAt"])) <= self.high_ms]

    def _refresh(self) -> None:
        left, after_id = self.sweeps.refresh_count, self.sweeps.refresh_after_id
        while left > 0:
            page = self.reader.search_ids(after_id + 1, ID_CEILING, limit=min(SEARCH_PAGE_SIZE, left))
            records = self.reader.finish_search(page.results)
            left -= len(page.results)
            finished = not page.more or not page.results
            after_id = 0 if finished else max(page.ids)  # the end of the id space: round again next time
            progress = {"refresh_after_id": after_id}
            self.group.put(Batch(self._not_after_window(records), refresh=True, state=progress))
            if finished:
                return

    def _sweep_archived(self) -> None:
        sweeps = self.sweeps
        after, pages = sweeps.archived_after, sweeps.archived_pages
        round_started = sweeps.archived_round_started_ms
        if after is None:  # this run starts a new round
            round_started = self.high_ms
        while pages is None or self.archived_pages_read < pages:
            page = self.reader.list_page(archived=True, after=after)
            self.archived_pages_read += 1
            new = [r for r in page.results if _archived_since(r, sweeps.archived_since_ms)]
            records = self._not_after_window(self.reader.finish_list(new, archived=True))
            progress: dict[str, Any] = {"archived_after": page.after, "archived_round_started": round_started}
            if (
                page.after is None
            ):  # the round is complete: the next one emits what was archived since it began
                progress.update(archived_since=round_started, archived_round_started=None)
                if sweeps.archived_after is None:
                    progress["archived_pages"] = self.archived_pages_read  # the list's length now
            self.group.put(Batch(records, archived=True, state=progress))
            if page.after is None:
                return
            after = page.after


def _archived_since(record: Record, since_ms: int) -> bool:
    archived_at = record.get("archivedAt")
    return not archived_at or to_epoch_ms(str(archived_at)) >= since_ms
