"""An in-memory stand-in for :class:`~tap_hubspot_raw.reader.ObjectReader`, for unit tests of the sync plans.

It answers list and search calls the way HubSpot does (list: ascending ids, ``after`` = last id + 1 or an
opaque token; search: filters and sorts on the id, ``total``, offsets below 10,000, keyset by modified date)
from a sorted id list, and counts what it was asked.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

from tap_hubspot_raw.pagination import SearchCursor, modified_ms, to_iso
from tap_hubspot_raw.reader import ListPage, SearchPage

Record = dict[str, Any]
MODIFIED = "hs_lastmodifieddate"
BASE_MS = 1_700_000_000_000


def dense_ids(count: int, first: int = 1) -> list[int]:
    """Ids numbered one after another."""
    return list(range(first, first + count))


def sparse_ids(count: int, seed: int = 1) -> list[int]:
    """Ids as real portals number them: a fifth small and close together, the rest 10-11 digits far apart."""
    rng = random.Random(seed)
    early = count // 5
    ids = sorted(rng.sample(range(1, early * 3), early))
    value = 10_000_000_000
    for _ in range(count - early):
        value += rng.randint(1, 40_000_000)
        ids.append(value)
    return ids


class FakeReader:
    """Answers a plan's calls from ``live`` and ``archived`` ids."""

    object_type = "contacts"
    modified_property = MODIFIED

    def __init__(
        self,
        live: list[int],
        archived: list[int] | None = None,
        *,
        opaque_cursor: bool = False,
        fail_on: str | None = None,
        search_latency: float = 0.0,
        list_latency: float = 0.0,
    ) -> None:
        """A portal with these ids; ``fail_on`` names a call that raises (for failure tests); search and list
        calls take ``search_latency`` and ``list_latency`` seconds."""
        self.search_latency = search_latency
        self.list_latency = list_latency
        self.live = sorted(live)
        self.archived = sorted(archived or [])
        self.opaque_cursor = opaque_cursor
        self.fail_on = fail_on
        self.calls: Counter[str] = Counter()
        self.returned: Counter[str] = Counter()  # records handed out, per call kind
        self.emitted: Counter[str] = Counter()  # live records finished for emission, per endpoint
        self._lock = threading.Lock()

    def _count(self, kind: str, records: int = 0) -> None:
        with self._lock:
            self.calls[kind] += 1
            self.returned[kind] += records
        if self.fail_on == kind:
            raise RuntimeError(f"HubSpot failed on {kind}")

    @staticmethod
    def modified_at(object_id: int) -> int:
        """The object's modified time (epoch ms): a few objects share each millisecond."""
        return BASE_MS + object_id // 3

    def raw(self, object_id: int, *, archived: bool = False) -> Record:
        """The object as HubSpot's list and search endpoints answer."""
        stamp = to_iso(self.modified_at(object_id))
        return {
            "id": str(object_id),
            "properties": {MODIFIED: stamp},
            "updatedAt": stamp,
            "archived": archived,
            "archivedAt": stamp if archived else None,
        }

    # List -----------------------------------------------------------------------------------------

    def list_page(self, *, archived: bool, after: str | None) -> ListPage:
        time.sleep(self.list_latency)
        ids = self.archived if archived else self.live
        if after is None:
            start = 0
        elif self.opaque_cursor:
            start = int(after.removeprefix("cursor-"))
        else:
            start = next((i for i, object_id in enumerate(ids) if object_id >= int(after)), len(ids))
        page = ids[start : start + 100]
        self._count("archived" if archived else "list", len(page))
        following: str | None = None
        if start + 100 < len(ids):
            following = f"cursor-{start + 100}" if self.opaque_cursor else str(page[-1] + 1)
        return ListPage([self.raw(i, archived=archived) for i in page], following)

    def finish_list(self, results: list[Record], *, archived: bool) -> list[Record]:
        if not archived:
            with self._lock:
                self.emitted["list"] += len(results)
        return [{**r, "associations": {}} for r in results]

    # Search ---------------------------------------------------------------------------------------

    def search_ids(
        self, low: int, high: int, *, descending: bool = False, offset: int = 0, limit: int = 200
    ) -> SearchPage:
        assert offset < 10_000, "HubSpot answers 400 past 10,000 results"
        time.sleep(self.search_latency)
        matches = [i for i in self.live if low <= i < high]
        if descending:
            matches.reverse()
        page = matches[offset : offset + limit]
        self._count("search", len(page))
        return SearchPage([self.raw(i) for i in page], len(matches), offset + limit < len(matches))

    def count(self, modified_since_ms: int | None = None) -> int:
        self._count("count")
        since = modified_since_ms if modified_since_ms is not None else 0
        return sum(1 for i in self.live if self.modified_at(i) >= since)

    def search_modified(self, cursor: SearchCursor) -> SearchPage:
        self._count("search")
        body = cursor.body(MODIFIED, [])
        filters = body["filterGroups"][0]["filters"]
        if cursor.tie_ms is not None:
            matches = [i for i in self.live if self.modified_at(i) == cursor.tie_ms and i > cursor.after_id]
        else:
            low, high = int(filters[0]["value"]), int(filters[1]["value"])
            matches = sorted(
                (i for i in self.live if low <= self.modified_at(i) <= high),
                key=lambda i: (self.modified_at(i), i),
            )
        page = matches[:200]
        return SearchPage([self.raw(i) for i in page], len(matches), len(matches) > 200)

    def finish_search(self, results: list[Record]) -> list[Record]:
        if results:
            self._count("associations")
        with self._lock:
            self.emitted["search"] += len(results)
        return [{**r, "associations": {}} for r in results]


def modified(record: Record) -> int:
    """A record's modified time in epoch ms."""
    return modified_ms(record, MODIFIED)
