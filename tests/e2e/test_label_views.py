"""Names, not ids: the tap's label streams and property history into the target, and the analyst views over
them, compared with the simulator's ground truth (its label tables and `propertiesWithHistory`) — never with
the target's own SQL [issue 16].

Ids that nothing resolves (an owner no endpoint lists, a stage removed from its pipeline, a deleted call
outcome) must land as NULL labels; an archived owner still names the records of a rep who left.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import psycopg2
import pytest

from target_supabase_hybrid.label_views import VIEWS
from target_supabase_hybrid.ownership import OWNER_MARK
from tests.conftest import REPO_ROOT
from tests.harness.catalogs import all_streams_catalog
from tests.hubspot_simulator import Simulator
from tests.hubspot_simulator.labels import (
    DELETED_DISPOSITION,
    DISPOSITIONS,
    LIFECYCLE,
    OWNERS,
    PIPELINES,
    REMOVED_DEAL_STAGE,
    UNRESOLVED,
    owner_name,
    stage_labels,
)
from tests.tap.conftest import TOKEN, run_tap, tap_config
from tests.target.singer import query, run
from tests.target.supabase import install_supabase_roles

SEED = 5
HISTORY = {"deals": ["dealstage"], "contacts": ["lifecyclestage"]}
LABEL_TABLES = {
    "owners": "hubspot_owners_raw",
    "pipelines": "hubspot_pipelines_raw",
    "call_dispositions": "hubspot_call_dispositions_raw",
    "property_definitions": "hubspot_property_definitions_raw",
    "property_history": "hubspot_property_history_raw",
}
GONE_OWNER = UNRESOLVED["hubspot_owner_id"][0]
FORMER_REP = next(o for o in OWNERS if o.archived)


@pytest.fixture
def labelled(make_simulator, database_url) -> tuple[Simulator, str]:
    """A portal synced, every stream selected (as meltano.yml does), into a database with Supabase's roles."""
    sim: Simulator = make_simulator(contacts=300, deals=120, calls=200, seed=SEED, access_tokens=(TOKEN,))
    install_supabase_roles(database_url)
    config = tap_config(sim)
    output = run_tap(config, catalog=all_streams_catalog(config))
    run(database_url, output.text.splitlines(), default_phone_region="US", phone_fallback_regions=["RU"])
    return sim, database_url


def live(sim: Simulator, object_type: str, *properties: str) -> dict[str, dict[str, Any]]:
    """Live objects' properties by id."""
    return {
        o["id"]: o["properties"] for o in sim.portal.iter_objects(object_type, properties=list(properties))
    }


def deal_stage(pipeline_id: str | None, stage_id: str | None) -> tuple[Any, ...]:
    """(label, probability, closed, won) of a stage of the deal's own pipeline; Nones for a removed stage."""
    pipeline = next((p for p in PIPELINES["deals"] if p.id == pipeline_id), None)
    stage = next((s for s in pipeline.stages if s.id == stage_id), None) if pipeline else None
    if stage is None:
        return None, None, None, None
    closed = stage.metadata["isClosed"] == "true"
    won = stage.label in ("Closed Won", "Renewed") if closed else None  # the simulator's won stages
    return stage.label, Decimal(stage.metadata["probability"]), closed, won


def test_every_label_stream_lands_in_its_table_keyed_on_its_ids(labelled):
    sim, url = labelled
    owners = query(url, "SELECT hubspot_id, first_name, last_name, archived FROM hubspot_owners_raw")
    assert {r["hubspot_id"]: (r["first_name"], r["last_name"], r["archived"]) for r in owners} == {
        o.id: (o.first_name, o.last_name, o.archived) for o in OWNERS
    }
    pipelines = query(url, "SELECT object_type, hubspot_id, label FROM hubspot_pipelines_raw")
    assert {(r["object_type"], r["hubspot_id"], r["label"]) for r in pipelines} == {
        ("deals", p.id, p.label) for p in PIPELINES["deals"]
    }
    dispositions = query(url, "SELECT hubspot_id, label FROM hubspot_call_dispositions_raw")
    assert {r["hubspot_id"]: r["label"] for r in dispositions} == DISPOSITIONS
    definitions = query(url, "SELECT object_type, name, raw_json FROM hubspot_property_definitions_raw")
    assert {(r["object_type"], r["name"]): r["raw_json"] for r in definitions} == {
        (t, d["name"]): {"objectType": t, **d}
        for t in ("contacts", "deals", "calls")
        for d in sim.portal.property_definitions(t)
    }
    history = query(
        url, "SELECT object_type, object_id, property, value, timestamp FROM hubspot_property_history_raw"
    )
    assert {tuple(r.values()) for r in history} == {
        (t, str(object_id), name, e["value"], e["timestamp"])
        for t, names in HISTORY.items()
        for object_id in sim.portal.iter_ids(t)
        for name, entries in sim.portal.property_history(t, object_id, names).items()
        for e in entries
    }
    primary_keys = query(
        url,
        "SELECT c.relname,"
        " array_agg(a.attname::text ORDER BY array_position(i.indkey::int2[], a.attnum)) AS key"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indisprimary AND c.relname = ANY(%s) GROUP BY c.relname",
        (list(LABEL_TABLES.values()),),
    )
    assert {r["relname"]: r["key"] for r in primary_keys} == {
        "hubspot_owners_raw": ["hubspot_id"],
        "hubspot_pipelines_raw": ["object_type", "hubspot_id"],
        "hubspot_call_dispositions_raw": ["hubspot_id"],
        "hubspot_property_definitions_raw": ["object_type", "name"],
        "hubspot_property_history_raw": [
            "object_type",
            "object_id",
            "property",
            "timestamp",
            "source_type",
            "value",
        ],
    }
    logs = query(
        url,
        "SELECT stream, status, records_received FROM sync_logs WHERE stream = ANY(%s)",
        (list(LABEL_TABLES),),
    )
    assert {r["stream"]: r["status"] for r in logs} == dict.fromkeys(LABEL_TABLES, "success")


def test_deals_view_names_pipeline_stage_probability_and_owner_as_the_portal_does(labelled):
    sim, url = labelled
    rows = query(url, "SELECT * FROM hubspot_deals")
    view = {
        r["deal_id"]: (
            r["pipeline_label"],
            r["stage_label"],
            r["probability"],
            r["is_closed"],
            r["is_won"],
            r["owner_name"],
        )
        for r in rows
    }
    pipelines = {p.id: p.label for p in PIPELINES["deals"]}
    expected = {
        deal_id: (
            pipelines.get(p["pipeline"]),
            *deal_stage(p["pipeline"], p["dealstage"]),
            owner_name(p["hubspot_owner_id"]) if p["hubspot_owner_id"] else None,
        )
        for deal_id, p in live(sim, "deals", "pipeline", "dealstage", "hubspot_owner_id").items()
    }
    assert view == expected
    by_id = {r["deal_id"]: r for r in rows}
    removed = [r for r in rows if r["stage_id"] == REMOVED_DEAL_STAGE]
    assert removed  # a stage removed from its pipeline: no label, the deal is still there
    assert all(r["stage_label"] is None and r["pipeline_label"] == "Sales Pipeline" for r in removed)
    assert any(r["pipeline_id"] == "710688094" and r["stage_label"] for r in rows)  # the second pipeline
    assert any(r["owner_id"] == GONE_OWNER and r["owner_name"] is None for r in rows)
    assert any(r["owner_id"] == FORMER_REP.id and r["owner_name"] == "Former Rep" for r in rows)
    assert len(by_id) == len(rows)


def test_contacts_view_names_lifecycle_stage_and_owner_as_the_portal_does(labelled):
    sim, url = labelled
    rows = query(url, "SELECT contact_id, lifecycle_label, owner_id, owner_name FROM hubspot_contacts")
    assert {r["contact_id"]: (r["lifecycle_label"], r["owner_name"]) for r in rows} == {
        contact_id: (
            LIFECYCLE.get(p["lifecyclestage"] or ""),
            owner_name(p["hubspot_owner_id"]) if p["hubspot_owner_id"] else None,
        )
        for contact_id, p in live(sim, "contacts", "lifecyclestage", "hubspot_owner_id").items()
    }
    assert any(r["owner_id"] == GONE_OWNER and r["owner_name"] is None for r in rows)


def test_contacts_merged_away_leave_the_contacts_view_and_their_calls_name_the_merged_contact(
    make_simulator, database_url
):
    sim: Simulator = make_simulator(contacts=120, deals=20, calls=200, seed=SEED, access_tokens=(TOKEN,))
    config = tap_config(sim)
    catalog = all_streams_catalog(config)
    full = run_tap(config, catalog=catalog)
    url = database_url
    run(url, full.text.splitlines())
    calls = query(url, "SELECT call_id, contact_id FROM hubspot_calls WHERE contact_id IS NOT NULL")
    first, second = sorted({r["contact_id"] for r in calls}, key=int)[:2]

    merged = str(sim.portal.merge_objects("contacts", int(first), int(second))["id"])
    sim.portal.flush_indexing()  # a while later: search shows the merged record
    incremental = run_tap(config, state=full.state, catalog=catalog)
    run(url, incremental.text.splitlines())

    shown = {r["contact_id"] for r in query(url, "SELECT contact_id FROM hubspot_contacts")}
    assert shown == set(live(sim, "contacts"))
    assert merged in shown
    assert not {first, second} & shown
    followed = {
        r["call_id"]: r["contact_id"] for r in query(url, "SELECT call_id, contact_id FROM hubspot_calls")
    }
    assert all(followed[r["call_id"]] == merged for r in calls if r["contact_id"] in (first, second))


def test_calls_view_names_outcome_owner_and_contact_as_the_portal_and_the_matching_view_do(labelled):
    sim, url = labelled
    rows = query(url, "SELECT * FROM hubspot_calls")
    matches = {r["call_id"]: r["contact_id"] for r in query(url, "SELECT * FROM hubspot_call_contacts")}
    emails = {contact_id: p["email"] for contact_id, p in live(sim, "contacts", "email").items()}
    assert {
        r["call_id"]: (r["disposition_label"], r["owner_name"], r["contact_id"], r["contact_email"])
        for r in rows
    } == {
        call_id: (
            DISPOSITIONS.get(p["hs_call_disposition"] or ""),
            owner_name(p["hubspot_owner_id"]) if p["hubspot_owner_id"] else None,
            matches[call_id],
            emails.get(matches[call_id] or ""),
        )
        for call_id, p in live(sim, "calls", "hs_call_disposition", "hubspot_owner_id").items()
    }
    deleted = [r for r in rows if r["disposition_id"] == DELETED_DISPOSITION]
    assert deleted
    assert all(r["disposition_label"] is None for r in deleted)
    assert sum(r["contact_id"] is not None for r in rows) > len(rows) / 2


def test_stage_history_gives_each_stage_its_label_and_the_time_until_the_next(labelled):
    sim, url = labelled
    rows = query(
        url,
        "SELECT object_type, object_id, property, value, value_label, entered_at, left_at, time_in_stage,"
        " is_current FROM hubspot_stage_history",
    )
    labels = {"dealstage": stage_labels("deals"), "lifecyclestage": LIFECYCLE}
    expected = {}
    for object_type, names in HISTORY.items():
        for object_id in sim.portal.iter_ids(object_type):
            for name, entries in sim.portal.property_history(object_type, object_id, names).items():
                ordered = sorted(
                    entries, key=lambda e: (parse_dt(e["timestamp"]), e["value"], e["sourceType"])
                )
                for i, entry in enumerate(ordered):
                    following = parse_dt(ordered[i + 1]["timestamp"]) if i + 1 < len(ordered) else None
                    key = (object_type, str(object_id), name, parse_dt(entry["timestamp"]))
                    expected[key] = (entry["value"], labels[name].get(entry["value"]), following)
    view = {
        (r["object_type"], r["object_id"], r["property"], r["entered_at"]): (
            r["value"],
            r["value_label"],
            r["left_at"],
        )
        for r in rows
    }
    assert view == expected
    for r in rows:
        assert r["is_current"] == (r["left_at"] is None)
        if r["left_at"] is not None:
            assert r["time_in_stage"] == r["left_at"] - r["entered_at"]
    assert any(r["value"] == REMOVED_DEAL_STAGE and r["value_label"] is None for r in rows)
    assert sum(not r["is_current"] for r in rows) > 50  # objects that went through several stages


def parse_dt(text: str) -> datetime.datetime:
    """A HubSpot timestamp (with or without milliseconds) as an aware datetime."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_views_follow_the_supabase_rules_of_the_target(labelled):
    _, url = labelled
    names = [view.name for view in VIEWS]
    rows = query(
        url,
        "SELECT c.relname, c.reloptions, obj_description(c.oid, 'pg_class') AS comment"
        " FROM pg_class c WHERE c.relkind = 'v' AND c.relname = ANY(%s)",
        (names,),
    )
    assert sorted(r["relname"] for r in rows) == sorted(names)
    for row in rows:
        assert "security_invoker=true" in row["reloptions"], row
        assert OWNER_MARK in row["comment"], row
    grants = query(
        url,
        "SELECT v AS view, r AS role, has_table_privilege(r, v, 'SELECT') AS can_read"
        " FROM unnest(%s::text[]) AS v, unnest(ARRAY['anon', 'authenticated', 'service_role']) AS r",
        (names,),
    )
    assert {(g["view"], g["role"]) for g in grants if g["can_read"]} == {
        (name, "service_role") for name in names
    }
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute("SET ROLE anon")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(f"SELECT * FROM {name}")
                cur.execute("RESET ROLE")
                cur.execute("SET ROLE service_role")
                cur.execute(f"SELECT count(*) FROM {name}")
                assert cur.fetchone()[0] > 0, name
                cur.execute("RESET ROLE")
    finally:
        conn.close()


def test_a_relation_of_a_views_name_the_target_did_not_create_is_left_alone(
    make_simulator, database_url, caplog
):
    sim: Simulator = make_simulator(contacts=40, deals=10, calls=20, seed=SEED, access_tokens=(TOKEN,))
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE hubspot_deals (id int, note text)")
        cur.execute("INSERT INTO hubspot_deals VALUES (1, 'ours')")
    conn.close()
    config = tap_config(sim)

    run(database_url, run_tap(config, catalog=all_streams_catalog(config)).text.splitlines())

    assert query(database_url, "SELECT * FROM hubspot_deals") == [{"id": 1, "note": "ours"}]
    assert "hubspot_deals exists but was not created by target-supabase-hybrid" in caplog.text
    assert query(database_url, "SELECT count(*) AS n FROM hubspot_contacts") == [
        {"n": len(live(sim, "contacts"))}
    ]


def readme_examples() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    section = text[
        text.index("<!-- label-view-examples:start -->") : text.index("<!-- label-view-examples:end -->")
    ]
    return re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)


def test_the_readmes_example_query_of_each_view_runs_and_returns_rows(labelled):
    _, url = labelled
    examples = readme_examples()
    views = [set(re.findall(r"\bhubspot_\w+", sql)) for sql in examples]
    assert sorted(name for names in views for name in names) == sorted(view.name for view in VIEWS)
    for sql in examples:
        assert query(url, sql), sql
