"""``tap-hubspot-raw``: HubSpot CRM objects as Singer records, in HubSpot's own shape."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError
from typing_extensions import override

from tap_hubspot_raw.api import (
    DEFAULT_API_URL,
    DEFAULT_ASSOCIATIONS,
    DEFAULT_OBJECT_TYPES,
    DEFAULT_SEARCH_REQUESTS_PER_SECOND,
    KNOWN_OBJECT_TYPES,
    RATE_LIMIT_TIERS,
)
from tap_hubspot_raw.client import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_WAITS,
    REQUEST_TIMEOUT_SECONDS,
    HubspotStream,
    Portal,
    RetryWaits,
)
from tap_hubspot_raw.output import FastSingerWriter
from tap_hubspot_raw.scheduler import Scheduler
from tap_hubspot_raw.schemas import discover_schema
from tap_hubspot_raw.streams import CrmObjectStream, now_ms

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


@contextmanager
def fatal_api_errors_end_the_run(logger: Any) -> Iterator[None]:
    """A fatal HubSpot answer (bad token, missing scope, daily limit) ends the run with its message alone.

    The message already names the status, path, HubSpot's words and the correlation id; a traceback through
    the SDK's request machinery would only bury it.
    """
    try:
        yield
    except FatalAPIError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story
        sys.exit(1)
    except ConfigValidationError as exc:  # raised while discovering, outside the SDK's own handler
        for error in exc.errors:
            logger.error("%s", error)  # noqa: TRY400
        logger.error("Config validation failed")  # noqa: TRY400
        sys.exit(1)


class TapHubspotRaw(Tap):
    """HubSpot CRM v3 objects (contacts, deals, calls, ...) with complete associations."""

    name = "tap-hubspot-raw"
    message_writer_class = FastSingerWriter
    # Streams and schemas come from the portal (properties API), so discovery needs valid credentials too:
    # the SDK then validates config before discovering, and a missing token is a message, not a KeyError.
    dynamic_catalog = True
    # How long to wait before retrying and for an answer; a subclass may change them (the tests' FastTap).
    retry_waits: ClassVar[RetryWaits] = DEFAULT_RETRY_WAITS
    request_timeout_seconds: ClassVar[int] = REQUEST_TIMEOUT_SECONDS

    @classmethod
    @override
    def invoke(cls, **kwargs: Any) -> None:
        with fatal_api_errors_end_the_run(cls.logger):
            super().invoke(**kwargs)

    @classmethod
    @override
    def cb_discover(cls, ctx: Any, param: Any, value: bool) -> None:
        with fatal_api_errors_end_the_run(cls.logger):
            super().cb_discover(ctx, param, value)

    config_jsonschema = th.PropertiesList(
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
            default=5,
            title="Lookback (minutes)",
            description="Incremental runs re-read objects modified this long before the bookmark, "
            "covering HubSpot's search indexing delay.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=DEFAULT_MAX_RETRIES,
            title="Maximum retries",
            description="Retries per request after 429, 5xx, timeouts and dropped connections.",
        ),
    ).to_dict()

    def cross_field_errors(self) -> list[str]:
        """Config errors the JSON schema cannot express (checked before any request)."""
        config: dict[str, Any] = dict(self.config)
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
        for setting in (
            "requests_per_10_seconds",
            "association_requests_per_10_seconds",
            "search_requests_per_second",
            "max_concurrency",
        ):
            if setting in config and config[setting] is not None and config[setting] < 1:
                errors.append(f"{setting} must be at least 1.")
        return errors

    @cached_property
    def portal(self) -> Portal:
        """Credentials and request budget shared by every stream of this tap instance."""
        return Portal(
            self.config, retry_waits=self.retry_waits, request_timeout_seconds=self.request_timeout_seconds
        )

    @cached_property
    def api(self) -> HubspotStream:
        """A transport for requests that belong to no stream (discovery): same budget, policy and retries."""
        return HubspotStream(self, portal=self.portal, name="hubspot-api", schema={"properties": {}})

    @cached_property
    def scheduler(self) -> Scheduler:
        """Every stream's sync plan for this run, and reading ahead across streams."""
        return Scheduler(lambda: [s for s in self.streams.values() if isinstance(s, CrmObjectStream)])

    @override
    def discover_streams(self) -> list[CrmObjectStream]:
        # The SDK discovers streams before it syncs or writes a catalog: no request leaves with a config
        # that cannot work.
        if errors := self.cross_field_errors():
            raise ConfigValidationError("Config validation failed", errors=errors)
        object_types = list(self.config.get("object_types") or DEFAULT_OBJECT_TYPES)
        associations = {**DEFAULT_ASSOCIATIONS, **(self.config.get("associations") or {})}
        started_ms = now_ms()
        schemas = self._schemas(object_types, associations)
        return [
            CrmObjectStream(
                self,
                portal=self.portal,
                scheduler=self.scheduler,
                object_type=object_type,
                associations=associations.get(object_type, ()),
                schema=schemas[object_type],
                started_ms=started_ms,
            )
            for object_type in object_types
        ]

    def _schemas(
        self, object_types: list[str], associations: dict[str, tuple[str, ...]]
    ) -> dict[str, dict[str, Any]]:
        """Each stream's schema: the input catalog's, or discovered from the properties API (all at once)."""
        catalog = self.input_catalog
        schemas: dict[str, dict[str, Any]] = {}
        pending = []
        for object_type in object_types:
            entry = catalog.get_stream(object_type) if catalog is not None else None
            if entry is not None:
                schemas[object_type] = entry.schema.to_dict()
            else:
                pending.append(object_type)
        with ThreadPoolExecutor(max(1, min(len(pending), self.portal.max_concurrency))) as pool:
            discovered = pool.map(
                lambda object_type: discover_schema(
                    self.api.call_api, self.config, object_type, associations.get(object_type, ())
                ),
                pending,
            )
            schemas.update(zip(pending, discovered, strict=True))
        return schemas


if __name__ == "__main__":
    TapHubspotRaw.cli()
