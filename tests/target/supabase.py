"""Supabase's roles and default grants, modelled on a plain PostgreSQL.

Supabase has the API roles `anon` and `authenticated` (what the public anon key and signed-in users get
through the REST API) and `service_role` (the server-side key; BYPASSRLS). Its default privileges grant all
three everything on new tables, sequences and functions in `public` — but only on those created by
`postgres`, so a custom loading role's tables get none of it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg2

API_ROLES = ("anon", "authenticated", "service_role")


def install_supabase_roles(database_url: str) -> None:
    """Roles (cluster-wide, created once) and the default grants (per database) of a Supabase project."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for role, options in (("anon", ""), ("authenticated", ""), ("service_role", " BYPASSRLS")):
            cur.execute(
                f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN{options}; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        roles = ", ".join(API_ROLES)
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {roles}")
        for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
            cur.execute(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON {kind} TO {roles}"
            )
    conn.close()


def loading_role(database_url: str, name: str, *, create_in_public: bool = True) -> str:
    """A custom LOGIN role with least privilege (CONNECT and TEMP, as PUBLIC has; optionally CREATE on
    `public`, no CREATE on the database); returns the URL that logs in as it."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    parts = urlsplit(database_url)
    with conn.cursor() as cur:
        cur.execute(
            f"DO $$ BEGIN CREATE ROLE {name} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        cur.execute(f'REVOKE CREATE ON DATABASE "{parts.path[1:]}" FROM PUBLIC, {name}')
        cur.execute(f"GRANT USAGE{', CREATE' if create_in_public else ''} ON SCHEMA public TO {name}")
    conn.close()
    return urlunsplit(parts._replace(netloc=f"{name}@{parts.hostname}:{parts.port}"))
