"""The target as users run it: its console script, a JSON config file, Singer lines on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET = str(Path(sys.executable).parent / "target-supabase-hybrid")


def lines(messages: Iterable[dict[str, Any]]) -> str:
    """Singer messages as the input text of the target."""
    return "".join(json.dumps(m) + "\n" for m in messages)


def write_config(tmp_path: Path, config: Mapping[str, Any]) -> Path:
    path = tmp_path / f"target-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(config))
    return path


def run_target(
    tmp_path: Path,
    config: Mapping[str, Any],
    messages: Iterable[dict[str, Any]] = (),
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the target to completion on `messages`."""
    return subprocess.run(
        [TARGET, "--config", str(write_config(tmp_path, config)), *args],
        input=lines(messages),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def error_lines(stderr: str) -> list[str]:
    """The ERROR lines the target logged."""
    return [line for line in stderr.splitlines() if "| ERROR " in line or " ERROR " in line[:40]]


@dataclass
class RunningTarget:
    """A target process fed line by line; `states` fills with the state values it prints."""

    proc: subprocess.Popen[str]
    stderr_path: Path
    states: list[dict[str, Any]] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, tmp_path: Path, config: Mapping[str, Any]) -> RunningTarget:
        stderr_path = tmp_path / f"target-{uuid.uuid4().hex[:8]}.stderr"
        proc = subprocess.Popen(
            [TARGET, "--config", str(write_config(tmp_path, config))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_path.open("w"),
            text=True,
        )
        running = cls(proc, stderr_path)
        running._reader = threading.Thread(target=running._collect, daemon=True)
        running._reader.start()
        return running

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.states.append(json.loads(line))

    def send(self, *messages: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(lines(messages))
        self.proc.stdin.flush()

    def wait(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout)
        if self._reader is not None:
            self._reader.join(10)
        return code

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")
