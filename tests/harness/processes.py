"""Child processes the harness starts, each in its own process group: stopping one stops what it started."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_CHILDREN: list[subprocess.Popen[bytes]] = []


def _die_with_parent() -> None:
    """In the child: own session, and SIGKILL when the process that started it dies."""
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(argv: list[str], *, die_with_parent: bool = False, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group (from the repository root unless ``cwd`` says otherwise).

    ``die_with_parent`` also kills it when this process dies (the benchmark, interrupted); it uses
    ``preexec_fn``, which Python documents as unsafe when other threads run, so the tests (whose simulator
    runs in a thread) leave it off and rely on their fixtures to stop what they start.
    """
    kwargs.setdefault("cwd", ROOT)
    if die_with_parent:
        proc = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kwargs)  # noqa: PLW1509
    else:
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
    _CHILDREN.append(proc)
    return proc


def signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to the process group of ``proc`` (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


def stop(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds, and reap the process."""
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    signal_group(proc, signal.SIGKILL)  # also any grandchildren left in the group
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    if proc in _CHILDREN:
        _CHILDREN.remove(proc)


def stop_all(grace: float = 2.0) -> None:
    """Stop every process :func:`spawn` started that is still known."""
    for proc in list(_CHILDREN):
        stop(proc, grace)
