"""What search can see of one object type: compact sorted (modified-ms, ordinal) keys, so a 300,000-contact
portal costs a few MB, plus the set of ordinals search does not show (archived, or created and not yet
indexed)."""

from __future__ import annotations

import bisect
from array import array

ORD_BITS = 21  # ordinals below 2,097,152 per type (ids.py)
ORD_MASK = (1 << ORD_BITS) - 1
MS_BASE = 1_000_000_000_000  # keys store modified-ms relative to 2001-09-09
FAR_FUTURE = 1 << 62


def index_key(mod_ms: int, obj_id: int) -> int:
    return ((mod_ms - MS_BASE) << ORD_BITS) | obj_id


class SearchIndex:
    def __init__(self, keys: list[int], hidden: set[int]) -> None:
        keys.sort()
        self.keys: array[int] = array("q", keys)
        self.hidden = hidden  # ids not (or no longer) visible to search

    def remove(self, mod_ms: int, obj_id: int) -> None:
        old = index_key(mod_ms, obj_id)
        pos = bisect.bisect_left(self.keys, old)
        if pos < len(self.keys) and self.keys[pos] == old:
            del self.keys[pos]

    def insert(self, mod_ms: int, obj_id: int) -> None:
        bisect.insort(self.keys, index_key(mod_ms, obj_id))

    def modified_range(self, lo: int, hi: int) -> tuple[int, int]:
        """(start, stop) positions of keys whose modified-ms lies in [lo, hi] (FAR_FUTURE bounds = open)."""
        keys = self.keys
        a = bisect.bisect_left(keys, index_key(max(lo, MS_BASE), 0)) if lo != -FAR_FUTURE else 0
        b = (
            bisect.bisect_right(keys, index_key(min(hi, MS_BASE + (1 << 41)), ORD_MASK))
            if hi != FAR_FUTURE
            else len(keys)
        )
        return a, max(a, b)

    def ids(self, start: int, stop: int) -> list[int]:
        """Ordinals of keys[start:stop], ordered by (modified, ordinal) = (modified, id)."""
        return [k & ORD_MASK for k in self.keys[start:stop]]

    def all_ids(self) -> list[int]:
        return sorted(k & ORD_MASK for k in self.keys)
