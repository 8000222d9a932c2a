"""`hubspot_call_contacts`: each call with its contact — by HubSpot association first, then by E.164 phone.

A phone that matches several contacts is reported (`phone_ambiguous`, contact NULL), never guessed.
Inbound calls match on the caller's number, all others on the number dialled. A call associated with several
contacts gets the one whose number it dialled (or came from), else the lowest id. Archived and retired calls
are left out; archived and retired contacts match nothing, except that a contact merged into another
(`merged_into`, chains followed) stands for the contact it was merged into, by association and by phone.
"""

from __future__ import annotations

import logging

import psycopg2

from target_supabase_hybrid import ownership, security
from target_supabase_hybrid.connection import ConnectionFactory, error_line
from target_supabase_hybrid.connector import qualified

CALL_CONTACTS_VIEW = "hubspot_call_contacts"
CONTACTS_TABLE = "hubspot_contacts_raw"
CALLS_TABLE = "hubspot_calls_raw"
# Columns only this view has (recognises one created before ownership marks existed).
_VIEW_SHAPE = ("call_id", "contact_id", "match_rule", "candidates", "matched_phone_e164")

_VIEW_SQL = """
CREATE OR REPLACE VIEW {view} WITH (security_invoker = true) AS
WITH RECURSIVE calls AS (
    SELECT c.*, CASE WHEN upper(c.direction) = 'INBOUND' THEN c.call_from_number_e164
                     ELSE c.call_to_number_e164 END AS counterpart_e164
    FROM {calls} c
    WHERE c.archived IS NOT TRUE AND c._sdc_deleted_at IS NULL
),
merge_chain AS (
    SELECT hubspot_id AS id, merged_into AS contact_id, 1 AS depth
    FROM {contacts} WHERE merged_into IS NOT NULL
    UNION ALL
    SELECT m.id, ct.merged_into, m.depth + 1
    FROM merge_chain m JOIN {contacts} ct ON ct.hubspot_id = m.contact_id
    WHERE ct.merged_into IS NOT NULL AND m.depth < 250
),
resolved AS (
    SELECT hubspot_id AS id, hubspot_id AS contact_id FROM {contacts}
    WHERE archived IS NOT TRUE AND _sdc_deleted_at IS NULL
    UNION ALL
    SELECT m.id, m.contact_id FROM merge_chain m
    JOIN {contacts} ct ON ct.hubspot_id = m.contact_id
    WHERE ct.archived IS NOT TRUE AND ct._sdc_deleted_at IS NULL
),
by_association AS (
    SELECT c.hubspot_id AS call_id,
           (array_agg(ct.hubspot_id ORDER BY
                COALESCE(c.counterpart_e164 IN (ct.phone_e164, ct.mobilephone_e164), false) DESC,
                length(ct.hubspot_id), ct.hubspot_id))[1] AS contact_id,
           count(DISTINCT ct.hubspot_id) AS candidates
    FROM calls c
    CROSS JOIN LATERAL jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(c.raw_json -> 'associations' -> 'contacts') = 'array'
             THEN c.raw_json -> 'associations' -> 'contacts' ELSE '[]'::jsonb END) AS a(contact_id)
    JOIN resolved r ON r.id = a.contact_id
    JOIN {contacts} ct ON ct.hubspot_id = r.contact_id
    GROUP BY c.hubspot_id
),
contact_phones AS (
    SELECT ct.phone_e164 AS e164, r.contact_id AS hubspot_id
    FROM {contacts} ct JOIN resolved r ON r.id = ct.hubspot_id WHERE ct.phone_e164 IS NOT NULL
    UNION
    SELECT ct.mobilephone_e164, r.contact_id
    FROM {contacts} ct JOIN resolved r ON r.id = ct.hubspot_id WHERE ct.mobilephone_e164 IS NOT NULL
),
by_phone AS (
    SELECT c.hubspot_id AS call_id, min(p.hubspot_id) AS contact_id,
           count(DISTINCT p.hubspot_id) AS candidates
    FROM calls c JOIN contact_phones p ON p.e164 = c.counterpart_e164
    GROUP BY c.hubspot_id
)
SELECT
    c.hubspot_id AS call_id,
    CASE WHEN a.call_id IS NOT NULL THEN a.contact_id
         WHEN p.candidates = 1 THEN p.contact_id END AS contact_id,
    CASE WHEN a.call_id IS NOT NULL THEN 'association'
         WHEN p.candidates = 1 THEN 'phone'
         WHEN p.candidates > 1 THEN 'phone_ambiguous'
         ELSE 'unmatched' END AS match_rule,
    COALESCE(a.candidates, p.candidates, 0) AS candidates,
    c.counterpart_e164 AS matched_phone_e164,
    c.direction, c.call_timestamp, c.call_duration, c.call_to_number, c.call_from_number, c.status,
    c.disposition, c.title, c.hubspot_owner_id
FROM calls c
LEFT JOIN by_association a ON a.call_id = c.hubspot_id
LEFT JOIN by_phone p ON p.call_id = c.hubspot_id
"""


def create_views(connections: ConnectionFactory, schema: str, logger: logging.Logger) -> None:
    """Create or replace the call→contact view when both default tables exist; never fail the run over it.

    A relation of that name the target did not create is left alone (with a warning). Security is applied
    when the view is created; `CREATE OR REPLACE` keeps whatever grants users added since.
    """
    conn = connections.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
                (qualified(schema, CONTACTS_TABLE), qualified(schema, CALLS_TABLE)),
            )
            row = cur.fetchone()
            if not row or not row[0]:
                return
            view = qualified(schema, CALL_CONTACTS_VIEW)
            found = ownership.lookup(cur, view)
            if found is not None and not ownership.is_marked(found[1]) and not _is_earlier_view(cur, view):
                logger.warning(
                    "%s",
                    ownership.refused(
                        "view", f"{schema}.{CALL_CONTACTS_VIEW}", "The call-to-contact view is not created"
                    ),
                )
                return
            cur.execute(
                _VIEW_SQL.format(
                    view=view,
                    calls=qualified(schema, CALLS_TABLE),
                    contacts=qualified(schema, CONTACTS_TABLE),
                )
            )
            if found is None or not ownership.is_marked(found[1]):
                previous = found[1] if found else None
                ownership.mark(cur, "VIEW", view, "each call with its contact", previous=previous)
            if found is None:
                security.secure_new_view(cur, view)
    except psycopg2.Error as exc:
        logger.warning(
            "View %s not created (custom table mappings?): %s",
            CALL_CONTACTS_VIEW,
            connections.scrub(error_line(exc)),
        )
    finally:
        conn.close()


def _is_earlier_view(cur: psycopg2.extensions.cursor, view: str) -> bool:
    """A view of this target from before ownership marks: a view with this view's distinctive columns."""
    cur.execute(
        "SELECT array_agg(attname::text) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE c.oid = to_regclass(%s) AND c.relkind = 'v' AND a.attnum > 0",
        (view,),
    )
    row = cur.fetchone()
    return bool(row and row[0] and set(_VIEW_SHAPE) <= set(row[0]))
