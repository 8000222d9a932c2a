"""Records → COPY lines: each record's JSON text (`raw_json`) is keyed and hashed (`raw_hash`) once, and its
line (keys, promoted columns, raw_hash, raw_json) is built at most once.

Records usually arrive as the JSON text they had in the input (`read_raw`): that text is stored and hashed as
received, and only the key and promoted fields are decoded. Records handed over as dicts (stream maps,
validation) are serialised once, compactly (`serialize`). The line is built when the record arrives (new
tables: it is streamed into COPY at once), or later from its JSON when only records whose hash changed need
one (tables that had rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec

from target_supabase_hybrid.connector import TableColumn
from target_supabase_hybrid.mappings import MERGED_IDS_PATH, RECORD_HASH_SOURCE, TableMapping
from target_supabase_hybrid.phones import PhoneNormalizer
from target_supabase_hybrid.record_views import is_plain, storable_as_received, view_decoder
from target_supabase_hybrid.values import (
    _NEEDS_ESCAPE,
    CONVERTERS,
    COPY_NULL,
    Unconvertible,
    copy_text,
    dig,
    record_hash,
    record_json,
    replace_lone_surrogates,
    to_copy_text,
    to_text,
)

# Typed conversions of repeated string values (dates, owner ids, flags, stages) are memoised per table; the
# memo is cleared when it reaches this many entries (~2 MB per column at most), so memory stays bounded.
_MEMO_LIMIT = 10_000
_FAILED = object()
# Same decoding as the message reader: numbers keep their exact value.
_JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)
# How a promoted column's value becomes COPY text.
_FREE_TEXT, _MEMOISED, _DIRECT = 0, 1, 2
_EMPTY: dict[str, Any] = {}


class Serialized(NamedTuple):
    """One record: its key, its JSON text as stored (`raw_json`) and the md5 of that text (`raw_hash`)."""

    key: tuple[str, ...]
    data: bytes
    digest: str


class MissingKeyValueError(ValueError):
    """A record whose key property is null: it cannot be upserted."""


class RowBuilder:
    """Builds COPY lines for one table; reports values that did not convert (stored as NULL)."""

    def __init__(
        self,
        mapping: TableMapping,
        columns: list[TableColumn],
        phones: PhoneNormalizer,
        required: Sequence[str] = (),
    ) -> None:
        """Precompute the converters for `columns` (as returned by `connector.loaded_columns`); `required` are
        fields every decoded view must also hold (the stream's key properties, checked by the SDK)."""
        self.mapping = mapping
        self._key_sources = tuple(source for _, source in mapping.key_columns)
        self._hash_keyed = self._key_sources == (RECORD_HASH_SOURCE,)
        key_paths: list[tuple[str, ...]] = [
            (name,) for name in (*required, *(() if self._hash_keyed else self._key_sources))
        ]
        # Merged records retire the rows of the ids they list: read with the key, whatever the path.
        self._tracks_merges = mapping.tracks_merges
        if self._tracks_merges:
            key_paths.append(MERGED_IDS_PATH)
        self._key_view = view_decoder(key_paths)
        self._row_view = view_decoder([*key_paths, *(c.source.path for c in columns if c.source)])
        # The objects promoted values are read from, fetched once per record: () is the record itself,
        # ("properties",) its `properties` object, and so on.
        self._containers: tuple[tuple[str, ...], ...] = tuple(
            dict.fromkeys([(), *(c.source.path[:-1] for c in columns if c.source)])
        )
        # Per promoted column: (container index, leaf key, kind, name, convert, memo).
        self._plan: list[tuple[int, str, int, str, Callable[[Any], str | None], dict[str, Any]]] = []
        for column in columns:
            if column.source is None:
                continue
            path = column.source.path
            convert = phones.e164_text if column.is_e164 else CONVERTERS[column.sql_type]
            kind = _DIRECT if column.is_e164 else _FREE_TEXT if convert is to_copy_text else _MEMOISED
            self._plan.append((self._containers.index(path[:-1]), path[-1], kind, column.name, convert, {}))

    def read_raw(self, raw: msgspec.Raw, *, for_row: bool) -> tuple[dict[str, Any], bytes, bool]:
        """A record given as its JSON text: the fields decoded from it (a row's when `for_row`, else the
        key's; the whole record when it is not shaped as expected), the text to store (as received), and
        whether that text is plain (`is_plain`: its values need no COPY escaping).

        Text that cannot be stored as received (NUL or surrogate escapes) is decoded whole and serialised
        again, as a record given as a dict is.
        """
        data = bytes(raw)
        if not storable_as_received(data):
            record = _JSON_DECODER.decode(data)
            return record, record_json(record), False
        try:
            view = (self._row_view if for_row else self._key_view).decode(data)
        except msgspec.ValidationError:  # not an object, or `properties` is not one, say
            view = _JSON_DECODER.decode(data)
        return view, data, is_plain(data)

    def merged_ids(self, fields: dict[str, Any]) -> list[str]:
        """The ids a merged HubSpot record replaced (`hs_merged_object_ids`, `;`-joined; none elsewhere)."""
        if not self._tracks_merges:
            return []
        value = dig(fields, MERGED_IDS_PATH)
        if value.__class__ is not str or not value:
            return []
        return [part for part in (piece.strip() for piece in value.split(";")) if part]

    def serialize(self, record: dict[str, Any]) -> Serialized:
        """Key and hash a record given as a dict, serialised once as compact JSON."""
        return self.identify(record, record_json(record))

    def identify(self, record: dict[str, Any], data: bytes) -> Serialized:
        """Key and hash a record stored as `data` (the key is that hash for keyless streams)."""
        digest = record_hash(data)
        if self._hash_keyed:
            return Serialized((digest,), data, digest)
        key = tuple(to_text(record.get(source)) for source in self._key_sources)
        if None in key:
            raise MissingKeyValueError(
                f"a record of table {self.mapping.table!r} has a null key property "
                f"{list(self._key_sources)}; keys must be present and non-null"
            )
        return Serialized(key, data, digest)  # type: ignore[arg-type]

    def copy_line_from_json(self, serialized: Serialized, failed: list[str]) -> bytes:
        """`copy_line` for a record known only by its JSON (the record as stored in `raw_json`)."""
        try:
            view = self._row_view.decode(serialized.data)
        except msgspec.ValidationError:
            view = _JSON_DECODER.decode(serialized.data)
        return self.copy_line(view, serialized, failed, plain=is_plain(serialized.data))

    def copy_line(
        self, record: dict[str, Any], serialized: Serialized, failed: list[str], *, plain: bool = False
    ) -> bytes:
        """The COPY text line (no newline); names of columns whose value did not convert go to `failed`.

        `plain`: `record` was decoded from `serialized.data` and that text is plain (`is_plain`), so its
        strings go into the line unchecked (~1 us less per record than searching each for escapes).
        """
        fields = [copy_text(part) for part in serialized.key]
        containers: list[Any] = [record]
        for path in self._containers[1:]:
            container = dig(record, path)
            containers.append(container if container.__class__ is dict else _EMPTY)
        needs_escape = _NEEDS_ESCAPE.search
        for index, leaf, kind, name, convert, memo in self._plan:
            value = containers[index].get(leaf)
            if value is None:
                fields.append(COPY_NULL)
            elif kind == _FREE_TEXT and value.__class__ is str:
                fields.append(value if plain or not needs_escape(value) else copy_text(value))
            elif kind == _MEMOISED and value.__class__ is str:
                known = memo.get(value)
                if known is None or known is _FAILED:
                    known = _convert(name, value, convert, memo, failed)
                fields.append(known)
            else:
                fields.append(_convert(name, value, convert, None, failed))
        fields.append(serialized.digest)
        fields.append("")
        head = "\t".join(fields)
        try:
            encoded = head.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates (from "\\ud800" escapes) in a promoted value
            encoded = replace_lone_surrogates(head).encode("utf-8")
        # JSON text escaped for COPY: backslashes, and tabs or carriage returns a tap put between tokens.
        text = serialized.data if plain else serialized.data.replace(b"\\", b"\\\\")
        return encoded + text.replace(b"\t", b"\\t").replace(b"\r", b"\\r")


def _convert(
    name: str,
    value: Any,
    convert: Callable[[Any], str | None],
    memo: dict[str, Any] | None,
    failed: list[str],
) -> str:
    """COPY text of a present value (NULL when unconvertible, reported in `failed`), memoised for strings."""
    if memo is not None and memo.get(value) is _FAILED:
        failed.append(name)
        return COPY_NULL
    try:
        converted = convert(value)
    except Unconvertible:
        failed.append(name)
        if memo is not None:
            memo[value] = _FAILED
        return COPY_NULL
    field = COPY_NULL if converted is None else converted
    if memo is not None:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[value] = field
    return field
