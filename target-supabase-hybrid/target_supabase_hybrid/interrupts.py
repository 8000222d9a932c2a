"""SIGINT / SIGTERM: stop at once, commit nothing half-done, print no state beyond what is committed.

The SDK's own handler drains every sink, prints the state and exits 0, so an interrupted run looked like a
successful one. Here the signal unwinds the main thread like KeyboardInterrupt (the batch in progress rolls
back); commits in the sinks' drain threads pass through a gate that closes at the signal.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from target_supabase_hybrid.connection import error_line
from target_supabase_hybrid.errors import Interrupted, TargetError


class CommitGate:
    """Commits pass one at a time, and none once the run is interrupted."""

    def __init__(self) -> None:
        """Open until `close`."""
        self._lock = threading.Lock()
        self.signum: int | None = None

    @contextmanager
    def commit(self) -> Iterator[None]:
        """Hold the gate around `COMMIT`; raise `Interrupted` instead once it is closed."""
        with self._lock:
            if self.signum is not None:
                raise Interrupted(self.signum)
            yield

    def wait_for_commits(self) -> None:
        """Return once no commit is in flight; with the gate closed, none can start afterwards.

        Not held while recording the interruption: a drain thread may still hold a row lock on its
        `sync_logs` row until it reaches the closed gate and rolls back.
        """
        with self._lock:
            pass

    def close(self, signum: int) -> bool:
        """Close for good; False if it already was (a second signal while stopping changes nothing)."""
        if self.signum is not None:
            return False
        self.signum = signum
        return True


def install(gate: CommitGate, record: Callable[[], None]) -> None:
    """On SIGINT or SIGTERM close `gate` and unwind the main thread with `Interrupted(signum, record)`.

    Signal handlers can only be installed from the main thread; elsewhere (a target run inside a worker
    thread) the process's handlers stay as they are.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if gate.close(signum):
            raise Interrupted(signum, record)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)


@contextmanager
def run_ends_cleanly(logger: logging.Logger) -> Iterator[None]:
    """Errors that say what to fix end the run with their message alone (no traceback), exit status 1;
    an interruption records itself and exits 128 + the signal number (130 SIGINT, 143 SIGTERM)."""
    try:
        yield
    except Interrupted as exc:
        try:
            exc.record()
        except Exception as failure:  # noqa: BLE001 - the interruption is what the user must hear about
            logger.warning("Could not mark this run's sync_logs rows 'interrupted': %s", error_line(failure))
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story
        sys.exit(exc.exit_code)
    except TargetError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story
        sys.exit(1)
