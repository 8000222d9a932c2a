"""Id layouts and list cursors [hubspot-api.md §13 "Ids are sparse", §2.1]."""

from __future__ import annotations

import base64
import itertools

import pytest

from tests.hubspot_simulator import SimulatorConfig
from tests.hubspot_simulator.portal import Portal

from .conftest import api, ids, list_all


def every_id(p: Portal, object_type: str) -> list[int]:
    return sorted([*p.iter_ids(object_type), *p.iter_ids(object_type, archived=True)])


def portal(**overrides: object) -> Portal:
    base: dict[str, object] = {"contacts": 5000, "deals": 10, "calls": 10, "anchor_ms": 1_767_225_600_000}
    return Portal(SimulatorConfig(**{**base, **overrides}))  # type: ignore[arg-type]


def test_dense_ids_are_one_to_n():
    assert every_id(portal(id_layout="dense"), "contacts") == list(range(1, 5001))


def test_sparse_ids_are_small_and_close_first_then_ten_to_eleven_digits_with_large_gaps():
    found = every_id(portal(id_layout="sparse"), "contacts")
    assert len(found) == len(set(found)) == 5000
    early, later = found[:500], found[500:]
    assert early[-1] < 1_000_000
    assert max(b - a for a, b in itertools.pairwise(early)) <= 60
    assert all(10**9 <= i < 10**11 for i in later)
    gaps = [b - a for a, b in itertools.pairwise(later)]
    assert sum(g > 10_000_000 for g in gaps) >= 5  # clusters far apart: most of the id space is empty
    assert sorted(gaps)[len(gaps) // 2] < 5_000  # ... while records created together sit close
    assert (later[-1] - later[0]) / len(later) > 1_000_000  # average density says nothing about where ids are


def test_sparse_ids_are_deterministic_from_the_seed():
    first = every_id(portal(id_layout="sparse"), "contacts")
    assert every_id(portal(id_layout="sparse"), "contacts") == first
    assert every_id(portal(id_layout="sparse", seed=2), "contacts") != first


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_ids_merged_before_history_name_no_existing_record(layout):
    p = portal(id_layout=layout)
    existing = set(every_id(p, "contacts"))
    merged = [
        int(x)
        for o in p.iter_objects("contacts", properties=["hs_merged_object_ids"])
        if o["properties"]["hs_merged_object_ids"]
        for x in o["properties"]["hs_merged_object_ids"].split(";")
    ]
    assert len(merged) > 20
    assert not existing & set(merged)


def test_unknown_layout_or_cursor_is_refused():
    with pytest.raises(ValueError, match="id_layout"):
        SimulatorConfig(id_layout="random")
    with pytest.raises(ValueError, match="list_cursor"):
        SimulatorConfig(list_cursor="page")


def test_opaque_list_cursor_pages_through_everything_and_refuses_built_cursors(make_simulator):
    sim = make_simulator(list_cursor="opaque")
    got, cursors = list_all(sim, "/crm/v3/objects/contacts?limit=30")
    assert got == ids(sim, "contacts")
    assert cursors
    assert not any(c.isdigit() for c in cursors)
    archived, _ = list_all(sim, "/crm/v3/objects/contacts?limit=1&archived=true")
    assert archived == ids(sim, "contacts", archived=True)
    # a cursor built by the client (the next id, as the "id" mode would send it) or altered is refused
    built = api(sim, "GET", f"/crm/v3/objects/contacts?limit=30&after={got[30]}")
    assert built.status_code == 400
    assert built.json()["category"] == "VALIDATION_ERROR"
    raw = base64.urlsafe_b64decode(cursors[0] + "=" * (-len(cursors[0]) % 4)).decode()
    kind, value, check = raw.split(":")
    forged = base64.urlsafe_b64encode(f"{kind}:{int(value) + 1}:{check}".encode()).decode().rstrip("=")
    assert api(sim, "GET", f"/crm/v3/objects/contacts?after={forged}").status_code == 400
    # the same cursor replays the same page
    again = api(sim, "GET", f"/crm/v3/objects/contacts?limit=30&after={cursors[0]}").json()
    assert [int(o["id"]) for o in again["results"]] == got[30:60]


def test_list_cursor_is_a_runtime_setting(make_simulator):
    sim = make_simulator()
    first = api(sim, "GET", "/crm/v3/objects/deals?limit=5").json()["paging"]["next"]["after"]
    assert first == str(ids(sim, "deals")[4] + 1)
    sim.update_config(list_cursor="opaque")
    assert not api(sim, "GET", "/crm/v3/objects/deals?limit=5").json()["paging"]["next"]["after"].isdigit()


def test_search_filters_and_sorts_on_eleven_digit_ids(make_simulator):
    sim = make_simulator(id_layout="sparse", contacts=3000)
    live = ids(sim, "contacts")
    big = [i for i in live if i >= 10**10]
    assert len(big) > 100
    lo, hi = big[10], big[60]

    def search(filters, **extra):
        body = {"filterGroups": [{"filters": filters}], "limit": 200, **extra}
        return api(sim, "POST", "/crm/v3/objects/contacts/search", json=body).json()

    between = search(
        [{"propertyName": "hs_object_id", "operator": "BETWEEN", "value": str(lo), "highValue": str(hi)}],
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
    )
    assert [int(o["id"]) for o in between["results"]] == [i for i in live if lo <= i <= hi]
    eq = search([{"propertyName": "hs_object_id", "operator": "EQ", "value": str(big[42])}])
    assert [o["id"] for o in eq["results"]] == [str(big[42])]
    assert eq["results"][0]["properties"]["hs_object_id"] == str(big[42])
    gap = search([{"propertyName": "hs_object_id", "operator": "EQ", "value": str(big[42] + 1)}])
    assert gap["total"] == (1 if big[42] + 1 in live else 0)


def test_an_id_merged_before_history_steps_past_ids_in_use():
    layout = portal(id_layout="sparse").stores["contacts"].layout
    taken = layout.id_of(100)
    assert layout.ordinal_of(taken) == 100
    vacant = layout.vacant_id_near(taken)
    assert vacant > taken
    assert layout.ordinal_of(vacant) is None
