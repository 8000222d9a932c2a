from __future__ import annotations

from .conftest import api, frozen


def test_414_html(make_simulator):
    sim = make_simulator(max_request_target=2000)
    ok = api(sim, "GET", "/crm/v3/objects/contacts?properties=" + "a" * 1900)
    assert ok.status_code == 200
    r = api(sim, "GET", "/crm/v3/objects/contacts?properties=" + "a" * 2000)
    assert r.status_code == 414
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<title>414 Request-URI Too Large</title>" in r.text
    assert "X-HubSpot-Correlation-Id" in r.headers
    default = make_simulator()
    assert api(default, "GET", "/crm/v3/objects/contacts?properties=" + "a" * 15_900).status_code == 200
    assert api(default, "GET", "/crm/v3/objects/contacts?properties=" + "a" * 16_000).status_code == 414
    assert api(default, "GET", "/crm/v3/objects/contacts?properties=" + "a" * 60_000).status_code == 414


def test_burst_limit_headers_429_and_recovery(make_simulator):
    sim = make_simulator(burst_limit=5, burst_window_ms=400, daily_limit=1000)
    clock = frozen(sim)
    for i in range(5):
        r = api(sim, "GET", "/crm/v3/objects/deals?limit=1")
        assert r.status_code == 200
        h = r.headers
        assert h["X-HubSpot-RateLimit-Max"] == "5"
        assert h["X-HubSpot-RateLimit-Remaining"] == str(4 - i)
        assert h["X-HubSpot-RateLimit-Interval-Milliseconds"] == "400"
        assert h["X-HubSpot-RateLimit-Daily"] == "1000"
        assert h["X-HubSpot-RateLimit-Daily-Remaining"] == str(999 - i)
        assert "X-HubSpot-RateLimit-Secondly" in h
        assert "X-HubSpot-RateLimit-Secondly-Remaining" in h
    r = api(sim, "POST", "/crm/v3/objects/deals/batch/read", json={"inputs": [{"id": "1"}]})
    assert r.status_code == 429
    assert "Retry-After" not in r.headers
    body = r.json()
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    assert body["groupName"]
    # search is exempt from the burst limit
    assert api(sim, "POST", "/crm/v3/objects/deals/search", json={}).status_code == 200
    clock.advance(0.399)
    assert api(sim, "GET", "/crm/v3/properties/deals").status_code == 429  # the window still holds them
    clock.advance(0.002)
    assert api(sim, "GET", "/crm/v3/properties/deals").status_code == 200
    stats = sim.stats()
    assert stats["rate_limited"]["burst"] == 2
    assert stats["by_status"]["429"] == 2


def test_search_limit(make_simulator):
    sim = make_simulator(search_limit=3, search_window_ms=300)
    clock = frozen(sim)
    codes = [api(sim, "POST", "/crm/v3/objects/contacts/search", json={}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api(sim, "POST", "/crm/v3/objects/contacts/search", json={})
    assert r.json() == {
        "status": "error",
        "message": "You have reached your secondly limit.",
        "correlationId": r.headers["X-HubSpot-Correlation-Id"],
        "category": "RATE_LIMITS",
    }
    assert not any(h.lower().startswith("x-hubspot-ratelimit") for h in r.headers)
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 200  # list unaffected
    clock.advance(0.301)
    assert api(sim, "POST", "/crm/v3/objects/contacts/search", json={}).status_code == 200


def test_daily_limit(make_simulator):
    sim = make_simulator(daily_limit=3)
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 200
    assert api(sim, "POST", "/crm/v3/objects/contacts/search", json={}).status_code == 200  # counts too
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 200
    r = api(sim, "GET", "/crm/v3/objects/contacts")
    assert r.status_code == 429
    body = r.json()
    assert body["policyName"] == "DAILY"
    assert body["message"] == "You have reached your daily limit."
    assert body["errorType"] == "RATE_LIMIT"
    assert r.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert api(sim, "POST", "/crm/v3/objects/contacts/search", json={}).status_code == 429
    assert sim.stats()["rate_limited"]["daily"] == 2


def test_rate_limits_can_be_disabled(make_simulator):
    sim = make_simulator(burst_limit=1, search_limit=1, rate_limits_enabled=False)
    for _ in range(5):
        r = api(sim, "GET", "/crm/v3/objects/contacts")
        assert r.status_code == 200
        assert "X-HubSpot-RateLimit-Max" not in r.headers
        assert api(sim, "POST", "/crm/v3/objects/contacts/search", json={}).status_code == 200


def test_oauth_and_control_not_rate_limited(make_simulator):
    sim = make_simulator(burst_limit=1)
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 200
    for _ in range(3):
        assert api(sim, "GET", "/_simulator/stats").status_code == 200
    assert api(sim, "GET", "/crm/v3/objects/contacts").status_code == 429


def test_v4_associations_have_their_own_window_and_do_not_consume_the_burst_budget(make_simulator):
    sim = make_simulator(burst_limit=3, associations_limit=4, burst_window_ms=400, daily_limit=1000)
    clock = frozen(sim)
    batch = "/crm/v4/associations/contacts/deals/batch/read"
    for i in range(4):
        r = api(sim, "POST", batch, json={"inputs": [{"id": "1"}]})
        assert r.status_code in (200, 207)
        h = r.headers
        assert h["X-HubSpot-RateLimit-Max"] == "4"  # the associations window, not the burst one
        assert h["X-HubSpot-RateLimit-Remaining"] == str(3 - i)
        assert h["X-HubSpot-RateLimit-Interval-Milliseconds"] == "400"
    r = api(sim, "GET", "/crm/v4/objects/contacts/1/associations/deals")  # per-object v4 GET: same window
    assert r.status_code == 429
    body = r.json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert r.headers["X-HubSpot-RateLimit-Max"] == "4"
    assert r.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    # the burst budget is untouched by association calls: all three of its slots are still free
    for i in range(3):
        r = api(sim, "GET", "/crm/v3/objects/deals?limit=1")
        assert r.status_code == 200
        assert r.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert r.headers["X-HubSpot-RateLimit-Remaining"] == str(2 - i)
    assert api(sim, "GET", "/crm/v3/objects/deals?limit=1").status_code == 429
    clock.advance(0.401)
    assert api(sim, "POST", batch, json={"inputs": [{"id": "1"}]}).status_code in (200, 207)
    stats = sim.stats()
    assert stats["rate_limited"]["associations"] == 1
    assert stats["rate_limited"]["burst"] == 1
    assert stats["rate_limited"]["total"] == 2
    assert stats["by_kind"]["associations"] == 6


def test_associations_limit_is_a_runtime_field(make_simulator):
    sim = make_simulator(associations_limit=1, burst_window_ms=60_000)
    batch = "/crm/v4/associations/deals/contacts/batch/read"
    assert api(sim, "POST", batch, json={"inputs": [{"id": "1"}]}).status_code in (200, 207)
    assert api(sim, "POST", batch, json={"inputs": [{"id": "1"}]}).status_code == 429
    sim.update_config(associations_limit=5)
    assert api(sim, "POST", batch, json={"inputs": [{"id": "1"}]}).status_code in (200, 207)
