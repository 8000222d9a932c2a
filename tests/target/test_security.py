"""Supabase security: RLS on, nothing for the API roles, TLS for remote hosts, no secrets in messages."""

from __future__ import annotations

import psycopg2
import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_supabase_hybrid import connection
from target_supabase_hybrid.connection import ConnectionFactory, InsecureConnectionError, scrub
from target_supabase_hybrid.target import TargetSupabaseHybrid
from tests.target.singer import hubspot, query, record, run, schema


def test_given_public_api_roles_then_created_tables_have_rls_and_anon_cannot_read(database_url):
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for role in ("anon", "authenticated"):
            cur.execute(
                f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
            cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            # Supabase's (pre-2026) default: new tables granted to the API roles automatically.
            cur.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {role}")
    run(
        database_url,
        [schema("contacts"), record("contacts", hubspot("1", email="secret@x.io")), schema("calls")],
    )

    tables = query(
        database_url,
        "SELECT relname, relrowsecurity FROM pg_class WHERE relkind = 'r' AND "
        "relnamespace = 'public'::regnamespace ORDER BY 1",
    )
    assert tables == [
        {"relname": n, "relrowsecurity": True}
        for n in ("hubspot_calls_raw", "hubspot_contacts_raw", "sync_logs")
    ]
    with conn.cursor() as cur:
        for relation in ("hubspot_contacts_raw", "sync_logs", "hubspot_call_contacts"):
            cur.execute("SET ROLE anon")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(f"SELECT * FROM {relation}")
            cur.execute("RESET ROLE")
    conn.close()


@pytest.mark.parametrize(
    ("url", "sslmode", "allow", "expected"),
    [
        ("postgresql://u:p@db.example.supabase.co:5432/postgres", None, False, "require"),
        ("postgresql://u:p@127.0.0.1:5432/postgres", None, False, None),
        ("postgresql://u:p@/postgres?host=/tmp", None, False, None),
        ("postgresql://u:p@pooler.supabase.com:6543/postgres", "verify-full", False, "verify-full"),
        ("postgresql://u:p@db.example.com/postgres?sslmode=disable", None, True, "disable"),
    ],
)
def test_given_host_then_tls_policy_applies(url, sslmode, allow, expected, monkeypatch):
    asked: list[dict] = []

    def connect(dsn: str, **options: str) -> None:  # what libpq would be asked for, not a connection
        asked.append(options)

    monkeypatch.setattr(connection.psycopg2, "connect", connect)
    ConnectionFactory(url, sslmode, allow_insecure=allow).connect()
    assert [options.get("sslmode") for options in asked] == [expected]


@pytest.mark.parametrize("sslmode", ["disable", "prefer"])
def test_given_remote_host_without_tls_then_config_is_refused(sslmode):
    with pytest.raises(InsecureConnectionError, match="allow_insecure_connection"):
        ConnectionFactory("postgresql://u:p@db.example.com/postgres", sslmode)
    with pytest.raises(ConfigValidationError):
        TargetSupabaseHybrid(
            config={"database_url": "postgresql://u:p@db.example.com/db", "sslmode": sslmode}
        )


def test_given_connection_error_then_password_is_scrubbed():
    url = "postgresql://postgres.ref:hunter2-pw@127.0.0.1:1/postgres"
    factory = ConnectionFactory(url)
    with pytest.raises(psycopg2.OperationalError) as failure:
        factory.connect()
    assert "hunter2-pw" not in str(failure.value)
    assert scrub(f"failed for {url} password=hunter2-pw", (url,)) == "failed for *** password=***"
    assert scrub("see postgresql+psycopg2://u:pw@h/db") == "see postgresql+psycopg2://***@h/db"
