from __future__ import annotations

from .conftest import api, ctl, ids, search, unused_id


def test_batch_read_200_and_207(hubspot_simulator):
    sim = hubspot_simulator
    first, second = (str(i) for i in ids(sim, "contacts")[:2])
    r = api(
        sim,
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": first}, {"id": second}], "properties": ["email", "phone"]},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "COMPLETE"
    assert {"startedAt", "completedAt"} <= set(body)
    assert sorted(o["id"] for o in body["results"]) == sorted([first, second])
    assert "X-HubSpot-RateLimit-Remaining" in r.headers
    call, missing = ids(sim, "calls")[2], unused_id(sim, "calls")
    r = api(
        sim,
        "POST",
        "/crm/v3/objects/calls/batch/read",
        json={"inputs": [{"id": str(call)}, {"id": str(missing)}]},
    )
    assert r.status_code == 207
    body = r.json()
    assert [o["id"] for o in body["results"]] == [str(call)]
    assert body["numErrors"] == 1
    err = body["errors"][0]
    assert err["category"] == "OBJECT_NOT_FOUND"
    assert err["context"] == {"ids": [str(missing)]}
    assert err["message"].startswith("Could not get some CALL objects")


def test_batch_read_limits_and_archived(hubspot_simulator):
    sim = hubspot_simulator
    r = api(
        sim,
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(101)]},
    )
    assert r.status_code == 400
    arch = next(iter(sim.portal.iter_ids("contacts", archived=True)))
    r = api(sim, "POST", "/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": str(arch)}]})
    assert r.status_code == 207
    r = api(
        sim, "POST", "/crm/v3/objects/contacts/batch/read?archived=true", json={"inputs": [{"id": str(arch)}]}
    )
    assert r.status_code == 200
    assert r.json()["results"][0]["archived"] is True


def test_v4_associations_batch_read_and_paging(make_simulator):
    sim = make_simulator(association_page_size=3)
    whale = str(ids(sim, "contacts")[0])  # the first contact has ~10% of all deals
    expected = sim.portal.associated_ids("contacts", whale, "deals")
    assert len(expected) > 3
    got: list[int] = []
    after = None
    while True:
        item = {"id": whale} if after is None else {"id": whale, "after": after}
        r = api(sim, "POST", "/crm/v4/associations/contacts/deals/batch/read", json={"inputs": [item]})
        assert r.status_code == 200
        (res,) = r.json()["results"]
        assert res["from"] == {"id": whale}
        for t in res["to"]:
            assert isinstance(t["toObjectId"], int)
            assert t["associationTypes"] == [{"category": "HUBSPOT_DEFINED", "typeId": 4, "label": None}]
            got.append(t["toObjectId"])
        nxt = res.get("paging", {}).get("next")
        if not nxt:
            break
        after = nxt["after"]
    assert got == expected


def test_v4_associations_missing_and_limits(hubspot_simulator):
    sim = hubspot_simulator
    contacts = ids(sim, "contacts")
    lonely = next(i for i in contacts if not sim.portal.associated_ids("contacts", i, "deals"))
    r = api(
        sim,
        "POST",
        "/crm/v4/associations/contact/deal/batch/read",
        json={"inputs": [{"id": str(contacts[0])}, {"id": str(lonely)}]},
    )
    assert r.status_code == 207
    assert [x["from"]["id"] for x in r.json()["results"]] == [str(contacts[0])]
    assert r.json()["errors"][0]["context"] == {"fromObjectId": [str(lonely)]}
    r = api(
        sim,
        "POST",
        "/crm/v4/associations/calls/contacts/batch/read",
        json={"inputs": [{"id": str(i)} for i in ids(sim, "calls")]},
    )
    assert r.json()["results"]
    for res in r.json()["results"]:
        assert res["to"][0]["associationTypes"][0]["typeId"] == 194
    r = api(
        sim,
        "POST",
        "/crm/v4/associations/0-48/0-1/batch/read",
        json={"inputs": [{"id": str(i)} for i in range(1001)]},
    )
    assert r.status_code == 400


def test_properties_endpoint(make_simulator):
    sim = make_simulator(extra_properties=50)
    for name in ("contacts", "contact", "0-1"):
        r = api(sim, "GET", f"/crm/v3/properties/{name}")
        assert r.status_code == 200
        assert "paging" not in r.json()
    props = {p["name"]: p for p in api(sim, "GET", "/crm/v3/properties/contacts").json()["results"]}
    for p in props.values():
        assert {
            "name",
            "label",
            "type",
            "fieldType",
            "groupName",
            "description",
            "options",
            "displayOrder",
            "calculated",
            "hasUniqueValue",
            "hidden",
            "modificationMetadata",
            "formField",
        } <= set(p)
    assert props["email"]["hubspotDefined"] is True
    assert "hubspotDefined" not in props["vsl_watched"]
    assert props["vsl_watched"]["type"] == "bool"
    assert props["vsl_watch_duration"]["type"] == "number"
    assert props["lifecyclestage"]["options"][0]["value"] == "subscriber"
    assert props["hs_lastmodifieddate"]["hidden"] is True
    assert sum(1 for n in props if n.endswith(tuple(f"_{i:04d}" for i in range(50)))) == 50
    assert max(len(n) for n in props) > 40
    deals = {p["name"]: p for p in api(sim, "GET", "/crm/v3/properties/deal").json()["results"]}
    for custom in ("qualified_status", "trial_status", "payment_status"):
        assert deals[custom]["type"] == "enumeration"
        assert deals[custom]["options"]
        assert "hubspotDefined" not in deals[custom]
    calls = {p["name"] for p in api(sim, "GET", "/crm/v3/properties/calls").json()["results"]}
    assert {
        "hs_timestamp",
        "hs_call_duration",
        "hs_call_to_number",
        "hs_call_from_number",
        "hs_call_direction",
        "hs_call_status",
        "hs_call_title",
        "hs_call_body",
        "hs_call_disposition",
        "hubspot_owner_id",
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    } <= calls
    # extra property values are served on request
    names = [n for n in props if n.endswith(("_0000", "_0001"))]
    objs = api(sim, "GET", f"/crm/v3/objects/contacts?limit=100&properties={','.join(names)}").json()[
        "results"
    ]
    assert any(o["properties"][names[0]] is not None for o in objs)


def test_association_edits_leave_both_records_modified_dates_alone(hubspot_simulator):
    """[hubspot-api.md §13 "Association edits do not move modified dates"]: an incremental read keyed on the
    modified date never sees them; only association reads do."""
    sim = hubspot_simulator
    contact = ids(sim, "contacts")[3]
    deal = next(
        d for d in ids(sim, "deals") if d not in sim.portal.associated_ids("contacts", contact, "deals")
    )

    def state() -> tuple:
        c = api(sim, "GET", f"/crm/v3/objects/contacts/{contact}?properties=num_associated_deals").json()
        d = api(sim, "GET", f"/crm/v3/objects/deals/{deal}?properties=num_associated_contacts").json()
        return c["updatedAt"], c["properties"], d["updatedAt"], d["properties"]

    def v4(from_type: str, from_id: int, to_type: str) -> list[int]:
        r = api(sim, "GET", f"/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}").json()
        return [int(x["toObjectId"]) for x in r["results"]]

    before = state()
    since = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(sim.portal.anchor_ms)}
    assert ctl(sim, "PUT", f"/associations/contacts/{contact}/deals/{deal}").status_code == 200
    assert deal in v4("contacts", contact, "deals")
    assert contact in v4("deals", deal, "contacts")
    assert state() == before
    assert search(sim, "contacts", filterGroups=[{"filters": [since]}]).json()["total"] == 0
    assert ctl(sim, "DELETE", f"/associations/contacts/{contact}/deals/{deal}").status_code == 200
    assert deal not in v4("contacts", contact, "deals")
    assert state() == before
