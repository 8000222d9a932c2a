from __future__ import annotations

import json

from .conftest import api, ids, parse_dt, unused_id


def test_list_pages_through_everything_in_ascending_id_order(hubspot_simulator):
    sim = hubspot_simulator
    ids: list[int] = []
    url = "/crm/v3/objects/contacts?limit=100"
    pages = 0
    while url:
        r = api(sim, "GET", url)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/json;charset=utf-8"
        body = r.json()
        ids += [int(o["id"]) for o in body["results"]]
        pages += 1
        nxt = body.get("paging", {}).get("next")
        if nxt:
            assert nxt["link"].startswith(sim.url + "/crm/v3/objects/contacts?")
            assert nxt["after"] == str(ids[-1] + 1)
            url = nxt["link"]
        else:
            assert "paging" not in body
            url = ""
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids)) == sim.portal.counts()["contacts"]
    assert pages == 2


def test_default_limit_and_properties(hubspot_simulator):
    body = api(hubspot_simulator, "GET", "/crm/v3/objects/contacts").json()
    assert len(body["results"]) == 10
    obj = body["results"][0]
    assert set(obj) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert set(obj["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    deal = api(hubspot_simulator, "GET", "/crm/v3/objects/deals?limit=1").json()["results"][0]
    assert set(deal["properties"]) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    call = api(hubspot_simulator, "GET", "/crm/v3/objects/calls?limit=1").json()["results"][0]
    assert set(call["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}


def test_link_replays_properties_and_repeated_params(hubspot_simulator):
    sim = hubspot_simulator
    r = api(
        sim, "GET", "/crm/v3/objects/contacts?limit=2&properties=email&properties=phone,vsl_watched&nope=1"
    )
    body = r.json()
    assert set(body["results"][0]["properties"]) >= {"email", "phone", "vsl_watched"}
    first = [int(o["id"]) for o in body["results"]]
    link = body["paging"]["next"]["link"]
    assert "properties=email" in link
    assert "limit=2" in link
    assert f"after={first[-1] + 1}" in link
    again = api(sim, "GET", link).json()
    live = ids(sim, "contacts")
    assert [o["id"] for o in again["results"]] == [str(i) for i in live[2:4]]
    assert set(again["results"][0]["properties"]) >= {"email", "phone", "vsl_watched"}
    # the same page fetched twice is identical (replayable)
    assert api(sim, "GET", link).json() == again


def test_unknown_properties_ignored_and_values_are_strings_or_null(hubspot_simulator):
    names = ",".join(
        p["name"] for p in api(hubspot_simulator, "GET", "/crm/v3/properties/contacts").json()["results"]
    )
    body = api(
        hubspot_simulator, "GET", f"/crm/v3/objects/contacts?limit=100&properties={names},bogus"
    ).json()
    for obj in body["results"]:
        assert "bogus" not in obj["properties"]
        assert obj["properties"]["hs_object_id"] == obj["id"]
        assert obj["properties"]["lastmodifieddate"] == obj["updatedAt"]
        assert parse_dt(obj["createdAt"]) <= parse_dt(obj["updatedAt"])
        assert all(v is None or isinstance(v, str) for v in obj["properties"].values())


def test_limit_validation(hubspot_simulator, make_simulator):
    r = api(hubspot_simulator, "GET", "/crm/v3/objects/contacts?limit=101")
    assert r.status_code == 400
    assert r.json()["category"] == "VALIDATION_ERROR"
    assert r.json()["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    assert api(hubspot_simulator, "GET", "/crm/v3/objects/contacts?after=abc").status_code == 400
    clamp = make_simulator(over_limit="clamp")
    assert len(api(clamp, "GET", "/crm/v3/objects/contacts?limit=500").json()["results"]) == 100


def test_object_type_ids_and_singular_names(hubspot_simulator):
    for path, name in (
        ("0-1", "contacts"),
        ("0-3", "deals"),
        ("0-48", "calls"),
        ("0-2", "companies"),
        ("0-5", "tickets"),
        ("0-47", "meetings"),
    ):
        a = api(hubspot_simulator, "GET", f"/crm/v3/objects/{path}?limit=5").json()
        b = api(hubspot_simulator, "GET", f"/crm/v3/objects/{name}?limit=5").json()
        assert a["results"] == b["results"]
        assert a["results"]
    assert api(hubspot_simulator, "GET", "/crm/v3/objects/widgets").status_code == 400


def test_embedded_associations_shape(hubspot_simulator):
    sim = hubspot_simulator
    body = api(sim, "GET", "/crm/v3/objects/contacts?limit=100&associations=deals,calls,unknownthing").json()
    with_deals = [o for o in body["results"] if "associations" in o and "deals" in o["associations"]]
    assert with_deals
    for obj in with_deals:
        entry = obj["associations"]["deals"]
        assert all(x["type"] == "contact_to_deal" and isinstance(x["id"], str) for x in entry["results"])
        expected = sim.portal.get_object("contacts", obj["id"])["associations"]["deals"]
        assert [x["id"] for x in entry["results"]] == expected
    without = [o for o in body["results"] if "associations" not in o]
    assert without, "objects without associations carry no associations key"
    calls = api(sim, "GET", "/crm/v3/objects/calls?limit=100&associations=contacts").json()["results"]
    linked = [c for c in calls if "associations" in c]
    assert 0.7 * len(calls) < len(linked) < len(calls)
    assert linked[0]["associations"]["contacts"]["results"][0]["type"] == "call_to_contact"


def test_embedded_associations_paging(make_simulator):
    sim = make_simulator(embedded_associations_limit=2)
    whale = max(ids(sim, "contacts"), key=lambda i: len(sim.portal.associated_ids("contacts", i, "deals")))
    deals = sim.portal.associated_ids("contacts", whale, "deals")
    assert len(deals) > 2
    obj = api(sim, "GET", f"/crm/v3/objects/contacts/{whale}?associations=deals").json()
    entry = obj["associations"]["deals"]
    assert len(entry["results"]) == 2
    rest = api(sim, "GET", entry["paging"]["next"]["link"]).json()
    got = [x["id"] for x in entry["results"]] + [str(x["toObjectId"]) for x in rest["results"]]
    assert got == [str(i) for i in deals]


def test_archived_listing(hubspot_simulator):
    sim = hubspot_simulator
    live = api(sim, "GET", "/crm/v3/objects/contacts?limit=100").json()["results"]
    assert all(o["archived"] is False and "archivedAt" not in o for o in live)
    arch = api(sim, "GET", "/crm/v3/objects/contacts?limit=100&archived=true").json()["results"]
    assert len(arch) == sim.portal.counts(archived=True)["contacts"] > 0
    for o in arch:
        assert o["archived"] is True
        assert parse_dt(o["archivedAt"]) is not None
    live_ids = {o["id"] for o in live}
    assert not live_ids & {o["id"] for o in arch}


def test_get_single_object_and_404(hubspot_simulator):
    sim = hubspot_simulator
    some = ids(sim, "contacts")[16]
    r = api(sim, "GET", f"/crm/v3/objects/contacts/{some}?properties=email")
    assert r.status_code == 200
    assert r.json()["id"] == str(some)
    r = api(sim, "GET", f"/crm/v3/objects/contacts/{unused_id(sim, 'contacts')}")
    assert r.status_code == 404
    assert r.json() == {
        "status": "error",
        "message": "resource not found",
        "correlationId": r.headers["X-HubSpot-Correlation-Id"],
    }


def test_full_page_with_all_properties_is_json_safe(make_simulator):
    sim = make_simulator(contacts=3000)
    names = [p["name"] for p in sim.portal.property_definitions("contacts")]
    raw = api(
        sim,
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": str(i)} for i in ids(sim, "contacts")[:100]], "properties": names},
    ).content
    json.loads(raw)


def test_properties_with_history(hubspot_simulator):
    sim = hubspot_simulator
    assert api(sim, "GET", "/crm/v3/objects/deals?limit=51&propertiesWithHistory=amount").status_code == 400
    body = api(sim, "GET", "/crm/v3/objects/deals?limit=50&propertiesWithHistory=amount,closedate").json()
    for obj in body["results"]:
        hist = obj["propertiesWithHistory"]
        assert set(hist) == {"amount", "closedate"}
        for entries in hist.values():
            for e in entries:
                assert e["timestamp"] == obj["updatedAt"]
                assert isinstance(e["value"], str)
