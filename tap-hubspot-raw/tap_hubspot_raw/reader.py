"""Every HubSpot call for one CRM object type, and the shape records leave the tap in.

An :class:`ObjectReader` knows the object type's endpoints, which properties and associations a record
carries, and how to turn HubSpot's answers into the design's record shape (``id``, ``properties``,
``createdAt``, ``updatedAt``, ``archived``, ``archivedAt``, ``associations``). It holds no mutable state, so
the workers of a sync plan may share one. Sync plans (:mod:`tap_hubspot_raw.plans`) decide which calls to
make and when.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from tap_hubspot_raw.api import (
    BATCH_READ_PATH,
    BATCH_READ_SIZE,
    LIST_PAGE_SIZE,
    MAX_URL_CHARS,
    OBJECTS_PATH,
    SEARCH_PAGE_SIZE,
    SEARCH_PATH,
    modified_property,
)
from tap_hubspot_raw.associations import chunked, embedded_associations, read_associations
from tap_hubspot_raw.pagination import SearchCursor

Record = dict[str, Any]
Associations = dict[str, dict[str, list[str]]]  # object id -> to_type -> ids
# call(method, path, params, body) -> HubSpot's JSON answer, under the one error and retry policy.
CallApi = Callable[[str, str, dict[str, Any] | None, Any], dict[str, Any]]
URL_OVERHEAD_CHARS = 300  # limit, archived, after cursor and separators
ID_PROPERTY = "hs_object_id"
ASCENDING, DESCENDING = "ASCENDING", "DESCENDING"


@dataclass(frozen=True)
class ListPage:
    """One page of the list endpoint: raw results and the cursor of the next page (None: last page)."""

    results: list[Record]
    after: str | None

    @property
    def ids(self) -> list[int]:
        """The page's object ids, in HubSpot's order."""
        return [int(r["id"]) for r in self.results]


@dataclass(frozen=True)
class SearchPage:
    """One search page: raw results, HubSpot's count of all matches, and whether more follow."""

    results: list[Record]
    total: int
    more: bool

    @property
    def ids(self) -> list[int]:
        """The page's object ids, in the order of the search's sort."""
        return [int(r["id"]) for r in self.results]


class Reader(Protocol):
    """What sync plans read through (an :class:`ObjectReader`, or a fake in the plans' tests)."""

    object_type: str
    modified_property: str

    def list_page(self, *, archived: bool, after: str | None) -> ListPage:
        """One list page from cursor ``after``."""

    def finish_list(self, results: list[Record], *, archived: bool) -> list[Record]:
        """List results completed and shaped."""

    def search_ids(
        self, low: int, high: int, *, descending: bool = False, offset: int = 0, limit: int = ...
    ) -> SearchPage:
        """Live objects with ``low <= id < high``, sorted by id."""

    def search_modified(self, cursor: SearchCursor) -> SearchPage:
        """One page of objects modified inside the cursor's window."""

    def count(self, modified_since_ms: int | None = None) -> int:
        """HubSpot's count of live objects (modified since ``modified_since_ms``, when given)."""

    def finish_search(self, results: list[Record]) -> list[Record]:
        """Search results with associations, shaped."""


class ObjectReader:
    """Reads one object type: list, search and batch-read pages, associations, record shaping."""

    def __init__(
        self,
        call: CallApi,
        *,
        object_type: str,
        associations: Sequence[str],
        properties: Sequence[str],
        url_base: str,
        logger: logging.Logger,
    ) -> None:
        """Read ``object_type`` with these ``properties`` and association types through ``call``."""
        self.call = call
        self.logger = logger
        self.object_type = object_type
        self.association_types = tuple(associations)
        self.properties = list(properties)
        self.known_properties = frozenset(self.properties)
        self.modified_property = modified_property(object_type)
        self.path = OBJECTS_PATH.format(object_type=object_type)
        self.search_path = SEARCH_PATH.format(object_type=object_type)
        self.url_properties = self._fit_in_url(len(url_base + self.path))
        self.unlisted_properties = self.properties[len(self.url_properties) :]

    def _fit_in_url(self, prefix_chars: int) -> list[str]:
        """The properties that fit in a list URL; the rest come from batch/read (HubSpot answers 414)."""
        budget = MAX_URL_CHARS - prefix_chars - URL_OVERHEAD_CHARS
        budget -= len("&associations=" + ",".join(self.association_types) + "&properties=")
        chosen: list[str] = []
        for name in self.properties:
            budget -= len(quote(name, safe="")) + 1
            if budget < 0:
                break
            chosen.append(name)
        return chosen

    # List endpoint --------------------------------------------------------------------------------

    def list_page(self, *, archived: bool, after: str | None) -> ListPage:
        """One list page from cursor ``after`` (None: the first page)."""
        params = {
            "limit": LIST_PAGE_SIZE,
            "archived": str(archived).lower(),
            "properties": ",".join(self.url_properties) or None,
            "associations": ",".join(self.association_types) or None,
            "after": after,
        }
        query = urlencode({k: v for k, v in params.items() if v is not None}, safe=",")
        payload = self.call("GET", f"{self.path}?{query}", None, None)
        following = ((payload.get("paging") or {}).get("next") or {}).get("after")
        return ListPage(list(payload.get("results") or []), str(following) if following else None)

    def finish_list(self, results: list[Record], *, archived: bool) -> list[Record]:
        """List results with the properties that did not fit the URL and complete associations, shaped.

        An object the batch read no longer returns (merged or archived since it was listed: HubSpot answers
        207 for it, or answers a merged id with its merge) is left out rather than emitted without those
        properties: the next run (or the archived sweep, or its merge) brings it whole.
        """
        complete = self._merge_unlisted_properties(results, archived=archived)
        associations = self._complete_associations(complete)
        return [self.shape(record, associations, archived=archived) for record in complete]

    # Search endpoint ------------------------------------------------------------------------------

    def search_ids(
        self,
        low: int,
        high: int,
        *,
        descending: bool = False,
        offset: int = 0,
        limit: int = SEARCH_PAGE_SIZE,
    ) -> SearchPage:
        """Live objects with ``low <= id < high``, sorted by id, from the ``offset``-th (below 10,000)."""
        body: dict[str, Any] = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": ID_PROPERTY, "operator": "GTE", "value": str(low)},
                        {"propertyName": ID_PROPERTY, "operator": "LT", "value": str(high)},
                    ]
                }
            ],
            "sorts": [
                {"propertyName": ID_PROPERTY, "direction": "DESCENDING" if descending else "ASCENDING"}
            ],
            "properties": self.properties,
            "limit": limit,
        }
        if offset:
            body["after"] = str(offset)
        return self._search(body)

    def count(self, modified_since_ms: int | None = None) -> int:
        """HubSpot's count of live objects (modified at or after ``modified_since_ms``, when given)."""
        filters = (
            [{"propertyName": self.modified_property, "operator": "GTE", "value": str(modified_since_ms)}]
            if modified_since_ms is not None
            else []
        )
        body = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "properties": [ID_PROPERTY],
            "limit": 1,
        }
        return self._search(body).total

    def search_modified(self, cursor: SearchCursor) -> SearchPage:
        """One page of objects modified inside the cursor's window, in modified order (keyset, no offsets)."""
        return self._search(cursor.body(self.modified_property, self.properties))

    def _search(self, body: dict[str, Any]) -> SearchPage:
        payload = self.call("POST", self.search_path, None, body)
        return SearchPage(
            list(payload.get("results") or []),
            int(payload.get("total") or 0),
            bool((payload.get("paging") or {}).get("next")),
        )

    def finish_search(self, results: list[Record]) -> list[Record]:
        """Search results (live, no associations) with their associations read through v4, shaped."""
        associations = self.read_associations([str(r["id"]) for r in results])
        return [self.shape(record, associations, archived=False) for record in results]

    # Associations and batch reads -----------------------------------------------------------------

    def _post(self, path: str, body: Any) -> dict[str, Any]:
        return self.call("POST", path, None, body)

    def read_associations(self, ids: list[str]) -> Associations:
        """Every associated id of each of ``ids``, per association type (v4 batch read)."""
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

    def _merge_unlisted_properties(self, results: list[Record], *, archived: bool) -> list[Record]:
        """Fetch properties that did not fit in the list URL through POST batch/read and merge them by id;
        returns the records the batch read answered for."""
        rest = self.unlisted_properties
        if not rest or not results:
            return results
        path = BATCH_READ_PATH.format(object_type=self.object_type)
        fetched: dict[str, dict[str, Any]] = {}
        for chunk in chunked([str(r["id"]) for r in results], BATCH_READ_SIZE):
            payload = self.call(
                "POST",
                path,
                {"archived": str(archived).lower()},
                {"inputs": [{"id": object_id} for object_id in chunk], "properties": rest},
            )
            fetched.update({str(r["id"]): r.get("properties") or {} for r in payload.get("results") or []})
        complete = [r for r in results if str(r["id"]) in fetched]
        for record in complete:
            values = fetched[str(record["id"])]
            record.setdefault("properties", {}).update({name: values.get(name) for name in rest})
        if len(complete) < len(results):
            self.logger.warning(
                "%d %s listed moments ago could not be read in full (merged or archived since); left out "
                "of this run, the next one reads them as they are then.",
                len(results) - len(complete),
                self.object_type,
            )
        return complete

    # Record shape ---------------------------------------------------------------------------------

    def shape(self, record: Record, associations: Associations, *, archived: bool) -> Record:
        """The record as the tap emits it (design §3): HubSpot's values untouched, schema properties only."""
        object_id = str(record["id"])
        known = self.known_properties
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
