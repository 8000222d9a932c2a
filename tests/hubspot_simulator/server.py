"""The simulator as a server: its parts wired into an aiohttp application, run in the caller's event loop
(`start_async`) or in a background thread (`start`)."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any

from aiohttp import web

from .auth import Authenticator
from .config import RUNTIME_FIELDS, SimulatorConfig, coerce_runtime_value
from .faults import FaultInjector
from .limits import RateLimiter
from .middleware import ApiMiddleware
from .portal import Portal
from .responses import ApiError, json_response
from .routes import add_all
from .stats import Stats


class Simulator:
    """A running (or startable) simulator. Use `start_simulator()` for a background-thread instance."""

    # Encodes every response that carries records; a test may swap it (e.g. for HubSpot's ASCII escapes).
    json_response = staticmethod(json_response)

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.portal = Portal(self.config)
        self._stats = Stats()
        self.auth = Authenticator(self.config)
        self.limiter = RateLimiter(self.config, self._stats)
        self.faults = FaultInjector(self.config, self._stats)
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

    @property
    def request_log(self) -> deque[dict[str, Any]]:
        return self._stats.request_log

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    def update_config(self, **changes: Any) -> None:
        """Change runtime settings (faults, limits, latency, tokens...)."""
        for name, value in changes.items():
            if name not in RUNTIME_FIELDS:
                raise ValueError(f"{name} cannot be changed at runtime")
            setattr(self.config, name, coerce_runtime_value(name, value))

    def reset_rate_limits(self) -> None:
        self.limiter.reset()

    def truth(self, type_name: str) -> dict[str, Any]:
        """Ground truth of one object type (see Portal.truth)."""
        return self.portal.truth(type_name)

    # --- app ----------------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        middleware = ApiMiddleware(self.config, self._stats, self.auth, self.limiter, self.faults)
        app = web.Application(middlewares=[middleware.handle], client_max_size=64 * 1024 * 1024)
        add_all(app.router, self)
        return app

    async def start_async(self) -> None:
        cfg = self.config
        line = max(1 << 20, cfg.max_request_target * 4)
        app = self.make_app()
        self._runner = web.AppRunner(app, access_log=None, max_line_size=line, max_field_size=line)
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


def start_simulator(config: SimulatorConfig | None = None, **overrides: Any) -> Simulator:
    """Start a simulator on a free port in a background thread (own event loop) and return it."""
    cfg = config or SimulatorConfig()
    if overrides:
        cfg = cfg.with_overrides(**overrides)
    return Simulator(cfg).start()


__all__ = ["ApiError", "Simulator", "start_simulator"]
