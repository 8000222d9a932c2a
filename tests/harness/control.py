"""The HubSpot simulator driven from outside: its control API over HTTP, and the simulator as a process.

`SimulatorControl` offers the calls of the in-process `Simulator` object the tests use (`url`, `stats`,
`reset_stats`, `update_config`), so the pipeline runner works with either.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import psutil
import requests

from tests.harness.processes import spawn, stop

CONTROL_TIMEOUT_S = 30
# SimulatorConfig fields the simulator's command line takes, by flag (tests/hubspot_simulator/__main__.py).
CLI_FLAGS = (
    "contacts",
    "deals",
    "calls",
    "companies",
    "tickets",
    "meetings",
    "seed",
    "id_layout",
    "list_cursor",
    "anchor_ms",
    "latency_ms",
    "burst_limit",
    "search_limit",
    "associations_limit",
    "daily_limit",
)


class SimulatorHandle(Protocol):
    """What the runner needs of a simulator, in-process or not."""

    @property
    def url(self) -> str: ...

    def stats(self) -> dict[str, Any]: ...

    def reset_stats(self) -> None: ...


class SimulatorControl:
    """The control API of a simulator at ``url`` (never authenticated, rate limited or faulted)."""

    def __init__(self, url: str) -> None:
        """Talk to the simulator at ``url``."""
        self.url = url
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> requests.Response:
        response = self.session.request(method, self.url + path, json=body, timeout=CONTROL_TIMEOUT_S)
        response.raise_for_status()
        return response

    def stats(self) -> dict[str, Any]:
        """Request counters: total, by kind, by status, rate limited, faults, concurrency."""
        return dict(self._call("GET", "/_simulator/stats").json())

    def reset_stats(self) -> None:
        """Zero the counters and the rate-limit windows."""
        self._call("POST", "/_simulator/stats/reset")

    def config(self) -> dict[str, Any]:
        """The simulator's configuration and object counts."""
        return dict(self._call("GET", "/_simulator/config").json())

    def update_config(self, **changes: Any) -> None:
        """Change runtime settings (latency, limits, faults, tokens)."""
        self._call("PATCH", "/_simulator/config", changes)

    def live_ids(self, object_type: str) -> list[int]:
        """The portal's live ids of ``object_type``, ascending."""
        truth = self._call("GET", f"/_simulator/truth/{object_type}").json()
        return sorted(int(i) for i in truth["live_ids"])

    def update_object(
        self,
        object_type: str,
        object_id: int | str,
        properties: Mapping[str, Any],
        timestamp_ms: int | None = None,
    ) -> bool:
        """Change an object's properties (modified now, or at ``timestamp_ms``); False when it is archived
        or missing."""
        body: dict[str, Any] = {"properties": dict(properties)}
        if timestamp_ms is not None:
            body["timestamp"] = timestamp_ms
        response = self.session.patch(
            f"{self.url}/_simulator/objects/{object_type}/{object_id}", json=body, timeout=CONTROL_TIMEOUT_S
        )
        if response.status_code in {404, 409}:
            return False
        response.raise_for_status()
        return True


def simulator_argv(preset: Mapping[str, Any]) -> list[str]:
    """The simulator's command line for a preset (a dict of SimulatorConfig fields)."""
    argv = [sys.executable, "-m", "tests.hubspot_simulator", "--port", "0"]
    for name in CLI_FLAGS:
        if name in preset:
            argv += [f"--{name.replace('_', '-')}", str(preset[name])]
    for token in preset.get("access_tokens", ()):
        argv += ["--token", token]
    if not preset.get("rate_limits_enabled", True):
        argv.append("--no-rate-limits")
    unknown = set(preset) - {*CLI_FLAGS, "access_tokens", "rate_limits_enabled"}
    if unknown:
        raise ValueError(f"the simulator's command line cannot set {sorted(unknown)}")
    return argv


class SimulatorNotReadyError(RuntimeError):
    """The simulator process exited or did not say READY in time."""


class SimulatorProcess(SimulatorControl):
    """``python -m tests.hubspot_simulator`` in its own process (sharing no GIL with what is measured)."""

    def __init__(self, preset: Mapping[str, Any], log_path: Path, *, ready_timeout: float = 300) -> None:
        """Start the simulator for ``preset``, its stderr in ``log_path``; wait until it listens."""
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = spawn(
            simulator_argv(preset), die_with_parent=True, stdout=subprocess.PIPE, stderr=self._log
        )
        super().__init__(self._wait_ready(ready_timeout))

    def _wait_ready(self, timeout: float) -> str:
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = self.proc.stdout
        assert stdout is not None

        def read() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2).decode().strip()
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if line.startswith("READY "):
                return line.split()[1]
        self.stop()
        raise SimulatorNotReadyError(f"the HubSpot simulator did not start; its log is {self.log_path}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the simulator process has used so far."""
        try:
            times = psutil.Process(self.proc.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def stop(self) -> None:
        """Stop the process and close its log."""
        stop(self.proc, grace=5.0)
        self._log.close()
