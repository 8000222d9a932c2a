"""The benchmark's scenarios, as a table: which portal, with which settings, measured against which goal.

full-free            seed-sized portal (dense ids), 250 ms latency, free-tier limits; goal <= 30 s,
                     <= 1.2 x the rate-limit floor and < 1 % 429s
full-free-sparse     the same portal numbered as real portals are (sparse ids); goal <= 1.2 x the floor
full-free-opaque     sparse ids behind an opaque list cursor; goal <= 1.2 x the floor
full-pro             same, simulator burst limit 190 (associations 150) and the tap told `professional`;
                     goal: faster than full-free (or <= 30 s when full-free did not run) and < 1 % 429s
tap-only             full-free with the tap's output discarded, then the pipeline again right after; goal:
                     pipeline wall within 10 % of the tap-only wall
incremental-noop     rerun with the state of a full sync, nothing changed; goal: tap <= 3 s, <= 20 requests
incremental-changes  100 objects changed through the control API, rerun with state; goal: every changed
                     object emitted, < 1 % 429s
memory-300k          300,000 contacts, no latency, no rate limits; goal: peak RSS of tap and target < 300 MB
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bench_report import MB, Measured, Row

from tests.harness.presets import FREE_LIMITS, PRO_LIMITS

CHANGES = 100
CHANGEABLE = {  # object type -> (property, share of the changes)
    "contacts": ("firstname", 0.7),
    "deals": ("dealname", 0.1),
    "calls": ("hs_call_title", 0.2),
}
LIVE_SHARE = 0.98  # the simulator archives ~1% of each object type


@dataclass
class Outcome:
    """What a scenario's checks look at: its runs, and what the benchmark knows around them."""

    runs: dict[str, Measured]  # by pass: "pipeline", "tap-only"
    sizes: dict[str, int]  # objects in the portal, by type
    table_counts: dict[str, int] = field(default_factory=dict)  # rows landed, by table
    changed: dict[str, set[int]] = field(default_factory=dict)  # objects changed before the run
    earlier: dict[str, Measured] = field(default_factory=dict)  # results of scenarios already run

    @property
    def live_objects(self) -> int:
        """Records the tap must emit at least: the portal's objects less those the simulator archives."""
        return int(sum(self.sizes.values()) * LIVE_SHARE)


Check = Callable[[Row, Outcome], list[str]]


@dataclass(frozen=True)
class Scenario:
    name: str
    portal: str  # "seed", "seed-sparse", "seed-opaque" or "memory": scripts/benchmark.py PORTALS
    goal: str
    check: Check
    tier: str | None = "free"  # the tap's rate_limit_tier; None: the tap's own defaults
    limits: Mapping[str, int] = field(default_factory=lambda: dict(FREE_LIMITS))  # the simulator's
    start: str = "empty"  # "empty" database and no state, or "synced": the last seed-portal sync's
    changes: int = 0  # objects changed through the control API before the run
    passes: tuple[str, ...] = ("pipeline",)  # "tap-only": the tap alone, its output counted and dropped
    timeout_s: float = 600


def _full_sync_problems(row: Row, outcome: Outcome) -> list[str]:
    """Failures common to full syncs: 429 share, every live object emitted, a state."""
    result = outcome.runs["pipeline"]
    problems = []
    if row.throttled_share >= 0.01:
        problems.append(f"429s {row.throttled_share:.1%} >= 1%")
    if result.records < outcome.live_objects:
        problems.append(f"{result.records:,} records < {outcome.live_objects:,} live objects in the portal")
    counts = outcome.table_counts
    row.extra["rows in PostgreSQL"] = ", ".join(f"{t} {n:,}" for t, n in sorted(counts.items())) or "none"
    if result.state is None:
        problems.append("the target emitted no state")
    return problems


def full_sync_within(seconds: float | None = None, floor_ratio: float | None = None) -> Check:
    def check(row: Row, outcome: Outcome) -> list[str]:
        problems = _full_sync_problems(row, outcome)
        if seconds is not None and outcome.runs["pipeline"].wall > seconds:
            problems.append(f"wall {outcome.runs['pipeline'].wall:.1f} s > {seconds:.0f} s")
        ratio = row.ratio()
        if floor_ratio is not None and (ratio is None or ratio > floor_ratio):
            problems.append(f"wall/floor {ratio if ratio is None else round(ratio, 2)} > {floor_ratio}")
        return problems

    return check


def faster_than_full_free(row: Row, outcome: Outcome) -> list[str]:
    problems = _full_sync_problems(row, outcome)
    wall = outcome.runs["pipeline"].wall
    free = outcome.earlier.get("full-free")
    if free is None:
        if wall > 30:
            problems.append(f"wall {wall:.1f} s > 30 s")
        return problems
    row.goal = f"faster than full-free ({free.wall:.1f} s), 429s < 1%"
    if wall >= free.wall:
        problems.append(f"wall {wall:.1f} s not below full-free's {free.wall:.1f} s")
    return problems


def pipeline_near_tap_only(row: Row, outcome: Outcome) -> list[str]:
    alone, pipeline = outcome.runs["tap-only"], outcome.runs["pipeline"]
    ratio = pipeline.wall / alone.tap_wall if alone.tap_wall else float("inf")
    row.extra["pipeline"] = (
        f"wall {pipeline.wall:.2f} s = {ratio:.2f} x tap-only; tap inside it {pipeline.tap_wall:.2f} s; "
        f"{pipeline.stats.get('total', 0)} requests; {pipeline.records:,} records"
    )
    problems = []
    if ratio > 1.10:
        problems.append(f"pipeline {pipeline.wall:.1f} s > 110% of tap-only {alone.tap_wall:.1f} s")
    if pipeline.records != alone.records:
        problems.append(f"pipeline {pipeline.records:,} records vs tap-only {alone.records:,}")
    return problems


def cheap_no_op(row: Row, outcome: Outcome) -> list[str]:
    problems = []
    if outcome.runs["pipeline"].tap_wall > 3:
        problems.append(f"tap {outcome.runs['pipeline'].tap_wall:.1f} s > 3 s")
    if row.requests > 20:
        problems.append(f"{row.requests} requests > 20")
    return problems


def every_change_emitted(row: Row, outcome: Outcome) -> list[str]:
    result = outcome.runs["pipeline"]
    row.extra["changed"] = ", ".join(f"{t} {len(ids)}" for t, ids in outcome.changed.items())
    problems = []
    for object_type, ids in outcome.changed.items():
        got = result.records_by_stream.get(object_type, 0)
        if got < len(ids):
            problems.append(f"{object_type}: {got} records < {len(ids)} changed")
    if row.throttled_share >= 0.01:
        problems.append(f"429s {row.throttled_share:.1%} >= 1%")
    return problems


def flat_memory(row: Row, outcome: Outcome) -> list[str]:
    result = outcome.runs["pipeline"]
    problems = []
    for name, peak in (("tap", result.peak_tap), ("target", result.peak_target)):
        if peak >= 300 * MB:
            problems.append(f"{name} peak RSS {peak / MB:.0f} MB >= 300 MB")
    if result.records < outcome.live_objects:
        problems.append(f"{result.records:,} records < {outcome.live_objects:,} live objects")
    return problems


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("full-free", "seed", "≤ 30 s, ≤ 1.2 x floor, 429s < 1%", full_sync_within(30, 1.2)),
    Scenario("full-free-sparse", "seed-sparse", "≤ 1.2 x floor, 429s < 1%", full_sync_within(None, 1.2)),
    Scenario("full-free-opaque", "seed-opaque", "≤ 1.2 x floor, 429s < 1%", full_sync_within(None, 1.2)),
    Scenario(
        "full-pro",
        "seed",
        "faster than full-free, 429s < 1%",
        faster_than_full_free,
        tier="professional",
        limits=PRO_LIMITS,
    ),
    Scenario(
        "tap-only",
        "seed",
        "pipeline wall ≤ 1.1 x tap-only",
        pipeline_near_tap_only,
        passes=("tap-only", "pipeline"),
        timeout_s=1200,
    ),
    Scenario("incremental-noop", "seed", "tap ≤ 3 s, ≤ 20 requests", cheap_no_op, start="synced"),
    Scenario(
        "incremental-changes",
        "seed",
        f"all {CHANGES} changes emitted, 429s < 1%",
        every_change_emitted,
        start="synced",
        changes=CHANGES,
    ),
    Scenario(
        "memory-300k", "memory", "peak RSS tap and target < 300 MB", flat_memory, tier=None, timeout_s=1800
    ),
)
BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}
NAMES = [s.name for s in SCENARIOS]  # canonical order: what compares to a scenario runs after it


def change_plan(sizes: Mapping[str, int], total: int = CHANGES) -> dict[str, tuple[str, int]]:
    """Object type -> (property to change, how many objects)."""
    return {
        object_type: (prop, min(round(total * share), sizes[object_type]))
        for object_type, (prop, share) in CHANGEABLE.items()
    }
