"""`GET /crm/v3/objects/{type}` (list) and `GET /crm/v3/objects/{type}/{id}` [hubspot-api.md §2]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiDict
from yarl import URL

from ..paging import list_after, list_next
from ..responses import ApiError, is_true, multi, object_type, parse_limit
from ..schema import OBJECT_TYPES, resolve_type
from .shaping import embedded_associations, property_history

if TYPE_CHECKING:
    from ..server import Simulator


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    routes = ObjectRoutes(sim)
    router.add_get("/crm/v3/objects/{type}", routes.list)
    router.add_get("/crm/v3/objects/{type}/{id}", routes.get)


class ObjectRoutes:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.portal = sim.portal

    def _embed(self, t: str, obj_id: int, to_types: list[str]) -> dict[str, Any]:
        cap = self.sim.config.embedded_associations_limit
        return embedded_associations(self.portal, self.sim.base_url, t, obj_id, to_types, cap=cap)

    async def list(self, request: web.Request) -> web.Response:
        t = object_type(request.match_info["type"])
        q = request.rel_url.query
        history = multi(q, "propertiesWithHistory")
        # with history the page limit is 50 [hubspot-api.md §2.1]
        limit = parse_limit(q.get("limit"), 10, 50 if history else 100, self.sim.config.over_limit)
        cfg = self.sim.config
        after = list_after(q.get("after"), cfg.list_cursor, cfg.seed)
        props = multi(q, "properties")
        if props is None:
            props = list(OBJECT_TYPES[t].defaults)
        assoc = [a for a in (resolve_type(x) for x in multi(q, "associations") or []) if a]
        ids, nxt = self.portal.list_page(t, after, limit, is_true(q, "archived"))
        results = []
        with self.portal.lock:
            for i in ids:
                obj = self.portal.render(t, i, props)
                if history:
                    obj["propertiesWithHistory"] = property_history(self.portal, t, i, history)
                if assoc:
                    embedded = self._embed(t, i, assoc)
                    if embedded:
                        obj["associations"] = embedded
                results.append(obj)
        body: dict[str, Any] = {"results": results}
        if nxt is not None:  # `link` replays the whole query [hubspot-api.md §2.2]
            cursor = list_next(nxt, cfg.list_cursor, cfg.seed)
            query = MultiDict(q)
            query.popall("after", None)
            query["after"] = cursor
            link = str(URL(self.sim.base_url + request.path).with_query(query))
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return self.sim.json_response(body)

    async def get(self, request: web.Request) -> web.Response:
        t = object_type(request.match_info["type"])
        raw_id = request.match_info["id"]
        q = request.rel_url.query
        if not raw_id.isdigit():
            raise ApiError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
        # a merged-away id answers with the record its merge created, under that id [§13 "Merges"]
        oid = self.portal.resolve_id(t, raw_id)
        if oid is None or self.portal.is_archived(t, oid) != is_true(q, "archived"):
            raise ApiError(404, "resource not found", None)
        props = multi(q, "properties") or list(OBJECT_TYPES[t].defaults)
        history = multi(q, "propertiesWithHistory")
        with self.portal.lock:
            obj = self.portal.render(t, oid, props)
            if history:
                obj["propertiesWithHistory"] = property_history(self.portal, t, oid, history)
            assoc = [a for a in (resolve_type(x) for x in multi(q, "associations") or []) if a]
            if assoc:
                embedded = self._embed(t, oid, assoc)
                if embedded:
                    obj["associations"] = embedded
        return self.sim.json_response(obj)
