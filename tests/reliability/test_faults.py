"""HubSpot misbehaving (5xx, dropped connections, responses slower than the timeout, 429 bursts): the
pipeline completes and the database equals the portal exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.harness.landed import assert_database_equals_portal
from tests.harness.pipeline import run_pipeline
from tests.harness.presets import PIPELINE_PORTAL
from tests.hubspot_simulator import Simulator


def test_given_5xx_drops_timeouts_and_429_bursts_then_full_and_incremental_runs_land_the_portal_exactly(
    make_simulator: Any, database_url: str, tmp_path: Path
) -> None:
    portal: Simulator = make_simulator(**{**PIPELINE_PORTAL, "contacts": 1000, "calls": 250, "deals": 150})
    portal.update_config(error_rate=0.08, drop_rate=0.05, slow_rate=0.04, slow_ms=1500, force_429=6)
    first = run_pipeline(portal, database_url, tmp_path, env={"FAST_TAP_TIMEOUT_SECONDS": "1"})

    faults = portal.stats()["faults"]
    assert min(faults["errors"], faults["drops"], faults["slow"]) > 0, faults
    assert portal.stats()["rate_limited"]["forced"] == 6
    assert "Retrying HubSpot request" in first.stderr("tap")
    assert_database_equals_portal(portal, database_url)

    # Incremental run under the same faults: changes, a new object and an archive all land.
    for contact_id in (3, 50, 120):
        portal.portal.update_object("contacts", contact_id, {"lifecyclestage": "evangelist"})
    portal.portal.create_object("deals", {"dealname": "Fault-tolerant", "amount": "12.50"})
    portal.portal.archive_object("calls", 7)
    portal.portal.flush_indexing()  # changes made a while ago: search shows them
    portal.update_config(force_429=4)
    second = run_pipeline(portal, database_url, tmp_path, state=first.state)

    assert 3 <= len([r for r in second.records if r["stream"] == "contacts"]) < 50
    assert_database_equals_portal(portal, database_url)
