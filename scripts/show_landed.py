"""Prints what the pipeline landed: rows per table and the sync_logs rows of a run (used by scripts/demo).

python scripts/show_landed.py DATABASE_URL [MELTANO_RUN_ID]   (without a run id: the latest rows)
"""

from __future__ import annotations

import sys

import psycopg2

TABLES_SQL = """
SELECT c.relname, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname
"""
SYNC_LOGS_SQL = """
SELECT stream, status, records_received, records_inserted, records_updated, records_unchanged,
       records_failed,
       round(duration_seconds::numeric, 2), started_at
FROM sync_logs WHERE %(run_id)s::text IS NULL OR meltano_run_id = %(run_id)s ORDER BY id DESC LIMIT 12
"""


def main(database_url: str, run_id: str | None = None) -> None:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(TABLES_SQL)
        tables = [name for name, _ in cur.fetchall()]
        print("\nRows per table:")
        for table in tables:
            cur.execute(f'SELECT count(*) FROM "{table}"')
            (count,) = cur.fetchone() or (0,)
            print(f"  {table:<28} {count:>8}")
        if "sync_logs" not in tables:
            return
        cur.execute(SYNC_LOGS_SQL, {"run_id": run_id})
        rows = cur.fetchall()
        header = (
            "stream",
            "status",
            "received",
            "inserted",
            "updated",
            "unchanged",
            "failed",
            "seconds",
            "started",
        )
        print(f"\nsync_logs rows of run {run_id}:" if run_id else "\nLatest sync_logs rows:")
        print("  " + " | ".join(header))
        for row in rows:
            print("  " + " | ".join("" if value is None else str(value) for value in row))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
