"""`kill -9` of the tap or the target at random points; each rerun resumes from the last STATE the target
printed. The printed STATE never covers an uncommitted record, and the final database equals the portal."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.harness.landed import assert_database_equals_portal, assert_state_covers_only_committed, query
from tests.harness.pipeline import start
from tests.harness.presets import PIPELINE_PORTAL
from tests.harness.runner import Run
from tests.hubspot_simulator import Simulator


def kill_at_random_point(run: Run, rng: random.Random, victim: str, expected_records: int) -> str:
    """Kill `victim` after a random number of relayed records, or just after the tap finished."""
    if victim == "target" and rng.random() < 0.3:
        run.wait_for(lambda r: r.tap.poll() is not None)
        delay = rng.uniform(0, 0.4)  # somewhere in the target's final drain, commit and state output
        time.sleep(delay)
        point = f"{delay:.2f}s after the tap ended"
    else:
        count = rng.randrange(0, max(1, expected_records))
        run.wait_for(lambda r: r.record_count >= count)
        point = f"after {count} records"
    run.kill(victim)
    run.finish()
    return point


def killed_runs_then_resume(
    sim: Simulator,
    database_url: str,
    workdir: Path,
    *,
    rng: random.Random,
    state: dict[str, Any] | None,
    expected_records: int,
    kills: int,
) -> dict[str, Any] | None:
    """`kills` runs killed at random points, each resuming from the last one's state; then a full one."""
    victims = rng.sample(["tap", "target"], 2)  # both, in a random order
    for attempt in range(kills):
        victim = victims[attempt % 2]
        run = start(sim, database_url, workdir, state=state)
        point = kill_at_random_point(run, rng, victim, expected_records)
        print(f"kill {attempt}: {victim} {point}; target printed {len(run.states)} states")
        if victim == "target":
            assert run.returncode("target") == -9 or run.ok
        # Killed before its first checkpoint, a target has printed no state: then it covers nothing.
        assert_state_covers_only_committed(run, database_url, state_expected=False)
        state = run.state or state
    final = start(sim, database_url, workdir, state=state).finish()
    assert final.ok, final.stderr()[-4000:]
    assert_state_covers_only_committed(final, database_url)
    return final.state


@pytest.mark.parametrize("seed", [11])
def test_given_kill_9_of_tap_or_target_at_random_points_then_resumed_runs_land_the_portal_exactly(
    make_simulator: Any, database_url: str, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    sim: Simulator = make_simulator(**{**PIPELINE_PORTAL, "latency_ms": 3.0})
    total = sum(sim.portal.counts().values()) + sum(sim.portal.counts(archived=True).values())

    state = killed_runs_then_resume(
        sim, database_url, tmp_path, rng=rng, state=None, expected_records=total, kills=2
    )
    assert_database_equals_portal(sim, database_url)

    # Incremental phase: many changes (search pages, each followed by a STATE), archives, new objects.
    for contact_id in range(1, 240, 1):
        sim.portal.update_object("contacts", contact_id, {"firstname": f"changed-{seed}-{contact_id}"})
    for deal_id in range(1, 30):
        sim.portal.update_object("deals", deal_id, {"amount": str(deal_id * 10)})
    sim.portal.archive_object("calls", 4)
    sim.portal.create_object("contacts", {"email": "new@x.io"})
    sim.portal.flush_indexing()  # changes made a while ago: search shows them
    killed_runs_then_resume(sim, database_url, tmp_path, rng=rng, state=state, expected_records=270, kills=2)

    assert_database_equals_portal(sim, database_url)
    counts = query(
        database_url,
        "SELECT count(*), count(DISTINCT hubspot_id) FROM hubspot_contacts_raw",
    )
    assert counts[0][0] == counts[0][1]
