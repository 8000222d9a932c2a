"""Helpers for the simulator's own tests (its fixtures come from tests/conftest.py's plugin)."""

from __future__ import annotations

from typing import Any

import requests

from tests.hubspot_simulator.generate import parse_dt as _parse_dt

TOKEN = "test-token"


def api(sim: Any, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = path if path.startswith("http") else sim.url + path
    return requests.request(method, url, headers=headers, timeout=30, **kwargs)


def parse_dt(value: str) -> int:
    """Strict ISO/epoch-ms -> epoch ms for assertions."""
    parsed = _parse_dt(value)
    assert parsed is not None, value
    return parsed
