from __future__ import annotations

import uuid

import requests

from .conftest import api


def assert_error(r, status, category):
    assert r.status_code == status
    body = r.json()
    assert body["status"] == "error"
    assert body.get("category") == category
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    uuid.UUID(body["correlationId"])
    return body


def test_missing_and_unknown_tokens(hubspot_simulator):
    for token in (None, "wrong-token"):
        r = api(hubspot_simulator, "GET", "/crm/v3/objects/contacts", token=token)
        body = assert_error(r, 401, "INVALID_AUTHENTICATION")
        assert body["message"].startswith("Authentication credentials not found.")
    r = requests.get(
        hubspot_simulator.url + "/crm/v3/objects/contacts", headers={"Authorization": "Basic x"}, timeout=10
    )
    assert r.status_code == 401


def test_expired_token(make_simulator):
    sim = make_simulator(expired_tokens=("old-token",))
    body = assert_error(
        api(sim, "GET", "/crm/v3/objects/deals", token="old-token"), 401, "EXPIRED_AUTHENTICATION"
    )
    assert body["message"].startswith("The OAuth token used to make this call expired ")
    assert "expire time" in body["context"]


def test_missing_scopes(make_simulator):
    sim = make_simulator(missing_scopes={"no-deals": ("crm.objects.deals.read", "crm.schemas.deals.read")})
    body = assert_error(api(sim, "GET", "/crm/v3/objects/deals", token="no-deals"), 403, "MISSING_SCOPES")
    assert body["errors"][0]["context"]["requiredScopes"] == ["crm.objects.deals.read"]
    assert body["links"] == {"scopes": "https://developers.hubspot.com/scopes"}
    assert api(sim, "GET", "/crm/v3/objects/contacts", token="no-deals").status_code == 200
    assert api(sim, "GET", "/crm/v3/properties/deals", token="no-deals").status_code == 403
    assert api(sim, "POST", "/crm/v3/objects/deals/search", token="no-deals", json={}).status_code == 403


def test_oauth_refresh_flow(make_simulator):
    sim = make_simulator(access_tokens=())
    form = {
        "grant_type": "refresh_token",
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "refresh_token": "test-refresh-token",
    }
    for path in ("/oauth/v1/token", "/oauth/2026-03/token"):
        r = requests.post(sim.url + path, data=form, timeout=10)
        assert r.status_code == 200
        tok = r.json()
        assert tok["expires_in"] == 1800
        assert tok["token_type"] == "bearer"
        assert tok["refresh_token"] == "test-refresh-token"
        assert api(sim, "GET", "/crm/v3/objects/contacts", token=tok["access_token"]).status_code == 200
    bad = requests.post(sim.url + "/oauth/v1/token", data={**form, "refresh_token": "nope"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["status"] == "BAD_REFRESH_TOKEN"
    assert bad.json()["correlationId"] == bad.headers["X-HubSpot-Correlation-Id"]
    assert (
        requests.post(
            sim.url + "/oauth/v1/token", data={**form, "client_secret": "x"}, timeout=10
        ).status_code
        == 400
    )


def test_issued_token_expires(make_simulator):
    sim = make_simulator(access_token_ttl_s=0)
    form = {
        "grant_type": "refresh_token",
        "client_id": "test-client-id",
        "client_secret": "test-client-secret",
        "refresh_token": "test-refresh-token",
    }
    tok = requests.post(sim.url + "/oauth/v1/token", data=form, timeout=10).json()["access_token"]
    import time

    time.sleep(0.01)
    assert_error(api(sim, "GET", "/crm/v3/objects/contacts", token=tok), 401, "EXPIRED_AUTHENTICATION")


def test_every_response_has_correlation_id(hubspot_simulator):
    for method, path in (
        ("GET", "/crm/v3/objects/contacts"),
        ("GET", "/_simulator/stats"),
        ("GET", "/crm/v3/nothing"),
        ("GET", "/crm/v3/properties/calls"),
    ):
        r = api(hubspot_simulator, method, path)
        uuid.UUID(r.headers["X-HubSpot-Correlation-Id"])
