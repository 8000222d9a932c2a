"""Running Meltano from the tests: the repo's own project, or a throwaway one, isolated from the user's."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).parent / "meltano")
STATE_ID = "prod:tap-hubspot-raw-to-target-supabase-hybrid"


@dataclass
class MeltanoProject:
    """A Meltano project directory plus the environment every command in it runs with.

    `system_db` is a SQLite file, or the SQLAlchemy URL of a system database elsewhere (PostgreSQL).
    """

    root: Path
    system_db: Path | str

    @property
    def system_db_uri(self) -> str:
        return self.system_db if isinstance(self.system_db, str) else f"sqlite:///{self.system_db}"

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TAP_HUBSPOT_", "TARGET_SUPABASE_", "MELTANO_"))
        }
        env.update(
            MELTANO_DATABASE_URI=self.system_db_uri,
            MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
            MELTANO_DISABLE_USER_YAML_CONFIG="true",
            MELTANO_CLI_DISABLE_VERSION_CHECK="true",
        )
        env.update(extra)
        return env

    def meltano(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: int = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run a meltano command; fail the test with its output when it fails."""
        result = subprocess.run(
            [MELTANO, *args],
            cwd=self.root,
            env=self.env(env or {}),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-6000:]
            raise AssertionError(f"meltano {' '.join(args)} failed ({result.returncode}):\n{output}")
        return result

    def run_pipeline(self, env: Mapping[str, str], *blocks: str) -> tuple[str, str]:
        """`meltano run` with a run id of our choosing; returns (run_id, everything it printed)."""
        run_id = str(uuid.uuid4())
        result = self.meltano("--environment=prod", "run", *blocks, env={**env, "MELTANO_RUN_ID": run_id})
        return run_id, result.stdout + result.stderr

    def start_pipeline(self, env: Mapping[str, str], *blocks: str) -> tuple[str, subprocess.Popen[str]]:
        """`meltano run` in a process group of its own (Ctrl-C reaches a whole group); output merged."""
        run_id = str(uuid.uuid4())
        proc = subprocess.Popen(
            [MELTANO, "--environment=prod", "run", *blocks],
            cwd=self.root,
            env=self.env({**env, "MELTANO_RUN_ID": run_id}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return run_id, proc

    def runs(self) -> list[dict[str, Any]]:
        """Meltano's own record of runs, from its SQLite system database."""
        assert isinstance(self.system_db, Path), "runs() reads a SQLite system database"
        with sqlite3.connect(self.system_db) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT run_id, job_name, state FROM runs ORDER BY started_at").fetchall()
        return [dict(row) for row in rows]


def copy_of_project(root: Path) -> Path:
    """This repository's Meltano project as a deployment checks it out: `meltano.yml` and the plugin packages,
    no `.meltano/` (a new container, a new CI runner)."""
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "meltano.yml", root / "meltano.yml")
    for package in ("tap-hubspot-raw", "target-supabase-hybrid"):
        (root / package).symlink_to(REPO_ROOT / package)
    return root
