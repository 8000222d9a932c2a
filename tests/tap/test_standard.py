"""The SDK's standard tap tests, against a small simulated portal.

The SDK builds the test class at import time and discovers streams while collecting, so the simulator
for this module starts at import and stops when the interpreter exits.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_hubspot_raw.tap import TapHubspotRaw
from tests.harness.catalogs import all_streams_catalog
from tests.hubspot_simulator import SimulatorConfig, start_simulator
from tests.tap.conftest import PORTAL, TOKEN

SIMULATOR = start_simulator(SimulatorConfig(**{**PORTAL, "contacts": 40, "deals": 12, "calls": 15}))
atexit.register(SIMULATOR.stop)

CONFIG = {
    "access_token": TOKEN,
    "api_url": SIMULATOR.url,
    "object_types": ["contacts", "deals", "calls", "companies"],
    "start_date": "2000-01-01T00:00:00Z",
}

# Every stream selected, the label streams and property_history too (as meltano.yml's `select` does).
TestTapHubspotRaw = get_tap_test_class(
    TapHubspotRaw,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=None),
    parse_env_config=False,
    catalog=all_streams_catalog(CONFIG, TapHubspotRaw),
)
