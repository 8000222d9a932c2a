"""CRM object streams: one generic stream class, instantiated per object type.

A stream knows its schema, its bookmark and which sync plan fits it: a full sync when it has no bookmark
(parallel, or sequential with ``max_concurrency: 1``), an incremental sync otherwise. The plan reads HubSpot
through the stream's :class:`~tap_hubspot_raw.reader.ObjectReader`; the stream emits what the plan yields and
keeps the state: the full sync's progress while it runs, and at the end the bookmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_hubspot_raw.checkpoint import FullSyncCheckpoint
from tap_hubspot_raw.client import HubspotStream, Portal
from tap_hubspot_raw.defaults import (
    DEFAULT_ARCHIVED_SWEEP_HOURS,
    DEFAULT_LOOKBACK_MINUTES,
    DEFAULT_REFRESH_HOURS,
)
from tap_hubspot_raw.idspace import IdSpace
from tap_hubspot_raw.pagination import to_epoch_ms, to_iso
from tap_hubspot_raw.plans import IncrementalSync, ParallelFullSync, Plan, SequentialFullSync
from tap_hubspot_raw.progress import Progress
from tap_hubspot_raw.reader import ObjectReader
from tap_hubspot_raw.schemas import property_names
from tap_hubspot_raw.sdk_private import advance_bookmark, set_table_version, write_activate_version
from tap_hubspot_raw.sweep_state import plan_sweeps, record_count, record_progress, start_rounds

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_hubspot_raw.scheduler import Scheduler

Record = dict[str, Any]


class CrmObjectStream(HubspotStream):
    """Any HubSpot CRM v3 object type (contacts, deals, calls, companies, ...)."""

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updatedAt"
    STATE_MSG_FREQUENCY = 1000
    # Records are built already in their schema's types (strings, null, bools, string lists), with only schema
    # properties (see ObjectReader.shape): the SDK's per-value conformance pass would change nothing and cost
    # more than everything else the emitting thread does.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(
        self,
        tap: Tap,
        *,
        portal: Portal,
        scheduler: Scheduler,
        object_type: str,
        associations: Iterable[str],
        schema: Mapping[str, Any],
        started_ms: int,
    ) -> None:
        """The stream of ``object_type``; ``started_ms`` is when the run started (bounds every read)."""
        self.object_type = object_type
        self.association_types = tuple(associations)
        self.scheduler = scheduler
        self.started_ms = started_ms
        super().__init__(tap, portal=portal, name=object_type, schema=dict(schema))

    @cached_property
    def reader(self) -> ObjectReader:
        """Every HubSpot call of this object type (built once, shared by the plan's workers)."""
        return ObjectReader(
            self.call_api,
            object_type=self.object_type,
            associations=self.association_types,
            properties=property_names(self.schema),
            url_base=self.url_base,
            logger=self.logger,
        )

    # State --------------------------------------------------------------------------------------

    @cached_property
    def bookmark_ms(self) -> int | None:
        """The stream's bookmark from the input state, in epoch ms (None: full sync).

        Read once, at the first use after the SDK loaded the state: the SDK moves the state's value as
        records are emitted, and this run's decisions are made from where it started.
        """
        bookmark = (self.tap_state.get("bookmarks") or {}).get(self.name) or {}
        value = bookmark.get("replication_key_value")
        return to_epoch_ms(str(value)) if value else None

    # Every run is unsorted for the SDK: its bookmark moves only at the end, to the instant this run read
    # everything up to (see get_records). How far an interrupted incremental run got is kept apart, as
    # ``sweeps.changed_through`` (a full sync keeps ``full_sync``): the sweeps that follow the changes
    # emit older records, which would drag a record-by-record bookmark back.
    is_sorted = False

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str:
        # Caps a full sync's bookmark at the instant its reads are bounded by, in HubSpot's format.
        return to_iso(self.full_sync_started_ms)

    @cached_property
    def checkpoint(self) -> FullSyncCheckpoint | None:
        """An interrupted full sync to resume (None: incremental, or a fresh full sync)."""
        if self.bookmark_ms is not None:
            return None
        return FullSyncCheckpoint.load(dict(self.stream_state))

    @property
    def lookback_ms(self) -> int:
        """How far before the bookmark an incremental window starts (search shows changes late)."""
        return int(self.config.get("lookback_minutes", DEFAULT_LOOKBACK_MINUTES)) * 60_000

    @cached_property
    def window_low_ms(self) -> int:
        """Where this incremental run's window of modified dates starts: the lookback before the bookmark,
        or before the last change an interrupted run emitted, whichever is later."""
        through = (self.stream_state.get("sweeps") or {}).get("changed_through")
        start = max(self.bookmark_ms or 0, int(through) if through is not None else 0)
        return max(start - self.lookback_ms, 0)

    @property
    def full_sync_started_ms(self) -> int:
        """When this full sync started: the resumed attempt's start, or this run's."""
        return self.checkpoint.started_ms if self.checkpoint else self.started_ms

    # Plan ---------------------------------------------------------------------------------------

    @property
    def reads_ahead(self) -> bool:
        """Whether this stream's plan may start before the SDK syncs it (a parallel full sync)."""
        return self.bookmark_ms is None and self.portal.max_concurrency > 1

    def new_plan(self, *, on_claimed: Callable[[], None]) -> Plan:
        """The plan that fits this stream's state and settings (not started)."""
        if self.bookmark_ms is not None:
            sweeps = plan_sweeps(
                self.stream_state,
                refresh_hours=float(self.config.get("refresh_hours", DEFAULT_REFRESH_HOURS)),
                archived_sweep_hours=float(
                    self.config.get("archived_sweep_hours", DEFAULT_ARCHIVED_SWEEP_HOURS)
                ),
                now_ms=self.started_ms,
                window_low_ms=self.window_low_ms,
            )
            return IncrementalSync(
                self.reader, low_ms=self.window_low_ms, high_ms=self.started_ms, sweeps=sweeps
            )
        keep = self._start_date_filter()
        if self.portal.max_concurrency <= 1:
            return SequentialFullSync(self.reader, keep=keep)
        resumed = self.checkpoint
        return ParallelFullSync(
            self.reader,
            concurrency=self.portal.max_concurrency,
            keep=keep,
            space=IdSpace(resumed.done) if resumed else None,
            list_cursor=resumed.list_cursor if resumed else None,
            read_archived=not (resumed and resumed.archived_done),
            on_claimed=on_claimed,
        )

    def _start_date_filter(self) -> Callable[[Record], bool] | None:
        start = self.config.get("start_date")
        if not start:
            return None
        start_ms = to_epoch_ms(str(start))
        return lambda record: bool(record.get("updatedAt")) and to_epoch_ms(record["updatedAt"]) >= start_ms

    # Reading ------------------------------------------------------------------------------------

    @property
    def table_version(self) -> int | None:
        """The Singer table version of a full sync that reads every object (None otherwise).

        A full sync filtered by ``start_date`` does not see the objects modified before it, so it must not
        tell a target to retire them. A resumed full sync keeps its first attempt's version.
        """
        if self.bookmark_ms is not None or self.config.get("start_date"):
            return None
        return self.full_sync_started_ms

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        if self.bookmark_ms is not None:
            self.scheduler.start_incremental()
        plan = self.scheduler.plan_for(self)
        labels = {"main": "live" if self.bookmark_ms is None else "changed", "refresh": "refreshed"}
        progress = {key: Progress(self.logger, f"{self.name} ({label})") for key, label in labels.items()}
        progress["archived"] = Progress(self.logger, f"{self.name} (archived)")
        checkpoint = self._start_checkpoint(plan)
        version = self.table_version
        set_table_version(self, version)
        try:
            for batch in plan.batches():
                phase = "archived" if batch.archived else "refresh" if batch.refresh else "main"
                progress[phase].add(len(batch.records), plan.total if phase == "main" else None)
                yield from batch.records
                if checkpoint is not None:  # every record of the batch is emitted now
                    checkpoint.list_cursor = getattr(plan, "list_cursor", None)
                    if batch.done is not None:
                        checkpoint.mark_done(batch.done)
                    checkpoint.archived_done |= batch.sweep_done
                    checkpoint.save(self.stream_state)
                if batch.state:
                    record_progress(self.stream_state, batch.state)
        except BaseException:
            self.scheduler.cancel()
            raise
        for key, item in progress.items():
            if item.count or key != "refresh":
                item.log()
        self._record_counts(plan)
        (self.stream_state.get("sweeps") or {}).pop("changed_through", None)  # the run is complete
        if version is not None:  # every object was read: rows of this stream not stamped with it are gone
            write_activate_version(self, version)
        FullSyncCheckpoint.clear(self.stream_state)
        # Everything modified up to the sync's start has been read: the next run starts there.
        high = self.started_ms if self.bookmark_ms is not None else self.full_sync_started_ms
        advance_bookmark(self, to_iso(high))

    def _record_counts(self, plan: Plan) -> None:
        """HubSpot's counts for drift checks (see :mod:`tap_hubspot_raw.sweep_state`); after a full sync, the
        sweeps start a new round. The counts are best effort: every record is emitted by now, and a count
        HubSpot does not answer (daily limit spent, say) only leaves this run without a drift check."""
        if not isinstance(plan, IncrementalSync):
            pages = getattr(plan, "archived_pages_read", None)
            start_rounds(self.stream_state, pages, self.full_sync_started_ms)
        try:
            if isinstance(plan, IncrementalSync):
                since, recent = plan.low_ms, plan.total or 0
                live = plan.live_total if plan.live_total is not None else self.reader.count()
            else:
                since = self.full_sync_started_ms - self.lookback_ms
                live = plan.total if plan.total is not None else self.reader.count()
                recent = self.reader.count(since)
        except (FatalAPIError, RetriableAPIError) as exc:
            self.logger.warning("%s: no count of live objects this run (%s)", self.name, exc)
            return
        record_count(self.stream_state, live=live, recent=recent, since_ms=since, at_ms=now_ms())

    def _start_checkpoint(self, plan: Plan) -> FullSyncCheckpoint | None:
        if not isinstance(plan, ParallelFullSync):
            return None
        checkpoint = self.checkpoint or FullSyncCheckpoint(started_ms=self.started_ms)
        checkpoint.save(self.stream_state)
        return checkpoint


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)
