"""How a tap run ends early, through the CLI: interrupts exit non-zero with resumable state; a HubSpot that
cannot be reached, a bad start_date or unknown property names end it with one clear line, no traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.local_postgres import free_port
from tests.tap.conftest import PORTAL, TapOutput, run_tap, start_tap_process, tap_config


def run_cli(tmp_path: Path, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    """The tap's CLI with test-sized waits, to the end."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "tests.harness.fast_tap", "--config", str(tmp_path / "config.json")]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_full_sync_exits_non_zero_and_its_state_resumes_where_it_stopped(
    make_simulator, tmp_path, signum, code
):
    sim = make_simulator(**{**PORTAL, "contacts": 4_000, "latency_ms": 20.0})
    config = tap_config(sim, object_types=["contacts"], max_concurrency=4)
    tap = start_tap_process(tmp_path, config)
    assert tap.stdout is not None
    lines: list[str] = []
    while len(lines) < 2_500:  # well into the full sync
        lines.append(tap.stdout.readline())
    tap.send_signal(signum)
    lines += tap.stdout.readlines()

    assert tap.wait(timeout=60) == code
    log = (tmp_path / "tap.stderr").read_text()
    assert f"Interrupted by {signal.Signals(signum).name}: stopped" in log
    assert "Traceback" not in log
    first = TapOutput.parse("".join(lines))
    assert json.loads(lines[-1])["type"] == "STATE"  # the state as it stood, after the last record
    checkpoint = first.state["bookmarks"]["contacts"]["full_sync"]
    assert checkpoint["done"], "finished id ranges are in the state"

    second = run_tap(config, state=first.state, catalog=first.catalog())

    portal = {o["id"] for a in (False, True) for o in sim.portal.iter_objects("contacts", archived=a)}
    assert set(first.ids("contacts")) | set(second.ids("contacts")) == portal
    done = [(low, high) for low, high in checkpoint["done"]]
    finished = {i for i in portal if any(low <= int(i) < high for low, high in done)}
    assert len(finished) >= 500  # resumed, not started over: what was finished is not read again
    assert not finished & set(second.ids("contacts"))
    assert "full_sync" not in second.state["bookmarks"]["contacts"]


@pytest.mark.parametrize(
    ("api_url", "why"),
    [
        ("http://127.0.0.1:{port}", "Connection refused"),
        ("http://hubspot-api.invalid", ""),  # no such host: the resolver's words vary by system
    ],
)
def test_given_hubspot_cannot_be_reached_then_the_run_stops_naming_api_url(
    tmp_path, portal_sim, api_url, why
):
    url = api_url.format(port=free_port())

    # Many retries allowed: only the give-up rule for unreachable hosts can end this run early.
    result = run_cli(tmp_path, {**tap_config(portal_sim, max_retries=1_000), "api_url": url})

    assert result.returncode == 1
    assert f"Cannot reach HubSpot at {url} ({why}" in result.stderr
    assert "check the api_url setting" in result.stderr
    assert "Traceback" not in result.stderr
    retries = result.stderr.count("Retrying HubSpot request")
    assert 0 < retries < 20
    assert f"cannot connect to {url}" in result.stderr


@pytest.mark.parametrize("start_date", ["yesterday", "2025-13-40"])
def test_a_start_date_that_is_not_a_date_is_refused_before_any_request(tmp_path, portal_sim, start_date):
    result = run_cli(tmp_path, tap_config(portal_sim, start_date=start_date))

    assert result.returncode == 1
    assert f"start_date must be an ISO 8601 date-time such as 2024-01-31T00:00:00Z (got {start_date!r})" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert portal_sim.stats()["total"] == 0


@pytest.mark.parametrize("setting", ["properties_include", "properties_exclude"])
def test_property_names_the_portal_does_not_have_are_refused_naming_them(tmp_path, portal_sim, setting):
    config = tap_config(portal_sim, object_types=["contacts"], **{setting: {"contacts": ["email", "emial"]}})

    result = run_cli(tmp_path, config, "--discover")

    assert result.returncode == 1
    assert f"{setting} names contacts properties the portal does not have: emial." in result.stderr
    assert "Traceback" not in result.stderr
    fixed = run_cli(
        tmp_path, tap_config(portal_sim, object_types=["contacts"], **{setting: {"contacts": ["email"]}})
    )
    assert fixed.returncode == 0, fixed.stderr[-2000:]
