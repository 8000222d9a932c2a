"""STATE checkpoints: a long run emits state as it goes, and only after the data it covers is committed."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path

from tests.target.singer import connect, hubspot, record, run, schema, state

TARGET = str(Path(sys.executable).parent / "target-supabase-hybrid")


def count_rows(database_url: str) -> int:
    with connect(database_url) as cur:
        cur.execute("SELECT count(*) AS n FROM hubspot_contacts_raw")
        return int(cur.fetchone()["n"])


def send(proc: subprocess.Popen[str], *messages: dict) -> None:
    assert proc.stdin is not None
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    proc.stdin.flush()


def test_given_checkpoints_when_state_arrives_mid_run_then_it_is_emitted_after_its_records_commit(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"database_url": database_url, "state_checkpoint_seconds": 0}))
    proc = subprocess.Popen(
        [TARGET, "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        send(proc, schema("contacts"), *(record("contacts", hubspot(str(i))) for i in range(3)))
        send(proc, state({"bookmarks": {"contacts": {"page": 1}}}))

        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no STATE emitted while the run was still going"
        first = json.loads(proc.stdout.readline())
        rows_when_first_state_was_emitted = count_rows(database_url)

        send(proc, *(record("contacts", hubspot(str(i))) for i in range(3, 5)))
        send(proc, state({"bookmarks": {"contacts": {"page": 2}}}))
        proc.stdin.close()  # type: ignore[union-attr]
        rest = [json.loads(line) for line in proc.stdout.read().splitlines()]
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()

    assert first == {"bookmarks": {"contacts": {"page": 1}}}
    assert rows_when_first_state_was_emitted == 3  # the target is still running, the state's records are in
    assert rest[-1] == {"bookmarks": {"contacts": {"page": 2}}}
    assert count_rows(database_url) == 5


def test_given_short_run_with_default_interval_then_only_final_state_is_emitted(database_url: str) -> None:
    messages = [schema("contacts"), record("contacts", hubspot("1")), state({"n": 1})]
    messages += [record("contacts", hubspot("2")), state({"n": 2})]

    emitted = run(database_url, messages)

    assert emitted == [{"n": 2}]
