"""Changes to the portal's data, as a portal's users and HubSpot itself make them: property edits, creations,
archival and association edits. Each lands in the overlay at once and reaches search through the indexing
queue. Callers hold the portal's lock and pass ordinals."""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from .associations import Associations
from .indexing import IndexingQueue
from .search_index import ORD_MASK
from .store import TypeStore


class Changes:
    def __init__(
        self, stores: Mapping[str, TypeStore], associations: Associations, indexing: IndexingQueue
    ) -> None:
        self.stores = stores
        self.associations = associations
        self.indexing = indexing

    def _computed(self, s: TypeStore) -> set[str]:
        """Properties HubSpot computes; writes to them are ignored."""
        return {s.t.mod_prop, "hs_object_id", s.t.create_prop}

    def update(self, t: str, o: int, properties: Mapping[str, str | None], timestamp_ms: int) -> None:
        """Set properties; the modified date becomes `timestamp_ms` (never before the creation)."""
        s = self.stores[t]
        if not s.exists(o):
            raise KeyError(f"{t} {s.layout.id_of(o)} does not exist")
        st = s.overlay.edit(o)
        computed = self._computed(s)
        for k, v in properties.items():
            if k not in computed:
                st.props[k] = None if v is None else str(v)
        st.modified = max(timestamp_ms, s.created_ms(o))
        self.indexing.schedule(s, o, st)

    def create(self, t: str, properties: Mapping[str, str | None], timestamp_ms: int) -> int:
        """A new record (id above every id so far); search shows it once indexed."""
        s = self.stores[t]
        if len(s) > ORD_MASK:
            raise ValueError("too many objects")
        o = s.layout.append()
        s.created_extra[o] = timestamp_ms
        st = s.overlay.edit(o)
        st.modified = timestamp_ms
        computed = self._computed(s)
        for k, v in properties.items():
            if k not in computed:
                st.props[k] = None if v is None else str(v)
        s.index.hidden.add(o)
        self.indexing.schedule(s, o, st)
        return o

    def archive(self, t: str, o: int, timestamp_ms: int) -> None:
        """Move a record to the recycle bin (list with archived=true; gone from search) [§10]."""
        s = self.stores[t]
        if not s.exists(o):
            raise KeyError(f"{t} {s.layout.id_of(o)} does not exist")
        if s.is_archived(o):
            return
        st = s.overlay.edit(o)
        st.archived_at = timestamp_ms
        bisect.insort(s.archived_ords, o)
        self.indexing.schedule(s, o, st)
