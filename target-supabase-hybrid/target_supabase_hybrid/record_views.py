"""Decoding only the fields a table needs from a record's JSON text (keys, promoted columns).

A HubSpot record carries dozens of properties; the loader reads a dozen. msgspec decodes into a TypedDict by
skipping undeclared fields, which costs a fraction of building the whole record. A field that is declared as
an object but holds something else (null aside) raises `msgspec.ValidationError`: callers then decode the
whole record.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypedDict

import msgspec

_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_names = itertools.count()


def storable_as_received(data: bytes) -> bool:
    """Whether a record's JSON text can be stored as it is: no `\\u0000` escape (PostgreSQL refuses NUL) and
    no surrogate escape (a lone one is refused; pairs are re-encoded too, to keep this simple)."""
    # Most records hold no backslash at all: one memchr instead of a regex scan (~15x slower).
    return b"\\" not in data or _UNSTORABLE_ESCAPE.search(data) is None


def is_plain(data: bytes) -> bool:
    """Whether no string in this JSON text holds a character COPY must escape (backslash, tab, newline,
    carriage return, NUL): JSON escapes all of them, and both parsers used here refuse raw control characters
    in strings, so a text without a backslash has none."""
    return b"\\" not in data


def view_decoder(paths: Iterable[tuple[str, ...]]) -> msgspec.json.Decoder[Any]:
    """A decoder producing dicts that hold just `paths` (nested objects as dicts); numbers as `Decimal`."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for step in path[:-1]:
            child = node.get(step, {})
            if child is None:  # the whole value is wanted already
                break
            node = node.setdefault(step, child)
        else:
            node[path[-1]] = None  # a leaf: the whole value, whatever it is
    return msgspec.json.Decoder(_typed_dict(tree), float_hook=Decimal)


def _typed_dict(tree: dict[str, Any]) -> Any:
    fields = {name: Any if child is None else _typed_dict(child) | None for name, child in tree.items()}
    return TypedDict(f"RecordView{next(_names)}", fields, total=False)  # type: ignore[operator]
