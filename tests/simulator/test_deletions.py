"""Hard deletions leave no trace, and batch reads answer 207 for what changed since the list
[hubspot-api.md §13 "Hard deletes leave no trace", "Partial batch answers"]."""

from __future__ import annotations

from .conftest import api, ctl, ids, list_all, search
from .test_merges import merge


def everywhere(sim, object_type: str, obj_id: int) -> dict[str, bool]:
    """Where an id still shows up through the API."""
    listed, _ = list_all(sim, f"/crm/v3/objects/{object_type}?limit=100")
    archived, _ = list_all(sim, f"/crm/v3/objects/{object_type}?limit=100&archived=true")
    flt = [{"propertyName": "hs_object_id", "operator": "EQ", "value": str(obj_id)}]
    batch = api(
        sim, "POST", f"/crm/v3/objects/{object_type}/batch/read", json={"inputs": [{"id": str(obj_id)}]}
    ).json()
    batch_archived = api(
        sim,
        "POST",
        f"/crm/v3/objects/{object_type}/batch/read?archived=true",
        json={"inputs": [{"id": str(obj_id)}]},
    ).json()
    return {
        "list": obj_id in listed,
        "archived list": obj_id in archived,
        "search": search(sim, object_type, filterGroups=[{"filters": flt}]).json()["total"] > 0,
        "get": api(sim, "GET", f"/crm/v3/objects/{object_type}/{obj_id}").status_code != 404,
        "get archived": api(sim, "GET", f"/crm/v3/objects/{object_type}/{obj_id}?archived=true").status_code
        != 404,
        "batch read": bool(batch["results"]),
        "batch read archived": bool(batch_archived["results"]),
    }


def test_a_hard_deleted_record_vanishes_from_every_endpoint(hubspot_simulator):
    sim = hubspot_simulator
    live = ids(sim, "contacts")
    contact = next(i for i in live if sim.portal.associated_ids("contacts", i, "deals"))
    deals = sim.portal.associated_ids("contacts", contact, "deals")
    binned = ids(sim, "contacts", archived=True)[0]
    assert any(everywhere(sim, "contacts", contact).values())
    assert everywhere(sim, "contacts", binned)["archived list"]
    counts = sim.portal.counts(), sim.portal.counts(archived=True)

    assert ctl(sim, "DELETE", f"/objects/contacts/{contact}").status_code == 204  # GDPR delete
    assert ctl(sim, "DELETE", f"/objects/contacts/{binned}").status_code == 204  # purged from the bin
    sim.portal.flush_indexing()  # search forgets them once the index catches up (test_indexing.py)

    for gone in (contact, binned):
        assert everywhere(sim, "contacts", gone) == dict.fromkeys(everywhere(sim, "contacts", gone), False)
        assert api(sim, "GET", f"/crm/v4/objects/contacts/{gone}/associations/deals").status_code == 404
    for deal in deals:
        assert contact not in sim.portal.associated_ids("deals", deal, "contacts")
    assert sim.portal.counts()["contacts"] == counts[0]["contacts"] - 1
    assert sim.portal.counts(archived=True)["contacts"] == counts[1]["contacts"] - 1
    truth = ctl(sim, "GET", "/truth/contacts").json()
    assert truth["deleted"] == sorted([contact, binned])
    assert contact not in truth["live_ids"]
    assert binned not in truth["archived_ids"]
    assert ctl(sim, "DELETE", f"/objects/contacts/{contact}").status_code == 400  # gone is gone


def test_purging_the_recycle_bin_hard_deletes_what_was_archived_before_a_time(hubspot_simulator):
    sim = hubspot_simulator
    binned = ids(sim, "contacts", archived=True)
    assert len(binned) >= 2
    stamps = sorted(sim.portal.get_object("contacts", i)["archivedAt"] for i in binned)
    cutoff = stamps[len(stamps) // 2]
    older = [i for i in binned if sim.portal.get_object("contacts", i)["archivedAt"] < cutoff]
    assert older
    purged = ctl(sim, "POST", "/objects/contacts/purge", json={"archived_before": cutoff}).json()
    assert sorted(purged["deleted"]) == sorted(older)
    assert ids(sim, "contacts", archived=True) == [i for i in binned if i not in older]
    rest = ctl(sim, "POST", "/objects/contacts/purge", json={}).json()["deleted"]
    assert ids(sim, "contacts", archived=True) == []
    assert sorted(sim.portal.deleted_ids("contacts")) == sorted(binned)
    assert sorted(older + rest) == sorted(binned)


def test_batch_read_answers_207_for_ids_archived_or_deleted_since_the_list_and_merged_ids_by_their_merge(
    hubspot_simulator,
):
    sim = hubspot_simulator
    page = [int(o["id"]) for o in api(sim, "GET", "/crm/v3/objects/contacts?limit=10").json()["results"]]
    archived, deleted, kept, absorbed = page[0], page[1], page[2], page[3]
    ctl(sim, "POST", f"/objects/contacts/{archived}/archive", json={})
    ctl(sim, "DELETE", f"/objects/contacts/{deleted}")
    new = int(merge(sim, "contacts", kept, absorbed)["id"])

    r = api(
        sim,
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": str(i)} for i in page], "properties": ["email"]},
    )
    assert r.status_code == 207
    body = r.json()
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert sorted(body["errors"][0]["context"]["ids"]) == sorted([str(archived), str(deleted)])
    got = {o["id"] for o in body["results"]}
    assert got == {str(new)} | {str(i) for i in page[4:]}
    merged = next(o for o in body["results"] if o["id"] == str(new))
    assert (
        merged["properties"]["email"] == sim.portal.render("contacts", new, ["email"])["properties"]["email"]
    )
    again = api(
        sim,
        "POST",
        "/crm/v3/objects/contacts/batch/read?archived=true",
        json={"inputs": [{"id": str(archived)}, {"id": str(kept)}]},
    ).json()
    assert [o["id"] for o in again["results"]] == [str(archived)]  # a merged id has no archived record
    assert again["errors"][0]["context"]["ids"] == [str(kept)]
