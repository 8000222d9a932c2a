"""One request budget per portal, shared by every stream (and thread) of a tap instance.

HubSpot enforces a rolling 10-second limit on most endpoints, a separate per-second limit on search and
a separate 10-second limit on the v4 associations API (exempt from the general one); all are shared with
every other integration on the portal. The budget is acquired before
each request and tightened from the ``X-HubSpot-RateLimit-*`` headers HubSpot returns.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import requests
from typing_extensions import override

# Requests kept in reserve when HubSpot reports others are using the same portal budget.
HEADER_RESERVE = 2
# Windows are stretched slightly: HubSpot counts a request when it arrives (after a variable delay), we when
# we send it. 10 s -> 10.3 s, 1 s -> 1.1 s: a rare 429 (a short pause) costs less than a wider margin
# costs every second of a sync (the old 1.2 s search window left 17% of the search budget unused).
# A 429 despite the margin means arrivals jitter more than it allows: each one widens it a step (up to a cap).
WINDOW_MARGIN = 1.0
WINDOW_MARGIN_SECONDS = 0.3
SEARCH_WINDOW_MARGIN_SECONDS = 0.1
MARGIN_STEP_SHARE = 0.05  # of the window, per 429
MARGIN_CAP_SHARE = 0.25
PRIORITY_POLL_SECONDS = 0.005
_thread_priority = threading.local()

Clock = Callable[[], float]  # seconds, monotonic
Sleep = Callable[[float], None]


@contextmanager
def priority_requests() -> Iterator[None]:
    """Requests the calling thread sends inside this block go first when the budget is contended."""
    previous = getattr(_thread_priority, "on", False)
    _thread_priority.on = True
    try:
        yield
    finally:
        _thread_priority.on = previous


class RollingWindow:
    """At most ``limit`` acquisitions in any ``window_seconds``; thread-safe, blocking."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        follow_headers: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        """Create a window allowing ``limit`` acquisitions per ``window_seconds``.

        ``follow_headers``: HubSpot's reported limit may also *raise* ``limit`` (the configured figure was
        only a guess from the tier); otherwise headers can only tighten it. ``clock`` and ``sleep`` are how
        the window tells and spends time (tests pass a fake pair).
        """
        self.clock, self.sleep = clock, sleep
        self.limit = max(1, limit)
        self.follow_headers = follow_headers
        self.margin_seconds = WINDOW_MARGIN_SECONDS if window_seconds > 1 else SEARCH_WINDOW_MARGIN_SECONDS
        self.hubspot_window_seconds = window_seconds
        self.window_seconds = window_seconds * WINDOW_MARGIN + self.margin_seconds
        self._stamps: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._priority_waiting = 0

    def acquire(self, *, priority: bool = False) -> float:
        """Block until a slot is free, take it, and return the seconds waited.

        A ``priority`` caller gets the next free slot before any ordinary caller (used for requests that
        unlock many records at once, such as the associations of 1,000 search results).
        """
        waited = 0.0
        if priority:
            with self._lock:
                self._priority_waiting += 1
        try:
            while True:
                with self._lock:
                    now = self.clock()
                    while self._stamps and now - self._stamps[0] >= self.window_seconds:
                        self._stamps.popleft()
                    wait = self._paused_until - now
                    free = wait <= 0 and len(self._stamps) < self.limit
                    if free and (priority or not self._priority_waiting):
                        self._stamps.append(now)
                        return waited
                    if free:
                        wait = PRIORITY_POLL_SECONDS  # the slot is a priority caller's
                    elif wait <= 0:
                        wait = self.window_seconds - (now - self._stamps[0])
                wait = max(wait, 0.001)
                if priority:
                    wait = min(wait, PRIORITY_POLL_SECONDS)  # be first to see the slot free
                self.sleep(wait)
                waited += wait
        finally:
            if priority:
                with self._lock:
                    self._priority_waiting -= 1

    def pause(self, seconds: float) -> None:
        """Let nobody through for ``seconds`` (when HubSpot says the window is spent)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)

    def throttled(self, seconds: float) -> None:
        """HubSpot answered 429: let nobody through for ``seconds``, and widen the margin one step."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock() + seconds)
            step = self.hubspot_window_seconds * MARGIN_STEP_SHARE
            widened = min(self.margin_seconds + step, self.hubspot_window_seconds * MARGIN_CAP_SHARE)
            self.window_seconds += widened - self.margin_seconds
            self.margin_seconds = widened

    def observe(self, limit: int | None, remaining: int | None, window_seconds: float | None) -> None:
        """Adopt HubSpot's reported limit when stricter (or always, with ``follow_headers``)."""
        with self._lock:
            window = (
                window_seconds * WINDOW_MARGIN + self.margin_seconds
                if window_seconds
                else self.window_seconds
            )
            if limit is not None and limit > 0:
                stricter = limit / window < self.limit / self.window_seconds
                if stricter or (self.follow_headers and limit != self.limit):
                    self.limit, self.window_seconds = limit, window
                    self.hubspot_window_seconds = window_seconds or self.hubspot_window_seconds
            if remaining is not None and remaining <= HEADER_RESERVE:
                # HubSpot's window is (nearly) spent. Our own requests in it leave no later than our oldest
                # stamp does, so no slot frees before then: hold everyone until that moment (a full window
                # when we sent nothing - then other integrations are using the portal's budget).
                now = self.clock()
                until = self._stamps[0] + self.window_seconds if self._stamps else now + self.window_seconds
                self._paused_until = max(self._paused_until, until)


class RateBudget:
    """The portal's budgets: a rolling 10-s window for most calls, a per-second one for search and a 10-s
    one for the v4 associations API."""

    def __init__(
        self,
        requests_per_window: int,
        search_per_second: int,
        window_seconds: float = 10.0,
        search_window_seconds: float = 1.0,
        *,
        follow_headers: bool = False,
        associations_per_window: int | None = None,
        follow_association_headers: bool | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        """Create the budgets (``follow_headers``: HubSpot's reported limit may raise the 10-s one).

        ``associations_per_window`` defaults to ``requests_per_window``; ``follow_association_headers`` to
        ``follow_headers``. Every window tells time with ``clock`` and waits with ``sleep``.
        """
        self.burst = RollingWindow(
            requests_per_window, window_seconds, follow_headers=follow_headers, clock=clock, sleep=sleep
        )
        self.search = RollingWindow(search_per_second, search_window_seconds, clock=clock, sleep=sleep)
        self.associations = RollingWindow(
            associations_per_window or requests_per_window,
            window_seconds,
            follow_headers=follow_headers
            if follow_association_headers is None
            else follow_association_headers,
            clock=clock,
            sleep=sleep,
        )

    def window_for(self, path: str) -> RollingWindow:
        """The budget a request path draws on (search and v4 associations are exempt from the 10-s limit)."""
        if path.rstrip("/").endswith("/search"):
            return self.search
        if is_associations_path(path):
            return self.associations
        return self.burst

    def observe(self, path: str, headers: Mapping[str, str]) -> None:
        """Adjust the matching budget from HubSpot's rate-limit headers, when present."""
        limit = _int_header(headers, "X-HubSpot-RateLimit-Max")
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if limit is None and remaining is None:
            return
        window = interval_ms / 1000 if interval_ms else None
        self.window_for(path).observe(limit, remaining, window)


def is_associations_path(path: str) -> bool:
    """Whether ``path`` is a v4 associations call (batch read or per-object), with its own rate limit."""
    return path.startswith("/crm/v4/") and "/associations" in path


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BudgetedSession(requests.Session):
    """A session that takes an in-flight slot and a budget slot before every request it sends."""

    def __init__(self, budget: RateBudget, in_flight: threading.Semaphore | None = None) -> None:
        """Create a session drawing on ``budget``; ``in_flight`` caps requests open at once (all threads)."""
        super().__init__()
        self.budget = budget
        self.in_flight = in_flight or threading.Semaphore(1)

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = urlparse(request.url or "").path
        with self.in_flight:  # first the slot, then the budget: the budget stamp is the send time
            self.budget.window_for(path).acquire(priority=getattr(_thread_priority, "on", False))
            response = super().send(request, **kwargs)
        self.budget.observe(path, response.headers)
        return response


class SessionPool:
    """One :class:`BudgetedSession` per thread, all drawing on the same budget and in-flight cap."""

    def __init__(self, budget: RateBudget, max_in_flight: int = 1) -> None:
        """Create a pool for ``budget`` allowing ``max_in_flight`` requests open at once."""
        self.budget = budget
        self.in_flight = threading.BoundedSemaphore(max(1, max_in_flight))
        self._local = threading.local()

    def get(self) -> BudgetedSession:
        """The calling thread's session."""
        session: BudgetedSession | None = getattr(self._local, "session", None)
        if session is None:
            session = BudgetedSession(self.budget, self.in_flight)
            self._local.session = session
        return session
