"""Bearer authentication: static tokens, OAuth-issued tokens with expiry, missing scopes
[hubspot-api.md §1]."""

from __future__ import annotations

import secrets
import time

from aiohttp import web

from . import generate as g
from .config import SimulatorConfig
from .responses import TOKEN, error_response
from .schema import OBJECT_TYPES, resolve_type

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes "
    "here: https://developers.hubspot.com/scopes."
)


class Authenticator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.issued: dict[str, float] = {}  # OAuth access token -> expiry (epoch s)

    def issue(self) -> str:
        token = "CN" + secrets.token_urlsafe(96)
        self.issued[token] = time.time() + self.config.access_token_ttl_s
        return token

    def authenticate(self, request: web.Request) -> web.Response | None:
        """None when the request may proceed, else the 401/403 HubSpot would answer."""
        cfg = self.config
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if token and token in cfg.expired_tokens:
            return self._expired(request, 3600 * 1000)
        if token in self.issued:
            expiry = self.issued[token]
            if time.time() > expiry:
                return self._expired(request, int((time.time() - expiry) * 1000), expiry)
        elif not token or (token not in cfg.access_tokens and token not in cfg.missing_scopes):
            resp = error_response(request, 401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
            resp.headers["x-hubspot-auth-failure"] = "401 Unauthorized"
            return resp
        request[TOKEN] = token
        lacking = set(cfg.missing_scopes.get(token, ()))
        if lacking:
            required = required_scopes(request)
            if required and all(s in lacking for s in required):
                return error_response(
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

    @staticmethod
    def _expired(request: web.Request, ago_ms: int, expiry: float | None = None) -> web.Response:
        secs = max(ago_ms // 1000, 0)
        if secs >= 86400:
            amount = f"{secs // 86400} day(s)"
        elif secs >= 3600:
            amount = f"{secs // 3600} hour(s)"
        else:
            amount = f"{secs} second(s)"
        when = expiry if expiry is not None else time.time() - secs
        return error_response(
            request,
            401,
            f"The OAuth token used to make this call expired {amount} ago.",
            "EXPIRED_AUTHENTICATION",
            context={"expire time": [g.fmt_dt(int(when * 1000) | 1)]},
        )


def required_scopes(request: web.Request) -> list[str]:
    """Scopes of which any one grants access to the request's object types."""
    if request.path.startswith("/crm/v3/owners"):
        return ["crm.objects.owners.read"]  # [SPEC CRM/Crm Owners v3 security]
    if request.path.startswith("/calling/"):
        # the legacy engagements API: crm.objects.contacts.read, calls' own read scope [doc, legacy method
        # page "Get call engagement dispositions": /docs/methods/engagements/get-call-dispositions]
        return [OBJECT_TYPES["calls"].scope]
    info = request.match_info
    names = [info[k] for k in ("type", "from", "to") if k in info]
    scopes: list[str] = []
    for n in names:
        t = resolve_type(n)
        if t is None:
            continue
        if request.path.startswith(("/crm/v3/properties/", "/crm/v3/pipelines/")):
            # SPEC (Properties v3, Pipelines v3) accepts any one of ~100 CRM scopes for these endpoints,
            # whatever the object type; the harder case here: the type's own schema or read scope.
            scopes += [f"crm.schemas.{t}.read", OBJECT_TYPES[t].scope]
        else:
            scopes.append(OBJECT_TYPES[t].scope)
    return list(dict.fromkeys(scopes))
