"""Worker threads that hand batches to the stream's thread, holding only so many records at a time.

Plans read HubSpot from several threads so that several requests are in flight inside the portal's budget;
Singer output must still be written by one thread, one stream after another, and memory must stay flat
whatever the portal's size. So workers hand finished batches to a queue and block while too many records
wait in it; the stream's thread takes them off and emits them. A worker's failure stops the others and is
re-raised in the stream's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tap_hubspot_raw.idspace import IdRange

Record = dict[str, Any]
POLL_SECONDS = 0.1
# Records a plan's workers may have read and not yet handed over: ~20 MB, a few seconds of reading ahead.
MAX_BUFFERED_RECORDS = 10_000


@dataclass(frozen=True)
class Batch:
    """Records to emit. Once they are, every live object of ``done`` (if set) has been emitted, with
    ``sweep_done`` every archived object, and the stream's state may take ``state`` (a sweep's progress)."""

    records: list[Record]
    archived: bool = False
    refresh: bool = False  # re-read by the incremental refresh sweep
    done: IdRange | None = None
    sweep_done: bool = False
    state: dict[str, Any] | None = None


class Stopped(Exception):  # noqa: N818 - control flow, not an error
    """Another worker failed or the consumer went away: stop quietly."""


@dataclass(frozen=True)
class _Finished:
    """A worker finished (or failed with ``error``)."""

    error: BaseException | None = None


class WorkerGroup:
    """Threads running one plan's roles; their batches wait, up to ``max_buffered`` records, until taken.

    The bound is in records, not batches: a list page (100 records) and a search claim (1,000) cost what they
    hold, and a plan reading ahead of its turn (see :mod:`tap_hubspot_raw.scheduler`) can keep the budget busy
    for a few seconds before it has to wait for the stream before it to finish.
    """

    def __init__(self, name: str, roles: list[Callable[[], None]], max_buffered: int = MAX_BUFFERED_RECORDS):
        """Prepare (not start) one thread per role."""
        self.name = name
        self._roles = roles
        self._queue: queue.SimpleQueue[Batch | _Finished] = queue.SimpleQueue()
        self._max_buffered = max_buffered
        self._buffered = 0  # records put and not yet taken
        self._room = threading.Condition()
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the threads (idempotent)."""
        with self._start_lock:
            if self._threads:
                return
            for number, role in enumerate(self._roles):
                thread = threading.Thread(
                    target=self._run, args=(role,), name=f"{self.name}-{number}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def cancel(self) -> None:
        """Stop every worker (the consumer went away or another stream failed)."""
        self.stop.set()

    def put(self, batch: Batch) -> None:
        """Hand ``batch`` to the consumer; blocks while too many records wait (the memory bound)."""
        if batch.records or batch.done is not None or batch.sweep_done or batch.state:
            self._put(batch)

    def check_stop(self) -> None:
        """Raise :class:`Stopped` when the group is stopping."""
        if self.stop.is_set():
            raise Stopped

    def wait(self, event: threading.Event) -> None:
        """Wait for ``event``, or raise :class:`Stopped` when the group stops first."""
        while not event.wait(POLL_SECONDS):
            self.check_stop()
        self.check_stop()

    def batches(self) -> Iterator[Batch]:
        """Start the workers and yield their batches until all are done; re-raise a worker's failure."""
        self.start()
        running = len(self._threads)
        try:
            while running:
                item = self._queue.get()
                if isinstance(item, _Finished):
                    running -= 1
                    if item.error is not None:
                        raise item.error
                    continue
                with self._room:
                    self._buffered -= len(item.records)
                    self._room.notify_all()
                yield item
        finally:
            self.cancel()
            for thread in self._threads:
                thread.join(timeout=30)

    def _run(self, role: Callable[[], None]) -> None:
        try:
            role()
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self.stop.set()
            self._put(_Finished(exc), final=True)
            return
        self._put(_Finished(), final=True)

    def _put(self, item: Batch | _Finished, *, final: bool = False) -> None:
        # A batch waits for room (a batch larger than the bound goes alone); a final message never waits.
        if isinstance(item, Batch):
            size = len(item.records)
            with self._room:
                while self._buffered and self._buffered + size > self._max_buffered:
                    if self.stop.is_set():
                        raise Stopped
                    self._room.wait(POLL_SECONDS)
                if self.stop.is_set() and not final:
                    raise Stopped
                self._buffered += size
        self._queue.put(item)
