"""The tap keeps up with what a modified date does not show: changes search indexes late, association edits,
objects archived far from the incremental window; and it tells the target HubSpot's own counts."""

from __future__ import annotations

import copy
import time
from typing import Any

from tap_hubspot_raw.pagination import to_epoch_ms, to_iso
from tests.hubspot_simulator import Simulator
from tests.tap.conftest import PORTAL, TapOutput, live_ids, run_tap, tap_config

MINUTE_MS = 60_000


def bookmark_ms(out: TapOutput, stream: str) -> int:
    return to_epoch_ms(out.state["bookmarks"][stream]["replication_key_value"])


def incremental(config: dict[str, Any], previous: TapOutput, catalog: dict[str, Any]) -> TapOutput:
    return run_tap(config, state=previous.state, catalog=catalog)


def test_a_change_search_shows_20_minutes_late_arrives_with_the_next_run_by_default(portal_sim: Simulator):
    config = tap_config(portal_sim)  # the tap's defaults: lookback 35 minutes
    first = run_tap(config)
    second = incremental(config, first, first.catalog())
    # Modified 20 minutes before the second run started, searchable only now (after it ended).
    late = live_ids(portal_sim, "contacts")[-1]
    modified = bookmark_ms(second, "contacts") - 20 * MINUTE_MS
    portal_sim.portal.update_object(
        "contacts", late, {"firstname": "Late"}, timestamp_ms=modified, indexing_delay_ms=20 * MINUTE_MS
    )

    third = incremental(config, second, first.catalog())
    with_old_default = incremental({**config, "lookback_minutes": 5}, second, first.catalog())

    record = next(r for r in third.records["contacts"] if r["id"] == late)
    assert record["properties"]["firstname"] == "Late"
    assert late not in with_old_default.ids("contacts")  # what a 5-minute lookback silently skipped


def test_an_association_edit_that_moves_no_modified_date_arrives_within_refresh_hours(portal_sim: Simulator):
    config = tap_config(portal_sim, refresh_hours=1e-7)  # a bound of 0.36 ms: every run is a whole round
    first = run_tap(config)
    contacts, deals = live_ids(portal_sim, "contacts"), live_ids(portal_sim, "deals")
    contact = next(
        c for c in reversed(contacts) if not portal_sim.portal.associated_ids("contacts", c, "deals")
    )
    deal = deals[-1]

    def updated_at() -> str:
        held = portal_sim.portal.get_object("contacts", contact)
        assert held is not None
        return str(held["updatedAt"])

    before = updated_at()
    portal_sim.portal.add_association("contacts", contact, "deals", deal)
    assert updated_at() == before  # as on HubSpot
    portal_sim.reset_stats()

    second = incremental(config, first, first.catalog())

    record = next(r for r in second.records["contacts"] if r["id"] == contact)
    assert record["associations"]["deals"] == [deal]
    assert record["updatedAt"] == before
    deal_record = next(r for r in second.records["deals"] if r["id"] == deal)
    assert contact in deal_record["associations"]["contacts"]
    # A whole round costs one search page per 200 objects and one v4 call per association type: no list,
    # no batch read, no property re-read beyond the search page itself.
    kinds = portal_sim.stats()["by_kind"]
    assert kinds.get("list", 0) == 3  # the archived sweep's page per stream
    assert kinds.get("batch_read", 0) == 0


def test_the_refresh_takes_slices_that_cover_every_object_once_per_round(portal_sim: Simulator):
    config = tap_config(portal_sim, object_types=["contacts"], refresh_hours=24)
    first = run_tap(config)
    contacts = live_ids(portal_sim, "contacts")
    state = copy.deepcopy(first.state)
    seen: list[str] = []
    for _ in range(4):  # each run pretends the previous one was 8 hours ago: a third of a round each
        state["bookmarks"]["contacts"]["count"]["at"] = to_iso(int(time.time() * 1000) - 8 * 60 * MINUTE_MS)
        out = run_tap(config, state=state, catalog=first.catalog())
        seen += out.ids("contacts")
        state = out.state
    first_round = seen[: len(contacts)]
    assert sorted(first_round, key=int) == contacts  # in id order, none twice, none left out
    assert seen[len(contacts) :] == contacts[: len(seen) - len(contacts)]  # then round again from the bottom


def test_the_archived_sweep_reads_a_bounded_slice_per_run_and_comes_round(make_simulator):
    sim = make_simulator(**{**PORTAL, "contacts": 2_000, "archived_fraction": 0.5, "deals": 5, "calls": 5})
    config = tap_config(sim, object_types=["contacts"], archived_sweep_hours=4)
    first = run_tap(config)
    pages = first.state["bookmarks"]["contacts"]["sweeps"]["archived_pages"]
    assert pages >= 9  # about a thousand archived contacts, a hundred per page
    newly = live_ids(sim, "contacts")[0]
    sim.portal.archive_object("contacts", newly)
    state = copy.deepcopy(first.state)
    emitted: list[str] = []
    requests: list[int] = []
    for _ in range(5):  # each run an hour after the last: a quarter of the list per run
        state["bookmarks"]["contacts"]["count"]["at"] = to_iso(int(time.time() * 1000) - 60 * MINUTE_MS)
        sim.reset_stats()
        out = run_tap(config, state=state, catalog=first.catalog())
        requests.append(sim.stats()["by_kind"].get("list", 0))
        emitted += [r["id"] for r in out.records["contacts"] if r["archived"]]
        state = out.state
    assert all(count <= -(-pages // 4) for count in requests)  # never more than a quarter of the list
    assert sum(requests) >= pages  # ... and the whole list within four runs (the bound)
    assert emitted.count(newly) == 1  # archived after the full sync: arrives once, with its round
    assert set(emitted) == {newly}  # the others were archived before the full sync, which emitted them


def test_each_run_records_hubspots_count_of_live_objects_in_the_state(portal_sim: Simulator):
    config = tap_config(portal_sim)
    streams = ("contacts", "deals", "calls")
    first = run_tap(config)
    before = {stream: portal_sim.portal.search_total(stream) for stream in streams}
    portal_sim.portal.archive_object("deals", live_ids(portal_sim, "deals")[0])
    portal_sim.portal.flush_indexing()
    second = incremental(config, first, first.catalog())
    after = {stream: portal_sim.portal.search_total(stream) for stream in streams}

    for out, totals in ((first, before), (second, after)):
        for stream in streams:
            assert out.state["bookmarks"][stream]["count"]["live"] == totals[stream]
    assert after["deals"] == before["deals"] - 1
