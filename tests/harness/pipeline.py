"""The runner as the tests use it: ``tap | target`` against an in-process simulator and a test database."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness import runner
from tests.harness.presets import PIPELINE_TOKEN, generous_tap_config
from tests.harness.runner import PipelineSpec, Run
from tests.hubspot_simulator import Simulator

# A request that takes longer fails and is retried: tests with slow responses stay quick.
TEST_REQUEST_TIMEOUT = {"FAST_TAP_TIMEOUT_SECONDS": "2"}
_run_numbers = itertools.count(1)


def tap_config(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    """The generous tap config with the pipeline token (the simulator's limits are the test)."""
    return generous_tap_config(sim.url, PIPELINE_TOKEN, **overrides)


def target_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {"database_url": database_url, "batch_size": 50, "max_retries": 6, **overrides}


def start(
    sim: Simulator,
    database_url: str,
    workdir: Path,
    *,
    state: dict[str, Any] | None = None,
    tap: dict[str, Any] | None = None,
    target: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    hold_before: Callable[[dict[str, Any], Run], bool] | None = None,
) -> Run:
    """Start ``tap | target`` (the tap with test-sized retry waits) from ``state``; configs as overridden;
    ``hold_before`` stops the relay before a chosen message until ``run.release()``."""
    spec = PipelineSpec(
        workdir=workdir / f"run{next(_run_numbers)}",
        tap_config=tap_config(sim, **(tap or {})),
        target_config=target_config(database_url, **(target or {})),
        state=state,
        env={**TEST_REQUEST_TIMEOUT, **(env or {})},
        hold_before=hold_before,
    )
    return runner.start(spec)


def run_pipeline(sim: Simulator, database_url: str, workdir: Path, **kwargs: Any) -> Run:
    """Start and wait for a run that must succeed."""
    run = start(sim, database_url, workdir, **kwargs).finish()
    codes = run.returncode("tap"), run.returncode("target")
    assert run.ok, f"pipeline failed {codes}:\n{run.stderr()[-6000:]}"
    return run
