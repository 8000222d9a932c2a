"""propertiesWithHistory: every value a property had, newest first, on list (limit <= 50), batch read
(<= 50 inputs), and single reads; stage-like properties have a past, changes and merges add to it
[hubspot-api.md §2.1-2.2]."""

from __future__ import annotations

from tests.hubspot_simulator.labels import LIFECYCLE, PIPELINES

from .conftest import api, ctl, ids, list_all, parse_dt
from .test_merges import merge


def history_of(sim, object_type: str, obj_id: int, prop: str) -> list[dict]:
    r = api(
        sim, "GET", f"/crm/v3/objects/{object_type}/{obj_id}?propertiesWithHistory={prop}&properties={prop}"
    )
    assert r.status_code == 200
    return r.json()["propertiesWithHistory"][prop]


def test_deal_stage_history_walks_the_pipeline_newest_first_and_ends_at_the_current_stage(make_simulator):
    sim = make_simulator(deals=200)
    url = "/crm/v3/objects/deals?limit=50&properties=dealstage,pipeline&propertiesWithHistory=dealstage"
    walked = 0
    while url:
        body = api(sim, "GET", url).json()
        for deal in body["results"]:
            entries = deal["propertiesWithHistory"]["dealstage"]
            stages = [e["value"] for e in entries]
            stamps = [parse_dt(e["timestamp"]) for e in entries]
            assert stages[0] == deal["properties"]["dealstage"]  # the newest is the current value
            assert stamps == sorted(stamps, reverse=True)
            assert parse_dt(deal["createdAt"]) <= stamps[-1] <= stamps[0] <= parse_dt(deal["updatedAt"])
            assert {"value", "timestamp", "sourceType", "sourceId", "updatedByUserId"} <= set(entries[0])
            pipeline = next(p for p in PIPELINES["deals"] if p.id == deal["properties"]["pipeline"])
            order = [s.id for s in pipeline.stages]
            earlier = stages[1:]
            assert all(s in order for s in earlier)
            assert [order.index(s) for s in reversed(earlier)] == sorted(order.index(s) for s in earlier)
            walked += len(entries) > 1
        url = body.get("paging", {}).get("next", {}).get("link", "")
    assert walked > 20


def test_changes_add_entries_and_merges_keep_both_histories(hubspot_simulator):
    sim = hubspot_simulator
    contact = next(
        i for i in ids(sim, "contacts") if len(history_of(sim, "contacts", i, "lifecyclestage")) > 1
    )
    before = history_of(sim, "contacts", contact, "lifecyclestage")
    assert all(e["value"] in LIFECYCLE for e in before)
    ctl(
        sim,
        "PATCH",
        f"/objects/contacts/{contact}",
        json={"properties": {"lifecyclestage": "evangelist"}, "timestamp": "2031-01-01T00:00:00Z"},
    )
    after = history_of(sim, "contacts", contact, "lifecyclestage")
    assert after[0]["value"] == "evangelist"
    assert after[0]["timestamp"] == "2031-01-01T00:00:00Z"
    assert after[1:] == before
    other = next(i for i in ids(sim, "contacts") if i != contact)
    theirs = history_of(sim, "contacts", other, "lifecyclestage")
    new = int(merge(sim, "contacts", contact, other)["id"])
    merged = history_of(sim, "contacts", new, "lifecyclestage")
    assert merged[0]["value"] == "evangelist"  # the primary's value is the current one
    stamps = {e["timestamp"] for e in merged}
    assert {e["timestamp"] for e in after + theirs} <= stamps


def test_history_page_and_batch_limits_are_50(hubspot_simulator):
    sim = hubspot_simulator
    assert api(sim, "GET", "/crm/v3/objects/contacts?limit=51&propertiesWithHistory=email").status_code == 400
    got, _ = list_all(sim, "/crm/v3/objects/contacts?limit=50&propertiesWithHistory=email")
    assert got == ids(sim, "contacts")
    batch = "/crm/v3/objects/contacts/batch/read"
    inputs = [{"id": str(i)} for i in ids(sim, "contacts")[:51]]
    too_many = api(sim, "POST", batch, json={"inputs": inputs, "propertiesWithHistory": ["email"]})
    assert too_many.status_code == 400
    assert "property histories is 50" in too_many.json()["message"]
    ok = api(sim, "POST", batch, json={"inputs": inputs[:50], "propertiesWithHistory": ["email"]})
    assert ok.status_code in (200, 207)
    assert all("email" in o["propertiesWithHistory"] for o in ok.json()["results"])
    assert api(sim, "POST", batch, json={"inputs": inputs}).status_code in (200, 207)  # 100 without history
