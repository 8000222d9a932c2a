"""Helpers for the simulator's own tests. Every test that starts a simulator runs once per id layout, so none
may assume ids 1..N: they take ids from the portal (`ids`) instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.hubspot_simulator import Simulator
from tests.hubspot_simulator.generate import parse_dt as _parse_dt

TOKEN = "test-token"


@pytest.fixture(params=["dense", "sparse"])
def id_layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_simulator(make_simulator: Callable[..., Simulator], id_layout: str) -> Callable[..., Simulator]:
    """The plugin's factory, with this test's id layout unless the test names one."""

    def factory(**overrides: Any) -> Simulator:
        return make_simulator(**{"id_layout": id_layout, **overrides})

    return factory


class FakeClock:
    """A monotonic clock that only moves when told (rate windows without sleeping)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def frozen(sim: Simulator) -> FakeClock:
    """Stop the simulator's rate-window clock; the test advances it."""
    clock = FakeClock()
    sim.limiter.clock = clock
    return clock


def api(sim: Any, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = path if path.startswith("http") else sim.url + path
    return requests.request(method, url, headers=headers, timeout=30, **kwargs)


def ctl(sim: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A control API call (`path` below /_simulator)."""
    return requests.request(method, sim.url + "/_simulator" + path, timeout=30, **kwargs)


def search(sim: Any, object_type: str = "contacts", **body: Any) -> requests.Response:
    return api(sim, "POST", f"/crm/v3/objects/{object_type}/search", json=body)


def list_all(sim: Any, path: str) -> tuple[list[int], list[str]]:
    """Every id a list endpoint returns following `paging.next.link`, and the cursors it sent."""
    got: list[int] = []
    cursors: list[str] = []
    url = path
    while url:
        r = api(sim, "GET", url)
        assert r.status_code == 200, r.text
        body = r.json()
        got += [int(o["id"]) for o in body["results"]]
        nxt = body.get("paging", {}).get("next")
        url = nxt["link"] if nxt else ""
        if nxt:
            cursors.append(nxt["after"])
    return got, cursors


def ids(sim: Any, object_type: str, archived: bool = False) -> list[int]:
    """Ids of the portal's live (or archived) records, ascending."""
    return list(sim.portal.iter_ids(object_type, archived=archived))


def unused_id(sim: Any, object_type: str) -> int:
    """An id no record of the type has (above every id, live or archived)."""
    return max(ids(sim, object_type) + ids(sim, object_type, archived=True)) + 1


def parse_dt(value: str) -> int:
    """Strict ISO/epoch-ms -> epoch ms for assertions."""
    parsed = _parse_dt(value)
    assert parsed is not None, value
    return parsed
