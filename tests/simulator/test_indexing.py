"""Search shows a change at (its modified date + its indexing delay); most delays short, some much later
[hubspot-api.md §3.6, §13 "Search indexing lag"]. No sleeping: changes are back-dated, or flushed."""

from __future__ import annotations

import time
from typing import Any

from .conftest import api, ctl, ids, search
from .test_merges import merge

MINUTE = 60_000


def now_ms() -> int:
    return int(time.time() * 1000)


def found(sim, object_type: str, obj_id: int, **extra: Any) -> Any:
    """What search shows of one record, or None."""
    flt = [{"propertyName": "hs_object_id", "operator": "EQ", "value": str(obj_id)}]
    results = search(sim, object_type, filterGroups=[{"filters": flt}], **extra).json()["results"]
    return results[0] if results else None


def test_a_change_back_dated_past_its_delay_is_searchable_at_once_and_a_later_one_only_when_due(
    hubspot_simulator,
):
    sim = hubspot_simulator
    deal, other = ids(sim, "deals")[:2]
    # modified 20 minutes ago, searchable 20 minutes after that: now
    r = ctl(
        sim,
        "PATCH",
        f"/objects/deals/{deal}",
        json={
            "properties": {"dealname": "late"},
            "timestamp": now_ms() - 20 * MINUTE,
            "indexing_delay_ms": 20 * MINUTE,
        },
    )
    assert r.status_code == 200
    assert found(sim, "deals", deal, properties=["dealname"])["properties"]["dealname"] == "late"
    # modified 20 minutes ago, searchable an hour after that: list and read see it, search does not yet
    ctl(
        sim,
        "PATCH",
        f"/objects/deals/{other}",
        json={
            "properties": {"dealname": "later"},
            "timestamp": now_ms() - 20 * MINUTE,
            "indexing_delay_ms": 60 * MINUTE,
        },
    )
    created = ctl(
        sim,
        "POST",
        "/objects/deals",
        json={"properties": {"dealname": "new"}, "indexing_delay_ms": 60 * MINUTE},
    ).json()
    assert (
        api(sim, "GET", f"/crm/v3/objects/deals/{other}?properties=dealname").json()["properties"]["dealname"]
        == "later"
    )
    assert api(sim, "GET", f"/crm/v3/objects/deals/{created['id']}").status_code == 200
    assert found(sim, "deals", other, properties=["dealname"])["properties"]["dealname"] != "later"
    assert found(sim, "deals", int(created["id"])) is None
    assert sim.truth("deals")["indexing_pending"] == 2
    assert ctl(sim, "POST", "/index/flush").status_code == 200
    assert found(sim, "deals", other, properties=["dealname"])["properties"]["dealname"] == "later"
    assert found(sim, "deals", int(created["id"])) is not None


def test_delays_are_mostly_short_some_much_later_and_reproducible(make_simulator):
    def visible_after_61_seconds(fault_seed: int) -> set[int]:
        sim = make_simulator(
            deals=400, indexing_delay_ms=MINUTE, late_indexing_fraction=0.25, fault_seed=fault_seed
        )
        deals = ids(sim, "deals")
        stamp = now_ms() - 61_000
        for deal in deals:
            sim.portal.update_object("deals", deal, {"dealname": "x"}, timestamp_ms=stamp)
        window = {"propertyName": "hs_lastmodifieddate", "operator": "EQ", "value": str(stamp)}
        shown: set[int] = set()
        for after in (0, 200):
            page = search(sim, "deals", filterGroups=[{"filters": [window]}], limit=200, after=after).json()
            shown |= {int(o["id"]) for o in page["results"]}
        late = set(deals) - shown
        # short delays (30-60 s) have all passed; late ones (up to 30 min) mostly not
        assert 0.15 * len(deals) < len(late) < 0.35 * len(deals)
        stamp_old = now_ms() - 31 * MINUTE
        for deal in list(late)[:20]:
            sim.portal.update_object("deals", deal, {"dealname": "y"}, timestamp_ms=stamp_old)
        assert all(found(sim, "deals", deal) for deal in list(late)[:20])  # 31 minutes covers any delay
        return shown

    assert visible_after_61_seconds(7) == visible_after_61_seconds(7)
    assert visible_after_61_seconds(7) != visible_after_61_seconds(8)


def test_an_older_change_indexed_late_never_undoes_a_newer_one(hubspot_simulator):
    sim = hubspot_simulator
    contact = ids(sim, "contacts")[0]
    sim.portal.update_object("contacts", contact, {"firstname": "old"}, indexing_delay_ms=60 * MINUTE)
    sim.portal.update_object("contacts", contact, {"firstname": "new"}, indexing_delay_ms=0)
    assert found(sim, "contacts", contact, properties=["firstname"])["properties"]["firstname"] == "new"
    sim.portal.flush_indexing()
    assert found(sim, "contacts", contact, properties=["firstname"])["properties"]["firstname"] == "new"


def test_a_merge_reaches_search_with_its_delay_like_any_change(hubspot_simulator):
    sim = hubspot_simulator
    a, b = ids(sim, "companies")[:2]
    new = int(merge(sim, "companies", a, b, indexing_delay_ms=60 * MINUTE)["id"])
    # search lags: it still shows the old ids (a batch read of them answers with the merge)
    assert found(sim, "companies", a) is not None
    assert found(sim, "companies", new) is None
    assert sim.truth("companies")["search_total"] == sim.portal.counts()["companies"] + 1
    sim.portal.flush_indexing()
    assert found(sim, "companies", a) is None
    assert found(sim, "companies", new) is not None
    assert sim.truth("companies")["search_total"] == sim.portal.counts()["companies"]


def test_search_total_in_the_ground_truth_is_what_search_answers(hubspot_simulator):
    sim = hubspot_simulator
    everything = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}
        ]
    }
    assert sim.truth("calls")["search_total"] == search(sim, "calls", **everything).json()["total"]
    sim.portal.create_object("calls", {"hs_call_title": "hidden"}, indexing_delay_ms=60 * MINUTE)
    assert sim.truth("calls")["search_total"] == search(sim, "calls", **everything).json()["total"]
    assert sim.truth("calls")["search_total"] == sim.portal.counts()["calls"] - 1


def test_realistic_indexing_preset_from_the_cli():
    from tests.hubspot_simulator.__main__ import parse_args
    from tests.hubspot_simulator.config import REALISTIC_INDEXING

    config = parse_args(["--realistic-indexing"])
    assert {k: getattr(config, k) for k in REALISTIC_INDEXING} == REALISTIC_INDEXING
    assert config.indexing_delay_ms > 0
    assert parse_args([]).indexing_delay_ms == 0  # the default stays instant in this release
