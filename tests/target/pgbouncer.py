"""A real PgBouncer in transaction mode with ONE server connection, like Supabase's transaction pooler.

Debian's `pgbouncer` package (`.ci/run` installs it); tests using it are skipped where it is absent. Every
client transaction runs on that one server session in turn, so anything a client leaves in the session
(prepared statements, temp tables, advisory locks, SET) is there for the next client to see.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.local_postgres import SERVER_USER_WHEN_ROOT, free_port

PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(path).exists()), None
)
SKIP_REASON = "PgBouncer is not installed (Debian/Ubuntu: apt-get install pgbouncer; .ci/run installs it)"


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"pgbouncer exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}"
            )
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening")


def make_certificates(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `host` signed by it: (ca.crt, server.crt, server.key)."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is needed to make test certificates"
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    (directory / "san.ext").write_text(f"subjectAltName=DNS:{host}\n")
    for command in (
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca_crt,
            "-days",
            "2",
            "-subj",
            "/CN=target-supabase-hybrid test CA",
        ],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={host}"],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca_crt,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            crt,
            "-days",
            "2",
            "-extfile",
            directory / "san.ext",
        ],
    ):
        subprocess.run([openssl, *map(str, command)], check=True, capture_output=True)
    return ca_crt, crt, key


@contextmanager
def transaction_pooler(database_url: str, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Start PgBouncer in front of `database_url`'s server; yield the same URL pointing at PgBouncer.

    `tls` = (certificate, key): clients must then connect with TLS, as to Supabase.
    """
    assert PGBOUNCER is not None, SKIP_REASON
    upstream = urlsplit(database_url)
    workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    run_as = SERVER_USER_WHEN_ROOT if os.geteuid() == 0 else None  # PgBouncer refuses to run as root
    port = free_port()
    password = f" password={upstream.password}" if upstream.password else ""
    (workdir / "userlist.txt").write_text(f'"{upstream.username}" ""\n')
    client_tls = ""
    if tls is not None:
        for source, name in zip(tls, ("server.crt", "server.key"), strict=True):
            shutil.copy(source, workdir / name)
        client_tls = (
            f"client_tls_sslmode = require\nclient_tls_cert_file = {workdir / 'server.crt'}\n"
            f"client_tls_key_file = {workdir / 'server.key'}\n"
        )
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={upstream.hostname} port={upstream.port} user={upstream.username}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / "userlist.txt"}
pool_mode = transaction
default_pool_size = 1
max_db_connections = 1
max_client_conn = 100
; transaction mode runs no reset query between clients: session state would leak, which is what we check
server_reset_query =
logfile = {workdir / "pgbouncer.log"}
pidfile = {workdir / "pgbouncer.pid"}
{client_tls}"""
    )
    if run_as is not None:
        shutil.chown(workdir, run_as)
        for path in workdir.iterdir():
            shutil.chown(path, run_as)
    proc = subprocess.Popen(
        [PGBOUNCER, str(workdir / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=run_as,
    )
    try:
        _wait_for_port(port, proc, workdir / "pgbouncer.log")
        netloc = f"{upstream.username}@127.0.0.1:{port}"
        yield urlunsplit(upstream._replace(netloc=netloc))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
