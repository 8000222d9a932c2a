"""A `COPY ... FROM STDIN` fed line by line while the input is still being read.

psycopg2 only offers pull-style COPY (`copy_expert` calls `read()` on a file object until it returns b""), so
the COPY runs in a worker thread that reads chunks from a bounded queue, and the main thread pushes lines as
records arrive. psycopg2 releases the GIL while it sends, so PostgreSQL parses one chunk while Python decodes
the next records; the queue bound keeps memory flat when the server is slower than the input.

The COPY runs inside the connection's open transaction; the caller commits (or rolls back) after `finish`.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Sequence

from psycopg2.extensions import connection as Connection  # noqa: N812

# Lines are sent in chunks of about this many bytes (~450 HubSpot records): each hand-over wakes the worker,
# which then needs the GIL, so fewer, larger chunks leave the main thread more of it (64 KB chunks cost ~4% of
# its time in those waits).
CHUNK_BYTES = 1 << 19
# At most this many chunks wait for the worker (~4 MB); beyond that `write` waits for the server.
MAX_QUEUED_CHUNKS = 8
_END = b""
_WAKE = None
# How often a blocked `write` checks that the worker is still alive (it stops consuming once it failed).
_PUT_TIMEOUT_SECONDS = 0.5
# After `abort`, how long to wait for the worker before cancelling the statement on the server.
_ABORT_GRACE_SECONDS = 2.0


class CopyAbortedError(RuntimeError):
    """Raised inside `read()` so psycopg2 ends the COPY with an error (the transaction must roll back)."""


class StreamedCopy:
    """One COPY statement on `conn`, fed by `write` from the calling thread, run by a worker thread."""

    def __init__(self, conn: Connection, statement: str, prelude: Sequence[str] = (), name: str = "") -> None:
        """Start the worker: it runs `prelude` statements, then `statement`, then waits for lines."""
        self._conn = conn
        self._statement = statement
        self._prelude = tuple(prelude)
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=MAX_QUEUED_CHUNKS)
        self._parts: list[bytes] = []
        self._size = 0
        self._aborted = False
        self.error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name=f"copy-{name}", daemon=True)
        self._worker.start()

    @property
    def connection(self) -> Connection:
        """The connection the COPY runs on (usable by the caller once `finish` or `abort` returned)."""
        return self._conn

    @property
    def failed(self) -> bool:
        """Whether the COPY already ended with an error (or was aborted); lines written now are dropped."""
        return self._aborted or self.error is not None

    def write(self, line: bytes) -> None:
        """Queue one COPY line (without its newline); whole chunks go to the worker."""
        self._parts.append(line)
        self._size += len(line) + 1
        if self._size >= CHUNK_BYTES:
            self._send_chunk()

    def finish(self) -> None:
        """Send the rest and wait for the server to take it all; raise the COPY's error if it failed."""
        if self._parts:
            self._send_chunk()
        self._put(_END)
        self._worker.join()
        if self._aborted:
            raise CopyAbortedError("the COPY was aborted")
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """End the COPY with an error and wait for the worker; the caller then rolls the transaction back."""
        self._aborted = True
        self._parts = []
        if not self._worker.is_alive():
            return
        with contextlib.suppress(queue.Full):  # when full, the worker sees the flag at its next read()
            self._queue.put_nowait(_WAKE)
        self._worker.join(_ABORT_GRACE_SECONDS)
        if self._worker.is_alive():  # blocked on the server (a lock wait, say): cancel the statement
            self._conn.cancel()
            self._worker.join()

    def read(self, size: int = -1) -> bytes:
        """Called by psycopg2 in the worker: the next chunk, b"" at the end."""
        chunk = self._queue.get()
        if self._aborted:
            raise CopyAbortedError("the COPY was aborted")
        return _END if chunk is None else chunk

    def _send_chunk(self) -> None:
        self._parts.append(b"")
        chunk = b"\n".join(self._parts)
        self._parts = []
        self._size = 0
        self._put(chunk)

    def _put(self, chunk: bytes) -> None:
        # A worker that failed stops reading: give up on the chunk rather than wait forever.
        while self._worker.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(chunk, timeout=_PUT_TIMEOUT_SECONDS)
                return

    def _run(self) -> None:
        try:
            with self._conn.cursor() as cur:
                for statement in self._prelude:
                    cur.execute(statement)
                cur.copy_expert(self._statement, self)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread by `finish`
            self.error = exc
