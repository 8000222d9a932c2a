"""Parts of a record some endpoints add: embedded associations and property history."""

from __future__ import annotations

from typing import Any

from ..paging import encode_cursor
from ..portal import Portal
from ..schema import association_type


def embedded_associations(
    portal: Portal, base_url: str, t: str, obj_id: int, to_types: list[str], *, cap: int
) -> dict[str, Any]:
    """v3 `associations` of one record: ids per type, at most `cap` each, then a v4 paging link [§2.2]."""
    out: dict[str, Any] = {}
    for to in to_types:
        ids = portal.associated_ids(t, obj_id, to)
        if not ids:
            continue
        label = association_type(t, to)[0]
        entry: dict[str, Any] = {"results": [{"id": str(i), "type": label} for i in ids[:cap]]}
        if len(ids) > cap:
            after = encode_cursor(ids[cap])
            entry["paging"] = {
                "next": {
                    "after": after,
                    "link": f"{base_url}/crm/v4/objects/{t}/{obj_id}/associations/{to}?after={after}",
                }
            }
        out[to] = entry
    return out


def property_history(
    portal: Portal, t: str, obj_id: int, names: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every value each named property had, newest first (history.py) [§2.2]."""
    return portal.property_history(t, obj_id, names)
