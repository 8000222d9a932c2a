"""v4 associations: `POST /crm/v4/associations/{from}/{to}/batch/read` (<=1000 inputs, per-from paging) and
`GET /crm/v4/objects/{type}/{id}/associations/{to}` [hubspot-api.md §4.2]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from ..paging import decode_cursor, encode_cursor
from ..responses import ApiError, iso_now, json_body, json_response, object_type, parse_limit
from ..schema import OBJECT_TYPES, association_type

if TYPE_CHECKING:
    from ..server import Simulator


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    routes = AssociationRoutes(sim)
    router.add_post("/crm/v4/associations/{from}/{to}/batch/read", routes.batch_read)
    router.add_get("/crm/v4/objects/{type}/{id}/associations/{to}", routes.get)


def _start(ids: list[int], cursor: str | None, message: str) -> int:
    """Position of the first id at or above the one a paging cursor names."""
    if not cursor:
        return 0
    try:
        threshold = decode_cursor(cursor)
    except ValueError as exc:
        raise ApiError(400, message) from exc
    start = 0
    while start < len(ids) and ids[start] < threshold:
        start += 1
    return start


def _targets(ids: list[int], type_id: int) -> list[dict[str, Any]]:
    return [
        {
            "toObjectId": i,  # a JSON number, as in HubSpot's example (the spec says string) [§4.2]
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
        }
        for i in ids
    ]


class AssociationRoutes:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.portal = sim.portal

    async def batch_read(self, request: web.Request) -> web.Response:
        a = object_type(request.match_info["from"])
        b = object_type(request.match_info["to"])
        started = iso_now()
        body = await json_body(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise ApiError(400, "inputs is required.")
        if len(inputs) > 1000:  # [CL-ASSOC1000]
            raise ApiError(400, f"Batch input size limited to 1000, but got {len(inputs)}.")
        page = max(self.sim.config.association_page_size, 1)
        type_id = association_type(a, b)[1]
        results, errors = [], []
        for item in inputs:
            raw = str(item.get("id", "")) if isinstance(item, dict) else ""
            if not raw.isdigit():
                errors.append(raw)
                continue
            ids = self.portal.associated_ids(a, int(raw), b)
            cursor = str(item["after"]) if isinstance(item, dict) and item.get("after") else None
            start = _start(ids, cursor, f"Invalid after cursor {cursor!r}.")
            chunk = ids[start : start + page]
            if not chunk:
                errors.append(raw)
                continue
            entry: dict[str, Any] = {"from": {"id": raw}, "to": _targets(chunk, type_id)}
            if start + page < len(ids):
                after = encode_cursor(ids[start + page])
                link = f"{self.sim.base_url}/crm/v4/objects/{a}/{raw}/associations/{b}?after={after}"
                entry["paging"] = {"next": {"after": after, "link": link}}
            results.append(entry)
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso_now(),
        }
        if not (errors and self.sim.config.association_missing_errors):
            return json_response(out)
        out["numErrors"] = len(errors)
        out["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "context": {"fromObjectId": [e]},
                "message": f"No {b} are associated with {OBJECT_TYPES[a].singular} {e}.",
            }
            for e in errors
        ]
        return json_response(out, 207)

    async def get(self, request: web.Request) -> web.Response:
        a = object_type(request.match_info["type"])
        b = object_type(request.match_info["to"])
        raw = request.match_info["id"]
        if not raw.isdigit() or self.portal.resolve_id(a, raw) is None:
            raise ApiError(404, "resource not found", None)
        # a merged-away id has no associations left (they moved to the new record): an empty answer
        q = request.rel_url.query
        limit = parse_limit(q.get("limit"), 500, 500, self.sim.config.over_limit)
        ids = self.portal.associated_ids(a, int(raw), b)
        start = _start(ids, q.get("after"), "Invalid after cursor.")
        out: dict[str, Any] = {"results": _targets(ids[start : start + limit], association_type(a, b)[1])}
        if start + limit < len(ids):
            after = encode_cursor(ids[start + limit])
            link = URL(self.sim.base_url + request.path).with_query({"limit": str(limit), "after": after})
            out["paging"] = {"next": {"after": after, "link": str(link)}}
        return json_response(out)
