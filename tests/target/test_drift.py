"""Drift: the count of live objects a tap records in its STATE (`bookmarks.<stream>.count`) beside the
table's live rows, in `sync_logs`, with a warning when changes made during the run cannot explain it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tap_hubspot_raw.pagination import to_iso
from tests.target.cli import run_target
from tests.target.singer import hubspot, query, record, schema, state, sync_logs


def counted(live: int, recent: int = 0, at_ms: int | None = None) -> dict[str, Any]:
    """A STATE as tap-hubspot-raw writes it at the end of a run (the count taken now, by default)."""
    at = int(time.time() * 1000) + 1_000 if at_ms is None else at_ms
    count = {"live": live, "recent": recent, "since": to_iso(at - 3_600_000), "at": to_iso(at)}
    return state({"bookmarks": {"contacts": {"replication_key_value": to_iso(at), "count": count}}})


CONTACTS = [hubspot(str(i)) for i in range(1, 6)]


def load(tmp_path: Path, database_url: str, *messages: dict[str, Any]) -> str:
    result = run_target(tmp_path, {"database_url": database_url}, [schema("contacts"), *messages])
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def drift_of(database_url: str) -> tuple[Any, ...]:
    log = sync_logs(database_url)["contacts"]
    return log["hubspot_live"], log["table_live"], log["drift"], log["drift_status"]


def test_a_table_that_equals_the_portal_has_no_drift(tmp_path: Path, database_url: str) -> None:
    archived = {**hubspot("6"), "archived": True}  # archived objects are not live, in HubSpot or here
    load(tmp_path, database_url, *(record("contacts", c) for c in [*CONTACTS, archived]), counted(5))

    assert drift_of(database_url) == (5, 5, 0, "ok")


def test_rows_deleted_behind_the_pipelines_back_are_drift_with_a_warning(
    tmp_path: Path, database_url: str
) -> None:
    load(tmp_path, database_url, *(record("contacts", c) for c in CONTACTS), counted(5))
    query(database_url, "DELETE FROM hubspot_contacts_raw WHERE hubspot_id IN ('2', '3') RETURNING 1")

    stderr = load(tmp_path, database_url, counted(5))

    assert drift_of(database_url) == (5, 3, -2, "drift")
    warning = next(line for line in stderr.splitlines() if "drift -2" in line)
    assert "WARNING" in warning
    assert "contacts" in warning
    assert "full refresh" in warning


def test_a_difference_the_changes_during_the_run_explain_is_no_drift(
    tmp_path: Path, database_url: str
) -> None:
    load(tmp_path, database_url, *(record("contacts", c) for c in CONTACTS))
    # Two objects created after the tap read its window, counted by HubSpot (recent = 2); nothing written.
    load(tmp_path, database_url, counted(7, recent=2))
    assert drift_of(database_url) == (7, 5, -2, "ok")

    load(tmp_path, database_url, counted(8, recent=2))
    assert drift_of(database_url) == (8, 5, -3, "drift")


def test_a_count_taken_before_the_previous_run_ended_is_not_compared(
    tmp_path: Path, database_url: str
) -> None:
    load(tmp_path, database_url, *(record("contacts", c) for c in CONTACTS))
    earlier = int(time.time() * 1000) - 3_600_000  # the input state's count, passed on by the tap

    load(tmp_path, database_url, counted(9, at_ms=earlier), record("contacts", CONTACTS[0]))

    assert drift_of(database_url) == (None, None, None, None)
