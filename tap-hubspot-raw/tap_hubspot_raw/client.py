"""The conversation with HubSpot: base URL, auth, shared rate budget, error policy and retries.

Every request of every stream goes through :class:`HubspotStream`, so the error policy lives here once.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import random
import re
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import backoff
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams import RESTStream
from typing_extensions import override
from urllib3.exceptions import NewConnectionError

from tap_hubspot_raw.api import (
    ASSOCIATION_RATE_LIMIT_TIERS,
    BURST_WINDOW_SECONDS,
    DEFAULT_API_URL,
    DEFAULT_SEARCH_REQUESTS_PER_SECOND,
    RATE_LIMIT_TIERS,
    SEARCH_WINDOW_SECONDS,
)
from tap_hubspot_raw.auth import build_authenticator
from tap_hubspot_raw.ratelimit import Clock, RateBudget, SessionPool, Sleep

if TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.authenticators import APIAuthenticatorBase
    from singer_sdk.tap_base import Tap


@dataclass(frozen=True)
class RetryWaits:
    """Seconds to wait before retrying (the tap's ``retry_waits``; tests run a tap with shorter ones)."""

    rate_limited: float = 10.0  # 429 on the rolling 10-s window: HubSpot sends no Retry-After
    search_rate_limited: float = 1.0  # 429 on the per-second search limit
    server_error: float = 1.0  # first wait after a 5xx/timeout/dropped connection; doubles per try
    max_wait: float = 60.0
    # A HubSpot that cannot be reached at all (refused, unknown host, no route) is retried this long, not for
    # the whole retry budget: the run then stops with a message naming api_url.
    unreachable: float = 30.0


DEFAULT_RETRY_WAITS = RetryWaits()
DEFAULT_MAX_RETRIES = 8
# Covers (10-s budget + search budget + associations) x 250 ms latency on every tier: 4 search workers,
# 5 list workers and the archived sweep.
DEFAULT_MAX_CONCURRENCY = 10
REQUEST_TIMEOUT_SECONDS = 120
CONNECT_TIMEOUT_SECONDS = 10
# What a request may be retried after (the SDK's list), besides the answers validate_response calls retriable.
RETRIABLE_ERRORS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class MissingScopeError(FatalAPIError):
    """HubSpot answered 403: the token lacks a scope the request needs (named in the message)."""


class Portal:
    """What all streams of one tap instance share: the credentials, the portal's request budget and how
    long to wait (retry waits, request timeout, the budget's clock)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        retry_waits: RetryWaits = DEFAULT_RETRY_WAITS,
        request_timeout_seconds: int = REQUEST_TIMEOUT_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        """Build the shared budget, session pool and authenticator from the tap config."""
        self.retry_waits = retry_waits
        self.request_timeout_seconds = request_timeout_seconds
        tier = config.get("rate_limit_tier") or "free"
        per_window = config.get("requests_per_10_seconds") or RATE_LIMIT_TIERS[tier]
        per_window_associations = (
            config.get("association_requests_per_10_seconds") or ASSOCIATION_RATE_LIMIT_TIERS[tier]
        )
        per_second = config.get("search_requests_per_second") or DEFAULT_SEARCH_REQUESTS_PER_SECOND
        self.max_concurrency = int(config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY)
        self.budget = RateBudget(
            per_window,
            per_second,
            BURST_WINDOW_SECONDS,
            SEARCH_WINDOW_SECONDS,
            # An explicit budget is a promise (headroom for other apps); a tier is a guess HubSpot corrects.
            follow_headers=not config.get("requests_per_10_seconds"),
            associations_per_window=per_window_associations,
            follow_association_headers=not config.get("association_requests_per_10_seconds"),
            clock=clock,
            sleep=sleep,
        )
        self.sessions = SessionPool(self.budget, self.max_concurrency)
        self.authenticator = build_authenticator(config)


def hubspot_error(response: requests.Response) -> dict[str, Any]:
    """HubSpot's JSON error body, or an empty dict (414s and proxies send HTML)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def missing_scopes(body: Mapping[str, Any]) -> list[str]:
    """Scope names a 403 body says are required (HubSpot has used two keys for them)."""
    contexts = [body.get("context") or {}] + [e.get("context") or {} for e in body.get("errors") or []]
    scopes: list[str] = []
    for context in contexts:
        for key in ("requiredScopes", "requiredGranularScopes"):
            scopes.extend(s for s in context.get(key) or [] if s not in scopes)
    return scopes


def connection_failure(exception: BaseException) -> str | None:
    """Why a request never reached HubSpot (refused, unknown host, connect timeout), or None: a connection
    that was made and then dropped is another, transient, failure."""
    if isinstance(exception, requests.exceptions.ConnectTimeout):
        return "no answer to the connection attempt"
    if not isinstance(exception, requests.exceptions.ConnectionError) or not exception.args:
        return None
    reason = getattr(exception.args[0], "reason", None)
    if not isinstance(reason, NewConnectionError):  # NameResolutionError is one too
        return None
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(reason))
    return found.group(1).strip() if found else type(reason).__name__


def retry_after_seconds(response: requests.Response) -> float | None:
    """The ``Retry-After`` header in seconds (it may be a number of seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def is_search(response: requests.Response) -> bool:
    """Whether the response answers a search request (its own rate limit)."""
    return urlparse(response.url).path.rstrip("/").endswith("/search")


class HubspotStream(RESTStream[Any]):
    """Base stream: transport, auth, rate budget, error classification and retries for HubSpot."""

    records_jsonpath = "$.results[*]"

    def __init__(self, tap: Tap, *, portal: Portal, name: str, schema: dict | None = None) -> None:
        """Create a stream drawing on the tap's shared ``portal``."""
        self.portal = portal
        super().__init__(tap=tap, name=name, schema=schema)

    @property
    @override
    def url_base(self) -> str:
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @property
    @override
    def authenticator(self) -> APIAuthenticatorBase:
        return self.portal.authenticator

    @property
    @override
    def requests_session(self) -> requests.Session:
        return self.portal.sessions.get()

    @property
    @override
    def timeout(self) -> int:
        return self.portal.request_timeout_seconds

    def call_api(
        self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """One request to HubSpot under the error policy and retries below; HubSpot's JSON answer."""
        prepared = self.build_prepared_request(
            method=method,
            url=self.url_base + path,
            params=dict(params or {}),
            json=body,
            headers=self.http_headers,
        )
        response = self.request_decorator(self._send)(prepared, None)
        return dict(response.json())

    def _send(self, prepared: requests.PreparedRequest, _: Mapping[str, Any] | None) -> requests.Response:
        # Authenticated on every try: an OAuth token may have been refreshed since the last one.
        response = self.requests_session.send(
            self.authenticator(prepared),
            timeout=(CONNECT_TIMEOUT_SECONDS, self.timeout),
            allow_redirects=self.allow_redirects,
        )
        self.validate_response(response)
        return response

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # The SDK's decorator (backoff on the hooks below), plus what its hook cannot express: a HubSpot that
        # cannot be reached at all is retried for ``unreachable`` seconds, then the run stops naming api_url.
        first_failure: list[float] = []

        def give_up(exception: Exception) -> bool:
            if connection_failure(exception) is None:
                return False
            now = time.monotonic()
            first_failure[:] = first_failure or [now]
            return now - first_failure[0] >= self.portal.retry_waits.unreachable

        retried = backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_ERRORS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            giveup=give_up,
            jitter=self.backoff_jitter,
            logger=self.logger,
        )(func)

        def request(*args: Any, **kwargs: Any) -> Any:
            try:
                return retried(*args, **kwargs)
            except requests.exceptions.ConnectionError as exc:
                if (why := connection_failure(exc)) is None:
                    raise
                raise FatalAPIError(
                    f"Cannot reach HubSpot at {self.url_base} ({why}): check the api_url setting and this "
                    "machine's network (DNS, proxy, firewall)."
                ) from None

        return request

    # Error policy -------------------------------------------------------------------------------

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        body = hubspot_error(response)
        message = self.response_error_message(response)
        if status == 429:
            if body.get("policyName") == "DAILY":  # retrying would mean hours of 429s
                raise FatalAPIError(f"HubSpot daily API limit reached; try again tomorrow. {message}")
            waits = self.portal.retry_waits
            wait = waits.search_rate_limited if is_search(response) else waits.rate_limited
            self.portal.budget.window_for(urlparse(response.url).path).throttled(wait)
            raise RetriableAPIError(message, response)
        if status == 477:  # Migration in progress: retry after Retry-After seconds, which can be hours
            retry_after = int(response.headers.get("Retry-After", "0") or 0)
            if retry_after > self.portal.retry_waits.max_wait:
                resume = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                    seconds=retry_after
                )
                raise FatalAPIError(
                    f"HubSpot is migrating this portal's data and asks to wait {retry_after:.0f} s: run "
                    f"again after {resume:%Y-%m-%d %H:%M} UTC; the run resumes from its last state. {message}"
                )
            raise RetriableAPIError(message, response)
        if status >= 500 or status == 423:  # 423: record locked for ~2 s during heavy writes
            raise RetriableAPIError(message, response)
        if status == 401:
            raise FatalAPIError(
                f"HubSpot token invalid or expired: check access_token (or the OAuth settings). {message}"
            )
        if status == 403:
            scopes = ", ".join(missing_scopes(body)) or "unknown (HubSpot did not say)"
            raise MissingScopeError(f"HubSpot token lacks required scope(s): {scopes}. {message}")
        raise FatalAPIError(message)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        # Status, path, HubSpot's message and correlation id only: never the query string or headers.
        body = hubspot_error(response)
        correlation = body.get("correlationId") or response.headers.get("X-HubSpot-Correlation-Id", "-")
        hubspot_message = body.get("message") or response.reason
        category = body.get("category") or body.get("policyName") or ""
        return (
            f"HubSpot returned {response.status_code} for {response.request.method} "
            f"{urlparse(response.url).path}: {hubspot_message}"
            + (f" [{category}]" if category else "")
            + f" (correlation id {correlation})"
        )

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        attempt = 0
        exception = yield  # type: ignore[misc]
        while True:
            attempt += 1
            exception = yield self._retry_wait(exception, attempt)

    def _retry_wait(self, exception: BaseException, attempt: int) -> float:
        waits = self.portal.retry_waits
        response = getattr(exception, "response", None)
        if isinstance(response, requests.Response):
            retry_after = retry_after_seconds(response)
            if retry_after is not None:  # rare from HubSpot, but authoritative when sent
                return min(retry_after, waits.max_wait)
            if response.status_code == 429:
                return waits.search_rate_limited if is_search(response) else waits.rate_limited
        return min(waits.server_error * 2 ** (attempt - 1), waits.max_wait)

    @override
    def backoff_jitter(self, value: float) -> float:
        return value * random.uniform(1.0, 1.25)  # noqa: S311 - jitter, not cryptography

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries") or DEFAULT_MAX_RETRIES) + 1

    @override
    def backoff_handler(self, details: Details) -> None:
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        if isinstance(response, requests.Response):
            reason = f"status {response.status_code}"
        elif exception is not None and (why := connection_failure(exception)):
            reason = f"cannot connect to {self.url_base}: {why}"
        else:
            reason = type(exception).__name__
        self.log(
            "Retrying HubSpot request in %.2f s after try %d (%s)",
            details.get("wait") or 0.0,
            details.get("tries") or 0,
            reason,
            level=logging.WARNING,
        )
