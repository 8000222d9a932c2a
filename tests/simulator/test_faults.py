from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import api


def test_error_rate_gives_hubspot_like_5xx(make_simulator):
    sim = make_simulator(error_rate=1.0)
    seen = set()
    for _ in range(12):
        r = api(sim, "GET", "/crm/v3/objects/contacts")
        assert r.status_code in (502, 503, 504)
        assert "X-HubSpot-Correlation-Id" in r.headers
        seen.add(r.status_code)
        if r.status_code == 503:
            assert r.json()["status"] == "error"
        else:
            assert "<html>" in r.text
    assert seen == {502, 503, 504}
    assert sim.stats()["faults"]["errors"] == 12


def test_fault_sequence_is_deterministic(make_simulator):
    def run(sim):
        return [api(sim, "GET", "/crm/v3/objects/deals").status_code for _ in range(30)]

    a = run(make_simulator(error_rate=0.3, fault_seed=42))
    b = run(make_simulator(error_rate=0.3, fault_seed=42))
    c = run(make_simulator(error_rate=0.3, fault_seed=43))
    assert a == b
    assert a != c
    assert 200 in a
    assert any(x >= 500 for x in a)


def test_dropped_connection(make_simulator):
    sim = make_simulator(drop_rate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        api(sim, "GET", "/crm/v3/objects/contacts?limit=100")
    sim.update_config(drop_rate=0.0)
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 200
    assert sim.stats()["faults"]["drops"] == 1


def test_slow_responses_and_latency(make_simulator):
    sim = make_simulator(slow_rate=1.0, slow_ms=300)
    t = time.monotonic()
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 200
    assert time.monotonic() - t >= 0.3
    sim.update_config(slow_ms=2_000)  # 20x the client's timeout: a busy machine cannot close the gap
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(
            sim.url + "/crm/v3/objects/contacts", headers={"Authorization": "Bearer test-token"}, timeout=0.1
        )


def test_latency_is_concurrent(make_simulator):
    sim = make_simulator(latency_ms=200)
    t = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(lambda _: api(sim, "GET", "/crm/v3/objects/contacts").status_code, range(64)))
    assert codes == [200] * 64
    assert time.monotonic() - t >= 0.2
    assert sim.stats()["concurrent_max"] >= 16  # in flight together: the latency does not serialise


def test_forced_429_via_control_api(hubspot_simulator):
    sim = hubspot_simulator
    r = requests.patch(sim.url + "/_simulator/config", json={"force_429": 2}, timeout=10)
    assert r.status_code == 200
    assert r.json()["force_429"] == 2
    r1 = api(sim, "GET", "/crm/v3/objects/contacts")
    r2 = api(sim, "POST", "/crm/v3/objects/contacts/search", json={})
    assert r1.status_code == r2.status_code == 429
    assert r1.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert r2.json()["category"] == "RATE_LIMITS"
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 200
    assert sim.stats()["rate_limited"]["forced"] == 2


def test_runtime_latency_change(hubspot_simulator):
    sim = hubspot_simulator
    requests.post(sim.url + "/_simulator/config", json={"latency_ms": 150}, timeout=10)
    t = time.monotonic()
    api(sim, "GET", "/crm/v3/objects/contacts")
    assert time.monotonic() - t >= 0.15
    bad = requests.post(sim.url + "/_simulator/config", json={"contacts": 5}, timeout=10)
    assert bad.status_code == 400
