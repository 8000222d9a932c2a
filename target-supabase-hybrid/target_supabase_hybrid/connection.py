"""Connections: TLS policy, pooler-safe settings, secret scrubbing and bounded retries of transient errors.

psycopg2 never prepares statements server-side and every statement here runs inside an explicit
transaction, so the same code works direct, through Supavisor's session mode and its transaction mode.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg2
import psycopg2.extensions

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
INSECURE_SSLMODES = frozenset({"disable", "allow", "prefer"})
TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "57P01", "57P02", "57P03", "53300")
APPLICATION_NAME = "target-supabase-hybrid"
_URL_CREDENTIALS = re.compile(r"(\w+(?:\+\w+)?://)[^@/\s]*@")
_PASSWORD_PAIR = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)

T = TypeVar("T")


class InsecureConnectionError(ValueError):
    """A non-local database without TLS and without the explicit opt-out."""


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove credentials from a message: URL user-info, `password=` pairs and any known secret."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    return _PASSWORD_PAIR.sub(r"\1***", text)


def _normalize_url(url: str) -> str:
    # SQLAlchemy-style URLs ("postgresql+psycopg2://") are accepted; libpq wants the bare scheme.
    return re.sub(r"^postgres(?:ql)?\+\w+://", "postgresql://", url.strip())


def is_local(dsn: Mapping[str, str]) -> bool:
    """Unix sockets and loopback addresses need no TLS."""
    hosts = [h for h in dsn.get("host", "").split(",") if h]
    return not hosts or all(h.startswith("/") or h in LOCAL_HOSTS for h in hosts)


class ConnectionFactory:
    """Opens psycopg2 connections with the target's TLS policy; knows which strings are secret."""

    def __init__(self, url: str, sslmode: str | None = None, *, allow_insecure: bool = False) -> None:
        """Validate the URL and the TLS policy up front so a bad setting fails before any data is read."""
        self._url = _normalize_url(url)
        try:
            dsn = psycopg2.extensions.parse_dsn(self._url)
        except psycopg2.ProgrammingError as exc:
            raise ValueError(
                f"database_url is not a valid PostgreSQL URL: {scrub(str(exc), (url,))}"
            ) from None
        self.secrets: tuple[str, ...] = tuple(s for s in (url, self._url, dsn.get("password", "")) if s)
        self.host = dsn.get("host", "") or "(unix socket)"
        self.database = dsn.get("dbname", "")
        self._options: dict[str, Any] = {"application_name": APPLICATION_NAME}
        if "connect_timeout" not in dsn:
            self._options["connect_timeout"] = 15
        effective = sslmode or dsn.get("sslmode") or (None if is_local(dsn) else "require")
        if effective:
            self._options["sslmode"] = effective
        if not is_local(dsn) and (effective or "prefer") in INSECURE_SSLMODES and not allow_insecure:
            raise InsecureConnectionError(
                f"sslmode={effective!r} for remote host {self.host!r} would send data unencrypted; use "
                "sslmode 'require' or stricter, or set allow_insecure_connection: true to accept the risk."
            )

    def connect(self) -> psycopg2.extensions.connection:
        """A new connection (autocommit off: every unit of work is one explicit transaction)."""
        try:
            return psycopg2.connect(self._url, **self._options)
        except psycopg2.Error as exc:
            raise type(exc)(self.scrub(str(exc))) from None

    def scrub(self, text: str) -> str:
        """`scrub` with this connection's secrets."""
        return scrub(text, self.secrets)


def is_transient(exc: BaseException) -> bool:
    """Connection losses, serialization failures, deadlocks, server restarts, too many connections."""
    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)) and not getattr(
        exc, "pgcode", None
    ):
        return True
    code = getattr(exc, "pgcode", None) or ""
    return code.startswith(TRANSIENT_SQLSTATE_PREFIXES)


def with_retries(
    work: Callable[[], T],
    *,
    attempts: int,
    logger: logging.Logger,
    scrubber: Callable[[str], str],
    on_retry: Callable[[], None] = lambda: None,
    first_delay: float = 0.5,
) -> T:
    """Run `work`; on a transient error call `on_retry` (reconnect) and retry, `attempts` times at most."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except psycopg2.Error as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            logger.warning(
                "Transient database error (attempt %d of %d), retrying in %.1fs: %s",
                attempt,
                attempts,
                delay,
                scrubber(str(exc)).strip(),
            )
            time.sleep(delay)
            delay *= 2
            on_retry()
    raise AssertionError("unreachable")  # pragma: no cover
