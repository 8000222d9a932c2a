"""Run ``tap-hubspot-raw`` with test-sized retry waits and request timeout (for subprocess runs).

``python -m tests.reliability.fast_tap --config ...`` is the real CLI; only the module constants that
tests/tap/conftest.py patches in-process are shrunk, from ``FAST_TAP_TIMEOUT_SECONDS`` (default 2).
"""

from __future__ import annotations

import os

from tap_hubspot_raw import client
from tap_hubspot_raw.tap import TapHubspotRaw

client.RETRY_WAITS = client.RetryWaits(0.05, 0.02, 0.02, 0.2)
client.REQUEST_TIMEOUT_SECONDS = int(os.environ.get("FAST_TAP_TIMEOUT_SECONDS", "2"))

if __name__ == "__main__":
    TapHubspotRaw.cli()
