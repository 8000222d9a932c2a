"""`meltano run tap-hubspot-raw target-supabase-hybrid` from the repo's own meltano.yml, end to end.

Configured only through the environment variables a production deployment would use, against the HubSpot
simulator and a real PostgreSQL; asserts what landed, then that a second run is incremental.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import psycopg2
import pytest

from tests.conftest import meltano_project_lock
from tests.e2e.meltano_project import REPO_ROOT, STATE_ID, MeltanoProject
from tests.harness.catalogs import MELTANO_STREAMS
from tests.harness.landed import TABLES, assert_database_equals_portal, landed
from tests.hubspot_simulator import Simulator

pytestmark = [pytest.mark.xdist_group("meltano"), pytest.mark.slow]

TOKEN = "pat-na1-e2e-0000-secret-token"


@pytest.fixture(scope="session")
def repo_project(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    """The repository's Meltano project with a throwaway system database; plugins installed once."""
    project = MeltanoProject(REPO_ROOT, tmp_path_factory.mktemp("meltano") / "meltano.db")
    with meltano_project_lock():  # a session fixture: set up before (outside) the per-test lock
        project.meltano("install")
    return project


@pytest.fixture
def portal(make_simulator: Any) -> Simulator:
    return make_simulator(contacts=300, deals=40, calls=120, seed=11, access_tokens=(TOKEN,))


def production_env(sim: Simulator, database_url: str) -> dict[str, str]:
    return {
        "TAP_HUBSPOT_RAW_ACCESS_TOKEN": TOKEN,
        "TAP_HUBSPOT_RAW_API_URL": sim.url,
        "TARGET_SUPABASE_HYBRID_DATABASE_URL": database_url,
    }


def sync_logs(database_url: str, meltano_run_id: str) -> dict[str, dict[str, Any]]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT stream, status, records_received, records_failed FROM sync_logs"
            " WHERE meltano_run_id = %s",
            (meltano_run_id,),
        )
        return {
            stream: {"status": status, "received": received, "failed": failed}
            for stream, status, received, failed in cur.fetchall()
        }


def test_given_prod_env_vars_when_meltano_runs_then_portal_lands_and_rerun_is_incremental(
    repo_project: MeltanoProject, portal: Simulator, database_url: str
) -> None:
    env = production_env(portal, database_url)

    first_run, output = repo_project.run_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")

    assert TOKEN not in output
    assert_database_equals_portal(portal, database_url)
    first_logs = sync_logs(database_url, first_run)
    assert {stream: log["status"] for stream, log in first_logs.items()} == dict.fromkeys(
        MELTANO_STREAMS, "success"
    )
    assert first_logs["contacts"]["received"] >= portal.portal.counts()["contacts"]
    assert [run["state"] for run in repo_project.runs() if run["run_id"] == first_run.replace("-", "")] == [
        "SUCCESS"
    ]
    state = json.loads(repo_project.meltano("--environment=prod", "state", "get", STATE_ID).stdout)
    assert set(state["singer_state"]["bookmarks"]) >= set(TABLES)

    changed = ["3", "17", "150"]
    for contact_id in changed:
        portal.portal.update_object("contacts", contact_id, {"lifecyclestage": "evangelist"})
    portal.portal.flush_indexing()  # changes made a while ago: search shows them
    portal.reset_stats()

    second_run, _ = repo_project.run_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")

    rows = landed(database_url, TABLES["contacts"])
    assert all(rows[contact_id]["properties"]["lifecyclestage"] == "evangelist" for contact_id in changed)
    second_logs = sync_logs(database_url, second_run)
    assert 3 <= second_logs["contacts"]["received"] < 30
    assert all(log["status"] == "success" and log["failed"] == 0 for log in second_logs.values())
    assert portal.stats()["by_kind"].get("list", 0) < 10  # no full re-read


def clear_state(project: MeltanoProject) -> None:
    """Tests share the project's system database but each loads a fresh database: start without state."""
    project.meltano("--environment=prod", "state", "clear", "--force", STATE_ID)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def logged_streams(database_url: str) -> set[str]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('sync_logs') IS NOT NULL")
        row = cur.fetchone()
        if not row or not row[0]:
            return set()
        cur.execute("SELECT stream FROM sync_logs")
        return {stream for (stream,) in cur.fetchall()}


def test_given_ctrl_c_during_meltano_run_then_it_fails_as_interrupted_and_the_rerun_keeps_finished_streams(
    repo_project: MeltanoProject, make_simulator: Any, database_url: str
) -> None:
    # Streams run in name order (call_dispositions, calls, contacts, deals, owners, ...): contacts is big and
    # slow enough to be cut.
    sim = make_simulator(
        contacts=6_000, deals=40, calls=120, seed=11, access_tokens=(TOKEN,), latency_ms=40.0
    )
    env = production_env(sim, database_url)
    clear_state(repo_project)
    run_id, proc = repo_project.start_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")
    wait_for(lambda: "contacts" in logged_streams(database_url), "contacts to start (calls ended)")

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    output, _ = proc.communicate(timeout=120)

    assert proc.returncode != 0, output[-3000:]
    assert "Interrupted by SIGINT" in output
    assert TOKEN not in output
    logs = sync_logs(database_url, run_id)
    assert {stream: log["status"] for stream, log in logs.items()} == {
        "call_dispositions": "interrupted",
        "calls": "interrupted",
        "contacts": "interrupted",
    }
    assert [run["state"] for run in repo_project.runs() if run["run_id"] == run_id.replace("-", "")] != [
        "SUCCESS"
    ]
    state = json.loads(repo_project.meltano("--environment=prod", "state", "get", STATE_ID).stdout)
    calls = state["singer_state"]["bookmarks"]["calls"]
    assert calls.get("replication_key_value"), "the finished stream kept its state"
    sim.reset_stats()

    rerun, _ = repo_project.run_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")

    assert_database_equals_portal(sim, database_url)
    rerun_logs = sync_logs(database_url, rerun)
    assert all(log["status"] == "success" for log in rerun_logs.values())
    assert rerun_logs["calls"]["received"] < 120  # calls resumed incrementally, not read again


def test_given_a_new_schema_with_the_old_state_then_meltano_run_stops_and_a_full_refresh_loads_it(
    repo_project: MeltanoProject, portal: Simulator, database_url: str
) -> None:
    env = production_env(portal, database_url)
    clear_state(repo_project)
    repo_project.run_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")
    moved = {**env, "TARGET_SUPABASE_HYBRID_SCHEMA": "hubspot"}

    with pytest.raises(AssertionError) as refused:
        repo_project.run_pipeline(moved, "tap-hubspot-raw", "target-supabase-hybrid")

    assert "but schema 'hubspot' of this database has no run of this target" in str(refused.value)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'hubspot'")
        assert cur.fetchone() == (0,)

    repo_project.meltano(
        "--environment=prod", "run", "--full-refresh", "tap-hubspot-raw", "target-supabase-hybrid", env=moved
    )

    assert_database_equals_portal(portal, f"{database_url}?options=-csearch_path%3Dhubspot")


def contacts_log(database_url: str, meltano_run_id: str) -> dict[str, Any]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status, records_retired, drift, drift_status FROM sync_logs"
            " WHERE meltano_run_id = %s AND stream = 'contacts'",
            (meltano_run_id,),
        )
        row = cur.fetchone()
    assert row is not None
    return dict(zip(("status", "retired", "drift", "drift_status"), row, strict=True))


def live_contacts(database_url: str) -> set[str]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT hubspot_id FROM {TABLES['contacts']} WHERE _sdc_deleted_at IS NULL AND NOT archived"
        )
        return {row[0] for row in cur.fetchall()}


def test_given_objects_hubspot_deleted_for_good_then_only_meltano_run_full_refresh_retires_them(
    repo_project: MeltanoProject, portal: Simulator, database_url: str
) -> None:
    env = production_env(portal, database_url)
    blocks = ("tap-hubspot-raw", "target-supabase-hybrid")
    repo_project.run_pipeline(env, "--full-refresh", *blocks)  # other tests' state is for another database
    contacts = {str(i) for i in portal.portal.iter_ids("contacts")}
    gone = sorted(contacts, key=int)[-3:]
    for contact_id in gone:
        portal.portal.delete_object("contacts", contact_id)  # a GDPR delete: no trace in any endpoint
    portal.portal.flush_indexing()

    incremental, _ = repo_project.run_pipeline(env, *blocks)

    assert live_contacts(database_url) == contacts
    assert contacts_log(database_url, incremental) == {
        "status": "success",
        "retired": 0,
        "drift": 3,
        "drift_status": "drift",
    }

    full, _ = repo_project.run_pipeline(env, "--full-refresh", *blocks)

    assert live_contacts(database_url) == contacts - set(gone)
    assert contacts_log(database_url, full) == {
        "status": "success",
        "retired": 3,
        "drift": 0,
        "drift_status": "ok",
    }
