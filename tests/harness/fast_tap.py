"""``tap-hubspot-raw`` with test-sized retry waits and request timeout, in-process or as a process.

``python -m tests.harness.fast_tap --config ...`` is the real CLI of a subclass that only waits less: tens of
milliseconds between retries instead of HubSpot's 10 s, and the request timeout from
``FAST_TAP_TIMEOUT_SECONDS`` (default: the tap's own).
"""

from __future__ import annotations

import os
from typing import ClassVar

from tap_hubspot_raw.client import REQUEST_TIMEOUT_SECONDS, RetryWaits
from tap_hubspot_raw.tap import TapHubspotRaw

TEST_RETRY_WAITS = RetryWaits(
    rate_limited=0.05, search_rate_limited=0.02, server_error=0.02, max_wait=0.2, unreachable=0.5
)


class FastTap(TapHubspotRaw):
    """The tap, waiting test-sized times between retries."""

    retry_waits: ClassVar[RetryWaits] = TEST_RETRY_WAITS
    request_timeout_seconds: ClassVar[int] = int(
        os.environ.get("FAST_TAP_TIMEOUT_SECONDS", REQUEST_TIMEOUT_SECONDS)
    )


if __name__ == "__main__":
    FastTap.cli()
