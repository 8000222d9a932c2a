"""HubSpot's daily limit spent mid-run (429, policyName DAILY): the tap stops at once with a clear message,
the target commits what it got and prints a resumable state, and tomorrow's run completes exactly."""

from __future__ import annotations

from pathlib import Path

from tests.harness.landed import assert_database_equals_portal, assert_state_covers_only_committed
from tests.harness.pipeline import run_pipeline, start, tap_config
from tests.harness.presets import PIPELINE_TOKEN
from tests.hubspot_simulator import Simulator
from tests.tap.conftest import run_tap


def test_given_daily_limit_exhausted_mid_run_then_tap_stops_clearly_and_next_day_resumes_exactly(
    portal: Simulator, database_url: str, tmp_path: Path
) -> None:
    # A run needs N requests: allow all but its last eight (the last stream's pages and its counts), so the
    # limit strikes after the first streams are done. One request at a time, so "last" means the same
    # requests in every run (with several in flight, which stream a request belongs to varies).
    sequential = {"max_concurrency": 1}
    run_tap(tap_config(portal, **sequential))
    needed = portal.stats()["total"]
    portal.reset_stats()
    portal.reset_rate_limits()
    portal.update_config(daily_limit=needed - 8)
    run = start(portal, database_url, tmp_path, tap=sequential).finish()

    assert run.returncode("tap") != 0
    assert run.returncode("target") == 0  # end of input: it commits what it received and prints its state
    tap_err = run.stderr("tap")
    assert "daily API limit reached" in tap_err
    assert PIPELINE_TOKEN not in tap_err + run.stderr("target") + run.stdout()
    # It stops instead of retrying for hours: no retry after a 429, and at most one DAILY answer per
    # request that was already in flight (the tap's max_concurrency, 10 by default).
    assert "(status 429)" not in tap_err
    assert portal.stats()["rate_limited"]["daily"] <= 10
    assert_state_covers_only_committed(run, database_url)

    # The next day: the limit is reset; resuming from the printed state completes the load.
    portal.update_config(daily_limit=100_000_000)
    portal.reset_rate_limits()
    run_pipeline(portal, database_url, tmp_path, state=run.state)
    assert_database_equals_portal(portal, database_url)
