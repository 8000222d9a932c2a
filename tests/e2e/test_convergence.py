"""The database converges with the portal: `tap-hubspot-raw | target-supabase-hybrid` as processes, on the
HubSpot simulator and PostgreSQL. Merges are retired by the incremental run that sees the merged record;
hard deletions only by a complete full sync (never an interrupted or `start_date` one); `sync_logs` puts
HubSpot's count of live objects beside the table's live rows after every run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.landed import query
from tests.harness.pipeline import run_pipeline, start
from tests.harness.presets import HISTORY_ENDS_MS, PIPELINE_PORTAL
from tests.hubspot_simulator import Simulator

PHONE = "+16172531000"
STREAMS = ("contacts", "deals", "calls")


@pytest.fixture
def sim(make_simulator: Any) -> Simulator:
    simulator: Simulator = make_simulator(**PIPELINE_PORTAL)
    return simulator


def live_ids(database_url: str, table: str = "hubspot_contacts_raw") -> set[str]:
    rows = query(
        database_url, f"SELECT hubspot_id FROM {table} WHERE _sdc_deleted_at IS NULL AND NOT archived"
    )
    return {row[0] for row in rows}


def snapshot(database_url: str) -> dict[str, tuple[Any, ...]]:
    rows = query(
        database_url, "SELECT hubspot_id, raw_json, synced_at, _sdc_deleted_at FROM hubspot_contacts_raw"
    )
    return {row[0]: row[1:] for row in rows}


def drift(database_url: str, run_id: str | None = None) -> dict[str, tuple[Any, ...]]:
    """(hubspot_live, table_live, drift, drift_status) per stream of the latest run."""
    rows = query(
        database_url,
        "SELECT stream, hubspot_live, table_live, drift, drift_status FROM sync_logs"
        " WHERE run_id = (SELECT run_id FROM sync_logs ORDER BY id DESC LIMIT 1)",
    )
    return {row[0]: row[1:] for row in rows}


def assert_no_drift(database_url: str, sim: Simulator) -> None:
    for stream, (hubspot_live, table_live, difference, status) in drift(database_url).items():
        assert (difference, status) == (0, "ok"), stream
        assert hubspot_live == table_live == sim.portal.search_total(stream), stream


def call_with(sim: Simulator, contact: int | None) -> str:
    """An outbound call dialling PHONE, associated with `contact` (None: with no one), made before the
    simulated history ends: no incremental run re-reads it, so its row keeps the associations it had."""
    call = sim.portal.create_object(
        "calls",
        {"hs_call_to_number": PHONE, "hs_call_direction": "OUTBOUND", "hs_call_title": "converge"},
        timestamp_ms=HISTORY_ENDS_MS - 3_600_000,
    )
    if contact is not None:
        sim.portal.add_association("calls", call["id"], "contacts", contact)
    return str(call["id"])


def matches(database_url: str, calls: list[str]) -> dict[str, tuple[Any, ...]]:
    rows = query(
        database_url,
        "SELECT call_id, contact_id, match_rule, candidates FROM hubspot_call_contacts"
        " WHERE call_id = ANY(%s)",
        (calls,),
    )
    return {row[0]: row[1:] for row in rows}


def test_after_a_merge_the_incremental_run_retires_the_old_ids_and_their_calls_follow_the_merged_record(
    sim: Simulator, database_url: str, tmp_path: Path
) -> None:
    first, second = (int(i) for i in list(sim.portal.iter_ids("contacts"))[10:12])
    for contact in (first, second):
        sim.portal.update_object("contacts", contact, {"phone": PHONE, "mobilephone": None})
    calls = [call_with(sim, first), call_with(sim, second), call_with(sim, None)]
    sim.portal.flush_indexing()
    full = run_pipeline(sim, database_url, tmp_path)
    assert matches(database_url, calls)[calls[2]] == (None, "phone_ambiguous", 2)  # the problem merges cause

    merged = str(sim.portal.merge_objects("contacts", first, second)["id"])
    sim.portal.flush_indexing()
    incremental = run_pipeline(sim, database_url, tmp_path, state=full.state)

    assert not {m["record"]["id"] for m in incremental.records if m["stream"] == "calls"} & set(calls)

    rows = query(
        database_url, "SELECT hubspot_id, merged_into FROM hubspot_contacts_raw WHERE merged_into IS NOT NULL"
    )
    assert dict(rows) == {str(first): merged, str(second): merged}
    assert merged in live_ids(database_url)
    assert not {str(first), str(second)} & live_ids(database_url)
    assert matches(database_url, calls) == {
        calls[0]: (merged, "association", 1),
        calls[1]: (merged, "association", 1),
        calls[2]: (merged, "phone", 1),
    }
    merges = query(database_url, "SELECT records_merged FROM sync_logs WHERE stream = 'contacts' ORDER BY id")
    assert [row[0] for row in merges] == [0, 2]
    assert_no_drift(database_url, sim)


@pytest.mark.parametrize("hard_delete", [False, True], ids=["soft", "hard_delete"])
def test_hard_deletions_show_as_drift_until_a_full_refresh_retires_them_and_nothing_else(
    sim: Simulator, database_url: str, tmp_path: Path, hard_delete: bool
) -> None:
    target = {"hard_delete": hard_delete}
    full = run_pipeline(sim, database_url, tmp_path, target=target)
    assert_no_drift(database_url, sim)
    contacts = [str(i) for i in sim.portal.iter_ids("contacts")]
    gdpr = contacts[-5:-2]  # not the first ids: the refresh sweep re-reads those first
    for contact in gdpr:
        sim.portal.delete_object("contacts", contact)
    sim.portal.archive_object("contacts", contacts[-1])
    purged = [str(i) for i in sim.portal.purge_archived("contacts")]
    assert contacts[-1] in purged
    sim.portal.flush_indexing()

    incremental = run_pipeline(sim, database_url, tmp_path, state=full.state, target=target)

    # The archived contact was purged before any run saw it archived: a live ghost too.
    assert drift(database_url)["contacts"] == (len(contacts) - 4, len(contacts), 4, "drift")
    assert "drift +4" in incremental.stderr("target")
    assert set(gdpr) <= live_ids(database_url)  # nothing retires them but a full sync
    before = snapshot(database_url)

    run_pipeline(sim, database_url, tmp_path, target=target)  # --full-refresh: no state

    after = snapshot(database_url)
    ghosts = {*gdpr, *purged}
    if hard_delete:
        assert not ghosts & after.keys()
    else:
        assert all(after[ghost][2] is not None for ghost in ghosts)
    assert {k: v for k, v in after.items() if k not in ghosts} == {
        k: v for k, v in before.items() if k not in ghosts
    }
    assert_no_drift(database_url, sim)


def test_an_interrupted_full_refresh_retires_nothing_and_the_next_complete_one_only_the_deleted(
    sim: Simulator, database_url: str, tmp_path: Path
) -> None:
    target = {"state_checkpoint_seconds": 0}
    run_pipeline(sim, database_url, tmp_path, target=target)
    contacts = [str(i) for i in sim.portal.iter_ids("contacts")]
    deleted = contacts[100:103]
    for contact in deleted:
        sim.portal.delete_object("contacts", contact)
    sim.portal.flush_indexing()

    run = start(sim, database_url, tmp_path, target=target)  # a full refresh, cut off halfway
    run.wait_for(lambda r: r.records_by_stream.get("contacts", 0) >= 120)
    run.kill("tap")
    run.finish()

    assert not [m for m in run.messages if m.get("type") == "ACTIVATE_VERSION" and m["stream"] == "contacts"]
    assert live_ids(database_url) == set(contacts)

    run_pipeline(sim, database_url, tmp_path, state=run.state, target=target)  # from its last state

    assert live_ids(database_url) == set(contacts) - set(deleted)
    assert_no_drift(database_url, sim)


def test_a_start_date_full_sync_retires_nothing(sim: Simulator, database_url: str, tmp_path: Path) -> None:
    run_pipeline(sim, database_url, tmp_path)
    contacts = [str(i) for i in sim.portal.iter_ids("contacts")]
    sim.portal.delete_object("contacts", contacts[50])

    run_pipeline(sim, database_url, tmp_path, tap={"start_date": "2000-01-01T00:00:00Z"})

    assert live_ids(database_url) == set(contacts)
    retired = query(database_url, "SELECT sum(records_retired) FROM sync_logs")
    assert retired[0][0] == 0


def test_rows_deleted_behind_the_pipelines_back_are_reported_as_drift(
    sim: Simulator, database_url: str, tmp_path: Path
) -> None:
    full = run_pipeline(sim, database_url, tmp_path)
    query(
        database_url,
        "DELETE FROM hubspot_deals_raw WHERE hubspot_id IN"
        " (SELECT hubspot_id FROM hubspot_deals_raw WHERE NOT archived ORDER BY updated_at DESC LIMIT 2)"
        " RETURNING 1",
    )

    incremental = run_pipeline(sim, database_url, tmp_path, state=full.state)

    live = sim.portal.search_total("deals")
    assert drift(database_url)["deals"] == (live, live - 2, -2, "drift")
    warning = next(line for line in incremental.stderr("target").splitlines() if "drift -2" in line)
    assert "WARNING" in warning
    assert "deals" in warning
    assert drift(database_url)["contacts"][3] == "ok"
