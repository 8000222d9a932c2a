"""aiohttp application: HubSpot API endpoints, auth, rate limits, fault injection, control API."""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import random
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDict
from yarl import URL

from . import generate as g
from .config import RUNTIME_FIELDS, SimulatorConfig, coerce_runtime_value
from .portal import Portal, SearchError, now_ms
from .schema import OBJECT_TYPES, association_type, resolve_type

JSON_CT = "application/json;charset=utf-8"
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes "
    "here: https://developers.hubspot.com/scopes."
)
HTML_414 = (
    "<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n<center><h1>414 "
    "Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
)
HTML_5XX = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1>"
    "</center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
PORTAL_ID = 8675309
CORR = web.RequestKey("corr", str)
TOKEN = web.RequestKey("token", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _iso_now() -> str:
    return g.fmt_dt(now_ms() | 1)


def _enc_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"sim:{value}".encode()).decode().rstrip("=")


def _dec_cursor(value: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        return int(raw.split(":", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(value) from exc


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, category: str | None = "VALIDATION_ERROR", **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra


def _kind(path: str, method: str) -> str:  # noqa: PLR0911
    if path.startswith("/oauth/"):
        return "oauth"
    if path.startswith("/crm/v3/properties/"):
        return "properties"
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


class Simulator:
    """A running (or startable) simulator. Use `start_simulator()` for a background-thread instance."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.portal = Portal(self.config)
        self._fault_rng = random.Random(
            self.config.fault_seed if self.config.fault_seed is not None else self.config.seed * 7919 + 1
        )
        self._burst: collections.deque[float] = collections.deque()
        self._search: collections.deque[float] = collections.deque()
        self._associations: collections.deque[float] = collections.deque()
        self._daily_used = 0
        self._issued: dict[str, float] = {}  # OAuth access token -> expiry (epoch s)
        self._lock = threading.Lock()
        self.request_log: collections.deque[dict[str, Any]] = collections.deque(maxlen=20_000)
        self.reset_stats()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- public API ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.config.public_url or self.url

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._stats))

    def reset_stats(self) -> None:
        with self._lock:
            self._stats: dict[str, Any] = {
                "total": 0,
                "by_kind": {},
                "by_status": {},
                "rate_limited": {
                    "total": 0,
                    "burst": 0,
                    "search": 0,
                    "associations": 0,
                    "daily": 0,
                    "forced": 0,
                },
                "faults": {"errors": 0, "drops": 0, "slow": 0},
                "max_request_target": 0,
                "concurrent_max": 0,
            }
            self._in_flight = 0
            self.request_log.clear()

    def update_config(self, **changes: Any) -> None:
        """Change runtime settings (faults, limits, latency, tokens...)."""
        for name, value in changes.items():
            if name not in RUNTIME_FIELDS:
                raise ValueError(f"{name} cannot be changed at runtime")
            setattr(self.config, name, coerce_runtime_value(name, value))

    def reset_rate_limits(self) -> None:
        self._burst.clear()
        self._search.clear()
        self._associations.clear()
        self._daily_used = 0

    # --- app ----------------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        r = app.router
        r.add_post("/oauth/v1/token", self.h_token)
        r.add_post("/oauth/2026-03/token", self.h_token)
        r.add_get("/oauth/v1/access-tokens/{token}", self.h_token_info)
        r.add_get("/crm/v3/properties/{type}", self.h_properties)
        r.add_get("/crm/v3/objects/{type}", self.h_list)
        r.add_post("/crm/v3/objects/{type}/search", self.h_search)
        r.add_post("/crm/v3/objects/{type}/batch/read", self.h_batch_read)
        r.add_get("/crm/v3/objects/{type}/{id}", self.h_get_object)
        r.add_post("/crm/v4/associations/{from}/{to}/batch/read", self.h_assoc_batch)
        r.add_get("/crm/v4/objects/{type}/{id}/associations/{to}", self.h_assoc_get)
        r.add_get("/_simulator/config", self.c_get_config)
        r.add_route("PATCH", "/_simulator/config", self.c_set_config)
        r.add_post("/_simulator/config", self.c_set_config)
        r.add_get("/_simulator/stats", self.c_stats)
        r.add_post("/_simulator/stats/reset", self.c_reset_stats)
        r.add_get("/_simulator/requests", self.c_requests)
        r.add_post("/_simulator/objects/{type}", self.c_create)
        r.add_get("/_simulator/objects/{type}/{id}", self.c_get)
        r.add_route("PATCH", "/_simulator/objects/{type}/{id}", self.c_update)
        r.add_post("/_simulator/objects/{type}/{id}/archive", self.c_archive)
        r.add_put("/_simulator/associations/{from}/{from_id}/{to}/{to_id}", self.c_assoc)
        r.add_delete("/_simulator/associations/{from}/{from_id}/{to}/{to_id}", self.c_assoc)
        return app

    async def start_async(self) -> None:
        cfg = self.config
        line = max(1 << 20, cfg.max_request_target * 4)
        self._runner = web.AppRunner(
            self.make_app(), access_log=None, max_line_size=line, max_field_size=line
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, cfg.host, cfg.port, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> Simulator:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop_async())
                loop.close()

        self._thread = threading.Thread(target=run, name="hubspot-simulator", daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None
            self._loop = None

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- responses ----------------------------------------------------------------------------------
    @staticmethod
    def json_response(data: Any, status: int = 200) -> web.Response:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return web.Response(body=body, status=status, headers={"Content-Type": JSON_CT})

    def error(
        self, request: web.Request, status: int, message: str, category: str | None = None, **extra: Any
    ) -> web.Response:
        body: dict[str, Any] = {"status": "error", "message": message, "correlationId": request[CORR]}
        if category:
            body["category"] = category
        body.update(extra)
        return self.json_response(body, status)

    # --- middleware ---------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        corr = str(uuid.uuid4())
        request[CORR] = corr
        path = request.path
        if path.startswith("/_simulator/"):
            try:
                resp = await handler(request)
            except (KeyError, ValueError) as exc:
                resp = self.error(request, 400, str(exc), "VALIDATION_ERROR")
            resp.headers["X-HubSpot-Correlation-Id"] = corr
            return resp
        kind = _kind(path, request.method)
        target_len = len(request.raw_path.encode("utf-8", "surrogateescape"))
        with self._lock:
            st = self._stats
            st["total"] += 1
            st["by_kind"][kind] = st["by_kind"].get(kind, 0) + 1
            st["max_request_target"] = max(st["max_request_target"], target_len)
            self._in_flight += 1
            st["concurrent_max"] = max(st["concurrent_max"], self._in_flight)
        status: int | str = "dropped"
        try:
            resp = await self._pipeline(request, handler, kind, target_len)
            status = resp.status
            return resp
        finally:
            with self._lock:
                self._in_flight -= 1
                key = str(status)
                self._stats["by_status"][key] = self._stats["by_status"].get(key, 0) + 1
                if status == 429:
                    self._stats["rate_limited"]["total"] += 1
                self.request_log.append(
                    {
                        "method": request.method,
                        "path": path,
                        "kind": kind,
                        "status": status,
                        "target_length": target_len,
                        "time": time.time(),
                    }
                )

    async def _pipeline(
        self, request: web.Request, handler: Handler, kind: str, target_len: int
    ) -> web.StreamResponse:
        cfg = self.config
        corr = request[CORR]
        rng = self._fault_rng
        r_err, r_drop, r_slow, r_jit = rng.random(), rng.random(), rng.random(), rng.random()
        delay = cfg.latency_ms + (r_jit * 2 - 1) * cfg.latency_jitter_ms
        slow = r_slow < cfg.slow_rate
        if slow:
            delay += cfg.slow_ms
            self._bump("faults", "slow")
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        resp = await self._respond(request, handler, kind, target_len, r_err)
        resp.headers["X-HubSpot-Correlation-Id"] = corr
        if r_drop < cfg.drop_rate and isinstance(resp, web.Response) and resp.body is not None:
            self._bump("faults", "drops")
            return await self._drop(request, resp)
        return resp

    def _bump(self, group: str, name: str) -> None:
        with self._lock:
            self._stats[group][name] += 1

    async def _drop(self, request: web.Request, resp: web.Response) -> web.StreamResponse:
        body = bytes(resp.body) if isinstance(resp.body, bytes | bytearray) else b""
        stream = web.StreamResponse(status=resp.status, headers=resp.headers)
        stream.content_length = max(len(body), 2)
        await stream.prepare(request)
        await stream.write(body[: len(body) // 2])
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError

    async def _respond(
        self, request: web.Request, handler: Handler, kind: str, target_len: int, r_err: float
    ) -> web.StreamResponse:
        cfg = self.config
        if target_len > cfg.max_request_target:
            return web.Response(status=414, text=HTML_414, content_type="text/html")
        if cfg.force_429 > 0:
            cfg.force_429 -= 1
            self._bump("rate_limited", "forced")
            return self._429(request, "search" if kind == "search" else "burst")
        if r_err < cfg.error_rate and cfg.error_statuses:
            self._bump("faults", "errors")
            code = cfg.error_statuses[
                int(r_err / cfg.error_rate * len(cfg.error_statuses)) % len(cfg.error_statuses)
            ]
            return self._5xx(request, code)
        if kind != "oauth":
            denied = self._authenticate(request)
            if denied is not None:
                return denied
        headers: dict[str, str] = {}
        if kind not in ("oauth", "other"):
            limited = self._rate_limit(request, kind, headers)
            if limited is not None:
                return limited
        try:
            resp = await handler(request)
        except ApiError as exc:
            resp = self.error(request, exc.status, exc.message, exc.category, **exc.extra)
        except web.HTTPException as exc:
            if exc.status == 404:
                resp = self.error(request, 404, "resource not found")
            elif exc.status == 405:
                resp = self.error(request, 405, "HTTP 405 Method Not Allowed")
            else:
                raise
        resp.headers.update(headers)
        return resp

    def _5xx(self, request: web.Request, code: int) -> web.Response:
        if code == 503:
            return self.error(request, 503, "Service Unavailable. Please try again later.")
        if code == 500:
            return self.error(request, 500, "internal error", "INTERNAL_ERROR")
        reason = {502: "Bad Gateway", 504: "Gateway Time-out", 524: "A timeout occurred"}.get(code, "Error")
        return web.Response(
            status=code, text=HTML_5XX.format(code=code, reason=reason), content_type="text/html"
        )

    # --- auth ----------------------------------------------------------------------------------------
    def _authenticate(self, request: web.Request) -> web.Response | None:
        cfg = self.config
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if token and token in cfg.expired_tokens:
            return self._expired(request, 3600 * 1000)
        if token in self._issued:
            expiry = self._issued[token]
            if time.time() > expiry:
                return self._expired(request, int((time.time() - expiry) * 1000), expiry)
        elif not token or (token not in cfg.access_tokens and token not in cfg.missing_scopes):
            resp = self.error(request, 401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            resp.headers["x-hubspot-auth-failure"] = "401 Unauthorized"
            return resp
        request[TOKEN] = token
        lacking = set(cfg.missing_scopes.get(token, ()))
        if lacking:
            required = self._required_scopes(request)
            if required and all(s in lacking for s in required):
                return self.error(
                    request,
                    403,
                    SCOPES_MESSAGE,
                    "MISSING_SCOPES",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredScopes": required},
                        }
                    ],
                    links={"scopes": "https://developers.hubspot.com/scopes"},
                )
        return None

    def _expired(self, request: web.Request, ago_ms: int, expiry: float | None = None) -> web.Response:
        secs = max(ago_ms // 1000, 0)
        if secs >= 86400:
            amount = f"{secs // 86400} day(s)"
        elif secs >= 3600:
            amount = f"{secs // 3600} hour(s)"
        else:
            amount = f"{secs} second(s)"
        when = expiry if expiry is not None else time.time() - secs
        return self.error(
            request,
            401,
            f"The OAuth token used to make this call expired {amount} ago.",
            "EXPIRED_AUTHENTICATION",
            context={"expire time": [g.fmt_dt(int(when * 1000) | 1)]},
        )

    def _required_scopes(self, request: web.Request) -> list[str]:
        """Any one of the returned scopes grants access."""
        info = request.match_info
        names = [info[k] for k in ("type", "from", "to") if k in info]
        scopes: list[str] = []
        for n in names:
            t = resolve_type(n)
            if t is None:
                continue
            if request.path.startswith("/crm/v3/properties/"):
                scopes += [f"crm.schemas.{t}.read", OBJECT_TYPES[t].scope]
            else:
                scopes.append(OBJECT_TYPES[t].scope)
        return list(dict.fromkeys(scopes))

    # --- rate limits ----------------------------------------------------------------------------------
    def _429(self, request: web.Request, which: str) -> web.Response:
        if which == "search":
            return self.error(request, 429, "You have reached your secondly limit.", "RATE_LIMITS")
        if which == "daily":
            return self.json_response(
                {
                    "status": "error",
                    "message": "You have reached your daily limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": request[CORR],
                    "policyName": "DAILY",
                    "requestId": str(uuid.uuid4()),
                },
                429,
            )
        group = "associations-api-calls" if which == "associations" else "private-app-api-calls"
        return self.json_response(
            {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": request[CORR],
                "policyName": "TEN_SECONDLY_ROLLING",
                "groupName": f"publicapi:{group}-ten-secondly:{PORTAL_ID}",
            },
            429,
        )

    def _rate_limit(self, request: web.Request, kind: str, headers: dict[str, str]) -> web.Response | None:
        cfg = self.config
        if not cfg.rate_limits_enabled:
            return None
        now = time.monotonic()
        is_search = kind == "search"
        if self._daily_used >= cfg.daily_limit:
            self._bump("rate_limited", "daily")
            resp = self._429(request, "daily")
            if not is_search or cfg.search_daily_headers:
                resp.headers.update(self._daily_headers(0))
            return resp
        # Which rolling window the request counts against: search its own per-second one; the v4
        # associations API is exempt from the ten-secondly limit but has a window of its own.
        which = "search" if is_search else "burst"
        if is_search:
            window, limit, dq = cfg.search_window_ms / 1000.0, cfg.search_limit, self._search
        elif kind == "associations" and request.path.startswith("/crm/v4/"):
            which = "associations"
            window, limit, dq = cfg.burst_window_ms / 1000.0, cfg.associations_limit, self._associations
        else:
            window, limit, dq = cfg.burst_window_ms / 1000.0, cfg.burst_limit, self._burst
        while dq and dq[0] <= now - window:
            dq.popleft()
        if len(dq) >= limit:
            self._bump("rate_limited", which)
            resp = self._429(request, which)
            if not is_search:
                resp.headers.update(self._window_headers(limit, 0))
                resp.headers.update(self._daily_headers(cfg.daily_limit - self._daily_used))
            return resp
        dq.append(now)
        self._daily_used += 1
        remaining_daily = cfg.daily_limit - self._daily_used
        if not is_search:
            headers.update(self._window_headers(limit, limit - len(dq)))
            headers.update(self._daily_headers(remaining_daily))
        elif cfg.search_daily_headers:
            headers.update(self._daily_headers(remaining_daily))
        return None

    def _window_headers(self, limit: int, remaining: int) -> dict[str, str]:
        """Rate-limit headers of a ``burst_window_ms`` window allowing ``limit`` requests."""
        cfg = self.config
        secondly = max(limit // 10, 1)
        return {
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(remaining, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(cfg.burst_window_ms),
            "X-HubSpot-RateLimit-Secondly": str(secondly),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(min(secondly, remaining // 10), 0)),
        }

    def _daily_headers(self, remaining: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(self.config.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(remaining, 0)),
        }

    # --- helpers --------------------------------------------------------------------------------------
    @staticmethod
    def _type(name: str) -> str:
        t = resolve_type(name)
        if t is None:
            raise ApiError(400, f"Unable to infer object type from: {name}")
        return t

    def _limit(self, raw: Any, default: int, maximum: int) -> int:
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"Invalid limit: {raw!r}. limit must be an integer.") from exc
        if value < 1:
            raise ApiError(400, f"limit must be at least 1, got {value}.")
        if value > maximum:
            if self.config.over_limit == "clamp":
                return maximum
            raise ApiError(400, f"limit must be less than or equal to {maximum}, got {value}.")
        return value

    @staticmethod
    def _multi(query: MultiDict[str] | Any, name: str) -> list[str] | None:
        values = query.getall(name, [])
        if not values:
            return None
        out: list[str] = []
        for v in values:
            out += [p.strip() for p in v.split(",") if p.strip()]
        return out

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
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

    def _embed_associations(self, t: str, obj_id: int, to_types: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        cap = self.config.embedded_associations_limit
        for to in to_types:
            ids = self.portal.associated_ids(t, obj_id, to)
            if not ids:
                continue
            label = association_type(t, to)[0]
            entry: dict[str, Any] = {"results": [{"id": str(i), "type": label} for i in ids[:cap]]}
            if len(ids) > cap:
                after = _enc_cursor(ids[cap])
                entry["paging"] = {
                    "next": {
                        "after": after,
                        "link": f"{self.base_url}/crm/v4/objects/{t}/{obj_id}/associations/{to}"
                        f"?after={after}",
                    }
                }
            out[to] = entry
        return out

    def _history(self, t: str, obj_id: int, names: list[str]) -> dict[str, list[dict[str, Any]]]:
        """One history entry per set property: its current value, stamped with the modified date."""
        s = self.portal.stores[t]
        stamp = g.fmt_dt(s.modified_ms(obj_id))
        out: dict[str, list[dict[str, Any]]] = {}
        for name, value in s.props(obj_id, names).items():
            out[name] = (
                []
                if value is None
                else [
                    {
                        "value": value,
                        "timestamp": stamp,
                        "sourceType": "CRM_UI",
                        "sourceId": "userId:1193457",
                        "updatedByUserId": 1193457,
                    }
                ]
            )
        return out

    # --- API handlers ----------------------------------------------------------------------------------
    async def h_list(self, request: web.Request) -> web.Response:
        t = self._type(request.match_info["type"])
        q = request.rel_url.query
        history = self._multi(q, "propertiesWithHistory")
        limit = self._limit(q.get("limit"), 10, 50 if history else 100)
        after_raw = q.get("after")
        after = 0
        if after_raw:
            try:
                after = int(after_raw)
            except ValueError as exc:
                raise ApiError(400, f"Invalid after: {after_raw!r}. Paging cursor must be numeric.") from exc
        props = self._multi(q, "properties")
        if props is None:
            props = list(OBJECT_TYPES[t].defaults)
        assoc = [a for a in (resolve_type(x) for x in self._multi(q, "associations") or []) if a]
        archived = q.get("archived", "false").lower() == "true"
        ids, nxt = self.portal.list_page(t, after, limit, archived)
        results = []
        with self.portal.lock:
            for i in ids:
                obj = self.portal.render(t, i, props)
                if history:
                    obj["propertiesWithHistory"] = self._history(t, i, history)
                if assoc:
                    embedded = self._embed_associations(t, i, assoc)
                    if embedded:
                        obj["associations"] = embedded
                results.append(obj)
        body: dict[str, Any] = {"results": results}
        if nxt is not None:
            query = MultiDict(q)
            query.popall("after", None)
            query["after"] = str(nxt)
            link = str(URL(self.base_url + request.path).with_query(query))
            body["paging"] = {"next": {"after": str(nxt), "link": link}}
        return self.json_response(body)

    async def h_get_object(self, request: web.Request) -> web.Response:
        t = self._type(request.match_info["type"])
        raw_id = request.match_info["id"]
        q = request.rel_url.query
        if not raw_id.isdigit():
            raise ApiError(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
        oid = int(raw_id)
        s = self.portal.stores[t]
        archived = q.get("archived", "false").lower() == "true"
        if not s.exists(oid) or s.is_archived(oid) != archived:
            raise ApiError(404, "resource not found", None)
        props = self._multi(q, "properties") or list(OBJECT_TYPES[t].defaults)
        with self.portal.lock:
            obj = self.portal.render(t, oid, props)
            assoc = [a for a in (resolve_type(x) for x in self._multi(q, "associations") or []) if a]
            if assoc:
                embedded = self._embed_associations(t, oid, assoc)
                if embedded:
                    obj["associations"] = embedded
        return self.json_response(obj)

    async def h_search(self, request: web.Request) -> web.Response:  # noqa: PLR0912
        t = self._type(request.match_info["type"])
        cfg = self.config
        body = await self._json_body(request)
        limit = self._limit(body.get("limit"), 10, 200)
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
                f"Paging is limited to {cfg.search_max_results} results. "
                f"There was a problem with the request.",
            )
        groups_raw = body.get("filterGroups") or []
        if not isinstance(groups_raw, list):
            raise ApiError(400, "filterGroups must be a list.")
        groups: list[list[dict[str, Any]]] = []
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
        sort: tuple[str, bool] | None = None
        sorts = body.get("sorts") or []
        if sorts:
            first = sorts[0]
            if isinstance(first, str):
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
            sort = (str(first["propertyName"]), direction == "DESCENDING")
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
        return self.json_response(out)

    async def h_batch_read(self, request: web.Request) -> web.Response:
        t = self._type(request.match_info["type"])
        started = _iso_now()
        body = await self._json_body(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise ApiError(400, "inputs is required.")
        if len(inputs) > 100:
            raise ApiError(400, f"Batch input size limited to 100, but got {len(inputs)}.")
        archived = request.rel_url.query.get("archived", "false").lower() == "true"
        props = body.get("properties") or list(OBJECT_TYPES[t].defaults)
        id_prop = body.get("idProperty")
        s = self.portal.stores[t]
        results, missing, seen = [], [], set()
        with self.portal.lock:
            for item in inputs:
                raw = str(item.get("id", "")) if isinstance(item, dict) else ""
                oid = self._resolve_id(t, raw, id_prop)
                if oid is None or not s.exists(oid) or s.is_archived(oid) != archived:
                    missing.append(raw)
                    continue
                if oid in seen:
                    continue
                seen.add(oid)
                obj = self.portal.render(t, oid, props)
                if body.get("propertiesWithHistory"):
                    obj["propertiesWithHistory"] = self._history(t, oid, list(body["propertiesWithHistory"]))
                results.append(obj)
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso_now(),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {OBJECT_TYPES[t].upper} objects, they may be deleted "
                    "or not exist. "
                    "Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
            return self.json_response(out, 207)
        return self.json_response(out)

    def _resolve_id(self, t: str, raw: str, id_prop: Any) -> int | None:
        if id_prop and id_prop != "hs_object_id":
            s = self.portal.stores[t]
            for i in self.portal.iter_ids(t):
                if (s.value(i, str(id_prop)) or "").lower() == raw.lower():
                    return i
            return None
        return int(raw) if raw.isdigit() else None

    async def h_assoc_batch(self, request: web.Request) -> web.Response:
        a = self._type(request.match_info["from"])
        b = self._type(request.match_info["to"])
        started = _iso_now()
        body = await self._json_body(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise ApiError(400, "inputs is required.")
        if len(inputs) > 1000:
            raise ApiError(400, f"Batch input size limited to 1000, but got {len(inputs)}.")
        page = max(self.config.association_page_size, 1)
        type_id = association_type(a, b)[1]
        results, errors = [], []
        for item in inputs:
            raw = str(item.get("id", "")) if isinstance(item, dict) else ""
            if not raw.isdigit():
                errors.append(raw)
                continue
            ids = self.portal.associated_ids(a, int(raw), b)
            start = 0
            if isinstance(item, dict) and item.get("after"):
                try:
                    threshold = _dec_cursor(str(item["after"]))
                except ValueError as exc:
                    raise ApiError(400, f"Invalid after cursor {item['after']!r}.") from exc
                while start < len(ids) and ids[start] < threshold:
                    start += 1
            chunk = ids[start : start + page]
            if not chunk:
                errors.append(raw)
                continue
            entry: dict[str, Any] = {
                "from": {"id": raw},
                "to": [
                    {
                        "toObjectId": i,
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                        ],
                    }
                    for i in chunk
                ],
            }
            if start + page < len(ids):
                after = _enc_cursor(ids[start + page])
                entry["paging"] = {
                    "next": {
                        "after": after,
                        "link": f"{self.base_url}/crm/v4/objects/{a}/{raw}/associations/{b}?after={after}",
                    }
                }
            results.append(entry)
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": _iso_now(),
        }
        if errors and self.config.association_missing_errors:
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
            return self.json_response(out, 207)
        return self.json_response(out)

    async def h_assoc_get(self, request: web.Request) -> web.Response:
        a = self._type(request.match_info["type"])
        b = self._type(request.match_info["to"])
        raw = request.match_info["id"]
        if not raw.isdigit() or not self.portal.stores[a].exists(int(raw)):
            raise ApiError(404, "resource not found", None)
        q = request.rel_url.query
        limit = self._limit(q.get("limit"), 500, 500)
        ids = self.portal.associated_ids(a, int(raw), b)
        start = 0
        if q.get("after"):
            try:
                threshold = _dec_cursor(q["after"])
            except ValueError as exc:
                raise ApiError(400, "Invalid after cursor.") from exc
            while start < len(ids) and ids[start] < threshold:
                start += 1
        type_id = association_type(a, b)[1]
        out: dict[str, Any] = {
            "results": [
                {
                    "toObjectId": i,
                    "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}],
                }
                for i in ids[start : start + limit]
            ]
        }
        if start + limit < len(ids):
            after = _enc_cursor(ids[start + limit])
            out["paging"] = {
                "next": {
                    "after": after,
                    "link": str(
                        URL(self.base_url + request.path).with_query({"limit": str(limit), "after": after})
                    ),
                }
            }
        return self.json_response(out)

    async def h_properties(self, request: web.Request) -> web.Response:
        t = self._type(request.match_info["type"])
        if request.rel_url.query.get("archived", "false").lower() == "true":
            return self.json_response({"results": []})
        return self.json_response({"results": self.portal.property_definitions(t)})

    async def h_token(self, request: web.Request) -> web.Response:
        cfg = self.config
        form = await request.post()
        grant = str(form.get("grant_type", ""))

        def bad(status: str, message: str) -> web.Response:
            return self.json_response(
                {"status": status, "message": message, "correlationId": request[CORR]}, 400
            )

        if grant != "refresh_token":
            return bad("BAD_GRANT_TYPE", f"unsupported grant_type: {grant or 'missing'}")
        if str(form.get("client_id", "")) != cfg.client_id:
            return bad("BAD_CLIENT_ID", "missing or unknown client id")
        if str(form.get("client_secret", "")) != cfg.client_secret:
            return bad("BAD_CLIENT_SECRET", "missing or invalid client secret")
        if str(form.get("refresh_token", "")) != cfg.refresh_token:
            return bad("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        token = "CN" + secrets.token_urlsafe(96)
        self._issued[token] = time.time() + cfg.access_token_ttl_s
        out: dict[str, Any] = {
            "token_type": "bearer",
            "refresh_token": cfg.refresh_token,
            "access_token": token,
            "expires_in": cfg.access_token_ttl_s,
        }
        if "2026-03" in request.path:
            out.update(
                {
                    "hub_id": PORTAL_ID,
                    "user_id": 1193457,
                    "token_use": "access_token",
                    "scopes": sorted({t.scope for t in OBJECT_TYPES.values()}),
                }
            )
        return self.json_response(out)

    async def h_token_info(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        expiry = self._issued.get(token)
        if expiry is None and token not in self.config.access_tokens:
            raise ApiError(404, "resource not found", None)
        return self.json_response(
            {
                "token": token,
                "user": "sim@example.com",
                "hub_domain": "simulator.example.com",
                "scopes": sorted({t.scope for t in OBJECT_TYPES.values()}),
                "hub_id": PORTAL_ID,
                "app_id": 424242,
                "expires_in": int((expiry or time.time() + 1800) - time.time()),
                "user_id": 1193457,
                "token_type": "access",
            }
        )

    # --- control API ----------------------------------------------------------------------------------
    async def c_get_config(self, request: web.Request) -> web.Response:
        out = self.config.to_dict()
        out.update(
            {
                "url": self.url,
                "anchor_ms": self.portal.anchor_ms,
                "counts": self.portal.counts(),
                "archived_counts": self.portal.counts(archived=True),
                "object_types": {n: t.type_id for n, t in OBJECT_TYPES.items()},
                "runtime_fields": sorted(RUNTIME_FIELDS),
            }
        )
        return self.json_response(out)

    async def c_set_config(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        self.update_config(**body)
        if body.get("reset_rate_limits"):
            self.reset_rate_limits()
        return await self.c_get_config(request)

    async def c_stats(self, request: web.Request) -> web.Response:
        return self.json_response(self.stats())

    async def c_reset_stats(self, request: web.Request) -> web.Response:
        self.reset_stats()
        self.reset_rate_limits()
        return self.json_response(self.stats())

    async def c_requests(self, request: web.Request) -> web.Response:
        return self.json_response({"requests": list(self.request_log)})

    @staticmethod
    def _ts(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int | float):
            return int(value)
        parsed = g.parse_dt(str(value))
        if parsed is None:
            raise ValueError(f"bad timestamp {value!r}")
        return parsed

    async def c_create(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        obj = self.portal.create_object(
            request.match_info["type"], body.get("properties") or {}, self._ts(body.get("timestamp"))
        )
        return self.json_response(obj, 201)

    async def c_get(self, request: web.Request) -> web.Response:
        obj = self.portal.get_object(request.match_info["type"], request.match_info["id"])
        if obj is None:
            return self.error(request, 404, "resource not found")
        return self.json_response(obj)

    async def c_update(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        obj = self.portal.update_object(
            request.match_info["type"],
            request.match_info["id"],
            body.get("properties") or {},
            self._ts(body.get("timestamp")),
        )
        return self.json_response(obj)

    async def c_archive(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        self.portal.archive_object(
            request.match_info["type"], request.match_info["id"], self._ts(body.get("timestamp"))
        )
        obj = self.portal.get_object(request.match_info["type"], request.match_info["id"])
        return self.json_response(obj)

    async def c_assoc(self, request: web.Request) -> web.Response:
        m = request.match_info
        if request.method == "PUT":
            self.portal.add_association(m["from"], m["from_id"], m["to"], m["to_id"])
        else:
            self.portal.remove_association(m["from"], m["from_id"], m["to"], m["to_id"])
        ids = self.portal.associated_ids(
            self.portal._type(m["from"]), int(m["from_id"]), self.portal._type(m["to"])
        )
        return self.json_response({"from": m["from_id"], "to": [str(i) for i in ids]})


def start_simulator(config: SimulatorConfig | None = None, **overrides: Any) -> Simulator:
    """Start a simulator on a free port in a background thread (own event loop) and return it."""
    cfg = config or SimulatorConfig()
    if overrides:
        cfg = cfg.with_overrides(**overrides)
    return Simulator(cfg).start()


__all__ = ["ApiError", "Simulator", "start_simulator"]
