"""Full sync of one object type by several workers inside the portal's one shared budget.

The id space (:class:`~tap_hubspot_raw.idspace.IdSpace`) is split into claims that workers read whole; every
claim is fixed by *count*, so it holds about the same number of objects however sparse the ids are:

- **search workers** (``POST .../search``, 200 per page, their own per-second budget) claim from the top down:
  a search sorted by id *descending* from offset ``size - 200`` returns the claim's lowest page, which fixes
  where the claim ends, and HubSpot's ``total`` says how many objects are left. The rest of the claim is read
  by id keyset (no further offsets, so HubSpot's 10,000-result cap never applies); associations come from the
  v4 batch endpoint.
- **list workers** (``GET .../objects``, 100 per page, associations inline, 10-second budget) claim from the
  bottom up the same way, sorted *ascending*: the search page at offset ``size - 200`` is the claim's top and
  fixes its end, and the list endpoint reads the ``size - 200`` objects below it, starting at
  ``after=<claim's low id>``. That needs HubSpot's documented list cursor, the last id + 1
  (``shared/hubspot-api.md`` §13): the first list page is read with no cursor, and only if its
  ``paging.next.after`` is its last id + 1 and its ids ascend do list workers claim; otherwise the cursor is
  opaque, one list worker pages sequentially from the start and search does the rest.
- one worker sweeps ``archived=true`` from the list endpoint at the same time.

Once what is left is less than two claims, list workers stop claiming: one list worker reads what is left from
the bottom up (``after`` = the lowest unread id) while search claims it from the top in small claims, so both
budgets stay busy until the two meet. The first search claim is a single page: its count sizes the others.
Objects above the top found at the start (created meanwhile) are read by a last list request in id-cursor
mode, otherwise by the next incremental run (its window starts before this sync's start).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING

from tap_hubspot_raw.api import ASSOCIATIONS_BATCH_SIZE, SEARCH_PAGE_SIZE
from tap_hubspot_raw.idspace import ID_CEILING, IdRange, IdSpace
from tap_hubspot_raw.plans.workers import Batch, Record, WorkerGroup
from tap_hubspot_raw.ratelimit import priority_requests

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_hubspot_raw.reader import ListPage, Reader

Keep = Callable[[Record], bool] | None

RECORDS_PER_CLAIM_MAX = ASSOCIATIONS_BATCH_SIZE  # a search claim's associations fit one v4 call per type
RECORDS_PER_CLAIM_MIN = SEARCH_PAGE_SIZE
# A list claim: one search page (its top, which fixes its end) and eight list pages below it.
LIST_RECORDS_PER_CLAIM = 1_000
# 5 search requests/s x ~250 ms latency, plus time spent on association calls (their own budget).
MAX_SEARCH_WORKERS = 4
LIST_CURSOR_ID = "id"
LIST_CURSOR_OPAQUE = "opaque"


class CursorNotAnIdError(RuntimeError):
    """HubSpot's list cursor stopped behaving like an object id (the id-range list plan is unsafe)."""


class ParallelFullSync:
    """One object type's full-sync workers; :meth:`batches` yields their batches as they arrive."""

    def __init__(
        self,
        reader: Reader,
        *,
        concurrency: int,
        keep: Keep = None,
        space: IdSpace | None = None,
        list_cursor: str | None = None,
        read_archived: bool = True,
        on_claimed: Callable[[], None] | None = None,
    ) -> None:
        """Plan workers for ``reader``: ``concurrency`` requests in flight at once.

        ``space`` and ``list_cursor`` continue an interrupted attempt (ranges done, cursor kind known).
        ``on_claimed`` is called once, when the search workers start their last round of claims (or at the
        latest when everything is claimed): the scheduler then starts the next stream's reads, which keeps
        the shared budget busy through this stream's tail.
        """
        self.reader = reader
        self.keep = keep
        self.space = space or IdSpace()
        self.search_workers = max(1, min(MAX_SEARCH_WORKERS, (concurrency + 2) // 3))
        self.list_workers = max(1, concurrency - self.search_workers - 1)
        self.list_cursor = list_cursor  # None until the first list page tells
        self.mode_known = threading.Event()
        if list_cursor is not None:
            self.mode_known.set()
        self.total: int | None = None  # live objects: the first claim's count plus what was read before it
        self.archived_pages_read = 0
        self.top: int | None = None  # one past the highest id search knows (its first claim's highest)
        self.top_read = threading.Event()
        highest = self.space.highest()
        if highest is None or highest.high != ID_CEILING:  # an earlier attempt read the top already
            self.top_read.set()
        # The first claim is one page: it counts the objects, which sizes the rest (a small object type
        # is then shared with the list workers instead of taken whole by one search claim).
        self._claim_size = RECORDS_PER_CLAIM_MIN
        self._left = ID_CEILING  # objects not claimed yet, as the last claim's search counted them
        self._search_lock = threading.Lock()  # one claim at a time at each end (each takes a request)
        self._list_lock = threading.Lock()
        self._on_claimed = on_claimed
        self._claimed_once = threading.Lock()
        roles: list[Callable[[], None]] = [self._lead_list_worker]
        roles += [self._archived_worker] if read_archived else []
        roles += [self._list_worker] * (self.list_workers - 1)
        roles += [self._search_worker] * self.search_workers
        self.group = WorkerGroup(f"{reader.object_type}-full-sync", roles)

    def start(self) -> None:
        """Start the workers (idempotent); their batches wait (a bounded number) until taken."""
        self.group.start()

    def cancel(self) -> None:
        """Stop the workers (the run ends early)."""
        self.group.cancel()
        self.mode_known.set()
        self.top_read.set()

    def batches(self) -> Iterator[Batch]:
        """Yield the workers' batches until all are done; re-raise a worker's failure."""
        try:
            yield from self.group.batches()
            self._claimed()  # at the latest when the stream is done
        finally:
            self.cancel()

    def _claimed(self) -> None:
        if self._on_claimed is not None and self._claimed_once.acquire(blocking=False):
            self._on_claimed()

    def _emit(
        self,
        records: list[Record],
        *,
        archived: bool = False,
        done: IdRange | None = None,
        swept: bool = False,
    ) -> None:
        kept = records if self.keep is None else [r for r in records if self.keep(r)]
        self.group.put(Batch(kept, archived=archived, done=done, sweep_done=swept))

    # List workers -------------------------------------------------------------------------------

    def _lead_list_worker(self) -> None:
        """Read from the start and learn the cursor's kind; then claim ranges, or page on sequentially."""
        if self.list_cursor is None:
            try:
                page = self.reader.list_page(archived=False, after=None)
                ids = page.ids
                id_cursor = bool(
                    page.after is not None
                    and ids
                    and _ascending(ids)
                    and page.after.isdigit()
                    and int(page.after) == ids[-1] + 1
                )
                self.list_cursor = LIST_CURSOR_ID if id_cursor else LIST_CURSOR_OPAQUE
            finally:
                self.mode_known.set()
            self._read_sequentially(page)
        if self.list_cursor == LIST_CURSOR_ID:
            self._claim_list_ranges()
            self._read_last_stretch()
            self._read_tail()

    def _read_sequentially(self, page: ListPage) -> None:
        """Page on from the first page while the ids are unclaimed; in id-cursor mode, only the first page."""
        last = -1
        while True:
            ids = page.ids
            if ids and (ids[0] <= last or not _ascending(ids)):
                raise CursorNotAnIdError(
                    f"HubSpot's {self.reader.object_type} list is not in ascending id order; "
                    "set max_concurrency to 1."
                )
            kept, search_holds_rest, done = self.space.advance(ids)
            self._emit(self.reader.finish_list(page.results[:kept], archived=False), done=done)
            last = ids[-1] if ids else last
            if search_holds_rest or page.after is None or self.list_cursor == LIST_CURSOR_ID:
                return
            page = self.reader.list_page(archived=False, after=page.after)

    def _list_worker(self) -> None:
        self.group.wait(self.mode_known)
        if self.list_cursor == LIST_CURSOR_ID:
            self._claim_list_ranges()

    def _claim_list_ranges(self) -> None:
        while (claimed := self._claim_bottom()) is not None:
            self.group.check_stop()
            self._read_list_claim(*claimed)
        self._claimed()

    def _claim_bottom(self) -> tuple[IdRange, list[Record], int] | None:
        """Claim about ``LIST_RECORDS_PER_CLAIM`` objects at the bottom of the unclaimed space.

        Returns the claim, the search page that fixed its high end (its highest objects), and how many
        objects lie below that page. None when what is left is search's to finish (or nothing is).
        """
        size = LIST_RECORDS_PER_CLAIM
        below = size - SEARCH_PAGE_SIZE
        # The claim's search request unlocks eight list pages: it goes first in the search budget.
        with self._list_lock, priority_requests():
            while (lowest := self.space.lowest()) is not None:
                last_stretch = lowest == self.space.highest()
                if last_stretch and self._left < 2 * size:
                    return None  # search claims it in small pieces, so the workers finish together
                page = self.reader.search_ids(lowest.low, lowest.high, offset=below)
                self._count(page.total, lowest.low)
                self._left = page.total - size
                if last_stretch and page.total < 2 * size:
                    return None
                high = max(page.ids) + 1 if page.total > size and page.results else lowest.high
                claim = self.space.take_bottom(lowest.low, high)
                if claim is not None:
                    return claim, [r for r in page.results if int(r["id"]) in claim], below
            return None

    def _read_list_claim(self, claim: IdRange, top: list[Record], below: int) -> None:
        """Read the claim below its top page from the list endpoint; the top page comes last, with `done`."""
        end = min((int(r["id"]) for r in top), default=claim.high)
        after, read = claim.low, 0
        while after < end:
            page = self.reader.list_page(archived=False, after=str(after))
            ids = page.ids
            if ids and (ids[0] < after or not _ascending(ids)):
                raise CursorNotAnIdError(
                    f"HubSpot's {self.reader.object_type} list cursor after={after} returned ids out of "
                    "range or order; set max_concurrency to 1."
                )
            kept = sum(1 for object_id in ids if object_id < end)
            read += kept
            self._emit(self.reader.finish_list(page.results[:kept], archived=False))
            # Done when the page reached the top page, or holds every object search counted below it (a
            # further page would only confirm that nothing else is there).
            if kept < len(ids) or page.after is None or (top and read >= below):
                break
            after = ids[-1] + 1
        self._emit(self.reader.finish_search(top), done=claim)

    def _read_last_stretch(self) -> None:
        """Read what list claims left, from the bottom up, while search claims it from the top down in small
        pieces: the two meet, and both budgets stay busy to the end of the object type."""
        while (lowest := self.space.lowest()) is not None:
            self.group.check_stop()
            page = self.reader.list_page(archived=False, after=str(lowest.low))
            ids = page.ids
            if ids and (ids[0] < lowest.low or not _ascending(ids)):
                raise CursorNotAnIdError(
                    f"HubSpot's {self.reader.object_type} list cursor after={lowest.low} returned ids out of "
                    "range or order; set max_concurrency to 1."
                )
            kept, done = self.space.take_read(lowest.low, ids)
            if done is None and not ids:
                return  # nothing from here up: what is left is search's (and the tail's) to confirm
            if done is not None:
                self._emit(self.reader.finish_list(page.results[:kept], archived=False), done=done)
            if kept == len(ids) and page.after is None:
                return  # the list's end: the rest of the space (its top) is search's

    def _read_tail(self) -> None:
        """Objects above the highest id search knew (created meanwhile, or not indexed yet)."""
        self.group.wait(self.top_read)
        after: str | None = str(self.top) if self.top is not None else None
        while after is not None:
            page = self.reader.list_page(archived=False, after=after)
            self._emit(self.reader.finish_list(page.results, archived=False))
            after = page.after

    def _archived_worker(self) -> None:
        after: str | None = None
        while True:
            page = self.reader.list_page(archived=True, after=after)
            self.archived_pages_read += 1
            last = page.after is None
            self._emit(self.reader.finish_list(page.results, archived=True), archived=True, swept=last)
            if last:
                return
            after = page.after

    # Search workers -----------------------------------------------------------------------------

    def _count(self, counted: int, low: int) -> None:
        """The first claim's search counted the live objects from ``low`` up: with those a sequential list
        read below it, the sync's total (for progress)."""
        if self.total is None:
            self.total = counted + self.space.advanced_below(low)

    def _size_claims(self, remaining: int) -> int:
        """Objects per search claim: a v4 call's worth, until the search workers' last rounds, when claims
        shrink so that they finish together (each claim costs one request before it can be read)."""
        size = min(RECORDS_PER_CLAIM_MAX, remaining // (2 * self.search_workers))
        return max(RECORDS_PER_CLAIM_MIN, size - size % SEARCH_PAGE_SIZE)

    def _search_worker(self) -> None:
        while (claimed := self._claim_top()) is not None:
            self.group.check_stop()
            self._search_claim(*claimed)
        self._claimed()

    def _claim_top(self) -> tuple[IdRange, list[Record], int] | None:
        """Claim about ``_claim_size`` objects at the top of the unclaimed space.

        Returns the claim, the page that fixed its low end (its lowest objects), and how many objects lie
        above that page in the claim.
        """
        with self._search_lock:
            while (highest := self.space.highest()) is not None:
                size = self._claim_size
                above = size - SEARCH_PAGE_SIZE
                page = self.reader.search_ids(highest.low, highest.high, descending=True, offset=above)
                self._count(page.total, highest.low)
                self._claim_size = self._size_claims(page.total)
                self._left = page.total - size
                if self._left < size * self.search_workers:
                    self._claimed()  # the last round: the next stream may start reading now
                low = min(page.ids) if page.total > size and page.results else highest.low
                claim = self.space.take_top(low, highest.high)
                if claim is not None:
                    return claim, [r for r in page.results if int(r["id"]) in claim], above
            return None

    def _search_claim(self, claim: IdRange, bottom: list[Record], above: int) -> None:
        """Read the claim above its bottom page by id keyset; emit it as one batch."""
        records = list(bottom)
        low = max((int(r["id"]) for r in bottom), default=claim.low - 1) + 1
        while low < claim.high and (above or not bottom):
            page = self.reader.search_ids(low, claim.high)
            records.extend(r for r in page.results if int(r["id"]) in claim)
            if not page.more or not page.results:
                break
            low = max(page.ids) + 1
        if claim.high == ID_CEILING:  # the top claim: its highest object is the top of the id space
            self.top = max((int(r["id"]) + 1 for r in records), default=claim.low)
            self.top_read.set()
        # The claim's association calls unlock 1,000 records at once: they go first in their budget.
        with priority_requests():
            finished = self.reader.finish_search(records)
        self._emit(finished, done=claim)


def _ascending(ids: list[int]) -> bool:
    return all(a < b for a, b in pairwise(ids))
