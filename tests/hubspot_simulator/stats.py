"""Request counters and the recent request log (what the tests ask the simulator about its traffic)."""

from __future__ import annotations

import collections
import json
import threading
import time
from typing import Any


def _empty() -> dict[str, Any]:
    return {
        "total": 0,
        "by_kind": {},
        "by_status": {},
        "rate_limited": {"total": 0, "burst": 0, "search": 0, "associations": 0, "daily": 0, "forced": 0},
        "faults": {"errors": 0, "drops": 0, "slow": 0},
        "max_request_target": 0,
        "concurrent_max": 0,
    }


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.request_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=20_000)
        self._data = _empty()
        self._in_flight = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._data))

    def reset(self) -> None:
        with self._lock:
            self._data = _empty()
            self._in_flight = 0
            self.request_log.clear()

    def bump(self, group: str, name: str) -> None:
        with self._lock:
            self._data[group][name] += 1

    def started(self, kind: str, target_length: int) -> None:
        with self._lock:
            st = self._data
            st["total"] += 1
            st["by_kind"][kind] = st["by_kind"].get(kind, 0) + 1
            st["max_request_target"] = max(st["max_request_target"], target_length)
            self._in_flight += 1
            st["concurrent_max"] = max(st["concurrent_max"], self._in_flight)

    def finished(self, method: str, path: str, kind: str, status: int | str, target_length: int) -> None:
        """`status` is the HTTP status, or "dropped" when the connection was cut."""
        with self._lock:
            self._in_flight -= 1
            key = str(status)
            self._data["by_status"][key] = self._data["by_status"].get(key, 0) + 1
            if status == 429:
                self._data["rate_limited"]["total"] += 1
            self.request_log.append(
                {
                    "method": method,
                    "path": path,
                    "kind": kind,
                    "status": status,
                    "target_length": target_length,
                    "time": time.time(),
                }
            )
