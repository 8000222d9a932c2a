"""Simulated portals, tokens and tap settings used by the tests and the benchmark: each defined once.

A preset is a dict of `SimulatorConfig` fields: in-process tests pass it to `make_simulator(**preset)`, the
benchmark turns it into the simulator's command line (`control.simulator_argv`).
"""

from __future__ import annotations

import time
from typing import Any

# Distinctive tokens, so a test can prove they never reach logs or output.
TAP_TOKEN = "pat-na1-0d15ea5e-tap-test-secret-7c41"
PIPELINE_TOKEN = "pat-na1-5ec7e7-reliability-token-9d2f"
BENCH_TOKEN = "bench-token"

# Limits no test run reaches: tests that exercise a limit set it themselves.
PERMISSIVE_LIMITS: dict[str, Any] = {
    "burst_limit": 100_000,
    "associations_limit": 100_000,
    "search_limit": 100_000,
    "daily_limit": 100_000_000,
}

# How a portal numbers its objects and what its list cursor is (shared/hubspot-api.md §13 "Ids are sparse").
LAYOUTS: dict[str, dict[str, Any]] = {
    "dense": {"id_layout": "dense", "list_cursor": "id"},
    "sparse": {"id_layout": "sparse", "list_cursor": "id"},
    "opaque": {"id_layout": "sparse", "list_cursor": "opaque"},
}

# The simulated history ends two hours before the tests start, so no generated change falls inside an
# incremental window (the tap re-reads the last 35 minutes before its bookmark): a test's changes are its own.
HISTORY_ENDS_MS = int(time.time() * 1000) - 2 * 3_600_000

# Small portal for the in-process tap tests, numbered as real portals are.
TAP_PORTAL: dict[str, Any] = {
    **LAYOUTS["sparse"],
    "anchor_ms": HISTORY_ENDS_MS,
    "contacts": 120,
    "deals": 30,
    "calls": 50,
    "seed": 7,
    "latency_ms": 0.0,
    "access_tokens": (TAP_TOKEN,),
    **PERMISSIVE_LIMITS,
}

# Small portal for `tap | target` process runs (reliability tests): only the three default object types.
PIPELINE_PORTAL: dict[str, Any] = {
    "anchor_ms": HISTORY_ENDS_MS,
    "contacts": 250,
    "deals": 40,
    "calls": 60,
    "companies": 0,
    "tickets": 0,
    "meetings": 0,
    "seed": 23,
    "access_tokens": (PIPELINE_TOKEN,),
    **PERMISSIVE_LIMITS,
}

# HubSpot's published limits: the 10-second burst by tier (free 100, professional 190), search 5 per second,
# and the v4 associations API's own 10-second limit (free 100, professional 150).
FREE_BURST, PRO_BURST = 100, 190
FREE_ASSOCIATIONS, PRO_ASSOCIATIONS = 100, 150
SEARCH_PER_SECOND = 5
BURST_WINDOW_S, SEARCH_WINDOW_S = 10.0, 1.0
FREE_LIMITS: dict[str, Any] = {
    "burst_limit": FREE_BURST,
    "associations_limit": FREE_ASSOCIATIONS,
    "search_limit": SEARCH_PER_SECOND,
}
PRO_LIMITS: dict[str, Any] = {**FREE_LIMITS, "burst_limit": PRO_BURST, "associations_limit": PRO_ASSOCIATIONS}

BENCH_ANCHOR_MS = 1767225600000  # 2026-01-01T00:00:00Z: the same simulated portal on every run
BENCH_LATENCY_MS = 250.0
SEED_SIZES = {"contacts": 29_000, "deals": 1_000, "calls": 8_100}  # the production portal's size
MEMORY_SIZES = {"contacts": 300_000, "deals": 100, "calls": 100}


def scaled(sizes: dict[str, int], scale: int) -> dict[str, int]:
    """Object counts divided by ``scale`` (at least one of each)."""
    return {name: max(count // scale, 1) for name, count in sizes.items()}


def seed_portal(scale: int = 1, layout: str = "dense") -> dict[str, Any]:
    """The benchmark's seed-sized portal: 250 ms per request, free-tier limits, ids laid out as ``layout``."""
    return {
        **LAYOUTS[layout],
        **scaled(SEED_SIZES, scale),
        "anchor_ms": BENCH_ANCHOR_MS,
        "latency_ms": BENCH_LATENCY_MS,
        "access_tokens": (BENCH_TOKEN,),
        "rate_limits_enabled": True,
        **FREE_LIMITS,
    }


def memory_portal(scale: int = 1) -> dict[str, Any]:
    """300,000 contacts served as fast as possible: no latency, no rate limits."""
    return {
        **scaled(MEMORY_SIZES, scale),
        "anchor_ms": BENCH_ANCHOR_MS,
        "latency_ms": 0.0,
        "access_tokens": (BENCH_TOKEN,),
        "rate_limits_enabled": False,
        **FREE_LIMITS,
    }


def generous_tap_config(api_url: str, token: str = TAP_TOKEN, **overrides: Any) -> dict[str, Any]:
    """Tap config for ``api_url`` with a budget far above the simulator's limits (the simulator's limits are
    the test); everything else is the tap's defaults."""
    return {
        "access_token": token,
        "api_url": api_url,
        "requests_per_10_seconds": 5_000,
        "association_requests_per_10_seconds": 5_000,
        "search_requests_per_second": 500,
        **overrides,
    }
