"""Running Meltano from the tests: the repo's own project, or a throwaway one, isolated from the user's."""

from __future__ import annotations

import os
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
    """A Meltano project directory plus the environment every command in it runs with."""

    root: Path
    system_db: Path

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TAP_HUBSPOT_RAW_", "TARGET_SUPABASE_HYBRID_", "MELTANO_"))
        }
        env.update(
            MELTANO_DATABASE_URI=f"sqlite:///{self.system_db}",
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

    def runs(self) -> list[dict[str, Any]]:
        """Meltano's own record of runs, from its system database."""
        with sqlite3.connect(self.system_db) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute("SELECT run_id, job_name, state FROM runs ORDER BY started_at").fetchall()
        return [dict(row) for row in rows]
