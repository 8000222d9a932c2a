"""The target changes only what it created (marked by a comment at creation) and refuses anything else of the
same name with a clear message, changing nothing; HubSpot streams beyond contacts/deals/calls default to
`hubspot_<type>_raw`, so an application's own `companies` table is never touched."""

from __future__ import annotations

from pathlib import Path

import psycopg2

from tests.target.catalog import comment, execute, relations, snapshot
from tests.target.cli import error_lines, run_target
from tests.target.singer import hubspot, query, record, schema, state

OWNER_MARK = "managed by target-supabase-hybrid"
APP_COMPANIES = """
CREATE TABLE companies (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO companies VALUES (1, 'Acme'), (2, 'Globex');
COMMENT ON TABLE companies IS 'our CRM companies';
"""
# As the release before ownership marks created them (DDL of that release, status check included).
EARLIER_RELEASE_TABLES = """
CREATE TABLE sync_logs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run_id uuid NOT NULL, stream text NOT NULL,
    table_name text NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed')),
    started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, duration_seconds numeric(12, 3),
    records_received bigint NOT NULL DEFAULT 0, records_inserted bigint NOT NULL DEFAULT 0,
    records_updated bigint NOT NULL DEFAULT 0, records_unchanged bigint NOT NULL DEFAULT 0,
    records_failed bigint NOT NULL DEFAULT 0, duplicates_merged bigint NOT NULL DEFAULT 0,
    batches bigint NOT NULL DEFAULT 0, conversion_nulls bigint NOT NULL DEFAULT 0,
    conversion_nulls_by_column jsonb NOT NULL DEFAULT '{}'::jsonb, error text, meltano_run_id text,
    meltano_state_id text, meltano_job_trigger text, meltano_environment text, meltano_extractor text,
    UNIQUE (run_id, stream));
CREATE TABLE companies (id text NOT NULL, raw_hash text, raw_json jsonb NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id));
INSERT INTO companies (id, raw_json) VALUES ('7', '{"id": "7"}');
INSERT INTO sync_logs (run_id, stream, table_name, status)
    VALUES ('00000000-0000-0000-0000-000000000001', 'companies', 'companies', 'success');
"""
COMPANY = [schema("companies"), record("companies", hubspot("5", domain="a.io")), state({"b": 1})]


def test_given_app_companies_table_then_hubspot_companies_land_in_their_own_table_and_it_is_untouched(
    database_url: str, tmp_path: Path
) -> None:
    execute(database_url, APP_COMPANIES)
    before = snapshot(database_url, "companies")

    result = run_target(tmp_path, {"database_url": database_url}, COMPANY)

    assert result.returncode == 0, result.stderr[-3000:]
    assert snapshot(database_url, "companies") == before
    rows = query(
        database_url, "SELECT hubspot_id, archived, updated_at IS NOT NULL AS u FROM hubspot_companies_raw"
    )
    assert rows == [{"hubspot_id": "5", "archived": False, "u": True}]
    assert OWNER_MARK in (comment(database_url, "hubspot_companies_raw") or "")


def test_given_stream_mapped_onto_an_app_table_then_refused_and_nothing_changes(
    database_url: str, tmp_path: Path
) -> None:
    execute(database_url, APP_COMPANIES)
    before = snapshot(database_url, "companies")

    config = {"database_url": database_url, "tables": {"companies": {"table": "companies"}}}
    result = run_target(tmp_path, config, COMPANY)

    assert result.returncode == 1
    (line,) = [line for line in error_lines(result.stderr) if "companies" in line]
    assert "table public.companies exists but was not created by target-supabase-hybrid" in line
    assert "nothing was changed" in line
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot(database_url, "companies") == before
    assert relations(database_url) == ["public.companies"]  # not even sync_logs


def test_given_app_sync_logs_table_then_refused_and_nothing_changes(
    database_url: str, tmp_path: Path
) -> None:
    execute(
        database_url,
        "CREATE TABLE sync_logs (id serial PRIMARY KEY, job text); INSERT INTO sync_logs (job) VALUES ('x')",
    )
    before = snapshot(database_url, "sync_logs")

    result = run_target(
        tmp_path, {"database_url": database_url}, [schema("contacts"), record("contacts", hubspot("1"))]
    )

    assert result.returncode == 1
    assert "table public.sync_logs exists but was not created by target-supabase-hybrid" in result.stderr
    assert "schema" in error_lines(result.stderr)[-1]
    assert snapshot(database_url, "sync_logs") == before
    assert relations(database_url) == ["public.sync_logs"]


def test_given_tables_of_the_release_before_marks_then_they_are_recognised_marked_and_loaded(
    database_url: str, tmp_path: Path
) -> None:
    execute(database_url, EARLIER_RELEASE_TABLES)
    config = {
        "database_url": database_url,
        "tables": {"companies": {"table": "companies", "hubspot_id_key": False}},
    }

    result = run_target(
        tmp_path,
        config,
        [schema("companies"), record("companies", hubspot("8")), state({"b": 1})],
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["id"] for r in query(database_url, "SELECT id FROM companies ORDER BY id")] == ["7", "8"]
    assert OWNER_MARK in (comment(database_url, "companies") or "")
    assert OWNER_MARK in (comment(database_url, "sync_logs") or "")
    # The widened status check accepts the new status.
    execute(database_url, "UPDATE sync_logs SET status = 'interrupted' WHERE stream = 'companies'")


def test_given_earlier_release_loaded_a_hubspot_stream_under_its_name_then_run_stops_rather_than_split_it(
    database_url: str, tmp_path: Path
) -> None:
    execute(database_url, EARLIER_RELEASE_TABLES)

    result = run_target(
        tmp_path, {"database_url": database_url}, [schema("companies"), record("companies", hubspot("8"))]
    )

    assert result.returncode == 1
    assert "earlier runs loaded stream 'companies' into table 'companies'" in result.stderr
    assert "tables.companies.table: companies" in result.stderr
    assert "public.hubspot_companies_raw" not in relations(database_url)


def test_given_other_taps_stream_then_it_keeps_its_own_name_and_key(
    database_url: str, tmp_path: Path
) -> None:
    people = schema("crm_source-people", key=["person_id"], properties={"person_id": {"type": "integer"}})

    result = run_target(
        tmp_path,
        {"database_url": database_url},
        [people, record("crm_source-people", {"person_id": 1}), state({"b": 1})],
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert query(database_url, "SELECT person_id FROM crm_source_people") == [{"person_id": "1"}]


def test_given_app_view_named_like_the_call_contacts_view_then_it_is_left_alone(
    database_url: str, tmp_path: Path
) -> None:
    execute(database_url, "CREATE VIEW hubspot_call_contacts AS SELECT 1 AS mine")

    result = run_target(
        tmp_path,
        {"database_url": database_url},
        [schema("contacts"), schema("calls"), record("calls", hubspot("1")), state({"b": 1})],
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "view public.hubspot_call_contacts exists but was not created" in result.stderr
    assert query(database_url, "SELECT * FROM hubspot_call_contacts") == [{"mine": 1}]


def test_given_a_marked_table_whose_comment_a_user_extended_then_it_still_loads(
    database_url: str, tmp_path: Path
) -> None:
    messages = [schema("deals"), record("deals", hubspot("1", amount="5")), state({"b": 1})]
    assert run_target(tmp_path, {"database_url": database_url}, messages).returncode == 0
    marked = comment(database_url, "hubspot_deals_raw")
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        cur.execute("COMMENT ON TABLE hubspot_deals_raw IS %s", (f"Deals, synced hourly. {marked}",))
    conn.close()

    result = run_target(tmp_path, {"database_url": database_url}, messages)

    assert result.returncode == 0, result.stderr[-3000:]
