"""Operations as the README documents them: `meltano config test` leaves no trace, the cron lines run with a
run id and their secrets from `.env`, the production recipe's placeholders cannot be used as they are."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.conftest import meltano_project_lock
from tests.e2e.meltano_project import REPO_ROOT, MeltanoProject
from tests.harness.catalogs import MELTANO_STREAMS
from tests.hubspot_simulator import Simulator
from tests.target.catalog import relations
from tests.target.cli import run_target
from tests.target.singer import hubspot, query, record, schema, state

TOKEN = "pat-na1-cron-0000-secret-token"
DB_PASSWORD = "Cr0n-db-pa55-7f3e"
README = (REPO_ROOT / "README.md").read_text()


def readme_block(language: str, containing: str) -> str:
    """The README's fenced code block in `language` that contains `containing`."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)
    (block,) = [b for b in blocks if containing in b]
    return str(block)


def recipe_env_file() -> dict[str, str]:
    """The variables the production recipe writes to `.env`."""
    block = readme_block("bash", "cat > .env")
    body = block.split("<<'ENV'\n", 1)[1].split("\nENV\n", 1)[0]
    return dict(re.findall(r"^(\w+)='(.*)'$", body, flags=re.MULTILINE))


def test_env_file_is_ignored_by_git() -> None:
    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO_ROOT, check=False)
    assert result.returncode == 0


def test_given_recipe_placeholders_copied_as_they_are_then_both_plugins_refuse_them_naming_the_setting(
    tmp_path: Path, database_url: str
) -> None:
    env = recipe_env_file()
    tier = env["TAP_HUBSPOT_RAW_RATE_LIMIT_TIER"]
    region = env["TARGET_SUPABASE_HYBRID_DEFAULT_PHONE_REGION"]
    assert tier.startswith("<")  # placeholders, not someone's values
    assert region.startswith("<")

    tap = subprocess.run(
        [str(Path(sys.executable).parent / "tap-hubspot-raw"), "--config", "ENV", "--discover"],
        env={**os.environ, "TAP_HUBSPOT_RAW_ACCESS_TOKEN": "pat-x", "TAP_HUBSPOT_RAW_RATE_LIMIT_TIER": tier},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    target = run_target(
        tmp_path, {"database_url": database_url, "default_phone_region": region}, [schema("contacts")]
    )

    assert tap.returncode != 0
    assert "rate_limit_tier" in tap.stderr
    assert target.returncode != 0
    assert "default_phone_region" in target.stderr
    assert relations(database_url) == []


@pytest.fixture(scope="module")
def repo_project(tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    project = MeltanoProject(REPO_ROOT, tmp_path_factory.mktemp("meltano") / "meltano.db")
    with meltano_project_lock():  # a module fixture: set up before (outside) the per-test lock
        project.meltano("install")
    return project


def meltano_config_test(project: MeltanoProject, database_url: str) -> str:
    """`meltano config test target-supabase-hybrid`; its output.

    Meltano 4.4.1 then terminates the loader process it already waited for and ends with ProcessLookupError,
    whatever the loader did: its verdict is the line it logs before that.
    """
    result = subprocess.run(
        [str(Path(sys.executable).parent / "meltano"), "config", "test", "target-supabase-hybrid"],
        cwd=project.root,
        env=project.env({"TARGET_SUPABASE_HYBRID_DATABASE_URL": database_url}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 or "ProcessLookupError" in output, output[-4000:]
    return output


@pytest.mark.xdist_group("meltano")
@pytest.mark.slow
def test_given_meltano_config_test_on_the_target_then_it_passes_and_leaves_no_trace(
    repo_project: MeltanoProject, database_url: str, tmp_path: Path
) -> None:
    verdict = "Test data was written to your target system"  # Meltano's words for a loader that passed
    assert verdict in meltano_config_test(repo_project, database_url)
    assert relations(database_url) == []

    loaded = run_target(
        tmp_path,
        {"database_url": database_url},
        [schema("contacts"), schema("calls"), record("contacts", hubspot("1")), state({"b": 1})],
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    before = (relations(database_url), query(database_url, "SELECT * FROM sync_logs"))
    assert verdict in meltano_config_test(repo_project, database_url)
    assert (relations(database_url), query(database_url, "SELECT * FROM sync_logs")) == before


def deployment(root: Path) -> Path:
    """This repository as the README deploys it at /srv/hubspot-supabase: the project, its .venv, .data."""
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "meltano.yml", root / "meltano.yml")
    for package in ("tap-hubspot-raw", "target-supabase-hybrid"):
        (root / package).symlink_to(REPO_ROOT / package)
    (root / ".venv").symlink_to(sys.prefix)
    (root / ".data").mkdir()
    return root


@pytest.mark.xdist_group("meltano")
@pytest.mark.slow
def test_given_readme_cron_line_then_the_scheduled_run_has_a_run_id_and_takes_its_secrets_from_env_file(
    tmp_path: Path, make_simulator: Any, database_url: str
) -> None:
    sim: Simulator = make_simulator(contacts=40, deals=8, calls=12, seed=3, access_tokens=(TOKEN,))
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "DO $$ BEGIN CREATE ROLE cron_loader LOGIN SUPERUSER PASSWORD 'x'; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    conn.close()
    url = database_url.replace("postgres@", f"cron_loader:{DB_PASSWORD}@", 1)  # trust auth ignores it
    root = deployment(tmp_path / "srv" / "hubspot-supabase")
    (root / ".env").write_text(
        f"TAP_HUBSPOT_RAW_ACCESS_TOKEN='{TOKEN}'\nTAP_HUBSPOT_RAW_API_URL='{sim.url}'\n"
        f"TARGET_SUPABASE_HYBRID_DATABASE_URL='{url}'\n"
    )
    MeltanoProject(root, root / ".meltano" / "meltano.db").meltano("install")
    cron_line = readme_block("cron", "hubspot-incremental").splitlines()[0]
    assert "%" not in cron_line  # cron turns % into a newline
    command = cron_line.split(None, 5)[5].replace("/srv/hubspot-supabase", str(root))
    home = tmp_path / "home"
    home.mkdir()
    # What cron gives a job: no variables of the user's shell, so no secrets but those in .env.
    cron_env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "SHELL": "/bin/sh", "LOGNAME": "cron"}
    cron_env["MELTANO_CLI_DISABLE_VERSION_CHECK"] = "true"  # no network look-up from the test

    result = subprocess.run(["/bin/sh", "-c", command], env=cron_env, timeout=600, check=False)

    log = (root / ".data" / "cron.log").read_text(errors="replace")
    assert result.returncode == 0, log[-4000:]
    with sqlite3.connect(root / ".meltano" / "meltano.db") as system_db:
        run_ids = [row[0] for row in system_db.execute("SELECT run_id FROM runs")]
    streams = query(
        url, "SELECT stream, status, meltano_run_id, meltano_environment FROM sync_logs ORDER BY stream"
    )
    assert [row["stream"] for row in streams] == list(MELTANO_STREAMS)
    assert {row["status"] for row in streams} == {"success"}
    assert {row["meltano_environment"] for row in streams} == {"prod"}
    (run_id,) = {row["meltano_run_id"] for row in streams}
    assert run_id
    assert run_ids == [run_id.replace("-", "")]
    assert TOKEN not in log
    assert DB_PASSWORD not in log
