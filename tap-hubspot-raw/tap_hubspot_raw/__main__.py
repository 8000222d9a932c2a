"""Run the tap: ``python -m tap_hubspot_raw``."""

from tap_hubspot_raw.tap import TapHubspotRaw

TapHubspotRaw.cli()
