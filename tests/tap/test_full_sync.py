"""Full sync: every object once, values untouched, associations complete, archived flagged, no 414."""

from __future__ import annotations

import logging

from tests.hubspot_simulator import Simulator
from tests.tap.conftest import PORTAL, live_ids, run_tap, tap_config

ASSOCIATIONS = {"contacts": ("deals", "calls"), "deals": ("contacts",), "calls": ("contacts",)}


def assert_faithful_copy(sim: Simulator, records: list[dict], object_type: str) -> None:
    """Each live and archived object exactly once, equal to what the portal holds."""
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "an object was emitted twice"
    live = {o["id"] for o in sim.portal.iter_objects(object_type, archived=False)}
    archived = {o["id"] for o in sim.portal.iter_objects(object_type, archived=True)}
    assert archived, "the portal should hold archived objects for this test"
    assert set(ids) == live | archived
    for record in records:
        expected = sim.portal.get_object(object_type, record["id"])
        assert expected is not None
        assert record["properties"] == expected["properties"]
        assert (record["createdAt"], record["updatedAt"]) == (expected["createdAt"], expected["updatedAt"])
        assert record["archived"] is (record["id"] in archived)
        assert record["archivedAt"] == expected.get("archivedAt")
        for to_type in ASSOCIATIONS[object_type]:
            got = record["associations"][to_type]
            assert len(got) == len(set(got)), "association ids must be deduplicated"
            assert sorted(got) == sorted(expected["associations"].get(to_type, []))


def test_full_sync_emits_every_object_once_with_exact_values_and_complete_associations(
    make_simulator, layout
):
    sim = make_simulator(
        **{
            **PORTAL,
            **layout,
            "archived_fraction": 0.05,
            "embedded_associations_limit": 2,
            "association_page_size": 3,
        }
    )
    contacts = live_ids(sim, "contacts")
    for call_id in live_ids(sim, "calls")[:30]:  # a contact with far more calls than an embedded/v4 page
        sim.portal.add_association("contacts", contacts[0], "calls", call_id)
    odd = {"firstname": "", "lastname": 'Ünïcødé "quoted" ,comma'}
    sim.portal.update_object("contacts", contacts[1], odd)
    for object_type in ("contacts", "deals", "calls"):  # at least one archived object of each type
        sim.portal.archive_object(object_type, live_ids(sim, object_type)[-1])
    sim.portal.flush_indexing()  # changes made a while ago: search shows them (tap: test_convergence.py)

    out = run_tap(tap_config(sim))

    for object_type in ("contacts", "deals", "calls"):
        assert_faithful_copy(sim, out.records[object_type], object_type)
    first = next(r for r in out.records["contacts"] if r["id"] == contacts[0])
    assert len(first["associations"]["calls"]) > 10  # several v4 pages of 3
    assert sim.stats()["by_kind"]["associations"] > 0  # truncated embeds were completed via v4


def test_schema_lists_every_portal_property_as_a_nullable_string_naming_its_hubspot_type(portal_sim):
    out = run_tap(tap_config(portal_sim, object_types=["deals"]))
    properties = out.schemas["deals"]["properties"]["properties"]["properties"]
    definitions = portal_sim.portal.property_definitions("deals")
    assert set(properties) == {d["name"] for d in definitions}
    amount = properties["amount"]
    assert amount["type"] == ["string", "null"]
    assert amount["description"] == "HubSpot type: number/number"


def test_property_include_and_exclude_lists_limit_the_extracted_properties(portal_sim):
    config = tap_config(
        portal_sim,
        object_types=["contacts", "deals"],
        properties_include={"contacts": ["email", "firstname", "lastmodifieddate"]},
        properties_exclude={"deals": ["amount"]},
    )
    out = run_tap(config)
    contact_props = out.schemas["contacts"]["properties"]["properties"]["properties"]
    assert set(contact_props) == {"email", "firstname", "lastmodifieddate"}
    assert "amount" not in out.schemas["deals"]["properties"]["properties"]["properties"]
    assert all("amount" not in r["properties"] for r in out.records["deals"])


def test_900_property_portal_never_builds_a_url_hubspot_rejects(make_simulator):
    sim = make_simulator(**{**PORTAL, "contacts": 150, "deals": 5, "calls": 5, "extra_properties": 900})

    out = run_tap(tap_config(sim, object_types=["contacts"]))

    stats = sim.stats()
    assert "414" not in stats["by_status"]
    assert stats["max_request_target"] <= 12_500
    assert stats["by_kind"]["batch_read"] > 0  # the properties that did not fit came by POST
    names = {d["name"] for d in sim.portal.property_definitions("contacts")}
    assert len(names) > 900
    assert len(out.records["contacts"]) == 150
    for record in out.records["contacts"]:
        assert set(record["properties"]) >= names
        expected = sim.portal.get_object("contacts", record["id"], associations=False)
        assert expected is not None
        assert record["properties"] == expected["properties"]


def test_oauth_refresh_token_is_exchanged_once_and_shared_by_all_streams(portal_sim):
    config = tap_config(
        portal_sim,
        client_id="test-client-id",
        client_secret="test-client-secret",
        refresh_token="test-refresh-token",
    )
    del config["access_token"]
    out = run_tap(config)
    assert [len(out.records[s]) for s in ("contacts", "deals", "calls")] == [120, 30, 50]
    assert portal_sim.stats()["by_kind"]["oauth"] == 1


def test_progress_is_logged_per_stream_with_counts_and_search_totals(portal_sim, caplog):
    caplog.set_level(logging.INFO)
    first = run_tap(tap_config(portal_sim, object_types=["contacts"]))
    portal_sim.portal.update_object("contacts", live_ids(portal_sim, "contacts")[3], {"firstname": "Again"})
    portal_sim.portal.flush_indexing()
    run_tap(tap_config(portal_sim, object_types=["contacts"]), state=first.state)
    live = sum(1 for _ in portal_sim.portal.iter_ids("contacts"))
    assert f"contacts (live): {live} of {live} records" in caplog.text
    assert "contacts (changed): 1 of 1 records" in caplog.text
