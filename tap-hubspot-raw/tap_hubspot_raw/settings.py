"""The tap's settings: their JSON schema (the one source of ``--about``, the README tables, ``meltano.yml``
and ``plugins/``) and the checks the schema cannot express."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

from tap_hubspot_raw.api import (
    DEFAULT_API_URL,
    DEFAULT_OBJECT_TYPES,
    DEFAULT_PROPERTY_HISTORY,
    DEFAULT_SEARCH_REQUESTS_PER_SECOND,
    KNOWN_OBJECT_TYPES,
    RATE_LIMIT_TIERS,
)
from tap_hubspot_raw.client import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_RETRIES
from tap_hubspot_raw.defaults import (
    DEFAULT_ARCHIVED_SWEEP_HOURS,
    DEFAULT_LOOKBACK_MINUTES,
    DEFAULT_REFRESH_HOURS,
)
from tap_hubspot_raw.label_streams import LABEL_STREAMS
from tap_hubspot_raw.pagination import to_epoch_ms

# Custom objects are addressed as "p_<name>" or by object type id "2-<n>".
CUSTOM_OBJECT_TYPE = re.compile(r"^(p_[a-z0-9_]+|2-\d+)$")
OAUTH_SETTINGS = ("client_id", "client_secret", "refresh_token")


def _per_object_lists(name: str, title: str, description: str) -> th.Property:
    return th.Property(
        name,
        th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
        title=title,
        description=description,
    )


CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        title="Private app access token",
        description="HubSpot private app token (pat-...). Use this or the three OAuth settings.",
    ),
    th.Property("client_id", th.StringType, title="OAuth client ID", description="OAuth app client ID."),
    th.Property(
        "client_secret",
        th.StringType,
        secret=True,
        title="OAuth client secret",
        description="OAuth app client secret.",
    ),
    th.Property(
        "refresh_token",
        th.StringType,
        secret=True,
        title="OAuth refresh token",
        description="OAuth refresh token; exchanged at {api_url}/oauth/v1/token for access tokens.",
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API base URL",
        description="HubSpot API base URL (point it at a simulator for local runs).",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description="First sync only: skip objects last modified before this instant.",
    ),
    th.Property(
        "object_types",
        th.ArrayType(th.StringType),
        default=list(DEFAULT_OBJECT_TYPES),
        title="Object types",
        description="CRM object types to extract, one stream each: "
        + ", ".join(KNOWN_OBJECT_TYPES)
        + ", or custom objects (p_<name> / 2-<id>).",
    ),
    _per_object_lists(
        "associations",
        "Associations",
        "Object type -> associated object types whose ids each record carries. Defaults: "
        "contacts -> deals, calls; deals -> contacts; calls -> contacts; others none.",
    ),
    _per_object_lists(
        "properties_include",
        "Properties to include",
        "Object type -> property names to extract (default: every property the portal has).",
    ),
    _per_object_lists(
        "properties_exclude",
        "Properties to exclude",
        "Object type -> property names never to extract.",
    ),
    th.Property(
        "property_history",
        th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
        default={name: list(props) for name, props in DEFAULT_PROPERTY_HISTORY.items()},
        title="Property history",
        description="Object type -> properties whose every past value (with its time and source) the "
        "property_history stream reads: one row per change, for objects changed since the last run. "
        "Object types not in object_types are left out. {} reads none.",
    ),
    th.Property(
        "required_streams",
        th.ArrayType(th.StringType),
        title="Required label streams",
        description="Label streams (" + ", ".join(LABEL_STREAMS) + ") whose missing scope stops the run "
        "with HubSpot's 403. The others are skipped with a warning naming the scope, and the run goes on.",
    ),
    th.Property(
        "rate_limit_tier",
        th.StringType,
        default="free",
        allowed_values=list(RATE_LIMIT_TIERS),
        title="Rate limit tier",
        description="Portal's HubSpot tier, sets the 10-second request budget: free/starter 100, "
        "professional/enterprise 190, api_pack 250; and the separate 10-second budget of the v4 "
        "associations API: free/starter 100, professional/enterprise 150, api_pack 200.",
    ),
    th.Property(
        "requests_per_10_seconds",
        th.IntegerType,
        title="Requests per 10 seconds",
        description="Explicit 10-second request budget; overrides rate_limit_tier. Leave headroom "
        "for other integrations on the portal.",
    ),
    th.Property(
        "association_requests_per_10_seconds",
        th.IntegerType,
        title="Association requests per 10 seconds",
        description="Explicit 10-second budget of the v4 associations API (exempt from the general "
        "10-second limit, with its own); overrides rate_limit_tier. Leave headroom for other "
        "integrations on the portal.",
    ),
    th.Property(
        "search_requests_per_second",
        th.IntegerType,
        default=DEFAULT_SEARCH_REQUESTS_PER_SECOND,
        title="Search requests per second",
        description="Budget for the search endpoint (HubSpot allows 5 per second per portal).",
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType,
        default=DEFAULT_MAX_CONCURRENCY,
        title="Maximum concurrency",
        description="Requests in flight at once, all drawing on the one shared rate budget. A full "
        "sync splits each object type by id between list and search workers; the default 10 covers "
        "HubSpot's budgets at ~250 ms per request. 1 reads each object type with one sequential list.",
    ),
    th.Property(
        "lookback_minutes",
        th.IntegerType,
        default=DEFAULT_LOOKBACK_MINUTES,
        title="Lookback (minutes)",
        description="Incremental runs re-read objects modified this long before the bookmark: a change "
        "HubSpot's search shows late (reported up to 30 minutes) still arrives with the next run. The "
        "default adds 5 minutes for clock differences. Costs one search page per 200 objects changed in "
        "that window, each run; the target skips the rows that did not change.",
    ),
    th.Property(
        "refresh_hours",
        th.NumberType,
        default=DEFAULT_REFRESH_HOURS,
        title="Refresh (hours)",
        description="Every live object is re-read (properties and associations) at least this often, a "
        "slice per incremental run, so what moves no modified date still arrives: association edits, and "
        "anything else search missed. Per 10,000 objects and round: 50 search requests and 10 v4 "
        "association requests per association type, spread over the runs in the period.",
    ),
    th.Property(
        "archived_sweep_hours",
        th.NumberType,
        default=DEFAULT_ARCHIVED_SWEEP_HOURS,
        title="Archived sweep (hours)",
        description="The archived (recycle-bin) objects are listed at least this often, a slice per "
        "incremental run: an object archived in HubSpot arrives as archived within this bound. Per round: "
        "one request per 100 archived objects, spread over the runs in the period; 0 lists them all "
        "every run.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=DEFAULT_MAX_RETRIES,
        title="Maximum retries",
        description="Retries per request after 429, 5xx, timeouts and dropped connections.",
    ),
).to_dict()


def config_errors(config: Mapping[str, Any]) -> list[str]:
    """Config errors the JSON schema cannot express (checked before any request)."""
    errors: list[str] = []
    missing_oauth = [name for name in OAUTH_SETTINGS if not config.get(name)]
    if not config.get("access_token") and missing_oauth:
        errors.append(
            "Set access_token (a private app token), or all of client_id, client_secret and "
            f"refresh_token for OAuth (missing: {', '.join(missing_oauth)})."
        )
    object_types = config.get("object_types") or list(DEFAULT_OBJECT_TYPES)
    unknown = [t for t in object_types if t not in KNOWN_OBJECT_TYPES and not CUSTOM_OBJECT_TYPE.match(t)]
    if unknown:
        errors.append(
            f"Unknown object type(s) {', '.join(unknown)}; known: {', '.join(KNOWN_OBJECT_TYPES)} "
            "(custom objects as p_<name> or 2-<id>)."
        )
    for setting in ("associations", "properties_include", "properties_exclude"):
        strays = sorted(set(config.get(setting) or {}) - set(object_types))
        if strays:
            errors.append(f"{setting} names object type(s) not in object_types: {', '.join(strays)}.")
    if unknown_streams := sorted(set(config.get("required_streams") or ()) - set(LABEL_STREAMS)):
        errors.append(
            f"required_streams names {', '.join(unknown_streams)}; it takes label streams only "
            f"({', '.join(LABEL_STREAMS)}): the other streams always stop the run on a missing scope."
        )
    for setting in (
        "requests_per_10_seconds",
        "association_requests_per_10_seconds",
        "search_requests_per_second",
        "max_concurrency",
    ):
        if setting in config and config[setting] is not None and config[setting] < 1:
            errors.append(f"{setting} must be at least 1.")
    if config.get("start_date") is not None:
        try:
            to_epoch_ms(str(config["start_date"]))
        except ValueError:
            errors.append(
                "start_date must be an ISO 8601 date-time such as 2024-01-31T00:00:00Z "
                f"(got {config['start_date']!r})."
            )
    return errors
