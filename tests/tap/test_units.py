"""Unit behaviour of the tap's building blocks: search cursor, rate budget, errors, config checks."""

from __future__ import annotations

import time

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_hubspot_raw.client import Portal, missing_scopes
from tap_hubspot_raw.pagination import SearchCursor, to_epoch_ms, to_iso
from tap_hubspot_raw.ratelimit import RateBudget, RollingWindow
from tap_hubspot_raw.reader import SearchPage
from tap_hubspot_raw.tap import TapHubspotRaw

MODIFIED = "hs_lastmodifieddate"


def _page(stamps: list[int], first_id: int = 1, more: bool = True) -> SearchPage:
    results = [
        {"id": str(first_id + i), "properties": {MODIFIED: to_iso(ms)}, "updatedAt": to_iso(ms)}
        for i, ms in enumerate(stamps)
    ]
    return SearchPage(results, 999, more)


def test_iso_and_epoch_ms_round_trip():
    assert to_epoch_ms(to_iso(1_700_000_000_123)) == 1_700_000_000_123
    assert to_epoch_ms("1700000000123") == 1_700_000_000_123
    assert to_epoch_ms("2023-11-14T22:13:20+00:00") == 1_700_000_000_000


def test_given_page_spanning_timestamps_when_advancing_then_restarts_at_last_timestamp_skipping_seen_ids():
    cursor = SearchCursor(low_ms=1000, high_ms=9000).advance(_page([1000, 1001, 1005, 1005]), MODIFIED)
    assert cursor is not None
    assert (cursor.low_ms, cursor.tie_ms, cursor.seen) == (1005, None, frozenset({"3", "4"}))
    assert not cursor.accept({"id": "3"})
    assert cursor.accept({"id": "5"})


def test_given_full_page_on_one_millisecond_when_advancing_then_reads_that_millisecond_by_id():
    cursor = SearchCursor(low_ms=1000, high_ms=9000).advance(_page([1000] * 4), MODIFIED)
    assert cursor is not None
    assert (cursor.tie_ms, cursor.after_id) == (1000, 0)
    body = cursor.body(MODIFIED, ["a"])
    assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    cursor = cursor.advance(_page([1000] * 4, first_id=5), MODIFIED)
    assert cursor is not None
    assert cursor.after_id == 8
    cursor = cursor.advance(_page([1000], first_id=9, more=False), MODIFIED)
    assert cursor is not None
    assert (cursor.low_ms, cursor.tie_ms, cursor.seen) == (1001, None, frozenset())


def test_given_last_page_when_advancing_then_finishes():
    assert SearchCursor(low_ms=1000, high_ms=9000).advance(_page([1000, 2000], more=False), MODIFIED) is None


def test_rolling_window_blocks_once_the_budget_is_spent():
    window = RollingWindow(limit=3, window_seconds=0.3)
    started = time.monotonic()
    for _ in range(3):
        window.acquire()
    assert time.monotonic() - started < 0.1
    window.acquire()
    assert time.monotonic() - started >= 0.25


def test_rate_headers_reporting_an_exhausted_window_pause_the_budget():
    budget = RateBudget(requests_per_window=100, search_per_second=5, window_seconds=10)
    headers = {"X-HubSpot-RateLimit-Max": "50", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    budget.observe("/crm/v3/objects/contacts", {**headers, "X-HubSpot-RateLimit-Remaining": "40"})
    assert budget.burst.limit == 50  # HubSpot's stricter figure wins
    headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "200"
    budget.observe("/crm/v3/objects/contacts", {**headers, "X-HubSpot-RateLimit-Remaining": "0"})
    started = time.monotonic()
    budget.burst.acquire()
    assert time.monotonic() - started >= 0.15
    assert budget.window_for("/crm/v3/objects/deals/search") is budget.search


def test_v4_associations_draw_on_their_own_budget_adjusted_by_their_own_headers():
    budget = RateBudget(requests_per_window=1, search_per_second=5, associations_per_window=50)
    batch = "/crm/v4/associations/contacts/deals/batch/read"
    assert budget.window_for(batch) is budget.associations
    assert budget.window_for("/crm/v4/objects/contacts/1/associations/deals") is budget.associations
    assert budget.window_for("/crm/v3/objects/contacts") is budget.burst
    budget.burst.acquire()  # the 10-s budget is now spent ...
    started = time.monotonic()
    for _ in range(20):  # ... and association calls do not wait for it
        budget.window_for(batch).acquire()
    assert time.monotonic() - started < 0.1
    # Association headers adjust only the associations budget; list headers only the 10-s one.
    budget.observe(batch, {"X-HubSpot-RateLimit-Max": "30", "X-HubSpot-RateLimit-Remaining": "25"})
    assert (budget.associations.limit, budget.burst.limit) == (30, 1)
    budget.observe(
        "/crm/v3/objects/deals", {"X-HubSpot-RateLimit-Max": "1", "X-HubSpot-RateLimit-Remaining": "0"}
    )
    assert budget.associations.limit == 30
    assert budget.associations._paused_until == 0


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, 100),
        ({"rate_limit_tier": "professional"}, 150),
        ({"rate_limit_tier": "enterprise", "requests_per_10_seconds": 20}, 150),
        ({"rate_limit_tier": "api_pack"}, 200),
        ({"rate_limit_tier": "api_pack", "association_requests_per_10_seconds": 40}, 40),
    ],
)
def test_the_associations_budget_follows_the_tier_or_the_explicit_setting(config, expected):
    portal = Portal({"access_token": "t", **config})
    assert portal.budget.associations.limit == expected
    assert portal.budget.associations.follow_headers is ("association_requests_per_10_seconds" not in config)


def test_missing_scopes_are_read_from_either_key():
    body = {
        "errors": [{"context": {"requiredScopes": ["crm.objects.contacts.read"]}}],
        "context": {"requiredGranularScopes": ["crm.objects.deals.read"]},
    }
    assert set(missing_scopes(body)) == {"crm.objects.contacts.read", "crm.objects.deals.read"}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "Set access_token"),
        ({"client_id": "x", "client_secret": "y"}, "missing: refresh_token"),
        ({"access_token": "t", "object_types": ["contacts", "widgets"]}, "Unknown object type(s) widgets"),
        ({"access_token": "t", "properties_exclude": {"tickets": ["a"]}}, "not in object_types: tickets"),
        ({"access_token": "t", "rate_limit_tier": "platinum"}, "platinum"),
        ({"access_token": "t", "association_requests_per_10_seconds": 0}, "must be at least 1"),
    ],
)
def test_bad_config_is_rejected_with_a_clear_message(config, expected):
    with pytest.raises(ConfigValidationError) as raised:
        TapHubspotRaw(config=config, parse_env_config=False)
    assert any(expected in error for error in raised.value.errors)
