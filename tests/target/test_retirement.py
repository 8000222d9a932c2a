"""Rows the source no longer has: a complete full sync (table version + ACTIVATE_VERSION) retires the rows it
did not see, merged HubSpot records retire the rows of the ids they replaced, and a stale copy never
overwrites a newer row. Singer messages go through the target's real message loop into PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.target.cli import run_target
from tests.target.singer import hubspot, query, record, run, schema, sync_logs

V1, V2 = 1_767_000_000_000, 1_767_600_000_000


def versioned(stream: str, rec: dict, version: int | None) -> dict:
    message = record(stream, rec)
    if version is not None:
        message["version"] = version
    return message


def activate(stream: str, version: int) -> dict:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def full_sync(stream: str, records: list[dict], version: int, *, activated: bool = True) -> list[dict]:
    return [
        schema(stream),
        *(versioned(stream, r, version) for r in records),
        *([activate(stream, version)] if activated else []),
    ]


def rows(database_url: str, table: str = "hubspot_contacts_raw") -> dict[str, dict[str, Any]]:
    return {r["hubspot_id"]: r for r in query(database_url, f"SELECT * FROM {table}")}


def live(database_url: str, table: str = "hubspot_contacts_raw") -> set[str]:
    return {i for i, r in rows(database_url, table).items() if r["_sdc_deleted_at"] is None}


CONTACTS = [hubspot(str(i), email=f"c{i}@x.io") for i in range(1, 6)]


@pytest.mark.parametrize("config", [{}, {"validate_records": True}], ids=["own path", "sdk path"])
def test_a_complete_full_sync_retires_the_rows_it_did_not_see_and_leaves_the_others_as_they_were(
    database_url: str, config: dict[str, Any]
) -> None:
    run(database_url, full_sync("contacts", CONTACTS, V1), **config)
    before = rows(database_url)
    assert {r["_sdc_table_version"] for r in before.values()} == {V1}

    run(database_url, full_sync("contacts", CONTACTS[:3], V2), **config)  # 4 and 5 are gone from the source

    after = rows(database_url)
    assert live(database_url) == {"1", "2", "3"}
    assert after["4"]["_sdc_deleted_at"] is not None
    assert after["5"]["raw_json"] == before["5"]["raw_json"]  # soft: the data stays
    for kept in ("1", "2", "3"):  # seen again, unchanged: only the version moved
        assert after[kept]["_sdc_table_version"] == V2
        assert after[kept]["synced_at"] == before[kept]["synced_at"]
        assert after[kept]["raw_json"] == before[kept]["raw_json"]
    log = sync_logs(database_url)["contacts"]
    assert (log["records_retired"], log["records_unchanged"], log["records_updated"]) == (2, 3, 0)


def test_a_retired_row_seen_again_is_live_again_and_keeps_the_version_of_the_last_full_sync(
    database_url: str,
) -> None:
    run(database_url, full_sync("contacts", CONTACTS, V1))
    run(database_url, full_sync("contacts", CONTACTS[:4], V2))
    assert "5" not in live(database_url)

    run(database_url, [schema("contacts"), record("contacts", CONTACTS[4])])  # incremental: no version

    row = rows(database_url)["5"]
    assert row["_sdc_deleted_at"] is None
    assert row["_sdc_table_version"] == V1
    assert sync_logs(database_url)["contacts"]["records_updated"] == 1


def test_hard_delete_removes_the_rows_a_complete_full_sync_did_not_see(database_url: str) -> None:
    run(database_url, full_sync("contacts", CONTACTS, V1))
    run(database_url, full_sync("contacts", CONTACTS[1:], V2), hard_delete=True)

    assert set(rows(database_url)) == {"2", "3", "4", "5"}
    assert sync_logs(database_url)["contacts"]["records_retired"] == 1


def test_a_full_sync_that_never_activates_its_version_retires_nothing(database_url: str) -> None:
    run(database_url, full_sync("contacts", CONTACTS, V1))
    run(database_url, full_sync("contacts", CONTACTS[:2], V2, activated=False))  # interrupted

    assert live(database_url) == {"1", "2", "3", "4", "5"}
    assert sync_logs(database_url)["contacts"]["records_retired"] == 0


def test_process_activate_version_messages_false_keeps_the_rows_live(database_url: str) -> None:
    run(database_url, full_sync("contacts", CONTACTS, V1))
    run(database_url, full_sync("contacts", CONTACTS[:2], V2), process_activate_version_messages=False)

    assert live(database_url) == {"1", "2", "3", "4", "5"}


def test_records_of_two_versions_in_one_stream_are_stamped_each_with_its_own(database_url: str) -> None:
    # Small batches would hide a batch stamped with one version for all: everything fits in one batch here.
    messages = [
        schema("contacts"),
        *(versioned("contacts", c, V1) for c in CONTACTS[:3]),
        *(versioned("contacts", c, V2) for c in CONTACTS[3:]),
        activate("contacts", V2),
    ]
    run(database_url, messages)

    versions = {i: r["_sdc_table_version"] for i, r in rows(database_url).items()}
    assert versions == {"1": V1, "2": V1, "3": V1, "4": V2, "5": V2}
    assert live(database_url) == {"4", "5"}


def test_a_table_several_streams_write_is_never_retired_in(database_url: str) -> None:
    tables = {"contacts_eu": {"table": "hubspot_contacts_raw"}}
    run(database_url, full_sync("contacts_eu", [hubspot("100")], V1), tables=tables)
    run(database_url, full_sync("contacts", CONTACTS, V2), tables=tables)

    assert live(database_url) == {"100", "1", "2", "3", "4", "5"}


def test_a_version_that_is_not_an_integer_stops_the_run_with_a_clear_error(
    tmp_path: Path, database_url: str
) -> None:
    messages = [schema("contacts"), versioned("contacts", CONTACTS[0], "v1")]  # type: ignore[arg-type]

    result = run_target(tmp_path, {"database_url": database_url}, messages)

    assert result.returncode == 1
    assert "Singer table versions are integers" in result.stderr
    assert "Traceback" not in result.stderr


def merged(new_id: str, old_ids: str, updated: str = "2024-07-01T00:00:00.000Z", **props: Any) -> dict:
    return hubspot(new_id, updated, hs_merged_object_ids=old_ids, **props)


def test_a_merged_record_retires_the_rows_of_the_ids_it_replaced(database_url: str) -> None:
    run(database_url, [schema("contacts"), *(record("contacts", c) for c in CONTACTS)])

    run(database_url, [schema("contacts"), record("contacts", merged("900", "2;3;77"))])

    after = rows(database_url)
    assert live(database_url) == {"1", "4", "5", "900"}
    assert (after["2"]["merged_into"], after["3"]["merged_into"]) == ("900", "900")
    assert after["2"]["_sdc_deleted_at"] is not None
    assert after["900"]["merged_into"] is None
    assert sync_logs(database_url)["contacts"]["records_merged"] == 2


def test_merges_retire_rows_on_the_streamed_path_too(database_url: str) -> None:
    # An empty table: every batch streams into COPY and commits in the background.
    messages = [
        schema("contacts"),
        *(record("contacts", c) for c in CONTACTS),
        record("contacts", merged("900", "1;2")),
        record("contacts", merged("901", "900;5", updated="2024-08-01T00:00:00.000Z")),  # merged again
    ]
    run(database_url, messages, batch_size=2)

    after = rows(database_url)
    assert live(database_url) == {"3", "4", "901"}
    assert {i: after[i]["merged_into"] for i in ("1", "2", "900", "5")} == {
        "1": "900",
        "2": "900",
        "900": "901",
        "5": "901",
    }
    assert sync_logs(database_url)["contacts"]["records_merged"] == 4


def test_a_copy_of_a_merged_away_id_from_before_the_merge_does_not_revive_it(database_url: str) -> None:
    run(database_url, [schema("contacts"), *(record("contacts", c) for c in CONTACTS)])
    run(database_url, [schema("contacts"), record("contacts", merged("900", "2;3"))])

    stale = hubspot("2", email="c2@x.io", firstname="read before the merge")
    run(database_url, [schema("contacts"), record("contacts", stale)])

    assert live(database_url) == {"1", "4", "5", "900"}
    assert rows(database_url)["2"]["raw_json"] == CONTACTS[1]


def test_an_older_copy_never_overwrites_a_newer_row_but_an_equal_date_does(
    tmp_path: Path, database_url: str
) -> None:
    newer = {**hubspot("1", "2024-09-01T00:00:00.000Z", email="new@x.io"), "archived": True}
    config = {"database_url": database_url}
    assert run_target(tmp_path, config, [schema("contacts"), record("contacts", newer)]).returncode == 0

    stale = hubspot("1", "2024-08-01T00:00:00.000Z", email="old@x.io")  # live, from before the archival
    same_date = {**newer, "associations": {"deals": ["7"]}}  # an association edit keeps the date
    stale_run = run_target(tmp_path, config, [schema("contacts"), record("contacts", stale)])
    after_stale = rows(database_url)["1"]
    edit_run = run_target(tmp_path, config, [schema("contacts"), record("contacts", same_date)])

    assert stale_run.returncode == edit_run.returncode == 0
    assert (after_stale["archived"], after_stale["email"]) == (True, "new@x.io")
    assert after_stale["raw_json"] == newer
    assert rows(database_url)["1"]["raw_json"] == same_date
    logs = query(database_url, "SELECT records_unchanged, records_updated FROM sync_logs ORDER BY id")
    assert [(log["records_unchanged"], log["records_updated"]) for log in logs] == [(0, 0), (1, 0), (0, 1)]


def test_an_older_copy_in_a_full_sync_is_skipped_but_still_counts_as_seen(database_url: str) -> None:
    run(database_url, [schema("contacts"), record("contacts", hubspot("1", "2024-09-01T00:00:00.000Z"))])

    run(database_url, full_sync("contacts", [hubspot("1", "2024-08-01T00:00:00.000Z")], V1))

    row = rows(database_url)["1"]
    assert (row["_sdc_deleted_at"], row["_sdc_table_version"]) == (None, V1)
    assert row["raw_json"]["updatedAt"] == "2024-09-01T00:00:00.000Z"
