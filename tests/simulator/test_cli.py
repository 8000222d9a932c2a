from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_cli_ready_line_and_sigterm():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.hubspot_simulator",
            "--port",
            "0",
            "--contacts",
            "500",
            "--deals",
            "20",
            "--calls",
            "30",
            "--token",
            "demo-token",
            "--burst-limit",
            "190",
            "--associations-limit",
            "150",
            "--latency-ms",
            "1",
            "--id-layout",
            "sparse",
            "--list-cursor",
            "opaque",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split(" ", 1)[1]
        r = requests.get(
            url + "/crm/v3/objects/contacts?limit=100",
            headers={"Authorization": "Bearer demo-token"},
            timeout=10,
        )
        assert r.status_code == 200
        assert r.headers["X-HubSpot-RateLimit-Max"] == "190"
        assert max(int(o["id"]) for o in r.json()["results"]) > 10**9  # sparse ids
        assert not r.json()["paging"]["next"]["after"].isdigit()  # opaque cursor
        config = requests.get(url + "/_simulator/config", timeout=10).json()
        assert config["counts"]["deals"] <= 20
        assert config["associations_limit"] == 150
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
