"""Singer table versions: a full sync that reads every object stamps its records and then activates the
version (so a target may retire rows it did not see); nothing else does."""

from __future__ import annotations

import json
from typing import Any

from tap_hubspot_raw.pagination import to_epoch_ms
from tests.tap.conftest import live_ids, run_tap, tap_config


def messages(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_full_sync_stamps_every_record_and_activates_its_version_after_the_last(portal_sim):
    out = run_tap(tap_config(portal_sim))

    lines = messages(out.text)
    for stream in ("contacts", "deals", "calls"):
        version = to_epoch_ms(out.state["bookmarks"][stream]["replication_key_value"])
        records = [i for i, m in enumerate(lines) if m["type"] == "RECORD" and m["stream"] == stream]
        assert {lines[i]["version"] for i in records} == {version}
        activations = [
            i for i, m in enumerate(lines) if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream
        ]
        assert len(activations) == 1
        assert lines[activations[0]]["version"] == version
        assert activations[0] > records[-1]


def test_incremental_runs_and_start_date_filtered_full_syncs_activate_nothing(portal_sim):
    first = run_tap(tap_config(portal_sim))
    portal_sim.portal.update_object("contacts", live_ids(portal_sim, "contacts")[4], {"firstname": "Changed"})
    filtered = run_tap(tap_config(portal_sim, start_date="2020-01-01T00:00:00Z"))
    incremental = run_tap(tap_config(portal_sim), state=first.state, catalog=first.catalog())

    for out in (filtered, incremental):
        lines = messages(out.text)
        assert not [m for m in lines if m["type"] == "ACTIVATE_VERSION"]
        assert all("version" not in m for m in lines if m["type"] == "RECORD")
    assert incremental.records["contacts"]
