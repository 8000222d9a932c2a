"""Errors that end a run with their message alone: each says what went wrong and which setting to change.

The CLI logs them as one line and exits non-zero, without a traceback (see `interrupts.run_ends_cleanly`); any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import signal
from collections.abc import Callable


class TargetError(Exception):
    """A failure the user can act on; its message is the whole story."""


class DatabaseSettingError(TargetError):
    """The database refused the connection for a reason retrying cannot fix (password, host, TLS, ...)."""


class NotOwnedError(TargetError):
    """A table or view of that name exists but the target did not create it: it is left untouched."""


class BatchLoadError(TargetError):
    """A batch the database refused: the run stops and no STATE covering it is emitted."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM: unwinds like KeyboardInterrupt (rolling back the batch in progress).

    A BaseException, so the handlers that record a failed batch let it through: an interrupted batch is not a
    failure of the data.
    """

    def __init__(self, signum: int, record: Callable[[], None] = lambda: None) -> None:
        """`record` marks what the interruption left unfinished; called once unwinding is over."""
        self.signum = signum
        self.record = record
        super().__init__(signum)

    @property
    def signal_name(self) -> str:
        """`SIGINT`, `SIGTERM`, ..."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum

    def __str__(self) -> str:
        """What happened and what the user can rely on."""
        return (
            f"Interrupted by {self.signal_name}: the batch in progress was rolled back; batches committed "
            "before stay, and the last state printed covers only them. This run's sync_logs rows are marked "
            "'interrupted'; run again to resume."
        )
