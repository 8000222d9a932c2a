"""Pytest fixtures: ``hubspot_simulator`` (small fresh portal) and ``make_simulator(**overrides)``.

Register with ``pytest_plugins = ["tests.hubspot_simulator.pytest_plugin"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .config import SimulatorConfig
from .server import Simulator, start_simulator

SMALL_PORTAL: dict[str, Any] = {
    "contacts": 200,
    "deals": 50,
    "calls": 80,
    "companies": 10,
    "tickets": 10,
    "meetings": 10,
    "seed": 1,
    "latency_ms": 0.0,
    "access_tokens": ("test-token",),
    "rate_limits_enabled": True,
    "burst_limit": 100_000,
    "search_limit": 100_000,
    "daily_limit": 100_000_000,
}


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., Simulator]]:
    """Factory: ``make_simulator(contacts=1000, latency_ms=50)``; every simulator is stopped afterwards."""
    started: list[Simulator] = []

    def factory(**overrides: Any) -> Simulator:
        config = SimulatorConfig(**{**SMALL_PORTAL, **overrides})
        sim = start_simulator(config)
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def hubspot_simulator(make_simulator: Callable[..., Simulator]) -> Simulator:
    """Small fresh portal (200 contacts, 50 deals, 80 calls): permissive limits, no latency, test-token."""
    return make_simulator()
