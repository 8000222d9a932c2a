"""Shared fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL) and the HubSpot simulator."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from tests.local_postgres import LocalPostgres

pytest_plugins = ["tests.hubspot_simulator.pytest_plugin"]

REPO_ROOT = Path(__file__).resolve().parent.parent


class PostgresServer:
    """A running server the tests may create databases in."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def database_url(self, name: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def execute(self, sql: str) -> None:
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """Embedded PostgreSQL for the whole session, or the server named by TEST_DATABASE_URL."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield PostgresServer(external)
        return
    # One cluster per test process: xdist workers and concurrent test runs never share a data dir.
    data_dir = REPO_ROOT / ".data" / f"test-postgres-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    server = LocalPostgres(data_dir, durable=False)
    server.start()
    try:
        yield PostgresServer(server.admin_url)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        Path(f"{data_dir}.listen_port").unlink(missing_ok=True)


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh, empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    postgres_server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.database_url(name)
    finally:
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def meltano_project_lock() -> Iterator[None]:
    """Held while a test uses the repository's Meltano project (``.meltano/``): across xdist workers and
    concurrent test runs, one user at a time (a ``meltano install`` rewrites what a running ``meltano run``
    reads)."""
    lock_path = REPO_ROOT / ".data" / "meltano-project-tests.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def one_test_at_a_time_in_the_meltano_project(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked ``xdist_group("meltano")`` share the repository's Meltano project (``.meltano/``, its
    cached catalog): they take a lock, so two xdist workers never run Meltano there at once. (Fixtures that
    install into the project take it too: ``meltano_project_lock``.)

    (pytest-xdist's ``--dist loadgroup`` would keep them on one worker, but with pytest 9 it no longer
    does: it tags the node id through an attribute pytest stopped reading.)
    """
    marker = request.node.get_closest_marker("xdist_group")
    group = (marker.args[0] if marker.args else marker.kwargs.get("name")) if marker else None
    if group != "meltano":
        yield
        return
    with meltano_project_lock():
        yield
