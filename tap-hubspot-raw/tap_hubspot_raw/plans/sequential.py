"""Full sync with one request at a time (``max_concurrency: 1``): the list endpoint, live then archived."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from tap_hubspot_raw.plans.workers import Batch, Record

if TYPE_CHECKING:
    from tap_hubspot_raw.reader import Reader


class SequentialFullSync:
    """Pages the list endpoint in HubSpot's order, whatever its cursor is; nothing runs in the background."""

    def __init__(self, reader: Reader, *, keep: Callable[[Record], bool] | None = None) -> None:
        """Read ``reader``'s object type, keeping the records ``keep`` accepts (all when None)."""
        self.reader = reader
        self.keep = keep
        self.total: int | None = None  # the list endpoint does not count

    def start(self) -> None:
        """Nothing to start ahead of time."""

    def cancel(self) -> None:
        """Nothing runs in the background."""

    def batches(self) -> Iterator[Batch]:
        """One batch per list page: live objects first, then archived ones."""
        for archived in (False, True):
            after: str | None = None
            while True:
                page = self.reader.list_page(archived=archived, after=after)
                records = self.reader.finish_list(page.results, archived=archived)
                if self.keep is not None:
                    records = [r for r in records if self.keep(r)]
                yield Batch(records, archived=archived)
                if page.after is None:
                    break
                after = page.after
