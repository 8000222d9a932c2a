"""The in-memory synthetic HubSpot portal.

Objects are generated lazily and deterministically from (seed, type, id); only an overlay of changes
(property edits, creations, archivals, association edits) is stored. Search uses compact sorted
arrays of (modified-ms, id) keys so a 300,000-contact portal costs a few MB.
"""

from __future__ import annotations

import bisect
import fnmatch
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from . import generate as g
from .config import SimulatorConfig
from .schema import (
    OBJECT_TYPES,
    PROPERTY_SPECS,
    ObjectType,
    PropSpec,
    association_type,
    extra_property_specs,
    property_definition,
    resolve_type,
)

ID_BITS = 21  # ids below 2,097,152 per type
ID_MASK = (1 << ID_BITS) - 1
MS_BASE = 1_000_000_000_000  # keys store modified-ms relative to 2001-09-09
FAR_FUTURE = 1 << 62


class SearchError(ValueError):
    """A search request HubSpot would reject with 400 VALIDATION_ERROR."""


def _key(mod_ms: int, obj_id: int) -> int:
    return ((mod_ms - MS_BASE) << ID_BITS) | obj_id


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _State:
    """Mutable per-object state (current or as the search index sees it)."""

    props: dict[str, str | None] = field(default_factory=dict)
    modified: int | None = None
    archived_at: int | None = None


class TypeStore:
    def __init__(self, portal: Portal, otype: ObjectType, count: int) -> None:
        cfg = portal.config
        if count > ID_MASK:
            raise ValueError(f"at most {ID_MASK} {otype.name} supported")
        self.portal = portal
        self.t = otype
        self.name = otype.name
        self.generated = count
        self.next_id = count + 1
        self.created: array[int] = array("q", [0]) * (count + 1)
        self.modified: array[int] = array("q", [0]) * (count + 1)
        self.created_extra: dict[int, int] = {}  # runtime-created ids -> created ms
        anchor = portal.anchor_ms
        seed = cfg.seed
        archived: dict[int, int] = {}
        keys: list[int] = []
        arch_threshold = int(cfg.archived_fraction * 10_000)
        for i in range(1, count + 1):
            c, m = g.timestamps(seed, self.name, i, anchor)
            self.created[i] = c
            self.modified[i] = m
            if g.h(seed, self.name, i, 4) % 10_000 < arch_threshold:
                archived[i] = m + (g.h(seed, self.name, i, 5) % (30 * g.DAY_MS))
                archived[i] = min(archived[i], anchor)
            else:
                keys.append(_key(m, i))
        keys.sort()
        # current state overlay, and the (possibly lagging) view of the search index
        self.state: dict[int, _State] = {}
        self.search_state: dict[int, _State] = {}
        self.archived_ids: list[int] = sorted(archived)  # current view
        self.archived_gen = archived  # generated archival instants
        self.search_keys: array[int] = array("q", keys)
        self.search_hidden: set[int] = set(archived)  # ids not (or no longer) visible to search
        specs = list(PROPERTY_SPECS[self.name]) + portal.extra_specs
        self.specs: dict[str, PropSpec] = {s[0]: s for s in specs}
        self.extra_index = {s[0]: i for i, s in enumerate(portal.extra_specs)}
        self.mod_names = {otype.mod_prop} | ({"hs_lastmodifieddate"} if otype.name == "contacts" else set())

    # --- existence / timestamps -----------------------------------------------------------------------
    def exists(self, obj_id: int) -> bool:
        return 1 <= obj_id <= self.generated or obj_id in self.created_extra

    def is_archived(self, obj_id: int) -> bool:
        if obj_id in self.archived_gen:
            return True
        st = self.state.get(obj_id)
        return st is not None and st.archived_at is not None

    def archived_at(self, obj_id: int, search: bool = False) -> int | None:
        st = (self.search_state if search else self.state).get(obj_id)
        if st is not None and st.archived_at is not None:
            return st.archived_at
        return self.archived_gen.get(obj_id)

    def created_ms(self, obj_id: int) -> int:
        if obj_id <= self.generated:
            return self.created[obj_id]
        return self.created_extra[obj_id]

    def modified_ms(self, obj_id: int, search: bool = False) -> int:
        st = (self.search_state if search else self.state).get(obj_id)
        if st is not None and st.modified is not None:
            return st.modified
        if obj_id <= self.generated:
            return self.modified[obj_id]
        return self.created_extra[obj_id]

    # --- properties ---------------------------------------------------------------------------------
    def base_props(self, obj_id: int) -> dict[str, str | None]:
        if obj_id > self.generated:
            c = self.created_extra[obj_id]
            return {self.t.create_prop: g.fmt_dt(c), "hs_object_id": str(obj_id)}
        return self.portal.cached_base(self.name, obj_id)

    def value(self, obj_id: int, name: str, search: bool = False) -> str | None:
        st = (self.search_state if search else self.state).get(obj_id)
        if st is not None and name in st.props:
            return st.props[name]
        if name == self.t.mod_prop or (name == "hs_lastmodifieddate" and self.name == "contacts"):
            return g.fmt_dt(self.modified_ms(obj_id, search))
        idx = self.extra_index.get(name)
        if idx is not None:
            if obj_id > self.generated:
                return None
            return g.extra_value(self.portal.config.seed, self.name, obj_id, idx, self.specs[name][2])
        return self.base_props(obj_id).get(name)

    def props(self, obj_id: int, names: list[str] | None, search: bool = False) -> dict[str, str | None]:
        specs = self.specs
        if names is None:
            names = list(specs)
        st = (self.search_state if search else self.state).get(obj_id)
        overlay = st.props if st is not None else None
        base = self.base_props(obj_id)
        mod_names = self.mod_names
        extra_index = self.extra_index
        mod_str: str | None = None
        out: dict[str, str | None] = {}
        for n in names:
            if n not in specs:
                continue
            if overlay is not None and n in overlay:
                out[n] = overlay[n]
            elif n in mod_names:
                if mod_str is None:
                    mod_str = g.fmt_dt(self.modified_ms(obj_id, search))
                out[n] = mod_str
            elif n in extra_index:
                out[n] = self.value(obj_id, n, search)
            else:
                out[n] = base.get(n)
        return out


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
        self._cache: OrderedDict[tuple[str, int], dict[str, str | None]] = OrderedDict()
        counts = {
            "contacts": config.contacts,
            "deals": config.deals,
            "calls": config.calls,
            "companies": config.companies,
            "tickets": config.tickets,
            "meetings": config.meetings,
        }
        self.stores: dict[str, TypeStore] = {
            n: TypeStore(self, OBJECT_TYPES[n], c) for n, c in counts.items()
        }
        self._pending: list[tuple[float, str, int, _State | None]] = []
        self._build_associations()

    # --- associations -----------------------------------------------------------------------------
    def _build_associations(self) -> None:  # noqa: PLR0912
        seed = self.config.seed
        n_contacts = self.stores["contacts"].generated
        pairs: dict[tuple[str, str], list[tuple[int, int]]] = {}

        def add(a: str, a_id: int, b: str, b_id: int) -> None:
            pairs.setdefault((a, b), []).append((a_id, b_id))
            pairs.setdefault((b, a), []).append((b_id, a_id))

        self.call_contact: dict[int, int] = {}
        if n_contacts:
            whales = min(3, n_contacts)
            for d in range(1, self.stores["deals"].generated + 1):
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
            for c in range(1, self.stores["calls"].generated + 1):
                r = g.h(seed, "calls", c, 30)
                if r % 100 < 10:
                    continue
                contact = 1 + (r >> 8) % n_contacts
                self.call_contact[c] = contact
                add("calls", c, "contacts", contact)
                if r % 100 >= 98:
                    add("calls", c, "contacts", 1 + (r >> 30) % n_contacts)
            for name in ("tickets", "meetings"):
                for i in range(1, self.stores[name].generated + 1):
                    add(name, i, "contacts", 1 + g.h(seed, name, i, 30) % n_contacts)
            for co in range(1, self.stores["companies"].generated + 1):
                r = g.h(seed, "companies", co, 30)
                for k in range(r % 6):
                    add("companies", co, "contacts", 1 + g.mix(r + k) % n_contacts)
        n_companies = self.stores["companies"].generated
        if n_companies:
            for d in range(1, self.stores["deals"].generated + 1):
                r = g.h(seed, "deals", d, 31)
                if r % 10 < 3:
                    add("deals", d, "companies", 1 + (r >> 8) % n_companies)
        self._assoc: dict[tuple[str, str], array[int]] = {}
        for key, lst in pairs.items():
            self._assoc[key] = array("q", sorted({(a << 32) | b for a, b in lst}))
        self._assoc_added: dict[tuple[str, str], dict[int, set[int]]] = {}
        self._assoc_removed: dict[tuple[str, str], dict[int, set[int]]] = {}

    def call_counterpart_contact(self, call_id: int | str) -> int | None:
        """Ground truth: the contact whose number generated call `call_id` carries on the contact's side
        (`hs_call_from_number` for INBOUND, `hs_call_to_number` otherwise), associated or not; None when the
        call carries no known contact's number (or was created at runtime). Later property edits are ignored.
        """
        cid = int(call_id)
        if not 1 <= cid <= self.stores["calls"].generated:
            return None
        return g.call_counterpart_contact(
            self.config.seed, cid, self.call_contact.get(cid), self.stores["contacts"].generated
        )

    def associated_ids(self, from_type: str, from_id: int, to_type: str) -> list[int]:
        """Ids of `to_type` objects associated with one object, ascending (archived targets excluded)."""
        with self.lock:
            arr = self._assoc.get((from_type, to_type))
            out: set[int] = set()
            if arr is not None:
                lo = bisect.bisect_left(arr, from_id << 32)
                hi = bisect.bisect_left(arr, (from_id + 1) << 32)
                out.update(k & 0xFFFFFFFF for k in arr[lo:hi])
            out |= self._assoc_added.get((from_type, to_type), {}).get(from_id, set())
            out -= self._assoc_removed.get((from_type, to_type), {}).get(from_id, set())
            store = self.stores[to_type]
            return sorted(i for i in out if not store.is_archived(i))

    def add_association(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str) -> None:
        self._edit_association(from_type, int(from_id), to_type, int(to_id), add=True)

    def remove_association(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str) -> None:
        self._edit_association(from_type, int(from_id), to_type, int(to_id), add=False)

    def _edit_association(self, from_type: str, from_id: int, to_type: str, to_id: int, add: bool) -> None:
        a, b = self._type(from_type), self._type(to_type)
        with self.lock:
            for x, x_id, y, y_id in ((a, from_id, b, to_id), (b, to_id, a, from_id)):
                if not self.stores[x].exists(x_id):
                    raise KeyError(f"{x} {x_id} does not exist")
                ins = self._assoc_added if add else self._assoc_removed
                rem = self._assoc_removed if add else self._assoc_added
                ins.setdefault((x, y), {}).setdefault(x_id, set()).add(y_id)
                rem.get((x, y), {}).get(x_id, set()).discard(y_id)

    # --- helpers ------------------------------------------------------------------------------------
    def _type(self, name: str) -> str:
        t = resolve_type(name)
        if t is None:
            raise KeyError(f"unknown object type {name!r}")
        return t

    def store(self, name: str) -> TypeStore:
        return self.stores[self._type(name)]

    def cached_base(self, type_name: str, obj_id: int) -> dict[str, str | None]:
        key = (type_name, obj_id)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        store = self.stores[type_name]
        c, m = store.created[obj_id], store.modified[obj_id]
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
        self._cache[key] = props
        if len(self._cache) > 4096:
            self._cache.popitem(last=False)
        return props

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
        t = self._type(type_name)
        oid = int(obj_id)
        with self.lock:
            s = self.stores[t]
            if not s.exists(oid):
                return None
            obj = self.render(t, oid, properties)
            if associations:
                assoc: dict[str, list[str]] = {}
                for a, b in self._assoc_pairs():
                    if a == t:
                        ids = self.associated_ids(a, oid, b)
                        if ids:
                            assoc[b] = [str(i) for i in ids]
                obj["associations"] = assoc
            return obj

    def _assoc_pairs(self) -> set[tuple[str, str]]:
        pairs = set(self._assoc)
        pairs.update(self._assoc_added)
        return pairs

    def iter_ids(self, type_name: str, archived: bool = False, after: int = 0) -> Iterator[int]:
        """Ids in ascending order, starting at `after` (inclusive)."""
        s = self.store(type_name)
        if archived:
            start = bisect.bisect_left(s.archived_ids, after)
            for i in list(s.archived_ids[start:]):
                yield i
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
        t = self._type(type_name)
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
            it = self.iter_ids(type_name, archived, after)
            for i in it:
                if len(ids) == limit:
                    return ids, ids[-1] + 1
                ids.append(i)
            return ids, None

    def property_definitions(self, type_name: str) -> list[dict[str, Any]]:
        s = self.store(type_name)
        return [property_definition(spec, i) for i, spec in enumerate(s.specs.values())]

    # --- writing ------------------------------------------------------------------------------------
    def _state(self, s: TypeStore, obj_id: int) -> _State:
        st = s.state.get(obj_id)
        if st is None:
            st = _State()
            s.state[obj_id] = st
        return st

    def update_object(
        self,
        type_name: str,
        obj_id: int | str,
        properties: dict[str, str | None],
        timestamp_ms: int | None = None,
    ) -> dict[str, Any]:
        """Set properties; the modified date becomes `timestamp_ms` (default: now)."""
        t = self._type(type_name)
        oid = int(obj_id)
        with self.lock:
            s = self.stores[t]
            if not s.exists(oid):
                raise KeyError(f"{t} {oid} does not exist")
            ts = now_ms() if timestamp_ms is None else int(timestamp_ms)
            ts = max(ts, s.created_ms(oid))
            st = self._state(s, oid)
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
        t = self._type(type_name)
        with self.lock:
            s = self.stores[t]
            oid = s.next_id
            if oid > ID_MASK:
                raise ValueError("too many objects")
            s.next_id += 1
            ts = now_ms() if timestamp_ms is None else int(timestamp_ms)
            s.created_extra[oid] = ts
            st = self._state(s, oid)
            st.modified = ts
            for k, v in (properties or {}).items():
                if k not in (s.t.mod_prop, "hs_object_id", s.t.create_prop):
                    st.props[k] = None if v is None else str(v)
            s.search_hidden.add(oid)
            self._schedule(t, oid, st)
            return self.render(t, oid, None)

    def archive_object(self, type_name: str, obj_id: int | str, timestamp_ms: int | None = None) -> None:
        t = self._type(type_name)
        oid = int(obj_id)
        with self.lock:
            s = self.stores[t]
            if not s.exists(oid):
                raise KeyError(f"{t} {oid} does not exist")
            if s.is_archived(oid):
                return
            st = self._state(s, oid)
            st.archived_at = now_ms() if timestamp_ms is None else int(timestamp_ms)
            bisect.insort(s.archived_ids, oid)
            self._schedule(t, oid, st)

    def _schedule(self, type_name: str, obj_id: int, st: _State) -> None:
        snapshot = _State(dict(st.props), st.modified, st.archived_at)
        due = time.monotonic() + self.config.indexing_delay_ms / 1000.0
        self._pending.append((due, type_name, obj_id, snapshot))
        if self.config.indexing_delay_ms <= 0:
            self.apply_pending()

    def apply_pending(self) -> None:
        """Make writes whose indexing delay has passed visible to search."""
        with self.lock:
            now = time.monotonic()
            keep = []
            for item in self._pending:
                due, t, oid, snap = item
                if due > now:
                    keep.append(item)
                    continue
                s = self.stores[t]
                visible = oid not in s.search_hidden
                if visible:
                    old = _key(s.modified_ms(oid, search=True), oid)
                    pos = bisect.bisect_left(s.search_keys, old)
                    if pos < len(s.search_keys) and s.search_keys[pos] == old:
                        del s.search_keys[pos]
                assert snap is not None
                s.search_state[oid] = snap
                if snap.archived_at is not None:
                    s.search_hidden.add(oid)
                else:
                    s.search_hidden.discard(oid)
                    new = _key(s.modified_ms(oid, search=True), oid)
                    bisect.insort(s.search_keys, new)
            self._pending = keep

    # --- search -------------------------------------------------------------------------------------
    def search(
        self,
        type_name: str,
        filter_groups: list[list[dict[str, Any]]],
        sort: tuple[str, bool] | None,
        query: str | None,
    ) -> Sequence[int]:
        """Matching ids in result order. sort = (propertyName, descending)."""
        t = self._type(type_name)
        with self.lock:
            self.apply_pending()
            s = self.stores[t]
            for group in filter_groups:
                for f in group:
                    _validate_filter(s, f)
            if len(filter_groups) == 1 and not query and sort is not None and sort[0] == s.t.mod_prop:
                fast = self._key_range(s, filter_groups[0])
                if fast is not None:  # the common incremental query: a modified-date window, sorted on it
                    return _KeySlice(s.search_keys, fast[0], fast[1], sort[1])
            if not filter_groups:
                matched = self._scan_all(s)
            else:
                found: set[int] = set()
                ordered: list[int] | None = None
                for group in filter_groups:
                    ids = self._match_group(s, group)
                    if len(filter_groups) == 1:
                        ordered = ids
                    found.update(ids)
                matched = ordered if ordered is not None else sorted(found)
            if query:
                q = query.lower()
                text_props = [p for p, spec in s.specs.items() if spec[2] == "string"][:8]
                matched = [
                    i for i in matched if any(q in (s.value(i, p, True) or "").lower() for p in text_props)
                ]
            return self._sort(s, matched, sort)

    def _key_range(self, s: TypeStore, group: list[dict[str, Any]]) -> tuple[int, int] | None:
        """(start, stop) positions in search_keys when the group only bounds the modified date."""
        lo, hi = -FAR_FUTURE, FAR_FUTURE
        if s.name == "contacts" and any(f.get("propertyName") == "hs_lastmodifieddate" for f in group):
            return 0, 0
        for f in group:
            if f.get("propertyName") != s.t.mod_prop:
                return None
            bounds = _numeric_bounds(f, str(f.get("operator", "")).upper(), True)
            if bounds is None:
                return None
            lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
        if lo > hi:
            return 0, 0
        keys = s.search_keys
        a = bisect.bisect_left(keys, _key(max(lo, MS_BASE), 0)) if lo != -FAR_FUTURE else 0
        b = (
            bisect.bisect_right(keys, _key(min(hi, MS_BASE + (1 << 41)), ID_MASK))
            if hi != FAR_FUTURE
            else len(keys)
        )
        return a, max(a, b)

    def _scan_all(self, s: TypeStore) -> list[int]:
        return sorted(k & ID_MASK for k in s.search_keys)

    def _match_group(self, s: TypeStore, group: list[dict[str, Any]]) -> list[int]:
        mod_prop = s.t.mod_prop
        if s.name == "contacts" and any(f.get("propertyName") == "hs_lastmodifieddate" for f in group):
            return []  # HubSpot quirk: contacts filtered on hs_lastmodifieddate silently match nothing
        lo, hi = -FAR_FUTURE, FAR_FUTURE
        id_lo, id_hi = 0, ID_MASK
        rest: list[dict[str, Any]] = []
        for f in group:
            name, op = f.get("propertyName"), str(f.get("operator", "")).upper()
            bounds = _numeric_bounds(f, op, name == mod_prop)
            if name == mod_prop and bounds is not None:
                lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
            elif name == "hs_object_id" and bounds is not None:
                id_lo, id_hi = max(id_lo, int(bounds[0])), min(id_hi, int(bounds[1]))
            else:
                rest.append(f)
        if lo > hi or id_lo > id_hi:
            return []
        keys = s.search_keys
        if lo != -FAR_FUTURE or hi != FAR_FUTURE or (id_lo == 0 and id_hi == ID_MASK):
            a = bisect.bisect_left(keys, _key(max(lo, MS_BASE), 0)) if lo != -FAR_FUTURE else 0
            b = (
                bisect.bisect_right(keys, _key(min(hi, MS_BASE + (1 << 41)), ID_MASK))
                if hi != FAR_FUTURE
                else len(keys)
            )
            ids = [k & ID_MASK for k in keys[a:b]]  # ordered by (modified, id)
        else:
            ids = [
                i
                for i in range(max(id_lo, 1), min(id_hi, s.next_id - 1) + 1)
                if s.exists(i) and i not in s.search_hidden
            ]
        if id_lo > 0 or id_hi < ID_MASK:
            ids = [i for i in ids if id_lo <= i <= id_hi]
        if rest:
            ids = [i for i in ids if all(_match(s, i, f) for f in rest)]
        return ids

    def _sort(self, s: TypeStore, ids: list[int], sort: tuple[str, bool] | None) -> list[int]:
        if sort is None:
            return sorted(ids)
        name, desc = sort
        if name == s.t.mod_prop:
            keys = sorted(ids, key=lambda i: (s.modified_ms(i, True), i))
        elif name in ("hs_object_id", ""):
            keys = sorted(ids)
        elif name == s.t.create_prop:
            keys = sorted(ids, key=lambda i: (s.created_ms(i), i))
        else:
            typ = s.specs[name][2] if name in s.specs else "string"

            def sk(i: int) -> tuple[int, Any, int]:
                v = _typed(typ, s.value(i, name, True))
                return (1, "", i) if v is None else (0, v, i)

            keys = sorted(ids, key=sk)
        if desc:
            keys.reverse()
        return keys


class _KeySlice(Sequence[int]):
    """Ids of search_keys[start:stop] (ordered by modified date, then id) without materialising them."""

    def __init__(self, keys: array[int], start: int, stop: int, desc: bool) -> None:
        self.keys, self.start, self.stop, self.desc = keys, start, stop, desc

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
        return self.keys[pos] & ID_MASK


def _typed(typ: str, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if typ == "number":
        try:
            return float(value)
        except ValueError:
            return None
    if typ in ("datetime", "date"):
        return g.parse_dt(value)
    return value.lower() if typ == "string" else value


def _numeric_bounds(f: dict[str, Any], op: str, is_date: bool) -> tuple[int, int] | None:
    conv = g.parse_dt if is_date else _to_int
    try:
        v = conv(str(f.get("value", ""))) if op != "IN" else None
    except ValueError:
        return None
    if op == "BETWEEN":
        hv = conv(str(f.get("highValue", "")))
        if v is None or hv is None:
            return None
        return v, hv
    if v is None:
        return None
    return {
        "EQ": (v, v),
        "GT": (v + 1, FAR_FUTURE),
        "GTE": (v, FAR_FUTURE),
        "LT": (-FAR_FUTURE, v - 1),
        "LTE": (-FAR_FUTURE, v),
    }.get(op)


def _to_int(value: str) -> int | None:
    try:
        return int(float(value))
    except ValueError:
        return None


OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}


def _validate_filter(s: TypeStore, f: Any) -> None:
    if not isinstance(f, dict) or "propertyName" not in f or "operator" not in f:
        raise SearchError("Each filter needs propertyName and operator.")
    op = str(f["operator"]).upper()
    if op not in OPERATORS:
        raise SearchError(f"Unknown operator {f['operator']!r}.")
    name = f["propertyName"]
    if name not in s.specs and not str(name).startswith("associations."):
        raise SearchError(f"There was a problem with the request. Property {name!r} does not exist.")
    if op in ("IN", "NOT_IN") and not isinstance(f.get("values"), list):
        raise SearchError(f"Operator {op} requires 'values'.")
    if op == "BETWEEN" and ("value" not in f or "highValue" not in f):
        raise SearchError("Operator BETWEEN requires 'value' and 'highValue'.")
    if op not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN") and "value" not in f:
        raise SearchError(f"Operator {op} requires 'value'.")


def _match(s: TypeStore, obj_id: int, f: dict[str, Any]) -> bool:  # noqa: PLR0911, PLR0912
    name = str(f["propertyName"])
    op = str(f["operator"]).upper()
    if name.startswith("associations."):
        other = resolve_type(name.split(".", 1)[1])
        if other is None:
            return False
        ids = s.portal.associated_ids(s.name, obj_id, other)
        return op == "EQ" and _to_int(str(f.get("value"))) in ids
    raw = s.value(obj_id, name, True)
    has = raw is not None and raw != ""
    if op == "HAS_PROPERTY":
        return has
    if op == "NOT_HAS_PROPERTY":
        return not has
    typ = s.specs[name][2]
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(f.get("value", "")).lower()
        tokens = (raw or "").lower().replace("@", " @").split()
        hit = any(fnmatch.fnmatchcase(tok, pattern) for tok in tokens) or fnmatch.fnmatchcase(
            (raw or "").lower(), pattern
        )
        return hit if op == "CONTAINS_TOKEN" else not hit
    if typ in ("number", "datetime", "date"):
        conv = (lambda x: _typed(typ, x)) if typ == "number" else (lambda x: g.parse_dt(x) if x else None)
        val = _typed(typ, raw)
        if op in ("IN", "NOT_IN"):
            vals = {conv(str(x)) for x in f.get("values", [])}
            return (val in vals) if op == "IN" else (val not in vals)
        target = conv(str(f.get("value", "")))
        if op == "NEQ":
            return val != target
        if val is None or target is None:
            return False
        if op == "BETWEEN":
            high = conv(str(f.get("highValue", "")))
            return high is not None and target <= val <= high
        return _cmp(op, val, target)
    case_insensitive = typ == "string"
    val_s = (raw or "").lower() if case_insensitive else (raw or "")

    def norm(x: Any) -> str:
        return str(x).lower() if case_insensitive else str(x)

    if op in ("IN", "NOT_IN"):
        vals = {norm(x) for x in f.get("values", [])}
        return (has and val_s in vals) if op == "IN" else not (has and val_s in vals)
    target_s = norm(f.get("value", ""))
    if op == "EQ":
        return has and val_s == target_s
    if op == "NEQ":
        return val_s != target_s
    if not has:
        return False
    if op == "BETWEEN":
        return target_s <= val_s <= norm(f.get("highValue", ""))
    return _cmp(op, val_s, target_s)


def _cmp(op: str, a: Any, b: Any) -> bool:
    if op == "EQ":
        return bool(a == b)
    if op == "GT":
        return bool(a > b)
    if op == "GTE":
        return bool(a >= b)
    if op == "LT":
        return bool(a < b)
    if op == "LTE":
        return bool(a <= b)
    return False


def association_label(from_type: str, to_type: str) -> tuple[str, int]:
    return association_type(from_type, to_type)
