"""Changes to the portal's data, as its users and HubSpot itself make them: property edits, creations,
archival, merges and hard deletions. Each lands in the overlay at once (list, read and batch read see it) and
reaches search through the indexing queue. Callers hold the portal's lock and pass ordinals; `delay_ms`
overrides the drawn indexing delay of that one change."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass

from . import history
from .associations import Associations
from .indexing import IndexingQueue
from .overlay import HistoryEntry, ObjectState
from .search_index import ORD_MASK
from .store import TypeStore

# HubSpot merges these by creating a new record [hubspot-api.md §13 "Merges create a new record"]
MERGEABLE = ("contacts", "companies", "deals")
ROLLUPS = {"contacts": ("num_associated_deals", "deals"), "deals": ("num_associated_contacts", "contacts")}


@dataclass(frozen=True)
class When:
    """When a change happens: `at` is its (possibly back-dated) timestamp, `now` the real time, `delay_ms`
    an explicit indexing delay for it (None: drawn)."""

    at: int
    now: int
    delay_ms: int | None = None


class Changes:
    def __init__(
        self, stores: Mapping[str, TypeStore], associations: Associations, indexing: IndexingQueue
    ) -> None:
        self.stores = stores
        self.associations = associations
        self.indexing = indexing

    @staticmethod
    def _computed(s: TypeStore) -> set[str]:
        """Properties HubSpot computes; writes to them are ignored."""
        return s.mod_names | {"hs_object_id", s.t.create_prop}

    def _require(self, s: TypeStore, o: int) -> None:
        if not s.exists(o):
            raise KeyError(f"{s.name} {s.layout.id_of(o)} does not exist")

    def _index(
        self, s: TypeStore, o: int, state: ObjectState | None, when: When, at: int | None = None
    ) -> None:
        """Queue what search will see of `o`, modified at `at` (default: the change's time)."""
        modified = when.at if at is None else at
        self.indexing.schedule(s, o, state, modified_ms=modified, now_ms=when.now, delay_ms=when.delay_ms)

    def _new_record(self, s: TypeStore, created_ms: int) -> int:
        if len(s) > ORD_MASK:
            raise ValueError("too many objects")
        o = s.layout.append()  # an id above every id so far
        s.created_extra[o] = created_ms
        s.index.hidden.add(o)  # search shows it once indexed
        return o

    def _set(self, s: TypeStore, st: ObjectState, properties: Mapping[str, str | None], at: int) -> None:
        computed = self._computed(s)
        for k, v in properties.items():
            if k not in computed:
                value = None if v is None else str(v)
                st.props[k] = value
                st.record(k, value, at)

    def update(self, t: str, o: int, properties: Mapping[str, str | None], when: When) -> None:
        """Set properties; the modified date becomes `when.at` (never before the creation)."""
        s = self.stores[t]
        self._require(s, o)
        st = s.overlay.edit(o)
        st.modified = max(when.at, s.created_ms(o))
        self._set(s, st, properties, st.modified)
        self._index(s, o, st, when, st.modified)

    def create(self, t: str, properties: Mapping[str, str | None], when: When) -> int:
        s = self.stores[t]
        o = self._new_record(s, when.at)
        st = s.overlay.edit(o)
        st.modified = when.at
        self._set(s, st, properties, when.at)
        self._index(s, o, st, when)
        return o

    def archive(self, t: str, o: int, when: When) -> None:
        """Move a record to the recycle bin: listed with archived=true, gone from search [§10]."""
        s = self.stores[t]
        self._require(s, o)
        if s.is_archived(o):
            return
        st = s.overlay.edit(o)
        st.archived_at = when.at
        bisect.insort(s.archived_ords, o)
        self._index(s, o, st, when)

    def delete(self, t: str, o: int, when: When) -> None:
        """Hard-delete a record (GDPR delete; the purge of the recycle bin): no endpoint shows its id again,
        `archived=true` included, and reads of it answer 404 [hubspot-api.md §13 "Hard deletes leave no
        trace"]."""
        s = self.stores[t]
        self._require(s, o)
        if s.is_archived(o):
            s.archived_ords.remove(o)
        s.deleted.add(o)
        self._index(s, o, None, when)

    def merge(self, t: str, primary: int, secondary: int, when: When) -> int:
        """Merge two live records into a NEW record with a new id, as HubSpot does for contacts, companies and
        deals [§13 "Merges create a new record"; CL "Updated merge functionality for contacts and
        companies", CL "Deals now support merging"]:
        - both old ids leave list and search (no archived tombstone); reads by them answer with the new
          record, under its id; v4 association reads by them come back empty;
        - property values are the primary's (the secondary's fill what the primary lacks: "property values
          from both objects will still be merged onto the new object"); `hs_merged_object_ids` lists the old
          ids, `;`-joined [§10]; the create date is the older one [3p dedupe.ly, UNCERTAIN]; the modified
          date is the merge's;
        - every association of both records moves to the new one.
        """
        s = self.stores[t]
        if t not in MERGEABLE:
            raise ValueError(f"{t} cannot be merged (HubSpot merges {', '.join(MERGEABLE)})")
        if primary == secondary:
            raise ValueError("a record cannot be merged with itself")
        for o in (primary, secondary):
            self._require(s, o)
            if s.is_archived(o):
                raise ValueError(f"{t} {s.layout.id_of(o)} is archived; only live records merge")
        first, second = s.props(primary, None), s.props(secondary, None)
        n = self._new_record(s, min(s.created_ms(primary), s.created_ms(secondary)))
        computed = self._computed(s)
        props = {
            k: v if v not in (None, "") else second.get(k) for k, v in first.items() if k not in computed
        }
        old_ids = {s.layout.id_of(primary), s.layout.id_of(secondary)}
        for earlier in (first, second):
            old_ids.update(int(x) for x in (earlier.get("hs_merged_object_ids") or "").split(";") if x)
        props["hs_merged_object_ids"] = ";".join(str(i) for i in sorted(old_ids))
        if t == "contacts":
            all_ids = sorted(old_ids | {s.layout.id_of(n)})
            props["hs_all_contact_vids"] = ";".join(str(i) for i in all_ids)
        st = s.overlay.edit(n)
        st.props.update(props)
        st.modified = when.at
        for name, value in props.items():  # the history of both records, then the merged value
            past = [*history.entries(s, primary, name), *history.entries(s, secondary, name)]
            past.sort(key=lambda e: e.at)
            if value is not None and (not past or past[-1].value != value):
                past.append(HistoryEntry(value, when.at, "MERGE"))
            if past:
                st.history[name] = past
        self.associations.move(t, [primary, secondary], n)
        s.merged_into[primary] = s.merged_into[secondary] = n
        if t in ROLLUPS:  # the new record's count is computed now, with its modified date
            name, other = ROLLUPS[t]
            st.props[name] = str(len(self.associations.ids(t, n, other)))
        self._index(s, n, st, when)
        for o in (primary, secondary):
            self._index(s, o, None, when)
        return n

    def purge_archived(self, t: str, archived_before: int, when: When) -> list[int]:
        """Hard-delete every record archived before `archived_before` (the recycle bin keeps records 90 days
        [doc S-CUSTOM]); returns their ordinals."""
        s = self.stores[t]
        gone = [o for o in list(s.archived_ords) if (s.archived_at(o) or 0) < archived_before]
        for o in gone:
            self.delete(t, o, when)
        return gone
