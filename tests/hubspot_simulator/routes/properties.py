"""`GET /crm/v3/properties/{type}` [hubspot-api.md §4.3]."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from ..responses import is_true, json_response, object_type

if TYPE_CHECKING:
    from ..server import Simulator


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    portal = sim.portal

    async def properties(request: web.Request) -> web.Response:
        t = object_type(request.match_info["type"])
        if is_true(request.rel_url.query, "archived"):
            return json_response({"results": []})
        return json_response({"results": portal.property_definitions(t)})

    router.add_get("/crm/v3/properties/{type}", properties)
