"""Database settings that cannot work fail at once: not retried, one line naming the setting, no traceback,
and never any part of the password — on a PostgreSQL that checks passwords (scram-sha-256), as Supabase
does."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
import pytest

from tests.conftest import REPO_ROOT
from tests.local_postgres import LocalPostgres
from tests.target.cli import error_lines, run_target
from tests.target.singer import hubspot, query, record, schema, state

ADMIN_PASSWORD = "Adm1n-pa55-q7Zr"
# Each piece between the reserved characters is distinctive, so no fragment can hide in the output.
RESERVED_PASSWORD = "Kx7qVb@9zHj3w/Tn5rLp#4mWd"
FRAGMENTS = ("Kx7qVb", "9zHj3w", "Tn5rLp", "4mWd")
MESSAGES = [schema("contacts"), record("contacts", hubspot("1", email="a@x.io")), state({"b": 1})]


def with_credentials(url: str, user: str, password: str | None = None, path: str | None = None) -> str:
    parts = urlsplit(url)
    secret = "" if password is None else f":{password}"
    netloc = f"{user}{secret}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, path=path or parts.path))


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """A PostgreSQL of our own that checks passwords over TCP; yields the admin URL (with its password)."""
    data_dir = REPO_ROOT / ".data" / f"test-postgres-passwords-{os.getpid()}"
    shutil.rmtree(data_dir, ignore_errors=True)
    server = LocalPostgres(data_dir, durable=False)
    server.start()
    try:
        conn = psycopg2.connect(server.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ALTER ROLE postgres PASSWORD %s", (ADMIN_PASSWORD,))
            cur.execute("CREATE ROLE loader LOGIN PASSWORD %s", (RESERVED_PASSWORD,))
            cur.execute("CREATE DATABASE loads OWNER loader")
            # Written in place, so the file keeps the server user as its owner.
            (data_dir / "pg_hba.conf").write_text(
                "local all all trust\n"
                "host all all 127.0.0.1/32 scram-sha-256\n"
                "host all all ::1/128 scram-sha-256\n"
            )
            cur.execute("SELECT pg_reload_conf()")
        conn.close()
        yield with_credentials(server.admin_url, "postgres", ADMIN_PASSWORD)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        Path(f"{data_dir}.listen_port").unlink(missing_ok=True)


def assert_fails_with_one_line(result, *expected: str) -> str:
    """Exit 1; a single ERROR line containing each of `expected`; no traceback, no retry."""
    assert result.returncode == 1, result.stderr[-3000:]
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr[-3000:]
    for text in expected:
        assert text in errors[0], errors[0]
    assert "Traceback" not in result.stderr
    assert "retrying" not in result.stderr.lower()
    return errors[0]


def test_given_wrong_password_then_one_line_names_database_url_and_hints_at_percent_encoding(
    password_server: str, tmp_path: Path
) -> None:
    url = with_credentials(password_server, "postgres", "Wr0ng-pa55-zz81")

    result = run_target(tmp_path, {"database_url": url}, MESSAGES)

    line = assert_fails_with_one_line(
        result, "database_url", "password authentication failed", "percent-encode"
    )
    assert "'postgres'" in line
    assert "Wr0ng-pa55-zz81" not in result.stderr + result.stdout
    assert result.stdout == ""  # no state


def test_given_missing_database_then_one_line_names_it(password_server: str, tmp_path: Path) -> None:
    url = with_credentials(password_server, "postgres", ADMIN_PASSWORD, path="/no_such_db")

    result = run_target(tmp_path, {"database_url": url}, MESSAGES)

    assert_fails_with_one_line(result, "database_url", "database 'no_such_db' does not exist")
    assert ADMIN_PASSWORD not in result.stderr


def test_given_unknown_host_then_one_line_names_the_host(tmp_path: Path) -> None:
    url = "postgresql://postgres.abcd:Secret-pa55-x1@no-such-host.invalid:6543/postgres"

    result = run_target(tmp_path, {"database_url": url}, MESSAGES)

    assert_fails_with_one_line(result, "database_url", "host 'no-such-host.invalid' is unknown")
    assert "Secret-pa55-x1" not in result.stderr


def test_given_server_without_tls_and_sslmode_require_then_one_line_names_sslmode(
    database_url: str, tmp_path: Path
) -> None:
    result = run_target(tmp_path, {"database_url": database_url, "sslmode": "require"}, MESSAGES)

    assert_fails_with_one_line(result, "sslmode", "does not support TLS", "allow_insecure_connection")


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Kx7qVb@9zHj3w", id="at"),
        pytest.param("Kx7qVb/9zHj3w", id="slash"),
        pytest.param(RESERVED_PASSWORD, id="at-slash-hash"),
    ],
)
def test_given_password_with_unencoded_reserved_characters_then_no_fragment_is_shown_and_encoding_is_advised(
    password_server: str, tmp_path: Path, password: str
) -> None:
    url = with_credentials(password_server, "loader", password, path="/loads")

    result = run_target(tmp_path, {"database_url": url}, MESSAGES)

    assert result.returncode == 1
    assert "percent-encode" in result.stderr
    assert "Traceback" not in result.stderr
    output = result.stdout + result.stderr
    leaked = [fragment for fragment in FRAGMENTS if fragment in output]
    assert not leaked, output[-3000:]


def test_given_percent_encoded_reserved_password_then_it_loads(password_server: str, tmp_path: Path) -> None:
    url = with_credentials(password_server, "loader", quote(RESERVED_PASSWORD, safe=""), path="/loads")

    result = run_target(tmp_path, {"database_url": url}, MESSAGES)

    assert result.returncode == 0, result.stderr[-3000:]
    assert query(url, "SELECT hubspot_id FROM hubspot_contacts_raw") == [{"hubspot_id": "1"}]
    assert not [fragment for fragment in FRAGMENTS if fragment in result.stdout + result.stderr]


def test_given_unencoded_hash_in_password_then_libpq_reads_it_and_it_loads(
    password_server: str, tmp_path: Path
) -> None:
    admin = psycopg2.connect(password_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("ALTER ROLE loader PASSWORD 'Tn5rLp#4mWd'")
    admin.close()
    try:
        url = with_credentials(password_server, "loader", "Tn5rLp#4mWd", path="/loads")

        result = run_target(tmp_path, {"database_url": url}, MESSAGES)

        assert result.returncode == 0, result.stderr[-3000:]
        assert "Tn5rLp" not in result.stdout + result.stderr
    finally:
        admin = psycopg2.connect(password_server)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("ALTER ROLE loader PASSWORD %s", (RESERVED_PASSWORD,))
        admin.close()
