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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness.control import SimulatorControl  # noqa: E402

DEFAULT_LOG = ROOT / ".data" / "demo-changes.jsonl"
CHANGEABLE = {
    "contacts": ("lifecyclestage", ["lead", "customer", "opportunity"]),
    "deals": ("dealstage", ["qualifiedtobuy", "closedwon", "contractsent"]),
    "calls": ("hs_call_status", ["COMPLETED", "NO_ANSWER", "BUSY"]),
}


def apply(simulator: SimulatorControl, change: dict) -> bool:
    """Applies one change; False when the object cannot be changed (e.g. it is archived)."""
    return simulator.update_object(change["type"], change["id"], change["properties"], change["timestamp"])


def main(base_url: str, new_changes: int, log: Path = DEFAULT_LOG) -> None:
    simulator = SimulatorControl(base_url)
    previous = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for change in previous:
        apply(simulator, change)
    live = {object_type: simulator.live_ids(object_type) for object_type in CHANGEABLE}
    rng = random.Random(len(previous))
    now_ms = int(time.time() * 1000)
    made = []
    while len(made) < new_changes:
        object_type = rng.choice(sorted(CHANGEABLE))
        prop, values = CHANGEABLE[object_type]
        object_id = rng.choice(live[object_type])
        change = {
            "type": object_type,
            "id": object_id,
            "properties": {prop: rng.choice(values)},
            "timestamp": now_ms,
        }
        if apply(simulator, change):
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
