"""Many portals, one deployment (README "Many portals"): the portals `meltano.yml` defines run side by side
through `meltano run`, each into its own schema, with Meltano's system database in the destination PostgreSQL.

Each test works in a throwaway copy of the project (no `.meltano/`), as a new container would.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.e2e.meltano_project import MeltanoProject, copy_of_project
from tests.e2e.portals import Portal, in_schema, meltano_runs, sync_logs, system_database, two_portals
from tests.harness.catalogs import MELTANO_STREAMS
from tests.harness.landed import TABLES, assert_database_equals_portal, portal_objects
from tests.hubspot_simulator import Simulator
from tests.target.catalog import relations
from tests.target.singer import query
from tests.target.supabase import install_supabase_roles

pytestmark = [pytest.mark.slow]

OWNER_MARK = "managed by target-supabase-hybrid"


def run_side_by_side(project: MeltanoProject, env: dict[str, str], portals: list[Portal]) -> dict[str, str]:
    """`meltano run` of every portal at once, each in its own process; the run id of each portal."""
    with ThreadPoolExecutor(len(portals)) as pool:
        futures = {
            portal.letter: pool.submit(project.run_pipeline, env, portal.extractor, portal.loader)
            for portal in portals
        }
        return {letter: future.result()[0] for letter, future in futures.items()}


def state_of(project: MeltanoProject, portal: Portal) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(
        project.meltano("--environment=prod", "state", "get", portal.state_id).stdout
    )
    return state


def read_as(database_url: str, role: str, sql: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"SET LOCAL ROLE {role}")
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def assert_portal_landed_alone(portal: Portal, database_url: str) -> None:
    """The portal's schema holds exactly its objects; views and Supabase grants as in `public`."""
    assert_database_equals_portal(portal.sim, in_schema(database_url, portal.schema))
    live_calls = sum(1 for call in portal_objects(portal.sim, "calls").values() if not call["archived"])
    view = f"{portal.schema}.hubspot_call_contacts"
    assert query(database_url, f"SELECT count(*) AS n FROM {view}") == [{"n": live_calls}]
    for relation in (
        *(f"{portal.schema}.{table}" for table in TABLES.values()),
        f"{portal.schema}.sync_logs",
        view,
    ):
        (row,) = query(database_url, "SELECT obj_description(%s::regclass, 'pg_class') AS c", (relation,))
        assert OWNER_MARK in row["c"], relation
        assert read_as(database_url, "service_role", f"SELECT count(*) > 0 FROM {relation}") == [(True,)]
        for role in ("anon", "authenticated"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                read_as(database_url, role, f"SELECT 1 FROM {relation}")


@pytest.fixture
def portals(make_simulator: Any) -> list[Portal]:
    return two_portals(make_simulator)


def test_given_two_portals_in_parallel_and_system_db_in_postgres_then_each_lands_apart_and_new_copy_goes_on(
    portals: list[Portal], database_url: str, tmp_path: Path
) -> None:
    install_supabase_roles(database_url)
    first = MeltanoProject(copy_of_project(tmp_path / "container-1"), system_database(database_url))
    first.meltano("install")  # also creates the system database's tables, before the portals start together
    env = {"TARGET_SUPABASE_HYBRID_DATABASE_URL": database_url}  # one database: inherited by both loaders
    env["TAP_HUBSPOT_RAW_ACCESS_TOKEN"] = "pat-na1-single-portal-token"  # a portal's own token wins over it
    for portal in portals:
        env.update(portal.env())
    a, b = portals
    assert portal_objects(a.sim, "contacts").keys() & portal_objects(b.sim, "contacts").keys()

    first_runs = run_side_by_side(first, env, portals)

    for portal in portals:
        assert_portal_landed_alone(portal, database_url)
        logs = sync_logs(database_url, portal.schema)
        assert {row["stream"]: row["status"] for row in logs} == dict.fromkeys(MELTANO_STREAMS, "success")
        assert {(row["meltano_run_id"], row["meltano_extractor"]) for row in logs} == {
            (first_runs[portal.letter], portal.extractor)
        }
        assert set(state_of(first, portal)["singer_state"]["bookmarks"]) >= set(TABLES)
    runs = meltano_runs(database_url)
    assert sorted((run["job_name"], run["state"]) for run in runs) == [
        (a.state_id, "SUCCESS"),
        (b.state_id, "SUCCESS"),
    ]
    earlier, later = runs
    assert later["started_at"] < earlier["ended_at"]  # the two runs overlapped
    assert not [name for name in relations(database_url) if name.startswith("public.")]
    assert state_of(first, a) != state_of(first, b)

    for contact_id in ("2", "40", "250"):
        a.sim.portal.update_object("contacts", contact_id, {"lifecyclestage": "evangelist"})
    b.sim.portal.update_object("deals", "7", {"dealstage": "closedwon"})
    for portal in portals:
        portal.sim.portal.flush_indexing()  # changes made a while ago: search shows them
    for portal in portals:
        portal.sim.reset_stats()
    second = MeltanoProject(copy_of_project(tmp_path / "container-2"), first.system_db)
    second.meltano("install")
    listed = second.meltano("--environment=prod", "state", "list").stdout.split()
    assert sorted(listed) == sorted(portal.state_id for portal in portals)

    second_runs = run_side_by_side(second, env, portals)

    received: dict[str, dict[str, int]] = {}
    for portal in portals:
        assert_database_equals_portal(portal.sim, in_schema(database_url, portal.schema))
        received[portal.letter] = {
            row["stream"]: row["records_received"]
            for row in sync_logs(database_url, portal.schema)
            if row["meltano_run_id"] == second_runs[portal.letter]
        }
        assert received[portal.letter].keys() == set(MELTANO_STREAMS)
        # The changes, the lookback's overlap and the refresh sweep's slice, not the portal again.
        assert sum(received[portal.letter][stream] for stream in TABLES) < 30
        assert portal.sim.stats()["by_kind"].get("list", 0) < 10
    assert received["a"]["contacts"] >= 3
    assert received["b"]["deals"] >= 1
    assert {run["run_id"] for run in meltano_runs(database_url)} == {
        *first_runs.values(),
        *second_runs.values(),
    }


def test_given_a_portal_without_its_own_token_then_it_borrows_no_other_token_and_loads_nothing(
    make_simulator: Any, database_url: str, tmp_path: Path
) -> None:
    # HubSpot answers every portal's token at one address; the token alone picks the account.
    other_portals_token = "pat-na1-single-portal-token"
    sim: Simulator = make_simulator(
        contacts=20, deals=4, calls=6, seed=33, access_tokens=(other_portals_token,)
    )
    project = MeltanoProject(copy_of_project(tmp_path / "container"), tmp_path / "meltano.db")
    project.meltano("install")
    env = {
        "TAP_HUBSPOT_RAW_ACCESS_TOKEN": other_portals_token,
        "TAP_HUBSPOT_PORTAL_B_API_URL": sim.url,
        "TARGET_SUPABASE_HYBRID_DATABASE_URL": database_url,
    }

    with pytest.raises(AssertionError, match="Set access_token") as failed:
        project.run_pipeline(env, "tap-hubspot-portal-b", "target-supabase-portal-b")

    assert other_portals_token not in str(failed.value)
    assert sim.stats()["total"] == 0
    assert relations(database_url) == []
