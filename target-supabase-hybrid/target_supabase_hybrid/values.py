"""Turning record values into PostgreSQL COPY text: typed conversions, NUL stripping, JSON for `raw_json`.

Conversions run in Python (measured faster than casting in SQL, and the same code backfills new columns).
Each converter returns the COPY text of the value or `None` for NULL, and raises `Unconvertible` when a
present value does not fit the column type: the caller stores NULL and counts it; `raw_json` keeps it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
import simplejson

COPY_NULL = "\\N"
INT4_RANGE = (-(2**31), 2**31 - 1)
INT8_RANGE = (-(2**63), 2**63 - 1)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": None})
_NEEDS_ESCAPE = re.compile("[\\\\\t\n\r\0]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_NUL_ESCAPE = "\\u0000"
_ZONED_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d)$")
_EPOCH_MS_DIGITS = re.compile(r"^-?\d{9,}$")


class Unconvertible(ValueError):  # noqa: N818 - reads as "value is unconvertible"
    """A present value that does not convert to the column's SQL type."""


def copy_text(value: str) -> str:
    """Escape a string for COPY's text format (NUL characters are dropped: PostgreSQL rejects them)."""
    return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value


def replace_lone_surrogates(text: str) -> str:
    """Replace unpaired UTF-16 surrogates (valid in Python strings, invalid in UTF-8) with U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\0", "")
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


_ENCODER = msgspec.json.Encoder(decimal_format="number")
_NUL_ESCAPE_BYTES = _JSON_NUL_ESCAPE.encode()


def _dumps_lenient(value: Any) -> str:
    # Lone surrogates (from "\\ud800" escapes in the input) are not encodable as UTF-8: replace them.
    text = simplejson.dumps(value, ensure_ascii=False, separators=(",", ":"), use_decimal=True, default=str)
    return replace_lone_surrogates(str(text))


def _dumps(value: Any) -> str:
    try:
        return _ENCODER.encode(value).decode("utf-8")
    except UnicodeEncodeError:
        return _dumps_lenient(value)


def _json_bytes(value: Any) -> bytes:
    try:
        return _ENCODER.encode(value)
    except UnicodeEncodeError:
        return _dumps_lenient(value).encode("utf-8")


def record_json(record: dict[str, Any]) -> bytes:
    """The record as compact UTF-8 JSON, with NUL characters (and `\\u0000` escapes) removed.

    Bytes from end to end (hash, COPY line): no decode/encode round trip per record.
    """
    data = _json_bytes(record)
    if _NUL_ESCAPE_BYTES in data:
        data = _json_bytes(_strip_nul(record))
    return data


def record_hash(data: bytes) -> str:
    """md5 (hex) of the record's JSON: `raw_hash`, and the key of streams without key properties."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def to_text(value: Any) -> str | None:
    """Any JSON value as text; objects and arrays as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _dumps(value)
    return str(value)


def to_boolean(value: Any) -> str | None:
    """Booleans and the strings "true"/"false" (any case); anything else is unconvertible."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return "t" if value.strip().lower() == "true" else "f"
    raise Unconvertible(value)


def _integral(value: Any, bounds: tuple[int, int]) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise Unconvertible(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise Unconvertible(value) from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise Unconvertible(value)
    as_int = int(number)
    if not bounds[0] <= as_int <= bounds[1]:
        raise Unconvertible(value)
    return str(as_int)


def to_integer(value: Any) -> str | None:
    """A 32-bit integer ("60000", "60000.0", 60000)."""
    return _integral(value, INT4_RANGE)


def to_bigint(value: Any) -> str | None:
    """A 64-bit integer."""
    return _integral(value, INT8_RANGE)


def to_numeric(value: Any) -> str | None:
    """An exact decimal from HubSpot's number strings ("5000.00")."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise Unconvertible(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise Unconvertible(value) from exc
    if not number.is_finite():
        raise Unconvertible(value)
    return str(number)


def to_double(value: Any) -> str | None:
    """A finite float."""
    text = to_numeric(value)
    return None if text is None else repr(float(text))


def _parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, (int, Decimal)) or (isinstance(value, str) and _EPOCH_MS_DIGITS.match(value)):
        try:
            parsed = datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise Unconvertible(value) from exc
    elif isinstance(value, str):
        try:
            text = value.strip()
            parsed = datetime.fromisoformat(f"{text[:-1]}+00:00" if text[-1:] in "zZ" else text)
        except ValueError as exc:
            raise Unconvertible(value) from exc
    else:
        raise Unconvertible(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def to_timestamptz(value: Any) -> str | None:
    """ISO-8601 strings (naive ones taken as UTC) and epoch-millisecond strings."""
    if _blank(value):
        return None
    parsed = _parse_datetime(value)
    # Validated, zoned, extended ISO text reads the same in PostgreSQL: skip re-formatting it.
    if isinstance(value, str) and _ZONED_ISO.match(value):
        return value
    return parsed.isoformat()


def to_date(value: Any) -> str | None:
    """ISO dates, or the UTC date of a timestamp."""
    if _blank(value):
        return None
    return _parse_datetime(value).astimezone(timezone.utc).date().isoformat()


def to_copy_text(value: Any) -> str | None:
    """`to_text`, escaped for COPY."""
    text = to_text(value)
    return None if text is None else copy_text(text)


# Every converter returns COPY-ready text (only free text needs escaping) or None for NULL.
CONVERTERS: dict[str, Callable[[Any], str | None]] = {
    "text": to_copy_text,
    "boolean": to_boolean,
    "integer": to_integer,
    "bigint": to_bigint,
    "numeric": to_numeric,
    "double precision": to_double,
    "timestamptz": to_timestamptz,
    "date": to_date,
}


def dig(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` in nested dicts, or None when any step is missing."""
    value: Any = record
    for step in path:
        if value.__class__ is not dict:
            return None
        value = value.get(step)
    return value
