"""Which tables and views the target may change: those it created, marked by a comment written at creation.

Anything else of the same name (an application's own `companies` or `sync_logs`) is refused before any
statement changes it. Relations created by versions of the target from before the mark are recognised by
their shape (and, for data tables, by `sync_logs` naming them) and marked on first sight.
"""

from __future__ import annotations

from psycopg2.extensions import cursor as Cursor  # noqa: N812

from target_supabase_hybrid.errors import NotOwnedError

OWNER_MARK = "managed by target-supabase-hybrid"
HAND_OVER = f'to hand it over to the target, add "{OWNER_MARK}" to its comment'


def lookup(cur: Cursor, relation: str) -> tuple[str, str | None] | None:
    """(relkind, comment) of an existing relation (`r` table, `v` view, ...), or None."""
    cur.execute(
        "SELECT relkind::text, obj_description(oid, 'pg_class') FROM pg_class WHERE oid = to_regclass(%s)",
        (relation,),
    )
    row = cur.fetchone()
    return None if row is None else (row[0], row[1])


def is_marked(comment: str | None) -> bool:
    """Whether a relation's comment carries the target's mark (users may add text around it)."""
    return OWNER_MARK in (comment or "")


def mark(cur: Cursor, kind: str, relation: str, what: str, previous: str | None = None) -> None:
    """Write the mark as the comment of `relation` (`kind` TABLE or VIEW), after any comment it had."""
    text = f"{OWNER_MARK}: {what}. The target changes only tables and views whose comment contains this mark."
    cur.execute(f"COMMENT ON {kind} {relation} IS %s", (f"{previous}\n{text}" if previous else text,))


def refused(what: str, name: str, advice: str) -> NotOwnedError:
    """The error for a relation the target did not create (`name` as users write it: schema.table)."""
    return NotOwnedError(
        f"{what} {name} exists but was not created by target-supabase-hybrid (its comment lacks"
        f' "{OWNER_MARK}"); nothing was changed. {advice}; or, {HAND_OVER}.'
    )
