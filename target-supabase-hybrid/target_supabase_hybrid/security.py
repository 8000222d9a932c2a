"""Supabase security for what the target creates: RLS on, nothing for the public API roles, read for the
service role.

Applied once, when the target creates a schema, table or view: grants and policies users add later are theirs.
Supabase's default privileges grant `anon`, `authenticated` and `service_role` everything on new tables and
sequences, but only on those created by `postgres`; a custom loading role gets none of it, so the service role
would be locked out of its tables unless granted read here. Roles a server does not have are skipped (plain
PostgreSQL has none of them).
"""

from __future__ import annotations

from psycopg2.extensions import cursor as Cursor  # noqa: N812

PUBLIC_API_ROLES = ("anon", "authenticated")
SERVICE_ROLE = "service_role"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def existing_roles(cur: Cursor, names: tuple[str, ...]) -> list[str]:
    """Those of `names` that exist on this server."""
    cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s) ORDER BY rolname", (list(names),))
    return [row[0] for row in cur.fetchall()]


def revoke_api_roles(cur: Cursor, target: str) -> None:
    """`REVOKE ALL ON <target> FROM anon, authenticated` (those that exist); `target` is e.g. `TABLE x`."""
    roles = existing_roles(cur, PUBLIC_API_ROLES)
    if roles:
        cur.execute(f"REVOKE ALL ON {target} FROM {', '.join(_quote(r) for r in roles)}")


def grant_service_role_read(cur: Cursor, target: str) -> None:
    """`GRANT SELECT ON <target> TO service_role` where the role exists."""
    if existing_roles(cur, (SERVICE_ROLE,)):
        cur.execute(f"GRANT SELECT ON {target} TO {_quote(SERVICE_ROLE)}")


def owned_sequences(cur: Cursor, relation: str) -> list[str]:
    """Sequences that belong to the table's columns (identity or serial), as SQL names."""
    cur.execute(
        "SELECT s.oid::regclass::text FROM pg_class s JOIN pg_depend d ON d.objid = s.oid"
        " WHERE s.relkind = 'S' AND d.refobjid = to_regclass(%s) AND d.deptype IN ('a', 'i')"
        " ORDER BY 1",
        (relation,),
    )
    return [row[0] for row in cur.fetchall()]


def revoke_api_roles_on_sequences(cur: Cursor, relation: str) -> None:
    """The API roles must not `setval` a table's sequence (e.g. to its maximum, stopping every insert)."""
    for sequence in owned_sequences(cur, relation):
        revoke_api_roles(cur, f"SEQUENCE {sequence}")


def secure_new_table(cur: Cursor, relation: str) -> None:
    """A new table: RLS on, the API roles refused it and its sequences, the service role reads it."""
    cur.execute(f"ALTER TABLE {relation} ENABLE ROW LEVEL SECURITY")
    revoke_api_roles(cur, f"TABLE {relation}")
    revoke_api_roles_on_sequences(cur, relation)
    grant_service_role_read(cur, f"TABLE {relation}")


def grant_service_role_schema_usage(cur: Cursor, schema: str) -> None:
    """A schema the target just created: the service role may look up names in it (Supabase grants USAGE only
    on `public`), so it reads the tables there as it does in `public`; the API roles get nothing."""
    if existing_roles(cur, (SERVICE_ROLE,)):
        cur.execute(f"GRANT USAGE ON SCHEMA {_quote(schema)} TO {_quote(SERVICE_ROLE)}")


def secure_new_view(cur: Cursor, relation: str) -> None:
    """A view the target just created: the API roles refused it, the service role reads it."""
    revoke_api_roles(cur, f"TABLE {relation}")
    grant_service_role_read(cur, f"TABLE {relation}")
