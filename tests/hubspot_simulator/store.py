"""The object store of one object type: generated objects (timestamps in compact arrays, properties generated
on demand), objects created at runtime, and the change overlay on top of both."""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable

from . import generate as g
from .config import SimulatorConfig
from .overlay import ChangeOverlay, ObjectState
from .schema import PROPERTY_SPECS, ObjectType, PropSpec
from .search_index import ID_MASK, SearchIndex, index_key

# (type name, id, created ms, modified ms) -> generated properties
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
        count: int,
        *,
        config: SimulatorConfig,
        anchor_ms: int,
        extra_specs: list[PropSpec],
        cache: RecordCache,
        generator: Generator,
    ) -> None:
        if count > ID_MASK:
            raise ValueError(f"at most {ID_MASK} {otype.name} supported")
        self.t = otype
        self.name = otype.name
        self.seed = config.seed
        self.cache = cache
        self.generator = generator
        self.generated = count
        self.next_id = count + 1
        self.created: array[int] = array("q", [0]) * (count + 1)
        self.modified: array[int] = array("q", [0]) * (count + 1)
        self.created_extra: dict[int, int] = {}  # runtime-created ids -> created ms
        archived: dict[int, int] = {}
        keys: list[int] = []
        arch_threshold = int(config.archived_fraction * 10_000)
        for i in range(1, count + 1):
            c, m = g.timestamps(self.seed, self.name, i, anchor_ms)
            self.created[i] = c
            self.modified[i] = m
            if g.h(self.seed, self.name, i, 4) % 10_000 < arch_threshold:
                archived[i] = min(m + (g.h(self.seed, self.name, i, 5) % (30 * g.DAY_MS)), anchor_ms)
            else:
                keys.append(index_key(m, i))
        self.overlay = ChangeOverlay()
        self.archived_ids: list[int] = sorted(archived)  # current view
        self.archived_gen = archived  # generated archival instants
        self.index = SearchIndex(keys, set(archived))
        specs = list(PROPERTY_SPECS[self.name]) + extra_specs
        self.specs: dict[str, PropSpec] = {s[0]: s for s in specs}
        self.extra_index = {s[0]: i for i, s in enumerate(extra_specs)}
        self.mod_names = {otype.mod_prop} | ({"hs_lastmodifieddate"} if otype.name == "contacts" else set())

    # --- existence / timestamps -----------------------------------------------------------------------
    def exists(self, obj_id: int) -> bool:
        return 1 <= obj_id <= self.generated or obj_id in self.created_extra

    def is_archived(self, obj_id: int) -> bool:
        if obj_id in self.archived_gen:
            return True
        st = self.overlay.get(obj_id)
        return st is not None and st.archived_at is not None

    def archived_at(self, obj_id: int, search: bool = False) -> int | None:
        st = self.overlay.get(obj_id, search)
        if st is not None and st.archived_at is not None:
            return st.archived_at
        return self.archived_gen.get(obj_id)

    def created_ms(self, obj_id: int) -> int:
        if obj_id <= self.generated:
            return self.created[obj_id]
        return self.created_extra[obj_id]

    def modified_ms(self, obj_id: int, search: bool = False) -> int:
        st = self.overlay.get(obj_id, search)
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
        return self.cache.get(
            (self.name, obj_id),
            lambda: self.generator(self.name, obj_id, self.created[obj_id], self.modified[obj_id]),
        )

    def value(self, obj_id: int, name: str, search: bool = False) -> str | None:
        st = self.overlay.get(obj_id, search)
        if st is not None and name in st.props:
            return st.props[name]
        if name in self.mod_names:
            return g.fmt_dt(self.modified_ms(obj_id, search))
        idx = self.extra_index.get(name)
        if idx is not None:
            if obj_id > self.generated:
                return None
            return g.extra_value(self.seed, self.name, obj_id, idx, self.specs[name][2])
        return self.base_props(obj_id).get(name)

    def props(self, obj_id: int, names: list[str] | None, search: bool = False) -> dict[str, str | None]:
        specs = self.specs
        if names is None:
            names = list(specs)
        st = self.overlay.get(obj_id, search)
        overlay = st.props if st is not None else None
        base = self.base_props(obj_id)
        mod_str: str | None = None
        out: dict[str, str | None] = {}
        for n in names:
            if n not in specs:
                continue
            if overlay is not None and n in overlay:
                out[n] = overlay[n]
            elif n in self.mod_names:
                if mod_str is None:
                    mod_str = g.fmt_dt(self.modified_ms(obj_id, search))
                out[n] = mod_str
            elif n in self.extra_index:
                out[n] = self.value(obj_id, n, search)
            else:
                out[n] = base.get(n)
        return out

    # --- search index ---------------------------------------------------------------------------------
    def index_snapshot(self, obj_id: int, snapshot: ObjectState) -> None:
        """Make `snapshot` what search sees of `obj_id` (re-keyed by its new modified date, or hidden)."""
        index = self.index
        if obj_id not in index.hidden:
            index.remove(self.modified_ms(obj_id, search=True), obj_id)
        self.overlay.indexed[obj_id] = snapshot
        if snapshot.archived_at is not None:
            index.hidden.add(obj_id)
        else:
            index.hidden.discard(obj_id)
            index.insert(self.modified_ms(obj_id, search=True), obj_id)
