"""Configuration of the HubSpot simulator (portal shape, auth, limits, faults)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Fields that may be changed while the simulator runs (control API / Simulator.update_config).
RUNTIME_FIELDS = frozenset(
    {
        "latency_ms",
        "latency_jitter_ms",
        "error_rate",
        "error_statuses",
        "drop_rate",
        "slow_rate",
        "slow_ms",
        "force_429",
        "rate_limits_enabled",
        "burst_limit",
        "burst_window_ms",
        "search_limit",
        "search_window_ms",
        "associations_limit",
        "daily_limit",
        "search_daily_headers",
        "indexing_delay_ms",
        "late_indexing_fraction",
        "late_indexing_max_ms",
        "max_request_target",
        "association_page_size",
        "embedded_associations_limit",
        "search_max_results",
        "over_limit",
        "access_tokens",
        "expired_tokens",
        "missing_scopes",
        "always_include_system_properties",
        "association_missing_errors",
        "list_cursor",
    }
)
# What search lag looks like on real portals: "a few moments" for most changes [hubspot-api.md §3.6; Okta's
# connector waits 10 s after a create], a few much later, up to 30 minutes [§13 "Search indexing lag"].
REALISTIC_INDEXING: dict[str, Any] = {
    "indexing_delay_ms": 10_000,
    "late_indexing_fraction": 0.02,
    "late_indexing_max_ms": 1_800_000,
}
CHOICES = {
    "id_layout": ("dense", "sparse"),
    "list_cursor": ("id", "opaque"),
    "over_limit": ("error", "clamp"),
}


@dataclass
class SimulatorConfig:
    """Everything the simulator can be told. Defaults: a small demo-sized portal, HubSpot free-tier limits."""

    # --- portal -----------------------------------------------------------------------------------
    contacts: int = 29_000
    deals: int = 1_000
    calls: int = 8_100
    companies: int = 20
    tickets: int = 20
    meetings: int = 20
    seed: int = 1
    # Modified timestamps are spread over ~2 years before this instant (epoch ms).
    # None = start of the current UTC day (deterministic for a given seed within one day).
    anchor_ms: int | None = None
    archived_fraction: float = 0.01
    extra_properties: int = 0  # extra custom properties per object type (long realistic names)
    # "dense": ids 1..N; "sparse": small ids first, then 10-11 digit ids with large gaps, as on real portals
    id_layout: str = "dense"
    # list `after`: "id" = the last id + 1 [hubspot-api.md §2.1]; "opaque" = a token to pass back unchanged
    list_cursor: str = "id"
    # --- network ----------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 0
    # Base URL used in paging links; None = the URL the simulator listens on.
    public_url: str | None = None
    # --- auth -------------------------------------------------------------------------------------
    access_tokens: tuple[str, ...] = ("test-token",)
    expired_tokens: tuple[str, ...] = ()
    # token -> scopes that token lacks (token is otherwise valid)
    missing_scopes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    client_id: str = "test-client-id"
    client_secret: str = "test-client-secret"
    refresh_token: str = "test-refresh-token"
    access_token_ttl_s: int = 1800
    # --- request limits ---------------------------------------------------------------------------
    max_request_target: int = 16_000  # bytes of request-target before 414
    search_max_results: int = 10_000
    association_page_size: int = 500  # per-from page size of v4 association batch read
    embedded_associations_limit: int = 100  # per-record associations embedded in v3 list responses
    max_filter_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18
    association_missing_errors: bool = True  # v4 batch read: 207 NO_ASSOCIATIONS_FOUND errors
    over_limit: str = "error"  # "error" (400) or "clamp" when limit exceeds the endpoint maximum
    always_include_system_properties: bool = True  # hs_object_id + create/modify dates always returned
    # --- rate limits ------------------------------------------------------------------------------
    rate_limits_enabled: bool = True
    burst_limit: int = 100
    burst_window_ms: int = 10_000
    search_limit: int = 5
    search_window_ms: int = 1_000
    # v4 associations (batch read, per-object GET): exempt from the burst limit, own window of
    # burst_window_ms (HubSpot: Free/Starter 100, Pro/Enterprise 150, API pack 200 per 10 s)
    associations_limit: int = 100
    daily_limit: int = 250_000
    search_daily_headers: bool = False
    # --- consistency (indexing.py) ------------------------------------------------------------------
    # As HubSpot (REALISTIC_INDEXING): most changes reach search within this (uniform in [half, all] of it),
    indexing_delay_ms: int = 10_000
    late_indexing_fraction: float = 0.02  # ... these much later: uniform up to late_indexing_max_ms
    late_indexing_max_ms: int = 1_800_000
    # --- faults -----------------------------------------------------------------------------------
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (502, 503, 504)
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 0.0
    force_429: int = 0  # the next N API requests get 429
    fault_seed: int | None = None  # None = derived from seed

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")

    def with_overrides(self, **overrides: Any) -> SimulatorConfig:
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["missing_scopes"] = {k: list(v) for k, v in self.missing_scopes.items()}
        return out


def coerce_runtime_value(name: str, value: Any) -> Any:  # noqa: PLR0911
    """Convert JSON values sent to the control API into the config field's type."""
    if name in {"access_tokens", "expired_tokens"}:
        return tuple(str(v) for v in value)
    if name == "error_statuses":
        return tuple(int(v) for v in value)
    if name == "missing_scopes":
        return {str(k): tuple(str(s) for s in v) for k, v in dict(value).items()}
    if name in {
        "rate_limits_enabled",
        "search_daily_headers",
        "always_include_system_properties",
        "association_missing_errors",
    }:
        return bool(value)
    if name in {
        "latency_ms",
        "latency_jitter_ms",
        "error_rate",
        "drop_rate",
        "slow_rate",
        "slow_ms",
        "late_indexing_fraction",
    }:
        return float(value)
    if name in CHOICES:
        if value not in CHOICES[name]:
            raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])}; got {value!r}")
        return value
    return int(value)
