"""Makes the demo's simulated portal behave like a live one across demo runs (used by scripts/demo).

The simulator regenerates the same portal on every start and keeps changes in memory only. To make a rerun
of the demo a real incremental sync, this script replays every change earlier demo runs made (same values,
same timestamps, from the change log: the path given, else .data/demo-changes.jsonl) and then makes a few new
ones, stamped now.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import requests

DEFAULT_LOG = Path(__file__).resolve().parent.parent / ".data" / "demo-changes.jsonl"
CHANGEABLE = {
    "contacts": ("lifecyclestage", ["lead", "customer", "opportunity"]),
    "deals": ("dealstage", ["qualifiedtobuy", "closedwon", "contractsent"]),
    "calls": ("hs_call_status", ["COMPLETED", "NO_ANSWER", "BUSY"]),
}


def apply(base_url: str, change: dict) -> bool:
    """Applies one change; False when the object cannot be changed (e.g. it is archived)."""
    response = requests.patch(
        f"{base_url}/_simulator/objects/{change['type']}/{change['id']}",
        json={"properties": change["properties"], "timestamp": change["timestamp"]},
        timeout=30,
    )
    if response.status_code in {404, 409}:
        return False
    response.raise_for_status()
    return True


def main(base_url: str, new_changes: int, log: Path = DEFAULT_LOG) -> None:
    previous = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for change in previous:
        apply(base_url, change)
    config = requests.get(f"{base_url}/_simulator/config", timeout=30).json()
    rng = random.Random(len(previous))
    now_ms = int(time.time() * 1000)
    made = []
    while len(made) < new_changes:
        object_type = rng.choice(sorted(CHANGEABLE))
        prop, values = CHANGEABLE[object_type]
        object_id = rng.randint(1, int(config[object_type]))
        change = {
            "type": object_type,
            "id": object_id,
            "properties": {prop: rng.choice(values)},
            "timestamp": now_ms,
        }
        if apply(base_url, change):
            made.append(change)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:
        handle.writelines(json.dumps(change) + "\n" for change in made)
    print(
        f"==> simulated portal: replayed {len(previous)} earlier changes, made {len(made)} new ones",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *(Path(arg) for arg in sys.argv[3:4]))
