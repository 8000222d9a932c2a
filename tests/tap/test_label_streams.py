"""Label streams against the simulator: owners (archived ones too), pipelines with their stages, call
dispositions and property definitions equal what the portal lists; they are read only when a catalog selects
them; a missing scope skips a label stream with a warning unless `required_streams` names it [issue 16]."""

from __future__ import annotations

import logging

import pytest
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_hubspot_raw.label_streams import LABEL_STREAMS
from tap_hubspot_raw.tap import TapHubspotRaw
from tests.harness.catalogs import all_streams_catalog
from tests.hubspot_simulator.labels import DISPOSITIONS, OWNERS, PIPELINES
from tests.tap.conftest import PORTAL, TOKEN, run_tap, tap_config

LABELS = set(LABEL_STREAMS)
OBJECT_TYPES = ["contacts", "deals", "calls", "tickets"]
OWNERS_SCOPE = "crm.objects.owners.read"


def test_given_a_catalog_selecting_them_then_label_streams_equal_the_portals_lists(make_simulator):
    sim = make_simulator(**PORTAL, tickets=5)
    config = tap_config(sim, object_types=OBJECT_TYPES, property_history={})
    catalog = all_streams_catalog(config, streams=LABELS)
    sim.reset_stats()

    out = run_tap(config, catalog=catalog)

    assert set(out.records) == LABELS
    owners = {r["id"]: r for r in out.records["owners"]}
    assert owners == {o.id: o.to_json() for o in OWNERS}  # the rep who left (archived) too
    assert owners["80412211"]["archived"] is True
    pipelines = {(r["objectType"], r["id"]): r for r in out.records["pipelines"]}
    assert pipelines == {
        (t, p.id): {"objectType": t, **p.to_json(i)}
        for t in ("deals", "tickets")
        for i, p in enumerate(PIPELINES[t])
    }
    assert {r["id"]: r["label"] for r in out.records["call_dispositions"]} == DISPOSITIONS
    definitions = {(r["objectType"], r["name"]): r for r in out.records["property_definitions"]}
    assert definitions == {
        (t, d["name"]): {"objectType": t, **d}
        for t in OBJECT_TYPES
        for d in sim.portal.property_definitions(t)
    }
    # Cost of a run: owners 2 (active, archived), a pipelines list per type with pipelines, 1 dispositions
    # list, one definitions list per object type.
    kinds = sim.stats()["by_kind"]
    assert {k: kinds.get(k, 0) for k in ("owners", "pipelines", "dispositions", "properties")} == {
        "owners": 2,
        "pipelines": 2,
        "dispositions": 1,
        "properties": len(OBJECT_TYPES),
    }
    assert sim.stats()["total"] == 2 + 2 + 1 + len(OBJECT_TYPES)


def test_given_no_catalog_then_only_the_object_streams_are_read_as_before(portal_sim):
    out = run_tap(tap_config(portal_sim))

    assert set(out.records) == {"contacts", "deals", "calls"}
    kinds = portal_sim.stats()["by_kind"]
    assert not {"owners", "pipelines", "dispositions"} & set(kinds)
    assert kinds["search"] + kinds.get("batch_read", 0) > 0  # the object streams' reads, no history's


def test_pipelines_are_read_only_for_object_types_with_pipelines(portal_sim):
    config = tap_config(portal_sim, object_types=["contacts", "calls"], property_history={})
    out = run_tap(config, catalog=all_streams_catalog(config))

    assert "pipelines" not in out.schemas
    assert out.records["owners"]
    assert "pipelines" not in portal_sim.stats()["by_kind"]


def test_given_a_token_without_the_owners_scope_then_owners_is_skipped_with_a_warning_and_the_rest_lands(
    make_simulator, caplog
):
    caplog.set_level(logging.WARNING)
    sim = make_simulator(**{**PORTAL, "missing_scopes": {TOKEN: (OWNERS_SCOPE,)}})
    config = tap_config(sim)

    out = run_tap(config, catalog=all_streams_catalog(config))

    assert "owners" not in out.records
    assert {"contacts", "deals", "calls", "pipelines", "call_dispositions", "property_history"} <= set(
        out.records
    )
    assert (
        len(out.ids("contacts"))
        == sim.portal.counts()["contacts"] + sim.portal.counts(archived=True)["contacts"]
    )
    skipped = [r.getMessage() for r in caplog.records if "Stream owners skipped" in r.getMessage()]
    assert len(skipped) == 2  # active and archived owners: each request refused
    assert f"HubSpot token lacks required scope(s): {OWNERS_SCOPE}." in skipped[0]
    assert "required_streams" in skipped[0]
    assert TOKEN not in caplog.text
    assert out.state["bookmarks"]["contacts"]["replication_key_value"]


def test_given_required_streams_naming_owners_then_its_missing_scope_stops_the_run_as_any_stream(
    make_simulator,
):
    sim = make_simulator(**{**PORTAL, "missing_scopes": {TOKEN: (OWNERS_SCOPE,)}})
    config = tap_config(sim, required_streams=["owners"])

    with pytest.raises(
        FatalAPIError, match=r"lacks required scope\(s\): crm\.objects\.owners\.read"
    ) as raised:
        run_tap(config, catalog=all_streams_catalog(config))
    assert TOKEN not in str(raised.value)


def test_required_streams_takes_label_streams_only():
    with pytest.raises(ConfigValidationError) as raised:
        TapHubspotRaw(
            config={"access_token": "t", "required_streams": ["owners", "deals"]}, parse_env_config=False
        )
    assert any("required_streams names deals; it takes label streams only" in e for e in raised.value.errors)
