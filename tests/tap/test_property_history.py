"""property_history against the simulator: one row per past value of each configured property, equal to the
portal's `propertiesWithHistory`; later runs read only the objects changed since, at a stated request cost
(search pages of 200 ids, batch reads of 50) [issue 16]."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_hubspot_raw.pagination import to_epoch_ms
from tests.harness.catalogs import all_streams_catalog
from tests.hubspot_simulator import Simulator
from tests.tap.conftest import PORTAL, TapOutput, run_tap, tap_config

DEFAULT_HISTORY = {"deals": ["dealstage"], "contacts": ["lifecyclestage"]}
Row = tuple[Any, ...]


def row_key(row: dict[str, Any]) -> Row:
    return (
        row["objectType"],
        row["objectId"],
        row["property"],
        row["value"],
        row["timestamp"],
        row["sourceType"],
        row.get("sourceId"),
        row.get("updatedByUserId"),
    )


def portal_history(
    sim: Simulator, history: dict[str, list[str]], ids: dict[str, list[int]] | None = None
) -> set[Row]:
    """Every entry of the portal's propertiesWithHistory for its live objects (or for ``ids`` only)."""
    rows = set()
    for object_type, names in history.items():
        chosen = sim.portal.iter_ids(object_type) if ids is None else ids.get(object_type, [])
        for object_id in chosen:
            for name, entries in sim.portal.property_history(object_type, object_id, names).items():
                rows |= {
                    row_key(
                        {"objectType": object_type, "objectId": str(object_id), "property": name, **entry}
                    )
                    for entry in entries
                }
    return rows


def history_run(sim: Simulator, state: dict | None = None, **overrides: Any) -> TapOutput:
    config = tap_config(sim, **overrides)
    return run_tap(config, state=state, catalog=all_streams_catalog(config, streams={"property_history"}))


def test_a_first_run_emits_every_past_value_of_the_configured_properties(make_simulator):
    sim = make_simulator(**PORTAL)
    sim.reset_stats()

    out = history_run(sim)

    rows = out.records["property_history"]
    assert set(out.records) == {"property_history"}
    assert len(rows) == len({row_key(r) for r in rows})
    assert {row_key(r) for r in rows} == portal_history(sim, DEFAULT_HISTORY)
    deals_with_a_past = {r["objectId"] for r in rows if r["objectType"] == "deals"}
    assert sum(1 for r in rows if r["objectType"] == "deals") > len(
        deals_with_a_past
    )  # stages walked through
    # One search page (<= 200 ids) per object type, one batch read per 50 objects; the schemas came from the
    # catalog, so nothing else.
    counts = sim.portal.counts()
    assert sim.stats()["by_kind"] == {
        "properties": 3,  # the catalog's discovery
        "search": 2,
        "batch_read": math.ceil(counts["deals"] / 50) + math.ceil(counts["contacts"] / 50),
    }
    partitions = out.state["bookmarks"]["property_history"]["partitions"]
    sync_start = out.state["bookmarks"]["property_history"]["partitions"][0]["replication_key_value"]
    assert {p["context"]["objectType"]: p["replication_key_value"] for p in partitions} == dict.fromkeys(
        DEFAULT_HISTORY, sync_start
    )
    assert max(r["timestamp"] for r in rows) < sync_start  # the bookmark is the sync's start, not a row's


def test_later_runs_read_only_the_changed_objects_at_a_search_per_200_and_a_batch_read_per_50(make_simulator):
    sim = make_simulator(**{**PORTAL, "contacts": 320})
    first = history_run(sim)
    bookmark_ms = to_epoch_ms(
        first.state["bookmarks"]["property_history"]["partitions"][0]["replication_key_value"]
    )
    contacts = list(sim.portal.iter_ids("contacts"))[:250]
    deals = list(sim.portal.iter_ids("deals"))[:3]
    for i, contact_id in enumerate(contacts):  # each change its own millisecond after the bookmark
        sim.portal.update_object(
            "contacts",
            contact_id,
            {"lifecyclestage": "customer"},
            timestamp_ms=bookmark_ms + 1 + i,
            indexing_delay_ms=0,
        )
    for i, deal_id in enumerate(deals):
        sim.portal.update_object(
            "deals",
            deal_id,
            {"dealstage": "closedwon"},
            timestamp_ms=bookmark_ms + 1 + i,
            indexing_delay_ms=0,
        )
    while time.time() * 1000 <= bookmark_ms + len(contacts):  # the next run's window ends when it starts
        time.sleep(0.01)
    sim.reset_stats()

    second = history_run(sim, state=first.state)

    rows = {row_key(r) for r in second.records["property_history"]}
    assert rows == portal_history(sim, DEFAULT_HISTORY, {"contacts": contacts, "deals": deals})
    newest = {
        (r["objectType"], r["objectId"], r["value"])
        for r in second.records["property_history"]
        if to_epoch_ms(r["timestamp"]) > bookmark_ms
    }
    assert newest == {("contacts", str(i), "customer") for i in contacts} | {
        ("deals", str(i), "closedwon") for i in deals
    }
    kinds = sim.stats()["by_kind"]
    # contacts: 2 search pages (200 + 50 ids) and 4 + 1 batch reads; deals: 1 search, 1 batch read.
    assert (kinds["search"], kinds["batch_read"]) == (2 + 1, 5 + 1)


def test_a_run_with_nothing_changed_costs_one_search_per_object_type(portal_sim):
    first = history_run(portal_sim)
    portal_sim.reset_stats()

    second = history_run(portal_sim, state=first.state)

    assert not second.records["property_history"]
    assert portal_sim.stats()["by_kind"] == {
        "properties": 3,
        "search": 2,
    }  # discovery's 3 + 1 search per type


def test_a_merged_contacts_history_comes_with_the_new_record_both_pasts_included(portal_sim):
    first = history_run(portal_sim)
    primary, secondary = list(portal_sim.portal.iter_ids("contacts"))[:2]
    merged = portal_sim.portal.merge_objects("contacts", primary, secondary, indexing_delay_ms=0)

    second = history_run(portal_sim, state=first.state)

    rows = {row_key(r) for r in second.records["property_history"] if r["objectId"] == merged["id"]}
    assert rows == portal_history(
        portal_sim, {"contacts": ["lifecyclestage"]}, {"contacts": [int(merged["id"])]}
    )
    assert {r["objectId"] for r in second.records["property_history"]} == {merged["id"]}


def test_property_history_names_unknown_to_the_portal_are_a_config_error(portal_sim):
    with pytest.raises(ConfigValidationError) as raised:
        history_run(portal_sim, property_history={"deals": ["dealstage", "deal_stagee"]})
    assert (
        "property_history names deals properties the portal does not have: deal_stagee."
        in raised.value.errors
    )


def test_object_types_the_tap_does_not_read_are_left_out_of_property_history(portal_sim, caplog):
    caplog.set_level(logging.INFO)

    out = history_run(
        portal_sim,
        object_types=["deals"],
        property_history={"deals": ["dealstage", "amount"], "tickets": ["hs_pipeline_stage"]},
    )

    assert {r["objectType"] for r in out.records["property_history"]} == {"deals"}
    assert {r["property"] for r in out.records["property_history"]} == {"dealstage", "amount"}
    assert "property_history names object type(s) not in object_types, not read: tickets" in caplog.text
    assert [r.levelno for r in caplog.records if "not in object_types, not read" in r.getMessage()] == [
        logging.WARNING
    ] * 2


def test_an_empty_property_history_setting_has_no_stream(portal_sim):
    config = tap_config(portal_sim, property_history={})
    catalog = all_streams_catalog(config)
    assert "property_history" not in {s["tap_stream_id"] for s in catalog["streams"]}
