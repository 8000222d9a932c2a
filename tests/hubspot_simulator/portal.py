"""The in-memory synthetic HubSpot portal: the object stores, their associations and the search index,
behind one lock. Objects are generated lazily and deterministically from (seed, type, id); only changes
are stored. Public methods speak HubSpot ids; inside, everything is keyed by ordinal (ids.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from . import generate as g
from . import history, truth
from .associations import Associations
from .changes import Changes, When
from .config import SimulatorConfig
from .filters import SearchError
from .ids import IdLayout
from .indexing import IndexingQueue
from .records import RecordFactory
from .schema import OBJECT_TYPES, extra_property_specs, property_definition, resolve_type
from .search import FilterGroups, Sort, search
from .store import RecordCache, TypeStore
from .views import IdsOf, StoreById

__all__ = ["Portal", "SearchError", "now_ms"]


def now_ms() -> int:
    return int(time.time() * 1000)


class Portal:
    """Deterministic synthetic portal. Thread-safe: public methods take a lock."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        if config.anchor_ms is not None:
            self.anchor_ms = config.anchor_ms
        else:
            t = now_ms()
            self.anchor_ms = t - t % g.DAY_MS
        self.lock = threading.RLock()
        self.extra_specs = extra_property_specs(config.extra_properties, config.seed)
        cache = RecordCache()
        self.records = RecordFactory(config.seed)
        counts = {
            "contacts": config.contacts,
            "deals": config.deals,
            "calls": config.calls,
            "companies": config.companies,
            "tickets": config.tickets,
            "meetings": config.meetings,
        }
        self.stores: dict[str, TypeStore] = {
            n: TypeStore(
                OBJECT_TYPES[n],
                IdLayout.build(config.id_layout, config.seed, n, c),
                config=config,
                anchor_ms=self.anchor_ms,
                extra_specs=self.extra_specs,
                cache=cache,
                generator=self.records,
            )
            for n, c in counts.items()
        }
        self.associations = Associations(config.seed, self.stores)
        self.records.stores, self.records.associations = self.stores, self.associations
        self.indexing = IndexingQueue(config)
        self.changes = Changes(self.stores, self.associations, self.indexing)

    # --- generation ---------------------------------------------------------------------------------
    def call_counterpart_contact(self, call_id: int | str) -> int | None:
        """Ground truth: the id of the contact whose number generated call `call_id` carries on the contact's
        side (`hs_call_from_number` for INBOUND, `hs_call_to_number` otherwise), associated or not; None when
        the call carries no known contact's number (or was created at runtime). Later edits are ignored.
        """
        o = self.stores["calls"].layout.ordinal_of(int(call_id))
        if o is None or o >= self.stores["calls"].generated:
            return None
        contact = self.records.counterpart(o)
        return None if contact is None else self._id("contacts", contact)

    # --- ids ----------------------------------------------------------------------------------------
    def type_name(self, name: str) -> str:
        t = resolve_type(name)
        if t is None:
            raise KeyError(f"unknown object type {name!r}")
        return t

    def store(self, name: str) -> StoreById:
        """Existence, archival and dates of one type's records, by id."""
        return StoreById(self, self.type_name(name))

    def _id(self, t: str, o: int) -> int:
        return self.stores[t].layout.id_of(o)

    def _ord(self, t: str, obj_id: int | str) -> int | None:
        """The ordinal of an existing record (live or archived), None for any other id."""
        s = self.stores[t]
        o = s.layout.ordinal_of(int(obj_id))
        return o if o is not None and s.exists(o) else None

    def _existing(self, t: str, obj_id: int | str) -> int:
        o = self._ord(t, obj_id)
        if o is None:
            raise KeyError(f"{t} {obj_id} does not exist")
        return o

    def _ids_of(self, t: str, ords: list[int]) -> list[int]:
        ids = self.stores[t].layout.ids
        return [ids[o] for o in ords]

    # --- associations -----------------------------------------------------------------------------
    def associated_ids(self, from_type: str, from_id: int | str, to_type: str) -> list[int]:
        """Ids of `to_type` objects associated with one object, ascending (archived targets excluded)."""
        with self.lock:
            o = self._ord(from_type, from_id)
            if o is None:
                return []
            return self._ids_of(to_type, self.associations.ids(from_type, o, to_type))

    def add_association(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str) -> None:
        self._edit_association(from_type, from_id, to_type, to_id, add=True)

    def remove_association(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str) -> None:
        self._edit_association(from_type, from_id, to_type, to_id, add=False)

    def _edit_association(self, a: str, a_id: int | str, b: str, b_id: int | str, *, add: bool) -> None:
        a, b = self.type_name(a), self.type_name(b)
        with self.lock:
            self.associations.edit(a, self._existing(a, a_id), b, self._existing(b, b_id), add=add)

    # --- reading ------------------------------------------------------------------------------------
    def counts(self, archived: bool = False) -> dict[str, int]:
        with self.lock:
            return {n: len(s.archived_ords) if archived else s.live_count() for n, s in self.stores.items()}

    def exists(self, type_name: str, obj_id: int | str) -> bool:
        """A record (live or archived) has this id."""
        with self.lock:
            return self._ord(self.type_name(type_name), obj_id) is not None

    def resolve_id(self, type_name: str, obj_id: int | str) -> int | None:
        """The id of the record a read of `obj_id` answers with: the id itself, or the record its merge
        created [hubspot-api.md §13 "Merges"]; None when no record answers (never existed, deleted)."""
        t = self.type_name(type_name)
        with self.lock:
            s = self.stores[t]
            o = s.layout.ordinal_of(int(obj_id))
            answer = None if o is None else s.resolve(o)
            return None if answer is None else s.layout.id_of(answer)

    def is_archived(self, type_name: str, obj_id: int | str) -> bool:
        t = self.type_name(type_name)
        with self.lock:
            return self.stores[t].is_archived(self._existing(t, obj_id))

    def modified_ms(self, type_name: str, obj_id: int | str) -> int:
        t = self.type_name(type_name)
        with self.lock:
            return self.stores[t].modified_ms(self._existing(t, obj_id))

    def render(
        self, type_name: str, obj_id: int | str, properties: list[str] | None, search: bool = False
    ) -> dict[str, Any]:
        """HubSpot-shaped object (no associations). properties=None -> all properties. search=True renders
        what the search index holds, which may still be a record merged away or deleted since."""
        t = self.type_name(type_name)
        with self.lock:
            o = self._existing(t, obj_id) if not search else self.stores[t].layout.ordinal_of(int(obj_id))
            if o is None or not self.stores[t].known(o):
                raise KeyError(f"{t} {obj_id} was never indexed")
            return self._render(t, o, properties, search)

    def _render(self, t: str, o: int, properties: list[str] | None, search: bool = False) -> dict[str, Any]:
        s = self.stores[t]
        names = properties
        if names is not None and self.config.always_include_system_properties:
            extra = [p for p in ("hs_object_id", s.t.create_prop, s.t.mod_prop) if p not in names]
            names = list(names) + extra
        out: dict[str, Any] = {
            "id": str(s.layout.id_of(o)),
            "properties": s.props(o, names, search),
            "createdAt": g.fmt_dt(s.created_ms(o)),
            "updatedAt": g.fmt_dt(s.modified_ms(o, search)),
            "archived": False,
        }
        # Search never shows archived records [hubspot-api.md §10]: one it still holds (archived since, not
        # indexed yet) is shown as the index has it, live.
        if s.is_archived(o) and not search:
            arch = s.archived_at(o)
            out["archived"] = True
            out["archivedAt"] = g.fmt_dt(arch if arch is not None else s.modified_ms(o))
        return out

    def get_object(
        self,
        type_name: str,
        obj_id: int | str,
        properties: list[str] | None = None,
        associations: bool = True,
    ) -> dict[str, Any] | None:
        """Full object: all properties, archived flag and (ids of) associations to every other type."""
        t = self.type_name(type_name)
        with self.lock:
            o = self._ord(t, obj_id)
            if o is None:
                return None
            obj = self._render(t, o, properties)
            if associations:
                assoc: dict[str, list[str]] = {}
                for a, b in self.associations.pairs():
                    if a == t:
                        ids = self._ids_of(b, self.associations.ids(a, o, b))
                        if ids:
                            assoc[b] = [str(i) for i in ids]
                obj["associations"] = assoc
            return obj

    def iter_ids(self, type_name: str, archived: bool = False, after: int = 0) -> Iterator[int]:
        """Ids in ascending order, starting at `after` (inclusive)."""
        t = self.type_name(type_name)
        layout = self.stores[t].layout
        for o in self.stores[t].ords(archived, layout.first_at_or_after(after)):
            yield layout.id_of(o)

    def iter_objects(
        self, type_name: str, archived: bool = False, properties: list[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        t = self.type_name(type_name)
        for i in self.iter_ids(t, archived):
            obj = self.get_object(t, i, properties)
            if obj is not None:
                yield obj

    def list_page(
        self, type_name: str, after: int, limit: int, archived: bool
    ) -> tuple[list[int], int | None]:
        """One page of ids for the list endpoint and the next `after`: last id + 1 (None on the last page)."""
        with self.lock:
            ids: list[int] = []
            for i in self.iter_ids(type_name, archived, after):
                if len(ids) == limit:
                    return ids, ids[-1] + 1
                ids.append(i)
            return ids, None

    def find_ids(self, type_name: str, prop: str, value: str) -> list[int]:
        """Ids of live records whose `prop` equals `value` (case-insensitive), for batch read's idProperty."""
        t = self.type_name(type_name)
        with self.lock:
            s = self.stores[t]
            wanted = value.lower()
            return [
                s.layout.id_of(o)
                for o in s.ords(archived=False)
                if (s.value(o, prop) or "").lower() == wanted
            ]

    def property_definitions(self, type_name: str) -> list[dict[str, Any]]:
        s = self.stores[self.type_name(type_name)]
        return [property_definition(spec, i) for i, spec in enumerate(s.specs.values())]

    def property_history(self, type_name: str, obj_id: int | str, names: list[str]) -> dict[str, Any]:
        """`propertiesWithHistory` of one record (history.py)."""
        t = self.type_name(type_name)
        with self.lock:
            return history.as_json(self.stores[t], self._existing(t, obj_id), names)

    # --- writing ------------------------------------------------------------------------------------
    # `timestamp_ms` back-dates a change (default: now); `indexing_delay_ms` fixes how long after that
    # timestamp search shows it (default: drawn, see indexing.py).
    def _when(self, timestamp_ms: int | None, indexing_delay_ms: int | None) -> When:
        now = now_ms()
        return When(now if timestamp_ms is None else int(timestamp_ms), now, indexing_delay_ms)

    def update_object(
        self,
        type_name: str,
        obj_id: int | str,
        properties: Mapping[str, str | None],
        timestamp_ms: int | None = None,
        indexing_delay_ms: int | None = None,
    ) -> dict[str, Any]:
        """Set properties; the modified date becomes `timestamp_ms` (default: now)."""
        t = self.type_name(type_name)
        with self.lock:
            o = self._existing(t, obj_id)
            self.changes.update(t, o, properties, self._when(timestamp_ms, indexing_delay_ms))
            return self._render(t, o, None)

    def create_object(
        self,
        type_name: str,
        properties: Mapping[str, str | None] | None = None,
        timestamp_ms: int | None = None,
        indexing_delay_ms: int | None = None,
    ) -> dict[str, Any]:
        t = self.type_name(type_name)
        with self.lock:
            o = self.changes.create(t, properties or {}, self._when(timestamp_ms, indexing_delay_ms))
            return self._render(t, o, None)

    def archive_object(
        self,
        type_name: str,
        obj_id: int | str,
        timestamp_ms: int | None = None,
        indexing_delay_ms: int | None = None,
    ) -> None:
        t = self.type_name(type_name)
        with self.lock:
            o = self._existing(t, obj_id)
            self.changes.archive(t, o, self._when(timestamp_ms, indexing_delay_ms))

    def merge_objects(
        self,
        type_name: str,
        primary_id: int | str,
        merged_id: int | str,
        timestamp_ms: int | None = None,
        indexing_delay_ms: int | None = None,
    ) -> dict[str, Any]:
        """Merge two records into a new one (see Changes.merge); returns the new record."""
        t = self.type_name(type_name)
        with self.lock:
            primary, merged = self._existing(t, primary_id), self._existing(t, merged_id)
            o = self.changes.merge(t, primary, merged, self._when(timestamp_ms, indexing_delay_ms))
            return self._render(t, o, None)

    def delete_object(self, type_name: str, obj_id: int | str, indexing_delay_ms: int | None = None) -> None:
        """Hard-delete a live or archived record (GDPR delete, recycle-bin purge)."""
        t = self.type_name(type_name)
        with self.lock:
            self.changes.delete(t, self._existing(t, obj_id), self._when(None, indexing_delay_ms))

    def purge_archived(self, type_name: str, archived_before_ms: int | None = None) -> list[int]:
        """Hard-delete the records archived before `archived_before_ms` (default: all); returns their ids."""
        t = self.type_name(type_name)
        with self.lock:
            when = self._when(None, None)
            before = when.now + 1 if archived_before_ms is None else int(archived_before_ms)
            return self._ids_of(t, self.changes.purge_archived(t, before, when))

    # --- ground truth (truth.py) ----------------------------------------------------------------------
    def truth(self, type_name: str) -> dict[str, Any]:
        """Live and archived ids, merged-away id -> answering id, ids that answer nothing any more, and the
        search `total` of a query matching everything, as of now."""
        t = self.type_name(type_name)
        with self.lock:
            self.indexing.apply_due(now_ms())
            return truth.summary(self.stores[t], self.indexing.waiting())

    def merged_ids(self, type_name: str) -> dict[int, int]:
        with self.lock:
            return truth.merged_ids(self.stores[self.type_name(type_name)])

    def deleted_ids(self, type_name: str) -> list[int]:
        with self.lock:
            return truth.deleted_ids(self.stores[self.type_name(type_name)])

    def search_total(self, type_name: str) -> int:
        return int(self.truth(type_name)["search_total"])

    # --- search -------------------------------------------------------------------------------------
    def apply_pending(self) -> None:
        """Make writes whose indexing delay has passed visible to search."""
        with self.lock:
            self.indexing.apply_due(now_ms())

    def flush_indexing(self) -> None:
        """Make every pending write visible to search now, whatever its delay."""
        with self.lock:
            self.indexing.flush()

    def search(
        self, type_name: str, filter_groups: FilterGroups, sort: Sort | None, query: str | None
    ) -> Sequence[int]:
        """Matching ids in result order. sort = (propertyName, descending)."""
        t = self.type_name(type_name)
        with self.lock:
            self.indexing.apply_due(now_ms())

            def associated(from_type: str, o: int, to_type: str) -> list[int]:
                return self._ids_of(to_type, self.associations.ids(from_type, o, to_type))

            return IdsOf(self.stores[t], search(self.stores[t], filter_groups, sort, query, associated))
