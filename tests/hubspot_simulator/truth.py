"""Ground truth for tests: what the portal holds of one type, to compare a sync against."""

from __future__ import annotations

from typing import Any

from .store import TypeStore


def merged_ids(s: TypeStore) -> dict[int, int]:
    """Merged-away id -> the id of the record that answers a read of it now."""
    out: dict[int, int] = {}
    for old in s.merged_into:
        answer = s.resolve(old)
        if answer is not None:
            out[s.layout.id_of(old)] = s.layout.id_of(answer)
    return out


def deleted_ids(s: TypeStore) -> list[int]:
    """Ids that answer nothing any more: hard-deleted records, and ids merged into a record deleted since."""
    gone = set(s.deleted) | {old for old in s.merged_into if s.resolve(old) is None}
    return sorted(s.layout.id_of(o) for o in gone)


def summary(s: TypeStore, pending_changes: int) -> dict[str, Any]:
    """Everything at once (JSON-ready): ids as strings where they are keys."""
    return {
        "live_ids": [s.layout.id_of(o) for o in s.ords(archived=False)],
        "archived_ids": [s.layout.id_of(o) for o in s.ords(archived=True)],
        "merged": {str(k): v for k, v in merged_ids(s).items()},
        "deleted": deleted_ids(s),
        # the `total` a search matching every record answers now (search lags behind changes)
        "search_total": len(s.index.keys),
        "indexing_pending": pending_changes,
    }
