"""Failure modes: each asserts the outcome (data complete, or a clear fatal error) and that the token
never appears in logs or output."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest
from singer_sdk.exceptions import FatalAPIError

from tap_hubspot_raw.client import RetryWaits
from tests.harness.fast_tap import FastTap
from tests.tap.conftest import PORTAL, TOKEN, run_tap, tap_config


@pytest.fixture(autouse=True)
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_complete(sim, out, object_types=("contacts", "deals", "calls")) -> None:
    for object_type in object_types:
        expected = sum(1 for _ in sim.portal.iter_ids(object_type)) + sum(
            1 for _ in sim.portal.iter_ids(object_type, archived=True)
        )
        ids = out.ids(object_type)
        assert len(ids) == len(set(ids)) == expected


def assert_token_hidden(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    assert TOKEN not in caplog.text
    for text in texts:
        assert TOKEN not in text


def test_given_a_429_storm_then_waits_retries_and_loses_nothing(make_simulator, all_logs):
    sim = make_simulator(**{**PORTAL, "burst_window_ms": 100})
    sim.update_config(force_429=6)
    out = run_tap(tap_config(sim))
    assert_complete(sim, out)
    assert sim.stats()["rate_limited"]["forced"] == 6
    assert "Retrying HubSpot request" in all_logs.text
    assert_token_hidden(all_logs, out.text)


def test_a_tap_waits_the_retry_waits_it_is_given(make_simulator, all_logs):
    """The waits are the tap's to set (FastTap's keep this suite quick): a 429 here waits 0.3 s, jittered."""

    class PatientTap(FastTap):
        retry_waits = RetryWaits(rate_limited=0.3, search_rate_limited=0.3, server_error=0.3, max_wait=1.0)

    sim = make_simulator(**PORTAL)
    sim.update_config(force_429=1)
    out = run_tap(tap_config(sim, object_types=["deals"]), tap_class=PatientTap)
    assert_complete(sim, out, ("deals",))
    waits = [float(w) for w in re.findall(r"Retrying HubSpot request in ([\d.]+) s", all_logs.text)]
    assert len(waits) == 1
    assert 0.3 <= waits[0] <= 0.3 * 1.25


def test_given_a_portal_budget_smaller_than_configured_then_429s_are_absorbed(make_simulator, all_logs):
    sim = make_simulator(**{**PORTAL, "burst_limit": 8, "burst_window_ms": 300})
    out = run_tap(tap_config(sim))
    assert_complete(sim, out)
    assert_token_hidden(all_logs, out.text)


def test_given_5xx_bursts_then_bounded_retries_recover_every_record(make_simulator, all_logs):
    sim = make_simulator(**{**PORTAL, "error_rate": 0.3, "error_statuses": (500, 502, 503, 504)})
    out = run_tap(tap_config(sim, max_retries=12))
    assert_complete(sim, out)
    assert sim.stats()["faults"]["errors"] > 0
    assert_token_hidden(all_logs, out.text)


def test_given_dropped_connections_then_retries_recover_every_record(make_simulator, all_logs):
    sim = make_simulator(**{**PORTAL, "drop_rate": 0.25})
    out = run_tap(tap_config(sim, max_retries=12))
    assert_complete(sim, out)
    assert sim.stats()["faults"]["drops"] > 0
    assert_token_hidden(all_logs, out.text)


def test_given_persistent_5xx_then_gives_up_after_max_retries(make_simulator, all_logs):
    sim = make_simulator(**{**PORTAL, "error_rate": 1.0, "error_statuses": (503,)})
    with pytest.raises(Exception, match="503"):
        run_tap(tap_config(sim, max_retries=3, object_types=["deals"]))
    assert sim.stats()["total"] == 4  # first try + 3 retries, then stop
    assert_token_hidden(all_logs)


@pytest.mark.parametrize("token_state", ["unknown", "expired"])
def test_given_a_bad_token_then_fails_fast_saying_token_invalid(make_simulator, all_logs, token_state):
    sim = make_simulator(**{**PORTAL, "expired_tokens": (TOKEN,) if token_state == "expired" else ()})
    config = tap_config(sim)
    if token_state == "unknown":
        config["access_token"] = TOKEN + "-wrong"
    with pytest.raises(FatalAPIError, match="HubSpot token invalid or expired") as raised:
        run_tap(config)
    assert sim.stats()["total"] <= 3  # the streams' properties requests (sent at once), never retried
    assert TOKEN not in str(raised.value)
    assert_token_hidden(all_logs)


def test_given_a_missing_scope_then_fails_naming_the_scope(make_simulator, all_logs):
    sim = make_simulator(**{**PORTAL, "missing_scopes": {TOKEN: ("crm.objects.deals.read",)}})
    with pytest.raises(FatalAPIError, match=r"lacks required scope\(s\): crm\.objects\.deals\.read"):
        run_tap(tap_config(sim, object_types=["deals"]))
    assert_token_hidden(all_logs)


def test_given_the_daily_limit_is_spent_then_stops_with_a_clear_error_instead_of_retrying(
    make_simulator, all_logs
):
    sim = make_simulator(**{**PORTAL, "daily_limit": 2})
    with pytest.raises(FatalAPIError, match="daily API limit"):
        run_tap(tap_config(sim))
    assert sim.stats()["rate_limited"]["daily"] >= 1
    assert "Retrying HubSpot request" not in all_logs.text  # a DAILY 429 is never retried
    assert_token_hidden(all_logs)


def test_given_a_fatal_error_on_the_command_line_then_stderr_names_it_without_the_token(tmp_path, portal_sim):
    config = tap_config(portal_sim, access_token=TOKEN + "-wrong")
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "tap_hubspot_raw", "--config", str(tmp_path / "config.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "HubSpot token invalid or expired" in result.stderr
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr + result.stdout


@pytest.mark.parametrize("mode", [[], ["--discover"]], ids=["sync", "discover"])
def test_given_no_credentials_then_the_cli_exits_with_a_message_and_no_traceback(tmp_path, mode):
    (tmp_path / "config.json").write_text(json.dumps({"object_types": ["contacts", "widgets"]}))
    result = subprocess.run(
        [sys.executable, "-m", "tap_hubspot_raw", "--config", str(tmp_path / "config.json"), *mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Set access_token" in result.stderr
    assert "Unknown object type(s) widgets" in result.stderr
    assert "Traceback" not in result.stderr
