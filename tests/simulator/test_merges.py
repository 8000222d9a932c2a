"""Merges create a new record [hubspot-api.md §13 "Merges create a new record", §10]."""

from __future__ import annotations

from .conftest import api, ctl, ids, list_all, parse_dt, search, unused_id

TYPES = ("deals", "calls", "companies", "tickets", "meetings")


def merge(sim, object_type: str, primary: int, other: int, **extra) -> dict:
    r = ctl(
        sim,
        "POST",
        f"/objects/{object_type}/merge",
        json={"primaryObjectId": str(primary), "objectIdToMerge": str(other), **extra},
    )
    assert r.status_code == 201, r.text
    return r.json()


def associations(sim, object_type: str, obj_id: int) -> dict[str, set[int]]:
    return {t: set(sim.portal.associated_ids(object_type, obj_id, t)) for t in (*TYPES, "contacts")}


def two_contacts(sim) -> tuple[int, int]:
    """A contact with deals (the first one has many) and one with calls, neither merged before history."""
    live = ids(sim, "contacts")

    def plain(i: int) -> bool:
        return not sim.portal.render("contacts", i, ["hs_merged_object_ids"])["properties"][
            "hs_merged_object_ids"
        ]

    with_calls = next(i for i in live[1:] if plain(i) and sim.portal.associated_ids("contacts", i, "calls"))
    assert plain(live[0])
    assert sim.portal.associated_ids("contacts", live[0], "deals")
    return live[0], with_calls


def test_merge_creates_a_new_record_and_both_old_ids_answer_with_it(hubspot_simulator):
    sim = hubspot_simulator
    a, b = two_contacts(sim)
    first, second = sim.portal.get_object("contacts", a), sim.portal.get_object("contacts", b)
    linked_a, linked_b = associations(sim, "contacts", a), associations(sim, "contacts", b)
    highest = unused_id(sim, "contacts") - 1
    live_before = sim.portal.counts()["contacts"]

    new = merge(sim, "contacts", a, b, timestamp="2030-01-02T03:04:05.678Z")
    n = int(new["id"])
    assert n > highest  # a new id above every id so far

    # the new record: the primary's values (the other's fill gaps), the old ids, dates
    props = new["properties"]
    assert props["hs_merged_object_ids"] == f"{min(a, b)};{max(a, b)}"
    assert props["hs_object_id"] == str(n)
    for name, value in first["properties"].items():
        if name in ("hs_object_id", "hs_merged_object_ids", "hs_all_contact_vids", "lastmodifieddate"):
            continue
        if name in ("hs_lastmodifieddate", "createdate"):
            continue
        assert props[name] == (value if value not in (None, "") else second["properties"][name]), name
    assert new["updatedAt"] == "2030-01-02T03:04:05.678Z" == props["lastmodifieddate"]
    assert parse_dt(new["createdAt"]) == min(parse_dt(first["createdAt"]), parse_dt(second["createdAt"]))

    # both old ids leave the list (live and archived: no tombstone) and search; the new one is in both
    sim.portal.flush_indexing()  # search follows once the index catches up (test_indexing.py)
    listed, _ = list_all(sim, "/crm/v3/objects/contacts?limit=100")
    archived, _ = list_all(sim, "/crm/v3/objects/contacts?limit=100&archived=true")
    assert n in listed
    assert not {a, b} & (set(listed) | set(archived))
    by_id = [{"propertyName": "hs_object_id", "operator": "IN", "values": [str(a), str(b), str(n)]}]
    assert [o["id"] for o in search(sim, filterGroups=[{"filters": by_id}]).json()["results"]] == [str(n)]
    assert sim.portal.counts()["contacts"] == live_before - 1

    # reads by an old id answer with the new record, under the new id
    for old in (a, b):
        got = api(sim, "GET", f"/crm/v3/objects/contacts/{old}?properties=email")
        assert got.status_code == 200
        assert got.json()["id"] == str(n)
        assert api(sim, "GET", f"/crm/v3/objects/contacts/{old}?archived=true").status_code == 404
    batch = api(
        sim, "POST", "/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": str(a)}, {"id": str(b)}]}
    )
    assert batch.status_code == 200  # every id answered: the client must notice the other id
    assert [o["id"] for o in batch.json()["results"]] == [str(n)]

    # associations of both move to the new record; reads by an old id come back empty
    assert associations(sim, "contacts", n) == {t: linked_a[t] | linked_b[t] for t in linked_a}
    for deal in linked_a["deals"]:
        assert n in sim.portal.associated_ids("deals", deal, "contacts")
        assert a not in sim.portal.associated_ids("deals", deal, "contacts")
    v4 = api(
        sim,
        "POST",
        "/crm/v4/associations/contacts/deals/batch/read",
        json={"inputs": [{"id": str(a)}, {"id": str(n)}]},
    ).json()
    assert [r["from"]["id"] for r in v4["results"]] == [str(n)]
    assert v4["errors"][0]["context"] == {"fromObjectId": [str(a)]}
    empty = api(sim, "GET", f"/crm/v4/objects/contacts/{a}/associations/deals")
    assert empty.status_code == 200
    assert empty.json()["results"] == []

    # ground truth
    truth = ctl(sim, "GET", "/truth/contacts").json()
    assert truth["merged"] == {str(a): n, str(b): n}
    assert n in truth["live_ids"]
    assert a not in truth["live_ids"]
    assert b not in truth["live_ids"]
    assert truth["deleted"] == []
    assert sim.truth("contacts") == truth


def test_a_merged_record_merges_again_and_old_ids_follow(hubspot_simulator):
    sim = hubspot_simulator
    a, b = two_contacts(sim)
    n = int(merge(sim, "contacts", a, b)["id"])
    c = next(i for i in ids(sim, "contacts") if i not in (a, b, n))
    m = merge(sim, "contacts", c, n)
    merged = {int(x) for x in m["properties"]["hs_merged_object_ids"].split(";")}
    assert {a, b, c, n} <= merged
    for old in (a, b, c, n):
        assert api(sim, "GET", f"/crm/v3/objects/contacts/{old}").json()["id"] == m["id"]
    assert sim.portal.merged_ids("contacts") == {
        a: int(m["id"]),
        b: int(m["id"]),
        c: int(m["id"]),
        n: int(m["id"]),
    }


def test_companies_and_deals_merge_the_same_way(hubspot_simulator):
    sim = hubspot_simulator
    for object_type in ("companies", "deals"):
        x, y = ids(sim, object_type)[:2]
        new = merge(sim, object_type, x, y)
        assert int(new["id"]) not in (x, y)
        assert api(sim, "GET", f"/crm/v3/objects/{object_type}/{y}").json()["id"] == new["id"]
        assert new["properties"]["hs_merged_object_ids"] == f"{x};{y}"


def test_merges_are_refused_where_hubspot_refuses_them(hubspot_simulator):
    sim = hubspot_simulator
    archived = ids(sim, "contacts", archived=True)[0]
    live = ids(sim, "contacts")
    calls = ids(sim, "calls")
    for object_type, primary, other in (
        ("contacts", live[0], archived),  # only live records merge
        ("contacts", live[0], live[0]),  # not with itself
        ("contacts", live[0], unused_id(sim, "contacts")),
        ("calls", calls[0], calls[1]),  # HubSpot merges contacts, companies and deals
    ):
        r = ctl(
            sim,
            "POST",
            f"/objects/{object_type}/merge",
            json={"primaryObjectId": str(primary), "objectIdToMerge": str(other)},
        )
        assert r.status_code == 400, (object_type, primary, other)
    assert sim.portal.merged_ids("contacts") == {}
