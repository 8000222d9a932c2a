"""Old state meeting a new destination (another schema, database or table): the target stops before loading a
stream the state says was loaded, when the destination has no trace of it, and says how to load it in full."""

from __future__ import annotations

from pathlib import Path

from tests.target.cli import error_lines, run_target
from tests.target.singer import hubspot, query, record, schema, state

RESUMED = state({"bookmarks": {"contacts": {"replication_key_value": "2024-06-01T00:00:00.000Z"}}})
CHANGES = [schema("contacts"), record("contacts", hubspot("7", email="new@example.com"))]


def tables(database_url: str, schema_name: str) -> list[str]:
    rows = query(
        database_url,
        f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema_name}' ORDER BY tablename",
    )
    return [row["tablename"] for row in rows]


def test_given_state_of_an_earlier_destination_then_a_new_schema_is_refused_and_left_empty(
    database_url: str, tmp_path: Path
) -> None:
    first = run_target(tmp_path, {"database_url": database_url}, [*CHANGES, RESUMED])
    assert first.returncode == 0, first.stderr[-3000:]

    moved = run_target(tmp_path, {"database_url": database_url, "schema": "hubspot"}, [RESUMED, *CHANGES])

    assert moved.returncode == 1
    (error,) = error_lines(moved.stderr)
    assert "the incoming state says earlier runs loaded contacts, but schema 'hubspot'" in error
    assert "--full-refresh" in error
    assert "Traceback" not in moved.stderr
    assert moved.stdout == ""  # no state for the new destination
    assert tables(database_url, "hubspot") == []


def test_given_state_and_a_stream_moved_to_a_new_table_then_that_stream_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    first = run_target(tmp_path, {"database_url": database_url}, [*CHANGES, RESUMED])
    assert first.returncode == 0, first.stderr[-3000:]
    config = {"database_url": database_url, "tables": {"contacts": {"table": "crm_contacts"}}}

    moved = run_target(tmp_path, config, [RESUMED, *CHANGES])

    assert moved.returncode == 1
    error = error_lines(moved.stderr)[-1]  # after the SDK's "Error initializing target sink"
    assert "stream 'contacts': the incoming state says earlier runs loaded it" in error
    assert "public.crm_contacts" in error
    assert "Traceback" not in moved.stderr
    assert "crm_contacts" not in tables(database_url, "public")


def test_given_state_and_a_destination_that_loaded_the_stream_then_the_changes_load(
    database_url: str, tmp_path: Path
) -> None:
    first = run_target(tmp_path, {"database_url": database_url}, CHANGES)
    assert first.returncode == 0, first.stderr[-3000:]

    again = run_target(
        tmp_path,
        {"database_url": database_url},
        [RESUMED, schema("contacts"), record("contacts", hubspot("8"))],
    )

    assert again.returncode == 0, again.stderr[-3000:]
    assert query(database_url, "SELECT count(*) AS n FROM hubspot_contacts_raw") == [{"n": 2}]


def test_given_the_check_turned_off_then_the_changes_load_into_the_new_destination(
    database_url: str, tmp_path: Path
) -> None:
    config = {"database_url": database_url, "schema": "hubspot", "check_new_destination": False}

    run = run_target(tmp_path, config, [RESUMED, *CHANGES])

    assert run.returncode == 0, run.stderr[-3000:]
    assert query(database_url, "SELECT hubspot_id FROM hubspot.hubspot_contacts_raw") == [{"hubspot_id": "7"}]


def test_a_state_that_arrives_after_the_records_began_is_not_taken_for_the_input_state(
    database_url: str, tmp_path: Path
) -> None:
    run = run_target(
        tmp_path,
        {"database_url": database_url},
        [*CHANGES, RESUMED, schema("deals"), record("deals", hubspot("1"))],
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert query(database_url, "SELECT count(*) AS n FROM hubspot_deals_raw") == [{"n": 1}]
