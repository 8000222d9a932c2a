"""Injected faults: latency with jitter, slow responses, 5xx answers and connections cut mid-body, all drawn
from one seeded random stream so a run's fault sequence is reproducible [hubspot-api.md §9, §11]."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from aiohttp import web

from .config import SimulatorConfig
from .responses import error_response
from .stats import Stats

HTML_5XX = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1>"
    "</center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class FaultDraw:
    """The random numbers of one request (always four, so the sequence does not depend on the settings)."""

    error: float
    drop: float
    slow: float
    jitter: float


class FaultInjector:
    def __init__(self, config: SimulatorConfig, stats: Stats) -> None:
        self.config = config
        self.stats = stats
        seed = config.fault_seed if config.fault_seed is not None else config.seed * 7919 + 1
        self.rng = random.Random(seed)

    def draw(self) -> FaultDraw:
        rng = self.rng
        return FaultDraw(rng.random(), rng.random(), rng.random(), rng.random())

    async def delay(self, draw: FaultDraw) -> None:
        cfg = self.config
        delay = cfg.latency_ms + (draw.jitter * 2 - 1) * cfg.latency_jitter_ms
        if draw.slow < cfg.slow_rate:
            delay += cfg.slow_ms
            self.stats.bump("faults", "slow")
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)

    def error(self, request: web.Request, draw: FaultDraw) -> web.Response | None:
        """A 5xx answer when this request draws one, else None."""
        cfg = self.config
        if not (draw.error < cfg.error_rate and cfg.error_statuses):
            return None
        self.stats.bump("faults", "errors")
        statuses = cfg.error_statuses
        pick = int(draw.error / cfg.error_rate * len(statuses)) % len(statuses)
        return server_error(request, statuses[pick])

    def drops(self, draw: FaultDraw, resp: web.StreamResponse) -> bool:
        return draw.drop < self.config.drop_rate and isinstance(resp, web.Response) and resp.body is not None

    async def drop(self, request: web.Request, resp: web.Response) -> web.StreamResponse:
        """Send the headers and half the body, then cut the connection."""
        self.stats.bump("faults", "drops")
        body = bytes(resp.body) if isinstance(resp.body, bytes | bytearray) else b""
        stream = web.StreamResponse(status=resp.status, headers=resp.headers)
        stream.content_length = max(len(body), 2)
        await stream.prepare(request)
        await stream.write(body[: len(body) // 2])
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError


def server_error(request: web.Request, code: int) -> web.Response:
    """503 and 500 come as HubSpot JSON; gateway errors as Cloudflare's HTML page [hubspot-api.md §9]."""
    if code == 503:
        return error_response(request, 503, "Service Unavailable. Please try again later.")
    if code == 500:
        return error_response(request, 500, "internal error", "INTERNAL_ERROR")
    reason = {502: "Bad Gateway", 504: "Gateway Time-out", 524: "A timeout occurred"}.get(code, "Error")
    return web.Response(status=code, text=HTML_5XX.format(code=code, reason=reason), content_type="text/html")
