"""Complete association ids through the v4 batch-read endpoint (≤1,000 inputs, per-from paging)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from tap_hubspot_raw.api import ASSOCIATIONS_BATCH_PATH, ASSOCIATIONS_BATCH_SIZE

T = TypeVar("T")
PostJson = Callable[[str, Any], dict[str, Any]]


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def add_unique(bucket: list[str], seen: set[str], ids: Iterable[str]) -> None:
    """Append ids not yet in ``bucket`` (HubSpot lists one id once per association type)."""
    for object_id in ids:
        if object_id not in seen:
            seen.add(object_id)
            bucket.append(object_id)


def read_associations(
    post: PostJson, from_type: str, to_type: str, ids: Sequence[str]
) -> dict[str, list[str]]:
    """Every ``to_type`` id associated with each of ``ids``, as deduplicated strings."""
    path = ASSOCIATIONS_BATCH_PATH.format(from_type=from_type, to_type=to_type)
    found: dict[str, list[str]] = {object_id: [] for object_id in ids}
    seen: dict[str, set[str]] = {object_id: set() for object_id in ids}
    pending: list[dict[str, str]] = [{"id": object_id} for object_id in ids]
    while pending:
        next_pending: list[dict[str, str]] = []
        for inputs in chunked(pending, ASSOCIATIONS_BATCH_SIZE):
            payload = post(path, {"inputs": list(inputs)})
            for result in payload.get("results") or []:
                from_id = str(result["from"]["id"])
                add_unique(
                    found.setdefault(from_id, []),
                    seen.setdefault(from_id, set()),
                    (str(to["toObjectId"]) for to in result.get("to") or []),
                )
                after = ((result.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    next_pending.append({"id": from_id, "after": str(after)})
        pending = next_pending
    return found


def embedded_associations(record: dict[str, Any], to_type: str) -> tuple[list[str], bool]:
    """Ids embedded in a list-endpoint record, and whether HubSpot truncated them (own ``paging``)."""
    block = (record.get("associations") or {}).get(to_type) or {}
    ids: list[str] = []
    add_unique(ids, set(), (str(item["id"]) for item in block.get("results") or []))
    truncated = bool((block.get("paging") or {}).get("next"))
    return ids, truncated
