"""HubSpot API facts the tap depends on, in one place (paths, page sizes, per-object knobs)."""

from __future__ import annotations

DEFAULT_API_URL = "https://api.hubapi.com"
TOKEN_PATH = "/oauth/v1/token"  # noqa: S105 - a URL path, not a secret

OBJECTS_PATH = "/crm/v3/objects/{object_type}"
BATCH_READ_PATH = "/crm/v3/objects/{object_type}/batch/read"
SEARCH_PATH = "/crm/v3/objects/{object_type}/search"
PROPERTIES_PATH = "/crm/v3/properties/{object_type}"
ASSOCIATIONS_BATCH_PATH = "/crm/v4/associations/{from_type}/{to_type}/batch/read"
OWNERS_PATH = "/crm/v3/owners"
PIPELINES_PATH = "/crm/v3/pipelines/{object_type}"
# The legacy engagements API (HubSpot logs it as /twilio/v1/dispositions); still served, no v3 equivalent
# outside a 2027-03 beta [doc "Get call engagement dispositions"].
DISPOSITIONS_PATH = "/calling/v1/dispositions"

LIST_PAGE_SIZE = 100  # v3 list endpoints: max 100 per page
SEARCH_PAGE_SIZE = 200  # search: max 200 per page
BATCH_READ_SIZE = 100  # v3 batch/read: max 100 inputs
ASSOCIATIONS_BATCH_SIZE = 1000  # v4 associations batch/read: max 1,000 inputs
OWNERS_PAGE_SIZE = 500  # v3 owners: 500 a page [CL "Sunset of v2 Owners API"]
HISTORY_BATCH_READ_SIZE = 50  # batch/read with propertiesWithHistory: max 50 inputs (HubSpot's 400 message)

# Longest URL we will build. HubSpot's real limit is undocumented (failures reported from ~8k chars of
# property names; ~16k of URL worked), so stay well below and move the rest of the properties to a
# POST batch/read body.
MAX_URL_CHARS = 12_000

# The property search filters and sorts on for "modified since". Contacts also have a hidden
# hs_lastmodifieddate, but filtering contacts on it silently matches nothing.
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate"}
DEFAULT_MODIFIED_PROPERTY = "hs_lastmodifieddate"

# CRM v3 object types the generic stream code knows how to read.
KNOWN_OBJECT_TYPES = (
    "contacts",
    "companies",
    "deals",
    "tickets",
    "calls",
    "emails",
    "meetings",
    "notes",
    "tasks",
    "products",
    "line_items",
    "quotes",
)
DEFAULT_OBJECT_TYPES = ("contacts", "deals", "calls")

# Object types with pipelines (and so pipeline stages) among those the tap reads.
PIPELINE_OBJECT_TYPES = ("deals", "tickets")
# Object type -> properties whose every past value the property_history stream reads.
DEFAULT_PROPERTY_HISTORY: dict[str, tuple[str, ...]] = {
    "deals": ("dealstage",),
    "contacts": ("lifecyclestage",),
}

DEFAULT_ASSOCIATIONS: dict[str, tuple[str, ...]] = {
    "contacts": ("deals", "calls"),
    "deals": ("contacts",),
    "calls": ("contacts",),
}

# Rate budgets (requests per rolling 10 s window) by HubSpot subscription tier, for private apps.
RATE_LIMIT_TIERS = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190, "api_pack": 250}
# The v4 associations API is exempt from that limit but has its own (per 10 s) by tier.
ASSOCIATION_RATE_LIMIT_TIERS = {
    "free": 100,
    "starter": 100,
    "professional": 150,
    "enterprise": 150,
    "api_pack": 200,
}
DEFAULT_SEARCH_REQUESTS_PER_SECOND = 5
BURST_WINDOW_SECONDS = 10.0
SEARCH_WINDOW_SECONDS = 1.0


def modified_property(object_type: str) -> str:
    """Name of the property holding an object's last-modified time (what search filters on)."""
    return MODIFIED_PROPERTY.get(object_type, DEFAULT_MODIFIED_PROPERTY)
