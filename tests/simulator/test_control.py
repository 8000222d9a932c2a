from __future__ import annotations

from .conftest import api, ctl, ids, parse_dt, unused_id


def test_modify_bumps_modified_date_and_shows_in_search(hubspot_simulator):
    sim = hubspot_simulator
    contact = ids(sim, "contacts")[4]
    before = api(sim, "GET", f"/crm/v3/objects/contacts/{contact}?properties=email").json()
    r = ctl(
        sim,
        "PATCH",
        f"/objects/contacts/{contact}",
        json={"properties": {"email": "new@example.com", "phone": None}},
    )
    assert r.status_code == 200
    after = api(sim, "GET", f"/crm/v3/objects/contacts/{contact}?properties=email,phone").json()
    assert after["properties"]["email"] == "new@example.com"
    assert after["properties"]["phone"] is None
    assert parse_dt(after["updatedAt"]) > parse_dt(before["updatedAt"])
    assert after["properties"]["lastmodifieddate"] == after["updatedAt"]
    sim.portal.flush_indexing()  # search shows the change once indexed (test_indexing.py covers the delay)
    flt = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "lastmodifieddate",
                        "operator": "GTE",
                        "value": str(sim.portal.anchor_ms),
                    }
                ]
            }
        ]
    }
    found = api(sim, "POST", "/crm/v3/objects/contacts/search", json=flt).json()
    assert [o["id"] for o in found["results"]] == [str(contact)]


def test_modify_with_explicit_timestamp(hubspot_simulator):
    sim = hubspot_simulator
    deal = ids(sim, "deals")[2]
    ctl(
        sim,
        "PATCH",
        f"/objects/deals/{deal}",
        json={"properties": {"amount": "1"}, "timestamp": "2030-01-01T00:00:00Z"},
    )
    obj = sim.portal.get_object("deals", deal)
    assert obj["updatedAt"] == "2030-01-01T00:00:00Z" == obj["properties"]["hs_lastmodifieddate"]
    assert obj["properties"]["amount"] == "1"


def test_create_archive_and_associate(hubspot_simulator):
    sim = hubspot_simulator
    highest = unused_id(sim, "calls") - 1
    contact = ids(sim, "contacts")[6]
    created = ctl(
        sim, "POST", "/objects/calls", json={"properties": {"hs_call_to_number": "+7 (912) 345-67-89"}}
    )
    assert created.status_code == 201
    cid = created.json()["id"]
    assert int(cid) > highest  # new records get ids above every id so far [hubspot-api.md §13]
    r = ctl(sim, "PUT", f"/associations/calls/{cid}/contacts/{contact}")
    assert r.json()["to"] == [str(contact)]
    listed = api(
        sim, "GET", f"/crm/v3/objects/calls?after={cid}&associations=contacts&properties=hs_call_to_number"
    )
    obj = listed.json()["results"][0]
    assert obj["id"] == cid
    assert obj["associations"]["contacts"]["results"][0]["id"] == str(contact)
    assert str(cid) in [str(x) for x in sim.portal.associated_ids("contacts", contact, "calls")]
    ctl(sim, "DELETE", f"/associations/calls/{cid}/contacts/{contact}")
    assert sim.portal.associated_ids("calls", int(cid), "contacts") == []
    r = ctl(sim, "POST", f"/objects/calls/{cid}/archive", json={})
    assert r.json()["archived"] is True
    assert api(sim, "GET", f"/crm/v3/objects/calls/{cid}").status_code == 404
    arch = api(sim, "GET", f"/crm/v3/objects/calls?archived=true&after={cid}").json()["results"]
    assert arch[0]["id"] == cid
    assert arch[0]["archivedAt"]
    search = api(
        sim,
        "POST",
        "/crm/v3/objects/calls/search",
        json={
            "filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": cid}]}]
        },
    ).json()
    assert search["total"] == 0


def test_stats_and_reset(hubspot_simulator):
    sim = hubspot_simulator
    api(sim, "GET", "/crm/v3/objects/contacts")
    api(sim, "POST", "/crm/v3/objects/contacts/search", json={})
    api(sim, "GET", "/crm/v3/properties/contacts")
    api(sim, "POST", "/crm/v4/associations/contacts/deals/batch/read", json={"inputs": [{"id": "1"}]})
    api(sim, "POST", "/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": "1"}]})
    stats = ctl(sim, "GET", "/stats").json()
    assert stats == sim.stats()
    assert stats["total"] == 5
    assert stats["by_kind"] == {"list": 1, "search": 1, "properties": 1, "associations": 1, "batch_read": 1}
    assert stats["rate_limited"]["total"] == 0
    log = ctl(sim, "GET", "/requests").json()["requests"]
    assert next(x["kind"] for x in log) == "list"
    ctl(sim, "POST", "/stats/reset")
    assert sim.stats()["total"] == 0


def test_config_endpoint(hubspot_simulator):
    cfg = ctl(hubspot_simulator, "GET", "/config").json()
    assert cfg["contacts"] == 200
    assert cfg["counts"]["contacts"] + cfg["archived_counts"]["contacts"] == 200
    assert cfg["object_types"]["calls"] == "0-48"
    assert "latency_ms" in cfg["runtime_fields"]


def test_control_errors(hubspot_simulator):
    missing = unused_id(hubspot_simulator, "contacts")
    assert (
        ctl(hubspot_simulator, "PATCH", f"/objects/contacts/{missing}", json={"properties": {}}).status_code
        == 400
    )
    assert ctl(hubspot_simulator, "GET", f"/objects/contacts/{missing}").status_code == 404
    assert ctl(hubspot_simulator, "POST", "/objects/widgets", json={}).status_code == 400
