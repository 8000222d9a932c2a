"""What names ids: `GET /crm/v3/owners` (paged, `archived`, `email`), `GET /crm/v3/pipelines/{objectType}`
(deals, tickets) and `GET /calling/v1/dispositions`. Data and shapes: labels.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from ..labels import DISPOSITIONS, OWNERS, PIPELINES
from ..paging import decode_cursor, encode_cursor
from ..responses import ApiError, is_true, json_response, object_type, parse_limit

if TYPE_CHECKING:
    from ..server import Simulator

OWNERS_PAGE_MAX = 500  # "v3: Returns 500 records at a time" [CL "Final Reminder: Sunset of v2 Owners API"]


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    routes = LabelRoutes(sim)
    router.add_get("/crm/v3/owners", routes.owners)
    router.add_get("/crm/v3/owners/", routes.owners)
    router.add_get("/crm/v3/pipelines/{type}", routes.pipelines)
    router.add_get("/calling/v1/dispositions", routes.dispositions)


class LabelRoutes:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def owners(self, request: web.Request) -> web.Response:
        """Active owners, or with archived=true only the archived ones, like the object lists [SPEC]."""
        q = request.rel_url.query
        limit = parse_limit(q.get("limit"), 100, OWNERS_PAGE_MAX, self.sim.config.over_limit)
        archived = is_true(q, "archived")
        listed = [o for o in OWNERS if o.archived == archived]
        if q.get("email"):
            listed = [o for o in listed if o.email.lower() == q["email"].lower()]
        start = 0
        if q.get("after"):
            try:
                start = decode_cursor(q["after"])
            except ValueError as exc:
                raise ApiError(400, f"Invalid after: {q['after']!r}.") from exc
        body: dict[str, Any] = {"results": [o.to_json() for o in listed[start : start + limit]]}
        if start + limit < len(listed):
            after = encode_cursor(start + limit)
            link = URL(self.sim.base_url + request.path).with_query({**q, "after": after})
            body["paging"] = {"next": {"after": after, "link": str(link)}}
        return json_response(body)

    async def pipelines(self, request: web.Request) -> web.Response:
        """Every pipeline of the type with its stages; no paging [SPEC CollectionResponsePipelineNoPaging]."""
        t = object_type(request.match_info["type"])
        if t not in PIPELINES:  # types without pipelines: UNCERTAIN what HubSpot answers; a 400 here
            raise ApiError(400, f"Pipelines are not supported for object type {t}.")
        return json_response({"results": [p.to_json(i) for i, p in enumerate(PIPELINES[t])]})

    async def dispositions(self, request: web.Request) -> web.Response:
        """A bare JSON array of {id, label} [doc legacy "Get call engagement dispositions"]."""
        return json_response([{"id": guid, "label": label} for guid, label in DISPOSITIONS.items()])
