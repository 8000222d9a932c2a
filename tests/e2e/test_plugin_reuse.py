"""Other Meltano projects can add our plugins from plugins/ and mix them with loaders from PyPI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from ruamel.yaml import YAML

from tests.e2e.meltano_project import REPO_ROOT, MeltanoProject
from tests.harness.landed import portal_objects
from tests.hubspot_simulator import Simulator

# Both tests install a plugin from PyPI (target-jsonl, tap-postgres) into a new Meltano project.
pytestmark = [pytest.mark.xdist_group("meltano"), pytest.mark.slow, pytest.mark.needs_registry]

TOKEN = "pat-na1-reuse-test-token"
TARGET_JSONL = {
    "name": "target-jsonl",
    "namespace": "target_jsonl",
    "pip_url": "target-jsonl==0.1.4",
    "executable": "target-jsonl",
    "settings": [{"name": "destination_path", "kind": "string"}],
}


def new_project(root: Path) -> MeltanoProject:
    root.mkdir(parents=True)
    (root / "meltano.yml").write_text(
        f"project_id: {uuid.uuid4()}\nsend_anonymous_usage_stats: false\n"
        "default_environment: prod\nenvironments:\n- name: prod\n"
    )
    return MeltanoProject(root, root / "system.db")


def add_from_ref(project: MeltanoProject, plugin_type: str, name: str, definition: Path) -> None:
    """`meltano add --from-ref`, not installed: the definition's pip_url names the unpublished package."""
    project.meltano("add", "--plugin-type", plugin_type, name, "--from-ref", str(definition), "--no-install")


def point_pip_url_at_checkout(project: MeltanoProject) -> None:
    """Until the package is published, the definition's pip_url is replaced by this checkout."""
    yaml = YAML()
    path = project.root / "meltano.yml"
    config = yaml.load(path.read_text())
    (extractor,) = config["plugins"]["extractors"]
    extractor["pip_url"] = f"-e {REPO_ROOT / 'tap-hubspot-raw'}"
    config["plugins"]["loaders"] = [TARGET_JSONL]
    with path.open("w") as handle:
        yaml.dump(config, handle)


def test_given_plugin_definition_file_when_added_to_new_project_then_tap_runs_into_target_jsonl_from_pypi(
    tmp_path: Path, make_simulator: Any
) -> None:
    sim: Simulator = make_simulator(contacts=60, deals=10, calls=20, seed=5, access_tokens=(TOKEN,))
    project = new_project(tmp_path / "other-project")
    definition = REPO_ROOT / "plugins" / "extractors" / "tap-hubspot-raw--hubspot-supabase.yml"

    add_from_ref(project, "extractor", "tap-hubspot-raw", definition)
    point_pip_url_at_checkout(project)
    project.meltano("install")
    output_dir = tmp_path / "jsonl"
    output_dir.mkdir()
    project.run_pipeline(
        {
            "TAP_HUBSPOT_RAW_ACCESS_TOKEN": TOKEN,
            "TAP_HUBSPOT_RAW_API_URL": sim.url,
            "TARGET_JSONL_DESTINATION_PATH": str(output_dir),
        },
        "tap-hubspot-raw",
        "target-jsonl",
    )

    added = YAML().load((project.root / "meltano.yml").read_text())["plugins"]["extractors"][0]
    assert {s["name"] for s in added["settings"]} >= {"access_token", "api_url", "object_types"}
    for stream in ("contacts", "deals", "calls"):
        (jsonl_file,) = output_dir.glob(f"{stream}-*.jsonl")  # target-jsonl stamps file names
        lines = jsonl_file.read_text().splitlines()
        records = {record["id"]: record for record in map(json.loads, lines)}
        expected = portal_objects(sim, stream)
        assert records.keys() == expected.keys()
        sample = next(iter(expected))
        assert records[sample]["properties"] == expected[sample]["properties"]


TAP_POSTGRES = {
    "name": "tap-postgres",
    "namespace": "tap_postgres",
    "pip_url": "meltanolabs-tap-postgres==0.10.0",
    "executable": "tap-postgres",
    "capabilities": ["catalog", "discover", "state", "about"],
    "settings": [{"name": "sqlalchemy_url", "kind": "string", "sensitive": True}, {"name": "filter_schemas"}],
    "config": {"filter_schemas": ["crm_source"]},
}


def test_given_another_tap_from_pypi_when_run_into_our_target_then_its_stream_lands_keyed_on_its_key(
    tmp_path: Path, database_url: str
) -> None:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE SCHEMA crm_source; CREATE TABLE crm_source.people"
            " (person_id int PRIMARY KEY, full_name text, signed_up date, score numeric)"
        )
        cur.execute(
            "INSERT INTO crm_source.people VALUES (1, 'Ada', '2024-01-02', 1.5), (2, 'Иван 🚀', NULL, NULL)"
        )
    project = new_project(tmp_path / "other-project")
    definition = REPO_ROOT / "plugins" / "loaders" / "target-supabase-hybrid--hubspot-supabase.yml"
    add_from_ref(project, "loader", "target-supabase-hybrid", definition)
    yaml = YAML()
    config = yaml.load((project.root / "meltano.yml").read_text())
    config["plugins"]["loaders"][0]["pip_url"] = f"-e {REPO_ROOT / 'target-supabase-hybrid'}"
    config["plugins"]["extractors"] = [TAP_POSTGRES]
    with (project.root / "meltano.yml").open("w") as handle:
        yaml.dump(config, handle)
    project.meltano("install")

    project.run_pipeline(
        {
            # tap-postgres insists on a password in its URL; the test server trusts local logins anyway.
            "TAP_POSTGRES_SQLALCHEMY_URL": database_url.replace("postgres@", "postgres:unused@", 1),
            "TARGET_SUPABASE_HYBRID_DATABASE_URL": database_url,
        },
        "tap-postgres",
        "target-supabase-hybrid",
    )

    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT person_id, raw_json FROM public.crm_source_people ORDER BY person_id")
        rows = cur.fetchall()
        cur.execute("SELECT stream, status, records_received FROM sync_logs")
        logs = cur.fetchall()
    assert [(key, raw["full_name"]) for key, raw in rows] == [("1", "Ada"), ("2", "Иван 🚀")]
    assert logs == [("crm_source-people", "success", 2)]
