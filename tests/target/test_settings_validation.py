"""Settings are checked before any input is read; `--about` offers only settings that do something."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.target.catalog import relations
from tests.target.cli import TARGET, error_lines, run_target
from tests.target.singer import hubspot, query, record, schema, state

MESSAGES = [
    schema("contacts"),
    *(record("contacts", hubspot(str(i))) for i in range(5)),
    state({"b": 1}),
]


def about() -> dict:
    output = subprocess.run(
        [TARGET, "--about", "--format=json"], capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(output))


def test_about_offers_no_sdk_setting_the_target_ignores() -> None:
    settings = about()["settings"]["properties"]

    assert not {"load_method", "batch_size_rows", "add_record_metadata"} & set(settings)
    assert {"database_url", "schema", "batch_size"} <= set(settings)


@pytest.mark.parametrize(
    "name", ["My Schema", "Hubspot", "crm-data", "1crm", "pg_hubspot", "information_schema", "x" * 64]
)
def test_given_unusable_schema_name_then_run_refused_before_anything_is_created(
    database_url: str, tmp_path: Path, name: str
) -> None:
    result = run_target(tmp_path, {"database_url": database_url, "schema": name}, MESSAGES)

    assert result.returncode != 0
    assert f"schema {name!r} is not a usable schema name" in result.stderr
    assert "Traceback" not in result.stderr
    assert relations(database_url) == []


def test_given_valid_new_schema_name_then_it_is_created_and_loaded(database_url: str, tmp_path: Path) -> None:
    result = run_target(tmp_path, {"database_url": database_url, "schema": "hubspot_crm"}, MESSAGES)

    assert result.returncode == 0, result.stderr[-3000:]
    assert relations(database_url) == ["hubspot_crm.hubspot_contacts_raw", "hubspot_crm.sync_logs"]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("batch_size_rows", 2, "batch_size_rows is not a setting of this target: use batch_size"),
        ("add_record_metadata", True, "add_record_metadata is not supported"),
        ("load_method", "overwrite", "load_method 'overwrite' is not supported"),
    ],
)
def test_given_sdk_setting_the_target_does_not_offer_then_run_refused_with_its_name(
    database_url: str, tmp_path: Path, setting: str, value: object, message: str
) -> None:
    result = run_target(tmp_path, {"database_url": database_url, setting: value}, MESSAGES)

    assert result.returncode != 0
    assert any(message in line for line in error_lines(result.stderr)), result.stderr[-2000:]
    assert relations(database_url) == []


def test_given_load_method_append_only_from_an_old_definition_then_warned_and_records_upserted(
    database_url: str, tmp_path: Path
) -> None:
    config = {"database_url": database_url, "load_method": "append-only"}

    first = run_target(tmp_path, config, MESSAGES)
    second = run_target(tmp_path, config, MESSAGES)

    assert first.returncode == 0, first.stderr[-3000:]
    assert "load_method 'append-only' is ignored" in second.stderr
    assert query(database_url, "SELECT count(*) AS n FROM hubspot_contacts_raw") == [{"n": 5}]


def test_given_batch_size_then_each_transaction_holds_that_many_records(
    database_url: str, tmp_path: Path
) -> None:
    result = run_target(tmp_path, {"database_url": database_url, "batch_size": 2}, MESSAGES)

    assert result.returncode == 0, result.stderr[-3000:]
    log = query(database_url, "SELECT batches, records_inserted FROM sync_logs")
    assert log == [{"batches": 3, "records_inserted": 5}]
