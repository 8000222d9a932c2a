"""Fixtures for the reliability tests: a small portal with the test token."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.presets import PIPELINE_PORTAL
from tests.hubspot_simulator import Simulator


@pytest.fixture
def portal(make_simulator: Any) -> Simulator:
    sim: Simulator = make_simulator(**PIPELINE_PORTAL, fault_seed=3)
    return sim
