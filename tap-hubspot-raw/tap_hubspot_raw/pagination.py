"""The incremental search cursor: keyset paging over the modified date, and timestamp helpers.

Search never pages with ``after`` (offsets shift when records change mid-sync, and HubSpot refuses
offsets past 10,000). Each page is a fresh query ordered by the modified date, starting at the last
timestamp seen; ids already emitted at that timestamp are skipped. If a whole page shares one timestamp,
the cursor reads just that millisecond ordered by ``hs_object_id`` (id keyset), then moves past it.
Every page therefore makes progress, no record is skipped, and records come out sorted by modified time.

(The SDK's paginator classes advance on a ``requests.Response``; readers here hand plans parsed pages, so the
cursor is a plain value with an ``advance`` method.)
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tap_hubspot_raw.api import SEARCH_PAGE_SIZE

if TYPE_CHECKING:
    from tap_hubspot_raw.reader import SearchPage

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def to_epoch_ms(value: str) -> int:
    """HubSpot ISO-8601 timestamp (``...Z``) or epoch-ms string → epoch milliseconds."""
    if value.isdigit():
        return int(value)
    parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return (parsed - EPOCH) // datetime.timedelta(milliseconds=1)


def to_iso(epoch_ms: int) -> str:
    """Epoch milliseconds → HubSpot-style ISO-8601 UTC (``2024-01-17T19:55:04.281Z``)."""
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


@dataclass(frozen=True)
class SearchCursor:
    """Where the next search page starts."""

    low_ms: int  # modified at or after this (inclusive)
    high_ms: int  # ... and at or before this (inclusive): the sync's start
    tie_ms: int | None = None  # set: read only this millisecond, ordered by id
    after_id: int = 0  # in tie mode: ids greater than this
    seen: frozenset[str] = field(default_factory=frozenset)  # ids already emitted at the boundary

    def filters(self, modified_property: str) -> list[dict[str, str]]:
        """Search filters for this cursor."""
        if self.tie_ms is not None:
            return [
                {"propertyName": modified_property, "operator": "EQ", "value": str(self.tie_ms)},
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(self.after_id)},
            ]
        return [
            {"propertyName": modified_property, "operator": "GTE", "value": str(self.low_ms)},
            {"propertyName": modified_property, "operator": "LTE", "value": str(self.high_ms)},
        ]

    def body(self, modified_property: str, properties: list[str]) -> dict[str, Any]:
        """The search request body for this cursor."""
        sort_on = "hs_object_id" if self.tie_ms is not None else modified_property
        return {
            "filterGroups": [{"filters": self.filters(modified_property)}],
            "sorts": [{"propertyName": sort_on, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": SEARCH_PAGE_SIZE,
        }

    def accept(self, record: dict[str, Any]) -> bool:
        """Whether a result is new (not emitted on an earlier page at the same timestamp)."""
        return str(record["id"]) not in self.seen

    def advance(self, page: SearchPage, modified_property: str) -> SearchCursor | None:
        """Where the page after ``page`` starts (None: the window is read)."""
        results = page.results
        has_next = page.more and bool(results)
        if self.tie_ms is not None:
            if has_next:
                return replace(self, after_id=max(page.ids))
            if self.tie_ms >= self.high_ms:
                return None
            return SearchCursor(low_ms=self.tie_ms + 1, high_ms=self.high_ms)
        if not has_next:
            return None
        stamps = [modified_ms(r, modified_property) for r in results]
        last_ms = max(stamps)
        if last_ms <= self.low_ms:  # a whole page on one millisecond: read it by id
            seen = self.seen | {str(r["id"]) for r in results}
            return replace(self, tie_ms=self.low_ms, after_id=0, seen=seen)
        at_last = {str(r["id"]) for r, ms in zip(results, stamps, strict=True) if ms == last_ms}
        return SearchCursor(low_ms=last_ms, high_ms=self.high_ms, seen=frozenset(at_last))


def modified_ms(record: dict[str, Any], modified_property: str) -> int:
    """A search result's modified time in epoch ms."""
    value = (record.get("properties") or {}).get(modified_property) or record["updatedAt"]
    return to_epoch_ms(value)
