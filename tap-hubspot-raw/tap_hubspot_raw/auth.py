"""Authentication: a private-app token, or an OAuth refresh token exchanged for short-lived tokens."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from singer_sdk.authenticators import APIAuthenticatorBase, BearerTokenAuthenticator, OAuthAuthenticator
from typing_extensions import override

from tap_hubspot_raw.api import DEFAULT_API_URL, TOKEN_PATH


class HubspotOAuthAuthenticator(OAuthAuthenticator):
    """Refresh-token grant against ``{api_url}/oauth/v1/token``; one instance shared by all streams."""

    def __init__(self, *, api_url: str, client_id: str, client_secret: str, refresh_token: str) -> None:
        """Create the authenticator; the first request triggers the token exchange."""
        super().__init__(
            auth_endpoint=api_url.rstrip("/") + TOKEN_PATH,
            client_id=client_id,
            client_secret=client_secret,
            default_expiration=1800,
        )
        self._refresh_token = refresh_token
        self._refresh_lock = threading.Lock()

    @property
    @override
    def oauth_request_body(self) -> dict:
        return {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self._refresh_token,
        }

    @override
    def is_token_valid(self) -> bool:
        # Refresh a minute early so a request never leaves with a token about to expire.
        if self.last_refreshed is None or not self.expires_in:
            return super().is_token_valid()
        self.expires_in -= 60
        try:
            return super().is_token_valid()
        finally:
            self.expires_in += 60

    @override
    def update_access_token(self) -> None:
        with self._refresh_lock:  # concurrent streams share one refresh
            if not self.is_token_valid():
                super().update_access_token()

    @override
    def handle_error(self, *, content: str, status_code: int | None) -> None:
        # Log HubSpot's message only: never the request (it carries the client secret).
        try:
            message = json.loads(content).get("message", "")
        except (ValueError, AttributeError):
            message = ""
        self.logger.error("HubSpot OAuth token refresh failed (status %s): %s", status_code, message)


def build_authenticator(config: Mapping[str, Any]) -> APIAuthenticatorBase:
    """The authenticator the config asks for: a private-app token wins over OAuth."""
    if config.get("access_token"):
        return BearerTokenAuthenticator(token=config["access_token"])
    return HubspotOAuthAuthenticator(
        api_url=config.get("api_url", DEFAULT_API_URL),
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        refresh_token=config["refresh_token"],
    )
