"""Helpers for the tap tests: run the tap in-process or as a process against the HubSpot simulator."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tap_hubspot_raw.tap import TapHubspotRaw
from tests.harness.fast_tap import FastTap
from tests.harness.presets import LAYOUTS, generous_tap_config
from tests.harness.presets import TAP_PORTAL as PORTAL
from tests.harness.presets import TAP_TOKEN as TOKEN
from tests.hubspot_simulator import Simulator

__all__ = [
    "LAYOUTS",
    "PORTAL",
    "TOKEN",
    "TapOutput",
    "live_ids",
    "run_tap",
    "start_tap_process",
    "tap_config",
]


def live_ids(sim: Simulator, object_type: str) -> list[str]:
    """The portal's live ids of ``object_type``, ascending (tests pick objects by position, not by id)."""
    return [str(i) for i in sim.portal.iter_ids(object_type)]


def tap_config(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    """Tap config pointing at ``sim`` with a generous budget (the simulator limits are the test)."""
    return generous_tap_config(sim.url, TOKEN, **overrides)


@dataclass
class TapOutput:
    """Parsed Singer output of one run."""

    text: str
    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict[str, Any]] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> TapOutput:
        out = cls(text)
        for line in text.splitlines():
            message = json.loads(line)
            if message["type"] == "RECORD":
                out.records[message["stream"]].append(message["record"])
            elif message["type"] == "STATE":
                out.states.append(message["value"])
            elif message["type"] == "SCHEMA":
                out.schemas[message["stream"]] = message["schema"]
        return out

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1]

    def ids(self, stream: str) -> list[str]:
        return [r["id"] for r in self.records[stream]]

    def catalog(self) -> dict[str, Any]:
        """A catalog selecting every stream, as Meltano would pass it on later runs."""
        return {
            "streams": [
                {
                    "tap_stream_id": name,
                    "stream": name,
                    "schema": schema,
                    "key_properties": ["id"],
                    "replication_key": "updatedAt",
                    "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}],
                }
                for name, schema in self.schemas.items()
            ]
        }


def run_tap(
    config: dict[str, Any],
    state: dict | None = None,
    catalog: dict | None = None,
    tap_class: type[TapHubspotRaw] = FastTap,
) -> TapOutput:
    """Run a full tap sync in-process (by default with test-sized retry waits) and parse its stdout."""
    buffer = io.StringIO()
    tap = tap_class(config=config, state=state, catalog=catalog, parse_env_config=False)
    with redirect_stdout(buffer):
        tap.sync_all()
    return TapOutput.parse(buffer.getvalue())


def start_tap_process(tmp_path: Path, config: dict, state: dict | None = None) -> subprocess.Popen[str]:
    """Start ``tap-hubspot-raw`` as its own process (for kill/resume), stdout piped line by line, its log
    in ``tmp_path / "tap.stderr"``."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_hubspot_raw", "--config", str(config_file)]
    if state is not None:
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps(state))
        args += ["--state", str(state_file)]
    # Its log goes to a file: an unread stderr pipe would fill up and block the tap.
    with (tmp_path / "tap.stderr").open("w") as log:
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)


@pytest.fixture(params=list(LAYOUTS))
def layout(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each id layout in turn: dense ids, sparse ids, sparse ids behind an opaque list cursor."""
    return dict(LAYOUTS[request.param])


@pytest.fixture
def portal_sim(make_simulator: Any) -> Simulator:
    """A fresh small portal with the test token."""
    return make_simulator(**PORTAL)
