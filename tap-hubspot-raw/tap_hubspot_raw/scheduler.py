"""The order streams sync in, and reading ahead across them.

The SDK syncs one stream after another and the output must stay that way. But a stream's last seconds leave
most of the shared rate budget idle (its workers are finishing their last ranges), so as soon as a full sync
enters its last round of claims, the scheduler starts the next selected stream's plan: its workers fetch into
their own bounded buffer, which the stream empties when the SDK gets to it. Incremental plans are all started
at once (first search page, archived sweep). A failing stream cancels every plan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tap_hubspot_raw.plans import Plan
    from tap_hubspot_raw.streams import CrmObjectStream


class Scheduler:
    """Owns every stream's plan for one run of the tap."""

    def __init__(self, streams: Callable[[], list[CrmObjectStream]]) -> None:
        """``streams`` gives the streams in the order the SDK syncs them."""
        self._streams = streams
        self._lock = threading.Lock()
        self._plans: dict[str, Plan] = {}
        self._cancelled = False

    def plan_for(self, stream: CrmObjectStream) -> Plan:
        """The stream's plan: the one already reading ahead, or a new one."""
        with self._lock:
            if stream.name not in self._plans:
                self._plans[stream.name] = stream.new_plan(
                    on_claimed=lambda: self.read_ahead_after(stream.name)
                )
            return self._plans[stream.name]

    def read_ahead_after(self, name: str) -> None:
        """Start the plan of the selected stream that follows ``name``, if it is a full sync."""
        streams = [s for s in self._streams() if s.selected]
        names = [s.name for s in streams]
        if name not in names or names.index(name) + 1 >= len(names):
            return
        following = streams[names.index(name) + 1]
        if not following.reads_ahead:
            return
        self._start(following)

    def start_incremental(self) -> None:
        """Start every selected incremental stream's plan (their first requests overlap)."""
        for stream in self._streams():
            if stream.selected and stream.bookmark_ms is not None:
                self._start(stream)

    def _start(self, stream: CrmObjectStream) -> None:
        with self._lock:
            if self._cancelled:
                return
        self.plan_for(stream).start()

    def cancel(self) -> None:
        """Stop every plan (a stream failed: the run ends)."""
        with self._lock:
            self._cancelled = True
            plans = list(self._plans.values())
        for plan in plans:
            plan.cancel()
