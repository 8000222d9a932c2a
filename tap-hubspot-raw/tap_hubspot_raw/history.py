"""The ``property_history`` stream: every value a configured property had, one row per change, read for the
objects changed since the last run.

HubSpot returns past values only as ``propertiesWithHistory``, for at most 50 objects a request. Per object
type (a partition with its own bookmark) the stream finds the objects modified inside [bookmark -
``lookback_minutes``, the sync's start] with the search endpoint — 200 ids a page, keyset paging like the
object streams' incremental reads (:class:`~tap_hubspot_raw.pagination.SearchCursor`), so HubSpot's
10,000-result cap never applies — and reads their history with ``batch/read``, 50 ids a request, a page's
four requests in flight while the next page is searched. The first run's window starts at ``start_date``
(else at the epoch): every object's history.

Cost per object type and run: 1 search request when nothing changed; per 1,000 changed objects 5 search
requests (the search budget, 5 a second) and 20 batch reads (the 10-second budget). A first run reads every
object: 1 batch read per 50 objects (29,000 contacts: 580 requests, a minute of a free portal's budget).

Rows are HubSpot's history entries (``value``, ``timestamp``, ``sourceType``, ``sourceId``, ``sourceLabel``,
``updatedByUserId``) with the object type, object id and property they belong to. The replication key is the
entry's ``timestamp``, but rows come out in object order, not time order: the stream is unsorted, so the SDK
moves its bookmark only when a partition is read whole — to the sync's start, as for the object streams.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import typing as th
from typing_extensions import override

from tap_hubspot_raw.api import (
    BATCH_READ_PATH,
    DEFAULT_PROPERTY_HISTORY,
    HISTORY_BATCH_READ_SIZE,
    SEARCH_PATH,
    modified_property,
)
from tap_hubspot_raw.associations import chunked
from tap_hubspot_raw.client import HubspotStream, Portal
from tap_hubspot_raw.defaults import DEFAULT_LOOKBACK_MINUTES
from tap_hubspot_raw.pagination import SearchCursor, to_epoch_ms, to_iso
from tap_hubspot_raw.reader import CallApi, SearchPage
from tap_hubspot_raw.sdk_private import advance_bookmark

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

Row = dict[str, Any]
# A search page's batch reads in flight at once, besides the next page's search.
BATCH_READS_IN_FLIGHT = 4

OBJECT_TYPE_NOTE = "The object type, as in object_types"
HISTORY_SCHEMA = th.PropertiesList(
    th.Property("objectType", th.StringType, required=True, description=OBJECT_TYPE_NOTE),
    th.Property("objectId", th.StringType, required=True),
    th.Property("property", th.StringType, required=True),
    th.Property("value", th.StringType, required=True, description="The value set ('' when cleared)"),
    th.Property("timestamp", th.DateTimeType, required=True, description="When the value was set"),
    th.Property("sourceType", th.StringType, required=True, description="CRM_UI, API, IMPORT, MERGE, ..."),
    th.Property("sourceId", th.StringType),
    th.Property("sourceLabel", th.StringType),
    th.Property("updatedByUserId", th.IntegerType),
    additional_properties=True,
).to_dict()


def history_properties(
    config: Mapping[str, Any], object_types: Sequence[str]
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """``property_history`` for the object types the tap reads (non-empty lists), and the object types it
    names that the tap does not read (left out: their scopes may be missing)."""
    configured = config.get("property_history")
    if configured is None:
        configured = DEFAULT_PROPERTY_HISTORY
    kept = {t: tuple(names) for t, names in configured.items() if t in object_types and names}
    return kept, sorted(set(configured) - set(object_types))


def unknown_history_properties(
    definitions: Mapping[str, Iterable[str]], history: Mapping[str, Sequence[str]]
) -> list[str]:
    """Config errors for ``property_history`` names the portal does not have (HubSpot would silently return
    nothing for them); ``definitions`` maps each object type to its property names."""
    errors = []
    for object_type, names in history.items():
        unknown = sorted(set(names) - set(definitions[object_type]))
        if unknown:
            errors.append(
                f"property_history names {object_type} properties the portal does not have: "
                + ", ".join(unknown)
                + "."
            )
    return errors


class HistoryReader:
    """Reads the history of one object type's changed objects: search pages of ids, batch reads of history."""

    def __init__(
        self,
        call: CallApi,
        *,
        object_type: str,
        properties: Sequence[str],
        workers: int,
        logger: logging.Logger,
    ) -> None:
        """Read ``properties``' history of ``object_type`` through ``call``, ``workers`` requests at once."""
        self.call = call
        self.object_type = object_type
        self.properties = list(properties)
        self.workers = max(1, workers)
        self.logger = logger
        self.modified_property = modified_property(object_type)

    def rows(self, low_ms: int, high_ms: int) -> Iterator[list[Row]]:
        """History rows of the objects modified in ``[low_ms, high_ms]``, one list per batch read."""
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.object_type}-history")
        try:
            first = SearchCursor(low_ms=low_ms, high_ms=high_ms)
            cursor: SearchCursor | None = first
            following: Future[SearchPage] = pool.submit(self._search, first)
            while cursor is not None:
                page = following.result()
                ids = [str(r["id"]) for r in page.results if cursor.accept(r)]
                cursor = cursor.advance(page, self.modified_property)
                if cursor is not None:  # the next page is searched while this one's history is read
                    following = pool.submit(self._search, cursor)
                chunks = chunked(ids, HISTORY_BATCH_READ_SIZE)
                reads = [pool.submit(self._history, chunk) for chunk in chunks]
                for read in reads:
                    yield read.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _search(self, cursor: SearchCursor) -> SearchPage:
        body = cursor.body(self.modified_property, [self.modified_property])
        payload = self.call("POST", SEARCH_PATH.format(object_type=self.object_type), None, body)
        return SearchPage(
            list(payload.get("results") or []),
            int(payload.get("total") or 0),
            bool((payload.get("paging") or {}).get("next")),
        )

    def _history(self, ids: Sequence[str]) -> list[Row]:
        body = {
            "inputs": [{"id": object_id} for object_id in ids],
            "properties": [self.modified_property],
            "propertiesWithHistory": self.properties,
        }
        payload = self.call("POST", BATCH_READ_PATH.format(object_type=self.object_type), None, body)
        results = list(payload.get("results") or [])
        if len(results) < len(ids):  # HubSpot answers 207 for ids archived or merged since the search
            self.logger.info(
                "%d of %d %s found by search were not returned by batch/read (archived or merged since)",
                len(ids) - len(results),
                len(ids),
                self.object_type,
            )
        return [row for result in results for row in self._result_rows(result)]

    def _result_rows(self, result: Mapping[str, Any]) -> Iterator[Row]:
        object_id = str(result["id"])
        for name, entries in (result.get("propertiesWithHistory") or {}).items():
            for entry in entries or ():
                if not entry.get("timestamp"):  # cannot be placed in time (nor keyed): not seen yet, but told
                    self.logger.warning(
                        "%s %s: %s entry without a timestamp skipped", self.object_type, object_id, name
                    )
                    continue
                yield {
                    "objectType": self.object_type,
                    "objectId": object_id,
                    "property": name,
                    **entry,
                    # Part of the key: HubSpot's spec requires both; a cleared value is "".
                    "value": "" if entry.get("value") is None else entry["value"],
                    "sourceType": entry.get("sourceType") or "",
                }


class PropertyHistoryStream(HubspotStream):
    """One row per past value of each ``property_history`` property, per object type (partition)."""

    name = "property_history"
    primary_keys: ClassVar[list[str]] = [
        "objectType",
        "objectId",
        "property",
        "timestamp",
        "sourceType",
        "value",
    ]
    replication_key = "timestamp"
    selected_by_default = False

    def __init__(
        self, tap: Tap, *, portal: Portal, properties: Mapping[str, Sequence[str]], started_ms: int
    ) -> None:
        """History of ``properties`` (object type -> names); ``started_ms`` bounds every read of the run."""
        self.history = {object_type: tuple(names) for object_type, names in properties.items()}
        self.started_ms = started_ms
        super().__init__(tap, portal=portal, name=self.name, schema=HISTORY_SCHEMA)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return [{"objectType": object_type} for object_type in self.history]

    @property
    @override
    def is_sorted(self) -> bool:
        return False  # rows come in object order, not in time order

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str:
        return to_iso(self.started_ms)

    @override
    def get_records(self, context: Context | None) -> Iterable[Row]:
        object_type = str((context or {})["objectType"])
        reader = HistoryReader(
            self.call_api,
            object_type=object_type,
            properties=self.history[object_type],
            workers=min(self.portal.max_concurrency, BATCH_READS_IN_FLIGHT + 1),
            logger=self.logger,
        )
        for rows in reader.rows(self._window_start(context), self.started_ms):
            yield from rows
        # Every object modified up to the sync's start has been read: the next run starts there.
        advance_bookmark(self, to_iso(self.started_ms), context)

    def _window_start(self, context: Context | None) -> int:
        """The bookmark (or ``start_date``) less the lookback, in epoch ms; 0 on a first run."""
        start = self.get_starting_replication_key_value(context)
        if not start:
            return 0
        lookback = int(self.config.get("lookback_minutes", DEFAULT_LOOKBACK_MINUTES))
        return max(to_epoch_ms(str(start)) - lookback * 60_000, 0)
