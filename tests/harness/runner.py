"""`tap | relay | target` as real processes: the one pipeline runner of the tests and the benchmark.

The tap's stdout goes through a relay thread to the target's stdin. The relay counts RECORD lines per stream
and, for tests, keeps every message in order, so a test can kill either process at a chosen point and then
compare the STATE the target printed with what it had been sent. Each process's end is timed (the benchmark's
wall clock) and, on request, its memory is sampled.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.harness.processes import spawn, stop
from tests.harness.sampler import MemorySampler

BIN = Path(sys.executable).parent
TAP_CLI = (str(BIN / "tap-hubspot-raw"),)
FAST_TAP = (sys.executable, "-m", "tests.harness.fast_tap")  # the tap with test-sized retry waits
TARGET_CLI = (str(BIN / "target-supabase-hybrid"),)
POLL_S = 0.005
_STREAM = re.compile(rb'"stream"\s*:\s*"([^"]+)"')


@dataclass
class PipelineSpec:
    """What to run: configs, the tap's input state, and how closely to watch."""

    workdir: Path  # created; holds the configs, state and each process's stderr
    tap_config: dict[str, Any]
    target_config: dict[str, Any] | None  # None: the tap's output is counted and discarded
    state: dict[str, Any] | None = None
    tap_command: Sequence[str] = FAST_TAP
    env: Mapping[str, str] | None = None
    keep_messages: bool = True  # parse and keep every tap message (tests); False only counts (benchmark)
    # Tests: the relay stops before passing on the first message for which this is true, until released.
    hold_before: Callable[[dict[str, Any], Run], bool] | None = None
    sample_memory: bool = False
    die_with_parent: bool = False  # see processes.spawn


class PipelineTimeoutError(AssertionError):
    """The pipeline did not finish (or reach an awaited point) in time; both processes were killed."""


def _is_record(line: bytes) -> bool:
    head = line[:48]
    return b'"RECORD"' in head and b'"type"' in head


@dataclass
class Run:
    """One started pipeline; its fields fill in while it runs."""

    spec: PipelineSpec
    tap: subprocess.Popen[bytes]
    target: subprocess.Popen[bytes] | None
    started: float
    messages: list[dict[str, Any]] = field(default_factory=list)  # tap output in order (keep_messages)
    states: list[dict[str, Any]] = field(default_factory=list)  # what the target printed: committed states
    records_by_stream: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    size_bytes: int = 0  # of the tap's output
    relay_error: BaseException | None = None
    tap_ended: float | None = None
    target_ended: float | None = None
    sampler: MemorySampler | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)  # the relay is holding (hold_before)
    _released: threading.Event = field(default_factory=threading.Event)

    # --- while it runs ------------------------------------------------------------------------------
    @property
    def records(self) -> list[dict[str, Any]]:
        """The RECORD messages relayed so far (keep_messages)."""
        return [m for m in list(self.messages) if m.get("type") == "RECORD"]

    @property
    def record_count(self) -> int:
        return sum(self.records_by_stream.values())

    @property
    def state(self) -> dict[str, Any] | None:
        """The last state the target printed (None: none yet)."""
        return self.states[-1] if self.states else None

    def ended(self) -> bool:
        return self.tap.poll() is not None and (self.target is None or self.target.poll() is not None)

    def wait_for(self, condition: Callable[[Run], bool], timeout: float = 60) -> bool:
        """Poll until ``condition(self)``, or until the target or both processes ended (nothing more will
        happen); whether the condition held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self):
                return True
            if self.ended() or (self.target is not None and self.target.poll() is not None):
                return condition(self)
            time.sleep(POLL_S)
        raise PipelineTimeoutError(f"pipeline did not reach the awaited point in {timeout} s")

    def wait_until_held(self, timeout: float = 60) -> None:
        """Wait until the relay holds the message ``hold_before`` chose (fails if the tap ended first)."""
        self.wait_for(lambda run: run.held.is_set(), timeout)
        assert self.held.is_set(), f"the tap ended before the awaited message:\n{self.stderr('tap')[-3000:]}"

    def release(self) -> None:
        """Let the relay go on."""
        self._released.set()

    def kill(self, which: str) -> None:
        """``kill -9`` the tap or the target."""
        proc = self.tap if which == "tap" else self.target
        if proc is not None and proc.poll() is None:
            proc.kill()

    def finish(self, timeout: float = 120) -> Run:
        """Wait for both processes; a dead target takes the tap down, as SIGPIPE would in a shell."""
        self.release()
        deadline = time.monotonic() + timeout
        try:
            while not self.ended():
                if self.target is not None and self.target.poll() is not None and self.tap.poll() is None:
                    self.tap.kill()
                if time.monotonic() > deadline:
                    raise PipelineTimeoutError(
                        f"pipeline still running after {timeout} s:\n{self.stderr()[-4000:]}"
                    )
                time.sleep(POLL_S * 2)
        finally:
            for proc in (self.tap, self.target):
                if proc is not None:
                    stop(proc)
            if self.sampler is not None:
                self.sampler.stop()
        for thread in self.threads:
            thread.join(10)
        return self

    # --- afterwards ---------------------------------------------------------------------------------
    def returncode(self, which: str) -> int | None:
        """The tap's or the target's exit status (None: still running, or no target)."""
        proc = self.tap if which == "tap" else self.target
        return None if proc is None else proc.poll()

    @property
    def ok(self) -> bool:
        return self.returncode("tap") == 0 and (self.target is None or self.returncode("target") == 0)

    @property
    def tap_wall(self) -> float:
        """Seconds from the tap's start to its exit."""
        return (self.tap_ended or time.monotonic()) - self.started

    @property
    def wall(self) -> float:
        """Seconds from the tap's start to the later of the tap's and the target's exit."""
        ends = [self.tap_ended or time.monotonic(), self.target_ended or 0.0]
        return max(ends) - self.started

    def peak_rss(self, which: str) -> int:
        """Peak resident bytes of the tap or the target with its children (sample_memory)."""
        return self.sampler.peaks.get(which, 0) if self.sampler is not None else 0

    def stderr(self, which: str | None = None) -> str:
        names = [which] if which else ["tap", "target"]
        paths = [self.spec.workdir / f"{name}.stderr" for name in names]
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

    def stdout(self) -> str:
        """What the target printed."""
        path = self.spec.workdir / "target.stdout"
        return path.read_text(errors="replace") if path.exists() else ""


def _command(spec: PipelineSpec, name: str, command: Sequence[str], config: dict[str, Any]) -> list[str]:
    path = spec.workdir / f"{name}.json"
    path.write_text(json.dumps(config))
    return [*command, "--config", str(path)]


def start(spec: PipelineSpec) -> Run:
    """Start ``tap [--state] | relay | target`` (or ``| relay`` alone) and the threads that watch them."""
    spec.workdir.mkdir(parents=True, exist_ok=True)
    tap_argv = _command(spec, "tap", spec.tap_command, spec.tap_config)
    if spec.state is not None:
        (spec.workdir / "state.json").write_text(json.dumps(spec.state))
        tap_argv += ["--state", str(spec.workdir / "state.json")]
    env = None if spec.env is None else {**os.environ, **spec.env}
    target = None
    with (spec.workdir / "target.stderr").open("wb") as target_err:
        if spec.target_config is not None:
            target_argv = _command(spec, "target", TARGET_CLI, spec.target_config)
            target = spawn(
                target_argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=target_err,
                env=env,
                die_with_parent=spec.die_with_parent,
            )
    with (spec.workdir / "tap.stderr").open("wb") as tap_err:
        started = time.monotonic()
        tap = spawn(
            tap_argv,
            stdout=subprocess.PIPE,
            stderr=tap_err,
            env=env,
            bufsize=1 << 20,
            die_with_parent=spec.die_with_parent,
        )
    run = Run(spec, tap, target, started)
    if spec.sample_memory:
        run.sampler = MemorySampler()
        run.sampler.watch("tap", tap.pid)
        if target is not None:
            run.sampler.watch("target", target.pid)
        run.sampler.start()
    workers: list[Callable[[], None]] = [lambda: _relay(run), lambda: _await_end(run, "tap")]
    if target is not None:
        workers += [lambda: _collect_states(run), lambda: _await_end(run, "target")]
    run.threads = [threading.Thread(target=work, daemon=True) for work in workers]
    for thread in run.threads:
        thread.start()
    return run


def _relay(run: Run) -> None:
    """Count (and keep) the tap's messages and pass every line on to the target."""
    assert run.tap.stdout is not None
    sink: IO[bytes] | None = run.target.stdin if run.target is not None else None
    keep, hold = run.spec.keep_messages, run.spec.hold_before
    counts = run.records_by_stream
    try:
        for line in run.tap.stdout:
            run.lines += 1
            run.size_bytes += len(line)
            if keep:
                message = json.loads(line)
                if hold is not None and hold(message, run):
                    hold = None
                    run.held.set()
                    run._released.wait()
                run.messages.append(message)
                if message.get("type") == "RECORD":
                    counts[message["stream"]] = counts.get(message["stream"], 0) + 1
            elif _is_record(line):
                match = _STREAM.search(line, 0, 200)
                stream = match.group(1).decode() if match else "?"
                counts[stream] = counts.get(stream, 0) + 1
            if sink is not None:
                sink.write(line)
                if keep:  # a test's kill point is "after N records the target has been sent"
                    sink.flush()
    except OSError as exc:  # the target died (broken pipe); its exit status says why
        run.relay_error = exc
    finally:
        if sink is not None:
            with contextlib.suppress(OSError):
                sink.close()


def _collect_states(run: Run) -> None:
    """Keep the target's stdout in a file and each state it printed (one JSON object a line)."""
    assert run.target is not None
    assert run.target.stdout is not None
    with (run.spec.workdir / "target.stdout").open("wb") as out:
        for line in run.target.stdout:
            out.write(line)
            out.flush()
            if line.startswith(b"{"):
                run.states.append(json.loads(line))


def _await_end(run: Run, which: str) -> None:
    proc = run.tap if which == "tap" else run.target
    assert proc is not None
    proc.wait()
    setattr(run, f"{which}_ended", time.monotonic())
