"""Unit behaviour of the tap's building blocks: search cursor, rate budget, errors, config checks."""

from __future__ import annotations

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


class FakeClock:
    """A monotonic clock that moves only when someone sleeps on it (every wait is recorded)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def slept(self) -> float:
        return sum(self.sleeps)


def acquisitions_without_waiting(window: RollingWindow, clock: FakeClock, most: int = 10_000) -> int:
    """How many requests the window lets through before it makes the next one wait."""
    for count in range(most):
        window.acquire()
        if clock.sleeps:
            return count
    return most


def test_rolling_window_lets_its_limit_through_then_waits_until_the_oldest_leaves_the_window():
    clock = FakeClock()
    window = RollingWindow(limit=3, window_seconds=0.3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert window.acquire() == 0
    assert clock.sleeps == []

    waited = window.acquire()

    assert waited == clock.slept() >= 0.3  # the whole window (plus its safety margin) has passed
    assert acquisitions_without_waiting(window, clock) == 0  # the next one waits again: 3 per window


def test_rate_headers_reporting_an_exhausted_window_pause_the_budget():
    clock = FakeClock()
    budget = RateBudget(
        requests_per_window=100, search_per_second=5, window_seconds=10, clock=clock, sleep=clock.sleep
    )
    headers = {"X-HubSpot-RateLimit-Max": "50", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    budget.observe("/crm/v3/objects/contacts", {**headers, "X-HubSpot-RateLimit-Remaining": "40"})
    assert acquisitions_without_waiting(budget.burst, clock) == 50  # HubSpot's stricter figure wins

    clock = FakeClock()
    budget = RateBudget(
        requests_per_window=100, search_per_second=5, window_seconds=10, clock=clock, sleep=clock.sleep
    )
    budget.observe("/crm/v3/objects/contacts", {**headers, "X-HubSpot-RateLimit-Remaining": "0"})
    budget.burst.acquire()
    assert clock.slept() >= 10  # HubSpot says its window is spent: nobody goes before it has passed
    assert budget.window_for("/crm/v3/objects/deals/search") is budget.search


def test_v4_associations_draw_on_their_own_budget_adjusted_by_their_own_headers():
    clock = FakeClock()
    budget = RateBudget(
        requests_per_window=1, search_per_second=5, associations_per_window=50, clock=clock, sleep=clock.sleep
    )
    batch = "/crm/v4/associations/contacts/deals/batch/read"
    assert budget.window_for(batch) is budget.associations
    assert budget.window_for("/crm/v4/objects/contacts/1/associations/deals") is budget.associations
    assert budget.window_for("/crm/v3/objects/contacts") is budget.burst
    budget.burst.acquire()  # the 10-s budget is now spent ...
    for _ in range(20):  # ... and association calls do not wait for it
        budget.window_for(batch).acquire()
    assert clock.sleeps == []
    # List headers saying the 10-s window is spent hold list requests only.
    budget.observe(
        "/crm/v3/objects/deals", {"X-HubSpot-RateLimit-Max": "1", "X-HubSpot-RateLimit-Remaining": "0"}
    )
    budget.window_for(batch).acquire()
    assert clock.sleeps == []
    # Association headers adjust only the associations budget: 30 per window from a fresh start.
    budget.observe(batch, {"X-HubSpot-RateLimit-Max": "30", "X-HubSpot-RateLimit-Remaining": "25"})
    clock.now += 3_600
    assert acquisitions_without_waiting(budget.associations, clock) == 30


@pytest.mark.parametrize(
    ("config", "per_window", "learns"),
    [
        ({}, 100, True),
        ({"rate_limit_tier": "professional"}, 150, True),
        ({"rate_limit_tier": "enterprise", "requests_per_10_seconds": 20}, 150, True),
        ({"rate_limit_tier": "api_pack"}, 200, True),
        ({"rate_limit_tier": "api_pack", "association_requests_per_10_seconds": 40}, 40, False),
    ],
)
def test_association_calls_per_10_seconds_follow_the_tier_or_the_explicit_setting(config, per_window, learns):
    """As documented for the settings: a tier's figure is a guess HubSpot's headers may raise; an explicit
    figure is a promise (headroom for other integrations) that they never raise."""
    clock = FakeClock()
    portal = Portal({"access_token": "t", **config}, clock=clock, sleep=clock.sleep)
    window = portal.budget.window_for("/crm/v4/associations/contacts/deals/batch/read")
    assert acquisitions_without_waiting(window, clock) == per_window

    portal.budget.observe(
        "/crm/v4/associations/contacts/deals/batch/read",
        {"X-HubSpot-RateLimit-Max": "500", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"},
    )
    clock.now += 3_600  # a fresh window
    clock.sleeps.clear()
    assert acquisitions_without_waiting(window, clock) == (500 if learns else per_window)


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
