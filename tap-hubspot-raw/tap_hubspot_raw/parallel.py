"""Full sync of one object type by several workers inside the portal's one shared budget.

The object id space is split between two kinds of workers that meet in the middle:

- **list workers** (``GET /crm/v3/objects/{type}``, 100 per page, associations inline, 10-second budget) read
  from the lowest id upwards. The first list page is read from the start with no cursor. If its
  ``paging.next.after`` is the last id + 1 (HubSpot's cursor is, in practice, the next record's id) and its
  ids ascend, further list workers claim id ranges ``[a, b)`` from the bottom and start each at ``after=a``,
  checking every id they get (ids below ``a`` stop the sync with an error instead of emitting guesses).
  Otherwise the cursor is treated as opaque: one list worker pages sequentially and claims ids as it goes.
- **search workers** (``POST .../search``, 200 per page, per-second search budget) claim id ranges ``[a, b)``
  from the top down (the top is found by one search sorted by ``hs_object_id`` descending). Each range is read
  with ``hs_object_id GTE a`` / ``LT b`` sorted by ``hs_object_id`` ascending, every page a fresh query
  restarting at ``GT last id`` (keyset: no offsets, so HubSpot's 10,000-result cap never applies). Search
  results carry no associations; they are read through the v4 batch endpoint, 1,000 objects a call.
- one worker sweeps ``archived=true`` from the list endpoint at the same time.

All claims go through one lock (:class:`IdSpace`), so ranges are disjoint and together cover every id below
the top; ids above the top found at the start (objects created after the sync began) are read by a last list
request in id-cursor mode, and otherwise by the next incremental run (its window starts at this sync's start).

Workers put finished batches (shaped records) on a bounded queue; the stream's own thread takes them off and
emits them, so Singer output is written by one thread and memory stays flat whatever the portal's size.

Streams are pipelined (:class:`Pipeline`): as soon as a stream's id space is fully claimed (its workers are
finishing their last ranges), the next selected stream's workers start fetching into *their* bounded queue, so
the shared budget does not sit idle through a stream's tail. Output stays one stream after another: a stream's
batches are only taken off its queue while the SDK syncs that stream; a prefetching stream blocks when its
queue is full.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from tap_hubspot_raw.api import ASSOCIATIONS_BATCH_SIZE, LIST_PAGE_SIZE, SEARCH_PAGE_SIZE
from tap_hubspot_raw.ratelimit import priority_requests

if TYPE_CHECKING:
    from tap_hubspot_raw.streams import CrmObjectStream

Record = dict[str, Any]
Keep = Callable[[Record], bool] | None

RECORDS_PER_RANGE_MAX = ASSOCIATIONS_BATCH_SIZE  # a search range's associations fit one v4 call per type
RECORDS_PER_RANGE_MIN = SEARCH_PAGE_SIZE
# 5 search requests/s x ~250 ms latency, plus time spent on association calls (their own budget, so they
# no longer wait behind list pages: a search worker spends a larger share of its time in flight).
MAX_SEARCH_WORKERS = 4
# List ranges are this many search ranges: every range ends in a partial list page (its last page runs
# past the range), so fewer, longer list ranges waste less of the 10-second budget. Claims still shrink
# near the end of the id space (TAIL_SHARES).
LIST_RANGE_FACTOR = 2
QUEUE_BATCHES_PER_WORKER = 1
POLL_SECONDS = 0.1
TAIL_SHARES = 8  # near the end a claim takes at most 1/8 of what is left (but at least 1/4 of a full range)


def put_until_stopped(
    target: queue.Queue[Any], item: Any, stop: threading.Event, *, force: bool = False
) -> None:
    """Put ``item`` on a bounded queue, waiting while it is full, until ``stop`` is set.

    A stop raises ``_Stopped``, except for a final message (``force``), which is then dropped: nobody is
    listening any more.
    """
    while True:
        if stop.is_set() and not force:
            raise _Stopped
        try:
            target.put(item, timeout=POLL_SECONDS)
        except queue.Full:
            if stop.is_set() and force:
                return
            continue
        return


class CursorNotAnIdError(RuntimeError):
    """HubSpot's list cursor stopped behaving like an object id (the id-range list plan is unsafe)."""


class IdSpace:
    """Which object ids are still unclaimed: ``[lo, upper)``, list from the bottom, search from the top.

    ``top`` is one past the highest id search knew at the start; ``hi`` is the lowest id search has claimed
    (None: none yet, so the list may read everything it finds).
    """

    def __init__(self) -> None:
        """Nothing claimed, top unknown."""
        self._lock = threading.Lock()
        self.lo = 0
        self.hi: int | None = None
        self.top: int | None = None
        self.top_known = threading.Event()

    def set_top(self, top: int) -> None:
        """Record the top of the id space (from the search probe)."""
        with self._lock:
            self.top = top
        self.top_known.set()

    def _upper(self) -> float:
        if self.hi is not None:
            return self.hi
        return self.top if self.top is not None else math.inf

    def _tail_size(self, size: int, upper: float) -> int:
        """Smaller claims as the unclaimed space runs out, so no worker is left with a long range."""
        unclaimed = upper - self.lo
        return max(1, min(size, max(size // 4, int(unclaimed // TAIL_SHARES))))

    def claim_top(self, size: int) -> tuple[int, int] | None:
        """Claim up to ``size`` ids just below everything search already holds."""
        with self._lock:
            upper = self._upper()
            if self.top is None or upper <= self.lo:
                return None
            size = self._tail_size(size, upper)
            low = max(int(upper) - size, self.lo)
            self.hi = low
            return low, int(upper)

    def claim_bottom(self, size: int) -> tuple[int, int] | None:
        """Claim up to ``size`` ids just above everything the list already holds (top must be known)."""
        with self._lock:
            upper = self._upper()
            if self.top is None or self.lo >= upper:
                return None
            size = self._tail_size(size, upper)
            low, high = self.lo, int(min(self.lo + size, upper))
            self.lo = high
            return low, high

    def advance(self, ids: list[int]) -> tuple[int, bool]:
        """Sequential list: how many of ``ids`` (ascending) are its own, and whether search holds the rest."""
        with self._lock:
            upper = self.hi if self.hi is not None else math.inf
            kept = 0
            while kept < len(ids) and ids[kept] < upper:
                kept += 1
            if kept:
                self.lo = max(self.lo, ids[kept - 1] + 1)
            return kept, kept < len(ids)


@dataclass
class _Done:
    """A worker finished (or failed with ``error``)."""

    error: BaseException | None = None


class ParallelFullSync:
    """Runs one stream's full-sync workers; yields ``(archived, records)`` batches as they arrive."""

    def __init__(
        self,
        stream: CrmObjectStream,
        keep: Keep,
        concurrency: int,
        on_claimed: Callable[[], None] | None = None,
    ) -> None:
        """Plan workers for ``stream``: ``concurrency`` is the number of requests in flight at once.

        ``on_claimed`` is called once, from a worker, when the whole id space has been claimed (the workers
        are on their last ranges): the pipeline then starts the next stream's workers.
        """
        self.stream = stream
        self.keep = keep
        self._on_claimed = on_claimed
        self._claimed_once = threading.Lock()
        self._started = False
        self._start_lock = threading.Lock()
        # One thread per request in flight (the archived sweep is one of them), so no thread holds an
        # in-flight slot while it waits for the budget.
        self.search_workers = max(1, min(MAX_SEARCH_WORKERS, (concurrency + 2) // 3))
        self.list_workers = max(1, concurrency - self.search_workers - 1)
        self.space = IdSpace()
        self.id_cursor: bool | None = None  # decided by the first list page
        self.mode_known = threading.Event()
        self.range_ids = 1  # ids per claimed range, from the probe's density estimate
        self.min_id = 0  # lowest live id (the first list page's first), for the density estimate
        self._stop = threading.Event()
        workers = self.list_workers + self.search_workers + 1
        self._queue: queue.Queue[tuple[bool, list[Record]] | _Done] = queue.Queue(
            maxsize=max(2, workers * QUEUE_BATCHES_PER_WORKER)
        )
        self._threads: list[threading.Thread] = []

    # Orchestration ------------------------------------------------------------------------------

    @property
    def queue_capacity(self) -> int:
        """How many batches may wait on the queue (the memory bound)."""
        return self._queue.maxsize

    @property
    def queued(self) -> int:
        """How many batches wait on the queue now."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the workers (idempotent); their batches wait on the bounded queue until taken."""
        with self._start_lock:  # the pipeline and the stream's own thread may both start it
            if self._started:
                return
            self._started = True
            self._start_workers()

    def _start_workers(self) -> None:
        roles: list[Callable[[], None]] = [self._lead_list_worker, self._archived_worker]
        roles += [self._list_worker] * (self.list_workers - 1)
        roles += [self._probe_then_search] + [self._search_worker] * (self.search_workers - 1)
        for number, role in enumerate(roles):
            thread = threading.Thread(
                target=self._run, args=(role,), name=f"{self.stream.name}-worker-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def cancel(self) -> None:
        """Stop the workers (another stream failed or the run ends early)."""
        self._stop.set()
        self.mode_known.set()
        self.space.top_known.set()

    def claimed(self) -> None:
        """The id space is fully claimed: tell the pipeline once."""
        if self._on_claimed is not None and self._claimed_once.acquire(blocking=False):
            self._on_claimed()

    def batches(self) -> Iterator[tuple[bool, list[Record]]]:
        """Start the workers and yield their batches until all are done; re-raise a worker's failure."""
        self.start()
        running = len(self._threads)
        try:
            while running:
                item = self._queue.get()
                if isinstance(item, _Done):
                    running -= 1
                    if item.error is not None:
                        raise item.error
                    continue
                yield item
            self.claimed()  # at the latest when the stream is done
        finally:
            self._stop.set()
            self.mode_known.set()
            self.space.top_known.set()
            for thread in self._threads:
                thread.join(timeout=30)

    def _run(self, role: Callable[[], None]) -> None:
        try:
            role()
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the emitting thread, which re-raises it
            self._stop.set()
            self._put(_Done(exc), force=True)
            return
        self._put(_Done(), force=True)

    def _put(self, item: tuple[bool, list[Record]] | _Done, *, force: bool = False) -> None:
        """Hand ``item`` to the emitting thread; blocks while the queue is full (bounded memory)."""
        put_until_stopped(self._queue, item, self._stop, force=force)

    def _emit(self, archived: bool, records: list[Record]) -> None:
        kept = [r for r in records if self.keep is None or self.keep(r)]
        if kept:
            self._put((archived, kept))

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stopped

    def _wait(self, event: threading.Event) -> None:
        while not event.wait(POLL_SECONDS):
            if self._stop.is_set():
                raise _Stopped
        if self._stop.is_set():
            raise _Stopped

    # List workers -------------------------------------------------------------------------------

    def _lead_list_worker(self) -> None:
        """Read from the start; decide whether the cursor is an id; then claim ranges or go on paging."""
        stream, space = self.stream, self.space
        try:
            results, after = stream.list_page(archived=False, after=None)
            ids = [int(r["id"]) for r in results]
            ascending = _ascending(ids)
            self.id_cursor = bool(
                after is not None and ids and ascending and after.isdigit() and int(after) == ids[-1] + 1
            )
            self.min_id = ids[0] if ids else 0
        finally:
            self.mode_known.set()
        last = -1
        while True:
            ids = [int(r["id"]) for r in results]
            if ids and (ids[0] <= last or not _ascending(ids)):
                raise CursorNotAnIdError(
                    f"HubSpot's {stream.name} list is not in ascending id order; set max_concurrency to 1."
                )
            kept, search_holds_rest = space.advance(ids)
            self._emit(False, stream.finish_list_page(results[:kept], archived=False))
            if ids:
                last = ids[-1]
            if search_holds_rest or after is None:
                break
            if self.id_cursor:  # hand over to range claiming at exactly where the list stopped
                break
            results, after = stream.list_page(archived=False, after=after)
        if self.id_cursor:
            self._claim_list_ranges()
            self._read_tail()

    def _list_worker(self) -> None:
        self._wait(self.mode_known)
        if self.id_cursor:
            self._claim_list_ranges()

    def _claim_list_ranges(self) -> None:
        self._wait(self.space.top_known)
        while (claim := self.space.claim_bottom(self.range_ids * LIST_RANGE_FACTOR)) is not None:
            self._check_stop()
            self._read_list_range(*claim)
        self.claimed()

    def _read_list_range(self, low: int, high: float) -> None:
        """Every live object with ``low <= id < high``, starting the list cursor at ``low``."""
        after: str | None = str(low)
        while after is not None:
            results, after = self.stream.list_page(archived=False, after=after)
            ids = [int(r["id"]) for r in results]
            if ids and (ids[0] < low or not _ascending(ids)):
                raise CursorNotAnIdError(
                    f"HubSpot's {self.stream.name} list cursor after={low} returned ids out of range or "
                    "order; "
                    "set max_concurrency to 1."
                )
            kept = sum(1 for object_id in ids if object_id < high)
            self._emit(False, self.stream.finish_list_page(results[:kept], archived=False))
            if kept < len(ids):
                return

    def _read_tail(self) -> None:
        """Objects above the top search saw at the start (created meanwhile, or not yet indexed)."""
        top = self.space.top
        if top is not None:
            self._read_list_range(max(top, self.space.lo), math.inf)

    def _archived_worker(self) -> None:
        after: str | None = None
        first = True
        while first or after is not None:
            first = False
            results, after = self.stream.list_page(archived=True, after=after)
            self._emit(True, self.stream.finish_list_page(results, archived=True))

    # Search workers -----------------------------------------------------------------------------

    def _probe_then_search(self) -> None:
        """Find the top of the id space and the live total, size the ranges, then search like the others."""
        try:
            top, total = self.stream.search_top()
            self._wait(self.mode_known)  # the first list page tells the lowest id
            concurrency = self.list_workers + self.search_workers
            per_range = max(RECORDS_PER_RANGE_MIN, min(RECORDS_PER_RANGE_MAX, total // (2 * concurrency)))
            span = top - min(self.min_id, top)
            density = total / span if span > 0 else 1.0
            self.range_ids = max(1, math.ceil(per_range / max(density, 1e-9)))
            self.space.set_top(top)
        finally:
            self.space.top_known.set()
        self._search_worker()

    def _search_worker(self) -> None:
        self._wait(self.space.top_known)
        # A search page and its share of an association call deliver 200 records; a list page 100. So the
        # search workers' association calls go first when their budget is contended (v4 associations have
        # their own 10-second budget on HubSpot, shared by the search workers only).
        with priority_requests():
            while (claim := self.space.claim_top(self.range_ids)) is not None:
                self._check_stop()
                self._search_range(*claim)
        self.claimed()

    def _search_range(self, low: int, high: int) -> None:
        pending: list[Record] = []
        after_id: int | None = None
        while True:
            results, more = self.stream.search_id_range(low, high, after_id)
            results = [r for r in results if low <= int(r["id"]) < high]
            pending.extend(results)
            if results:
                after_id = max(int(r["id"]) for r in results)
            done = not more or not results
            if len(pending) >= ASSOCIATIONS_BATCH_SIZE or (done and pending):
                self._emit(False, self.stream.finish_search_page(pending))
                pending = []
            if done:
                return


class Pipeline:
    """Starts the next selected stream's full-sync workers while the current stream finishes.

    Shared by every stream of a tap instance (it lives on the :class:`~tap_hubspot_raw.client.Portal`).
    ``order_source`` gives the streams in the order the SDK syncs them (the tap's stream order).
    """

    def __init__(self) -> None:
        """No streams known yet."""
        self.order_source: Callable[[], list[CrmObjectStream]] = list
        self._lock = threading.Lock()
        self._syncs: dict[str, ParallelFullSync] = {}
        self._cancelled = False

    @property
    def order(self) -> list[CrmObjectStream]:
        """The streams in the order the SDK syncs them."""
        return self.order_source()

    def full_sync(self, stream: CrmObjectStream, keep: Keep) -> ParallelFullSync:
        """The stream's full sync: the prefetching one if the pipeline started it, otherwise a new one."""
        with self._lock:
            sync = self._syncs.get(stream.name)
            if sync is None:
                sync = self._new(stream, keep)
            return sync

    def _new(self, stream: CrmObjectStream, keep: Keep) -> ParallelFullSync:
        sync = ParallelFullSync(
            stream, keep, stream.portal.max_concurrency, on_claimed=lambda: self.prefetch_after(stream.name)
        )
        self._syncs[stream.name] = sync
        return sync

    def prefetch_after(self, name: str) -> None:
        """Start the full-sync workers of the selected stream that follows ``name`` (if it is a full sync)."""
        names = [s.name for s in self.order]
        if name not in names:
            return
        following = [s for s in self.order[names.index(name) + 1 :] if s.selected]
        if not following:
            return
        stream = following[0]
        keep = stream.full_sync_keep()
        if keep is False:  # incremental or sequential: nothing to prefetch here
            return
        with self._lock:
            if self._cancelled or stream.name in self._syncs:
                return
            stream.prepare_parallel()
            sync = self._new(stream, keep)
        sync.start()

    def prefetch_incremental(self) -> None:
        """Start every selected incremental stream's independent requests (first search page, archived
        sweep) at once; each stream still emits its own records when the SDK syncs it."""
        for stream in self.order:
            if stream.selected and stream.bookmark_ms is not None:
                stream.start_incremental_prefetch()

    def cancel(self) -> None:
        """Stop every prefetching stream (a stream failed: the run ends)."""
        with self._lock:
            self._cancelled = True
            syncs = list(self._syncs.values())
        for sync in syncs:
            sync.cancel()


class BackgroundReader:
    """Runs ``produce(put)`` in a daemon thread; the batches it puts wait on a bounded queue until taken."""

    def __init__(self, name: str, produce: Callable[[Callable[[list[Record]], None]], None], size: int = 4):
        """Prepare (not start) the reader; at most ``size`` batches wait at once."""
        self._produce = produce
        self._queue: queue.Queue[list[Record] | _Done] = queue.Queue(maxsize=max(1, size))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> BackgroundReader:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop producing (the consumer went away)."""
        self._stop.set()

    def _put(self, item: list[Record] | _Done, *, force: bool = False) -> None:
        put_until_stopped(self._queue, item, self._stop, force=force)

    def _run(self) -> None:
        try:
            self._produce(lambda batch: self._put(batch) if batch else None)
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(_Done(exc), force=True)
            return
        self._put(_Done(), force=True)

    def batches(self) -> Iterator[list[Record]]:
        """Yield the batches until the producer is done; re-raise its failure."""
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _Done):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            self._stop.set()


def _ascending(ids: list[int]) -> bool:
    return all(a < b for a, b in pairwise(ids))


class _Stopped(Exception):  # noqa: N818 - control flow, not an error
    """Another worker failed or the consumer went away: stop quietly."""


__all__ = [
    "LIST_PAGE_SIZE",
    "BackgroundReader",
    "CursorNotAnIdError",
    "IdSpace",
    "ParallelFullSync",
    "Pipeline",
]
