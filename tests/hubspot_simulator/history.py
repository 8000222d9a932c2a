"""Property history, as `propertiesWithHistory` returns it [hubspot-api.md §2.1-2.2; SPEC ValueWithTimestamp]:
per property, every value it had, newest first, each with its timestamp and source.

Generated records have a past: stage-like properties walk through earlier values (a deal through the open
stages of its pipeline before its current one, a contact through earlier lifecycle stages), from the create
date to the last modification; other properties have one entry, their value as of the last modification.
Changes made since add entries at their timestamps (overlay.py); a merge keeps the history of both records
["The history of property values from both records will be in the property history", HubSpot KB "Merge
records"]."""

from __future__ import annotations

from typing import Any

from . import generate as g
from .hashing import h
from .labels import LIFECYCLE, OWNERS, PIPELINES
from .overlay import HistoryEntry
from .store import TypeStore

INTEGRATION_USER = 1193457
_USERS = {o.id: o.user_id for o in OWNERS if o.user_id is not None}


def _earlier_values(s: TypeStore, o: int, name: str, current: str | None) -> list[str]:
    """The values a stage-like property had before `current`, oldest first (deterministic)."""
    if current is None:
        return []
    if s.name == "deals" and name == "dealstage":
        pipeline_id = s.base_props(o).get("pipeline")
        pipeline = next((p for p in PIPELINES["deals"] if p.id == pipeline_id), PIPELINES["deals"][0])
        ids = [st.id for st in pipeline.stages]
        before = ids[: ids.index(current)] if current in ids else ids[:3]
        open_before = [
            i
            for i in before
            if next(st for st in pipeline.stages if st.id == i).metadata.get("isClosed") != "true"
        ]
    elif s.name == "contacts" and name == "lifecyclestage":
        order = list(LIFECYCLE)
        open_before = order[: order.index(current)] if current in order else []
    else:
        return []
    keep = h(s.seed, s.name, s.layout.id_of(o), 41) % 4  # how many earlier stages this record went through
    return open_before[len(open_before) - keep :] if keep else []


def generated_entries(s: TypeStore, o: int, name: str) -> list[HistoryEntry]:
    """Oldest first."""
    if o >= s.generated:
        return []
    created, modified = s.generated_times(o)
    idx = s.extra_index.get(name)
    if idx is not None:
        current = g.extra_value(s.seed, s.name, s.layout.id_of(o), idx, s.specs[name][2])
    elif name in s.mod_names:
        current = g.fmt_dt(modified)
    else:
        current = s.base_props(o).get(name)
    if current is None:
        return []
    earlier = _earlier_values(s, o, name, current)
    if not earlier:
        return [HistoryEntry(current, modified, "CRM_UI")]
    values = [*earlier, current]
    step = (modified - created) // (len(values) - 1)
    return [
        HistoryEntry(v, created + i * step if i < len(values) - 1 else modified, "CRM_UI")
        for i, v in enumerate(values)
    ]


def entries(s: TypeStore, o: int, name: str) -> list[HistoryEntry]:
    """Every value of one property, oldest first."""
    st = s.overlay.get(o)
    since = st.history.get(name, []) if st is not None else []
    return [*generated_entries(s, o, name), *since]


def as_json(s: TypeStore, o: int, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """`propertiesWithHistory` of one record: newest first; values are strings ("" for a cleared value)."""
    owner = s.value(o, "hubspot_owner_id") if "hubspot_owner_id" in s.specs else None
    user = _USERS.get(owner or "", INTEGRATION_USER)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        if name not in s.specs:
            continue
        out[name] = [
            {
                "value": "" if e.value is None else e.value,
                "timestamp": g.fmt_dt(e.at),
                "sourceType": e.source,
                "sourceId": f"userId:{user}",
                "updatedByUserId": user,
            }
            for e in reversed(entries(s, o, name))
        ]
    return out
