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
    CONVERTERS,
    COPY_NULL,
    Unconvertible,
    copy_text,
    dig,
    record_hash,
    record_json,
    to_text,
)


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
        self._promoted: list[tuple[str, tuple[str, ...], Callable[[Any], str | None]]] = []
        for column in columns:
            if column.source is None:
                continue
            convert = phones.e164_text if column.is_e164 else CONVERTERS[column.sql_type]
            self._promoted.append((column.name, column.source.path, convert))

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
        for key, record, text, digest in entries:
            fields = [copy_text(part) for part in key]
            for name, path, convert in promoted:
                try:
                    converted = convert(dig(record, path))
                except Unconvertible:
                    failures[name] += 1
                    converted = None
                fields.append(COPY_NULL if converted is None else converted)
            fields.append(digest)
            fields.append(text.replace("\\", "\\\\"))
            yield "\t".join(fields)
