"""`POST /crm/v3/objects/{type}/search`: body validation, paging by offset, the 10,000-result cap
[hubspot-api.md §3]."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..filters import SearchError
from ..responses import ApiError, json_body, object_type, parse_limit
from ..schema import OBJECT_TYPES
from ..search import FilterGroups, Sort

if TYPE_CHECKING:
    from ..config import SimulatorConfig
    from ..server import Simulator


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    router.add_post("/crm/v3/objects/{type}/search", SearchRoute(sim).search)


def _after(body: dict[str, Any], cfg: SimulatorConfig) -> int:
    after_raw = body.get("after", 0)
    try:
        after = int(str(after_raw)) if after_raw not in (None, "") else 0
    except ValueError as exc:
        raise ApiError(400, f"after must be formatted as an integer, got {after_raw!r}.") from exc
    if after < 0:
        raise ApiError(400, "after must be a non-negative integer.")
    if after >= cfg.search_max_results:
        raise ApiError(
            400,
            f"Paging is limited to {cfg.search_max_results} results. There was a problem with the request.",
        )
    return after


def _filter_groups(body: dict[str, Any], cfg: SimulatorConfig) -> FilterGroups:
    groups_raw = body.get("filterGroups") or []
    if not isinstance(groups_raw, list):
        raise ApiError(400, "filterGroups must be a list.")
    groups: FilterGroups = []
    for grp in groups_raw:
        filters = grp.get("filters", []) if isinstance(grp, dict) else None
        if not isinstance(filters, list):
            raise ApiError(400, "Each filter group needs a 'filters' list.")
        groups.append(filters)
    if body.get("filters"):
        if not isinstance(body["filters"], list):
            raise ApiError(400, "filters must be a list.")
        groups.append(body["filters"])
    groups = [grp for grp in groups if grp]
    total_filters = sum(len(grp) for grp in groups)
    if (
        len(groups) > cfg.max_filter_groups
        or total_filters > cfg.max_filters_total
        or any(len(grp) > cfg.max_filters_per_group for grp in groups)
    ):
        raise ApiError(
            400,
            f"Too many filters. Up to {cfg.max_filter_groups} filterGroups with up to "
            f"{cfg.max_filters_per_group} filters each ({cfg.max_filters_total} in total).",
        )
    return groups


def _sort(body: dict[str, Any]) -> Sort | None:
    sorts = body.get("sorts") or []
    if not sorts:
        return None
    first = sorts[0]
    if isinstance(first, str):  # sorts may come as JSON strings or "-name" shorthand
        try:
            first = json.loads(first)
        except json.JSONDecodeError:
            first = {
                "propertyName": first.lstrip("-"),
                "direction": "DESCENDING" if first.startswith("-") else "ASCENDING",
            }
    if not isinstance(first, dict) or "propertyName" not in first:
        raise ApiError(400, "Each sort needs a propertyName.")
    direction = str(first.get("direction", "ASCENDING")).upper()
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ApiError(400, f"Invalid sort direction {direction!r}.")
    return str(first["propertyName"]), direction == "DESCENDING"


class SearchRoute:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.portal = sim.portal

    async def search(self, request: web.Request) -> web.Response:
        t = object_type(request.match_info["type"])
        cfg = self.sim.config
        body = await json_body(request)
        limit = parse_limit(body.get("limit"), 10, 200, cfg.over_limit)
        after = _after(body, cfg)
        groups = _filter_groups(body, cfg)
        sort = _sort(body)
        query = body.get("query")
        if query is not None and len(str(query)) > 3000:
            raise ApiError(400, "query is limited to 3000 characters.")
        props = body.get("properties")
        if isinstance(props, str):
            props = [p.strip() for p in props.split(",") if p.strip()]
        if not props:
            props = list(OBJECT_TYPES[t].defaults)
        try:
            ids = self.portal.search(t, groups, sort, str(query) if query else None)
        except SearchError as exc:
            raise ApiError(400, str(exc)) from exc
        total = len(ids)
        end = min(after + limit, cfg.search_max_results, total)
        with self.portal.lock:
            results = [self.portal.render(t, i, props, search=True) for i in ids[after:end]]
        out: dict[str, Any] = {"total": total, "results": results}
        if end < total:  # like HubSpot, even when the next cursor is past the cap (it then answers 400)
            out["paging"] = {"next": {"after": str(end)}}
        return self.sim.json_response(out)
