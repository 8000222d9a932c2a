"""Record schema: a fixed HubSpot object envelope plus one string property per portal property.

Values stay exactly as HubSpot sends them (strings or null); HubSpot's own type rides along in the
``description`` ("HubSpot type: number/number") so a target may choose to cast, and the schema stays valid
for any target. (The ``x-hubspot-type`` annotation is set too, but the SDK's Singer schema model drops
non-standard keys from SCHEMA messages, so the description is the portable carrier.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from singer_sdk.exceptions import ConfigValidationError

from tap_hubspot_raw.api import PROPERTIES_PATH

NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
NULLABLE_DATETIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
ID_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


def property_schema(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Schema of one HubSpot property: always a nullable string, annotated with HubSpot's types."""
    schema: dict[str, Any] = dict(NULLABLE_STRING)
    for source, annotation in (("type", "x-hubspot-type"), ("fieldType", "x-hubspot-field-type")):
        if definition.get(source):
            schema[annotation] = definition[source]
    if definition.get("label"):
        schema["title"] = definition["label"]
    if definition.get("type"):
        schema["description"] = f"HubSpot type: {definition['type']}/{definition.get('fieldType', '')}"
    return schema


def select_properties(
    definitions: Iterable[Mapping[str, Any]],
    include: Sequence[str] | None,
    exclude: Sequence[str] | None,
) -> list[Mapping[str, Any]]:
    """Properties to extract: the include list (if any) minus the exclude list, in HubSpot's order."""
    chosen = [d for d in definitions if not include or d["name"] in include]
    return [d for d in chosen if d["name"] not in (exclude or ())]


def object_schema(
    definitions: Iterable[Mapping[str, Any]],
    associations: Sequence[str],
) -> dict[str, Any]:
    """The stream schema for one object type (design §3 record shape)."""
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "properties": {
                "type": "object",
                "properties": {d["name"]: property_schema(d) for d in definitions},
            },
            "createdAt": NULLABLE_DATETIME,
            "updatedAt": NULLABLE_DATETIME,
            "archived": {"type": "boolean"},
            "archivedAt": NULLABLE_DATETIME,
            "associations": {
                "type": "object",
                "properties": dict.fromkeys(associations, ID_LIST),
            },
        },
        "required": ["id"],
    }


def property_names(schema: Mapping[str, Any]) -> list[str]:
    """Property names a stream schema (discovered or from the catalog) asks for."""
    return list(schema["properties"]["properties"].get("properties", {}))


def discover_schema(
    call: Callable[[str, str, Any, Any], dict[str, Any]],
    config: Mapping[str, Any],
    object_type: str,
    associations: Sequence[str],
) -> dict[str, Any]:
    """The stream schema of ``object_type`` from ``GET /crm/v3/properties/{type}`` (custom properties too).

    Properties named in ``properties_include`` or ``properties_exclude`` that the portal does not have are an
    error: a misspelt name would otherwise silently leave out (or let in) data.
    """
    payload = call("GET", PROPERTIES_PATH.format(object_type=object_type), None, None)
    definitions = payload.get("results") or []
    include = (config.get("properties_include") or {}).get(object_type)
    exclude = (config.get("properties_exclude") or {}).get(object_type)
    known = {d["name"] for d in definitions}
    errors = [
        f"{setting} names {object_type} properties the portal does not have: {', '.join(sorted(unknown))}."
        for setting, names in (("properties_include", include), ("properties_exclude", exclude))
        if (unknown := set(names or ()) - known)
    ]
    if errors:
        raise ConfigValidationError("Config validation failed", errors=errors)
    return object_schema(select_properties(definitions, include, exclude), associations)
