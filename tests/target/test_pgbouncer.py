"""Loads through PgBouncer in transaction mode (Supabase's pooler on port 6543), with one server connection
shared by every client: the data lands, and no session state survives the target's runs. With TLS in front,
the README's `sslmode=verify-full&sslrootcert=…` recipe verifies the server's certificate."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from tests.target.cli import run_target
from tests.target.pgbouncer import PGBOUNCER, SKIP_REASON, make_certificates, transaction_pooler
from tests.target.singer import hubspot, query, record, schema, state

pytestmark = pytest.mark.skipif(PGBOUNCER is None, reason=SKIP_REASON)

# What PgBouncer itself sets on the server connection for its clients (it tracks these parameters).
POOLER_TRACKED = (
    "application_name",
    "client_encoding",
    "DateStyle",
    "TimeZone",
    "standard_conforming_strings",
)


def messages(version: str) -> list[dict]:
    """Three streams, interleaved, with a STATE after every 15 records (each one a checkpoint)."""
    out: list[dict] = [schema("contacts"), schema("deals"), schema("calls")]
    for i in range(60):
        out.append(record("contacts", hubspot(str(i), email=f"{version}{i}@x.io", phone="+1 617 555 0100")))
        out.append(record("deals", hubspot(str(i), amount=f"{i}.50", dealstage=version)))
        out.append(record("calls", hubspot(str(i), hs_call_to_number="+1 617 555 0100")))
        if i % 15 == 14:
            out.append(state({"version": version, "i": i}))
    return out


def session_state(pooled_url: str) -> dict[str, object]:
    """What the one server session holds, seen by the next client PgBouncer gives it to."""
    conn = psycopg2.connect(pooled_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                "         AND backend_type = 'client backend'),"
                " (SELECT count(*) FROM pg_prepared_statements),"
                " (SELECT count(*) FROM pg_cursors),"
                " (SELECT count(*) FROM pg_class WHERE relpersistence = 't'),"
                " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),"
                " (SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM pg_settings"
                "   WHERE source = 'session' AND name <> ALL(%s))",
                (list(POOLER_TRACKED),),
            )
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None
    keys = ("server sessions", "prepared statements", "cursors", "temp tables", "advisory locks", "SETs")
    return dict(zip(keys, row, strict=True))


def test_given_transaction_pooler_with_one_server_connection_then_loads_land_and_no_session_state_survives(
    database_url: str, tmp_path: Path
) -> None:
    with transaction_pooler(database_url) as pooled:
        config = {
            "database_url": pooled,
            "batch_size": 7,
            "state_checkpoint_seconds": 0,
            "synchronous_commit_off": True,  # its SET LOCAL must end with each transaction
        }
        first = run_target(tmp_path, config, messages("a"))
        # Changed records (staging + upsert), an added column (backfill through a named cursor).
        config["tables"] = {
            "deals": {"extra_columns": [{"name": "stage_copy", "source": "properties.dealstage"}]}
        }
        second = run_target(tmp_path, config, messages("b"))

        left_behind = session_state(pooled)

    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    assert left_behind == {
        "server sessions": 1,
        "prepared statements": 0,
        "cursors": 0,
        "temp tables": 0,
        "advisory locks": 0,
        "SETs": [],
    }
    assert query(database_url, "SELECT count(*) AS n, min(email) AS e FROM hubspot_contacts_raw") == [
        {"n": 60, "e": "b0@x.io"}
    ]
    assert query(database_url, "SELECT count(*) AS n FROM hubspot_deals_raw WHERE stage_copy = 'b'") == [
        {"n": 60}
    ]
    logs = query(database_url, "SELECT status, count(*) AS n FROM sync_logs GROUP BY status")
    assert logs == [{"status": "success", "n": 6}]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make test certificates")
def test_given_verify_full_and_the_servers_ca_then_it_loads_and_with_another_ca_it_fails_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "ca").mkdir()
    (tmp_path / "other").mkdir()
    ca, certificate, key = make_certificates(tmp_path / "ca", "localhost")
    other_ca, _, _ = make_certificates(tmp_path / "other", "localhost")
    few = [schema("deals"), record("deals", hubspot("1", amount="5")), state({"b": 1})]

    with transaction_pooler(database_url, tls=(certificate, key)) as pooled:
        url = f"postgresql://postgres@localhost:{urlsplit(pooled).port}{urlsplit(pooled).path}?sslmode=verify-full"
        verified = run_target(tmp_path, {"database_url": f"{url}&sslrootcert={ca}"}, few)
        impostor = run_target(tmp_path, {"database_url": f"{url}&sslrootcert={other_ca}"}, few)

    assert verified.returncode == 0, verified.stderr[-3000:]
    assert query(database_url, "SELECT hubspot_id FROM hubspot_deals_raw") == [{"hubspot_id": "1"}]
    assert impostor.returncode == 1
    assert "sslmode='verify-full': TLS verification of localhost failed" in impostor.stderr
    assert "certificate verify failed" in impostor.stderr
    assert "Traceback" not in impostor.stderr
