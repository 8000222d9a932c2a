"""Drift: HubSpot's own count of live objects beside the table's live rows, after each run.

tap-hubspot-raw records HubSpot's counts in each stream's state (`bookmarks.<stream>.count`: `live`, the
search total of live objects; `recent`, objects modified since shortly before the run started; `at`, when it
counted). A difference larger than what changed while the run went on (`recent`, plus the rows the run wrote
or retired) means the table no longer equals the portal: rows deleted behind the pipeline's back, or objects
HubSpot deleted for good (GDPR, the recycle bin's purge), which only a full refresh finds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

OK, DRIFT = "ok", "drift"


@dataclass(frozen=True)
class HubspotCount:
    """HubSpot's counts for one stream, as a tap recorded them."""

    live: int
    recent: int
    at: datetime


def _count(value: Any) -> HubspotCount | None:
    if not isinstance(value, Mapping):
        return None
    live, recent, at = value.get("live"), value.get("recent", 0), value.get("at")
    if type(live) is not int or type(recent) is not int or not isinstance(at, str):
        return None
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return None
    return HubspotCount(live, recent, when) if when.tzinfo is not None else None


def counts_in(state: Any) -> dict[str, HubspotCount]:
    """The well-formed counts in a STATE value (some may be earlier runs', passed on by the tap)."""
    bookmarks = state.get("bookmarks") if isinstance(state, Mapping) else None
    if not isinstance(bookmarks, Mapping):
        return {}
    found = {}
    for stream, bookmark in bookmarks.items():
        count = _count(bookmark.get("count")) if isinstance(bookmark, Mapping) else None
        if count is not None:
            found[str(stream)] = count
    return found


def is_this_runs(count: HubspotCount, previous_run_ended: datetime | None) -> bool:
    """Whether the count was taken after the previous run of the stream ended: the counts a tap passes on
    from its input state are earlier runs' (a tap counts before its target has finished)."""
    return previous_run_ended is None or count.at > previous_run_ended


def status(count: HubspotCount, table_live: int, changed_this_run: int) -> str:
    """`drift` when the difference exceeds what changes made while the run went on can explain."""
    return DRIFT if abs(table_live - count.live) > count.recent + changed_this_run else OK
