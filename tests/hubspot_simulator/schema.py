"""Object types, property definitions and association types of the synthetic portal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .labels import DISPOSITIONS, RECORD_OWNER_IDS, pipeline_labels, stage_labels
from .labels import LIFECYCLE as LIFECYCLE_LABELS

PROPERTY_TIMESTAMP = "2019-08-06T02:43:14.491Z"


@dataclass(frozen=True)
class ObjectType:
    name: str  # plural path name
    singular: str
    type_id: str
    upper: str  # word used in batch-read error messages
    mod_prop: str  # modified-date property (mirrors updatedAt)
    create_prop: str
    scope: str  # scope required to read the objects
    defaults: tuple[str, ...]  # properties returned when none are requested


OBJECT_TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "contacts",
            "contact",
            "0-1",
            "CONTACT",
            "lastmodifieddate",
            "createdate",
            "crm.objects.contacts.read",
            ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
        ),
        ObjectType(
            "companies",
            "company",
            "0-2",
            "COMPANY",
            "hs_lastmodifieddate",
            "createdate",
            "crm.objects.companies.read",
            ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ),
        ObjectType(
            "deals",
            "deal",
            "0-3",
            "DEAL",
            "hs_lastmodifieddate",
            "createdate",
            "crm.objects.deals.read",
            (
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ),
        ),
        ObjectType(
            "tickets",
            "ticket",
            "0-5",
            "TICKET",
            "hs_lastmodifieddate",
            "createdate",
            "tickets",
            (
                "content",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "subject",
            ),
        ),
        ObjectType(
            "calls",
            "call",
            "0-48",
            "CALL",
            "hs_lastmodifieddate",
            "hs_createdate",
            "crm.objects.contacts.read",
            ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ),
        ObjectType(
            "meetings",
            "meeting",
            "0-47",
            "MEETING",
            "hs_lastmodifieddate",
            "hs_createdate",
            "crm.objects.contacts.read",
            ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ),
    )
}

_ALIASES: dict[str, str] = {}
for _t in OBJECT_TYPES.values():
    for _alias in (_t.name, _t.singular, _t.type_id):
        _ALIASES[_alias] = _t.name


def resolve_type(name: str) -> str | None:
    """Plural, singular or object type id (case-insensitive) -> canonical plural name."""
    return _ALIASES.get(name.lower())


# (from, to) -> (v3 type label, v4 typeId)
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[str, int]] = {
    ("contacts", "deals"): ("contact_to_deal", 4),
    ("deals", "contacts"): ("deal_to_contact", 3),
    ("calls", "contacts"): ("call_to_contact", 194),
    ("contacts", "calls"): ("contact_to_call", 193),
    ("contacts", "companies"): ("contact_to_company", 279),
    ("companies", "contacts"): ("company_to_contact", 280),
    ("deals", "companies"): ("deal_to_company", 341),
    ("companies", "deals"): ("company_to_deal", 342),
    ("tickets", "contacts"): ("ticket_to_contact", 16),
    ("contacts", "tickets"): ("contact_to_ticket", 15),
    ("meetings", "contacts"): ("meeting_event_to_contact", 200),
    ("contacts", "meetings"): ("contact_to_meeting_event", 199),
    ("calls", "deals"): ("call_to_deal", 206),
    ("deals", "calls"): ("deal_to_call", 205),
    ("calls", "companies"): ("call_to_company", 182),
    ("companies", "calls"): ("company_to_call", 181),
}


def association_type(from_type: str, to_type: str) -> tuple[str, int]:
    known = ASSOCIATION_TYPES.get((from_type, to_type))
    if known:
        return known
    a = OBJECT_TYPES[from_type].singular
    b = OBJECT_TYPES[to_type].singular
    return f"{a}_to_{b}", 1000 + len(a) * 10 + len(b)


OWNER_IDS = RECORD_OWNER_IDS
LIFECYCLE = tuple(LIFECYCLE_LABELS)
LEAD_STATUS = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)
DEAL_STAGES = tuple(stage_labels("deals"))
DEAL_TYPES = ("newbusiness", "existingbusiness")
QUALIFIED = ("qualified", "not_qualified", "pending_review")
TRIAL = ("not_started", "active", "expired", "converted")
PAYMENT = ("unpaid", "paid", "refunded", "failed", "partially_paid")
CALL_STATUS = (
    "BUSY",
    "CALLING_CRM_USER",
    "CANCELED",
    "COMPLETED",
    "CONNECTING",
    "FAILED",
    "IN_PROGRESS",
    "NO_ANSWER",
    "QUEUED",
    "RINGING",
)
CALL_DIRECTION = ("INBOUND", "OUTBOUND")
TICKET_STAGES = tuple(stage_labels("tickets"))
PRIORITIES = ("LOW", "MEDIUM", "HIGH")
MEETING_OUTCOMES = ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")
INDUSTRIES = ("COMPUTER_SOFTWARE", "RETAIL", "FINANCIAL_SERVICES", "EDUCATION_MANAGEMENT", "MARKETING")


def _opts(values: tuple[str, ...] | dict[str, str]) -> list[tuple[str, str]]:
    if isinstance(values, dict):
        return list(values.items())
    return [(v, v.replace("_", " ").title()) for v in values]


# name, label, type, fieldType, groupName, options (value,label) or None, custom, hidden
PropSpec = tuple[str, str, str, str, str, "list[tuple[str, str]] | None", bool, bool]


def _p(  # noqa: PLR0917
    name: str,
    label: str,
    typ: str,
    field_type: str,
    group: str,
    options: tuple[str, ...] | dict[str, str] | None = None,
    custom: bool = False,
    hidden: bool = False,
) -> PropSpec:
    return (
        name,
        label,
        typ,
        field_type,
        group,
        _opts(options) if options is not None else None,
        custom,
        hidden,
    )


_BOOL = ("true", "false")
_BOOL_OPTS = {"true": "Yes", "false": "No"}

PROPERTY_SPECS: dict[str, list[PropSpec]] = {
    "contacts": [
        _p("email", "Email", "string", "text", "contactinformation"),
        _p("firstname", "First Name", "string", "text", "contactinformation"),
        _p("lastname", "Last Name", "string", "text", "contactinformation"),
        _p("phone", "Phone Number", "string", "phonenumber", "contactinformation"),
        _p("mobilephone", "Mobile Phone Number", "string", "phonenumber", "contactinformation"),
        _p("company", "Company Name", "string", "text", "contactinformation"),
        _p("jobtitle", "Job Title", "string", "text", "contactinformation"),
        _p("city", "City", "string", "text", "contactinformation"),
        _p("country", "Country/Region", "string", "text", "contactinformation"),
        _p("zip", "Postal Code", "string", "text", "contactinformation"),
        _p("website", "Website URL", "string", "text", "contactinformation"),
        _p("message", "Message", "string", "textarea", "contactinformation"),
        _p(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            "radio",
            "contactinformation",
            LIFECYCLE_LABELS,
        ),
        _p("hs_lead_status", "Lead Status", "enumeration", "radio", "sales_properties", LEAD_STATUS),
        _p("hubspot_owner_id", "Contact owner", "enumeration", "select", "sales_properties"),
        _p("createdate", "Create Date", "datetime", "date", "contactinformation"),
        _p("lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation"),
        _p(
            "hs_lastmodifieddate",
            "Object last modified date/time",
            "datetime",
            "date",
            "contactinformation",
            hidden=True,
        ),
        _p("hs_object_id", "Record ID", "number", "number", "contactinformation"),
        _p("hs_email_domain", "Email Domain", "string", "text", "contactinformation"),
        _p(
            "hs_is_contact",
            "Is a contact",
            "bool",
            "booleancheckbox",
            "contactinformation",
            _BOOL_OPTS,
            hidden=True,
        ),
        _p("hs_analytics_num_page_views", "Number of Pageviews", "number", "number", "analyticsinformation"),
        _p(
            "hs_analytics_source",
            "Original Source",
            "enumeration",
            "select",
            "analyticsinformation",
            (
                "ORGANIC_SEARCH",
                "PAID_SEARCH",
                "EMAIL_MARKETING",
                "SOCIAL_MEDIA",
                "REFERRALS",
                "DIRECT_TRAFFIC",
                "OFFLINE",
            ),
        ),
        _p("num_associated_deals", "Number of Associated Deals", "number", "number", "deal_information"),
        _p("notes_last_updated", "Last Activity Date", "datetime", "date", "sales_properties"),
        _p("hs_merged_object_ids", "Merged Contact IDs", "enumeration", "checkbox", "contactinformation", ()),
        _p(
            "hs_all_contact_vids",
            "All vids for a contact",
            "enumeration",
            "select",
            "contactinformation",
            (),
            hidden=True,
        ),
        _p("date_of_birth", "Date of birth", "string", "text", "contactinformation"),
        _p(
            "vsl_watched",
            "VSL Watched",
            "bool",
            "booleancheckbox",
            "contactinformation",
            _BOOL_OPTS,
            custom=True,
        ),
        _p("vsl_watch_duration", "VSL Watch Duration", "number", "number", "contactinformation", custom=True),
    ],
    "deals": [
        _p("dealname", "Deal Name", "string", "text", "dealinformation"),
        _p("amount", "Amount", "number", "number", "dealinformation"),
        _p("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation", stage_labels("deals")),
        _p("pipeline", "Pipeline", "enumeration", "select", "dealinformation", pipeline_labels("deals")),
        _p("closedate", "Close Date", "datetime", "date", "dealinformation"),
        _p("createdate", "Create Date", "datetime", "date", "dealinformation"),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation"),
        _p("hubspot_owner_id", "Deal owner", "enumeration", "select", "dealinformation"),
        _p("dealtype", "Deal Type", "enumeration", "radio", "dealinformation", DEAL_TYPES),
        _p("hs_object_id", "Record ID", "number", "number", "dealinformation"),
        _p("description", "Deal Description", "string", "textarea", "dealinformation"),
        _p("hs_priority", "Priority", "enumeration", "select", "dealinformation", ("low", "medium", "high")),
        _p("num_associated_contacts", "Number of Contacts", "number", "number", "dealinformation"),
        _p("hs_merged_object_ids", "Merged Deal IDs", "enumeration", "checkbox", "dealinformation", ()),
        _p("hs_deal_stage_probability", "Deal probability", "number", "number", "dealinformation"),
        _p(
            "qualified_status",
            "Qualified Status",
            "enumeration",
            "select",
            "dealinformation",
            QUALIFIED,
            custom=True,
        ),
        _p("trial_status", "Trial Status", "enumeration", "select", "dealinformation", TRIAL, custom=True),
        _p(
            "payment_status",
            "Payment Status",
            "enumeration",
            "select",
            "dealinformation",
            PAYMENT,
            custom=True,
        ),
    ],
    "calls": [
        _p("hs_timestamp", "Activity date", "datetime", "date", "engagement"),
        _p("hs_call_title", "Call Title", "string", "text", "call"),
        _p("hs_call_body", "Call notes", "string", "html", "call"),
        _p("hs_body_preview", "Body preview", "string", "text", "engagement"),
        _p("hs_call_duration", "Call duration", "number", "number", "call"),
        _p("hs_call_from_number", "From Number", "string", "text", "call"),
        _p("hs_call_to_number", "To Number", "string", "text", "call"),
        _p("hs_call_status", "Call status", "enumeration", "select", "call", CALL_STATUS),
        _p("hs_call_direction", "Call direction", "enumeration", "select", "call", CALL_DIRECTION),
        _p("hs_call_disposition", "Call outcome", "enumeration", "select", "call", DISPOSITIONS),
        _p("hs_call_recording_url", "Recording URL", "string", "file", "call"),
        _p("hs_call_has_voicemail", "Has voicemail", "bool", "booleancheckbox", "call", _BOOL_OPTS),
        _p(
            "hs_call_source",
            "Call source",
            "enumeration",
            "select",
            "call",
            ("CALLING_SDK", "INTEGRATIONS_PLATFORM", "CRM_UI"),
        ),
        _p("hubspot_owner_id", "Activity assigned to", "enumeration", "select", "engagement"),
        _p("hs_createdate", "Create date", "datetime", "date", "engagement"),
        _p("hs_lastmodifieddate", "Last modified date", "datetime", "date", "engagement"),
        _p("hs_object_id", "Record ID", "number", "number", "engagement"),
    ],
    "companies": [
        _p("name", "Company name", "string", "text", "companyinformation"),
        _p("domain", "Company Domain Name", "string", "text", "companyinformation"),
        _p("industry", "Industry", "enumeration", "select", "companyinformation", INDUSTRIES),
        _p("phone", "Phone Number", "string", "phonenumber", "companyinformation"),
        _p("city", "City", "string", "text", "companyinformation"),
        _p("numberofemployees", "Number of Employees", "number", "number", "companyinformation"),
        _p("hubspot_owner_id", "Company owner", "enumeration", "select", "companyinformation"),
        _p("createdate", "Create Date", "datetime", "date", "companyinformation"),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "companyinformation"),
        _p("hs_object_id", "Record ID", "number", "number", "companyinformation"),
        _p("hs_merged_object_ids", "Merged Company IDs", "enumeration", "checkbox", "companyinformation", ()),
    ],
    "tickets": [
        _p("subject", "Ticket name", "string", "text", "ticketinformation"),
        _p("content", "Ticket description", "string", "textarea", "ticketinformation"),
        _p(
            "hs_pipeline",
            "Pipeline",
            "enumeration",
            "select",
            "ticketinformation",
            pipeline_labels("tickets"),
        ),
        _p(
            "hs_pipeline_stage",
            "Ticket status",
            "enumeration",
            "select",
            "ticketinformation",
            stage_labels("tickets"),
        ),
        _p("hs_ticket_priority", "Priority", "enumeration", "select", "ticketinformation", PRIORITIES),
        _p(
            "hs_ticket_category",
            "Category",
            "enumeration",
            "checkbox",
            "ticketinformation",
            ("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"),
        ),
        _p("hubspot_owner_id", "Ticket owner", "enumeration", "select", "ticketinformation"),
        _p("createdate", "Create date", "datetime", "date", "ticketinformation"),
        _p("hs_lastmodifieddate", "Last modified date", "datetime", "date", "ticketinformation"),
        _p("hs_object_id", "Record ID", "number", "number", "ticketinformation"),
    ],
    "meetings": [
        _p("hs_timestamp", "Activity date", "datetime", "date", "engagement"),
        _p("hs_meeting_title", "Meeting name", "string", "text", "meeting"),
        _p("hs_meeting_body", "Meeting description", "string", "html", "meeting"),
        _p("hs_meeting_start_time", "Start Time", "datetime", "date", "meeting"),
        _p("hs_meeting_end_time", "End Time", "datetime", "date", "meeting"),
        _p("hs_meeting_outcome", "Meeting outcome", "enumeration", "select", "meeting", MEETING_OUTCOMES),
        _p("hubspot_owner_id", "Activity assigned to", "enumeration", "select", "engagement"),
        _p("hs_createdate", "Create date", "datetime", "date", "engagement"),
        _p("hs_lastmodifieddate", "Last modified date", "datetime", "date", "engagement"),
        _p("hs_object_id", "Record ID", "number", "number", "engagement"),
    ],
}

_EXTRA_WORDS = (
    "marketing",
    "campaign",
    "attribution",
    "source",
    "detail",
    "original",
    "latest",
    "conversion",
    "webinar",
    "registration",
    "onboarding",
    "renewal",
    "subscription",
    "customer",
    "success",
    "health",
    "score",
    "region",
    "territory",
    "partner",
    "referral",
    "program",
    "quarterly",
    "business",
    "review",
    "product",
    "interest",
    "category",
    "preferred",
    "communication",
    "channel",
    "language",
    "billing",
)
_EXTRA_TYPES = (
    ("string", "text"),
    ("string", "text"),
    ("number", "number"),
    ("enumeration", "select"),
    ("datetime", "date"),
    ("bool", "booleancheckbox"),
    ("string", "textarea"),
)


def extra_property_specs(count: int, seed: int) -> list[PropSpec]:
    """`count` custom properties with long, realistic, deterministic names."""
    out: list[PropSpec] = []
    n = len(_EXTRA_WORDS)
    for i in range(count):
        words = [_EXTRA_WORDS[(i * 7 + k * 13 + seed) % n] for k in range(5 + i % 4)]
        name = "_".join(words) + f"_{i:04d}"
        typ, field_type = _EXTRA_TYPES[i % len(_EXTRA_TYPES)]
        options = None
        if typ == "enumeration":
            options = ("option_alpha", "option_beta", "option_gamma")
        elif typ == "bool":
            options = _BOOL_OPTS  # type: ignore[assignment]
        out.append(
            _p(
                name,
                " ".join(w.title() for w in words) + f" {i}",
                typ,
                field_type,
                "custom_properties",
                options,
                custom=True,
            )
        )
    return out


def property_definition(spec: PropSpec, display_order: int) -> dict[str, Any]:
    name, label, typ, field_type, group, options, custom, hidden = spec
    prop: dict[str, Any] = {
        "updatedAt": PROPERTY_TIMESTAMP,
        "createdAt": PROPERTY_TIMESTAMP,
        "name": name,
        "label": label,
        "type": typ,
        "fieldType": field_type,
        "description": f"{label} of the record." if not custom else f"Custom property: {label}.",
        "groupName": group,
        "options": [
            {"label": olabel, "value": ovalue, "description": "", "displayOrder": i, "hidden": False}
            for i, (ovalue, olabel) in enumerate(options or [])
        ],
        "displayOrder": display_order if not hidden else -1,
        "calculated": False,
        "externalOptions": name == "hubspot_owner_id",
        "hasUniqueValue": name == "hs_object_id",
        "hidden": hidden,
        "modificationMetadata": {
            "archivable": custom,
            "readOnlyDefinition": not custom,
            "readOnlyValue": name
            in {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_createdate"},
        },
        "formField": not hidden and typ != "datetime",
    }
    if not custom:
        prop["hubspotDefined"] = True
    else:
        prop["createdUserId"] = "1193457"
        prop["updatedUserId"] = "1193457"
    if name == "hubspot_owner_id":
        prop["referencedObjectType"] = "OWNER"
    if typ == "datetime":
        prop["dataSensitivity"] = "non_sensitive"
    if name == "amount":
        prop["showCurrencySymbol"] = True
    return prop
