"""A default `meltano run` from the repo's meltano.yml lands the label streams and stage history, and the
views over them; the next run reads labels whole and history only for what changed, at a stated cost
[issue 16].

(The views' rows against the ground truth, row by row: tests/e2e/test_label_views.py.)
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.meltano_project import REPO_ROOT, MeltanoProject
from tests.harness.catalogs import MELTANO_STREAMS
from tests.hubspot_simulator import Simulator
from tests.hubspot_simulator.labels import DISPOSITIONS, OWNERS, PIPELINES
from tests.target.singer import query

pytestmark = [pytest.mark.xdist_group("meltano"), pytest.mark.slow]

TOKEN = "pat-na1-e2e-labels-secret-token"
CHANGED_DEALS = 60


@pytest.fixture
def project(tmp_path: Path) -> MeltanoProject:
    """The repository's Meltano project with a throwaway system database, plugins installed (under the test's
    lock on the project: a function fixture, set up after the autouse one that takes it)."""
    project = MeltanoProject(REPO_ROOT, tmp_path / "meltano.db")
    project.meltano("install")
    return project


def requests_by_path(sim: Simulator) -> Counter[tuple[str, str]]:
    return Counter((r["method"], r["path"]) for r in sim.request_log)


def count(url: str, relation: str) -> int:
    return int(query(url, f"SELECT count(*) AS n FROM {relation}")[0]["n"])


def test_given_a_default_meltano_run_then_labels_and_stage_history_land_and_reruns_read_only_changes(
    project: MeltanoProject, make_simulator, database_url: str
) -> None:
    sim: Simulator = make_simulator(contacts=200, deals=150, calls=80, seed=17, access_tokens=(TOKEN,))
    env = {
        "TAP_HUBSPOT_RAW_ACCESS_TOKEN": TOKEN,
        "TAP_HUBSPOT_RAW_API_URL": sim.url,
        "TARGET_SUPABASE_HYBRID_DATABASE_URL": database_url,
    }

    first_run, output = project.run_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")

    assert TOKEN not in output
    logs = query(database_url, "SELECT stream, status FROM sync_logs WHERE meltano_run_id = %s", (first_run,))
    assert {r["stream"]: r["status"] for r in logs} == dict.fromkeys(MELTANO_STREAMS, "success")
    assert count(database_url, "hubspot_owners_raw") == len(OWNERS)
    assert count(database_url, "hubspot_pipeline_stages") == sum(len(p.stages) for p in PIPELINES["deals"])
    assert count(database_url, "hubspot_call_dispositions_raw") == len(DISPOSITIONS)
    assert count(database_url, "hubspot_property_definitions_raw") == sum(
        len(sim.portal.property_definitions(t)) for t in ("contacts", "deals", "calls")
    )
    history = sum(
        len(entries)
        for t, names in {"deals": ["dealstage"], "contacts": ["lifecyclestage"]}.items()
        for object_id in sim.portal.iter_ids(t)
        for entries in sim.portal.property_history(t, object_id, names).values()
    )
    assert count(database_url, "hubspot_property_history_raw") == history
    for view in ("hubspot_deals", "hubspot_contacts", "hubspot_calls", "hubspot_stage_history"):
        assert count(database_url, view) > 0, view

    deals = list(sim.portal.iter_ids("deals"))[:CHANGED_DEALS]
    for deal_id in deals:
        sim.portal.update_object("deals", deal_id, {"dealstage": "contractsent"}, indexing_delay_ms=0)
    sim.reset_stats()

    second_run, _ = project.run_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")

    received = query(
        database_url,
        "SELECT stream, records_received FROM sync_logs WHERE meltano_run_id = %s",
        (second_run,),
    )
    # The changed deals, and the few the refresh sweep re-reads this run (a slice of refresh_hours).
    assert CHANGED_DEALS <= {r["stream"]: r["records_received"] for r in received}["deals"] < 150
    current = query(
        database_url,
        "SELECT object_id, value, value_label FROM hubspot_stage_history"
        " WHERE object_type = 'deals' AND is_current",
    )
    now_in = {r["object_id"]: (r["value"], r["value_label"]) for r in current}
    assert all(now_in[str(d)] == ("contractsent", "Contract Sent") for d in deals)
    # The label streams are read whole (owners 2, pipelines 1, dispositions 1, definitions 1 per object type,
    # after the 3 of Meltano's discovery); history batch-reads only the changed deals, 50 at a time.
    paths = requests_by_path(sim)
    assert paths[("GET", "/crm/v3/owners")] == 2
    assert paths[("GET", "/crm/v3/pipelines/deals")] == 1
    assert paths[("GET", "/calling/v1/dispositions")] == 1
    assert sum(n for (method, path), n in paths.items() if path.startswith("/crm/v3/properties/")) == 3 + 3
    assert paths[("POST", "/crm/v3/objects/deals/batch/read")] == math.ceil(CHANGED_DEALS / 50)
    assert paths[("POST", "/crm/v3/objects/contacts/batch/read")] == 0
