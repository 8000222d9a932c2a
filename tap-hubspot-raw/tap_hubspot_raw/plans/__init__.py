"""Sync plans: which HubSpot calls a stream's sync makes, in what order, from how many threads.

Every plan reads through an :class:`~tap_hubspot_raw.reader.ObjectReader` and yields
:class:`~tap_hubspot_raw.plans.workers.Batch` es for the stream to emit: :class:`SequentialFullSync` (one
request at a time), :class:`ParallelFullSync` (list and search workers splitting the id space) and
:class:`IncrementalSync` (search by modified date, then archived objects).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from tap_hubspot_raw.plans.incremental import IncrementalSync
from tap_hubspot_raw.plans.parallel import CursorNotAnIdError, ParallelFullSync
from tap_hubspot_raw.plans.sequential import SequentialFullSync
from tap_hubspot_raw.plans.workers import Batch

if TYPE_CHECKING:
    from collections.abc import Iterator


class Plan(Protocol):
    """What the stream and the scheduler need of a plan."""

    total: int | None  # HubSpot's count of the live objects the plan reads, once known

    def start(self) -> None:
        """Start reading ahead (idempotent); batches wait, a bounded number of records."""

    def batches(self) -> Iterator[Batch]:
        """The plan's batches, in the order they are to be emitted."""

    def cancel(self) -> None:
        """Stop every background read."""


__all__ = ["Batch", "CursorNotAnIdError", "IncrementalSync", "ParallelFullSync", "Plan", "SequentialFullSync"]
