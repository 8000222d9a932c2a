"""HTTP building blocks shared by the routes and the middleware: HubSpot's JSON and error shapes and request
parsing."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from multidict import MultiDict

from . import generate as g
from .portal import now_ms
from .schema import resolve_type

JSON_CT = "application/json;charset=utf-8"
PORTAL_ID = 8675309
CORR = web.RequestKey("corr", str)
TOKEN = web.RequestKey("token", str)


class ApiError(Exception):
    """Raised by a route; the middleware answers it in HubSpot's error shape [hubspot-api.md §9]."""

    def __init__(
        self, status: int, message: str, category: str | None = "VALIDATION_ERROR", **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra


def json_response(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": JSON_CT})


def error_response(
    request: web.Request, status: int, message: str, category: str | None = None, **extra: Any
) -> web.Response:
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": request[CORR]}
    if category:
        body["category"] = category
    body.update(extra)
    return json_response(body, status)


def iso_now() -> str:
    return g.fmt_dt(now_ms() | 1)


def object_type(name: str) -> str:
    t = resolve_type(name)
    if t is None:
        raise ApiError(400, f"Unable to infer object type from: {name}")
    return t


def parse_limit(raw: Any, default: int, maximum: int, over_limit: str) -> int:
    """`limit` as HubSpot checks it; above `maximum` either 400 or clamp (`over_limit`, UNCERTAIN §2.1)."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid limit: {raw!r}. limit must be an integer.") from exc
    if value < 1:
        raise ApiError(400, f"limit must be at least 1, got {value}.")
    if value > maximum:
        if over_limit == "clamp":
            return maximum
        raise ApiError(400, f"limit must be less than or equal to {maximum}, got {value}.")
    return value


def multi(query: MultiDict[str] | Any, name: str) -> list[str] | None:
    """A list parameter sent comma-separated, repeated, or both [hubspot-api.md §2.1]."""
    values = query.getall(name, [])
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def is_true(query: MultiDict[str] | Any, name: str) -> bool:
    return str(query.get(name, "false")).lower() == "true"


async def json_body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    try:
        body = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}", None
        ) from exc
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid input JSON: expected an object", None)
    return body
