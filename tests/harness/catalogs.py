"""Catalogs as Meltano builds them: discovered from the portal, every stream selected (`select: ['*.*']`).

The tap's label streams (owners, pipelines, ...) and `property_history` are not selected by default when the
tap runs without a catalog; tests that read them select them the way the project's meltano.yml does.
"""

from __future__ import annotations

from typing import Any

from tap_hubspot_raw.tap import TapHubspotRaw
from tests.harness.fast_tap import FastTap

# The streams a default `meltano run` syncs (meltano.yml selects every stream), by name.
MELTANO_STREAMS = (
    "call_dispositions",
    "calls",
    "contacts",
    "deals",
    "owners",
    "pipelines",
    "property_definitions",
    "property_history",
)


def selecting(catalog: dict[str, Any], streams: set[str] | None = None) -> dict[str, Any]:
    """``catalog`` with ``streams`` (default: all) selected and the others deselected."""
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = streams is None or entry["tap_stream_id"] in streams
    return catalog


def all_streams_catalog(
    config: dict[str, Any], tap_class: type[TapHubspotRaw] = FastTap, streams: set[str] | None = None
) -> dict[str, Any]:
    """The tap's discovered catalog with ``streams`` (default: every stream) selected."""
    tap = tap_class(config=config, parse_env_config=False)
    return selecting(tap.catalog_dict, streams)
