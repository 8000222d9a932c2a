"""Other Meltano projects can add our plugins from plugins/ and mix them with loaders from PyPI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.e2e.meltano_project import REPO_ROOT, MeltanoProject
from tests.hubspot_simulator import Simulator

pytestmark = [pytest.mark.xdist_group("meltano"), pytest.mark.slow]

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

    project.meltano(
        "add", "--plugin-type", "extractor", "tap-hubspot-raw", "--from-ref", str(definition), "--no-install"
    )
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
        expected = {
            obj["id"]: obj
            for archived in (False, True)
            for obj in sim.portal.iter_objects(stream, archived=archived)
        }
        assert records.keys() == expected.keys()
        sample = next(iter(expected))
        assert records[sample]["properties"] == expected[sample]["properties"]
