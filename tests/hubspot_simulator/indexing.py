"""The lag between a change and search showing it [hubspot-api.md §3.6]: each change waits in a queue until
its indexing delay has passed, then becomes what search sees of the object."""

from __future__ import annotations

import heapq
import itertools
import time

from .config import SimulatorConfig
from .overlay import ObjectState
from .store import TypeStore


class IndexingQueue:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        # (due monotonic s, sequence, store, ordinal, snapshot)
        self._pending: list[tuple[float, int, TypeStore, int, ObjectState]] = []
        self._sequence = itertools.count()

    def schedule(self, store: TypeStore, o: int, state: ObjectState) -> None:
        due = time.monotonic() + self.config.indexing_delay_ms / 1000.0
        heapq.heappush(self._pending, (due, next(self._sequence), store, o, state.snapshot()))
        if self.config.indexing_delay_ms <= 0:
            self.apply_due()

    def apply_due(self) -> None:
        """Make changes whose indexing delay has passed visible to search."""
        now = time.monotonic()
        while self._pending and self._pending[0][0] <= now:
            _, _, store, o, snapshot = heapq.heappop(self._pending)
            store.index_snapshot(o, snapshot)
