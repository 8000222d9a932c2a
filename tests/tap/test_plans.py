"""Sync plans over a fake reader: every object exactly once, whatever the id layout and cursor kind; claims
that follow where the objects are; progress that an interrupted full sync can resume from; failures that
stop every worker and reach the stream."""

from __future__ import annotations

from typing import Any

import pytest

from tap_hubspot_raw.idspace import IdRange, IdSpace, merge_ranges
from tap_hubspot_raw.plans import IncrementalSync, ParallelFullSync, SequentialFullSync
from tap_hubspot_raw.plans.workers import Batch
from tests.tap.fake_reader import BASE_MS, FakeReader, dense_ids, modified, sparse_ids

LATENCY = 0.001  # seconds per list or search call: every kind of worker gets its turn
LAYOUTS = {
    "dense": lambda: FakeReader(
        dense_ids(6_000), dense_ids(60, first=100_000), search_latency=LATENCY, list_latency=LATENCY
    ),
    "sparse": lambda: FakeReader(
        sparse_ids(6_000), sparse_ids(60, seed=2), search_latency=LATENCY, list_latency=LATENCY
    ),
    "opaque": lambda: FakeReader(
        sparse_ids(6_000),
        sparse_ids(60, seed=2),
        opaque_cursor=True,
        search_latency=LATENCY,
        list_latency=LATENCY,
    ),
}


def run(plan: Any) -> list[Batch]:
    plan.start()
    return list(plan.batches())


def emitted_ids(batches: list[Batch], *, archived: bool) -> list[int]:
    return [int(r["id"]) for b in batches if b.archived is archived for r in b.records]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("concurrency", [2, 10])
def test_a_parallel_full_sync_emits_every_object_exactly_once(layout, concurrency):
    reader = LAYOUTS[layout]()

    batches = run(ParallelFullSync(reader, concurrency=concurrency))

    live = emitted_ids(batches, archived=False)
    assert sorted(live) == reader.live  # each exactly once
    assert sorted(emitted_ids(batches, archived=True)) == reader.archived
    assert reader.calls["search"] > 0  # search works from the top in every layout, opaque cursor included
    if layout != "opaque":
        assert reader.calls["list"] > 1


@pytest.mark.parametrize("layout", LAYOUTS)
def test_finished_ranges_cover_the_id_space_without_overlap(layout):
    reader = LAYOUTS[layout]()
    plan = ParallelFullSync(reader, concurrency=10)

    done = [b.done for b in run(plan) if b.done is not None]

    assert sum(r.width for r in done) == sum(r.width for r in merge_ranges(done))  # no overlap
    top = reader.live[-1] + 1
    covered = merge_ranges(done)
    assert covered[0].low == 0
    assert all(r.high >= top for r in covered[-1:])
    assert len(covered) == 1  # contiguous: every id below the top was in some finished range


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_claims_follow_where_the_objects_are(layout):
    """Sparse ids make no flood of empty ranges: nearly every object is fetched once, in full pages."""
    reader = LAYOUTS[layout]()

    run(ParallelFullSync(reader, concurrency=10))

    fetched = reader.returned["list"] + reader.returned["search"]
    assert fetched <= 1.15 * len(reader.live)  # pages that run past a claim's end waste little
    requests = reader.calls["list"] + reader.calls["search"]
    assert requests <= 1.3 * len(reader.live) / 100 + 10  # no more requests than list pages would need


@pytest.mark.parametrize("count", [1_000, 6_000])
def test_list_and_search_workers_share_the_last_stretch_and_meet_without_overlap(count):
    """Once list claims stop, the list reads what is left from the bottom while search claims it from the
    top: a small object type is not left to search alone, and no object is read for emission twice."""
    reader = FakeReader(dense_ids(count), search_latency=0.01, list_latency=0.005)

    batches = run(ParallelFullSync(reader, concurrency=10))

    assert sorted(emitted_ids(batches, archived=False)) == reader.live
    assert reader.emitted["list"] + reader.emitted["search"] == count
    assert reader.emitted["list"] >= count // 3
    assert reader.emitted["search"] >= count // 10


def test_an_interrupted_full_sync_reads_only_what_it_had_not_finished():
    reader = FakeReader(sparse_ids(6_000), sparse_ids(60, seed=2))
    first = ParallelFullSync(reader, concurrency=6)
    finished: list[IdRange] = []
    emitted: set[int] = set()
    for batch in first.batches():  # interrupted after a third of the objects
        emitted.update(int(r["id"]) for r in batch.records if not batch.archived)
        if batch.done is not None:
            finished.append(batch.done)
        if len(emitted) > 2_000:
            break
    first.cancel()
    done = merge_ranges(finished)
    before = reader.returned["list"] + reader.returned["search"]

    resumed = ParallelFullSync(
        reader, concurrency=6, space=IdSpace(done), list_cursor=first.list_cursor, read_archived=False
    )
    batches = run(resumed)

    again = emitted_ids(batches, archived=False)
    in_done = {i for i in reader.live if any(i in r for r in done)}
    assert sorted(again) == sorted(set(reader.live) - in_done)  # exactly what was not finished
    assert in_done  # the first attempt did finish some ranges
    assert reader.returned["list"] + reader.returned["search"] - before <= 1.15 * len(again) + 200
    assert not emitted_ids(batches, archived=True)


def test_a_list_cursor_that_turns_out_not_to_be_an_id_stops_the_sync():
    reader = FakeReader(dense_ids(20_000), search_latency=0.005)  # list workers get claims to read
    original = reader.list_page

    def list_page(*, archived: bool, after: str | None) -> Any:
        page = original(archived=archived, after=after)
        if after is not None and not archived and int(after) > 1_000:
            page.results.reverse()  # HubSpot changed how its cursor works mid-sync
        return page

    reader.list_page = list_page  # type: ignore[method-assign]

    with pytest.raises(RuntimeError, match="set max_concurrency to 1"):
        run(ParallelFullSync(reader, concurrency=10))


@pytest.mark.parametrize("failing", ["list", "search", "archived", "associations"])
def test_a_failing_worker_stops_the_plan_and_its_error_reaches_the_stream(failing):
    reader = FakeReader(dense_ids(3_000), dense_ids(50, first=10_000), fail_on=failing)

    with pytest.raises(RuntimeError, match=f"failed on {failing}"):
        run(ParallelFullSync(reader, concurrency=6))


def test_a_sequential_full_sync_reads_live_then_archived_pages_in_order():
    reader = FakeReader(sparse_ids(450), sparse_ids(120, seed=3), opaque_cursor=True)

    batches = run(SequentialFullSync(reader))

    assert emitted_ids(batches, archived=False) == reader.live
    assert emitted_ids(batches, archived=True) == reader.archived
    assert reader.calls["search"] == 0


def test_an_incremental_sync_emits_changes_in_modified_order_then_archived_objects_of_the_window():
    archived = [*range(1_200, 1_230), *range(5_000, 5_030)]  # modified (archived) inside and after the window
    reader = FakeReader([i for i in dense_ids(3_000) if i not in archived], archived)
    low, high = BASE_MS + 200, BASE_MS + 700  # ids 600..2102 by modified time

    batches = run(IncrementalSync(reader, low_ms=low, high_ms=high))

    changed = [r for b in batches if not b.archived for r in b.records]
    assert [int(r["id"]) for r in changed] == [i for i in reader.live if low <= reader.modified_at(i) <= high]
    assert [modified(r) for r in changed] == sorted(modified(r) for r in changed)
    assert emitted_ids(batches, archived=True) == list(range(1_200, 1_230))
    first_archived = next(i for i, b in enumerate(batches) if b.archived)
    assert all(b.archived for b in batches[first_archived:])  # after every change
