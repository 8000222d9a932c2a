"""Paging cursors: the list endpoint's `after` (the next id, or an opaque token) and the v4 associations'
opaque cursors."""

from __future__ import annotations

import base64

from . import generate as g
from .responses import ApiError


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(f"sim:{value}".encode()).decode().rstrip("=")


def decode_cursor(value: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        return int(raw.split(":", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(value) from exc


def _check(seed: int, next_id: int) -> str:
    return f"{g.mix(seed * 0x9E3779B1 ^ next_id) & 0xFFFFFFFF:08x}"


def list_next(next_id: int, mode: str, seed: int) -> str:
    """`paging.next.after` of a list page whose next record has an id >= `next_id`.

    "id": the id itself, which is what HubSpot sends (the last id + 1) [hubspot-api.md §2.1, §13]. "opaque": a
    token that only means something to the simulator, for clients that must not build cursors themselves.
    """
    if mode == "id":
        return str(next_id)
    token = f"list:{next_id}:{_check(seed, next_id)}"
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def list_after(raw: str | None, mode: str, seed: int) -> int:
    """The id a list request starts at (inclusive); 400 for a cursor this mode would never have sent."""
    if not raw:
        return 0
    if mode == "id":
        try:
            return int(raw)
        except ValueError as exc:
            raise ApiError(400, f"Invalid after: {raw!r}. Paging cursor must be numeric.") from exc
    try:
        kind, value, check = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().split(":")
        next_id = int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"Invalid after: {raw!r}. Pass back paging.next.after unchanged.") from exc
    if kind != "list" or check != _check(seed, next_id):
        raise ApiError(400, f"Invalid after: {raw!r}. Pass back paging.next.after unchanged.")
    return next_id
