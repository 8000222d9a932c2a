"""Phase 2: E.164 phone columns and the call → contact view (association first, then unambiguous phone)."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_supabase_hybrid.phones import PhoneNormalizer
from target_supabase_hybrid.target import TargetSupabaseHybrid
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
def test_given_any_number_then_e164_agrees_with_phonenumbers_fast_path_or_not(region, text):
    def e164(candidate, in_region, accept):
        try:
            number = phonenumbers.parse(candidate, in_region)
        except phonenumbers.NumberParseException:
            return None
        return (
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if accept(number)
            else None
        )

    expected = e164(text, region, phonenumbers.is_possible_number)
    normalizer = PhoneNormalizer(region)
    digits = re.sub(r"[\s\-().]", "", text)
    if expected is None and re.fullmatch(r"\d{11,15}", digits):  # international written without "+"
        expected = e164("+" + digits, None, phonenumbers.is_valid_number)
    assert normalizer.e164_text(text) == expected


MESSY = {  # the simulator's formats (tests/hubspot_simulator/generate.py format_phone) → the right E.164
    "+7 (953) 794-08-53": "+79537940853",
    "89537940853": "+79537940853",
    "79815384881": "+79815384881",
    "+79815384881": "+79815384881",
    "8 (981) 538-48-81": "+79815384881",
    "+7 981 538 48 81": "+79815384881",
    "(857) 829 5489": "+18578295489",
    "+1 857-829-5489": "+18578295489",
    "857.829.5489": "+18578295489",
    "14465135052": "+14465135052",
    "+14465135052": "+14465135052",
    "736-747-8010 ext. 12": "+17367478010",
    "ext. 12": None,
    "n/a": None,
    "+": None,
    "call me 🙂": None,
}


def test_given_us_then_ru_fallback_then_every_simulator_format_normalizes_right():
    normalizer = PhoneNormalizer("US", ["RU"])
    assert {text: normalizer.e164_text(text) for text in MESSY} == MESSY


def test_given_ru_before_us_then_us_national_numbers_are_misread_so_order_matters():
    normalizer = PhoneNormalizer("RU", ["US"])
    assert normalizer.e164_text("(857) 829 5489") == "+78578295489"  # possible in RU: RU wins
    assert normalizer.e164_text("89537940853") == "+79537940853"
    assert normalizer.e164_text("14465135052") == "+14465135052"  # not possible in RU → US


def test_given_bare_international_digits_then_accepted_only_when_valid_and_after_the_regions():
    assert PhoneNormalizer("US").e164_text("4915112345678") == "+4915112345678"  # German mobile
    assert PhoneNormalizer("US").e164_text("79815384881") == "+79815384881"
    assert PhoneNormalizer("US").e164_text("99999999999") is None  # no such country: not guessed
    # Moscow "8 495 …" is also a valid Vietnamese +84 95 …: a configured RU is tried first
    assert PhoneNormalizer("US", ["RU"]).e164_text("8 495 123 45 67") == "+74951234567"


def test_given_fallback_regions_as_text_or_unknown_then_parsed_or_rejected():
    assert PhoneNormalizer("us", "ru, gb").fallback_regions == ("RU", "GB")
    assert PhoneNormalizer("US", ["US", "RU", "RU"]).fallback_regions == ("RU",)
    with pytest.raises(ValueError, match="XX"):
        PhoneNormalizer("US", ["XX"])
    with pytest.raises(ConfigValidationError, match="Unknown phone region"):
        TargetSupabaseHybrid(
            config={"database_url": "postgresql://localhost/x", "default_phone_region": "ZZ"}
        )


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


def test_given_several_associated_contacts_or_archived_ones_then_view_picks_the_dialled_live_contact(
    database_url,
):
    archived = {**hubspot("c9", phone="+1 415 555 2671"), "archived": True}
    contacts = [
        hubspot("c10", phone="+7 912 000 00 10"),
        hubspot("c8", phone="+7 912 000 00 08"),
        archived,
    ]
    calls = [
        # several associated contacts: the one dialled, not the lowest id
        hubspot("k1", hs_call_to_number="89120000010", associations={"contacts": ["c8", "c10"]}),
        # none of them dialled: the lowest id, numerically ("c10" < "c8" as text)
        hubspot("k2", hs_call_to_number="+1 617 555 0100", associations={"contacts": ["c10", "c8"]}),
        hubspot("k3", hs_call_to_number="(415) 555-2671"),  # only an archived contact has it
        hubspot("k4", hs_call_to_number="89120000010", associations={"contacts": ["c9"]}),  # archived: phone
    ]
    run(
        database_url,
        [
            schema("contacts"),
            *(record("contacts", c) for c in contacts),
            schema("calls"),
            *(record("calls", c) for c in calls),
        ],
        default_phone_region="US",
        phone_fallback_regions=["RU"],
    )
    view = {r["call_id"]: r for r in query(database_url, "SELECT * FROM hubspot_call_contacts")}
    assert {k: (v["contact_id"], v["match_rule"], v["candidates"]) for k, v in view.items()} == {
        "k1": ("c10", "association", 2),
        "k2": ("c8", "association", 2),
        "k3": (None, "unmatched", 0),
        "k4": ("c10", "phone", 1),
    }


def test_given_changed_phone_regions_when_unchanged_records_are_resent_then_stored_e164_is_recomputed(
    database_url,
):
    messages = [schema("contacts"), record("contacts", hubspot("c1", phone="(857) 829 5489"))]
    stored = "SELECT phone_e164 FROM hubspot_contacts_raw"
    run(database_url, messages, default_phone_region="RU")
    assert query(database_url, stored) == [{"phone_e164": "+78578295489"}]

    run(database_url, [schema("contacts")], default_phone_region="US", phone_fallback_regions=["RU"])

    assert query(database_url, stored) == [{"phone_e164": "+18578295489"}]  # no re-extract needed
    unchanged = "SELECT records_unchanged, records_updated FROM sync_logs ORDER BY id DESC LIMIT 1"
    run(database_url, messages, default_phone_region="US", phone_fallback_regions=["RU"])
    assert query(database_url, unchanged) == [{"records_unchanged": 1, "records_updated": 0}]
