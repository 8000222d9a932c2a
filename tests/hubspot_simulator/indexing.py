"""The lag between a change and search showing it.

HubSpot says new and changed records reach search "after a few moments" [hubspot-api.md §3.6, S-SEARCH];
connectors see much longer lags (Estuary re-scans every window an hour late because search "is known to" miss
recent changes [§13 "Search indexing lag"]). So each change draws a delay: most a short one, uniform in
[indexing_delay_ms / 2, indexing_delay_ms]; a `late_indexing_fraction` of them a long one, uniform up to
`late_indexing_max_ms`. A change becomes searchable at (its modified date + its delay) — a change back-dated
20 minutes with a 20-minute delay is searchable at once — and never before it was made. The draws come from
a random stream seeded like the fault stream, so a run's delays are reproducible.
"""

from __future__ import annotations

import heapq
import itertools
import random

from .config import SimulatorConfig
from .overlay import ObjectState
from .store import TypeStore

# (due epoch ms, sequence, store, ordinal, what search will see; None = the record is gone)
Pending = tuple[int, int, TypeStore, int, ObjectState | None]


class IndexingQueue:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        seed = config.fault_seed if config.fault_seed is not None else config.seed * 7919 + 1
        self.rng = random.Random(seed ^ 0x5EA4C8)
        self._pending: list[Pending] = []
        self._sequence = itertools.count()
        self._applied: dict[tuple[str, int], int] = {}  # newest sequence search shows, per record

    def draw_delay_ms(self) -> int:
        cfg = self.config
        late, where = self.rng.random(), self.rng.random()  # always two: settings never shift the stream
        short = max(cfg.indexing_delay_ms, 0)
        if late < cfg.late_indexing_fraction:
            return int(short + where * max(cfg.late_indexing_max_ms - short, 0))
        return int(short / 2 + where * short / 2)

    def schedule(
        self,
        store: TypeStore,
        o: int,
        state: ObjectState | None,
        *,
        modified_ms: int,
        now_ms: int,
        delay_ms: int | None = None,
    ) -> None:
        """Queue what search will see of record `o` (None: nothing); `delay_ms` overrides the drawn delay."""
        delay = self.draw_delay_ms() if delay_ms is None else max(int(delay_ms), 0)
        due = min(modified_ms, now_ms) + delay
        snapshot = None if state is None else state.snapshot()
        heapq.heappush(self._pending, (due, next(self._sequence), store, o, snapshot))
        self.apply_due(now_ms)

    def apply_due(self, now_ms: int) -> None:
        """Make changes whose delay has passed visible to search, in the order they become due."""
        while self._pending and self._pending[0][0] <= now_ms:
            self._apply(heapq.heappop(self._pending))

    def flush(self) -> None:
        """Index every pending change now, whatever its delay."""
        while self._pending:
            self._apply(heapq.heappop(self._pending))

    def waiting(self) -> int:
        return len(self._pending)

    def _apply(self, item: Pending) -> None:
        _, sequence, store, o, snapshot = item
        key = (store.name, o)
        if self._applied.get(key, -1) > sequence:
            return  # a newer change already reached search: an older one arriving late must not undo it
        self._applied[key] = sequence
        store.index_snapshot(o, snapshot)
