"""Deterministic, lazy generation of synthetic HubSpot objects from (seed, type, id).

Re-exports `h`, `mix` (hashing.py) and the phone helpers (phones.py) that callers reach through here."""

from __future__ import annotations

import random
import time

from .hashing import h, mix
from .phones import format_phone, phone_digits
from .text_pools import CITIES, COMPANIES, COUNTRIES, DOMAINS, FIRST, JOBS, LAST, LOREM, PRODUCTS, TRANSLIT

DAY_MS = 86_400_000
TWO_YEARS_MS = 730 * DAY_MS


def fmt_dt(ms: int) -> str:
    """ISO 8601 UTC; without fraction when the instant is a whole second (HubSpot sends both forms)."""
    secs, frac = divmod(ms, 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac == 0:
        return base + "Z"
    return f"{base}.{frac:03d}Z"


def parse_dt(value: str) -> int | None:
    """Epoch-ms string or ISO 8601 (with or without fraction, Z or offset, or a bare date) -> epoch ms."""
    value = value.strip()
    if not value:
        return None
    if value.lstrip("-").isdigit():
        return int(value)
    from datetime import datetime, timezone

    try:
        text = value.replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def timestamps(seed: int, type_name: str, obj_id: int, anchor_ms: int) -> tuple[int, int]:
    """(created_ms, modified_ms) for a generated object; many objects share "bulk import" instants."""
    r = h(seed, type_name, obj_id, 1)
    if r % 100 < 12:
        k = (r >> 8) % 5
        modified = anchor_ms - (k * 97 + 13) * DAY_MS + k * 3_600_000  # whole second, shared by many
    else:
        modified = anchor_ms - 60_000 - (r >> 11) % TWO_YEARS_MS
        if (r >> 3) % 10 == 0:
            modified -= modified % 1000
    r2 = h(seed, type_name, obj_id, 2)
    low = anchor_ms - TWO_YEARS_MS - 90 * DAY_MS
    created = modified - r2 % (modified - low + 1)
    if (r2 >> 7) % 4 == 0:
        created = modified  # never modified after creation
    return created, modified


def long_text(rng: random.Random, min_kb: int = 20, max_kb: int = 60) -> str:
    size = rng.randint(min_kb, max_kb) * 1024
    parts: list[str] = []
    total = 0
    while total < size:
        piece = rng.choice(LOREM)
        parts.append(piece)
        total += len(piece)
    return "".join(parts)


def _maybe(rng: random.Random, value: str, null_pct: float = 0.05, empty_pct: float = 0.02) -> str | None:
    x = rng.random()
    if x < null_pct:
        return None
    if x < null_pct + empty_pct:
        return ""
    return value


def gen_contact(seed: int, obj_id: int, created: int, modified: int) -> dict[str, str | None]:
    from .schema import LEAD_STATUS, LIFECYCLE, OWNER_IDS

    rng = random.Random(h(seed, "contacts", obj_id, 10))
    fi = rng.randrange(len(FIRST))
    first = FIRST[fi]
    last = rng.choice(LAST)
    if rng.random() < 0.003:
        last = last + "\u0000"  # a NUL sneaks in from a broken import
    domain = rng.choice(DOMAINS)
    email: str | None = f"{TRANSLIT[fi]}.{obj_id}@{domain}"
    if rng.random() < 0.05:
        email = email.upper() if email else email
    email = _maybe(rng, email or "", 0.03, 0.02)
    digits = phone_digits(seed, obj_id)
    x = rng.random()
    phone: str | None
    if x < 0.84:
        phone = format_phone(digits, rng.randrange(6))
    elif x < 0.88:
        phone = rng.choice(("ext. 12", "n/a", "+", "call me 🙂"))
    elif x < 0.94:
        phone = None
    else:
        phone = ""
    mobile = format_phone(digits, rng.randrange(6)) if rng.random() < 0.35 else None
    lifecycle = rng.choice(LIFECYCLE) if rng.random() < 0.93 else None
    watched = rng.random()
    vsl_watched: str | None = "true" if watched < 0.4 else ("false" if watched < 0.8 else None)
    duration: str | None
    if vsl_watched == "true":
        duration = str(rng.randint(1, 3600)) if rng.random() < 0.9 else rng.choice(("12.5", "", "0"))
    else:
        duration = None if rng.random() < 0.7 else "0"
    msg_roll = rng.random()
    message: str | None
    if msg_roll < 0.004:
        message = long_text(rng)
    elif msg_roll < 0.15:
        message = rng.choice(LOREM).strip()
    else:
        message = None
    notes_ms = modified - rng.randint(0, 30) * 86_400_000
    props: dict[str, str | None] = {
        "email": email,
        "firstname": _maybe(rng, first, 0.03, 0.01),
        "lastname": _maybe(rng, last, 0.03, 0.01),
        "phone": phone,
        "mobilephone": mobile,
        "company": _maybe(rng, rng.choice(COMPANIES), 0.3, 0.0),
        "jobtitle": _maybe(rng, rng.choice(JOBS), 0.5, 0.0),
        "city": _maybe(rng, rng.choice(CITIES), 0.4, 0.0),
        "country": _maybe(rng, rng.choice(COUNTRIES), 0.4, 0.0),
        "zip": _maybe(rng, f"{rng.randint(0, 99999):05d}", 0.6, 0.0),
        "website": None if rng.random() < 0.7 else f"https://www.{domain.lower()}/",
        "message": message,
        "lifecyclestage": lifecycle,
        "hs_lead_status": rng.choice(LEAD_STATUS) if rng.random() < 0.5 else None,
        "hubspot_owner_id": rng.choice(OWNER_IDS) if rng.random() < 0.8 else None,
        "createdate": fmt_dt(created),
        "lastmodifieddate": fmt_dt(modified),
        "hs_lastmodifieddate": fmt_dt(modified),
        "hs_object_id": str(obj_id),
        "hs_email_domain": domain.lower() if email else None,
        "hs_is_contact": "true",
        "hs_analytics_num_page_views": str(rng.randint(0, 200)),
        "hs_analytics_source": rng.choice(("ORGANIC_SEARCH", "PAID_SEARCH", "DIRECT_TRAFFIC", "OFFLINE")),
        "notes_last_updated": fmt_dt(notes_ms - notes_ms % 1000) if rng.random() < 0.4 else None,
        "hs_merged_object_ids": f"{obj_id + 1_000_000};{obj_id + 2_000_000}" if rng.random() < 0.01 else None,
        "hs_all_contact_vids": str(obj_id),
        "date_of_birth": rng.choice(("1990-05-12", "12.05.1990", "May 12", None, None, "")),
        "vsl_watched": vsl_watched,
        "vsl_watch_duration": duration,
    }
    return props


AMOUNTS = ("5000.00", "1500", "99.99", "0", "250000", "1,234.50", "abc", "", "12.5", "3039")


def deal_stage(rng: random.Random) -> tuple[str, str, str | None]:
    """(pipeline, stage, probability): most deals in the sales pipeline, a fifth in renewals, 4% in a stage
    deleted since (no endpoint resolves it, and it has no probability any more)."""
    from .labels import PIPELINES, REMOVED_DEAL_STAGE

    sales, renewals = PIPELINES["deals"]
    roll = rng.random()
    if roll < 0.04:
        return sales.id, REMOVED_DEAL_STAGE, None
    pipeline = renewals if roll < 0.24 else sales
    stage = rng.choice(pipeline.stages)
    return pipeline.id, stage.id, stage.metadata["probability"]


def gen_deal(seed: int, obj_id: int, created: int, modified: int) -> dict[str, str | None]:
    from .schema import DEAL_TYPES, OWNER_IDS, PAYMENT, QUALIFIED, TRIAL

    rng = random.Random(h(seed, "deals", obj_id, 10))
    x = rng.random()
    amount: str | None
    if x < 0.6:
        amount = f"{rng.randint(1, 5000) * 10}.00" if rng.random() < 0.5 else str(rng.randint(100, 99999))
    elif x < 0.9:
        amount = rng.choice(AMOUNTS)
    else:
        amount = None
    close: str | None = None
    if rng.random() < 0.6:
        c = created + rng.randint(0, 90) * 86_400_000
        close = fmt_dt(c - c % 1000 if rng.random() < 0.5 else c)
    pipeline, stage, probability = deal_stage(rng)
    desc_roll = rng.random()
    description = (
        long_text(rng) if desc_roll < 0.005 else (rng.choice(LOREM).strip() if desc_roll < 0.3 else None)
    )
    return {
        "dealname": _maybe(
            rng, f"{rng.choice(COMPANIES) or 'Deal'} - {rng.choice(PRODUCTS)} #{obj_id}", 0.01, 0.0
        ),
        "amount": amount,
        "dealstage": stage,
        "pipeline": pipeline,
        "closedate": close,
        "createdate": fmt_dt(created),
        "hs_lastmodifieddate": fmt_dt(modified),
        "hubspot_owner_id": rng.choice(OWNER_IDS) if rng.random() < 0.85 else None,
        "dealtype": rng.choice(DEAL_TYPES) if rng.random() < 0.7 else None,
        "hs_object_id": str(obj_id),
        "description": description,
        "hs_priority": rng.choice(("low", "medium", "high")) if rng.random() < 0.5 else None,
        "hs_deal_stage_probability": probability,
        "qualified_status": rng.choice(QUALIFIED) if rng.random() < 0.8 else None,
        "trial_status": rng.choice(TRIAL) if rng.random() < 0.7 else None,
        "payment_status": rng.choice(PAYMENT) if rng.random() < 0.75 else None,
    }


COMPANY_NUMBERS = ("+1 617-555-0100", "+7 (495) 123-45-67", "+16175550199")  # the sales team's lines


def call_counterpart_contact(
    seed: int, obj_id: int, associated_contact: int | None, n_contacts: int
) -> int | None:
    """Ground truth: the contact whose number a generated call dialled (OUTBOUND) or came from (INBOUND).

    Associated calls mostly carry their contact's number (10% carry none or an unknown one); ~70% of
    unassociated calls still carry a real contact's number (HubSpot did not associate them), the rest none.
    """
    r = h(seed, "calls", obj_id, 32)
    if associated_contact is not None:
        return associated_contact if r % 100 < 90 else None
    if n_contacts and r % 100 < 70:
        return 1 + (r >> 8) % n_contacts
    return None


def call_disposition(rng: random.Random) -> str | None:
    """An outcome GUID: mostly a listed one, 3% one deleted since, a fifth none."""
    from .labels import DELETED_DISPOSITION, DISPOSITIONS

    roll = rng.random()
    if roll < 0.77:
        return rng.choice(tuple(DISPOSITIONS))
    return DELETED_DISPOSITION if roll < 0.8 else None


def gen_call(
    seed: int, obj_id: int, created: int, modified: int, counterpart_digits: str | None
) -> dict[str, str | None]:
    """A call; the contact's side (`counterpart_digits`, or none/an unknown number) is `hs_call_from_number`
    for INBOUND calls and `hs_call_to_number` otherwise, the other side a company line."""
    from .schema import CALL_DIRECTION, CALL_STATUS, OWNER_IDS

    rng = random.Random(h(seed, "calls", obj_id, 10))
    direction = rng.choice(CALL_DIRECTION)
    counterpart: str | None
    if counterpart_digits is not None:
        counterpart = format_phone(counterpart_digits, rng.randrange(6))
    else:
        counterpart = rng.choice(
            (None, "", format_phone(phone_digits(seed, obj_id + 7_000_000), rng.randrange(6)))
        )
    company = rng.choice(COMPANY_NUMBERS)
    from_number, to_number = (counterpart, company) if direction == "INBOUND" else (company, counterpart)
    body_roll = rng.random()
    if body_roll < 0.005:
        body: str | None = "<p>" + long_text(rng) + "</p>"
    elif body_roll < 0.85:
        body = "<p>" + rng.choice(LOREM).strip() + "</p>"
    else:
        body = None
    ts = created - rng.randint(0, 3600) * 1000
    status = "COMPLETED" if rng.random() < 0.75 else rng.choice(CALL_STATUS)
    duration = str(rng.randint(0, 3_600_000)) if status == "COMPLETED" else rng.choice(("0", None, ""))
    return {
        "hs_timestamp": fmt_dt(ts),
        "hs_call_title": rng.choice(
            ("Call with lead", "Звонок клиенту", "フォローアップ", "Discovery call 📞", None)
        ),
        "hs_call_body": body,
        "hs_body_preview": body[3:-4][:100] if body else None,
        "hs_call_duration": duration,
        "hs_call_from_number": from_number,
        "hs_call_to_number": to_number,
        "hs_call_status": status,
        "hs_call_direction": direction,
        "hs_call_disposition": call_disposition(rng),
        "hs_call_recording_url": f"https://recordings.example.com/{obj_id}.mp3"
        if rng.random() < 0.3
        else None,
        "hs_call_has_voicemail": rng.choice(("true", "false", None)),
        "hs_call_source": rng.choice(("CALLING_SDK", "INTEGRATIONS_PLATFORM", "CRM_UI")),
        "hubspot_owner_id": rng.choice(OWNER_IDS) if rng.random() < 0.9 else None,
        "hs_createdate": fmt_dt(created),
        "hs_lastmodifieddate": fmt_dt(modified),
        "hs_object_id": str(obj_id),
    }


def gen_company(seed: int, obj_id: int, created: int, modified: int) -> dict[str, str | None]:
    from .schema import INDUSTRIES, OWNER_IDS

    rng = random.Random(h(seed, "companies", obj_id, 10))
    name = rng.choice(COMPANIES) or f"Company {obj_id}"
    return {
        "name": f"{name} {obj_id}",
        "domain": f"company{obj_id}.example.com" if rng.random() < 0.8 else None,
        "industry": rng.choice(INDUSTRIES) if rng.random() < 0.6 else None,
        "phone": format_phone(phone_digits(seed, obj_id + 5_000_000), rng.randrange(6)),
        "city": rng.choice(CITIES),
        "numberofemployees": str(rng.randint(1, 5000)),
        "hubspot_owner_id": rng.choice(OWNER_IDS),
        "createdate": fmt_dt(created),
        "hs_lastmodifieddate": fmt_dt(modified),
        "hs_object_id": str(obj_id),
    }


def gen_ticket(seed: int, obj_id: int, created: int, modified: int) -> dict[str, str | None]:
    from .schema import OWNER_IDS, PRIORITIES, TICKET_STAGES

    rng = random.Random(h(seed, "tickets", obj_id, 10))
    return {
        "subject": rng.choice(("Cannot log in", "Возврат средств", "請求について", "Feature request ✨")),
        "content": rng.choice(LOREM).strip(),
        "hs_pipeline": "0",
        "hs_pipeline_stage": rng.choice(TICKET_STAGES),
        "hs_ticket_priority": rng.choice(PRIORITIES),
        "hs_ticket_category": rng.choice(("PRODUCT_ISSUE", "BILLING_ISSUE;GENERAL_INQUIRY", None)),
        "hubspot_owner_id": rng.choice(OWNER_IDS),
        "createdate": fmt_dt(created),
        "hs_lastmodifieddate": fmt_dt(modified),
        "hs_object_id": str(obj_id),
    }


def gen_meeting(seed: int, obj_id: int, created: int, modified: int) -> dict[str, str | None]:
    from .schema import MEETING_OUTCOMES, OWNER_IDS

    rng = random.Random(h(seed, "meetings", obj_id, 10))
    start = created + rng.randint(1, 14) * 86_400_000
    start -= start % 60_000
    return {
        "hs_timestamp": fmt_dt(start),
        "hs_meeting_title": rng.choice(("Demo", "Встреча", "打ち合わせ", "Kick-off 🚀")),
        "hs_meeting_body": rng.choice(LOREM).strip(),
        "hs_meeting_start_time": fmt_dt(start),
        "hs_meeting_end_time": fmt_dt(start + 1_800_000),
        "hs_meeting_outcome": rng.choice(MEETING_OUTCOMES),
        "hubspot_owner_id": rng.choice(OWNER_IDS),
        "hs_createdate": fmt_dt(created),
        "hs_lastmodifieddate": fmt_dt(modified),
        "hs_object_id": str(obj_id),
    }


def extra_value(seed: int, type_name: str, obj_id: int, index: int, typ: str) -> str | None:
    """Sparse values of the optional extra custom properties (computed on demand only)."""
    r = mix(h(seed, type_name, obj_id, 20) ^ (index * 0x9E3779B1))
    if r % 100 >= 8:
        return None
    v = r >> 8
    if typ == "number":
        return str(v % 10_000)
    if typ == "enumeration":
        return ("option_alpha", "option_beta", "option_gamma")[v % 3]
    if typ == "datetime":
        return fmt_dt(1_600_000_000_000 + v % (5 * 365 * DAY_MS))
    if typ == "bool":
        return "true" if v % 2 else "false"
    return f"value {v % 1000} для поля {index}"
