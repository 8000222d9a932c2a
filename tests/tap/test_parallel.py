"""Parallel full sync: list and search workers split the id space inside one budget, and the output is still
every object exactly once with exact values and complete associations - under latency, 429s and faults."""

from __future__ import annotations

from typing import Any

import pytest

from tap_hubspot_raw.idspace import ID_CEILING, IdRange, IdSpace, merge_ranges
from tests.hubspot_simulator import Simulator
from tests.tap.conftest import PORTAL, live_ids, run_tap, tap_config
from tests.tap.test_full_sync import assert_faithful_copy

# Big enough for many ranges per stream and several association pages; small enough to run in seconds.
BIG: dict[str, Any] = {
    **PORTAL,
    "contacts": 2_500,
    "deals": 300,
    "calls": 700,
    "archived_fraction": 0.03,
    "latency_ms": 4.0,
    "embedded_associations_limit": 3,
    "association_page_size": 4,
}


def assert_exact(sim: Simulator, out: Any) -> None:
    for object_type in ("contacts", "deals", "calls"):
        assert_faithful_copy(sim, out.records[object_type], object_type)


def test_parallel_full_sync_uses_list_and_search_concurrently_and_emits_every_object_exactly_once(
    make_simulator, layout
):
    sim = make_simulator(**{**BIG, **layout})
    busy = live_ids(sim, "contacts")[2_400]
    for call_id in live_ids(sim, "calls")[:40]:  # a contact with more calls than one embedded/v4 page
        sim.portal.add_association("contacts", busy, "calls", call_id)

    out = run_tap(tap_config(sim, max_concurrency=8))

    assert_exact(sim, out)
    stats = sim.stats()
    assert stats["concurrent_max"] > 1
    assert stats["by_kind"]["search"] > 3  # search reads from the top, whatever the list cursor ...
    if layout["list_cursor"] == "id":
        assert stats["by_kind"]["list"] > 3  # ... and the list endpoint from the bottom
    assert stats["rate_limited"]["total"] == 0
    contact = next(r for r in out.records["contacts"] if r["id"] == busy)
    assert len(contact["associations"]["calls"]) > 10  # several v4 pages of 4


def test_parallel_and_sequential_full_syncs_emit_the_same_records(make_simulator, layout):
    sim = make_simulator(**{**BIG, **layout, "contacts": 900, "latency_ms": 0.0})
    parallel = run_tap(tap_config(sim, max_concurrency=8))
    sequential = run_tap(tap_config(sim, max_concurrency=1))

    for stream in ("contacts", "deals", "calls"):
        by_id = {r["id"]: r for r in sequential.records[stream]}
        assert len(parallel.records[stream]) == len(by_id)
        for record in parallel.records[stream]:
            expected = by_id[record["id"]]
            assert {**record, "associations": None} == {**expected, "associations": None}
            assert {k: sorted(v) for k, v in record["associations"].items()} == {
                k: sorted(v) for k, v in expected["associations"].items()
            }


def test_parallel_full_sync_state_is_valid_and_bookmarks_the_sync_start(make_simulator):
    sim = make_simulator(**BIG)
    out = run_tap(tap_config(sim))
    assert out.states
    for stream in ("contacts", "deals", "calls"):
        bookmark = out.state["bookmarks"][stream]
        assert bookmark["replication_key"] == "updatedAt"
        newest = max(r["updatedAt"] for r in out.records[stream])
        assert bookmark["replication_key_value"] >= newest  # the sync's start, never a record's date
    # The next (incremental) run from that state finds no change: it re-reads only its refresh slice.
    again = run_tap(tap_config(sim), state=out.state, catalog=out.catalog())
    for stream, records in again.records.items():
        assert len(records) <= 3
        for record in records:
            assert record["properties"] == sim.portal.get_object(stream, record["id"])["properties"]


def test_parallel_full_sync_respects_the_portal_budget_it_learns_from_headers(make_simulator):
    # HubSpot's headers say 40 per second; the search limit is 5 per second, as on HubSpot.
    sim = make_simulator(
        **{**BIG, "contacts": 1_500, "burst_limit": 40, "burst_window_ms": 1_000, "search_limit": 5}
    )
    config = tap_config(sim, search_requests_per_second=5)
    del config["requests_per_10_seconds"]  # the tier's figure is a guess; headers correct it

    out = run_tap(config)

    assert_exact(sim, out)
    stats = sim.stats()
    assert stats["concurrent_max"] > 1
    assert stats["rate_limited"]["burst"] <= max(1, stats["total"] // 100)
    # Search answers carry no rate-limit headers: its window is the configured one, stretched 0.1 s because
    # HubSpot counts arrivals; a first request that opens its connection can arrive later than that, and its
    # 429 costs a one-second pause. A handful would mean the margin is wrong.
    assert stats["rate_limited"]["search"] <= 2


def test_association_calls_have_their_own_budget_and_are_not_throttled_by_the_burst_one(make_simulator):
    # A tiny 10-s budget (4 per 300 ms) and a separate, larger associations one, both learnt from headers.
    sim = make_simulator(
        **{**BIG, "contacts": 1_200, "burst_limit": 4, "burst_window_ms": 300, "associations_limit": 30}
    )
    config = tap_config(sim, max_concurrency=8)
    del config["requests_per_10_seconds"], config["association_requests_per_10_seconds"]

    out = run_tap(config)

    assert_exact(sim, out)
    stats = sim.stats()
    assert stats["by_kind"]["associations"] > 10
    assert stats["rate_limited"]["associations"] == 0
    # No 429 storm: at most the few list requests sent before the first headers told the real burst limit.
    assert stats["rate_limited"]["total"] <= max(3, stats["total"] // 50)
    times = sorted(
        r["time"] for r in sim.request_log if r["kind"] == "associations" and r["status"] in (200, 207)
    )
    # More association calls in some 300 ms than the burst budget's 4 allow: that budget did not hold them.
    assert any(b - a < 0.3 for a, b in zip(times, times[4:], strict=False))


@pytest.mark.parametrize(
    "faults",
    [
        {"force_429": 12},
        {"burst_limit": 15, "burst_window_ms": 200, "search_limit": 2, "search_window_ms": 100},
        {"error_rate": 0.15, "drop_rate": 0.05},
    ],
    ids=["429-storm", "small-budget", "5xx-and-drops"],
)
def test_parallel_full_sync_is_exact_under_429s_and_faults(make_simulator, faults):
    sim = make_simulator(**{**BIG, "contacts": 1_200, "latency_ms": 1.0})
    sim.update_config(**faults)

    out = run_tap(tap_config(sim, max_retries=15))

    assert_exact(sim, out)
    stats = sim.stats()
    assert stats["by_kind"]["search"] > 0
    if "force_429" in faults:
        assert stats["rate_limited"]["forced"] == 12
    if "error_rate" in faults:
        assert stats["faults"]["errors"] > 0


def test_id_space_claims_are_disjoint_and_cover_everything():
    space = IdSpace()
    assert space.advance([1, 2, 3]) == (3, False, IdRange(0, 4))  # a sequential list from the bottom
    claims = [IdRange(0, 4)]
    while True:
        highest = space.highest()
        top = space.take_top(max(highest.low, highest.high - 10**17), highest.high) if highest else None
        lowest = space.lowest()
        bottom = space.take_bottom(lowest.low, lowest.low + 50) if lowest else None
        if top is None and bottom is None:
            break
        claims += [c for c in (top, bottom) if c]
    assert merge_ranges(claims) == [IdRange(0, ID_CEILING)]
    assert sum(c.width for c in claims) == ID_CEILING  # no overlap
    # A sequential list stops where search's claims begin.
    space = IdSpace()
    claim = space.take_top(70, ID_CEILING)
    assert claim == IdRange(70, ID_CEILING)
    assert space.advance([68, 69, 70, 71]) == (2, True, IdRange(0, 70))


def test_a_list_read_from_a_ranges_low_end_takes_only_what_is_below_the_next_claim():
    space = IdSpace()
    assert space.take_top(70, ID_CEILING) == IdRange(70, ID_CEILING)

    assert space.take_read(0, [5, 6, 7]) == (3, IdRange(0, 8))
    assert space.take_read(8, [68, 69, 70, 71]) == (2, IdRange(8, 70))  # 70 up is search's
    assert space.lowest() is None
    assert space.take_read(8, [9]) == (0, None)  # the range is gone: nothing is the reader's

    space = IdSpace()
    space.take_top(50, ID_CEILING)
    assert space.take_read(0, [60, 61]) == (0, IdRange(0, 50))  # no object below the claim: all of it read
