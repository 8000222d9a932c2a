"""Which object ids a full sync has still to read, shared by its workers.

HubSpot lists ascend by id and a search can filter and sort on ``hs_object_id``, so a full sync can be split
by id: every worker claims an id range, reads every live object in it, and no two claims overlap. Real
portals number ids sparsely (early records small and close together, later ones 10-11 digits with large
gaps; ``shared/hubspot-api.md`` §13), so claims are never sized by the density of the id space: each is fixed
by HubSpot's own count of the objects it holds (see :mod:`tap_hubspot_raw.plans.parallel`).
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
    """

    def __init__(self, done: Iterable[IdRange] = ()) -> None:
        """Everything unclaimed except ``done``."""
        self._lock = threading.Lock()
        self._free = subtract_ranges(IdRange(0, ID_CEILING), done)
        self._advanced = 0  # objects a sequential list took from the bottom

    @property
    def free(self) -> list[IdRange]:
        """A snapshot of the unclaimed ranges."""
        with self._lock:
            return list(self._free)

    def lowest(self) -> IdRange | None:
        """The lowest unclaimed range, or None."""
        with self._lock:
            return self._free[0] if self._free else None

    def highest(self) -> IdRange | None:
        """The highest unclaimed range, or None."""
        with self._lock:
            return self._free[-1] if self._free else None

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
            self._advanced += kept
            return kept, kept < len(ids), done

    def take_read(self, low: int, ids: list[int]) -> tuple[int, IdRange | None]:
        """A list page read from ``low`` up returned ``ids`` (ascending): claim what it read of the unclaimed
        range starting at ``low``. Returns how many of ``ids`` are the reader's (those below the next claim)
        and the range claimed; (0, None) when that range is gone (search claimed it meanwhile)."""
        with self._lock:
            starting = next((r for r in self._free if r.low == low), None)
            if starting is None:
                return 0, None
            kept = 0
            while kept < len(ids) and ids[kept] < starting.high:
                kept += 1
            # Nothing of the page is in the range: the range holds no object (ids ascend with no gaps the
            # list skips), so the reader takes all of it.
            high = ids[kept - 1] + 1 if kept else (starting.high if ids else low)
            if high <= low:
                return 0, None
            claim = IdRange(low, high)
            self._remove(claim)
            self._advanced += kept
            return kept, claim

    def advanced_below(self, low: int) -> int:
        """How many objects below ``low`` a sequential list took (what a count from ``low`` up misses)."""
        with self._lock:
            return self._advanced if low > 0 else 0

    def take_bottom(self, low: int, high: int) -> IdRange | None:
        """Claim the unclaimed ids in ``[low, high)`` of the range starting at ``low`` (search may have
        claimed its top meanwhile); None when that range is gone."""
        with self._lock:
            starting = next((r for r in self._free if r.low == low), None)
            if starting is None:
                return None
            claim = IdRange(low, min(high, starting.high))
            self._remove(claim)
            return claim

    def take_top(self, low: int, high: int) -> IdRange | None:
        """Claim the unclaimed ids in ``[low, high)`` of the range ending at ``high`` (list workers may have
        claimed its bottom meanwhile); None when that range is gone."""
        with self._lock:
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
