"""The request pipeline in front of every HubSpot route: correlation id, stats, faults, 414, forced 429s,
authentication and rate limits, and HubSpot-shaped errors. The control API only gets the correlation id."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from .auth import Authenticator
from .config import SimulatorConfig
from .faults import FaultDraw, FaultInjector
from .limits import RateLimiter, too_many
from .responses import CORR, ApiError, error_response
from .stats import Stats

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HTML_414 = (
    "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n<center><h1>414 "
    "Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
)


def request_kind(path: str, method: str) -> str:  # noqa: PLR0911
    """The family a request is counted under in the stats."""
    if path.startswith("/oauth/"):
        return "oauth"
    if path.startswith("/crm/v3/properties/"):
        return "properties"
    if path.startswith("/crm/v3/owners"):
        return "owners"
    if path.startswith("/crm/v3/pipelines/"):
        return "pipelines"
    if path.startswith("/calling/"):
        return "dispositions"
    if path.startswith("/crm/v4/associations/") or "/associations/" in path:
        return "associations"
    if path.startswith("/crm/v3/objects/"):
        if method == "POST" and path.endswith("/search"):
            return "search"
        if method == "POST" and path.endswith("/batch/read"):
            return "batch_read"
        if path.count("/") == 4:
            return "list"
        return "object"
    return "other"


class ApiMiddleware:
    def __init__(
        self,
        config: SimulatorConfig,
        stats: Stats,
        auth: Authenticator,
        limiter: RateLimiter,
        faults: FaultInjector,
    ) -> None:
        self.config = config
        self.stats = stats
        self.auth = auth
        self.limiter = limiter
        self.faults = faults

    @web.middleware
    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        corr = str(uuid.uuid4())
        request[CORR] = corr
        path = request.path
        if path.startswith("/_simulator/"):
            try:
                resp = await handler(request)
            except (KeyError, ValueError) as exc:
                resp = error_response(request, 400, str(exc), "VALIDATION_ERROR")
            resp.headers["X-HubSpot-Correlation-Id"] = corr
            return resp
        kind = request_kind(path, request.method)
        target_len = len(request.raw_path.encode("utf-8", "surrogateescape"))
        self.stats.started(kind, target_len)
        status: int | str = "dropped"
        try:
            resp = await self._with_faults(request, handler, kind, target_len)
            status = resp.status
            return resp
        finally:
            self.stats.finished(request.method, path, kind, status, target_len)

    async def _with_faults(
        self, request: web.Request, handler: Handler, kind: str, target_len: int
    ) -> web.StreamResponse:
        draw = self.faults.draw()
        await self.faults.delay(draw)
        resp = await self._respond(request, handler, kind, target_len, draw)
        resp.headers["X-HubSpot-Correlation-Id"] = request[CORR]
        if self.faults.drops(draw, resp):
            assert isinstance(resp, web.Response)
            return await self.faults.drop(request, resp)
        return resp

    async def _respond(
        self, request: web.Request, handler: Handler, kind: str, target_len: int, draw: FaultDraw
    ) -> web.StreamResponse:
        cfg = self.config
        if target_len > cfg.max_request_target:  # HTML body, like HubSpot's proxy [hubspot-api.md §2.3]
            return web.Response(status=414, text=HTML_414, content_type="text/html")
        if cfg.force_429 > 0:
            cfg.force_429 -= 1
            self.stats.bump("rate_limited", "forced")
            return too_many(request, "search" if kind == "search" else "burst")
        failed = self.faults.error(request, draw)
        if failed is not None:
            return failed
        if kind != "oauth":
            denied = self.auth.authenticate(request)
            if denied is not None:
                return denied
        headers: dict[str, str] = {}
        if kind not in ("oauth", "other"):
            limited = self.limiter.admit(request, kind, headers)
            if limited is not None:
                return limited
        try:
            resp = await handler(request)
        except ApiError as exc:
            resp = error_response(request, exc.status, exc.message, exc.category, **exc.extra)
        except web.HTTPException as exc:
            if exc.status == 404:
                resp = error_response(request, 404, "resource not found")
            elif exc.status == 405:
                resp = error_response(request, 405, "HTTP 405 Method Not Allowed")
            else:
                raise
        resp.headers.update(headers)
        return resp
