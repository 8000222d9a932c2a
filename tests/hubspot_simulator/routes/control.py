"""The control API under `/_simulator/` (no auth, never rate limited or faulted): configuration, stats, the
request log and changes to the portal's data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import generate as g
from ..config import RUNTIME_FIELDS
from ..responses import error_response, json_body, json_response
from ..schema import OBJECT_TYPES

if TYPE_CHECKING:
    from ..server import Simulator


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    c = ControlRoutes(sim)
    router.add_get("/_simulator/config", c.get_config)
    router.add_route("PATCH", "/_simulator/config", c.set_config)
    router.add_post("/_simulator/config", c.set_config)
    router.add_get("/_simulator/stats", c.stats)
    router.add_post("/_simulator/stats/reset", c.reset_stats)
    router.add_get("/_simulator/requests", c.requests)
    router.add_post("/_simulator/objects/{type}", c.create)
    router.add_post("/_simulator/objects/{type}/merge", c.merge)
    router.add_post("/_simulator/objects/{type}/purge", c.purge)
    router.add_get("/_simulator/objects/{type}/{id}", c.get)
    router.add_route("PATCH", "/_simulator/objects/{type}/{id}", c.update)
    router.add_delete("/_simulator/objects/{type}/{id}", c.delete)
    router.add_post("/_simulator/objects/{type}/{id}/archive", c.archive)
    router.add_get("/_simulator/truth/{type}", c.truth)
    router.add_post("/_simulator/index/flush", c.flush_index)
    router.add_put("/_simulator/associations/{from}/{from_id}/{to}/{to_id}", c.association)
    router.add_delete("/_simulator/associations/{from}/{from_id}/{to}/{to_id}", c.association)


def delay(body: dict[str, Any]) -> int | None:
    """An explicit indexing delay for this change (ms after its timestamp), None = drawn."""
    value = body.get("indexing_delay_ms")
    return None if value is None else int(value)


def timestamp(value: Any) -> int | None:
    """Epoch ms or an ISO string (None = now)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    parsed = g.parse_dt(str(value))
    if parsed is None:
        raise ValueError(f"bad timestamp {value!r}")
    return parsed


class ControlRoutes:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.portal = sim.portal

    async def get_config(self, request: web.Request) -> web.Response:
        out = self.sim.config.to_dict()
        out.update(
            {
                "url": self.sim.url,
                "anchor_ms": self.portal.anchor_ms,
                "counts": self.portal.counts(),
                "archived_counts": self.portal.counts(archived=True),
                "object_types": {n: t.type_id for n, t in OBJECT_TYPES.items()},
                "runtime_fields": sorted(RUNTIME_FIELDS),
            }
        )
        return json_response(out)

    async def set_config(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        self.sim.update_config(**body)
        if body.get("reset_rate_limits"):
            self.sim.reset_rate_limits()
        return await self.get_config(request)

    async def stats(self, request: web.Request) -> web.Response:
        return json_response(self.sim.stats())

    async def reset_stats(self, request: web.Request) -> web.Response:
        self.sim.reset_stats()
        self.sim.reset_rate_limits()
        return json_response(self.sim.stats())

    async def requests(self, request: web.Request) -> web.Response:
        return json_response({"requests": list(self.sim.request_log)})

    async def create(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        obj = self.portal.create_object(
            request.match_info["type"],
            body.get("properties") or {},
            timestamp(body.get("timestamp")),
            delay(body),
        )
        return json_response(obj, 201)

    async def get(self, request: web.Request) -> web.Response:
        obj = self.portal.get_object(request.match_info["type"], request.match_info["id"])
        if obj is None:
            return error_response(request, 404, "resource not found")
        return json_response(obj)

    async def update(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        obj = self.portal.update_object(
            request.match_info["type"],
            request.match_info["id"],
            body.get("properties") or {},
            timestamp(body.get("timestamp")),
            delay(body),
        )
        return json_response(obj)

    async def archive(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        t, obj_id = request.match_info["type"], request.match_info["id"]
        self.portal.archive_object(t, obj_id, timestamp(body.get("timestamp")), delay(body))
        return json_response(self.portal.get_object(t, obj_id))

    async def merge(self, request: web.Request) -> web.Response:
        """HubSpot's merge body: {"primaryObjectId", "objectIdToMerge"} [hubspot-api.md §10]."""
        body = await json_body(request)
        obj = self.portal.merge_objects(
            request.match_info["type"],
            str(body["primaryObjectId"]),
            str(body["objectIdToMerge"]),
            timestamp(body.get("timestamp")),
            delay(body),
        )
        return json_response(obj, 201)

    async def delete(self, request: web.Request) -> web.Response:
        """Hard delete (GDPR delete, or one record of the recycle-bin purge)."""
        body = await json_body(request)
        self.portal.delete_object(request.match_info["type"], request.match_info["id"], delay(body))
        return web.Response(status=204)

    async def purge(self, request: web.Request) -> web.Response:
        """Purge the recycle bin: hard-delete records archived before `archived_before` (default: all)."""
        body = await json_body(request)
        gone = self.portal.purge_archived(request.match_info["type"], timestamp(body.get("archived_before")))
        return json_response({"deleted": gone})

    async def truth(self, request: web.Request) -> web.Response:
        return json_response(self.portal.truth(request.match_info["type"]))

    async def flush_index(self, request: web.Request) -> web.Response:
        self.portal.flush_indexing()
        return json_response({"indexing_pending": 0})

    async def association(self, request: web.Request) -> web.Response:
        m = request.match_info
        if request.method == "PUT":
            self.portal.add_association(m["from"], m["from_id"], m["to"], m["to_id"])
        else:
            self.portal.remove_association(m["from"], m["from_id"], m["to"], m["to_id"])
        a, b = self.portal.type_name(m["from"]), self.portal.type_name(m["to"])
        ids = self.portal.associated_ids(a, int(m["from_id"]), b)
        return json_response({"from": m["from_id"], "to": [str(i) for i in ids]})
