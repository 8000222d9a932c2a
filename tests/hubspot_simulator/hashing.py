"""The hash every generated value derives from: (seed, type, id, salt) -> 64 well-mixed bits."""

from __future__ import annotations

MASK64 = (1 << 64) - 1
TYPE_CODES = {"contacts": 1, "companies": 2, "deals": 3, "tickets": 5, "calls": 48, "meetings": 47}


def mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-distributed integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def h(seed: int, type_name: str, obj_id: int, salt: int = 0) -> int:
    return mix((seed * 0x100000001B3) ^ (TYPE_CODES[type_name] << 48) ^ (salt << 40) ^ obj_id)
