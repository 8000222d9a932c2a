"""Incremental sync: cheap when nothing changed, exact when something did, correct past the 10k search
cap, resumable from any STATE it emitted, and deletes arrive as archived records."""

from __future__ import annotations

import json
import time

from tap_hubspot_raw.pagination import to_epoch_ms, to_iso
from tests.tap.conftest import PORTAL, TapOutput, live_ids, run_tap, start_tap_process, tap_config


def bookmark_ms(state: dict, stream: str) -> int:
    return to_epoch_ms(state["bookmarks"][stream]["replication_key_value"])


def requests_by_kind(sim) -> dict[str, int]:
    return dict(sim.stats()["by_kind"])


def assert_unchanged(sim, out) -> None:
    """Every record emitted equals what the portal holds (re-reads of the refresh sweep change nothing)."""
    for stream, records in out.records.items():
        for record in records:
            held = sim.portal.get_object(stream, record["id"])
            assert record["properties"] == held["properties"]
            assert (record["updatedAt"], record["archived"]) == (held["updatedAt"], held["archived"])


def test_given_no_changes_then_only_the_refresh_slice_is_re_read_for_a_few_requests(portal_sim):
    config = tap_config(portal_sim)
    first = run_tap(config)
    portal_sim.reset_stats()

    second = run_tap(config, state=first.state, catalog=first.catalog())

    # Per stream: the changes' search page, the live count, the refresh slice's search page and a page of
    # archived objects; and the slice's associations, one v4 call per association type (4 in all).
    assert portal_sim.stats()["total"] <= 4 * 3 + 4
    assert sum(len(r) for r in second.records.values()) <= 3  # the refresh slice: seconds' worth of a day
    assert_unchanged(portal_sim, second)
    for stream in ("contacts", "deals", "calls"):
        assert bookmark_ms(second.state, stream) >= bookmark_ms(first.state, stream)


def test_given_n_changes_then_exactly_those_are_emitted_and_the_bookmark_advances(portal_sim):
    config = tap_config(portal_sim, lookback_minutes=5)
    first = run_tap(config)
    contacts, deals = live_ids(portal_sim, "contacts"), live_ids(portal_sim, "deals")
    changed_contacts = {contacts[i] for i in (2, 16, 41, 98, 99)}
    for object_id in changed_contacts:
        portal_sim.portal.update_object("contacts", object_id, {"firstname": f"Changed {object_id}"})
    portal_sim.portal.update_object("deals", deals[6], {"amount": "123.45"})
    portal_sim.portal.add_association("contacts", contacts[2], "deals", deals[8])
    portal_sim.portal.flush_indexing()  # search shows changes once indexed (late ones: test_convergence.py)
    before_run = int(time.time() * 1000)
    time.sleep(0.01)  # bounds are inclusive: a change in the very millisecond the run starts is re-read

    second = run_tap(config, state=first.state, catalog=first.catalog())

    changed = {"contacts": changed_contacts, "deals": {deals[6]}, "calls": set()}
    for stream, ids in changed.items():  # the changes, and at most the refresh slice besides
        assert ids <= set(second.ids(stream))
        assert len(second.ids(stream)) <= len(ids) + 1
    contact = next(r for r in second.records["contacts"] if r["id"] == contacts[2])
    assert contact["properties"]["firstname"] == f"Changed {contacts[2]}"
    assert deals[8] in contact["associations"]["deals"]  # associations re-read for changed objects
    deal = next(r for r in second.records["deals"] if r["id"] == deals[6])
    assert deal["properties"]["amount"] == "123.45"
    for stream in ("contacts", "deals", "calls"):
        assert before_run - 5_000 <= bookmark_ms(second.state, stream) <= int(time.time() * 1000)

    # The lookback re-reads what it covers (objects changed within it); without one, only the refresh slice.
    third = run_tap(config, state=second.state, catalog=first.catalog())
    assert changed_contacts <= set(third.ids("contacts"))
    assert deals[6] in third.ids("deals")
    fourth = run_tap({**config, "lookback_minutes": 0}, state=second.state, catalog=first.catalog())
    assert sum(len(r) for r in fourth.records.values()) <= 3
    assert_unchanged(portal_sim, fourth)


def test_given_objects_archived_since_the_bookmark_then_they_arrive_flagged_archived(portal_sim):
    config = tap_config(portal_sim)
    first = run_tap(config)
    gone = {live_ids(portal_sim, "contacts")[i] for i in (4, 5, 7)}
    for object_id in gone:
        portal_sim.portal.archive_object("contacts", object_id)

    second = run_tap(config, state=first.state, catalog=first.catalog())

    archived = {r["id"]: r for r in second.records["contacts"] if r["archived"]}
    assert set(archived) == gone
    assert all(r["archivedAt"] for r in archived.values())


def test_given_10400_changes_sharing_timestamps_then_each_is_emitted_once(make_simulator):
    sim = make_simulator(**{**PORTAL, "contacts": 11_000, "deals": 5, "calls": 5})
    base = int(time.time() * 1000) - 60_000
    changed = live_ids(sim, "contacts")[:10_400]
    for index, object_id in enumerate(changed):
        # 6,000 on one millisecond (more than a search page and than the 10k window allows to page
        # with offsets together with the rest), the others four to a millisecond.
        stamp = base if index < 6_000 else base + 1 + (index - 6_000) // 4
        sim.portal.update_object("contacts", object_id, {"jobtitle": f"v2-{object_id}"}, timestamp_ms=stamp)
    sim.portal.flush_indexing()  # all of them searchable (late ones: test_convergence.py)
    bookmark = {"replication_key": "updatedAt", "replication_key_value": to_iso(base - 1)}
    state = {"bookmarks": {"contacts": bookmark}}
    config = tap_config(sim, object_types=["contacts"], associations={"contacts": []})

    out = run_tap(config, state=state)

    ids = out.ids("contacts")
    assert len(ids) == len(set(ids)) == 10_400
    assert set(ids) == set(changed)
    assert all(r["properties"]["jobtitle"] == f"v2-{r['id']}" for r in out.records["contacts"])
    stamps = [to_epoch_ms(r["updatedAt"]) for r in out.records["contacts"]]
    assert stamps == sorted(stamps)  # emitted in modified order: the bookmark is honest
    assert sim.stats()["by_kind"]["search"] < 10_400 / 200 + 10


def test_given_an_object_modified_during_the_sync_then_the_next_run_emits_it(make_simulator, tmp_path):
    sim = make_simulator(**{**PORTAL, "contacts": 600, "latency_ms": 15.0})
    config = tap_config(sim, object_types=["contacts"])
    first = run_tap(config)

    process = start_tap_process(tmp_path, config, state=first.state)
    assert process.stdout is not None
    lines = [process.stdout.readline()]  # the run has started: its search window is fixed
    during_id = live_ids(sim, "contacts")[10]
    sim.portal.update_object("contacts", during_id, {"firstname": "During"})
    lines += process.stdout.readlines()
    assert process.wait(timeout=60) == 0
    during = TapOutput.parse("".join(lines))
    modified = sim.portal.get_object("contacts", during_id)["updatedAt"]
    assert bookmark_ms(during.state, "contacts") < to_epoch_ms(modified)

    sim.portal.flush_indexing()
    after = run_tap(config, state=during.state)
    assert during_id in after.ids("contacts")
    record = next(r for r in after.records["contacts"] if r["id"] == during_id)
    assert record["properties"]["firstname"] == "During"


def test_given_a_run_killed_mid_stream_then_resuming_from_its_last_state_delivers_everything(
    make_simulator, tmp_path
):
    sim = make_simulator(**{**PORTAL, "contacts": 3_000, "deals": 5, "calls": 5, "latency_ms": 10.0})
    config = tap_config(sim, object_types=["contacts"])
    # 2,400 changes spread over the last four hours, six seconds apart (a run re-reads the 35 minutes
    # before its bookmark: a resumed run re-reads that much of what the killed one emitted, no more).
    now = int(time.time() * 1000)
    state = {
        "bookmarks": {
            "contacts": {"replication_key": "updatedAt", "replication_key_value": to_iso(now - 14_500_000)}
        }
    }
    changed = set(live_ids(sim, "contacts")[:2_400])
    for index, object_id in enumerate(sorted(changed, key=int)):
        stamp = now - 14_400_000 + index * 6_000
        sim.portal.update_object("contacts", object_id, {"city": "Resumed"}, timestamp_ms=stamp)
    sim.portal.flush_indexing()
    sim.reset_stats()

    process = start_tap_process(tmp_path, config, state=state)
    assert process.stdout is not None
    committed: set[str] = set()  # records a target would have committed: those before the last STATE
    pending: set[str] = set()
    last_state = None
    states_seen = 0
    for line in process.stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            pending.add(message["record"]["id"])
        elif message["type"] == "STATE":
            committed |= pending
            pending.clear()
            last_state, states_seen = message["value"], states_seen + 1
            if len(committed) >= 1_000:
                process.kill()
                break
    process.wait(timeout=30)
    assert last_state is not None
    assert 1_000 <= len(committed) < 2_400, "the run should have been killed part-way"
    interrupted_requests = sim.stats()["total"]
    sim.reset_stats()

    resumed = run_tap(config, state=last_state)

    assert committed | set(resumed.ids("contacts")) >= changed
    lookback_changes = 35 * 60 // 6  # the changes in the 35 minutes before the bookmark it resumes from
    assert len(resumed.ids("contacts")) <= 2_400 - len(committed) + lookback_changes + 50
    # Search + two association reads per page of what it re-read, and a few more (count, archived page, ...):
    # far fewer than reading all 2,400 changes again would take with 35 minutes' worth re-read besides.
    resumed_pages = -(-len(resumed.ids("contacts")) // 200)
    assert sim.stats()["total"] <= resumed_pages * 3 + 5, sim.stats()["by_kind"]
    assert resumed_pages < 2_400 / 200
    assert interrupted_requests > 0
