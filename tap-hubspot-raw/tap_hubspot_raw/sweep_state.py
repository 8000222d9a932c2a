"""The incremental sweeps' progress and HubSpot's own counts, kept in each stream's state.

``sweeps``: where the refresh (live objects by id) and the archived sweep (``archived=true`` list pages) stop
after each run, and how many pages the archived list had at its last full round. Each run takes a slice sized
so that a whole round fits the configured bound, from the time since the previous run and the sizes HubSpot
last reported. ``count``: HubSpot's count of live objects at the end of the last run, and of those modified
since shortly before it started (what a target needs to tell drift from changes made during the run).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, MutableMapping
from typing import Any

from tap_hubspot_raw.pagination import to_epoch_ms, to_iso
from tap_hubspot_raw.plans.incremental import Sweeps

SWEEPS_KEY = "sweeps"
COUNT_KEY = "count"
HOUR_MS = 3_600_000


def plan_sweeps(
    stream_state: Mapping[str, Any],
    *,
    refresh_hours: float,
    archived_sweep_hours: float,
    now_ms: int,
    window_low_ms: int,
) -> Sweeps:
    """This run's slices: a share of each round as large as the share of its bound since the last run."""
    sweeps = stream_state.get(SWEEPS_KEY) or {}
    count = stream_state.get(COUNT_KEY) or {}
    last_ms = to_epoch_ms(str(count["at"])) if count.get("at") else None
    elapsed = max(now_ms - last_ms, 0) if last_ms is not None else None

    def share(total: int | None, bound_hours: float) -> int | None:
        if total is None or elapsed is None or bound_hours <= 0:
            return None  # unknown, or asked for: a whole round
        return min(total, math.ceil(total * elapsed / (bound_hours * HOUR_MS)))

    live = count.get("live")
    refresh = share(int(live) if live is not None else None, refresh_hours)
    archived_pages = sweeps.get("archived_pages")
    pages = share(int(archived_pages) if archived_pages is not None else None, archived_sweep_hours)
    since = sweeps.get("archived_since")
    return Sweeps(
        refresh_after_id=int(sweeps.get("refresh_after_id") or 0),
        refresh_count=refresh if refresh is not None else int(live or 0),
        archived_after=sweeps.get("archived_after"),
        archived_pages=None if pages is None else max(1, pages),
        archived_since_ms=int(since) if since is not None else window_low_ms,
        archived_round_started_ms=sweeps.get("archived_round_started"),
    )


def record_progress(stream_state: MutableMapping[str, Any], progress: Mapping[str, Any]) -> None:
    """A sweep's slice reached this far (its records are emitted)."""
    stream_state.setdefault(SWEEPS_KEY, {}).update(progress)


def start_rounds(stream_state: MutableMapping[str, Any], archived_pages: int | None, started_ms: int) -> None:
    """A full sync read everything: both sweeps start a new round from the bottom, and the archived sweep
    emits what was archived since the full sync started."""
    stream_state[SWEEPS_KEY] = {
        "refresh_after_id": 0,
        "archived_after": None,
        "archived_pages": archived_pages,
        "archived_since": started_ms,
        "archived_round_started": None,
    }


def record_count(
    stream_state: MutableMapping[str, Any], *, live: int, recent: int, since_ms: int, at_ms: int
) -> None:
    """HubSpot's counts at the end of this run."""
    stream_state[COUNT_KEY] = {"live": live, "recent": recent, "since": to_iso(since_ms), "at": to_iso(at_ms)}
