"""Pipeline benchmark (scripts/bench): tap-hubspot-raw | target-supabase-hybrid against the simulator.

Every scenario runs the real CLIs as separate processes. The tap's stdout goes through this harness, which
counts the RECORD lines and passes them on to the target's stdin; the simulator runs in its own process (so it
shares no GIL with what is measured) and its control API supplies the request counts; PostgreSQL is the local
one from tests/local_postgres.py (data in .data/bench-postgres, a fresh database per scenario). The resident
memory of the tap and of the target (each with its children) is sampled every 100 ms.

Scenarios (issue "Speed: bounded by HubSpot's rate limit"):
  full-free            seed-sized portal, 250 ms latency, free-tier limits; goal <= 30 s and < 1 % 429s
  full-pro             same, simulator burst limit 190 (associations 150) and the tap told `professional`;
                       goal: faster than full-free (or <= 30 s when full-free did not run) and < 1 % 429s
  tap-only             full-free with the tap's output discarded, then the pipeline again right after; goal:
                       pipeline wall within 10 % of the tap-only wall
  incremental-noop     rerun with the state of a full sync, nothing changed; goal: tap <= 3 s, <= 20 requests
  incremental-changes  100 objects changed through the control API, rerun with state; goal: every changed
                       object emitted, < 1 % 429s
  memory-300k          300,000 contacts, no latency, no rate limits; goal: peak RSS of tap and target < 300 MB

The floor is the least time HubSpot's limits allow for the requests made: max over the three budgets of
(successful requests of that kind / allowed rate), the burst budget (limit per 10 s) for list, batch,
property and object requests, the associations budget (its own limit per 10 s) for v4 association
requests, the search budget (5/s) for search requests.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import psutil
import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.local_postgres import LocalPostgres  # noqa: E402

DATA = ROOT / ".data"
PG_DATA = DATA / "bench-postgres"
WORK = DATA / "bench"
TOKEN = "bench-token"  # noqa: S105  (the simulator's dummy token)
ANCHOR_MS = 1767225600000  # 2026-01-01T00:00:00Z: the same simulated portal on every run
SEED_SIZES = {"contacts": 29_000, "deals": 1_000, "calls": 8_100}
MEMORY_SIZES = {"contacts": 300_000, "deals": 100, "calls": 100}
LATENCY_MS = 250
FREE_BURST, PRO_BURST, SEARCH_LIMIT = 100, 190, 5
# The v4 associations API: exempt from the burst limit, its own per-10-s limit (free 100, pro 150).
FREE_ASSOCIATIONS, PRO_ASSOCIATIONS = 100, 150
BURST_WINDOW_S, SEARCH_WINDOW_S = 10.0, 1.0
CHANGES = 100
MB = 1024 * 1024

SCENARIOS = ["full-free", "full-pro", "tap-only", "incremental-noop", "incremental-changes", "memory-300k"]
CHANGEABLE = {  # object type -> (property, share of the changes)
    "contacts": ("firstname", 0.7),
    "deals": ("dealname", 0.1),
    "calls": ("hs_call_title", 0.2),
}
NOT_RATE_LIMITED = {"oauth", "other"}


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


# --- child processes ----------------------------------------------------------------------------------------

_CHILDREN: list[subprocess.Popen[bytes]] = []
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def _child_setup() -> None:
    """In the child: own process group (killed as a whole), and die if the harness dies."""
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, preexec_fn=_child_setup, cwd=ROOT, **kwargs)  # noqa: PLW1509
    _CHILDREN.append(proc)
    return proc


def kill(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # also any grandchildren left in the group
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    if proc in _CHILDREN:
        _CHILDREN.remove(proc)


def kill_all_children() -> None:
    for proc in list(_CHILDREN):
        kill(proc, grace=2.0)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --- secrets-free error reporting -------------------------------------------------------------------------

_SECRET_PATTERNS = [
    re.compile(r"(pat-[a-z0-9-]+)", re.I),
    re.compile(r"(Bearer\s+)\S+", re.I),
    re.compile(r'("?(?:access_token|refresh_token|client_secret|password)"?\s*[:=]\s*)"?[^",}\s]+', re.I),
    re.compile(r"(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+(@)"),
]


def redact(text: str) -> str:
    text = text.replace(TOKEN, "***")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(r"\1***\2", text)
        elif pattern.pattern.startswith("(pat-"):
            text = pattern.sub("pat-***", text)
        else:
            text = pattern.sub(r"\1***", text)
    return text


def tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return "(no output)"
    data = path.read_bytes()[-64_000:].decode("utf-8", "replace").splitlines()
    # The SDK's METRIC lines are noise in an error report; keep them only if nothing else is there.
    useful = [line for line in data if "METRIC:" not in line] or data
    return redact("\n".join(useful[-lines:]))


class BenchError(RuntimeError):
    pass


# --- simulator ----------------------------------------------------------------------------------------------


class SimulatorProcess:
    """`python -m tests.hubspot_simulator` in its own process, driven through its control API."""

    def __init__(self, name: str, sizes: dict[str, int], *, latency_ms: float, rate_limits: bool) -> None:
        self.name = name
        self.sizes = sizes
        self.log_path = WORK / f"simulator-{name}.log"
        argv = [sys.executable, "-m", "tests.hubspot_simulator", "--port", "0", "--token", TOKEN]
        argv += ["--anchor-ms", str(ANCHOR_MS), "--latency-ms", str(latency_ms)]
        argv += ["--burst-limit", str(FREE_BURST), "--search-limit", str(SEARCH_LIMIT)]
        for object_type, count in sizes.items():
            argv += [f"--{object_type}", str(count)]
        if not rate_limits:
            argv.append("--no-rate-limits")
        log(f"starting the HubSpot simulator ({', '.join(f'{n:,} {t}' for t, n in sizes.items())})")
        self._stderr = self.log_path.open("wb")
        self.proc = spawn(argv, stdout=subprocess.PIPE, stderr=self._stderr)
        self.url = self._wait_ready(timeout=300)
        self.session = requests.Session()

    def _wait_ready(self, timeout: float) -> str:
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = self.proc.stdout
        if stdout is None:
            raise BenchError("the simulator's stdout is not a pipe")

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
        kill(self.proc)
        raise BenchError(f"the simulator did not start:\n{tail(self.log_path)}")

    def stats(self) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/_simulator/stats", timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def reset_stats(self) -> None:
        """Zero the counters and the rate-limit windows."""
        self.session.post(f"{self.url}/_simulator/stats/reset", timeout=30).raise_for_status()

    def configure(self, **changes: Any) -> None:
        self.session.patch(f"{self.url}/_simulator/config", json=changes, timeout=30).raise_for_status()

    def config(self) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/_simulator/config", timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def modify(self, object_type: str, object_id: int, properties: dict[str, Any]) -> bool:
        response = self.session.patch(
            f"{self.url}/_simulator/objects/{object_type}/{object_id}",
            json={"properties": properties},
            timeout=30,
        )
        if response.status_code in {404, 409}:  # archived or missing
            return False
        response.raise_for_status()
        return True

    def cpu_seconds(self) -> float:
        try:
            times = psutil.Process(self.proc.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def stop(self) -> None:
        kill(self.proc, grace=5.0)
        self._stderr.close()


# --- one pipeline run ---------------------------------------------------------------------------------------


@dataclass
class RunResult:
    wall: float = 0.0  # tap start -> the later of tap exit and target exit
    tap_wall: float = 0.0  # tap start -> tap exit
    records: int = 0
    records_by_stream: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    bytes: int = 0
    peak_tap: int = 0
    peak_target: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds (user + system): tap, target, simulator
    state: dict[str, Any] | None = None
    stats: dict[str, Any] = field(default_factory=dict)


_STREAM = re.compile(rb'"stream"\s*:\s*"([^"]+)"')


def _is_record(line: bytes) -> bool:
    head = line[:48]
    return b'"RECORD"' in head and b'"type"' in head


def _parse_state(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if message.get("type") == "STATE":
        value = message.get("value")
        return value if isinstance(value, dict) else None
    return message


class MemorySampler(threading.Thread):
    """Peak RSS of each watched process including its children, sampled every `interval` seconds."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.watched: dict[str, psutil.Process] = {}
        self.peaks: dict[str, int] = {}
        self.cpu: dict[str, float] = {}
        self._halt = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        with contextlib.suppress(psutil.Error):
            self.watched[name] = psutil.Process(pid)
            self.peaks.setdefault(name, 0)
            self._sample(name, self.watched[name])

    def _sample(self, name: str, proc: psutil.Process) -> None:
        total, cpu = 0, 0.0
        try:
            with proc.oneshot():
                total += proc.memory_info().rss
                times = proc.cpu_times()
                cpu += times.user + times.system
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
                    times = child.cpu_times()
                    cpu += times.user + times.system
        except psutil.Error:
            return
        self.peaks[name] = max(self.peaks[name], total)
        self.cpu[name] = max(self.cpu.get(name, 0.0), cpu)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            for name, proc in list(self.watched.items()):
                self._sample(name, proc)

    def stop(self) -> None:
        self._halt.set()
        self.join(2)


@dataclass
class Run:
    """What one pipeline run needs: a label (its folder under .data/bench), the configs and the state."""

    label: str
    simulator: SimulatorProcess
    tap_config: dict[str, Any]
    target_config: dict[str, Any] | None  # None: the tap's output is counted and discarded
    deadline: float
    state: dict[str, Any] | None = None


class Pipeline:
    """tap [--state] | counting relay | target (or | counting relay > /dev/null), sampled and timed."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.dir = WORK / run.label
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.tap_err_path, self.target_err_path = self.dir / "tap.stderr", self.dir / "target.stderr"
        self.result = RunResult()
        self.sampler = MemorySampler()
        self.tap: subprocess.Popen[bytes] | None = None
        self.target: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.tap_done: list[float] = []
        self.target_done: list[float] = []
        self.states: list[bytes] = []
        self.relay_error: list[BaseException] = []
        self.sim_cpu = 0.0

    def _argv(self, name: str, config: dict[str, Any]) -> list[str]:
        path = self.dir / f"{name}.json"
        path.write_text(json.dumps(config))
        return [str(bin_path(name)), "--config", str(path)]

    def execute(self) -> RunResult:
        self.run.simulator.reset_stats()
        self.sim_cpu = self.run.simulator.cpu_seconds()
        with self.tap_err_path.open("wb") as tap_err, self.target_err_path.open("wb") as target_err:
            try:
                self._start(tap_err, target_err)
                self._wait()
            finally:
                self.sampler.stop()
                for proc in (self.tap, self.target):
                    if proc is not None:
                        kill(proc)
        return self._finish()

    def _start(self, tap_err: IO[bytes], target_err: IO[bytes]) -> None:
        tap_argv = self._argv("tap-hubspot-raw", self.run.tap_config)
        if self.run.state is not None:
            state_json = self.dir / "state.json"
            state_json.write_text(json.dumps(self.run.state))
            tap_argv += ["--state", str(state_json)]
        if self.run.target_config is not None:
            self.target = spawn(
                self._argv("target-supabase-hybrid", self.run.target_config),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=target_err,
            )
        self.started = time.monotonic()
        self.tap = spawn(tap_argv, stdout=subprocess.PIPE, stderr=tap_err, bufsize=1 << 20)
        self.sampler.watch("tap", self.tap.pid)
        if self.target is not None:
            self.sampler.watch("target", self.target.pid)
        self.sampler.start()

    def _relay(self) -> None:
        """Counts the tap's RECORD lines (per stream) and passes every line on to the target."""
        tap, target = self.tap, self.target
        if tap is None or tap.stdout is None:
            return
        sink = target.stdin if target is not None else None
        counts: dict[str, int] = {}
        records = lines = size = 0
        try:
            for line in tap.stdout:
                lines += 1
                size += len(line)
                if _is_record(line):
                    records += 1
                    match = _STREAM.search(line, 0, 200)
                    stream = match.group(1).decode() if match else "?"
                    counts[stream] = counts.get(stream, 0) + 1
                if sink is not None:
                    sink.write(line)
        except OSError as exc:  # the target died (broken pipe); its exit code tells why
            self.relay_error.append(exc)
        finally:
            self.result.records, self.result.lines, self.result.bytes = records, lines, size
            self.result.records_by_stream = counts
            if sink is not None:
                with contextlib.suppress(OSError):
                    sink.close()

    def _read_states(self) -> None:
        if self.target is None or self.target.stdout is None:
            return
        for line in self.target.stdout:
            if line.strip():
                self.states.append(line)
                del self.states[:-2]

    @staticmethod
    def _wait_for(proc: subprocess.Popen[bytes], done: list[float]) -> None:
        proc.wait()
        done.append(time.monotonic())

    def _wait(self) -> None:
        tap, target = self.tap, self.target
        if tap is None:
            return
        threads = [
            threading.Thread(target=self._relay, daemon=True),
            threading.Thread(target=self._wait_for, args=(tap, self.tap_done), daemon=True),
        ]
        if target is not None:
            threads.append(
                threading.Thread(target=self._wait_for, args=(target, self.target_done), daemon=True)
            )
            threads.append(threading.Thread(target=self._read_states, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                if time.monotonic() > self.run.deadline:
                    raise BenchError(
                        f"{self.run.label}: timed out (see --timeout); killed the tap and target"
                    )
                # If the target died, the tap may block on a full pipe forever: stop it.
                if target is not None and self.target_done and target.returncode and tap.poll() is None:
                    kill(tap)
                thread.join(0.05)

    def _finish(self) -> RunResult:
        result, label = self.result, self.run.label
        tap_end = self.tap_done[0] if self.tap_done else time.monotonic()
        result.tap_wall = tap_end - self.started
        result.wall = max([tap_end, *self.target_done]) - self.started
        result.peak_tap = self.sampler.peaks.get("tap", 0)
        result.peak_target = self.sampler.peaks.get("target", 0)
        result.stats = self.run.simulator.stats()
        result.cpu = {**self.sampler.cpu, "simulator": self.run.simulator.cpu_seconds() - self.sim_cpu}
        if self.target is not None and self.target.returncode != 0:
            raise BenchError(
                f"{label}: target-supabase-hybrid exited with {self.target.returncode}; last lines of its "
                f"stderr ({self.target_err_path.relative_to(ROOT)}):\n{tail(self.target_err_path)}"
            )
        if self.tap is not None and self.tap.returncode != 0:
            raise BenchError(
                f"{label}: tap-hubspot-raw exited with {self.tap.returncode}; last lines of its stderr "
                f"({self.tap_err_path.relative_to(ROOT)}):\n{tail(self.tap_err_path)}"
            )
        if self.relay_error:
            raise BenchError(f"{label}: could not pass the tap's output on: {self.relay_error[0]}")
        for line in reversed(self.states):
            parsed = _parse_state(line)
            if parsed is not None:
                result.state = parsed
                (self.dir / "state-out.json").write_text(json.dumps(parsed))
                break
        return result


def run_pipeline(run: Run) -> RunResult:
    return Pipeline(run).execute()


def bin_path(name: str) -> Path:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if not found:
        raise BenchError(f"{name} is not installed (run scripts/bench, which sets up .venv)")
    return Path(found)


# --- metrics ------------------------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    goal: str
    result: RunResult | None = None
    verdict: str = "ERROR"  # PASS / FAIL / ERROR
    note: str = ""
    burst_limit: int = FREE_BURST
    associations_limit: int = FREE_ASSOCIATIONS
    rate_limited_run: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return int(self.result.stats.get("total", 0)) if self.result else 0

    @property
    def throttled(self) -> int:
        return int(self.result.stats.get("rate_limited", {}).get("total", 0)) if self.result else 0

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    def floor(self) -> float | None:
        """Least time the limits allow for the requests that succeeded (None when limits were off)."""
        if not self.result or not self.rate_limited_run:
            return None
        stats = self.result.stats
        by_kind: dict[str, int] = stats.get("by_kind", {})
        limited = stats.get("rate_limited", {})
        search = by_kind.get("search", 0) - int(limited.get("search", 0))
        own = {"search", "associations"}
        burst = sum(n for kind, n in by_kind.items() if kind not in NOT_RATE_LIMITED | own)
        burst -= int(limited.get("burst", 0))
        associations = by_kind.get("associations", 0) - int(limited.get("associations", 0))
        return max(
            burst / (self.burst_limit / BURST_WINDOW_S),
            associations / (self.associations_limit / BURST_WINDOW_S),
            search / (SEARCH_LIMIT / SEARCH_WINDOW_S),
        )

    def ratio(self) -> float | None:
        floor = self.floor()
        if not floor or not self.result:
            return None
        return self.result.wall / floor


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_row(row: Row) -> None:
    r = row.result
    lines = [f"--- {row.scenario}: {row.verdict}  (goal: {row.goal})"]
    if row.note:
        lines.append(f"    {row.note}")
    if r is not None:
        rate = r.records / r.wall if r.wall else 0
        by_kind = ", ".join(f"{k} {v}" for k, v in sorted(r.stats.get("by_kind", {}).items()))
        per_stream = ", ".join(f"{k} {v:,}" for k, v in sorted(r.records_by_stream.items()))
        lines += [
            f"    wall {r.wall:.2f} s (tap {r.tap_wall:.2f} s)",
            f"    requests {row.requests} ({by_kind or 'none'}); 429s {row.throttled} "
            f"({row.throttled_share:.2%})",
            f"    records {r.records:,} ({per_stream}); {rate:,.0f} records/s; "
            f"{r.bytes / MB:,.1f} MB of Singer messages",
            f"    rate-limit floor {fmt(row.floor())} s; wall/floor {fmt(row.ratio(), 2)}",
            f"    peak RSS tap {r.peak_tap / MB:,.0f} MB, target "
            + (f"{r.peak_target / MB:,.0f} MB" if r.peak_target else "- (no target)"),
            "    CPU s " + ", ".join(f"{k} {v:.1f}" for k, v in r.cpu.items()),
        ]
    for key, value in row.extra.items():
        lines.append(f"    {key}: {value}")
    print("\n".join(lines), flush=True)


def markdown_table(rows: list[Row], quick: bool) -> str:
    head = (
        "| Scenario | Wall (s) | Tap (s) | Requests | 429s | Records | Records/s | Floor (s) | Wall/floor "
        "| Peak RSS tap (MB) | Peak RSS target (MB) | Goal | Result |"
    )
    out = [head, "|" + "---|" * 13]
    for row in rows:
        r = row.result
        if r is None:
            out.append(
                f"| {row.scenario} | - | - | - | - | - | - | - | - | - | - | {row.goal} | {row.verdict} |"
            )
            continue
        rate = r.records / r.wall if r.wall else 0
        out.append(
            f"| {row.scenario} | {r.wall:.1f} | {r.tap_wall:.1f} | {row.requests:,} | {row.throttled} "
            f"| {r.records:,} | {rate:,.0f} | {fmt(row.floor())} | {fmt(row.ratio(), 2)} "
            f"| {r.peak_tap / MB:,.0f} | {(f'{r.peak_target / MB:,.0f}' if r.peak_target else '-')} "
            f"| {row.goal} | {row.verdict} |"
        )
    if quick:
        out.append("")
        out.append("_--quick run: portal sizes shrunk 10x; goals are for full sizes._")
    return "\n".join(out)


# --- the benchmark ------------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.scale = 10 if args.quick else 1
        self.seed_sizes = {k: max(v // self.scale, 1) for k, v in SEED_SIZES.items()}
        self.memory_sizes = {k: max(v // self.scale, 1) for k, v in MEMORY_SIZES.items()}
        self.pg: LocalPostgres | None = None
        self.simulators: dict[str, SimulatorProcess] = {}
        self.tap_settings = self._tap_settings()
        self.rows: list[Row] = []
        self.full_free: RunResult | None = None
        # The last full or incremental sync of the seed portal: (database, state), for incremental scenarios.
        self.baseline: tuple[str, dict[str, Any]] | None = None

    # --- setup ----------------------------------------------------------------------------------------------
    def _tap_settings(self) -> set[str]:
        try:
            out = subprocess.run(
                [str(bin_path("tap-hubspot-raw")), "--about", "--format=json"],
                capture_output=True,
                timeout=120,
                check=True,
                cwd=ROOT,
            ).stdout
            return set(json.loads(out)["settings"]["properties"])
        except (subprocess.SubprocessError, ValueError, KeyError, BenchError) as exc:
            log(f"could not read the tap's settings ({exc}); using only the required ones")
            return set()

    def postgres(self) -> LocalPostgres:
        if self.pg is None:
            log("starting PostgreSQL (.data/bench-postgres)")
            self.pg = LocalPostgres(PG_DATA, durable=False)
            self.pg.start()
        return self.pg

    def fresh_database(self, name: str) -> str:
        pg = self.postgres()
        conn = psycopg2.connect(pg.admin_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return pg.url(name)

    def table_counts(self, database: str) -> dict[str, int]:
        conn = psycopg2.connect(self.postgres().url(database))
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_type = 'BASE TABLE' "
                    "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
                counts = {}
                for schema, table in cur.fetchall():
                    cur.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
                    counts[table] = int(cur.fetchone()[0])
                return counts
        finally:
            conn.close()

    def seed_simulator(self) -> SimulatorProcess:
        if "seed" not in self.simulators:
            self.simulators["seed"] = SimulatorProcess(
                "seed", self.seed_sizes, latency_ms=LATENCY_MS, rate_limits=True
            )
        sim = self.simulators["seed"]
        sim.configure(
            latency_ms=LATENCY_MS,
            rate_limits_enabled=True,
            burst_limit=FREE_BURST,
            associations_limit=FREE_ASSOCIATIONS,
        )
        return sim

    def tap_config(self, sim: SimulatorProcess, tier: str | None = "free") -> dict[str, Any]:
        config: dict[str, Any] = {
            "access_token": TOKEN,
            "api_url": sim.url,
            "start_date": "2000-01-01T00:00:00Z",
        }
        if tier is not None:
            if "rate_limit_tier" in self.tap_settings:
                config["rate_limit_tier"] = tier
            elif "requests_per_10_seconds" in self.tap_settings:
                config["requests_per_10_seconds"] = PRO_BURST if tier == "professional" else FREE_BURST
        return config

    def deadline(self, default: float = 600) -> float:
        return time.monotonic() + (self.args.timeout or default)

    # --- scenarios ------------------------------------------------------------------------------------------
    def full_sync(
        self, label: str, deadline: float, *, tier: str, burst: int, associations: int = FREE_ASSOCIATIONS
    ) -> tuple[RunResult, str]:
        sim = self.seed_simulator()
        sim.configure(burst_limit=burst, associations_limit=associations)
        database = f"bench_{label.replace('-', '_')}"
        target = {"database_url": self.fresh_database(database)}
        try:
            result = run_pipeline(Run(label, sim, self.tap_config(sim, tier), target, deadline))
        finally:
            sim.configure(burst_limit=FREE_BURST, associations_limit=FREE_ASSOCIATIONS)
        if result.state is not None:
            self.baseline = (database, result.state)
        return result, database

    def check_full(self, row: Row, database: str, expected: int) -> list[str]:
        """Failures common to full syncs: 429 share, every object emitted."""
        if row.result is None:
            return ["no result"]
        problems = []
        if row.throttled_share >= 0.01:
            problems.append(f"429s {row.throttled_share:.1%} >= 1%")
        if row.result.records < expected:
            problems.append(f"{row.result.records:,} records < {expected:,} live objects in the portal")
        counts = self.table_counts(database)
        row.extra["rows in PostgreSQL"] = ", ".join(f"{t} {n:,}" for t, n in sorted(counts.items())) or "none"
        if row.result.state is None:
            problems.append("the target emitted no state")
        return problems

    @staticmethod
    def live_objects(sizes: dict[str, int]) -> int:
        """Records the tap must emit at least: the portal's objects less the ~1% the simulator archives."""
        return int(sum(sizes.values()) * 0.98)

    def scenario_full_free(self, row: Row) -> None:
        deadline = self.deadline()
        row.result, database = self.full_sync("full-free", deadline, tier="free", burst=FREE_BURST)
        self.full_free = row.result
        problems = self.check_full(row, database, self.live_objects(self.seed_sizes))
        if row.result.wall > 30:
            problems.append(f"wall {row.result.wall:.1f} s > 30 s")
        self.verdict(row, problems)

    def scenario_full_pro(self, row: Row) -> None:
        deadline = self.deadline()
        row.burst_limit, row.associations_limit = PRO_BURST, PRO_ASSOCIATIONS
        if "rate_limit_tier" not in self.tap_settings and "requests_per_10_seconds" not in self.tap_settings:
            row.note = "the tap has no rate-limit tier setting yet: it ran with its default budget"
        row.result, database = self.full_sync(
            "full-pro", deadline, tier="professional", burst=PRO_BURST, associations=PRO_ASSOCIATIONS
        )
        problems = self.check_full(row, database, self.live_objects(self.seed_sizes))
        if self.full_free is not None:
            row.goal = f"faster than full-free ({self.full_free.wall:.1f} s), 429s < 1%"
            if row.result.wall >= self.full_free.wall:
                problems.append(
                    f"wall {row.result.wall:.1f} s not below full-free's {self.full_free.wall:.1f} s"
                )
        elif row.result.wall > 30:
            problems.append(f"wall {row.result.wall:.1f} s > 30 s")
        self.verdict(row, problems)

    def scenario_tap_only(self, row: Row) -> None:
        # The pipeline pass runs right after the tap-only pass (not reused from full-free): both use the same
        # code and conditions: the plugins are installed editable and may change between scenarios.
        deadline = self.deadline(default=1200)
        sim = self.seed_simulator()
        row.result = run_pipeline(Run("tap-only", sim, self.tap_config(sim, "free"), None, deadline))
        pipeline, _ = self.full_sync("tap-only-pipeline", deadline, tier="free", burst=FREE_BURST)
        ratio = pipeline.wall / row.result.tap_wall if row.result.tap_wall else float("inf")
        row.extra["pipeline"] = (
            f"wall {pipeline.wall:.2f} s = {ratio:.2f} x tap-only; tap inside it {pipeline.tap_wall:.2f} s; "
            f"{pipeline.stats.get('total', 0)} requests; {pipeline.records:,} records"
        )
        problems = []
        if ratio > 1.10:
            problems.append(f"pipeline {pipeline.wall:.1f} s > 110% of tap-only {row.result.tap_wall:.1f} s")
        if pipeline.records != row.result.records:
            problems.append(f"pipeline {pipeline.records:,} records vs tap-only {row.result.records:,}")
        self.verdict(row, problems)

    def ensure_baseline(self, deadline: float) -> tuple[str, dict[str, Any]]:
        """A full sync of the seed portal to increment from; made quickly (no limits or latency) if needed."""
        if self.baseline is None:
            log("untimed full sync first (latency and rate limits off): a state to increment from")
            sim = self.seed_simulator()
            sim.configure(latency_ms=0, rate_limits_enabled=False)
            database = "bench_incremental"
            target = {"database_url": self.fresh_database(database)}
            try:
                result = run_pipeline(
                    Run("incremental-baseline", sim, self.tap_config(sim), target, deadline)
                )
            finally:
                sim.configure(latency_ms=LATENCY_MS, rate_limits_enabled=True)
            if result.state is None:
                raise BenchError("the baseline full sync emitted no state: cannot run incremental scenarios")
            self.baseline = (database, result.state)
        return self.baseline

    def scenario_incremental_noop(self, row: Row) -> None:
        deadline = self.deadline()
        database, state = self.ensure_baseline(deadline)
        sim = self.seed_simulator()
        target = {"database_url": self.postgres().url(database)}
        row.result = run_pipeline(Run("incremental-noop", sim, self.tap_config(sim), target, deadline, state))
        if row.result.state is not None:
            self.baseline = (database, row.result.state)
        problems = []
        if row.result.tap_wall > 3:
            problems.append(f"tap {row.result.tap_wall:.1f} s > 3 s")
        if row.requests > 20:
            problems.append(f"{row.requests} requests > 20")
        self.verdict(row, problems)

    def scenario_incremental_changes(self, row: Row) -> None:
        deadline = self.deadline()
        database, state = self.ensure_baseline(deadline)
        sim = self.seed_simulator()
        rng = random.Random(20260101)
        changed: dict[str, set[int]] = {t: set() for t in CHANGEABLE}
        stamp = time.strftime("%H%M%S")
        for object_type, (prop, share) in CHANGEABLE.items():
            wanted = min(round(CHANGES * share), self.seed_sizes[object_type])
            while len(changed[object_type]) < wanted:
                object_id = rng.randint(1, self.seed_sizes[object_type])
                if object_id in changed[object_type]:
                    continue
                if sim.modify(object_type, object_id, {prop: f"Bench {stamp} #{object_id}"}):
                    changed[object_type].add(object_id)
        row.extra["changed"] = ", ".join(f"{t} {len(ids)}" for t, ids in changed.items())
        target = {"database_url": self.postgres().url(database)}
        row.result = run_pipeline(
            Run("incremental-changes", sim, self.tap_config(sim), target, deadline, state)
        )
        if row.result.state is not None:
            self.baseline = (database, row.result.state)
        problems = []
        for object_type, ids in changed.items():
            got = row.result.records_by_stream.get(object_type, 0)
            if got < len(ids):
                problems.append(f"{object_type}: {got} records < {len(ids)} changed")
        if row.throttled_share >= 0.01:
            problems.append(f"429s {row.throttled_share:.1%} >= 1%")
        self.verdict(row, problems)

    def scenario_memory(self, row: Row) -> None:
        deadline = self.deadline(default=1800)
        row.rate_limited_run = False
        # The seed portal's simulator is not needed while this runs: free its memory and CPU.
        if "seed" in self.simulators:
            self.simulators.pop("seed").stop()
            self.baseline = None
        sim = SimulatorProcess("memory", self.memory_sizes, latency_ms=0, rate_limits=False)
        self.simulators["memory"] = sim
        try:
            target = {"database_url": self.fresh_database("bench_memory")}
            row.result = run_pipeline(Run("memory-300k", sim, self.tap_config(sim, None), target, deadline))
        finally:
            self.simulators.pop("memory").stop()
        problems = []
        if row.result.peak_tap >= 300 * MB:
            problems.append(f"tap peak RSS {row.result.peak_tap / MB:.0f} MB >= 300 MB")
        if row.result.peak_target >= 300 * MB:
            problems.append(f"target peak RSS {row.result.peak_target / MB:.0f} MB >= 300 MB")
        expected = self.live_objects(self.memory_sizes)
        if row.result.records < expected:
            problems.append(f"{row.result.records:,} records < {expected:,} live objects")
        self.verdict(row, problems)

    def verdict(self, row: Row, problems: list[str]) -> None:
        row.verdict = "FAIL" if problems else "PASS"
        if problems:
            row.note = "; ".join(filter(None, [row.note, *problems]))

    GOALS: ClassVar[dict[str, str]] = {
        "full-free": "≤ 30 s, 429s < 1%",
        "full-pro": "faster than full-free, 429s < 1%",
        "tap-only": "pipeline wall ≤ 1.1 x tap-only",
        "incremental-noop": "tap ≤ 3 s, ≤ 20 requests",
        "incremental-changes": f"all {CHANGES} changes emitted, 429s < 1%",
        "memory-300k": "peak RSS tap and target < 300 MB",
    }

    def run(self, scenarios: list[str]) -> int:
        handlers: dict[str, Callable[[Row], None]] = {
            "full-free": self.scenario_full_free,
            "full-pro": self.scenario_full_pro,
            "tap-only": self.scenario_tap_only,
            "incremental-noop": self.scenario_incremental_noop,
            "incremental-changes": self.scenario_incremental_changes,
            "memory-300k": self.scenario_memory,
        }
        for name in scenarios:
            row = Row(name, self.GOALS[name])
            self.rows.append(row)
            log(f"scenario {name}")
            try:
                handlers[name](row)
            except BenchError as exc:
                row.verdict, row.note = "ERROR", str(exc)
            except Exception as exc:  # noqa: BLE001  (one broken scenario must not hide the others)
                row.verdict, row.note = "ERROR", redact(f"{type(exc).__name__}: {exc}")
            print_row(row)
        return self.report()

    def report(self) -> int:
        table = markdown_table(self.rows, self.args.quick)
        print()
        print(table, flush=True)
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "results.md").write_text(table + "\n")
        (WORK / "results.json").write_text(
            json.dumps([self._json(row) for row in self.rows], indent=2) + "\n"
        )
        log(f"results saved in {(WORK / 'results.md').relative_to(ROOT)} and results.json")
        verdicts = {row.verdict for row in self.rows}
        return 2 if "ERROR" in verdicts else 1 if "FAIL" in verdicts else 0

    def _json(self, row: Row) -> dict[str, Any]:
        r = row.result
        out: dict[str, Any] = {"scenario": row.scenario, "goal": row.goal, "verdict": row.verdict}
        out["note"], out["quick"] = row.note, self.args.quick
        if r is not None:
            out.update(
                wall_s=round(r.wall, 3),
                tap_wall_s=round(r.tap_wall, 3),
                requests=row.requests,
                rate_limited=row.throttled,
                records=r.records,
                records_by_stream=r.records_by_stream,
                records_per_s=round(r.records / r.wall, 1) if r.wall else None,
                floor_s=None if row.floor() is None else round(row.floor() or 0, 2),
                wall_over_floor=None if row.ratio() is None else round(row.ratio() or 0, 3),
                peak_rss_tap_mb=round(r.peak_tap / MB, 1),
                peak_rss_target_mb=round(r.peak_target / MB, 1),
                cpu_s={k: round(v, 2) for k, v in r.cpu.items()},
                simulator_stats=r.stats,
            )
        out.update({k: str(v) for k, v in row.extra.items()})
        return out

    def close(self) -> None:
        for sim in list(self.simulators.values()):
            with contextlib.suppress(Exception):
                sim.stop()
        self.simulators.clear()
        kill_all_children()
        if self.pg is not None and not self.args.keep_postgres:
            with contextlib.suppress(Exception):
                self.pg.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=(__doc__ or "").split("\n\n")[0],
        epilog="\n\n".join((__doc__ or "").split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenarios", nargs="*", metavar="scenario", help=f"default: all ({', '.join(SCENARIOS)})"
    )
    parser.add_argument("--quick", action="store_true", help="shrink portal sizes 10x (smoke run)")
    parser.add_argument(
        "--timeout", type=float, default=0, help="seconds per scenario (default 600; memory-300k 1800)"
    )
    parser.add_argument(
        "--keep-postgres",
        action="store_true",
        help="leave .data/bench-postgres running to inspect the databases",
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    # Canonical order: full-free before what compares to it, incremental runs after a full sync.
    args.scenarios = [s for s in SCENARIOS if s in args.scenarios] if args.scenarios else list(SCENARIOS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    bench = None
    try:
        bench = Bench(args)
        return bench.run(args.scenarios)
    except KeyboardInterrupt:
        log("interrupted: stopping the tap, target, simulator and PostgreSQL")
        if bench is not None and bench.rows:
            bench.report()
        return 130
    except BenchError as exc:
        log(str(exc))
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second ctrl-c must not interrupt the clean-up
        if bench is not None:
            bench.close()
        kill_all_children()


if __name__ == "__main__":
    sys.exit(main())
