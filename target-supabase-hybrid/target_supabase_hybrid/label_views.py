"""Analyst views that put names on ids: deals, contacts and calls with their labels, and stage history.

They read the tables of tap-hubspot-raw's label streams (`hubspot_owners_raw`, `hubspot_pipelines_raw`,
`hubspot_call_dispositions_raw`, `hubspot_property_definitions_raw`, `hubspot_property_history_raw`). An id
nothing resolves (a deleted owner, a removed stage, a deleted call outcome) gives NULL labels, never an error
or a lost row. Rows retired by a full sync or a merge (`_sdc_deleted_at`) are left out, like archived ones,
and label nothing. Values HubSpot sends as text are cast only when they have the expected form, so one odd
value cannot make a whole view fail.

Like `hubspot_call_contacts` (views.py): `security_invoker`, so a view shows a reader only what the tables
show them (RLS applies), nothing granted to `anon`/`authenticated`, marked as the target's own when created,
and a relation of the same name the target did not create is left alone with a warning. A view is created
once every relation it reads exists; each in its own transaction, so one that fails (custom table mappings
without a column it reads) does not keep the others away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg2

from target_supabase_hybrid import ownership, security
from target_supabase_hybrid.connection import ConnectionFactory, error_line
from target_supabase_hybrid.connector import qualified

# Relations the views read, by the placeholder their SQL names them with.
RELATIONS = {
    "contacts": "hubspot_contacts_raw",
    "deals": "hubspot_deals_raw",
    "calls": "hubspot_calls_raw",
    "call_contacts": "hubspot_call_contacts",
    "owners": "hubspot_owners_raw",
    "pipelines": "hubspot_pipelines_raw",
    "dispositions": "hubspot_call_dispositions_raw",
    "definitions": "hubspot_property_definitions_raw",
    "history": "hubspot_property_history_raw",
    "stages": "hubspot_pipeline_stages",
    "options": "hubspot_property_options",
}
_INTEGER = r"'^-?[0-9]{1,9}$'"
_DECIMAL = r"'^-?[0-9]*\.?[0-9]+$'"
_OWNER_NAME = "NULLIF(btrim(concat_ws(' ', o.first_name, o.last_name)), '')"


def _array(expression: str) -> str:
    """The JSON array at `expression`, or an empty one (a missing or malformed list labels nothing)."""
    return f"CASE WHEN jsonb_typeof({expression}) = 'array' THEN {expression} ELSE '[]'::jsonb END"


@dataclass(frozen=True)
class LabelView:
    """One view: its name, what it is for (its comment) and its query over `{placeholder}` relations."""

    name: str
    purpose: str
    query: str

    @property
    def reads(self) -> list[str]:
        """The placeholders of the relations it reads."""
        return [key for key in RELATIONS if "{" + key + "}" in self.query]


PROPERTY_OPTIONS = LabelView(
    "hubspot_property_options",
    "each enumeration option of each property, with its label",
    f"""
SELECT d.object_type, d.name AS property, o.option ->> 'value' AS value, o.option ->> 'label' AS label,
       CASE WHEN o.option ->> 'displayOrder' ~ {_INTEGER} THEN (o.option ->> 'displayOrder')::integer END
           AS display_order,
       COALESCE(o.option ->> 'hidden' = 'true', false) AS hidden
FROM {{definitions}} d
CROSS JOIN LATERAL jsonb_array_elements({_array("d.raw_json -> 'options'")}) AS o(option)
WHERE jsonb_typeof(o.option) = 'object' AND d._sdc_deleted_at IS NULL
""",
)

PIPELINE_STAGES = LabelView(
    "hubspot_pipeline_stages",
    "each stage of each pipeline, with its label, probability and closed and won states",
    f"""
WITH stages AS (
    SELECT p.object_type, p.hubspot_id AS pipeline_id, p.label AS pipeline_label,
           p.display_order AS pipeline_display_order,
           s.stage ->> 'id' AS stage_id, s.stage ->> 'label' AS stage_label,
           CASE WHEN s.stage ->> 'displayOrder' ~ {_INTEGER} THEN (s.stage ->> 'displayOrder')::integer END
               AS display_order,
           CASE WHEN s.stage -> 'metadata' ->> 'probability' ~ {_DECIMAL}
                THEN (s.stage -> 'metadata' ->> 'probability')::numeric END AS probability,
           CASE lower(s.stage -> 'metadata' ->> 'isClosed') WHEN 'true' THEN true WHEN 'false' THEN false END
               AS is_closed,
           s.stage -> 'metadata' ->> 'ticketState' AS ticket_state,
           COALESCE(s.stage ->> 'archived' = 'true', false) AS archived
    FROM {{pipelines}} p
    CROSS JOIN LATERAL jsonb_array_elements({_array("p.raw_json -> 'stages'")}) AS s(stage)
    WHERE jsonb_typeof(s.stage) = 'object' AND p._sdc_deleted_at IS NULL
)
SELECT object_type, pipeline_id, pipeline_label, pipeline_display_order, stage_id, stage_label, display_order,
       probability, is_closed,
       CASE WHEN is_closed THEN probability = 1 END AS is_won,  -- HubSpot's closed won stages are certain
       ticket_state, archived
FROM stages
""",
)

DEALS = LabelView(
    "hubspot_deals",
    "each live deal with its pipeline and stage labels, probability, closed and won states and owner",
    f"""
SELECT d.hubspot_id AS deal_id, d.dealname, d.amount,
       d.pipeline AS pipeline_id, p.label AS pipeline_label,
       d.dealstage AS stage_id, s.stage_label, s.probability, s.is_closed, s.is_won,
       d.hubspot_owner_id AS owner_id, {_OWNER_NAME} AS owner_name, o.email AS owner_email,
       d.createdate, d.closedate, d.updated_at
FROM {{deals}} d
LEFT JOIN {{pipelines}} p ON p.object_type = 'deals' AND p.hubspot_id = d.pipeline
LEFT JOIN {{stages}} s ON s.object_type = 'deals' AND s.pipeline_id = d.pipeline AND s.stage_id = d.dealstage
LEFT JOIN {{owners}} o ON o.hubspot_id = d.hubspot_owner_id
WHERE d.archived IS NOT TRUE AND d._sdc_deleted_at IS NULL
""",
)

CONTACTS = LabelView(
    "hubspot_contacts",
    "each live contact with its lifecycle stage label and owner",
    f"""
SELECT c.hubspot_id AS contact_id, c.email, c.firstname, c.lastname, c.phone, c.mobilephone,
       c.lifecyclestage, l.label AS lifecycle_label,
       c.hubspot_owner_id AS owner_id, {_OWNER_NAME} AS owner_name, o.email AS owner_email,
       c.createdate, c.updated_at
FROM {{contacts}} c
LEFT JOIN {{options}} l
       ON l.object_type = 'contacts' AND l.property = 'lifecyclestage' AND l.value = c.lifecyclestage
LEFT JOIN {{owners}} o ON o.hubspot_id = c.hubspot_owner_id
WHERE c.archived IS NOT TRUE AND c._sdc_deleted_at IS NULL
""",
)

CALLS = LabelView(
    "hubspot_calls",
    "each live call with its outcome label, owner and contact (from hubspot_call_contacts)",
    f"""
SELECT k.hubspot_id AS call_id, k.call_timestamp, k.direction, k.status, k.call_duration, k.title,
       k.disposition AS disposition_id, ds.label AS disposition_label,
       k.hubspot_owner_id AS owner_id, {_OWNER_NAME} AS owner_name, o.email AS owner_email,
       m.contact_id, m.match_rule, c.email AS contact_email,
       NULLIF(btrim(concat_ws(' ', c.firstname, c.lastname)), '') AS contact_name
FROM {{calls}} k
LEFT JOIN {{call_contacts}} m ON m.call_id = k.hubspot_id
LEFT JOIN {{dispositions}} ds ON ds.hubspot_id = k.disposition
LEFT JOIN {{owners}} o ON o.hubspot_id = k.hubspot_owner_id
LEFT JOIN {{contacts}} c ON c.hubspot_id = m.contact_id
WHERE k.archived IS NOT TRUE AND k._sdc_deleted_at IS NULL
""",
)

STAGE_HISTORY = LabelView(
    "hubspot_stage_history",
    "each value a tracked property had, with its label and the time it held",
    """
SELECT h.object_type, h.object_id, h.property, h.value, l.label AS value_label,
       h.changed_at AS entered_at,
       lead(h.changed_at) OVER w AS left_at,
       COALESCE(lead(h.changed_at) OVER w, now()) - h.changed_at AS time_in_stage,
       lead(h.changed_at) OVER w IS NULL AS is_current,
       h.source_type, h.source_id, h.updated_by_user_id
FROM {history} h
LEFT JOIN {options} l ON l.object_type = h.object_type AND l.property = h.property AND l.value = h.value
WINDOW w AS (PARTITION BY h.object_type, h.object_id, h.property
             ORDER BY h.changed_at, h.timestamp, h.value, h.source_type)
""",
)

# In dependency order: the option and stage views first.
VIEWS = (PROPERTY_OPTIONS, PIPELINE_STAGES, DEALS, CONTACTS, CALLS, STAGE_HISTORY)


def create_label_views(connections: ConnectionFactory, schema: str, logger: logging.Logger) -> None:
    """Create or replace each view whose relations exist; never fail the run over one."""
    conn = connections.connect()
    try:
        for view in VIEWS:
            try:
                with conn, conn.cursor() as cur:
                    _create(cur, schema, view, logger)
            except psycopg2.Error as exc:
                logger.warning(
                    "View %s not created (custom table mappings?): %s",
                    view.name,
                    connections.scrub(error_line(exc)),
                )
    finally:
        conn.close()


def _create(cur: psycopg2.extensions.cursor, schema: str, view: LabelView, logger: logging.Logger) -> None:
    names = {key: qualified(schema, RELATIONS[key]) for key in view.reads}
    cur.execute(
        "SELECT bool_and(to_regclass(r) IS NOT NULL) FROM unnest(%s::text[]) AS r", (list(names.values()),)
    )
    row = cur.fetchone()
    if not row or not row[0]:
        tables = ", ".join(RELATIONS[key] for key in view.reads)
        logger.info("View %s not created: it reads %s, not all of which exist", view.name, tables)
        return
    relation = qualified(schema, view.name)
    found = ownership.lookup(cur, relation)
    if found is not None and not ownership.is_marked(found[1]):
        refusal = ownership.refused("view", f"{schema}.{view.name}", f"View {view.name} is not created")
        logger.warning("%s", refusal)
        return
    query = view.query
    for key, name in names.items():
        query = query.replace("{" + key + "}", name)
    cur.execute(f"CREATE OR REPLACE VIEW {relation} WITH (security_invoker = true) AS {query}")
    if found is None:
        ownership.mark(cur, "VIEW", relation, view.purpose)
        security.secure_new_view(cur, relation)
