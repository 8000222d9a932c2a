from __future__ import annotations

import gc
import re
from collections import Counter

import psutil
import pytest

from tests.hubspot_simulator import SimulatorConfig
from tests.hubspot_simulator.generate import COMPANY_NUMBERS, phone_digits
from tests.hubspot_simulator.portal import Portal

from .conftest import api, parse_dt

ANCHOR = 1_767_225_600_000  # 2026-01-01


@pytest.fixture
def small(id_layout):
    def make(**kw):
        base = {"contacts": 3000, "deals": 300, "calls": 900, "seed": 1, "anchor_ms": ANCHOR}
        return Portal(SimulatorConfig(**{**base, "id_layout": id_layout, **kw}))

    return make


def every_id(p, object_type):
    return sorted([*p.iter_ids(object_type), *p.iter_ids(object_type, archived=True)])


def test_deterministic_by_seed(small):
    a, b, c = small(), small(), small(seed=2)
    assert every_id(a, "contacts") == every_id(b, "contacts")
    contacts, calls = every_id(a, "contacts"), every_id(a, "calls")
    for i in (contacts[0], contacts[16], contacts[-1]):
        assert a.get_object("contacts", i) == b.get_object("contacts", i)
    assert [a.get_object("calls", i) for i in calls[:50]] == [b.get_object("calls", i) for i in calls[:50]]
    assert a.get_object("contacts", contacts[16]) != c.get_object("contacts", every_id(c, "contacts")[16])
    assert list(a.iter_ids("contacts", archived=True)) == list(b.iter_ids("contacts", archived=True))


def test_timestamps_spread_over_two_years_with_ties(small):
    p = small()
    objs = list(p.iter_objects("contacts"))
    mods = [parse_dt(o["updatedAt"]) for o in objs]
    assert min(mods) >= ANCHOR - 731 * 86400000
    assert max(mods) < ANCHOR
    assert Counter(mods).most_common(1)[0][1] > 50  # bulk-import instants shared by many objects
    assert all(parse_dt(o["createdAt"]) <= parse_dt(o["updatedAt"]) for o in objs)
    with_ms = [o["updatedAt"] for o in objs if re.search(r"\.\d{3}Z$", o["updatedAt"])]
    assert 0 < len(with_ms) < len(objs)  # datetimes with and without milliseconds


def test_real_world_mess_is_present(small):
    p = small()
    contacts = list(p.iter_objects("contacts"))
    values = [v for o in contacts for v in o["properties"].values()]
    assert any(v is None for v in values)
    assert any(v == "" for v in values)
    assert any(v and re.search("[\u0400-\u04ff]", v) for v in values)
    assert any(v and re.search("[\u4e00-\u9fff\u3040-\u30ff]", v) for v in values)
    assert any(v and re.search("[\U0001f300-\U0001faff]", v) for v in values)
    assert any(v and "\u0000" in v for v in values)
    assert any(v and len(v) > 20_000 for v in values)
    phones = {o["properties"]["phone"] for o in contacts}
    assert {"+7 (", "8", "7"} & {ph[:4] if ph.startswith("+7 (") else ph[:1] for ph in phones if ph}
    assert any(ph and "ext. 12" in ph for ph in phones)
    assert any(ph and re.fullmatch(r"\(\d{3}\) \d{3} \d{4}", ph) for ph in phones)
    assert any(ph and re.fullmatch(r"\+1 \d{3}-\d{3}-\d{4}", ph) for ph in phones)
    watched = Counter(o["properties"]["vsl_watched"] for o in contacts)
    assert set(watched) == {"true", "false", None}
    deals = list(p.iter_objects("deals"))
    amounts = {o["properties"]["amount"] for o in deals}
    assert {"abc", "1,234.50", ""} <= amounts
    assert None in amounts
    assert {o["properties"]["qualified_status"] for o in deals} >= {"qualified", "not_qualified"}


def _digits(s):
    d = re.sub(r"\D", "", (s or "").split("ext")[0])
    if len(d) == 11 and d[0] == "8":
        d = "7" + d[1:]  # Russian trunk prefix
    if len(d) == 10:
        d = "1" + d  # US number without country code
    return d


def _counterpart(call):
    """The contact's side of a call: the caller for INBOUND calls, the number dialled otherwise."""
    props = call["properties"]
    inbound = props["hs_call_direction"] == "INBOUND"
    return props["hs_call_from_number" if inbound else "hs_call_to_number"], props[
        "hs_call_to_number" if inbound else "hs_call_from_number"
    ]


def test_calls_match_contact_phones_in_some_format(small):
    p = small()
    matched = associated = 0
    for call in p.iter_objects("calls"):
        contacts = call["associations"].get("contacts")
        if not contacts:
            continue
        associated += 1
        contact = p.get_object("contacts", contacts[0])
        assert contact is not None
        numbers = {
            _digits(contact["properties"]["phone"]),
            _digits(contact["properties"]["mobilephone"]),
            phone_digits(1, int(contacts[0])),
        }
        raw, _ = _counterpart(call)
        if raw and _digits(raw) in numbers:
            matched += 1
    total = p.counts()["calls"]
    assert 0.8 * total < associated < total
    assert matched > 0.8 * associated


def test_calls_carry_their_counterpart_contacts_number_on_the_side_the_direction_says(small):
    p = small()
    company = {_digits(n) for n in COMPANY_NUMBERS}
    directions: Counter[str] = Counter()
    unassociated = unassociated_known = 0
    for call in p.iter_objects("calls"):
        cid = int(call["id"])
        counterpart, other = _counterpart(call)
        directions[call["properties"]["hs_call_direction"]] += 1
        assert _digits(other) in company  # the sales team's own line
        known = p.call_counterpart_contact(cid)
        associated = [int(i) for i in call["associations"].get("contacts", [])]
        if known is not None:
            assert _digits(counterpart) == phone_digits(1, known)
            assert not associated or known in associated
        if not associated:
            unassociated += 1
            unassociated_known += known is not None
    assert directions["INBOUND"] > 300
    assert directions["OUTBOUND"] > 300
    assert 50 < unassociated < 150
    assert 0.55 * unassociated < unassociated_known < 0.85 * unassociated
    assert p.call_counterpart_contact(every_id(p, "calls")[-1] + 1) is None


def test_lazy_300k_portal_stays_compact_and_serves_its_far_end(make_simulator):
    """Memory is asserted here; speed is the benchmark's job (timed asserts flake on a busy machine)."""
    gc.collect()
    proc = psutil.Process()
    rss = proc.memory_info().rss
    sim = make_simulator(contacts=300_000, deals=1000, calls=2000)
    grown = proc.memory_info().rss - rss
    assert grown < 80 * 1024 * 1024, grown  # compact arrays, not 300k dicts
    names = ",".join(x["name"] for x in sim.portal.property_definitions("contacts"))
    far = sim.portal.stores["contacts"].layout.id_of(249_999)  # the 250,000th id
    url = f"/crm/v3/objects/contacts?limit=100&after={far}&properties={names}"
    page = api(sim, "GET", url)
    assert page.status_code == 200
    assert int(page.json()["results"][0]["id"]) >= far
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 200,
        "properties": names.split(","),
    }
    data = api(sim, "POST", "/crm/v3/objects/contacts/search", json=body).json()
    assert data["total"] == sim.portal.counts()["contacts"] > 290_000
