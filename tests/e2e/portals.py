"""The portals of meltano.yml (`tap-hubspot-portal-a` / `-b` and their loaders), a simulated HubSpot account
behind each, and Meltano's system database in the destination PostgreSQL, as the README sets them up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg2

from tests.hubspot_simulator import Simulator
from tests.target.singer import query

SYSTEM_SCHEMA = "meltano"


@dataclass(frozen=True)
class Portal:
    """One of the portals of meltano.yml (`a` or `b`) and the simulated HubSpot account behind it."""

    letter: str
    sim: Simulator
    token: str

    @property
    def extractor(self) -> str:
        return f"tap-hubspot-portal-{self.letter}"

    @property
    def loader(self) -> str:
        return f"target-supabase-portal-{self.letter}"

    @property
    def schema(self) -> str:
        return f"hubspot_portal_{self.letter}"

    @property
    def state_id(self) -> str:
        return f"prod:{self.extractor}-to-{self.loader}"

    def env(self) -> dict[str, str]:
        """What a deployment sets for this portal: its own token (and, here, the simulator's URL)."""
        prefix = f"TAP_HUBSPOT_PORTAL_{self.letter.upper()}_"
        return {f"{prefix}ACCESS_TOKEN": self.token, f"{prefix}API_URL": self.sim.url}


def in_schema(database_url: str, schema: str) -> str:
    """The URL with `schema` as its search path: unqualified table names then mean that portal's tables."""
    return f"{database_url}?options=-csearch_path%3D{schema}"


def system_database(database_url: str) -> str:
    """The README's setup: a `meltano` schema in the destination database, reached through psycopg2."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {SYSTEM_SCHEMA}")
    conn.close()
    uri = database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    return in_schema(uri, SYSTEM_SCHEMA)


def meltano_runs(database_url: str) -> list[dict[str, Any]]:
    """Meltano's `runs`, from the system database in PostgreSQL."""
    return query(
        database_url,
        "SELECT run_id::text, job_name, state, started_at, ended_at"
        f" FROM {SYSTEM_SCHEMA}.runs ORDER BY started_at",
    )


def sync_logs(database_url: str, schema: str) -> list[dict[str, Any]]:
    """A portal's `sync_logs`, oldest first."""
    return query(
        database_url,
        f"SELECT stream, status, records_received, meltano_run_id, meltano_extractor FROM {schema}.sync_logs"
        " ORDER BY started_at, stream",
    )


def two_portals(make_simulator: Any) -> list[Portal]:
    """Two accounts of different content whose object ids overlap, as HubSpot ids of two portals may."""
    return [
        Portal(
            letter,
            make_simulator(contacts=300, deals=40, calls=120, seed=seed, access_tokens=(token,)),
            token,
        )
        for letter, seed, token in (("a", 31, "pat-na1-portal-a-token"), ("b", 32, "pat-eu1-portal-b-token"))
    ]
