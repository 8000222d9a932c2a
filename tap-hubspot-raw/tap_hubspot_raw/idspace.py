"""Which object ids a full sync has still to read, shared by its workers.

HubSpot lists ascend by id and a search can filter and sort on ``hs_object_id``, so a full sync can be split
by id: every worker claims an id range, reads every live object in it, and no two claims overlap. Real
portals number ids sparsely (early records small and close together, later ones 10-11 digits with large
gaps; ``shared/hubspot-api.md`` §13), so claims are sized from what the workers have seen, never from the
average density of the whole id space: list claims from the density of the last list pages near the bottom,
search claims from HubSpot's own count of a range (see :mod:`tap_hubspot_raw.plans.parallel`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

ID_CEILING = 2**63 - 1  # above every HubSpot id


@dataclass(frozen=True, order=True)
class IdRange:
    """The ids ``low <= id < high``."""

    low: int
    high: int

    def __contains__(self, object_id: object) -> bool:
        """Whether ``object_id`` lies in the range."""
        return isinstance(object_id, int) and self.low <= object_id < self.high

    @property
    def width(self) -> int:
        """How many ids the range spans."""
        return self.high - self.low


def merge_ranges(ranges: Iterable[IdRange]) -> list[IdRange]:
    """The same ids as ``ranges``, as few sorted, disjoint ranges."""
    merged: list[IdRange] = []
    for item in sorted(r for r in ranges if r.width > 0):
        if merged and item.low <= merged[-1].high:
            last = merged.pop()
            merged.append(IdRange(last.low, max(last.high, item.high)))
        else:
            merged.append(item)
    return merged


def subtract_ranges(whole: IdRange, taken: Iterable[IdRange]) -> list[IdRange]:
    """The parts of ``whole`` that no range of ``taken`` covers."""
    free: list[IdRange] = []
    low = whole.low
    for item in merge_ranges(taken):
        if item.high <= low or item.low >= whole.high:
            continue
        if item.low > low:
            free.append(IdRange(low, item.low))
        low = max(low, item.high)
    if low < whole.high:
        free.append(IdRange(low, whole.high))
    return free


class IdSpace:
    """The unclaimed ids of one full sync: list workers claim from the bottom, search workers from the top.

    ``done`` are ranges an earlier, interrupted attempt of the same full sync finished: never claimed again.
    Until the top is known (one past the highest id search knows), the space is open-ended.
    """

    def __init__(self, done: Iterable[IdRange] = ()) -> None:
        """Everything unclaimed except ``done``."""
        self._lock = threading.Lock()
        self._free = subtract_ranges(IdRange(0, ID_CEILING), done)
        self.top: int | None = None
        self.top_known = threading.Event()
        self._density: float | None = None  # live records per id near the bottom of the unclaimed space
        self._density_at = -1  # where that density was seen (the highest list page wins)
        self.unclaimed: int | None = None  # objects not claimed yet, as search last counted them
        self._searchers = 0  # search workers still claiming

    def set_top(self, top: int) -> None:
        """Bound the space at ``top``: ids above it are read separately (created after the search probe)."""
        with self._lock:
            self.top = top
            self._free = [IdRange(r.low, min(r.high, top)) for r in self._free if r.low < top]
        self.top_known.set()

    @property
    def free(self) -> list[IdRange]:
        """A snapshot of the unclaimed ranges."""
        with self._lock:
            return list(self._free)

    @property
    def starts_at_zero(self) -> bool:
        """Whether nothing at the bottom of the id space is claimed or done yet."""
        with self._lock:
            return bool(self._free) and self._free[0].low == 0

    def exhausted(self) -> bool:
        """Whether every id below the top has been claimed."""
        with self._lock:
            return self.top is not None and not self._free

    # List side ----------------------------------------------------------------------------------

    def observe_density(self, records: int, low: int, high: int) -> None:
        """A list page found ``records`` live objects in ``[low, high)``.

        The highest page seen sets the density list claims are sized by (an empty stretch counts as half an
        object, so claims widen past it).
        """
        if high <= low:
            return
        with self._lock:
            if high >= self._density_at:
                self._density = max(records, 0.5) / (high - low)
                self._density_at = high

    def claim_bottom(self, records: int, page_size: int = 1) -> IdRange | None:
        """Claim the ids at the bottom of the unclaimed space that should hold about ``records`` objects, a
        whole number of ``page_size`` pages (so a claim's last page is not cut short).

        None when all is claimed, the top is not known yet, or what is left is better read by search: once
        the unclaimed space is one stretch holding less than two claims' worth (by search's count), search
        claims it, exactly and in small pieces, so the workers finish together with no page cut short.
        """
        with self._lock:
            if self.top is None or not self._free:
                return None
            records = max(page_size, records - records % page_size)
            if self._searchers and len(self._free) == 1 and self.unclaimed is not None:
                if self.unclaimed < 2 * records:
                    return None
                self.unclaimed -= records
            lowest = self._free[0]
            width = max(1, round(records / (self._density or 1.0)))
            claim = IdRange(lowest.low, min(lowest.low + width, lowest.high))
            self._remove(claim)
            return claim

    def advance(self, ids: list[int]) -> tuple[int, bool, IdRange | None]:
        """A sequential list read ``ids`` (ascending) from the bottom: how many of them are its own, whether
        the rest of the space is already claimed (the list then stops), and the range it now holds."""
        with self._lock:
            if not self._free:
                return 0, True, None
            lowest = self._free[0]
            kept = 0
            while kept < len(ids) and ids[kept] < lowest.high:
                kept += 1
            if not kept:
                return 0, bool(ids), None
            done = IdRange(lowest.low, max(lowest.low, ids[kept - 1] + 1))
            self._remove(done)
            return kept, kept < len(ids), done

    def release(self, claim: IdRange) -> None:
        """Give an unread part of a claim back (its worker stopped early)."""
        with self._lock:
            if claim.width > 0:
                self._free = merge_ranges([*self._free, claim])

    # Search side --------------------------------------------------------------------------------

    def add_searchers(self, count: int) -> None:
        """``count`` search workers will claim from the top until :meth:`retire_searcher` lets them go."""
        with self._lock:
            self._searchers += count

    def retire_searcher(self) -> bool:
        """A search worker found nothing to claim: it may stop only if nothing is unclaimed (a list worker may
        have given a range back meanwhile); then list workers no longer leave the last stretch to search."""
        with self._lock:
            if self._free:
                return False
            self._searchers -= 1
            return True

    def highest(self) -> IdRange | None:
        """The highest unclaimed range (below the top), or None."""
        with self._lock:
            return self._free[-1] if self.top is not None and self._free else None

    def take_top(self, low: int, high: int, *, left: int | None = None) -> IdRange | None:
        """Claim the unclaimed ids in ``[low, high)`` of the range ending at ``high`` (list workers may have
        claimed its bottom meanwhile); None when that range is gone. ``left``: how many objects search counted
        below the claim."""
        with self._lock:
            if left is not None:
                self.unclaimed = left
            ending = next((r for r in reversed(self._free) if r.high == high), None)
            if ending is None:
                return None
            claim = IdRange(max(low, ending.low), high)
            if claim.width <= 0:
                return None
            self._remove(claim)
            return claim

    def _remove(self, claim: IdRange) -> None:
        """Remove ``claim`` (lying inside one unclaimed range) from the unclaimed space."""
        rest: list[IdRange] = []
        for item in self._free:
            if item.high <= claim.low or item.low >= claim.high:
                rest.append(item)
                continue
            if item.low < claim.low:
                rest.append(IdRange(item.low, claim.low))
            if claim.high < item.high:
                rest.append(IdRange(claim.high, item.high))
        self._free = rest
