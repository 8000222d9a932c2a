"""The Dagster recipe (README "Orchestrating with Dagster"): `orchestrate/dagster/` installed from PyPI into
its own virtualenv, its schedules those of meltano.yml, and both portals' jobs run at once by `dagster job
execute` with their schedules' run config, into one database whose system schema holds Meltano's runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.e2e.meltano_project import REPO_ROOT, MeltanoProject, copy_of_project
from tests.e2e.portals import Portal, in_schema, meltano_runs, sync_logs, system_database, two_portals
from tests.harness.landed import assert_database_equals_portal

# Installs Dagster and dagster-meltano from PyPI into a new virtualenv.
pytestmark = [pytest.mark.slow, pytest.mark.needs_registry]

RECIPE = REPO_ROOT / "orchestrate" / "dagster"
DEFINITIONS = RECIPE / "definitions.py"
PROBE = Path(__file__).with_name("dagster_probe.py")
FULL_REFRESH_LOG = "Performing full refresh"  # what Meltano logs when MELTANO_RUN_FULL_REFRESH is set


@pytest.fixture(scope="module")
def dagster_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recipe's `requirements.txt` in a virtualenv of its own, as the README installs it."""
    venv = tmp_path_factory.mktemp("dagster") / "venv"
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True, timeout=300)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            str(RECIPE / "requirements.txt"),
        ],
        check=True,
        timeout=1200,
    )
    return venv


class Dagster:
    """Dagster's CLI (and the probe) in the recipe's virtualenv, for one Meltano project and DAGSTER_HOME."""

    def __init__(self, venv: Path, project: MeltanoProject, home: Path, env: dict[str, str]) -> None:
        home.mkdir()
        shutil.copy(RECIPE / "dagster.yaml", home / "dagster.yaml")
        self.venv = venv
        # As the README runs it: the project's meltano on PATH, its root and the instance's home named.
        self.env = project.env(
            {
                **env,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "MELTANO_PROJECT_ROOT": str(project.root),
                "DAGSTER_HOME": str(home),
            }
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=self.env["DAGSTER_HOME"],
        )

    def init_instance(self) -> None:
        """`dagster instance migrate`: the instance's storage created once, before runs start at once."""
        result = self.run(str(self.venv / "bin" / "dagster"), "instance", "migrate")
        assert result.returncode == 0, result.stderr[-4000:]

    def probe(self, *args: str) -> list[dict[str, Any]]:
        result = self.run(str(self.venv / "bin" / "python"), str(PROBE), *args)
        assert result.returncode == 0, result.stderr[-4000:]
        found: list[dict[str, Any]] = json.loads(result.stdout.strip().splitlines()[-1])
        return found

    def execute(self, job: str, run_config: dict[str, Any], config_file: Path) -> str:
        """`dagster job execute` of the job with that run config; everything it printed."""
        config_file.write_text(json.dumps(run_config))  # JSON is YAML
        result = self.run(
            str(self.venv / "bin" / "dagster"),
            "job",
            "execute",
            "-f",
            str(DEFINITIONS),
            "-j",
            job,
            "-c",
            str(config_file),
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-6000:]
        return output


def meltano_schedules() -> list[dict[str, Any]]:
    return list(YAML(typ="safe").load((REPO_ROOT / "meltano.yml").read_text())["schedules"])


def test_given_the_dagster_recipe_then_schedules_mirror_meltano_and_portal_jobs_run_in_parallel(
    dagster_venv: Path, make_simulator: Any, database_url: str, tmp_path: Path
) -> None:
    portals: list[Portal] = two_portals(make_simulator)
    project = MeltanoProject(copy_of_project(tmp_path / "project"), system_database(database_url))
    project.meltano("install")
    env = {"TARGET_SUPABASE_HYBRID_DATABASE_URL": database_url}
    for portal in portals:
        env.update(portal.env())
    dagster = Dagster(dagster_venv, project, tmp_path / "dagster-home", env)

    schedules = {schedule["name"]: schedule for schedule in dagster.probe("schedules", str(DEFINITIONS))}

    expected = meltano_schedules()
    assert sorted(schedules) == sorted(s["name"].replace("-", "_") for s in expected)
    for meltano_schedule in expected:
        schedule = schedules[meltano_schedule["name"].replace("-", "_")]
        assert schedule["cron"] == meltano_schedule["interval"]
        assert schedule["job"] == meltano_schedule["job"].replace("-", "_")
        ops = schedule["run_config"]["ops"]
        assert ops
        assert all(op["config"]["env"] == meltano_schedule.get("env", {}) for op in ops.values())

    dagster.init_instance()
    a, b = portals
    runs = {"a": "hubspot_portal_a_incremental", "b": "hubspot_portal_b_full_refresh"}
    with ThreadPoolExecutor(2) as pool:
        futures = {
            portal.letter: pool.submit(
                dagster.execute,
                f"hubspot_portal_{portal.letter}",
                schedules[runs[portal.letter]]["run_config"],
                tmp_path / f"run-config-{portal.letter}.json",
            )
            for portal in portals
        }
        outputs = {letter: future.result() for letter, future in futures.items()}

    assert FULL_REFRESH_LOG in outputs["b"]
    assert FULL_REFRESH_LOG not in outputs["a"]
    dagster_runs = {run["job"]: run for run in dagster.probe("runs")}
    assert {job: run["status"] for job, run in dagster_runs.items()} == {
        "hubspot_portal_a": "SUCCESS",
        "hubspot_portal_b": "SUCCESS",
    }
    for portal in portals:
        assert_database_equals_portal(portal.sim, in_schema(database_url, portal.schema))
        run_id = dagster_runs[f"hubspot_portal_{portal.letter}"]["run_id"]
        assert {row["meltano_run_id"] for row in sync_logs(database_url, portal.schema)} == {run_id}
    assert sorted((run["run_id"], run["job_name"]) for run in meltano_runs(database_url)) == sorted(
        (dagster_runs[f"hubspot_portal_{p.letter}"]["run_id"], p.state_id) for p in (a, b)
    )
