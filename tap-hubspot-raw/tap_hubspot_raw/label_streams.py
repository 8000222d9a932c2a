"""Label streams: what turns the ids in CRM records into names — owners, pipelines with their stages, call
dispositions, and property definitions with their enumeration options.

Small full-table reads through the SDK's own REST machinery (paginators, ``records_jsonpath``, partitions) on
the :class:`~tap_hubspot_raw.client.HubspotStream` transport, so they share the portal's budget and error
policy. A run costs owners 2 requests (active and archived owners, 500 a page), pipelines 1 per object type
with pipelines in ``object_types`` (deals, tickets), call_dispositions 1, property_definitions 1 per object
type.

They are not selected by default when the tap runs without a catalog (the object streams are): Meltano's
``select`` names them. A label stream whose scope the token lacks is skipped with a warning naming the scope
unless ``required_streams`` lists it, so adding names to a working setup never stops it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import typing as th
from singer_sdk.pagination import BaseAPIPaginator, JSONPathPaginator, SinglePagePaginator
from typing_extensions import override

from tap_hubspot_raw.api import (
    DISPOSITIONS_PATH,
    OWNERS_PAGE_SIZE,
    OWNERS_PATH,
    PIPELINE_OBJECT_TYPES,
    PIPELINES_PATH,
    PROPERTIES_PATH,
)
from tap_hubspot_raw.client import HubspotStream, MissingScopeError, Portal

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

OBJECT_TYPE_NOTE = "The object type, as in object_types"
LABEL_STREAMS = ("owners", "pipelines", "call_dispositions", "property_definitions")

# Shapes from HubSpot's OpenAPI specs (HubSpot/HubSpot-public-api-spec-collection, v3): PublicOwner, Pipeline
# and PipelineStage, Property and Option. Fields HubSpot adds later pass through (additionalProperties).
_TEAM = th.ObjectType(
    th.Property("id", th.StringType),
    th.Property("name", th.StringType),
    th.Property("primary", th.BooleanType),
    additional_properties=True,
)
OWNER_SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType, required=True),
    th.Property("email", th.StringType),
    th.Property("type", th.StringType, description="PERSON or QUEUE"),
    th.Property("firstName", th.StringType),
    th.Property("lastName", th.StringType),
    th.Property("userId", th.IntegerType),
    th.Property("userIdIncludingInactive", th.IntegerType),
    th.Property("createdAt", th.DateTimeType),
    th.Property("updatedAt", th.DateTimeType),
    th.Property("archived", th.BooleanType),
    th.Property("teams", th.ArrayType(_TEAM)),
    additional_properties=True,
).to_dict()

_STAGE = th.ObjectType(
    th.Property("id", th.StringType),
    th.Property("label", th.StringType),
    th.Property("displayOrder", th.IntegerType),
    th.Property(
        "metadata",
        th.ObjectType(additional_properties=th.StringType),
        description="deals: probability, isClosed; tickets: ticketState (values as HubSpot sends them)",
    ),
    th.Property("createdAt", th.DateTimeType),
    th.Property("updatedAt", th.DateTimeType),
    th.Property("archived", th.BooleanType),
    th.Property("archivedAt", th.DateTimeType),
    th.Property("writePermissions", th.StringType),
    additional_properties=True,
)
PIPELINE_SCHEMA = th.PropertiesList(
    th.Property("objectType", th.StringType, required=True, description=OBJECT_TYPE_NOTE),
    th.Property("id", th.StringType, required=True),
    th.Property("label", th.StringType),
    th.Property("displayOrder", th.IntegerType),
    th.Property("createdAt", th.DateTimeType),
    th.Property("updatedAt", th.DateTimeType),
    th.Property("archived", th.BooleanType),
    th.Property("archivedAt", th.DateTimeType),
    th.Property("stages", th.ArrayType(_STAGE)),
    additional_properties=True,
).to_dict()

DISPOSITION_SCHEMA = th.PropertiesList(
    th.Property("id", th.StringType, required=True, description="The GUID in calls' hs_call_disposition"),
    th.Property("label", th.StringType),
    additional_properties=True,
).to_dict()

_OPTION = th.ObjectType(
    th.Property("value", th.StringType, description="What records carry"),
    th.Property("label", th.StringType, description="What HubSpot shows"),
    th.Property("description", th.StringType),
    th.Property("displayOrder", th.IntegerType),
    th.Property("hidden", th.BooleanType),
    additional_properties=True,
)
PROPERTY_DEFINITION_SCHEMA = th.PropertiesList(
    th.Property("objectType", th.StringType, required=True, description=OBJECT_TYPE_NOTE),
    th.Property("name", th.StringType, required=True),
    th.Property("label", th.StringType),
    th.Property("type", th.StringType),
    th.Property("fieldType", th.StringType),
    th.Property("description", th.StringType),
    th.Property("groupName", th.StringType),
    th.Property("options", th.ArrayType(_OPTION)),
    th.Property("displayOrder", th.IntegerType),
    th.Property("calculated", th.BooleanType),
    th.Property("externalOptions", th.BooleanType),
    th.Property("hasUniqueValue", th.BooleanType),
    th.Property("hidden", th.BooleanType),
    th.Property("hubspotDefined", th.BooleanType),
    th.Property("referencedObjectType", th.StringType),
    th.Property("formField", th.BooleanType),
    th.Property("createdAt", th.DateTimeType),
    th.Property("updatedAt", th.DateTimeType),
    th.Property("archived", th.BooleanType),
    th.Property("archivedAt", th.DateTimeType),
    th.Property("modificationMetadata", th.ObjectType(additional_properties=True)),
    th.Property("createdUserId", th.StringType),
    th.Property("updatedUserId", th.StringType),
    th.Property("calculationFormula", th.StringType),
    th.Property("currencyPropertyName", th.StringType),
    th.Property("showCurrencySymbol", th.BooleanType),
    th.Property("dataSensitivity", th.StringType),
    th.Property("sensitiveDataCategories", th.ArrayType(th.StringType)),
    th.Property("dateDisplayHint", th.StringType),
    th.Property("numberDisplayHint", th.StringType),
    th.Property("textDisplayHint", th.StringType),
    additional_properties=True,
).to_dict()


class LabelStream(HubspotStream):
    """A small reference list, read whole every run; skipped (with a warning) when its scope is missing."""

    label_schema: ClassVar[dict[str, Any]]
    selected_by_default = False
    # Read whole every run: no state per partition (and no partition keys copied into the records).
    state_partitioning_keys: ClassVar[list[str]] = []

    def __init__(self, tap: Tap, *, portal: Portal) -> None:
        """The stream, drawing on the tap's shared ``portal``."""
        super().__init__(tap, portal=portal, name=self.name, schema=self.label_schema)

    @property
    def required(self) -> bool:
        """Whether a missing scope stops the run (the stream is named in ``required_streams``)."""
        return self.name in (self.config.get("required_streams") or ())

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[Any]:
        return SinglePagePaginator()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        try:
            yield from super().get_records(context)
        except MissingScopeError as exc:
            if self.required:
                raise
            part = f" ({context['object_type']})" if context and "object_type" in context else ""
            self.logger.warning(
                "Stream %s%s skipped: %s To stop the run instead, list it in required_streams.",
                self.name,
                part,
                exc,
            )


class OwnersStream(LabelStream):
    """``GET /crm/v3/owners``: active owners, then archived ones (so records of reps who left resolve)."""

    name = "owners"
    path = OWNERS_PATH
    primary_keys: ClassVar[list[str]] = ["id"]
    label_schema = OWNER_SCHEMA

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return [{"archived": False}, {"archived": True}]  # archived=true lists only the archived ones

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[Any]:
        return JSONPathPaginator("$.paging.next.after")

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "limit": OWNERS_PAGE_SIZE,
            "archived": str(bool(context and context["archived"])).lower(),
        }
        if next_page_token:
            params["after"] = next_page_token
        return params


class _PerObjectType(LabelStream):
    """A label list read per object type (``{object_type}`` in the path); records name their type."""

    def __init__(self, tap: Tap, *, portal: Portal, object_types: Sequence[str]) -> None:
        """Read the list of each of ``object_types``."""
        self.object_types = tuple(object_types)
        super().__init__(tap, portal=portal)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]]:
        return [{"object_type": object_type} for object_type in self.object_types]

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        return {"objectType": (context or {}).get("object_type"), **row}


class PipelinesStream(_PerObjectType):
    """``GET /crm/v3/pipelines/{objectType}``: every pipeline with its stages (no paging)."""

    name = "pipelines"
    path = PIPELINES_PATH
    primary_keys: ClassVar[list[str]] = ["objectType", "id"]
    label_schema = PIPELINE_SCHEMA


class CallDispositionsStream(LabelStream):
    """``GET /calling/v1/dispositions``: call outcome GUID -> label, a bare JSON array."""

    name = "call_dispositions"
    path = DISPOSITIONS_PATH
    primary_keys: ClassVar[list[str]] = ["id"]
    records_jsonpath = "$[*]"
    label_schema = DISPOSITION_SCHEMA


class PropertyDefinitionsStream(_PerObjectType):
    """``GET /crm/v3/properties/{objectType}``: each property with its label, type and enumeration options."""

    name = "property_definitions"
    path = PROPERTIES_PATH
    primary_keys: ClassVar[list[str]] = ["objectType", "name"]
    label_schema = PROPERTY_DEFINITION_SCHEMA


def label_streams(tap: Tap, portal: Portal, object_types: Sequence[str]) -> list[LabelStream]:
    """The label streams for a tap reading ``object_types`` (pipelines only where those types have them)."""
    streams: list[LabelStream] = [
        OwnersStream(tap, portal=portal),
        CallDispositionsStream(tap, portal=portal),
        PropertyDefinitionsStream(tap, portal=portal, object_types=object_types),
    ]
    with_pipelines = [t for t in object_types if t in PIPELINE_OBJECT_TYPES]
    if with_pipelines:
        streams.append(PipelinesStream(tap, portal=portal, object_types=with_pipelines))
    return streams
