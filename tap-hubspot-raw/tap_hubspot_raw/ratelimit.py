"""One request budget per portal, shared by every stream (and thread) of a tap instance.

HubSpot enforces a rolling 10-second limit on most endpoints and a separate per-second limit on
search; both are shared with every other integration on the portal. The budget is acquired before
each request and tightened from the ``X-HubSpot-RateLimit-*`` headers HubSpot returns.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import requests
from typing_extensions import override

# Requests kept in reserve when HubSpot reports others are using the same portal budget.
HEADER_RESERVE = 2
# Windows are stretched slightly: HubSpot counts a request when it arrives, we when we send it.
WINDOW_MARGIN = 1.05


class RollingWindow:
    """At most ``limit`` acquisitions in any ``window_seconds``; thread-safe, blocking."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        """Create a window allowing ``limit`` acquisitions per ``window_seconds``."""
        self.limit = max(1, limit)
        self.window_seconds = window_seconds * WINDOW_MARGIN
        self._stamps: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a slot is free, take it, and return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                while self._stamps and now - self._stamps[0] >= self.window_seconds:
                    self._stamps.popleft()
                wait = self._paused_until - now
                if wait <= 0 and len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    return waited
                if wait <= 0:
                    wait = self.window_seconds - (now - self._stamps[0])
            wait = max(wait, 0.001)
            time.sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Let nobody through for ``seconds`` (after a 429, or when HubSpot says the window is spent)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def observe(self, limit: int | None, remaining: int | None, window_seconds: float | None) -> None:
        """Tighten the window from what HubSpot reports; never loosen beyond the configured limit."""
        with self._lock:
            window = window_seconds * WINDOW_MARGIN if window_seconds else self.window_seconds
            if limit is not None and 0 < limit / window < self.limit / self.window_seconds:
                self.limit, self.window_seconds = limit, window  # HubSpot's figure is stricter
            if remaining is not None and remaining <= HEADER_RESERVE:
                # Others share this portal's budget: wait for the rolling window to free up.
                self._paused_until = max(
                    self._paused_until, time.monotonic() + (window_seconds or self.window_seconds)
                )


class RateBudget:
    """The portal's two budgets: a rolling 10-s window for most calls and a per-second one for search."""

    def __init__(
        self,
        requests_per_window: int,
        search_per_second: int,
        window_seconds: float = 10.0,
        search_window_seconds: float = 1.0,
    ) -> None:
        """Create the budgets."""
        self.burst = RollingWindow(requests_per_window, window_seconds)
        self.search = RollingWindow(search_per_second, search_window_seconds)

    def window_for(self, path: str) -> RollingWindow:
        """The budget a request path draws on (search is exempt from the 10-s limit)."""
        return self.search if path.rstrip("/").endswith("/search") else self.burst

    def observe(self, path: str, headers: Mapping[str, str]) -> None:
        """Adjust the matching budget from HubSpot's rate-limit headers, when present."""
        limit = _int_header(headers, "X-HubSpot-RateLimit-Max")
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if limit is None and remaining is None:
            return
        window = interval_ms / 1000 if interval_ms else None
        self.window_for(path).observe(limit, remaining, window)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BudgetedSession(requests.Session):
    """A session that takes a slot from the shared budget before every request it sends."""

    def __init__(self, budget: RateBudget) -> None:
        """Create a session drawing on ``budget``."""
        super().__init__()
        self.budget = budget

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = urlparse(request.url or "").path
        self.budget.window_for(path).acquire()
        response = super().send(request, **kwargs)
        self.budget.observe(path, response.headers)
        return response


class SessionPool:
    """One :class:`BudgetedSession` per thread, all drawing on the same budget."""

    def __init__(self, budget: RateBudget) -> None:
        """Create a pool for ``budget``."""
        self.budget = budget
        self._local = threading.local()

    def get(self) -> BudgetedSession:
        """The calling thread's session."""
        session: BudgetedSession | None = getattr(self._local, "session", None)
        if session is None:
            session = BudgetedSession(self.budget)
            self._local.session = session
        return session
