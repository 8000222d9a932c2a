"""CRM object streams: one generic stream class, instantiated per object type.

Full sync (no bookmark) pages the list endpoint (fast, 100/page, associations inline) for live and then
archived objects. With a bookmark, the search endpoint returns what changed since then (minus the
lookback), in modified order, and archived objects are swept from the list endpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, urlencode

from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams.rest import HTTPRequest, PageContext
from typing_extensions import override

from tap_hubspot_raw.api import (
    BATCH_READ_PATH,
    BATCH_READ_SIZE,
    LIST_PAGE_SIZE,
    MAX_URL_CHARS,
    OBJECTS_PATH,
    PROPERTIES_PATH,
    SEARCH_PAGE_SIZE,
    SEARCH_PATH,
    modified_property,
)
from tap_hubspot_raw.associations import chunked, embedded_associations, read_associations
from tap_hubspot_raw.client import HubspotStream, Portal
from tap_hubspot_raw.pagination import ListPaginator, SearchCursor, SearchPaginator, to_epoch_ms, to_iso
from tap_hubspot_raw.parallel import BackgroundReader
from tap_hubspot_raw.progress import Progress
from tap_hubspot_raw.schemas import object_schema, property_names, select_properties

if TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.pagination import BaseAPIPaginator
    from singer_sdk.tap_base import Tap

Record = dict[str, Any]
Associations = dict[str, dict[str, list[str]]]  # object id -> to_type -> ids
URL_OVERHEAD_CHARS = 300  # limit, archived, after cursor and separators


@dataclass(frozen=True)
class Phase:
    """What :meth:`CrmObjectStream.request_records` is reading right now."""

    archived: bool = False
    search_from: SearchCursor | None = None  # set: search endpoint from this cursor


class CrmObjectStream(HubspotStream):
    """Any HubSpot CRM v3 object type (contacts, deals, calls, companies, ...)."""

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "updatedAt"
    payload_as_json = True
    STATE_MSG_FREQUENCY = 1000
    # Records are built here already in their schema's types (strings, null, bools, string lists), with only
    # schema properties (see _shape): the SDK's per-value conformance pass would change nothing and cost
    # more than everything else the emitting thread does.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, *, portal: Portal, object_type: str, associations: Iterable[str]) -> None:
        """Create the stream for ``object_type`` with the given association types."""
        self.object_type = object_type
        self.association_types = tuple(associations)
        self.modified_property = modified_property(object_type)
        self.path = OBJECTS_PATH.format(object_type=object_type)
        self._phase = Phase()
        self._paginator: BaseAPIPaginator | None = None
        self._prefetch_lock = threading.Lock()
        self._sweep: BackgroundReader | None = None
        self._prefetched: dict[tuple[str, str, bytes], Future[requests.Response]] = {}
        super().__init__(tap, portal=portal, name=object_type)
        self._progress = Progress(self.logger, object_type)

    # Schema -------------------------------------------------------------------------------------

    @property
    @override
    def schema(self) -> dict:
        if self._schema is None:  # discovered lazily, unless a catalog already says what to read
            self._schema = self._input_schema or self.discover_schema()
        return self._schema

    def discover_schema(self) -> dict:
        """Schema from ``GET /crm/v3/properties/{type}`` (custom properties included)."""
        payload = self.call_api("GET", PROPERTIES_PATH.format(object_type=self.object_type))
        definitions = select_properties(
            payload.get("results") or [],
            (self.config.get("properties_include") or {}).get(self.object_type),
            (self.config.get("properties_exclude") or {}).get(self.object_type),
        )
        return object_schema(definitions, self.association_types)

    @cached_property
    def requested_properties(self) -> list[str]:
        """Every property name the records carry."""
        return property_names(self.effective_schema)

    @cached_property
    def schema_properties(self) -> frozenset[str]:
        """The property names the schema (and so every record) may carry."""
        return frozenset(self.requested_properties)

    @cached_property
    def url_properties(self) -> list[str]:
        """The properties that fit in a list URL; the rest come from batch/read (avoids 414)."""
        budget = MAX_URL_CHARS - len(self.url_base + self.path) - URL_OVERHEAD_CHARS
        budget -= len("&associations=" + ",".join(self.association_types) + "&properties=")
        chosen: list[str] = []
        for name in self.requested_properties:
            budget -= len(quote(name, safe="")) + 1
            if budget < 0:
                break
            chosen.append(name)
        return chosen

    # State --------------------------------------------------------------------------------------

    @property
    def bookmark_ms(self) -> int | None:
        """The stream's bookmark from the input state, in epoch ms (None: full sync)."""
        bookmark = (self.tap_state.get("bookmarks") or {}).get(self.name) or {}
        value = bookmark.get("replication_key_value")
        return to_epoch_ms(str(value)) if value else None

    @property
    @override
    def is_sorted(self) -> bool:
        return self.bookmark_ms is not None  # search pages come out in modified order

    @property
    @override
    def check_sorted(self) -> bool:
        # Incremental: the bookmark follows the last emitted search record; the archived sweep that
        # follows is unordered and the run ends by moving the bookmark to the sync's start.
        return not self.is_sorted

    # Reading ------------------------------------------------------------------------------------

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        bookmark = self.bookmark_ms
        high = self._initialized_at  # bookmark never later than the sync start
        if bookmark is None:
            keep = self.full_sync_keep()
            if keep is not False:
                yield from self._read_parallel(keep)
            else:
                changed = self._start_filter()
                yield from self._read("live", Phase(archived=False), changed)
                yield from self._read("archived", Phase(archived=True), changed)
        else:
            # Every incremental stream's independent requests (first search page, archived sweep) start
            # now, concurrently inside the budget; this stream then emits its own in order.
            self.portal.pipeline.prefetch_incremental()
            sweep = self.start_incremental_prefetch()
            try:
                low = self._incremental_low()
                yield from self._read(
                    "changed", Phase(search_from=SearchCursor(low_ms=low, high_ms=high)), None
                )
                # Archived during this run (after ``high``): left for the next run, whose window covers it.
                progress = Progress(self.logger, f"{self.name} (archived)")
                for batch in sweep.batches():
                    progress.add(len(batch))
                    yield from batch
                progress.log()
            except BaseException:
                sweep.cancel()
                raise
        # Everything modified up to the sync's start has been read: the next run starts there.
        self._increment_stream_state({self.replication_key: to_iso(high)}, context=context)

    def _start_filter(self) -> Callable[[Record], bool] | None:
        start = self.config.get("start_date")
        return _since(to_epoch_ms(start) if start else None, "updatedAt")

    def _incremental_low(self) -> int:
        bookmark = self.bookmark_ms or 0
        return max(bookmark - int(self.config.get("lookback_minutes", 5)) * 60_000, 0)

    def full_sync_keep(self) -> Callable[[Record], bool] | Literal[False] | None:
        """The record filter of this stream's parallel full sync, or False if it is not one."""
        if self.bookmark_ms is not None or self.portal.max_concurrency <= 1:
            return False
        return self._start_filter()

    def prepare_parallel(self) -> None:
        """Compute what worker threads share, once, before they start."""
        _ = self.schema_properties, self.url_properties

    # Incremental prefetch -----------------------------------------------------------------------

    def start_incremental_prefetch(self) -> BackgroundReader:
        """Start (once) the archived sweep and the first search page of this incremental run."""
        with self._prefetch_lock:
            if self._sweep is not None:
                return self._sweep
            self.prepare_parallel()
            low, high = self._incremental_low(), self._initialized_at
            keep = _between(low, high, "archivedAt")

            def sweep(put: Callable[[list[Record]], None]) -> None:
                after: str | None = None
                first = True
                while first or after is not None:
                    first = False
                    results, after = self.list_page(archived=True, after=after)
                    put([r for r in self.finish_list_page(results, archived=True) if keep(r)])

            self._sweep = BackgroundReader(f"{self.name}-archived", sweep).start()
            cursor = SearchCursor(low_ms=low, high_ms=high)
            prepared = self._prepare_request(
                context=None, page=SearchPaginator(cursor, self.modified_property)
            )
            future: Future[requests.Response] = Future()
            self._prefetched[_request_key(prepared)] = future

            def first_search_page() -> None:
                try:
                    future.set_result(self.request_decorator(self._send)(prepared, None))
                except BaseException as exc:  # noqa: BLE001 - re-raised by the stream's thread
                    future.set_exception(exc)

            threading.Thread(target=first_search_page, name=f"{self.name}-search", daemon=True).start()
            return self._sweep

    @override
    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        future = self._prefetched.pop(_request_key(prepared_request), None) if self._prefetched else None
        if future is not None:  # sent (and retried up to max_retries) by the prefetch thread already
            try:
                return future.result()
            except FatalAPIError:
                raise
            except Exception as exc:  # retries are spent: do not start them over
                raise FatalAPIError(str(exc)) from exc
        return self._send(prepared_request, context)

    def _send(self, prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
        return super()._request(prepared_request, context)

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str:
        # Caps the full-sync bookmark at the instant the reads are bounded by, in HubSpot's format.
        return to_iso(self._initialized_at)

    def _read(self, label: str, phase: Phase, keep: Callable[[Record], bool] | None) -> Iterator[Record]:
        self._phase = phase
        self._progress = Progress(self.logger, f"{self.name} ({label})")
        for record in self.request_records(None):
            if keep is None or keep(record):
                yield record
        self._progress.log()

    def _read_parallel(self, keep: Callable[[Record], bool] | None) -> Iterator[Record]:
        """Full sync by concurrent workers inside the shared budget (see :mod:`tap_hubspot_raw.parallel`)."""
        pipeline = self.portal.pipeline
        self.prepare_parallel()
        sync = pipeline.full_sync(self, keep)  # already fetching if the previous stream started it
        progress = {
            False: Progress(self.logger, f"{self.name} (live)"),
            True: Progress(self.logger, f"{self.name} (archived)"),
        }
        try:
            for archived, records in sync.batches():
                progress[archived].add(len(records))
                yield from records
        except BaseException:
            pipeline.cancel()
            raise
        for item in progress.values():
            item.log()

    # Requests of the parallel full sync (called from worker threads: no shared mutable state) ------

    def list_page(self, *, archived: bool, after: str | None) -> tuple[list[Record], str | None]:
        """One list page from cursor ``after``: raw results and the next cursor (None: last page)."""
        params = {
            "limit": LIST_PAGE_SIZE,
            "archived": str(archived).lower(),
            "properties": ",".join(self.url_properties) or None,
            "associations": ",".join(self.association_types) or None,
            "after": after,
        }
        query = urlencode({k: v for k, v in params.items() if v is not None}, safe=",")
        payload = self.call_api("GET", f"{self.path}?{query}")
        following = ((payload.get("paging") or {}).get("next") or {}).get("after")
        return list(payload.get("results") or []), str(following) if following else None

    def finish_list_page(self, results: list[Record], *, archived: bool) -> list[Record]:
        """List results with the properties that did not fit the URL and complete associations, shaped."""
        self._merge_unlisted_properties(results, archived=archived)
        associations = self._complete_associations(results)
        return [self._shape(record, associations, archived=archived) for record in results]

    def search_top(self) -> tuple[int, int]:
        """One past the highest live id search knows, and the number of live objects."""
        body = {
            "filterGroups": [],
            "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
            "properties": ["hs_object_id"],
            "limit": 1,
        }
        payload = self._post(SEARCH_PATH.format(object_type=self.object_type), body)
        results = payload.get("results") or []
        top = int(results[0]["id"]) + 1 if results else 0
        return top, int(payload.get("total") or 0)

    def search_id_range(self, low: int, high: int, after_id: int | None) -> tuple[list[Record], bool]:
        """One search page of live objects with ``low <= id < high`` (and ``id > after_id``), by id."""
        start = (
            {"propertyName": "hs_object_id", "operator": "GTE", "value": str(low)}
            if after_id is None
            else {"propertyName": "hs_object_id", "operator": "GT", "value": str(after_id)}
        )
        body = {
            "filterGroups": [
                {"filters": [start, {"propertyName": "hs_object_id", "operator": "LT", "value": str(high)}]}
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": self.requested_properties,
            "limit": SEARCH_PAGE_SIZE,
        }
        payload = self._post(SEARCH_PATH.format(object_type=self.object_type), body)
        more = bool((payload.get("paging") or {}).get("next"))
        return list(payload.get("results") or []), more

    def finish_search_page(self, results: list[Record]) -> list[Record]:
        """Search results (live, no associations) with their associations read through v4, shaped."""
        associations = self._read_associations([str(r["id"]) for r in results])
        return [self._shape(record, associations, archived=False) for record in results]

    @override
    def get_new_paginator(self) -> BaseAPIPaginator:
        cursor = self._phase.search_from
        self._paginator = SearchPaginator(cursor, self.modified_property) if cursor else ListPaginator()
        return self._paginator

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        token = page.next_page_token
        if isinstance(token, SearchCursor):
            return HTTPRequest(
                url=self.url_base + SEARCH_PATH.format(object_type=self.object_type),
                method="POST",
                headers=self.http_headers,
                data=token.body(self.modified_property, self.requested_properties),
            )
        params = {
            "limit": LIST_PAGE_SIZE,
            "archived": str(self._phase.archived).lower(),
            "properties": ",".join(self.url_properties) or None,
            "associations": ",".join(self.association_types) or None,
            "after": token,
        }
        return HTTPRequest(
            url=self.url_base + self.path, headers=self.http_headers, params=params, safe_query_chars=","
        )

    @override
    def parse_response(self, response: requests.Response) -> Iterable[Record]:
        payload = response.json()
        results: list[Record] = payload.get("results") or []
        if isinstance(self._paginator, SearchPaginator):
            self._write_state_message()  # everything emitted so far is covered; resume from here
            results = [r for r in results if self._paginator.accept(r)]
            associations = self._read_associations([str(r["id"]) for r in results])
        else:
            self._merge_unlisted_properties(results, archived=self._phase.archived)
            associations = self._complete_associations(results)
        self._progress.add(len(results), payload.get("total"))
        for record in results:
            yield self._shape(record, associations, archived=self._phase.archived)

    # Enrichment ---------------------------------------------------------------------------------

    def _post(self, path: str, body: Any) -> dict[str, Any]:
        return self.call_api("POST", path, body=body)

    def _read_associations(self, ids: list[str]) -> Associations:
        found: Associations = {object_id: {} for object_id in ids}
        for to_type in self.association_types if ids else ():
            by_id = read_associations(self._post, self.object_type, to_type, ids)
            for object_id in ids:
                found[object_id][to_type] = by_id.get(object_id, [])
        return found

    def _complete_associations(self, results: list[Record]) -> Associations:
        found: Associations = {str(r["id"]): {} for r in results}
        for to_type in self.association_types:
            truncated: list[str] = []
            for record in results:
                ids, cut = embedded_associations(record, to_type)
                found[str(record["id"])][to_type] = ids
                if cut:
                    truncated.append(str(record["id"]))
            if truncated:  # HubSpot embedded only a first page: read them all
                by_id = read_associations(self._post, self.object_type, to_type, truncated)
                for object_id in truncated:
                    found[object_id][to_type] = by_id.get(object_id, [])
        return found

    def _merge_unlisted_properties(self, results: list[Record], *, archived: bool) -> None:
        """Fetch properties that did not fit in the list URL through POST batch/read, merge by id."""
        rest = self.requested_properties[len(self.url_properties) :]
        if not rest or not results:
            return
        path = BATCH_READ_PATH.format(object_type=self.object_type)
        fetched: dict[str, dict[str, Any]] = {}
        for chunk in chunked([str(r["id"]) for r in results], BATCH_READ_SIZE):
            payload = self.call_api(
                "POST",
                path,
                params={"archived": str(archived).lower()},
                body={"inputs": [{"id": object_id} for object_id in chunk], "properties": rest},
            )
            fetched.update({str(r["id"]): r.get("properties") or {} for r in payload.get("results") or []})
        for record in results:
            values = fetched.get(str(record["id"]), {})
            record.setdefault("properties", {}).update({name: values.get(name) for name in rest})

    def _shape(self, record: Record, associations: Associations, *, archived: bool) -> Record:
        object_id = str(record["id"])
        known = self.schema_properties
        properties = record.get("properties") or {}
        return {
            "id": object_id,
            "properties": {k: v for k, v in properties.items() if k in known},
            "createdAt": record.get("createdAt"),
            "updatedAt": record.get("updatedAt"),
            "archived": bool(record.get("archived", archived)),
            "archivedAt": record.get("archivedAt"),
            "associations": associations.get(object_id, {}),
        }


def _request_key(prepared: requests.PreparedRequest) -> tuple[str, str, bytes]:
    body = prepared.body
    return (
        str(prepared.method),
        str(prepared.url),
        body.encode() if isinstance(body, str) else bytes(body or b""),
    )


def _since(epoch_ms: int | None, field: str) -> Callable[[Record], bool] | None:
    """A filter keeping records whose ``field`` is at or after ``epoch_ms`` (None: keep all)."""
    if epoch_ms is None:
        return None
    return lambda record: bool(record.get(field)) and to_epoch_ms(record[field]) >= epoch_ms


def _between(low_ms: int, high_ms: int, field: str) -> Callable[[Record], bool]:
    """A filter keeping records whose ``field`` lies in ``[low_ms, high_ms]``."""
    return lambda record: bool(record.get(field)) and low_ms <= to_epoch_ms(record[field]) <= high_ms
