"""Phase 2: E.164 phone columns and the call → contact view (association first, then unambiguous phone)."""

from __future__ import annotations

import phonenumbers
import pytest

from target_supabase_hybrid.phones import PhoneNormalizer
from tests.target.singer import hubspot, query, record, run, schema


@pytest.mark.parametrize("region", ["RU", "US", "GB", "DE", "IT", "BR", None])
@pytest.mark.parametrize(
    "text",
    [
        "+7 (912) 345-67-89",
        "8 912 345 67 89",
        "89123456789",
        "+7 8 912 345 6789",
        "+44 (0) 20 7946 0958",
        "020 7946 0958",
        "+1 (415) 555-2671",
        "1 415 555 2671",
        "+39 06 1234 5678",
        "12",
        "call me",
        "+49 30 123456",
    ],
)
def test_given_any_number_then_shortcut_agrees_with_phonenumbers(region, text):
    try:
        number = phonenumbers.parse(text, region)
        expected = (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if phonenumbers.is_possible_number(number)
            else None
        )
    except phonenumbers.NumberParseException:
        expected = None
    assert PhoneNormalizer(region).e164_text(text) == expected


def test_given_calls_and_contacts_then_view_matches_by_association_first_then_unambiguous_phone(database_url):
    contacts = [
        hubspot("c1", phone="+7 (912) 345-67-89"),
        hubspot("c2", phone="8 912 000 00 01"),
        hubspot("c3", mobilephone="+7 912 000 00 02"),
        hubspot("c4", phone="+79120000002"),  # same number as c3: ambiguous
        hubspot("c5", phone="not a phone"),
    ]
    calls = [
        hubspot("k1", hs_call_to_number="79123456789", hs_call_direction="OUTBOUND"),  # phone → c1
        hubspot(
            "k2", hs_call_to_number="+79123456789", associations={"contacts": ["c2"]}
        ),  # association wins
        hubspot("k3", hs_call_from_number="89120000001", hs_call_direction="INBOUND"),  # inbound: from → c2
        hubspot("k4", hs_call_to_number="+7 912 000-00-02"),  # c3 and c4 → ambiguous
        hubspot("k5", hs_call_to_number="garbage"),
    ]
    run(
        database_url,
        [
            schema("contacts"),
            *(record("contacts", c) for c in contacts),
            schema("calls"),
            *(record("calls", c) for c in calls),
        ],
        default_phone_region="RU",
    )
    e164 = query(database_url, "SELECT hubspot_id, phone_e164 FROM hubspot_contacts_raw ORDER BY 1")
    assert [r["phone_e164"] for r in e164] == ["+79123456789", "+79120000001", None, "+79120000002", None]
    view = {r["call_id"]: r for r in query(database_url, "SELECT * FROM hubspot_call_contacts")}
    assert {k: (v["contact_id"], v["match_rule"]) for k, v in view.items()} == {
        "k1": ("c1", "phone"),
        "k2": ("c2", "association"),
        "k3": ("c2", "phone"),
        "k4": (None, "phone_ambiguous"),
        "k5": (None, "unmatched"),
    }
    assert view["k4"]["candidates"] == 2
