"""Calls matched to contacts on the simulator's messy phone data: tap → target → `hubspot_call_contacts`.

The expected match of every call is computed from the simulator's ground truth (its objects, associations and
`call_counterpart_contact`) with an independent reading of its phone formats — never from the target's code.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from tests.hubspot_simulator import Simulator
from tests.hubspot_simulator.generate import format_phone, phone_digits
from tests.hubspot_simulator.portal import Portal
from tests.tap.conftest import TOKEN, run_tap, tap_config
from tests.target.singer import query, run

SEED = 11
README_QUERY_START = "SELECT c.hubspot_id, c.email, count(*) AS calls,"


def canonical(text: str | None) -> str | None:
    """The simulator's number formats → E.164 (RU "8…"/"7…", US with or without "1", "ext." dropped)."""
    digits = re.sub(r"\D", "", (text or "").split("ext")[0])
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    if len(digits) == 10:
        digits = "1" + digits
    return "+" + digits if len(digits) == 11 and digits[0] in "17" else None


def counterpart_field(call: dict[str, Any]) -> str:
    """The contact's side of a call: the caller for INBOUND calls, the number dialled otherwise."""
    inbound = call["properties"]["hs_call_direction"] == "INBOUND"
    return "hs_call_from_number" if inbound else "hs_call_to_number"


def stored_numbers(portal: Portal, contact_id: int) -> set[str]:
    contact = portal.get_object("contacts", contact_id, associations=False)
    assert contact is not None
    props = contact["properties"]
    return {n for n in (canonical(props["phone"]), canonical(props["mobilephone"])) if n}


def other_format(e164: str, avoid: str | None) -> str:
    """`e164` written another way than `avoid` (the point is formatting-independent matching)."""
    for variant in range(6):
        text = format_phone(e164[1:], variant)
        if text != avoid:
            return text
    raise AssertionError(e164)


def set_up_edge_cases(portal: Portal) -> dict[str, int]:
    """Deliberate cases: association beats a phone matching someone else; a shared number is ambiguous."""
    live_calls = list(portal.iter_ids("calls"))
    live_contacts = list(portal.iter_ids("contacts"))
    with_number = [c for c in live_contacts if stored_numbers(portal, c)]
    # 1. An associated call now dials the number of a contact it is not associated with.
    assoc_call = next(k for k in live_calls if portal.associated_ids("calls", k, "contacts"))
    associated = portal.associated_ids("calls", assoc_call, "contacts")
    stranger = next(c for c in with_number if c not in associated)
    call = portal.get_object("calls", assoc_call, associations=False)
    assert call is not None
    number = sorted(stored_numbers(portal, stranger))[0]
    portal.update_object("calls", assoc_call, {counterpart_field(call): other_format(number, None)})
    # 2. An unassociated call whose known counterpart's number another contact now also has.
    shared_call = next(
        k
        for k in live_calls
        if not portal.associated_ids("calls", k, "contacts")
        and (known := portal.call_counterpart_contact(k)) is not None
        and known in with_number
        and known != stranger
    )
    owner = portal.call_counterpart_contact(shared_call)
    assert owner is not None
    twin = next(c for c in with_number if c not in (owner, stranger))
    e164 = "+" + phone_digits(SEED, owner)
    portal.update_object("contacts", twin, {"phone": other_format(e164, None)})
    return {"assoc_call": assoc_call, "stranger": stranger, "shared_call": shared_call, "twin": twin}


def expected_matches(portal: Portal) -> dict[str, tuple[str | None, str, int]]:
    """call id → (contact id, match_rule, candidates), from the simulator's current data."""
    owners: dict[str, set[int]] = {}
    live_contacts = set(portal.iter_ids("contacts"))
    for contact_id in live_contacts:
        for number in stored_numbers(portal, contact_id):
            owners.setdefault(number, set()).add(contact_id)
    expected: dict[str, tuple[str | None, str, int]] = {}
    for call_id in portal.iter_ids("calls"):
        call = portal.get_object("calls", call_id, associations=False)
        assert call is not None
        carried = canonical(call["properties"][counterpart_field(call)])
        associated = [c for c in portal.associated_ids("calls", call_id, "contacts") if c in live_contacts]
        if associated:
            dialled = [c for c in associated if carried in stored_numbers(portal, c)]
            expected[str(call_id)] = (str(min(dialled or associated)), "association", len(associated))
            continue
        candidates = owners.get(carried or "", set())
        if len(candidates) == 1:
            expected[str(call_id)] = (str(next(iter(candidates))), "phone", 1)
        elif candidates:
            expected[str(call_id)] = (None, "phone_ambiguous", len(candidates))
        else:
            expected[str(call_id)] = (None, "unmatched", 0)
    return expected


def readme_query() -> str:
    from tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(README_QUERY_START)
    return text[start : text.index("```", start)]


@pytest.fixture
def loaded(make_simulator, database_url) -> tuple[Simulator, dict[str, int], str]:
    sim: Simulator = make_simulator(
        contacts=400, calls=300, deals=20, seed=SEED, access_tokens=(TOKEN,), archived_fraction=0.02
    )
    cases = set_up_edge_cases(sim.portal)
    output = run_tap(tap_config(sim))
    assert output.records["calls"]
    assert output.records["contacts"]
    run(database_url, output.text.splitlines(), default_phone_region="US", phone_fallback_regions=["RU"])
    return sim, cases, database_url


def test_given_messy_simulator_phones_then_calls_match_contacts_as_the_ground_truth_says(loaded):
    sim, cases, database_url = loaded
    portal = sim.portal
    rows = query(database_url, "SELECT * FROM hubspot_call_contacts")
    view = {r["call_id"]: (r["contact_id"], r["match_rule"], r["candidates"]) for r in rows}
    expected = expected_matches(portal)
    assert view == expected

    rules = Counter(rule for _, rule, _ in expected.values())
    unassociated = len(expected) - rules["association"]
    assert rules["association"] > 0.8 * len(expected)
    assert rules["phone"] > 0.3 * unassociated  # ~70% carry a contact's number, most contacts store it
    assert rules["phone_ambiguous"] >= 1
    assert rules["unmatched"] >= 1

    # association beats a phone that matches another contact
    assoc_call = str(cases["assoc_call"])
    assert view[assoc_call][1] == "association"
    assert view[assoc_call][0] != str(cases["stranger"])
    assert int(view[assoc_call][0]) in portal.associated_ids("calls", cases["assoc_call"], "contacts")
    assert view[str(cases["shared_call"])] == (None, "phone_ambiguous", 2)

    # a phone match is never a wrong contact: it is the contact whose number the call carries
    for call_id, (contact_id, rule, _) in view.items():
        if rule == "phone":
            assert contact_id == str(portal.call_counterpart_contact(call_id)), call_id
    # every unassociated call with a known counterpart that stores its number is found
    for call_id in portal.iter_ids("calls"):
        known = portal.call_counterpart_contact(call_id)
        if str(call_id) not in view or view[str(call_id)][1] == "association" or known is None:
            continue
        if portal.store("contacts").is_archived(known) or not stored_numbers(portal, known):
            continue
        if call_id == cases["shared_call"]:
            continue
        assert view[str(call_id)] == (str(known), "phone", 1), call_id


def test_given_messy_simulator_phones_then_every_formatted_number_normalizes_right(loaded):
    sim, _, database_url = loaded
    rows = query(
        database_url,
        "SELECT hubspot_id, phone, phone_e164, mobilephone, mobilephone_e164 FROM hubspot_contacts_raw",
    )
    assert len(rows) == len(list(sim.portal.iter_ids("contacts"))) + len(
        list(sim.portal.iter_ids("contacts", archived=True))
    )
    for row in rows:
        assert row["phone_e164"] == canonical(row["phone"]), row
        assert row["mobilephone_e164"] == canonical(row["mobilephone"]), row
    calls = query(
        database_url,
        "SELECT call_to_number, call_to_number_e164, call_from_number, call_from_number_e164"
        " FROM hubspot_calls_raw",
    )
    for row in calls:
        assert row["call_to_number_e164"] == canonical(row["call_to_number"]), row
        assert row["call_from_number_e164"] == canonical(row["call_from_number"]), row


def test_given_a_loaded_database_then_the_readme_query_runs(loaded):
    _, _, database_url = loaded
    sql = readme_query().replace("'2025-01-01'", "'2000-01-01'").replace("'2025-04-01'", "'2100-01-01'")
    rows = query(database_url, sql)
    matched = query(
        database_url,
        "SELECT count(*) AS n, count(DISTINCT contact_id) AS contacts FROM hubspot_call_contacts"
        " WHERE contact_id IS NOT NULL",
    )[0]
    assert len(rows) == matched["contacts"]
    assert sum(r["calls"] for r in rows) == matched["n"]
    assert {"hubspot_id", "email", "calls", "minutes_talked", "matched_by_phone_only"} <= set(rows[0])
