"""`tap-hubspot-raw | target-supabase-hybrid` as real processes, and what a test compares afterwards.

The tap's stdout is relayed to the target's stdin by a thread that remembers every message in order, so a
test can kill either process at a chosen point and then check that the last STATE the target printed never
covered a record that was not committed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

from tests.hubspot_simulator import Simulator
from tests.tap.conftest import tap_config as generous_tap_config

# Distinctive secrets, so a test can prove they never reach any output.
TOKEN = "pat-na1-5ec7e7-reliability-token-9d2f"
TABLES = {"contacts": "hubspot_contacts_raw", "deals": "hubspot_deals_raw", "calls": "hubspot_calls_raw"}

# Small portal with permissive limits; tests override what they exercise.
PORTAL: dict[str, Any] = {
    "contacts": 250,
    "deals": 40,
    "calls": 60,
    "companies": 0,
    "tickets": 0,
    "meetings": 0,
    "seed": 23,
    "access_tokens": (TOKEN,),
    "burst_limit": 100_000,
    "associations_limit": 100_000,
    "search_limit": 100_000,
    "daily_limit": 100_000_000,
}


def tap_config(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    """The tap tests' generous config, with this suite's token (the simulator's limits are the test)."""
    return generous_tap_config(sim, access_token=TOKEN, **overrides)


def target_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {"database_url": database_url, "batch_size": 50, "max_retries": 6, **overrides}


@dataclass
class Run:
    """One pipeline run; fields fill in while it runs."""

    tap: subprocess.Popen[bytes]
    target: subprocess.Popen[bytes]
    workdir: Path
    messages: list[dict[str, Any]] = field(default_factory=list)  # tap output, in order
    states: list[dict[str, Any]] = field(default_factory=list)  # target output (committed states)
    relay_error: BaseException | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [m for m in list(self.messages) if m.get("type") == "RECORD"]

    @property
    def state(self) -> dict[str, Any] | None:
        return self.states[-1] if self.states else None

    def wait_for(self, condition: Callable[[Run], bool], timeout: float = 60) -> bool:
        """Poll until `condition(self)` or either process ended; whether the condition held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self):
                return True
            if self.tap.poll() is not None and self.target.poll() is not None:
                return condition(self)
            time.sleep(0.005)
        raise AssertionError("pipeline did not reach the awaited point in time")

    def kill(self, which: str) -> None:
        proc = self.tap if which == "tap" else self.target
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)

    def finish(self, timeout: float = 120) -> Run:
        """Wait for both processes (a dead target takes the tap down, as SIGPIPE would in a shell)."""
        deadline = time.monotonic() + timeout
        for proc in (self.target, self.tap):
            while proc.poll() is None:
                if self.target.poll() is not None and self.tap.poll() is None:
                    self.tap.kill()
                if time.monotonic() > deadline:
                    self.tap.kill()
                    self.target.kill()
                    raise AssertionError(f"pipeline still running after {timeout}s:\n{self.stderr()[-4000:]}")
                time.sleep(0.01)
        for thread in self._threads:
            thread.join(10)
        return self

    @property
    def ok(self) -> bool:
        return self.tap.returncode == 0 and self.target.returncode == 0

    def stderr(self, which: str | None = None) -> str:
        names = [which] if which else ["tap", "target"]
        return "".join(
            (self.workdir / f"{n}.stderr").read_text(errors="replace") for n in names if n is not None
        )

    def stdout(self) -> str:
        return (self.workdir / "target.stdout").read_text(errors="replace")


_run_counter = 0


def start(
    sim: Simulator,
    database_url: str,
    workdir: Path,
    *,
    state: dict[str, Any] | None = None,
    tap: dict[str, Any] | None = None,
    target: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """Start `tap | target` with the given tap state."""
    global _run_counter  # noqa: PLW0603 - unique folder per run within a test
    _run_counter += 1
    work = workdir / f"run{_run_counter}"
    work.mkdir(parents=True)
    (work / "tap.json").write_text(json.dumps(tap_config(sim, **(tap or {}))))
    (work / "target.json").write_text(json.dumps(target_config(database_url, **(target or {}))))
    tap_args = [sys.executable, "-m", "tests.reliability.fast_tap", "--config", str(work / "tap.json")]
    if state is not None:
        (work / "state.json").write_text(json.dumps(state))
        tap_args += ["--state", str(work / "state.json")]
    full_env = {**os.environ, **(env or {})}
    tap_proc = subprocess.Popen(
        tap_args,
        stdout=subprocess.PIPE,
        stderr=(work / "tap.stderr").open("wb"),
        env=full_env,
        cwd=Path(__file__).resolve().parents[2],
    )
    target_proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "target-supabase-hybrid"), "--config", str(work / "target.json")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=(work / "target.stderr").open("wb"),
        env=full_env,
    )
    run = Run(tap_proc, target_proc, work)

    def relay() -> None:
        assert tap_proc.stdout is not None
        assert target_proc.stdin is not None
        try:
            for line in tap_proc.stdout:
                run.messages.append(json.loads(line))
                target_proc.stdin.write(line)
                target_proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:  # the target died
            run.relay_error = exc
        finally:
            with contextlib.suppress(OSError):
                target_proc.stdin.close()

    def collect() -> None:
        assert target_proc.stdout is not None
        with (work / "target.stdout").open("wb") as out:
            for line in target_proc.stdout:
                out.write(line)
                out.flush()
                if line.startswith(b"{"):
                    run.states.append(json.loads(line))

    run._threads = [
        threading.Thread(target=relay, daemon=True),
        threading.Thread(target=collect, daemon=True),
    ]
    for thread in run._threads:
        thread.start()
    return run


def run_pipeline(sim: Simulator, database_url: str, workdir: Path, **kwargs: Any) -> Run:
    """Start and wait for a run that must succeed."""
    run = start(sim, database_url, workdir, **kwargs).finish()
    assert run.ok, f"pipeline failed ({run.tap.returncode}, {run.target.returncode}):\n{run.stderr()[-6000:]}"
    return run


# What landed ---------------------------------------------------------------------------------------


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_nul(value: Any) -> Any:
    """As PostgreSQL can store it: NUL characters stripped (keys too), lone surrogates become U+FFFD."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def query(database_url: str, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, tuple(params))
            return list(cur.fetchall())
    finally:
        conn.close()


def landed(database_url: str, table: str) -> dict[str, dict[str, Any]]:
    rows = query(database_url, f"SELECT hubspot_id, raw_json, archived FROM {table}")
    out: dict[str, dict[str, Any]] = {}
    for hubspot_id, raw_json, archived in rows:
        assert hubspot_id not in out, f"duplicate {table} row {hubspot_id}"
        assert archived == raw_json["archived"], (table, hubspot_id)
        out[hubspot_id] = raw_json
    return out


def portal_objects(sim: Simulator, stream: str) -> dict[str, dict[str, Any]]:
    return {
        obj["id"]: obj
        for archived in (False, True)
        for obj in sim.portal.iter_objects(stream, archived=archived)
    }


def assert_database_equals_portal(sim: Simulator, database_url: str, streams: Iterable[str] = TABLES) -> None:
    """Every object once, properties equal modulo NUL, archived flags equal; nothing else."""
    for stream in streams:
        rows = landed(database_url, TABLES[stream])
        expected = portal_objects(sim, stream)
        missing = sorted(expected.keys() - rows.keys(), key=int)
        extra = sorted(rows.keys() - expected.keys(), key=int)
        assert not missing, f"{stream}: missing {missing[:20]}"
        assert not extra, f"{stream}: missing {missing[:20]}, unexpected {extra[:20]}"
        for object_id, obj in expected.items():
            row = rows[object_id]
            assert row["properties"] == without_nul(obj["properties"]), (stream, object_id)
            assert row["archived"] == obj["archived"], (stream, object_id)


def assert_state_covers_only_committed(run: Run, database_url: str) -> None:
    """Every record the tap emitted before the STATE the target printed last is in the database.

    "In the database" means a row with that id whose updatedAt is at least the record's (a later run or a
    later record may have refreshed it, never regressed it).
    """
    if run.state is None:
        return
    position = next(
        (i for i, m in enumerate(run.messages) if m.get("type") == "STATE" and m["value"] == run.state), None
    )
    assert position is not None, "the target printed a state the tap never sent"
    covered = [m for m in run.messages[:position] if m.get("type") == "RECORD"]
    by_stream: dict[str, dict[str, str]] = {}
    for message in covered:
        by_stream.setdefault(message["stream"], {})[message["record"]["id"]] = message["record"]["updatedAt"]
    for stream, updated in by_stream.items():
        rows = landed(database_url, TABLES[stream])
        lost = [i for i in updated if i not in rows]
        assert not lost, f"state covers {len(lost)} uncommitted {stream} records, e.g. {lost[:10]}"
        regressed = [i for i, ts in updated.items() if rows[i]["updatedAt"] < ts]
        assert not regressed, f"{stream} rows older than records the state covers: {regressed[:10]}"
