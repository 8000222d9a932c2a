"""What a test database holds, as the tests compare it before and after a run."""

from __future__ import annotations

from typing import Any

import psycopg2

from tests.target.singer import query


def execute(database_url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run SQL as the test's admin user, committed."""
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
    finally:
        conn.close()


def relations(database_url: str) -> list[str]:
    """`schema.name` of every table and view outside the system schemas."""
    rows = query(
        database_url,
        "SELECT n.nspname || '.' || c.relname AS name FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'v')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    return [row["name"] for row in rows]


def comment(database_url: str, relation: str) -> str | None:
    (row,) = query(database_url, "SELECT obj_description(%s::regclass, 'pg_class') AS c", (relation,))
    return row["c"]


def snapshot(database_url: str, table: str) -> dict[str, Any]:
    """Everything a run could change about a table: columns, RLS, comment, grants, rows."""
    columns = query(
        database_url,
        "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (table,),
    )
    (relation,) = query(
        database_url,
        "SELECT relrowsecurity, relacl::text AS acl, obj_description(oid, 'pg_class') AS comment"
        " FROM pg_class WHERE oid = %s::regclass",
        (table,),
    )
    rows = query(database_url, f"SELECT * FROM {table} ORDER BY 1")
    return {"columns": columns, **relation, "rows": rows}
