"""The search engine: which ids a filterGroups/sorts/query request matches, in result order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from .filters import AssociatedIds, matches, numeric_bounds, typed, validate_filter
from .search_index import FAR_FUTURE, ORD_MASK
from .store import TypeStore

FilterGroups = list[list[dict[str, Any]]]
Sort = tuple[str, bool]  # (propertyName, descending)


def search(
    s: TypeStore, filter_groups: FilterGroups, sort: Sort | None, query: str | None, associated: AssociatedIds
) -> Sequence[int]:
    """Matching ordinals in result order, as the search index sees them."""
    for group in filter_groups:
        for f in group:
            validate_filter(s, f)
    if len(filter_groups) == 1 and not query and sort is not None and sort[0] == s.t.mod_prop:
        fast = _modified_window(s, filter_groups[0])
        if fast is not None:  # the common incremental query: a modified-date window, sorted on it
            return _KeySlice(s, fast[0], fast[1], sort[1])
    if not filter_groups:
        matched = s.index.all_ids()
    else:
        found: set[int] = set()
        ordered: list[int] | None = None
        for group in filter_groups:
            ids = _match_group(s, group, associated)
            if len(filter_groups) == 1:
                ordered = ids
            found.update(ids)
        matched = ordered if ordered is not None else sorted(found)
    if query:
        q = query.lower()
        text_props = [p for p, spec in s.specs.items() if spec[2] == "string"][:8]
        matched = [i for i in matched if any(q in (s.value(i, p, True) or "").lower() for p in text_props)]
    return _sort(s, matched, sort)


def _contacts_hs_lastmodifieddate(s: TypeStore, group: list[dict[str, Any]]) -> bool:
    # HubSpot quirk: contacts filtered on hs_lastmodifieddate silently match nothing [hubspot-api.md §3.7]
    return s.name == "contacts" and any(f.get("propertyName") == "hs_lastmodifieddate" for f in group)


def _modified_window(s: TypeStore, group: list[dict[str, Any]]) -> tuple[int, int] | None:
    """(start, stop) positions in the index when the group only bounds the modified date."""
    lo, hi = -FAR_FUTURE, FAR_FUTURE
    if _contacts_hs_lastmodifieddate(s, group):
        return 0, 0
    for f in group:
        if f.get("propertyName") != s.t.mod_prop:
            return None
        bounds = numeric_bounds(f, str(f.get("operator", "")).upper(), True)
        if bounds is None:
            return None
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    if lo > hi:
        return 0, 0
    return s.index.modified_range(lo, hi)


def _match_group(s: TypeStore, group: list[dict[str, Any]], associated: AssociatedIds) -> list[int]:
    if _contacts_hs_lastmodifieddate(s, group):
        return []
    mod_prop = s.t.mod_prop
    lo, hi = -FAR_FUTURE, FAR_FUTURE
    id_lo, id_hi = -FAR_FUTURE, FAR_FUTURE
    rest: list[dict[str, Any]] = []
    for f in group:
        name, op = f.get("propertyName"), str(f.get("operator", "")).upper()
        bounds = numeric_bounds(f, op, name == mod_prop)
        if name == mod_prop and bounds is not None:
            lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        elif name == "hs_object_id" and bounds is not None:
            id_lo, id_hi = max(id_lo, int(bounds[0])), min(id_hi, int(bounds[1]))
        else:
            rest.append(f)
    if lo > hi or id_lo > id_hi:
        return []
    # an id range is a range of ordinals: ids ascend with them
    by_id = id_lo != -FAR_FUTURE or id_hi != FAR_FUTURE
    o_lo = s.layout.first_at_or_after(id_lo) if id_lo != -FAR_FUTURE else 0
    o_hi = s.layout.last_at_or_before(id_hi) if id_hi != FAR_FUTURE else len(s) - 1
    if lo != -FAR_FUTURE or hi != FAR_FUTURE or not by_id:
        ords = s.index.ids(*s.index.modified_range(lo, hi))  # ordered by (modified, id)
        if by_id:
            ords = [o for o in ords if o_lo <= o <= o_hi]
    else:
        ords = [o for o in range(o_lo, o_hi + 1) if s.known(o) and o not in s.index.hidden]
    if rest:
        ords = [o for o in ords if all(matches(s, o, f, associated) for f in rest)]
    return ords


def _sort(s: TypeStore, ids: list[int], sort: Sort | None) -> list[int]:
    if sort is None:
        return sorted(ids)
    name, desc = sort
    if name == s.t.mod_prop:
        keys = sorted(ids, key=lambda i: (s.modified_ms(i, True), i))
    elif name in ("hs_object_id", ""):
        keys = sorted(ids)  # ordinals ascend with ids
    elif name == s.t.create_prop:
        keys = sorted(ids, key=lambda i: (s.created_ms(i), i))
    else:
        typ = s.specs[name][2] if name in s.specs else "string"

        def sort_key(i: int) -> tuple[int, Any, int]:
            v = typed(typ, s.value(i, name, True))
            return (1, "", i) if v is None else (0, v, i)

        keys = sorted(ids, key=sort_key)
    if desc:
        keys.reverse()
    return keys


class _KeySlice(Sequence[int]):
    """Ordinals of index keys [start:stop] (ordered by modified date, then id) without materialising them."""

    def __init__(self, s: TypeStore, start: int, stop: int, desc: bool) -> None:
        self.keys, self.start, self.stop, self.desc = s.index.keys, start, stop, desc

    def __len__(self) -> int:
        return self.stop - self.start

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        n = len(self)
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(n))]
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        pos = self.stop - 1 - index if self.desc else self.start + index
        return self.keys[pos] & ORD_MASK
