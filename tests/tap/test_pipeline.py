"""Pipelined streams: the next stream's workers fetch while the current stream finishes, yet the Singer output
is still one stream after another (SCHEMA, then its RECORDs), every object exactly once, memory bounded by
the queues; an incremental run issues its independent requests at once and no more of them than before."""

from __future__ import annotations

import io
import json
import threading
import time
from contextlib import redirect_stdout
from itertools import pairwise
from typing import Any

from tap_hubspot_raw.plans import ParallelFullSync
from tap_hubspot_raw.streams import CrmObjectStream
from tap_hubspot_raw.tap import TapHubspotRaw
from tests.tap.conftest import PORTAL, TapOutput, run_tap, tap_config
from tests.tap.test_parallel import BIG, assert_exact

SYNC_ORDER = ("calls", "contacts", "deals")  # the SDK syncs streams by name


def test_prefetched_streams_keep_singer_order_and_emit_every_object_exactly_once(make_simulator, monkeypatch):
    sim = make_simulator(**{**BIG, "latency_ms": 6.0})
    started_by: dict[str, str] = {}
    original_start = ParallelFullSync.start

    def start(self: ParallelFullSync) -> None:
        started_by.setdefault(self.reader.object_type, threading.current_thread().name)
        original_start(self)

    monkeypatch.setattr(ParallelFullSync, "start", start)

    out = run_tap(tap_config(sim, max_concurrency=8))

    assert_exact(sim, out)
    # Singer order: each stream's SCHEMA comes before its records, and its records form one block.
    order: list[str] = []
    for line in out.text.splitlines():
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            assert message["stream"] not in order
        elif message["type"] == "RECORD":
            stream = message["stream"]
            if not order or order[-1] != stream:
                assert stream not in order, f"records of {stream} interleaved with another stream's"
                order.append(stream)
    assert order == list(SYNC_ORDER)
    # Fetching was pipelined: each next stream's workers were started by a worker of the previous stream
    # (once its id space was claimed), not by the SDK reaching that stream.
    for previous, following in pairwise(SYNC_ORDER):
        assert started_by[following].startswith(f"{previous}-full-sync-"), started_by
    # STATE stays truthful: the final state bookmarks every stream at the sync's start.
    for stream in SYNC_ORDER:
        newest = max(r["updatedAt"] for r in out.records[stream])
        assert out.state["bookmarks"][stream]["replication_key_value"] >= newest


def test_a_prefetching_stream_blocks_when_its_queue_is_full_then_emits_everything(make_simulator):
    sim = make_simulator(**{**BIG, "contacts": 30_000, "latency_ms": 1.0})
    tap = TapHubspotRaw(config=tap_config(sim, max_concurrency=6), parse_env_config=False)
    stream = tap.streams["contacts"]
    assert isinstance(stream, CrmObjectStream)
    plan = tap.scheduler.plan_for(stream)
    sim.reset_stats()

    plan.start()  # nobody takes batches off the queue yet
    sent = -1
    while sim.stats()["total"] != sent:  # the workers fill the queue, then can only wait
        sent = sim.stats()["total"]
        time.sleep(0.5)

    # Far fewer requests than reading the portal takes (at least 150 search pages of 200): the bounded queue
    # holds the workers back.
    assert sent < 100
    records = [record for batch in plan.batches() for record in batch.records]
    expected = sum(1 for _ in sim.portal.iter_objects("contacts", archived=False)) + sum(
        1 for _ in sim.portal.iter_objects("contacts", archived=True)
    )
    assert len(records) == len({r["id"] for r in records}) == expected
    assert sim.stats()["total"] > sent


def _run_without_catalog(config: dict[str, Any], state: dict[str, Any]) -> TapOutput:
    buffer = io.StringIO()
    tap = TapHubspotRaw(config=config, state=state, parse_env_config=False)
    with redirect_stdout(buffer):
        tap.sync_all()
    return TapOutput.parse(buffer.getvalue())


def test_an_incremental_no_op_sends_its_requests_at_once_and_no_more_than_before(make_simulator):
    sim = make_simulator(**{**PORTAL, "latency_ms": 150.0})
    config = tap_config(sim)
    first = run_tap(config)
    sim.reset_stats()

    started = time.monotonic()
    second = _run_without_catalog(config, first.state)  # as the bench runs it: properties discovered
    elapsed = time.monotonic() - started

    assert sum(len(r) for r in second.records.values()) == 0
    kinds = sim.stats()["by_kind"]
    # One properties request, one search page and one archived page per stream: as before, only concurrent.
    assert kinds.get("properties") == 3
    assert kinds.get("search") == 3
    assert kinds.get("list") == 3
    assert sim.stats()["total"] == 9
    # Sequential, 9 requests take 9 x 150 ms; concurrent, two rounds (properties, then the rest) and set-up.
    assert elapsed < 7 * 0.15
    for stream in SYNC_ORDER:
        assert (
            second.state["bookmarks"][stream]["replication_key_value"]
            >= (first.state["bookmarks"][stream]["replication_key_value"])
        )
