"""The object store of one object type: generated objects (timestamps in compact arrays, properties generated
on demand), objects created at runtime, and the change overlay on top of both.

Everything here is keyed by ordinal (see ids.py); ids appear only where HubSpot shows them (`hs_object_id`)
and as the seed of generated values.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from . import generate as g
from .config import SimulatorConfig
from .ids import IdLayout
from .overlay import ChangeOverlay, ObjectState
from .schema import PROPERTY_SPECS, ObjectType, PropSpec
from .search_index import ORD_MASK, SearchIndex, index_key

# (type name, ordinal, created ms, modified ms) -> generated properties
Generator = Callable[[str, int, int, int], dict[str, str | None]]


class RecordCache:
    """Least-recently-used generated properties, shared by every type (generation is the costly part)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], dict[str, str | None]] = OrderedDict()

    def get(self, key: tuple[str, int], make: Callable[[], dict[str, str | None]]) -> dict[str, str | None]:
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        value = make()
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


class TypeStore:
    def __init__(
        self,
        otype: ObjectType,
        layout: IdLayout,
        *,
        config: SimulatorConfig,
        anchor_ms: int,
        extra_specs: list[PropSpec],
        cache: RecordCache,
        generator: Generator,
    ) -> None:
        count = len(layout)
        if count > ORD_MASK:
            raise ValueError(f"at most {ORD_MASK} {otype.name} supported")
        self.t = otype
        self.name = otype.name
        self.layout = layout
        self.seed = config.seed
        self.cache = cache
        self.generator = generator
        self.generated = count
        self.anchor_ms = anchor_ms
        self.created_extra: dict[int, int] = {}  # runtime-created ordinals -> created ms
        archived: dict[int, int] = {}
        keys: list[int] = []
        arch_threshold = int(config.archived_fraction * 10_000)
        seed, name = self.seed, self.name
        for o, obj_id in enumerate(layout.ids):
            m = g.timestamps(seed, name, obj_id, anchor_ms)[1]
            if g.h(seed, name, obj_id, 4) % 10_000 < arch_threshold:
                archived[o] = min(m + (g.h(seed, name, obj_id, 5) % (30 * g.DAY_MS)), anchor_ms)
            else:
                keys.append(index_key(m, o))
        self.overlay = ChangeOverlay()
        self.merged_into: dict[int, int] = {}  # merged-away record -> the record the merge created
        self.deleted: set[int] = set()  # hard-deleted records (GDPR delete, recycle-bin purge)
        self.archived_ords: list[int] = sorted(archived)  # current view
        self.archived_gen = archived  # generated archival instants
        self.index = SearchIndex(keys, set(archived))
        specs = list(PROPERTY_SPECS[self.name]) + extra_specs
        self.specs: dict[str, PropSpec] = {s[0]: s for s in specs}
        self.extra_index = {s[0]: i for i, s in enumerate(extra_specs)}
        self.mod_names = {otype.mod_prop} | ({"hs_lastmodifieddate"} if otype.name == "contacts" else set())

    # --- existence / timestamps -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.layout)

    def known(self, o: int) -> bool:
        """A record had this ordinal at some point (it may be merged away or deleted since)."""
        return 0 <= o < self.generated or o in self.created_extra

    def exists(self, o: int) -> bool:
        """A record (live or archived) answers to this ordinal's own id."""
        return self.known(o) and o not in self.merged_into and o not in self.deleted

    def resolve(self, o: int) -> int | None:
        """The record a read of `o`'s id answers with: itself, or the record its merge created (then that
        one's merge...), None when it was deleted or never existed [hubspot-api.md §13, §10]."""
        while o in self.merged_into:
            o = self.merged_into[o]
        return o if self.exists(o) else None

    def live_count(self) -> int:
        total = self.generated + len(self.created_extra)
        return total - len(self.archived_ords) - len(self.merged_into) - len(self.deleted)

    def is_archived(self, o: int) -> bool:
        if o in self.archived_gen:
            return True
        st = self.overlay.get(o)
        return st is not None and st.archived_at is not None

    def archived_at(self, o: int, search: bool = False) -> int | None:
        st = self.overlay.get(o, search)
        if st is not None and st.archived_at is not None:
            return st.archived_at
        return self.archived_gen.get(o)

    def generated_times(self, o: int) -> tuple[int, int]:
        """(created, modified) ms of a generated record, recomputed rather than stored (memory)."""
        return g.timestamps(self.seed, self.name, self.layout.id_of(o), self.anchor_ms)

    def created_ms(self, o: int) -> int:
        if o < self.generated:
            return self.generated_times(o)[0]
        return self.created_extra[o]

    def modified_ms(self, o: int, search: bool = False) -> int:
        st = self.overlay.get(o, search)
        if st is not None and st.modified is not None:
            return st.modified
        if o < self.generated:
            return self.generated_times(o)[1]
        return self.created_extra[o]

    def ords(self, archived: bool, start: int = 0) -> Iterator[int]:
        """Ordinals of live (or archived) records from `start` on, ascending."""
        if archived:
            for o in list(self.archived_ords):
                if o >= start:
                    yield o
            return
        for o in range(start, len(self)):
            if self.exists(o) and not self.is_archived(o):
                yield o

    # --- properties ---------------------------------------------------------------------------------
    def base_props(self, o: int) -> dict[str, str | None]:
        if o >= self.generated:
            return {
                self.t.create_prop: g.fmt_dt(self.created_extra[o]),
                "hs_object_id": str(self.layout.id_of(o)),
            }
        return self.cache.get((self.name, o), lambda: self.generator(self.name, o, *self.generated_times(o)))

    def value(self, o: int, name: str, search: bool = False) -> str | None:
        st = self.overlay.get(o, search)
        if st is not None and name in st.props:
            return st.props[name]
        if name in self.mod_names:
            return g.fmt_dt(self.modified_ms(o, search))
        idx = self.extra_index.get(name)
        if idx is not None:
            if o >= self.generated:
                return None
            return g.extra_value(self.seed, self.name, self.layout.id_of(o), idx, self.specs[name][2])
        return self.base_props(o).get(name)

    def props(self, o: int, names: list[str] | None, search: bool = False) -> dict[str, str | None]:
        specs = self.specs
        if names is None:
            names = list(specs)
        st = self.overlay.get(o, search)
        overlay = st.props if st is not None else None
        base = self.base_props(o)
        mod_str: str | None = None
        out: dict[str, str | None] = {}
        for n in names:
            if n not in specs:
                continue
            if overlay is not None and n in overlay:
                out[n] = overlay[n]
            elif n in self.mod_names:
                if mod_str is None:
                    mod_str = g.fmt_dt(self.modified_ms(o, search))
                out[n] = mod_str
            elif n in self.extra_index:
                out[n] = self.value(o, n, search)
            else:
                out[n] = base.get(n)
        return out

    # --- search index ---------------------------------------------------------------------------------
    def index_snapshot(self, o: int, snapshot: ObjectState | None) -> None:
        """Make `snapshot` what search sees of `o` (re-keyed by its new modified date), or hide `o` when the
        snapshot is archived or None (merged away, deleted)."""
        index = self.index
        if o not in index.hidden:
            index.remove(self.modified_ms(o, search=True), o)
        if snapshot is None:
            index.hidden.add(o)
            return
        self.overlay.indexed[o] = snapshot
        if snapshot.archived_at is not None:
            index.hidden.add(o)
        else:
            index.hidden.discard(o)
            index.insert(self.modified_ms(o, search=True), o)
