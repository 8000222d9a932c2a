"""OAuth: `POST /oauth/v1/token`, `POST /oauth/2026-03/token` (refresh_token grant) and
`GET /oauth/v1/access-tokens/{token}` [hubspot-api.md §1.3]."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..responses import CORR, PORTAL_ID, ApiError, json_response
from ..schema import OBJECT_TYPES

if TYPE_CHECKING:
    from ..server import Simulator

SCOPES = sorted({t.scope for t in OBJECT_TYPES.values()})


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    routes = OAuthRoutes(sim)
    router.add_post("/oauth/v1/token", routes.token)
    router.add_post("/oauth/2026-03/token", routes.token)
    router.add_get("/oauth/v1/access-tokens/{token}", routes.token_info)


class OAuthRoutes:
    def __init__(self, sim: Simulator) -> None:
        self.config = sim.config
        self.auth = sim.auth

    async def token(self, request: web.Request) -> web.Response:
        cfg = self.config
        form = await request.post()
        grant = str(form.get("grant_type", ""))

        def bad(status: str, message: str) -> web.Response:
            return json_response({"status": status, "message": message, "correlationId": request[CORR]}, 400)

        if grant != "refresh_token":
            return bad("BAD_GRANT_TYPE", f"unsupported grant_type: {grant or 'missing'}")
        if str(form.get("client_id", "")) != cfg.client_id:
            return bad("BAD_CLIENT_ID", "missing or unknown client id")
        if str(form.get("client_secret", "")) != cfg.client_secret:
            return bad("BAD_CLIENT_SECRET", "missing or invalid client secret")
        if str(form.get("refresh_token", "")) != cfg.refresh_token:
            return bad("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        out: dict[str, Any] = {
            "token_type": "bearer",
            "refresh_token": cfg.refresh_token,
            "access_token": self.auth.issue(),
            "expires_in": cfg.access_token_ttl_s,
        }
        if "2026-03" in request.path:
            out.update(hub_id=PORTAL_ID, user_id=1193457, token_use="access_token", scopes=SCOPES)
        return json_response(out)

    async def token_info(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        expiry = self.auth.issued.get(token)
        if expiry is None and token not in self.config.access_tokens:
            raise ApiError(404, "resource not found", None)
        return json_response(
            {
                "token": token,
                "user": "sim@example.com",
                "hub_domain": "simulator.example.com",
                "scopes": SCOPES,
                "hub_id": PORTAL_ID,
                "app_id": 424242,
                "expires_in": int((expiry or time.time() + 1800) - time.time()),
                "user_id": 1193457,
                "token_type": "access",
            }
        )
