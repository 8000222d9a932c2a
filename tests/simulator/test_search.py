from __future__ import annotations

import json

import pytest

from .conftest import api, ids, parse_dt


def search(sim, obj="contacts", **body):
    return api(sim, "POST", f"/crm/v3/objects/{obj}/search", json=body)


def gte(prop, value):
    return {"filterGroups": [{"filters": [{"propertyName": prop, "operator": "GTE", "value": str(value)}]}]}


def test_incremental_search_pages_sorted_by_modified(hubspot_simulator):
    sim = hubspot_simulator
    seen, after, total = [], None, None
    while True:
        body = {
            **gte("lastmodifieddate", 0),
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": 60,
        }
        if after:
            body["after"] = after
        r = search(sim, **body)
        assert r.status_code == 200
        assert not any(h.lower().startswith("x-hubspot-ratelimit") for h in r.headers)
        data = r.json()
        total = data["total"]
        for o in data["results"]:
            assert "associations" not in o
            seen.append((parse_dt(o["properties"]["lastmodifieddate"]), int(o["id"])))
        nxt = data.get("paging", {}).get("next")
        if not nxt:
            break
        assert set(nxt) == {"after"}
        after = nxt["after"]
    assert total == len(seen) == sim.portal.counts()["contacts"]
    assert [m for m, _ in seen] == sorted(m for m, _ in seen)
    assert len({m for m, _ in seen}) < len(seen), "many objects share a modified timestamp"


def test_contacts_hs_lastmodifieddate_matches_nothing_but_deals_work(hubspot_simulator):
    sim = hubspot_simulator
    r = search(sim, "contacts", **gte("hs_lastmodifieddate", 0))
    assert r.status_code == 200
    assert r.json() == {"total": 0, "results": []}
    assert (
        search(sim, "deals", **gte("hs_lastmodifieddate", 0)).json()["total"] == sim.portal.counts()["deals"]
    )
    assert (
        search(sim, "calls", **gte("hs_lastmodifieddate", 0)).json()["total"] == sim.portal.counts()["calls"]
    )


def test_range_operators_on_modified_date(hubspot_simulator):
    sim = hubspot_simulator
    mods = sorted(sim.portal.modified_ms("deals", i) for i in sim.portal.iter_ids("deals"))
    pivot = mods[len(mods) // 2]

    def count(op, **extra):
        f = {"propertyName": "hs_lastmodifieddate", "operator": op, "value": str(pivot), **extra}
        return search(sim, "deals", filterGroups=[{"filters": [f]}]).json()["total"]

    assert count("GTE") == sum(m >= pivot for m in mods)
    assert count("GT") == sum(m > pivot for m in mods)
    assert count("LT") == sum(m < pivot for m in mods)
    assert count("LTE") == sum(m <= pivot for m in mods)
    assert count("EQ") == sum(m == pivot for m in mods)
    assert count("BETWEEN", highValue=str(mods[-5])) == sum(pivot <= m <= mods[-5] for m in mods)
    # ISO values accepted too
    iso = sim.portal.render("deals", ids(sim, "deals")[0], ["hs_lastmodifieddate"])["updatedAt"]
    f = {"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": iso}
    assert search(sim, "deals", filterGroups=[{"filters": [f]}]).json()["total"] >= 1


def test_object_id_filters_or_groups_and_top_level_filters(hubspot_simulator):
    sim = hubspot_simulator
    every = sorted(ids(sim, "contacts") + ids(sim, "contacts", archived=True))
    groups = [
        {
            "filters": [
                {"propertyName": "hs_object_id", "operator": "GTE", "value": str(every[9])},
                {"propertyName": "hs_object_id", "operator": "LT", "value": str(every[19])},
            ]
        },
        {
            "filters": [
                {
                    "propertyName": "hs_object_id",
                    "operator": "IN",
                    "values": [str(every[99]), str(every[149])],
                }
            ]
        },
    ]
    data = search(
        sim,
        "contacts",
        filterGroups=groups,
        limit=100,
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
    ).json()
    expected = [i for i in every[9:19] if not sim.portal.is_archived("contacts", i)]
    expected += [i for i in (every[99], every[149]) if not sim.portal.is_archived("contacts", i)]
    assert [int(o["id"]) for o in data["results"]] == expected
    top = search(
        sim,
        "contacts",
        filters=[{"propertyName": "hs_object_id", "operator": "GT", "value": str(every[189])}],
        sorts=['{"propertyName":"hs_object_id","direction":"DESCENDING"}'],
        limit=100,
    ).json()
    found = [int(o["id"]) for o in top["results"]]
    assert found == [i for i in reversed(ids(sim, "contacts")) if i > every[189]]


def test_value_operators(hubspot_simulator):
    sim = hubspot_simulator
    objs = list(sim.portal.iter_objects("deals"))

    def total(f):
        return search(sim, "deals", filterGroups=[{"filters": [f]}]).json()["total"]

    assert total({"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"}) == sum(
        o["properties"]["dealstage"] == "closedwon" for o in objs
    )
    assert total({"propertyName": "dealstage", "operator": "NEQ", "value": "closedwon"}) == sum(
        o["properties"]["dealstage"] != "closedwon" for o in objs
    )
    assert total({"propertyName": "closedate", "operator": "HAS_PROPERTY"}) == sum(
        bool(o["properties"]["closedate"]) for o in objs
    )
    assert total({"propertyName": "closedate", "operator": "NOT_HAS_PROPERTY"}) == sum(
        not o["properties"]["closedate"] for o in objs
    )
    assert total({"propertyName": "payment_status", "operator": "IN", "values": ["paid", "refunded"]}) == sum(
        o["properties"]["payment_status"] in ("paid", "refunded") for o in objs
    )


def test_properties_nulls_and_defaults(hubspot_simulator):
    sim = hubspot_simulator
    data = search(sim, "deals", properties=["closedate", "amount", "not_a_property"], limit=200).json()
    for o in data["results"]:
        assert "not_a_property" not in o["properties"]
        assert "closedate" in o["properties"]
    assert any(o["properties"]["closedate"] is None for o in data["results"])
    dflt = search(sim, "calls", limit=1).json()["results"][0]
    assert set(dflt["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}


def test_archived_never_in_search(hubspot_simulator):
    sim = hubspot_simulator
    archived = {str(i) for i in sim.portal.iter_ids("contacts", archived=True)}
    assert archived
    data = search(sim, "contacts", limit=200, **gte("lastmodifieddate", 0)).json()
    data2 = search(sim, "contacts", limit=200, after="200", **gte("lastmodifieddate", 0)).json()
    assert not archived & {o["id"] for o in data["results"] + data2["results"]}


def test_ten_thousand_cap(make_simulator):
    sim = make_simulator(contacts=10_300, deals=0, calls=0, archived_fraction=0.0)
    body = {**gte("lastmodifieddate", 0), "limit": 100}
    r = search(sim, after="10000", **body)
    assert r.status_code == 400
    assert r.json()["category"] == "VALIDATION_ERROR"
    data = search(sim, after="9950", **body).json()
    assert data["total"] == 10300
    assert len(data["results"]) == 50
    assert data["paging"]["next"]["after"] == "10000"  # a cursor HubSpot then refuses
    assert search(sim, after=data["paging"]["next"]["after"], **body).status_code == 400
    data = search(sim, after="9800", limit=200, **gte("lastmodifieddate", 0)).json()
    assert len(data["results"]) == 200
    assert data["paging"]["next"]["after"] == "10000"


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {"after": "abc"},
        {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "1"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}]}] * 6},
        {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}] * 7}]},
        {"query": "x" * 3001},
    ],
)
def test_search_validation_errors(hubspot_simulator, body):
    r = search(hubspot_simulator, **body)
    assert r.status_code == 400
    assert r.json()["category"] == "VALIDATION_ERROR"


def test_malformed_json(hubspot_simulator):
    r = api(
        hubspot_simulator,
        "POST",
        "/crm/v3/objects/contacts/search",
        data="{bad",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["message"].startswith("Invalid input JSON on line 1")
    assert "category" not in body


def test_search_json_sort_string_and_direction(hubspot_simulator):
    data = search(
        hubspot_simulator,
        "deals",
        limit=50,
        sorts=[json.dumps({"propertyName": "createdate", "direction": "DESCENDING"})],
    ).json()
    created = [parse_dt(o["properties"]["createdate"]) for o in data["results"]]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
def test_fast_path_equals_general_path(hubspot_simulator, direction):
    sim = hubspot_simulator
    mods = sorted(sim.portal.modified_ms("contacts", i) for i in sim.portal.iter_ids("contacts"))
    window = [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(mods[20])},
        {"propertyName": "lastmodifieddate", "operator": "LT", "value": str(mods[150])},
    ]
    sort = [{"propertyName": "lastmodifieddate", "direction": direction}]
    fast = search(sim, filterGroups=[{"filters": window}], sorts=sort, limit=200).json()
    general = search(
        sim,
        filterGroups=[{"filters": [*window, {"propertyName": "hs_object_id", "operator": "HAS_PROPERTY"}]}],
        sorts=sort,
        limit=200,
    ).json()
    assert fast["total"] == general["total"] == sum(mods[20] <= m < mods[150] for m in mods)
    assert [o["id"] for o in fast["results"]] == [o["id"] for o in general["results"]]
