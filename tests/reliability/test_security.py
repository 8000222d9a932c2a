"""Secrets never leak (output, DEBUG logs, errors, sync_logs, Meltano's records); the API roles cannot read
what the target created; TLS is required for remote hosts unless explicitly waived.

Unit-level TLS policy and scrubbing are in tests/target/test_security.py; these run the real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from tests.conftest import PostgresServer
from tests.e2e.meltano_project import REPO_ROOT, MeltanoProject
from tests.harness.landed import assert_database_equals_portal, query
from tests.harness.pipeline import run_pipeline, start
from tests.harness.presets import PIPELINE_TOKEN as TOKEN
from tests.hubspot_simulator import Simulator
from tests.target.remote import remote_looking_address

DB_PASSWORD = "Db-pa55-5ecret-e1f0"
TARGET = str(Path(sys.executable).parent / "target-supabase-hybrid")


def login_role(database_url: str, role: str, password: str, *, owner: bool = False) -> str:
    """Create a LOGIN role with a password; return the database URL that logs in as it."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    parts = urlsplit(database_url)
    with conn.cursor() as cur:
        cur.execute(
            f"DO $$ BEGIN CREATE ROLE {role} LOGIN PASSWORD '{password}'; "
            f"EXCEPTION WHEN duplicate_object THEN ALTER ROLE {role} LOGIN PASSWORD '{password}'; END $$"
        )
        if owner:
            cur.execute(f'GRANT ALL ON DATABASE "{parts.path[1:]}" TO {role}')
            cur.execute(f"GRANT ALL ON SCHEMA public TO {role}")
    conn.close()
    return urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}"))


def sync_logs_text(database_url: str) -> str:
    return json.dumps(query(database_url, "SELECT row_to_json(s)::text FROM sync_logs s"))


def test_given_debug_logging_then_token_and_password_appear_in_no_output_log_or_sync_log(
    portal: Simulator, database_url: str, tmp_path: Path
) -> None:
    url = login_role(database_url, f"loader_{uuid.uuid4().hex[:8]}", DB_PASSWORD, owner=True)
    portal.update_config(error_rate=0.1, force_429=2)  # retries and error paths log too
    run = run_pipeline(portal, url, tmp_path, env={"LOGLEVEL": "DEBUG"})
    assert " DEBUG " in run.stderr("tap")
    assert " DEBUG " in run.stderr("target")

    # A failing run (wrong port) at DEBUG: the connection error is printed, the secret is not.
    bad_url = url.replace(f":{urlsplit(url).port}/", ":1/")
    failed = start(portal, bad_url, tmp_path, target={"max_retries": 1}, env={"LOGLEVEL": "DEBUG"}).finish()
    assert failed.returncode("target") != 0

    for secret in (TOKEN, DB_PASSWORD):
        leaks = [p for p in tmp_path.rglob("*.std*") if secret in p.read_text(errors="replace")]  # all output
        assert not leaks, f"{secret[:6]}… leaked into {leaks}"
        assert secret not in json.dumps(run.messages) + sync_logs_text(url)
    assert "connection" in failed.stderr("target").lower()


@pytest.mark.xdist_group("meltano")
@pytest.mark.slow
def test_given_meltano_run_with_password_role_then_no_secret_in_output_logs_or_system_db(
    portal: Simulator, database_url: str, tmp_path: Path
) -> None:
    url = login_role(database_url, f"melt_{uuid.uuid4().hex[:8]}", DB_PASSWORD, owner=True)
    project = MeltanoProject(REPO_ROOT, tmp_path / "meltano.db")
    project.meltano("install")
    began = time.time()
    env = {
        "TAP_HUBSPOT_RAW_ACCESS_TOKEN": TOKEN,
        "TAP_HUBSPOT_RAW_API_URL": portal.url,
        "TARGET_SUPABASE_HYBRID_DATABASE_URL": url,
    }
    run_id, output = project.run_pipeline(env, "tap-hubspot-raw", "target-supabase-hybrid")
    debug = project.meltano(
        "--environment=prod",
        "--log-level=debug",
        "run",
        "--full-refresh",
        "tap-hubspot-raw",
        "target-supabase-hybrid",
        env=env,
    )

    assert_database_equals_portal(portal, url)
    produced = {"meltano output": output + debug.stdout + debug.stderr, "sync_logs": sync_logs_text(url)}
    produced["system db"] = (tmp_path / "meltano.db").read_bytes().decode("latin-1")
    for path in (REPO_ROOT / ".meltano").rglob("*"):
        if path.is_file() and "venv" not in path.parts and path.stat().st_mtime >= began - 1:
            produced[str(path)] = path.read_bytes().decode("latin-1")
    # `meltano run` writes no .meltano/logs/elt; its run dir holds the plugin files it wrote for this run.
    assert any("/.meltano/run/" in name for name in produced), "found none of Meltano's run files"
    for secret in (TOKEN, DB_PASSWORD):
        leaks = [name for name, text in produced.items() if secret in text]
        assert not leaks, f"{secret[:6]}… leaked into {leaks}"
    assert run_id.replace("-", "") in {r["run_id"] for r in project.runs()}


def test_given_api_roles_that_can_log_in_then_they_are_refused_every_created_relation(
    portal: Simulator, database_url: str, tmp_path: Path
) -> None:
    urls = {role: login_role(database_url, role, f"{role}-pw") for role in ("anon", "authenticated")}
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        for role in urls:
            cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            cur.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {role}")
    admin.close()
    run_pipeline(portal, database_url, tmp_path)

    kinds = dict(
        query(
            database_url,
            "SELECT relname, relkind FROM pg_class WHERE relkind IN ('r', 'v') "
            "AND relnamespace = 'public'::regnamespace",
        )
    )
    assert {"hubspot_contacts_raw", "hubspot_calls_raw", "hubspot_deals_raw", "sync_logs"} <= set(kinds)
    assert all(
        r[0]
        for r in query(
            database_url,
            "SELECT relrowsecurity FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace",
        )
    )
    for url in urls.values():
        conn = psycopg2.connect(url)  # the roles can log in...
        conn.autocommit = True
        try:
            for relation, kind in kinds.items():  # ...and are refused everything the target created
                statements = [f'SELECT * FROM "{relation}" LIMIT 1']
                if kind == "r":
                    statements.append(f'DELETE FROM "{relation}"')
                for statement in statements:
                    with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
                        cur.execute(statement)
        finally:
            conn.close()


@pytest.fixture
def remote_looking_proxy(postgres_server: PostgresServer) -> Iterator[str]:
    """127.0.0.2 (not one of the target's local hosts) forwarding to the test server: a 'remote' database."""
    upstream = urlsplit(postgres_server.admin_url)
    with remote_looking_address(upstream.hostname or "", upstream.port or 0) as (host, port):
        yield f"{host}:{port}"


def run_target(config: dict[str, Any], tmp_path: Path, lines: str) -> subprocess.CompletedProcess[str]:
    config_file = tmp_path / f"target-{uuid.uuid4().hex[:6]}.json"
    config_file.write_text(json.dumps(config))
    return subprocess.run(
        [TARGET, "--config", str(config_file)], input=lines, capture_output=True, text=True, timeout=120
    )


def test_given_remote_host_then_tls_is_required_unless_explicitly_waived(
    remote_looking_proxy: str, database_url: str, tmp_path: Path
) -> None:
    remote = urlunsplit(
        urlsplit(database_url)._replace(netloc=f"postgres:{DB_PASSWORD}@{remote_looking_proxy}")
    )
    lines = (
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": "t",
                "key_properties": ["k"],
                "schema": {"properties": {"k": {"type": "string"}}},
            }
        )
        + "\n"
        + json.dumps({"type": "RECORD", "stream": "t", "record": {"k": "1"}})
        + "\n"
    )
    # Default: TLS required; this server has none, so the connection is refused (no plaintext fallback).
    default = run_target({"database_url": remote, "max_retries": 1}, tmp_path, lines)
    # Explicitly insecure without the opt-out: refused before connecting.
    refused = run_target({"database_url": remote, "sslmode": "disable"}, tmp_path, lines)
    # The opt-out: loads over plaintext.
    waived = run_target(
        {"database_url": remote, "sslmode": "disable", "allow_insecure_connection": True}, tmp_path, lines
    )

    assert default.returncode != 0
    assert "SSL" in default.stderr
    assert refused.returncode != 0
    assert "allow_insecure_connection" in refused.stderr
    assert waived.returncode == 0, waived.stderr[-3000:]
    assert query(database_url, "SELECT k FROM t") == [("1",)]
    for result in (default, refused, waived):
        assert DB_PASSWORD not in result.stdout + result.stderr
