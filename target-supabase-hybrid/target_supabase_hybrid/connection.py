"""Connections: TLS policy, pooler-safe settings, secret scrubbing and bounded retries of transient errors.

psycopg2 never prepares statements server-side and every statement here runs inside an explicit
transaction, so the same code works direct, through Supavisor's session mode and its transaction mode.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg2
import psycopg2.extensions

from target_supabase_hybrid.errors import DatabaseSettingError, TargetError

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
LOCAL_HOSTADDRS = frozenset({"127.0.0.1", "::1"})
INSECURE_SSLMODES = frozenset({"disable", "allow", "prefer"})
TRANSIENT_SQLSTATE_PREFIXES = ("08", "40", "57P01", "57P02", "57P03", "53300")
APPLICATION_NAME = "target-supabase-hybrid"
PERCENT_ENCODE_HINT = (
    "percent-encode reserved characters in the user name and password (@ as %40, / as %2F, # as %23,"
    " % as %25, : as %3A)"
)
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


def error_line(exc: BaseException) -> str:
    """An error's first line: PostgreSQL's DETAIL and CONTEXT lines quote row values (emails, phones,
    raw_json), so only the primary message is ever passed on to logs and `sync_logs.error`."""
    diag = getattr(exc, "diag", None)
    text = (getattr(diag, "message_primary", None) or str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _normalize_url(url: str) -> str:
    # SQLAlchemy-style URLs ("postgresql+psycopg2://") are accepted; libpq wants the bare scheme.
    return re.sub(r"^postgres(?:ql)?\+\w+://", "postgresql://", url.strip())


def _split(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


def is_local(dsn: Mapping[str, str], env: Mapping[str, str] = os.environ) -> bool:
    """Unix sockets and loopback addresses need no TLS: local only when every host *and* every hostaddr is.

    libpq connects to `hostaddr` when given (`host` then only names the server), and takes either from
    PGHOST / PGHOSTADDR when the URL has none; a service file's hosts are unknown here, so not local.
    """
    if dsn.get("service") or env.get("PGSERVICE"):
        return False
    hosts = _split(dsn.get("host") or env.get("PGHOST", ""))
    addresses = _split(dsn.get("hostaddr") or env.get("PGHOSTADDR", ""))
    return all(h.startswith("/") or h in LOCAL_HOSTS for h in hosts) and all(
        a in LOCAL_HOSTADDRS for a in addresses
    )


def _parse(url: str) -> dict[str, str]:
    """libpq's reading of the URL; a password with unencoded reserved characters is reported, never shown."""
    try:
        dsn: dict[str, str] = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        # libpq's message quotes the offending part, which may be the password.
        raise ValueError(f"database_url is not a valid PostgreSQL URL; {PERCENT_ENCODE_HINT}.") from None
    ports = _split(dsn.get("port", ""))
    if any("@" in dsn.get(part, "") for part in ("host", "hostaddr", "dbname")) or not all(
        p.isdigit() for p in ports
    ):
        # An unencoded @ or / in the password moves its tail into the host, port or database name.
        raise ValueError(
            "database_url is not read as intended: part of it lands in the host, port or database name"
            f" (details not shown: they may hold the password); {PERCENT_ENCODE_HINT}."
        )
    return dsn


class ConnectionFactory:
    """Opens psycopg2 connections with the target's TLS policy; knows which strings are secret."""

    def __init__(self, url: str, sslmode: str | None = None, *, allow_insecure: bool = False) -> None:
        """Validate the URL and the TLS policy up front so a bad setting fails before any data is read."""
        self._url = _normalize_url(url)
        dsn = _parse(self._url)
        self.secrets: tuple[str, ...] = tuple(s for s in (url, self._url, dsn.get("password", "")) if s)
        self.host = dsn.get("host") or dsn.get("hostaddr") or os.environ.get("PGHOST") or "(unix socket)"
        self.database = dsn.get("dbname", "")
        self.user = dsn.get("user") or os.environ.get("PGUSER") or "(default user)"
        self._options: dict[str, Any] = {"application_name": APPLICATION_NAME}
        if "connect_timeout" not in dsn:
            self._options["connect_timeout"] = 15
        effective = sslmode or dsn.get("sslmode") or (None if is_local(dsn) else "require")
        if effective:
            self._options["sslmode"] = effective
        self.sslmode = effective or "prefer"
        if not is_local(dsn) and self.sslmode in INSECURE_SSLMODES and not allow_insecure:
            raise InsecureConnectionError(
                f"sslmode={effective!r} for remote host {self.host!r} would send data unencrypted; use "
                "sslmode 'require' or stricter, or set allow_insecure_connection: true to accept the risk."
            )

    def connect(self) -> psycopg2.extensions.connection:
        """A new connection (autocommit off: every unit of work is one explicit transaction).

        Raises `DatabaseSettingError` when retrying cannot help (see `permanent_problem`).
        """
        try:
            return psycopg2.connect(self._url, **self._options)
        except psycopg2.Error as exc:
            problem = permanent_problem(str(exc), self)
            if problem:
                raise DatabaseSettingError(self.scrub(problem)) from None
            raise type(exc)(self.scrub(str(exc))) from None

    def check(self) -> None:
        """Connect once: a wrong setting fails here, named, before any input is processed."""
        self.connect().close()

    def check_reachable(self, attempts: int, logger: logging.Logger) -> None:
        """`check`; a server that is down is retried like a batch, then reported in one line."""
        try:
            with_retries(self.check, attempts=attempts, logger=logger, scrubber=self.scrub)
        except psycopg2.Error as exc:
            raise TargetError(
                f"database_url: could not connect to {self.host} ({attempts} attempts): "
                + self.scrub(error_line(exc))
            ) from None

    def scrub(self, text: str) -> str:
        """`scrub` with this connection's secrets."""
        return scrub(text, self.secrets)


# libpq and the server report these failures only as text (no SQLSTATE before a session exists); Supavisor,
# the Supabase pooler, answers an unknown user with "Tenant or user not found". Retrying cannot help them.
_PERMANENT_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), advice)
    for pattern, advice in (
        (
            r"password authentication failed|no password supplied",
            "database_url: the server at {host} refused the password of user {user!r} (password"
            " authentication failed). Check the password; " + PERCENT_ENCODE_HINT + ".",
        ),
        (r'database "[^"]*" does not exist', "database_url: database {database!r} does not exist on {host}."),
        (
            r'role "[^"]*" does not exist|Tenant or user not found',
            "database_url: user {user!r} does not exist on {host} (Supabase pooler user names look like"
            " postgres.<project-ref>).",
        ),
        (r"could not translate host name", "database_url: host {host!r} is unknown (its DNS lookup failed)."),
        (
            r"server does not support SSL",
            "sslmode: the server at {host} does not support TLS (SSL), but sslmode={sslmode!r} requires it."
            " Use the server's TLS endpoint; on a trusted private network set sslmode: disable together with"
            " allow_insecure_connection: true.",
        ),
        (
            r"no pg_hba.conf entry",
            "database_url: the server at {host} accepts no connection from this machine for user {user!r} to"
            " database {database!r} (no pg_hba.conf entry{encryption}).",
        ),
        (r"certificate|sslrootcert", "sslmode={sslmode!r}: TLS verification of {host} failed: {last_line}"),
    )
)


def permanent_problem(message: str, factory: ConnectionFactory) -> str | None:
    """What the user must fix, when a failed connection is one retrying cannot help; else None."""
    for pattern, advice in _PERMANENT_PROBLEMS:
        if pattern.search(message):
            return advice.format(
                host=factory.host,
                user=factory.user,
                database=factory.database,
                sslmode=factory.sslmode,
                encryption=", without TLS" if "no encryption" in message else "",
                last_line=message.strip().splitlines()[-1],
            )
    return None


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
                scrubber(error_line(exc)),
            )
            time.sleep(delay)
            delay *= 2
            on_retry()
    raise AssertionError("unreachable")  # pragma: no cover
