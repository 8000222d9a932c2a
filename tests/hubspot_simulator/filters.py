"""Search filters: validation (HubSpot's 400 VALIDATION_ERROR cases) and matching one object against one
filter."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from . import generate as g
from .schema import resolve_type
from .search_index import FAR_FUTURE
from .store import TypeStore

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
# (from type, from ordinal, to type) -> ids of the associated objects
AssociatedIds = Callable[[str, int, str], list[int]]


class SearchError(ValueError):
    """A search request HubSpot would reject with 400 VALIDATION_ERROR."""


def typed(typ: str, value: str | None) -> Any:
    """A property value as search compares it (numbers as floats, dates as ms, strings case-insensitive)."""
    if value is None or value == "":
        return None
    if typ == "number":
        try:
            return float(value)
        except ValueError:
            return None
    if typ in ("datetime", "date"):
        return g.parse_dt(value)
    return value.lower() if typ == "string" else value


def to_int(value: str) -> int | None:
    try:
        return int(float(value))
    except ValueError:
        return None


def numeric_bounds(f: dict[str, Any], op: str, is_date: bool) -> tuple[int, int] | None:
    """Inclusive [low, high] a range filter allows, or None when the filter is not a numeric range."""
    conv = g.parse_dt if is_date else to_int
    try:
        v = conv(str(f.get("value", ""))) if op != "IN" else None
    except ValueError:
        return None
    if op == "BETWEEN":
        hv = conv(str(f.get("highValue", "")))
        if v is None or hv is None:
            return None
        return v, hv
    if v is None:
        return None
    return {
        "EQ": (v, v),
        "GT": (v + 1, FAR_FUTURE),
        "GTE": (v, FAR_FUTURE),
        "LT": (-FAR_FUTURE, v - 1),
        "LTE": (-FAR_FUTURE, v),
    }.get(op)


def validate_filter(s: TypeStore, f: Any) -> None:
    if not isinstance(f, dict) or "propertyName" not in f or "operator" not in f:
        raise SearchError("Each filter needs propertyName and operator.")
    op = str(f["operator"]).upper()
    if op not in OPERATORS:
        raise SearchError(f"Unknown operator {f['operator']!r}.")
    name = f["propertyName"]
    if name not in s.specs and not str(name).startswith("associations."):
        raise SearchError(f"There was a problem with the request. Property {name!r} does not exist.")
    if op in ("IN", "NOT_IN") and not isinstance(f.get("values"), list):
        raise SearchError(f"Operator {op} requires 'values'.")
    if op == "BETWEEN" and ("value" not in f or "highValue" not in f):
        raise SearchError("Operator BETWEEN requires 'value' and 'highValue'.")
    if op not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN") and "value" not in f:
        raise SearchError(f"Operator {op} requires 'value'.")


def matches(s: TypeStore, obj_id: int, f: dict[str, Any], associated: AssociatedIds) -> bool:  # noqa: PLR0911
    name = str(f["propertyName"])
    op = str(f["operator"]).upper()
    if name.startswith("associations."):
        other = resolve_type(name.split(".", 1)[1])
        if other is None:
            return False
        return op == "EQ" and to_int(str(f.get("value"))) in associated(s.name, obj_id, other)
    raw = s.value(obj_id, name, True)
    has = raw is not None and raw != ""
    if op == "HAS_PROPERTY":
        return has
    if op == "NOT_HAS_PROPERTY":
        return not has
    typ = s.specs[name][2]
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(f.get("value", "")).lower()
        tokens = (raw or "").lower().replace("@", " @").split()
        hit = any(fnmatch.fnmatchcase(tok, pattern) for tok in tokens) or fnmatch.fnmatchcase(
            (raw or "").lower(), pattern
        )
        return hit if op == "CONTAINS_TOKEN" else not hit
    if typ in ("number", "datetime", "date"):
        return _match_ordered(typ, op, raw, f)
    return _match_text(typ == "string", op, raw, has, f)


def _match_ordered(typ: str, op: str, raw: str | None, f: dict[str, Any]) -> bool:
    conv = (lambda x: typed(typ, x)) if typ == "number" else (lambda x: g.parse_dt(x) if x else None)
    val = typed(typ, raw)
    if op in ("IN", "NOT_IN"):
        vals = {conv(str(x)) for x in f.get("values", [])}
        return (val in vals) if op == "IN" else (val not in vals)
    target = conv(str(f.get("value", "")))
    if op == "NEQ":
        return bool(val != target)
    if val is None or target is None:
        return False
    if op == "BETWEEN":
        high = conv(str(f.get("highValue", "")))
        return high is not None and target <= val <= high
    return _cmp(op, val, target)


def _match_text(case_insensitive: bool, op: str, raw: str | None, has: bool, f: dict[str, Any]) -> bool:
    val_s = (raw or "").lower() if case_insensitive else (raw or "")

    def norm(x: Any) -> str:
        return str(x).lower() if case_insensitive else str(x)

    if op in ("IN", "NOT_IN"):
        vals = {norm(x) for x in f.get("values", [])}
        return (has and val_s in vals) if op == "IN" else not (has and val_s in vals)
    target_s = norm(f.get("value", ""))
    if op == "EQ":
        return has and val_s == target_s
    if op == "NEQ":
        return val_s != target_s
    if not has:
        return False
    if op == "BETWEEN":
        return target_s <= val_s <= norm(f.get("highValue", ""))
    return _cmp(op, val_s, target_s)


def _cmp(op: str, a: Any, b: Any) -> bool:
    if op == "EQ":
        return bool(a == b)
    if op == "GT":
        return bool(a > b)
    if op == "GTE":
        return bool(a >= b)
    if op == "LT":
        return bool(a < b)
    if op == "LTE":
        return bool(a <= b)
    return False
