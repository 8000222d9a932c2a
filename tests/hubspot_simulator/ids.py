"""Record ids of one object type, and the ordinals the simulator keys everything else by.

An ordinal is a record's position in ascending id order (0, 1, 2, ...); ids live in one sorted array, so
ordinal -> id is an index and id -> ordinal a bisection. Records created at runtime get the next ordinal
and an id above the highest, so the array stays sorted.

Layouts [hubspot-api.md §13 "Ids are sparse", §2.2]:
- ``dense``: ids 1..N (what the simulator always did).
- ``sparse``: as on real portals — the first records (a tenth) have small ids close together, later ones
  10-11 digit ids in clusters separated by large random gaps (HubSpot's own search docs show ids 100451 and
  57156923994 in one response). Deterministic from the seed.
"""

from __future__ import annotations

import bisect
import random
from array import array

from . import generate as g

EARLY_FRACTION = 10  # 1/10 of a sparse portal's records are "early": small ids
EARLY_MAX_GAP = 60
LATER_START = 1_000_000_000  # later ids have 10 digits and more
LATER_SPAN = 60_000_000_000  # ... and reach about 6e10 (11 digits)
CLUSTER_MAX_GAP = 3_000  # records created together get ids a few apart
JUMP_ODDS = 200  # one id in this many follows a large gap


class IdLayout:
    def __init__(self, ids: array[int], sparse: bool, rng: random.Random) -> None:
        self.ids = ids
        self.sparse = sparse
        self._rng = rng  # gaps of runtime-created ids

    @classmethod
    def build(cls, layout: str, seed: int, type_name: str, count: int) -> IdLayout:
        rng = random.Random(g.h(seed, type_name, 0, 40))
        if layout == "dense":
            return cls(array("q", range(1, count + 1)), False, rng)
        if layout == "sparse":
            return cls(_sparse_ids(rng, count), True, rng)
        raise ValueError(f"id_layout must be 'dense' or 'sparse', got {layout!r}")

    def __len__(self) -> int:
        return len(self.ids)

    def id_of(self, ordinal: int) -> int:
        return self.ids[ordinal]

    def ordinal_of(self, obj_id: int) -> int | None:
        """The ordinal of an id, None when no record ever had it."""
        pos = bisect.bisect_left(self.ids, obj_id)
        return pos if pos < len(self.ids) and self.ids[pos] == obj_id else None

    def first_at_or_after(self, obj_id: int) -> int:
        """The ordinal of the first id >= obj_id (len(self) when there is none)."""
        return bisect.bisect_left(self.ids, obj_id)

    def last_at_or_before(self, obj_id: int) -> int:
        """The ordinal of the last id <= obj_id (-1 when there is none)."""
        return bisect.bisect_right(self.ids, obj_id) - 1

    def append(self) -> int:
        """A new record's ordinal; its id is above every id so far."""
        top = self.ids[-1] if self.ids else 0
        gap = self._rng.randint(1, CLUSTER_MAX_GAP) if self.sparse else 1
        self.ids.append(top + gap)
        return len(self.ids) - 1

    def vacant_id_near(self, obj_id: int) -> int:
        """`obj_id` or the next id above it that no record has (ids of records merged before history)."""
        while self.ordinal_of(obj_id) is not None:
            obj_id += 1
        return obj_id


def _sparse_ids(rng: random.Random, count: int) -> array[int]:
    ids: array[int] = array("q")
    early = min(count, max(1, count // EARLY_FRACTION))
    x = rng.randint(1, 150)
    for _ in range(early):
        ids.append(x)
        x += rng.randint(1, EARLY_MAX_GAP)
    later = count - early
    jump_mean = LATER_SPAN // max(1, later // JUMP_ODDS)
    x = max(x, LATER_START + rng.randrange(LATER_START))
    randrange = rng.randrange
    for _ in range(later):
        ids.append(x)
        if randrange(JUMP_ODDS) == 0:
            x += jump_mean // 5 + randrange(jump_mean * 8 // 5)  # 0.2x .. 1.8x the mean jump
        else:
            x += 1 + randrange(CLUSTER_MAX_GAP)
    return ids
