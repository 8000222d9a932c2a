"""Supabase hardening, on PostgreSQL with Supabase's roles and default grants (tests/target/supabase.py):
TLS for anything not provably local, sequences closed to the API roles, no row values in errors, least
privilege, the service role reading what a custom role loaded, and user grants left alone."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from tests.target.cli import error_lines, run_target
from tests.target.remote import remote_looking_address
from tests.target.singer import hubspot, query, record, schema, state
from tests.target.supabase import install_supabase_roles, loading_role

MESSAGES = [
    schema("contacts"),
    schema("calls"),
    *(record("contacts", hubspot(str(i), email=f"c{i}@x.io")) for i in range(3)),
    record("calls", hubspot("1")),
    state({"b": 1}),
]


def execute_as(database_url: str, role: str | None, sql: str) -> list[tuple]:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            if role:
                cur.execute(f"SET LOCAL ROLE {role}")
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.mark.parametrize("how", ["hostaddr", "PGHOST"])
def test_given_local_looking_url_that_reaches_a_remote_address_then_tls_is_required(
    database_url: str, tmp_path: Path, how: str
) -> None:
    upstream = urlsplit(database_url)
    with remote_looking_address(upstream.hostname or "", upstream.port or 0) as (host, port):
        if how == "hostaddr":
            url, env = f"postgresql://postgres@localhost:{port}{upstream.path}?hostaddr={host}", {}
        else:
            url, env = f"postgresql://postgres@{upstream.path}?port={port}", {"PGHOST": host}

        refused = run_target(tmp_path, {"database_url": url}, MESSAGES, env=env)
        waived = run_target(
            tmp_path,
            {"database_url": url, "sslmode": "disable", "allow_insecure_connection": True},
            MESSAGES,
            env=env,
        )

    assert refused.returncode == 1
    assert "sslmode: the server at" in error_lines(refused.stderr)[0]
    assert "does not support TLS" in refused.stderr
    assert waived.returncode == 0, waived.stderr[-3000:]


def test_given_hostaddr_on_loopback_then_no_tls_is_needed(database_url: str, tmp_path: Path) -> None:
    parts = urlsplit(database_url)
    url = f"postgresql://postgres@localhost:{parts.port}{parts.path}?hostaddr=127.0.0.1"

    assert run_target(tmp_path, {"database_url": url}, MESSAGES).returncode == 0


def test_given_supabase_default_grants_then_api_roles_cannot_use_the_sync_logs_sequence(
    database_url: str, tmp_path: Path
) -> None:
    install_supabase_roles(database_url)

    assert run_target(tmp_path, {"database_url": database_url}, MESSAGES).returncode == 0

    (sequence,) = execute_as(database_url, None, "SELECT pg_get_serial_sequence('sync_logs', 'id')")[0]
    for role in ("anon", "authenticated"):
        privileges = execute_as(
            database_url,
            None,
            f"SELECT has_sequence_privilege('{role}', '{sequence}', 'USAGE,SELECT,UPDATE')",
        )
        assert privileges == [(False,)], role
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            execute_as(database_url, role, f"SELECT setval('{sequence}', 9223372036854775807)")


def test_given_row_the_database_refuses_then_no_row_value_reaches_logs_or_sync_logs(
    database_url: str, tmp_path: Path
) -> None:
    assert run_target(tmp_path, {"database_url": database_url}, MESSAGES).returncode == 0
    execute_as(
        database_url,
        None,
        "ALTER TABLE hubspot_contacts_raw"
        " ADD CONSTRAINT no_blocked CHECK (email NOT LIKE '%@blocked.example')",
    )
    private = hubspot(
        "9", email="jane.private@blocked.example", phone="+1 415 555 0199", firstname="Janeprivate"
    )

    result = run_target(
        tmp_path,
        {"database_url": database_url},
        [schema("contacts"), record("contacts", private), state({"b": 2})],
    )

    assert result.returncode == 1
    assert 'violates check constraint "no_blocked"' in result.stderr
    ((error,),) = execute_as(database_url, None, "SELECT error FROM sync_logs WHERE status <> 'success'")
    assert 'violates check constraint "no_blocked"' in error
    for value in ("jane.private", "555 0199", "Janeprivate", "Failing row"):
        assert value not in result.stderr + result.stdout
        assert value not in error


def test_given_least_privilege_role_on_an_existing_schema_then_it_loads(
    database_url: str, tmp_path: Path
) -> None:
    url = loading_role(database_url, "least_loader")

    result = run_target(tmp_path, {"database_url": url}, MESSAGES)

    assert result.returncode == 0, result.stderr[-3000:]
    assert query(database_url, "SELECT count(*) AS n FROM hubspot_contacts_raw") == [{"n": 3}]


def test_given_missing_schema_the_role_may_not_create_then_one_line_says_so(
    database_url: str, tmp_path: Path
) -> None:
    url = loading_role(database_url, "least_loader")

    result = run_target(tmp_path, {"database_url": url, "schema": "hubspot"}, MESSAGES)

    assert result.returncode == 1
    assert "schema: 'hubspot' does not exist and this database user may not create it" in result.stderr
    assert "Traceback" not in result.stderr


def test_given_custom_loading_role_then_service_role_reads_everything_and_api_roles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    install_supabase_roles(database_url)
    url = loading_role(database_url, "custom_loader")

    assert run_target(tmp_path, {"database_url": url}, MESSAGES).returncode == 0

    for relation in ("hubspot_contacts_raw", "hubspot_calls_raw", "sync_logs", "hubspot_call_contacts"):
        assert execute_as(database_url, "service_role", f"SELECT count(*) > 0 FROM {relation}") == [(True,)]
        for role in ("anon", "authenticated"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                execute_as(database_url, role, f"SELECT 1 FROM {relation}")


def test_given_schema_the_target_creates_then_service_role_reads_it_and_api_roles_nothing(
    database_url: str, tmp_path: Path
) -> None:
    install_supabase_roles(database_url)

    result = run_target(tmp_path, {"database_url": database_url, "schema": "hubspot_brand_b"}, MESSAGES)

    assert result.returncode == 0, result.stderr[-3000:]
    for relation in ("hubspot_contacts_raw", "hubspot_calls_raw", "sync_logs", "hubspot_call_contacts"):
        qualified = f"hubspot_brand_b.{relation}"
        assert execute_as(database_url, "service_role", f"SELECT count(*) > 0 FROM {qualified}") == [(True,)]
        for role in ("anon", "authenticated"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                execute_as(database_url, role, f"SELECT 1 FROM {qualified}")


def test_given_grant_and_policy_added_by_the_user_then_later_runs_keep_them(
    database_url: str, tmp_path: Path
) -> None:
    install_supabase_roles(database_url)
    assert run_target(tmp_path, {"database_url": database_url}, MESSAGES).returncode == 0
    execute_as(
        database_url,
        None,
        "GRANT SELECT ON hubspot_contacts_raw TO authenticated;"
        " CREATE POLICY signed_in_read ON hubspot_contacts_raw FOR SELECT TO authenticated USING (true)",
    )

    assert run_target(tmp_path, {"database_url": database_url}, MESSAGES).returncode == 0

    assert execute_as(database_url, "authenticated", "SELECT count(*) FROM hubspot_contacts_raw") == [(3,)]
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        execute_as(database_url, "anon", "SELECT 1 FROM hubspot_contacts_raw")
    assert execute_as(
        database_url, None, "SELECT relrowsecurity FROM pg_class WHERE relname = 'hubspot_contacts_raw'"
    ) == [(True,)]
