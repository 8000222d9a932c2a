"""Pipelined streams: the next stream's workers fetch while the current stream finishes, yet the Singer output
is still one stream after another (SCHEMA, then its RECORDs), every object exactly once; while nobody reads
the output the tap stops requesting (memory stays bounded); an incremental no-op sends a few requests at once,
however large the portal."""

from __future__ import annotations

import array
import fcntl
import json
import termios
import threading
import time
from itertools import pairwise
from typing import IO, Any

from tap_hubspot_raw.plans import ParallelFullSync
from tests.hubspot_simulator import Simulator
from tests.tap.conftest import PORTAL, TapOutput, run_tap, start_tap_process, tap_config
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


def unread_bytes(pipe: IO[str]) -> int:
    """Bytes written into ``pipe`` that nobody has read yet (Linux)."""
    count = array.array("i", [0])
    fcntl.ioctl(pipe.fileno(), termios.FIONREAD, count)
    return count[0]


def wait_until_blocked(sim: Simulator, pipe: IO[str], quiet_s: float = 1.0, timeout_s: float = 120) -> int:
    """The simulator's request total once the tap's output pipe is filling up and no request has come for
    ``quiet_s`` seconds (so the tap is waiting for its reader, not starting up)."""
    capacity = fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ)
    deadline = time.monotonic() + timeout_s
    total, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = sim.stats()["total"]
        if now != total or unread_bytes(pipe) < capacity // 2:
            total, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return int(total)
    raise AssertionError(f"the tap kept sending requests for {timeout_s} s while nobody read its output")


def test_while_nobody_reads_its_output_the_tap_stops_requesting_then_emits_exactly_the_portal(
    make_simulator, tmp_path
):
    # Far more records than the tap holds (10,000 per stream's plan) plus the pipe's 64 KiB.
    sim = make_simulator(**{**BIG, "contacts": 50_000, "latency_ms": 1.0})
    config = tap_config(sim, object_types=["contacts"], max_concurrency=6)
    tap = start_tap_process(tmp_path, config)  # its stdout is a pipe nobody reads yet
    assert tap.stdout is not None

    sent = wait_until_blocked(sim, tap.stdout)  # no request for a second: memory bounded by the queues
    lines = tap.stdout.readlines()
    assert tap.wait(timeout=60) == 0, (tmp_path / "tap.stderr").read_text()[-3000:]
    needed = sim.stats()["total"]

    assert sent < needed / 2, f"{sent} of {needed} requests sent before anyone read the output"
    ids = TapOutput.parse("".join(lines)).ids("contacts")
    expected = {
        o["id"] for archived in (False, True) for o in sim.portal.iter_objects("contacts", archived=archived)
    }
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


def _incremental_no_op(sim: Simulator) -> dict[str, Any]:
    """The simulator's request stats of a run from a full sync's state, nothing changed since (the catalog
    of the full sync given, as Meltano does: no properties requests)."""
    config = tap_config(sim)
    first = run_tap(config)
    sim.reset_stats()
    second = run_tap(config, state=first.state, catalog=first.catalog())
    assert sum(len(r) for r in second.records.values()) <= len(SYNC_ORDER)  # the refresh slices: a few
    for stream in SYNC_ORDER:
        assert (
            second.state["bookmarks"][stream]["replication_key_value"]
            >= first.state["bookmarks"][stream]["replication_key_value"]
        )
    return sim.stats()


def test_an_incremental_no_op_sends_a_few_requests_at_once_however_large_the_portal(make_simulator):
    small = _incremental_no_op(make_simulator(**{**PORTAL, "latency_ms": 150.0}))
    large = _incremental_no_op(make_simulator(**{**PORTAL, "contacts": 1_200, "latency_ms": 150.0}))

    # Ten times the contacts cost not one request more: per stream a search page for changes, the live
    # count, the refresh slice's search page and a page of archived objects, plus the slice's associations
    # (one v4 call per association type, four in all) ...
    assert large["total"] == small["total"] <= 4 * len(SYNC_ORDER) + 4
    # ... and every stream's requests are in flight together, not one stream after another.
    assert small["concurrent_max"] >= len(SYNC_ORDER)
