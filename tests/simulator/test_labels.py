"""Owners, pipelines, dispositions and enumeration labels: every id a record carries resolves through them,
except the few that no longer do [issue 16; shapes from HubSpot's OpenAPI specs, see labels.py]."""

from __future__ import annotations

from tests.hubspot_simulator.labels import (
    DELETED_DISPOSITION,
    DISPOSITIONS,
    OWNERS,
    PIPELINES,
    REMOVED_DEAL_STAGE,
    UNRESOLVED,
)

from .conftest import api, list_all

OWNER_KEYS = {"id", "email", "type", "firstName", "lastName", "createdAt", "updatedAt", "archived"}


def values(sim, object_type: str, prop: str) -> list[str | None]:
    return [o["properties"][prop] for o in sim.portal.iter_objects(object_type, properties=[prop])]


def test_owners_page_through_active_ones_and_archived_ones_apart(hubspot_simulator):
    sim = hubspot_simulator
    first = api(sim, "GET", "/crm/v3/owners").json()
    assert "paging" not in first
    active = first["results"]
    assert {o["id"] for o in active} == {o.id for o in OWNERS if not o.archived}
    for owner in active:
        assert set(owner) >= OWNER_KEYS
        assert owner["archived"] is False
        assert owner["type"] in ("PERSON", "QUEUE")
    assert any(o.get("teams") for o in active)
    paged, cursors = list_all(sim, "/crm/v3/owners?limit=2")
    assert paged == [int(o["id"]) for o in active]
    assert len(cursors) == 2
    archived = api(sim, "GET", "/crm/v3/owners?archived=true").json()["results"]
    assert [(o["id"], o["archived"]) for o in archived] == [("80412211", True)]
    by_email = api(sim, "GET", "/crm/v3/owners?email=JOHN.SMITH@example.com").json()["results"]
    assert [o["id"] for o in by_email] == ["61847123"]
    assert api(sim, "GET", "/crm/v3/owners?limit=501").status_code == 400
    assert sim.stats()["by_kind"]["owners"] == 7


def test_record_owner_ids_resolve_through_owners_except_a_few(hubspot_simulator):
    sim = hubspot_simulator
    active = {o["id"] for o in api(sim, "GET", "/crm/v3/owners").json()["results"]}
    archived = {o["id"] for o in api(sim, "GET", "/crm/v3/owners?archived=true").json()["results"]}
    carried = {
        v for t in ("contacts", "deals", "calls", "companies") for v in values(sim, t, "hubspot_owner_id")
    }
    carried.discard(None)
    assert carried & active
    assert carried & archived  # a rep who left: resolves only through archived=true
    unresolved = carried - active - archived
    assert unresolved == set(UNRESOLVED["hubspot_owner_id"])


def test_deal_pipelines_carry_stages_with_probability_and_every_deal_stage_resolves_but_a_removed_one(
    make_simulator,
):
    sim = make_simulator(deals=400)
    pipelines = api(sim, "GET", "/crm/v3/pipelines/deals").json()["results"]
    assert [p["id"] for p in pipelines] == [p.id for p in PIPELINES["deals"]]
    stages: dict[tuple[str, str], dict] = {}
    for p in pipelines:
        assert {"id", "label", "displayOrder", "archived", "createdAt", "updatedAt", "stages"} <= set(p)
        for s in p["stages"]:
            assert {"id", "label", "displayOrder", "metadata", "archived", "createdAt", "updatedAt"} <= set(s)
            assert set(s["metadata"]) == {"isClosed", "probability"}
            stages[(p["id"], s["id"])] = s
    assert stages[("default", "closedwon")]["metadata"] == {"isClosed": "true", "probability": "1.0"}
    assert stages[("default", "appointmentscheduled")]["label"] == "Appointment Scheduled"
    deals = list(
        sim.portal.iter_objects("deals", properties=["pipeline", "dealstage", "hs_deal_stage_probability"])
    )
    seen_removed = seen_second = False
    for deal in deals:
        p = deal["properties"]
        if p["dealstage"] == REMOVED_DEAL_STAGE:
            seen_removed = True
            assert p["hs_deal_stage_probability"] is None
            continue
        stage = stages[(p["pipeline"], p["dealstage"])]  # the deal's stage belongs to its pipeline
        assert p["hs_deal_stage_probability"] == stage["metadata"]["probability"]
        seen_second |= p["pipeline"] != "default"
    assert seen_removed
    assert seen_second


def test_ticket_pipeline_and_types_without_pipelines(hubspot_simulator):
    sim = hubspot_simulator
    (pipeline,) = api(sim, "GET", "/crm/v3/pipelines/tickets").json()["results"]
    assert pipeline["id"] == "0"
    assert {s["metadata"]["ticketState"] for s in pipeline["stages"]} == {"OPEN", "CLOSED"}
    known = {s["id"] for s in pipeline["stages"]}
    assert set(values(sim, "tickets", "hs_pipeline_stage")) <= known
    assert (
        api(sim, "GET", "/crm/v3/pipelines/0-3").json() == api(sim, "GET", "/crm/v3/pipelines/deals").json()
    )
    assert api(sim, "GET", "/crm/v3/pipelines/contacts").status_code == 400


def test_call_dispositions_name_every_outcome_a_call_carries_but_a_deleted_one(make_simulator):
    sim = make_simulator(calls=400)
    listed = api(sim, "GET", "/calling/v1/dispositions").json()
    assert isinstance(listed, list)
    assert {d["id"]: d["label"] for d in listed} == DISPOSITIONS
    assert all(set(d) == {"id", "label"} for d in listed)
    carried = set(values(sim, "calls", "hs_call_disposition")) - {None}
    assert carried - set(DISPOSITIONS) == {DELETED_DISPOSITION}
    assert len(carried & set(DISPOSITIONS)) >= 5
    assert sim.stats()["by_kind"]["dispositions"] == 1


def test_each_labels_endpoint_needs_its_scope(make_simulator):
    sim = make_simulator(
        missing_scopes={
            "no-owners": ("crm.objects.owners.read",),
            "no-deals": ("crm.objects.deals.read", "crm.schemas.deals.read"),
            "no-contacts": ("crm.objects.contacts.read",),
        }
    )
    denied = api(sim, "GET", "/crm/v3/owners", token="no-owners")
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["context"]["requiredScopes"] == ["crm.objects.owners.read"]
    assert api(sim, "GET", "/crm/v3/pipelines/deals", token="no-owners").status_code == 200
    no_deals = api(sim, "GET", "/crm/v3/pipelines/deals", token="no-deals")
    assert no_deals.status_code == 403
    assert set(no_deals.json()["errors"][0]["context"]["requiredScopes"]) == {
        "crm.objects.deals.read",
        "crm.schemas.deals.read",
    }
    assert api(sim, "GET", "/crm/v3/pipelines/tickets", token="no-deals").status_code == 200
    assert api(sim, "GET", "/calling/v1/dispositions", token="no-contacts").status_code == 403
    assert api(sim, "GET", "/calling/v1/dispositions", token="no-owners").status_code == 200


def test_enumeration_options_carry_labels(hubspot_simulator):
    sim = hubspot_simulator

    def options(object_type: str, name: str) -> dict[str, str]:
        props = api(sim, "GET", f"/crm/v3/properties/{object_type}").json()["results"]
        prop = next(p for p in props if p["name"] == name)
        return {o["value"]: o["label"] for o in prop["options"]}

    assert options("contacts", "lifecyclestage")["marketingqualifiedlead"] == "Marketing Qualified Lead"
    stages = options("deals", "dealstage")
    assert stages["decisionmakerboughtin"] == "Decision Maker Bought-In"
    assert stages["1038193693"] == "Renewed"
    assert REMOVED_DEAL_STAGE not in stages
    assert options("deals", "pipeline") == {"default": "Sales Pipeline", "710688094": "Renewals"}
    assert options("calls", "hs_call_disposition") == DISPOSITIONS
    assert options("tickets", "hs_pipeline_stage")["2"] == "Waiting on contact"
    owner = next(
        p
        for p in api(sim, "GET", "/crm/v3/properties/deals").json()["results"]
        if p["name"] == "hubspot_owner_id"
    )
    assert owner["options"] == []  # names come from the owners API
    assert owner["externalOptions"] is True
    assert owner["referencedObjectType"] == "OWNER"
