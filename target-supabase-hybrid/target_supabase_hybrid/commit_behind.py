"""Finishing a streamed batch in the background: the end of its COPY, the rest of its transaction (merges, its
`sync_logs` row) and COMMIT run in a thread while the main thread reads the next batch.

Waited for at each batch end, the server's last chunks and the commit kept the main thread idle ~30 ms per
batch (~0.3 s of a seed load). Whoever needs the batch committed waits for it (`wait`): the next batch of the
same sink (batches commit in order), every STATE message, the end of the run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from psycopg2.extensions import connection as Connection  # noqa: N812
from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.interrupts import CommitGate
from target_supabase_hybrid.streamed_copy import StreamedCopy

T = TypeVar("T")


class CommitBehind(Generic[T]):
    """Ends `stream`'s COPY, runs `finish` in its transaction and commits it (through `gate`), in a thread;
    `result` is what `finish` returned."""

    def __init__(
        self, stream: StreamedCopy, finish: Callable[[Cursor], T], gate: CommitGate, name: str = ""
    ) -> None:
        """Start at once; the stream's connection belongs to this job until `wait` returns."""
        self._stream = stream
        self._finish = finish
        self._gate = gate
        self._error: BaseException | None = None
        self.result: T | None = None
        self._thread = threading.Thread(target=self._run, name=f"commit-{name}", daemon=True)
        self._thread.start()

    @property
    def connection(self) -> Connection:
        """The batch's connection (in a failed transaction when `wait` reported an error)."""
        return self._stream.connection

    def wait(self) -> BaseException | None:
        """Wait until the batch is committed (None) or has failed (the error; nothing was committed)."""
        self._thread.join()
        return self._error

    def _run(self) -> None:
        try:
            self._stream.finish()
            with self.connection.cursor() as cur:
                self.result = self._finish(cur)
            with self._gate.commit():  # none once the run is interrupted
                self.connection.commit()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            self._error = exc
