"""``tap-hubspot-raw``: HubSpot CRM objects as Singer records, in HubSpot's own shape."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_hubspot_raw.api import (
    DEFAULT_ASSOCIATIONS,
    DEFAULT_OBJECT_TYPES,
    DEFAULT_PROPERTY_HISTORY,
)
from tap_hubspot_raw.client import (
    DEFAULT_RETRY_WAITS,
    REQUEST_TIMEOUT_SECONDS,
    HubspotStream,
    Portal,
    RetryWaits,
)
from tap_hubspot_raw.definitions import DiscoveredDefinitions
from tap_hubspot_raw.history import PropertyHistoryStream, history_properties, unknown_history_properties
from tap_hubspot_raw.label_streams import label_streams
from tap_hubspot_raw.output import FastSingerWriter
from tap_hubspot_raw.run_end import ends_with_a_message
from tap_hubspot_raw.scheduler import Scheduler
from tap_hubspot_raw.schemas import discover_schema
from tap_hubspot_raw.sdk_private import InterruptsStopTheRun
from tap_hubspot_raw.settings import CONFIG_SCHEMA, config_errors
from tap_hubspot_raw.streams import CrmObjectStream, now_ms


class TapHubspotRaw(InterruptsStopTheRun, Tap):
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
        with ends_with_a_message(cls.logger):
            super().invoke(**kwargs)

    @classmethod
    @override
    def cb_discover(cls, ctx: Any, param: Any, value: bool) -> None:
        with ends_with_a_message(cls.logger):
            super().cb_discover(ctx, param, value)

    config_jsonschema = CONFIG_SCHEMA

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
    def definitions(self) -> DiscoveredDefinitions:
        """Property definitions read by discovery, kept for the run (schemas, property_history's check)."""
        return DiscoveredDefinitions(self.api.call_api)

    @cached_property
    def scheduler(self) -> Scheduler:
        """Every stream's sync plan for this run, and reading ahead across streams."""
        return Scheduler(lambda: [s for s in self.streams.values() if isinstance(s, CrmObjectStream)])

    @override
    def discover_streams(self) -> list[HubspotStream]:
        # The SDK discovers streams before it syncs or writes a catalog: no request leaves with a config
        # that cannot work.
        if errors := config_errors(self.config):
            raise ConfigValidationError("Config validation failed", errors=errors)
        object_types = list(self.config.get("object_types") or DEFAULT_OBJECT_TYPES)
        associations = {**DEFAULT_ASSOCIATIONS, **(self.config.get("associations") or {})}
        started_ms = now_ms()
        schemas = self._schemas(object_types, associations)
        objects: list[HubspotStream] = [
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
        return [*objects, *self._label_streams(object_types, started_ms)]

    def _label_streams(self, object_types: list[str], started_ms: int) -> list[HubspotStream]:
        """The label streams and, when ``property_history`` names properties, the history stream."""
        streams: list[HubspotStream] = list(label_streams(self, self.portal, object_types))
        history, left_out = history_properties(self.config, object_types)
        if left_out:
            unexpected = set(left_out) - set(DEFAULT_PROPERTY_HISTORY)
            self.logger.log(
                logging.WARNING if unexpected else logging.INFO,
                "property_history names object type(s) not in object_types, not read: %s",
                ", ".join(left_out),
            )
        if not history:
            return streams
        if self.input_catalog is None:  # discovery (the catalog is rebuilt when the settings change)
            names = {object_type: self.definitions.names(object_type) for object_type in history}
            if errors := unknown_history_properties(names, history):
                raise ConfigValidationError("Config validation failed", errors=errors)
        streams.append(
            PropertyHistoryStream(self, portal=self.portal, properties=history, started_ms=started_ms)
        )
        return streams

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
                    self.definitions.call, self.config, object_type, associations.get(object_type, ())
                ),
                pending,
            )
            schemas.update(zip(pending, discovered, strict=True))
        return schemas


if __name__ == "__main__":
    TapHubspotRaw.cli()
