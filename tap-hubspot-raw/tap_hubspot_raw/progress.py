"""Per-stream progress lines: records so far, total where HubSpot reports one, rate and ETA."""

from __future__ import annotations

import logging
import time

PROGRESS_INTERVAL_SECONDS = 10.0


class Progress:
    """Logs at most every ``interval`` seconds."""

    def __init__(
        self, logger: logging.Logger, label: str, interval: float = PROGRESS_INTERVAL_SECONDS
    ) -> None:
        """Start counting for ``label``."""
        self.logger = logger
        self.label = label
        self.interval = interval
        self.count = 0
        self.total: int | None = None
        self.started = time.monotonic()
        self._last_log = self.started

    def add(self, records: int, total: int | None = None) -> None:
        """Count ``records`` more; ``total`` is HubSpot's total when the endpoint reports one."""
        self.count += records
        if total is not None and self.total is None:
            self.total = total
        now = time.monotonic()
        if now - self._last_log >= self.interval:
            self._last_log = now
            self.log()

    def log(self) -> None:
        """Write one progress line."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.count / elapsed
        if self.total:
            eta = max(self.total - self.count, 0) / rate if rate else float("inf")
            self.logger.info(
                "%s: %d of %d records (%.0f/s, ETA %.0f s)", self.label, self.count, self.total, rate, eta
            )
        else:
            self.logger.info("%s: %d records (%.0f/s)", self.label, self.count, rate)
