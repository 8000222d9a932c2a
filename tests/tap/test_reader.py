"""The object reader against the simulator: what it makes of HubSpot's partial answers."""

from __future__ import annotations

import logging

from tap_hubspot_raw.tap import TapHubspotRaw
from tests.tap.conftest import PORTAL, tap_config


def test_an_object_the_batch_read_no_longer_returns_is_left_out_never_emitted_with_nulls(
    make_simulator, caplog
):
    # 900 custom properties: most do not fit the list URL and come from batch/read.
    sim = make_simulator(**{**PORTAL, "contacts": 150, "deals": 5, "calls": 5, "extra_properties": 900})
    tap = TapHubspotRaw(config=tap_config(sim, object_types=["contacts"]), parse_env_config=False)
    reader = tap.streams["contacts"].reader  # type: ignore[attr-defined]
    assert reader.unlisted_properties
    page = reader.list_page(archived=False, after=None)
    gone = page.results[3]["id"]
    sim.portal.archive_object("contacts", gone)  # archived between the list page and the batch read (207)

    caplog.set_level(logging.WARNING)
    records = reader.finish_list(page.results, archived=False)

    assert gone not in {r["id"] for r in records}
    assert len(records) == len(page.results) - 1
    for record in records:
        expected = sim.portal.get_object("contacts", record["id"])
        assert record["properties"] == expected["properties"]  # every property as HubSpot holds it
    assert "1 contacts listed moments ago could not be read in full" in caplog.text
