"""Records → staging rows: dedupe by key, hash each record's JSON, and stream COPY text for changed ones.

A batch is prepared in two steps. `collect` (before the transaction) serialises each record once, keys it
and hashes the JSON text (`raw_hash`); the last record per key wins. `copy_lines` (during the COPY) converts
the promoted columns lazily, so Python builds rows while PostgreSQL parses the ones already sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from target_supabase_hybrid.connector import TableColumn
from target_supabase_hybrid.mappings import RECORD_HASH_SOURCE, TableMapping
from target_supabase_hybrid.phones import PhoneNormalizer
from target_supabase_hybrid.values import (
    _NEEDS_ESCAPE,
    CONVERTERS,
    COPY_NULL,
    Unconvertible,
    copy_text,
    dig,
    record_hash,
    record_json,
    to_copy_text,
    to_text,
)

# Typed conversions of repeated string values (dates, owner ids, flags, stages) are memoised per table; the
# memo is cleared when it reaches this many entries (~2 MB per column at most), so memory stays bounded.
_MEMO_LIMIT = 10_000
_FAILED = object()


class Entry(NamedTuple):
    """One distinct record of a batch: its key, the record, its JSON text and the md5 of that text."""

    key: tuple[str, ...]
    record: dict[str, Any]
    text: str
    hash: str


@dataclass
class Batch:
    """A deduplicated batch (one entry per distinct key, the last record wins)."""

    received: int
    duplicates: int
    entries: list[Entry] = field(default_factory=list)


class MissingKeyValueError(ValueError):
    """A record whose key property is null: it cannot be upserted."""


class RowBuilder:
    """Builds staging rows for one table; counts values that did not convert (stored as NULL)."""

    def __init__(self, mapping: TableMapping, columns: list[TableColumn], phones: PhoneNormalizer) -> None:
        """Precompute the converters for `columns` (as returned by `connector.loaded_columns`)."""
        self.mapping = mapping
        self._key_sources = tuple(source for _, source in mapping.key_columns)
        self._hash_keyed = self._key_sources == (RECORD_HASH_SOURCE,)
        # Per promoted column: (name, root, leaf, path, convert, memo). `root` indexes the containers fetched
        # once per record (0: the record, i: the dict at its `parents[i - 1]`), `leaf` is read from it;
        # deeper paths (root -1) use `dig`. `memo` is None for free text and phones (cached elsewhere).
        self._parents: tuple[str, ...] = tuple(
            dict.fromkeys(c.source.path[0] for c in columns if c.source and len(c.source.path) == 2)
        )
        self._promoted: list[
            tuple[str, int, str, tuple[str, ...], Callable[[Any], str | None], dict[str, Any] | None]
        ] = []
        for column in columns:
            if column.source is None:
                continue
            path = column.source.path
            convert = phones.e164_text if column.is_e164 else CONVERTERS[column.sql_type]
            memo: dict[str, Any] | None = None if column.is_e164 or convert is to_copy_text else {}
            if len(path) == 1:
                root, leaf = 0, path[0]
            elif len(path) == 2:
                root, leaf = self._parents.index(path[0]) + 1, path[1]
            else:
                root, leaf = -1, ""
            self._promoted.append((column.name, root, leaf, path, convert, memo))

    def key_of(self, record: dict[str, Any], record_text: str) -> tuple[str, ...]:
        """The record's key as text; the whole-record hash for keyless streams."""
        if self._hash_keyed:
            return (record_hash(record_text),)
        key = tuple(to_text(record.get(source)) for source in self._key_sources)
        if any(part is None for part in key):
            raise MissingKeyValueError(
                f"a record of table {self.mapping.table!r} has a null key property "
                f"{list(self._key_sources)}; keys must be present and non-null"
            )
        return key  # type: ignore[return-value]

    def collect(self, records: Iterable[dict[str, Any]]) -> Batch:
        """Serialise, key and hash the batch's records, deduplicated by key (the last record wins)."""
        latest: dict[tuple[str, ...], tuple[dict[str, Any], str]] = {}
        received = 0
        for record in records:
            received += 1
            text = record_json(record)
            latest[self.key_of(record, text)] = (record, text)
        entries = [
            Entry(key, record, text, key[0] if self._hash_keyed else record_hash(text))
            for key, (record, text) in latest.items()
        ]
        return Batch(received=received, duplicates=received - len(entries), entries=entries)

    def copy_lines(self, entries: Iterable[Entry], failures: Counter[str]) -> Iterator[str]:
        """COPY text lines (keys, promoted columns, raw_hash, raw_json); unconvertible values → `failures`."""
        promoted = self._promoted
        parents = self._parents
        needs_escape = _NEEDS_ESCAPE.search
        for key, record, text, digest in entries:
            fields = [copy_text(part) for part in key]
            roots: list[Any] = [record if record.__class__ is dict else None]
            for parent in parents:
                container = record.get(parent) if roots[0] is not None else None
                roots.append(container if container.__class__ is dict else None)
            for name, root, leaf, path, convert, memo in promoted:
                if root >= 0:
                    container = roots[root]
                    value = None if container is None else container.get(leaf)
                else:
                    value = dig(record, path)
                if value is None:
                    fields.append(COPY_NULL)
                elif convert is to_copy_text and value.__class__ is str:
                    # Free text, inlined: most values need no escaping.
                    fields.append(copy_text(value) if needs_escape(value) else value)
                else:
                    known = memo.get(value) if memo is not None and value.__class__ is str else None
                    if known is None or known is _FAILED:
                        known = _convert(name, value, convert, memo, failures)
                    fields.append(known)
            fields.append(digest)
            fields.append(text.replace("\\", "\\\\"))
            yield "\t".join(fields)


def _convert(
    name: str,
    value: Any,
    convert: Callable[[Any], str | None],
    memo: dict[str, Any] | None,
    failures: Counter[str],
) -> str:
    """COPY text of a present value (NULL when unconvertible, counted in `failures`), memoised for strings."""
    cache = memo if memo is not None and value.__class__ is str else None
    if cache is not None and cache.get(value) is _FAILED:
        failures[name] += 1
        return COPY_NULL
    try:
        converted = convert(value)
    except Unconvertible:
        failures[name] += 1
        if cache is not None:
            cache[value] = _FAILED
        return COPY_NULL
    field = COPY_NULL if converted is None else converted
    if cache is not None:
        if len(cache) >= _MEMO_LIMIT:
            cache.clear()
        cache[value] = field
    return field
