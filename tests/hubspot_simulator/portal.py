"""The in-memory synthetic HubSpot portal: the object stores, their associations and the search index,
behind one lock. Objects are generated lazily and deterministically from (seed, type, id); only changes
are stored."""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from . import generate as g
from .associations import Associations
from .config import SimulatorConfig
from .filters import SearchError
from .overlay import ObjectState
from .schema import OBJECT_TYPES, extra_property_specs, property_definition, resolve_type
from .search import FilterGroups, Sort, search
from .search_index import ID_MASK
from .store import RecordCache, TypeStore

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
                c,
                config=config,
                anchor_ms=self.anchor_ms,
                extra_specs=self.extra_specs,
                cache=cache,
                generator=self._generate,
            )
            for n, c in counts.items()
        }
        self.associations = Associations(config.seed, self.stores)
        # writes waiting to become visible to search: (due monotonic s, sequence, type, id, snapshot)
        self._pending: list[tuple[float, int, str, int, ObjectState]] = []
        self._sequence = itertools.count()

    # --- generation ---------------------------------------------------------------------------------
    def _generate(self, type_name: str, obj_id: int, c: int, m: int) -> dict[str, str | None]:
        seed = self.config.seed
        props: dict[str, str | None]
        if type_name == "contacts":
            props = g.gen_contact(seed, obj_id, c, m)
            props["num_associated_deals"] = str(len(self.associated_ids("contacts", obj_id, "deals")))
        elif type_name == "deals":
            props = g.gen_deal(seed, obj_id, c, m)
            props["num_associated_contacts"] = str(len(self.associated_ids("deals", obj_id, "contacts")))
        elif type_name == "calls":
            contact = self.call_counterpart_contact(obj_id)
            digits = g.phone_digits(seed, contact) if contact else None
            props = g.gen_call(seed, obj_id, c, m, digits)
        elif type_name == "companies":
            props = g.gen_company(seed, obj_id, c, m)
        elif type_name == "tickets":
            props = g.gen_ticket(seed, obj_id, c, m)
        else:
            props = g.gen_meeting(seed, obj_id, c, m)
        return props

    def call_counterpart_contact(self, call_id: int | str) -> int | None:
        """Ground truth: the contact whose number generated call `call_id` carries on the contact's side
        (`hs_call_from_number` for INBOUND, `hs_call_to_number` otherwise), associated or not; None when the
        call carries no known contact's number (or was created at runtime). Later property edits are ignored.
        """
        cid = int(call_id)
        if not 1 <= cid <= self.stores["calls"].generated:
            return None
        return g.call_counterpart_contact(
            self.config.seed,
            cid,
            self.associations.call_contact.get(cid),
            self.stores["contacts"].generated,
        )

    # --- associations -----------------------------------------------------------------------------
    def associated_ids(self, from_type: str, from_id: int, to_type: str) -> list[int]:
        """Ids of `to_type` objects associated with one object, ascending (archived targets excluded)."""
        with self.lock:
            return self.associations.ids(from_type, from_id, to_type)

    def add_association(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str) -> None:
        with self.lock:
            a, b = self.type_name(from_type), self.type_name(to_type)
            self.associations.edit(a, int(from_id), b, int(to_id), add=True)

    def remove_association(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str) -> None:
        with self.lock:
            a, b = self.type_name(from_type), self.type_name(to_type)
            self.associations.edit(a, int(from_id), b, int(to_id), add=False)

    # --- helpers ------------------------------------------------------------------------------------
    def type_name(self, name: str) -> str:
        t = resolve_type(name)
        if t is None:
            raise KeyError(f"unknown object type {name!r}")
        return t

    def store(self, name: str) -> TypeStore:
        return self.stores[self.type_name(name)]

    def cached_base(self, type_name: str, obj_id: int) -> dict[str, str | None]:
        return self.stores[type_name].base_props(obj_id)

    # --- reading ------------------------------------------------------------------------------------
    def counts(self, archived: bool = False) -> dict[str, int]:
        with self.lock:
            out = {}
            for name, s in self.stores.items():
                total = s.generated + len(s.created_extra)
                n_arch = len(s.archived_ids)
                out[name] = n_arch if archived else total - n_arch
            return out

    def render(
        self, type_name: str, obj_id: int, properties: list[str] | None, search: bool = False
    ) -> dict[str, Any]:
        """HubSpot-shaped object (no associations). properties=None -> all properties."""
        s = self.stores[type_name]
        names = properties
        if names is not None and self.config.always_include_system_properties:
            extra = [p for p in ("hs_object_id", s.t.create_prop, s.t.mod_prop) if p not in names]
            names = list(names) + extra
        out: dict[str, Any] = {
            "id": str(obj_id),
            "properties": s.props(obj_id, names, search),
            "createdAt": g.fmt_dt(s.created_ms(obj_id)),
            "updatedAt": g.fmt_dt(s.modified_ms(obj_id, search)),
            "archived": False,
        }
        if s.is_archived(obj_id):
            arch = s.archived_at(obj_id)
            out["archived"] = True
            out["archivedAt"] = g.fmt_dt(arch if arch is not None else s.modified_ms(obj_id))
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
        oid = int(obj_id)
        with self.lock:
            s = self.stores[t]
            if not s.exists(oid):
                return None
            obj = self.render(t, oid, properties)
            if associations:
                assoc: dict[str, list[str]] = {}
                for a, b in self.associations.pairs():
                    if a == t:
                        ids = self.associations.ids(a, oid, b)
                        if ids:
                            assoc[b] = [str(i) for i in ids]
                obj["associations"] = assoc
            return obj

    def iter_ids(self, type_name: str, archived: bool = False, after: int = 0) -> Iterator[int]:
        """Ids in ascending order, starting at `after` (inclusive)."""
        s = self.store(type_name)
        if archived:
            start = bisect.bisect_left(s.archived_ids, after)
            yield from list(s.archived_ids[start:])
            return
        arch = s.archived_ids
        i = max(after, 1)
        while i <= s.generated:
            if not (arch and s.is_archived(i)):
                yield i
            i += 1
        for i in sorted(s.created_extra):
            if i >= after and not s.is_archived(i):
                yield i

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
        """One page of ids for the list endpoint and the next `after` (None on the last page)."""
        with self.lock:
            ids: list[int] = []
            for i in self.iter_ids(type_name, archived, after):
                if len(ids) == limit:
                    return ids, ids[-1] + 1
                ids.append(i)
            return ids, None

    def property_definitions(self, type_name: str) -> list[dict[str, Any]]:
        s = self.store(type_name)
        return [property_definition(spec, i) for i, spec in enumerate(s.specs.values())]

    # --- writing ------------------------------------------------------------------------------------
    def update_object(
        self,
        type_name: str,
        obj_id: int | str,
        properties: dict[str, str | None],
        timestamp_ms: int | None = None,
    ) -> dict[str, Any]:
        """Set properties; the modified date becomes `timestamp_ms` (default: now)."""
        t = self.type_name(type_name)
        oid = int(obj_id)
        with self.lock:
            s = self.stores[t]
            if not s.exists(oid):
                raise KeyError(f"{t} {oid} does not exist")
            ts = now_ms() if timestamp_ms is None else int(timestamp_ms)
            ts = max(ts, s.created_ms(oid))
            st = s.overlay.edit(oid)
            for k, v in properties.items():
                if k in (s.t.mod_prop, "hs_object_id", s.t.create_prop):
                    continue
                st.props[k] = None if v is None else str(v)
            st.modified = ts
            self._schedule(t, oid, st)
            return self.render(t, oid, None)

    def create_object(
        self, type_name: str, properties: dict[str, str | None] | None = None, timestamp_ms: int | None = None
    ) -> dict[str, Any]:
        t = self.type_name(type_name)
        with self.lock:
            s = self.stores[t]
            oid = s.next_id
            if oid > ID_MASK:
                raise ValueError("too many objects")
            s.next_id += 1
            ts = now_ms() if timestamp_ms is None else int(timestamp_ms)
            s.created_extra[oid] = ts
            st = s.overlay.edit(oid)
            st.modified = ts
            for k, v in (properties or {}).items():
                if k not in (s.t.mod_prop, "hs_object_id", s.t.create_prop):
                    st.props[k] = None if v is None else str(v)
            s.index.hidden.add(oid)
            self._schedule(t, oid, st)
            return self.render(t, oid, None)

    def archive_object(self, type_name: str, obj_id: int | str, timestamp_ms: int | None = None) -> None:
        t = self.type_name(type_name)
        oid = int(obj_id)
        with self.lock:
            s = self.stores[t]
            if not s.exists(oid):
                raise KeyError(f"{t} {oid} does not exist")
            if s.is_archived(oid):
                return
            st = s.overlay.edit(oid)
            st.archived_at = now_ms() if timestamp_ms is None else int(timestamp_ms)
            bisect.insort(s.archived_ids, oid)
            self._schedule(t, oid, st)

    # --- search -------------------------------------------------------------------------------------
    def _schedule(self, type_name: str, obj_id: int, st: ObjectState) -> None:
        due = time.monotonic() + self.config.indexing_delay_ms / 1000.0
        heapq.heappush(self._pending, (due, next(self._sequence), type_name, obj_id, st.snapshot()))
        if self.config.indexing_delay_ms <= 0:
            self.apply_pending()

    def apply_pending(self) -> None:
        """Make writes whose indexing delay has passed visible to search."""
        with self.lock:
            now = time.monotonic()
            while self._pending and self._pending[0][0] <= now:
                _, _, t, oid, snapshot = heapq.heappop(self._pending)
                self.stores[t].index_snapshot(oid, snapshot)

    def search(
        self, type_name: str, filter_groups: FilterGroups, sort: Sort | None, query: str | None
    ) -> Sequence[int]:
        """Matching ids in result order. sort = (propertyName, descending)."""
        t = self.type_name(type_name)
        with self.lock:
            self.apply_pending()
            return search(self.stores[t], filter_groups, sort, query, self.associations.ids)
