"""Rate limits: the ten-secondly burst window, search's own per-second window, the v4 associations window and
the daily limit, with HubSpot's headers and 429 bodies [hubspot-api.md §8, §13 "Burst-limit exemptions"]."""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Callable

from aiohttp import web

from .config import SimulatorConfig
from .responses import CORR, PORTAL_ID, error_response, json_response
from .stats import Stats


class RateLimiter:
    def __init__(
        self, config: SimulatorConfig, stats: Stats, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.stats = stats
        self.clock = clock  # seconds; tests swap in a clock they advance by hand
        self._burst: collections.deque[float] = collections.deque()
        self._search: collections.deque[float] = collections.deque()
        self._associations: collections.deque[float] = collections.deque()
        self.daily_used = 0

    def reset(self) -> None:
        self._burst.clear()
        self._search.clear()
        self._associations.clear()
        self.daily_used = 0

    def admit(self, request: web.Request, kind: str, headers: dict[str, str]) -> web.Response | None:
        """Count the request against its windows: None (and rate-limit `headers` to add) or the 429."""
        cfg = self.config
        if not cfg.rate_limits_enabled:
            return None
        now = self.clock()
        is_search = kind == "search"
        if self.daily_used >= cfg.daily_limit:
            self.stats.bump("rate_limited", "daily")
            resp = too_many(request, "daily")
            if not is_search or cfg.search_daily_headers:
                resp.headers.update(self._daily_headers(0))
            return resp
        # Which rolling window the request counts against: search its own per-second one; the v4
        # associations API is exempt from the ten-secondly limit but has a window of its own.
        which = "search" if is_search else "burst"
        if is_search:
            window, limit, dq = cfg.search_window_ms / 1000.0, cfg.search_limit, self._search
        elif kind == "associations" and request.path.startswith("/crm/v4/"):
            which = "associations"
            window, limit, dq = cfg.burst_window_ms / 1000.0, cfg.associations_limit, self._associations
        else:
            window, limit, dq = cfg.burst_window_ms / 1000.0, cfg.burst_limit, self._burst
        while dq and dq[0] <= now - window:
            dq.popleft()
        if len(dq) >= limit:
            self.stats.bump("rate_limited", which)
            resp = too_many(request, which)
            if not is_search:
                resp.headers.update(self._window_headers(limit, 0))
                resp.headers.update(self._daily_headers(cfg.daily_limit - self.daily_used))
            return resp
        dq.append(now)
        self.daily_used += 1
        remaining_daily = cfg.daily_limit - self.daily_used
        if not is_search:  # search answers carry no rate-limit headers [hubspot-api.md §3.5]
            headers.update(self._window_headers(limit, limit - len(dq)))
            headers.update(self._daily_headers(remaining_daily))
        elif cfg.search_daily_headers:
            headers.update(self._daily_headers(remaining_daily))
        return None

    def _window_headers(self, limit: int, remaining: int) -> dict[str, str]:
        """Rate-limit headers of a ``burst_window_ms`` window allowing ``limit`` requests."""
        secondly = max(limit // 10, 1)
        return {
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(remaining, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.config.burst_window_ms),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(min(secondly, remaining // 10), 0)),
        }

    def _daily_headers(self, remaining: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(self.config.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(remaining, 0)),
        }


def too_many(request: web.Request, which: str) -> web.Response:
    """HubSpot's 429 body for the `which` limit ("search", "daily", "associations" or "burst") [§8.4]."""
    if which == "search":
        return error_response(request, 429, "You have reached your secondly limit.", "RATE_LIMITS")
    if which == "daily":
        return json_response(
            {
                "status": "error",
                "message": "You have reached your daily limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": request[CORR],
                "policyName": "DAILY",
                "requestId": str(uuid.uuid4()),
            },
            429,
        )
    group = "associations-api-calls" if which == "associations" else "private-app-api-calls"
    return json_response(
        {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": request[CORR],
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": f"publicapi:{group}-ten-secondly:{PORTAL_ID}",
        },
        429,
    )
