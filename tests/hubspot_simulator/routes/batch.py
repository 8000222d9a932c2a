"""`POST /crm/v3/objects/{type}/batch/read`: up to 100 ids; 207 with errors for ids it cannot return (never
existed, archived or deleted since), while a merged-away id is answered by its merge, under the new id
[hubspot-api.md §4.1, §13 "Partial batch answers"]. When every id is answered, merged ones included, the
status is 200: a client must notice that a result carries another id than the one it asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..responses import ApiError, is_true, iso_now, json_body, object_type
from ..schema import OBJECT_TYPES
from .shaping import property_history

if TYPE_CHECKING:
    from ..server import Simulator


HISTORY_INPUTS_MAX = 50  # with propertiesWithHistory [3p PipedreamHQ/pipedream#8462, HubSpot's message]


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    router.add_post("/crm/v3/objects/{type}/batch/read", BatchReadRoute(sim).read)


class BatchReadRoute:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.portal = sim.portal

    async def read(self, request: web.Request) -> web.Response:
        t = object_type(request.match_info["type"])
        started = iso_now()
        body = await json_body(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise ApiError(400, "inputs is required.")
        if len(inputs) > 100:
            raise ApiError(400, f"Batch input size limited to 100, but got {len(inputs)}.")
        archived = is_true(request.rel_url.query, "archived")
        props = body.get("properties") or list(OBJECT_TYPES[t].defaults)
        history = list(body.get("propertiesWithHistory") or [])
        if history and len(inputs) > HISTORY_INPUTS_MAX:
            raise ApiError(
                400,
                f"The maximum number of inputs supported in a batch request for property histories is "
                f"{HISTORY_INPUTS_MAX}. Please reduce the number of items and try again",
            )
        id_prop = body.get("idProperty")
        portal = self.portal
        results, missing, seen = [], [], set()
        with portal.lock:
            for item in inputs:
                raw = str(item.get("id", "")) if isinstance(item, dict) else ""
                oid = self._resolve_id(t, raw, id_prop)
                if oid is None or portal.is_archived(t, oid) != archived:
                    missing.append(raw)
                    continue
                if oid in seen:
                    continue
                seen.add(oid)
                obj = self.portal.render(t, oid, props)
                if history:
                    obj["propertiesWithHistory"] = property_history(self.portal, t, oid, history)
                results.append(obj)
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso_now(),
        }
        if not missing:
            return self.sim.json_response(out)
        out["numErrors"] = 1
        out["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {OBJECT_TYPES[t].upper} objects, they may be deleted "
                "or not exist. Check that ids are valid.",
                "context": {"ids": missing},
            }
        ]
        return self.sim.json_response(out, 207)

    def _resolve_id(self, t: str, raw: str, id_prop: Any) -> int | None:
        if id_prop and id_prop != "hs_object_id":
            found = self.portal.find_ids(t, str(id_prop), raw)
            return found[0] if found else None
        return self.portal.resolve_id(t, raw) if raw.isdigit() else None
