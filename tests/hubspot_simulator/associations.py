"""Associations between objects: generated pairs in compact sorted arrays plus an overlay of edits.

Keyed by ordinal (ids.py). The generated graph depends on positions, not ids, so a dense and a sparse portal
with the same seed have the same shape."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Mapping

from . import generate as g
from .store import TypeStore

Pair = tuple[str, str]


def _generated_pairs(  # noqa: PLR0912
    seed: int, counts: Mapping[str, int]
) -> tuple[dict[Pair, list[tuple[int, int]]], dict[int, int]]:
    """Deterministic associations of the generated objects (both directions), and call -> its main contact,
    by 1-based position."""
    n_contacts = counts["contacts"]
    pairs: dict[Pair, list[tuple[int, int]]] = {}
    call_contact: dict[int, int] = {}

    def add(a: str, a_id: int, b: str, b_id: int) -> None:
        pairs.setdefault((a, b), []).append((a_id, b_id))
        pairs.setdefault((b, a), []).append((b_id, a_id))

    if n_contacts:
        whales = min(3, n_contacts)
        for d in range(1, counts["deals"] + 1):
            r = g.h(seed, "deals", d, 30)
            if r % 100 < 3:
                continue
            if r % 100 < 13:
                add("deals", d, "contacts", 1)  # a whale: contact 1 has ~10% of all deals
            elif r % 100 < 18:
                add("deals", d, "contacts", 1 + (r >> 8) % whales)
            else:
                add("deals", d, "contacts", 1 + (r >> 8) % n_contacts)
            if (r >> 40) % 10 == 0:
                add("deals", d, "contacts", 1 + (r >> 20) % n_contacts)
        for c in range(1, counts["calls"] + 1):
            r = g.h(seed, "calls", c, 30)
            if r % 100 < 10:
                continue
            contact = 1 + (r >> 8) % n_contacts
            call_contact[c] = contact
            add("calls", c, "contacts", contact)
            if r % 100 >= 98:
                add("calls", c, "contacts", 1 + (r >> 30) % n_contacts)
        for name in ("tickets", "meetings"):
            for i in range(1, counts[name] + 1):
                add(name, i, "contacts", 1 + g.h(seed, name, i, 30) % n_contacts)
        for co in range(1, counts["companies"] + 1):
            r = g.h(seed, "companies", co, 30)
            for k in range(r % 6):
                add("companies", co, "contacts", 1 + g.mix(r + k) % n_contacts)
    n_companies = counts["companies"]
    if n_companies:
        for d in range(1, counts["deals"] + 1):
            r = g.h(seed, "deals", d, 31)
            if r % 10 < 3:
                add("deals", d, "companies", 1 + (r >> 8) % n_companies)
    return pairs, call_contact


class Associations:
    """Who is associated with whom. Not thread-safe on its own: the portal holds its lock around calls."""

    def __init__(self, seed: int, stores: Mapping[str, TypeStore]) -> None:
        self.stores = stores
        pairs, call_contact = _generated_pairs(seed, {n: s.generated for n, s in stores.items()})
        self.call_contact = {call - 1: contact - 1 for call, contact in call_contact.items()}
        self._base: dict[Pair, array[int]] = {
            key: array("q", sorted({((a - 1) << 32) | (b - 1) for a, b in lst})) for key, lst in pairs.items()
        }
        self._added: dict[Pair, dict[int, set[int]]] = {}
        self._removed: dict[Pair, dict[int, set[int]]] = {}

    def ids(self, from_type: str, from_id: int, to_type: str) -> list[int]:
        """Ordinals of `to_type` records associated with one record, ascending. Archived targets are left out;
        merged-away and deleted ones are no records at all."""
        store = self.stores[to_type]
        found = self._current(from_type, from_id, to_type)
        return sorted(i for i in found if store.exists(i) and not store.is_archived(i))

    def generated_count(self, from_type: str, from_id: int, to_type: str) -> int:
        """How many records the generated graph associates with one record (archived targets excluded)."""
        arr = self._base.get((from_type, to_type))
        if arr is None:
            return 0
        archived = self.stores[to_type].archived_gen
        lo = bisect.bisect_left(arr, from_id << 32)
        hi = bisect.bisect_left(arr, (from_id + 1) << 32)
        return sum(1 for k in arr[lo:hi] if (k & 0xFFFFFFFF) not in archived)

    def edit(self, a: str, a_id: int, b: str, b_id: int, *, add: bool) -> None:
        """Add or remove the association in both directions. Neither record's modified date moves:
        association edits are reported not to change `lastmodifieddate` / `hs_lastmodifieddate`
        [hubspot-api.md §13 "Association edits do not move modified dates"; airbyte#27199, #44554]."""
        for x, x_id in ((a, a_id), (b, b_id)):
            if not self.stores[x].exists(x_id):
                raise KeyError(f"{x} {x_id} does not exist")
        self._set(a, a_id, b, b_id, add=add)

    def _set(self, a: str, a_id: int, b: str, b_id: int, *, add: bool) -> None:
        for x, x_id, y, y_id in ((a, a_id, b, b_id), (b, b_id, a, a_id)):
            ins = self._added if add else self._removed
            rem = self._removed if add else self._added
            ins.setdefault((x, y), {}).setdefault(x_id, set()).add(y_id)
            rem.get((x, y), {}).get(x_id, set()).discard(y_id)

    def move(self, t: str, old: list[int], new: int) -> None:
        """Every association of the `old` records becomes one of `new` (a merge) [§13 "Merges"]."""
        for a, b in self.pairs():
            if a != t:
                continue
            for o in old:
                for target in self._current(a, o, b):
                    self._set(a, o, b, target, add=False)
                    self._set(a, new, b, target, add=True)

    def _current(self, from_type: str, from_id: int, to_type: str) -> set[int]:
        """Every associated ordinal, archived targets included."""
        arr = self._base.get((from_type, to_type))
        out: set[int] = set()
        if arr is not None:
            lo = bisect.bisect_left(arr, from_id << 32)
            hi = bisect.bisect_left(arr, (from_id + 1) << 32)
            out.update(k & 0xFFFFFFFF for k in arr[lo:hi])
        out |= self._added.get((from_type, to_type), {}).get(from_id, set())
        return out - self._removed.get((from_type, to_type), {}).get(from_id, set())

    def pairs(self) -> set[Pair]:
        """Every (from, to) type pair that has or had an association."""
        return set(self._base) | set(self._added)
