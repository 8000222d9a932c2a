"""One record → one line of COPY text for the staging table, plus the per-column conversion-failure tally."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Batch:
    """A batch ready for COPY: one text line per distinct key."""

    received: int
    duplicates: int
    lines: list[str] = field(default_factory=list)
    conversion_nulls: Counter[str] = field(default_factory=Counter)


class MissingKeyValueError(ValueError):
    """A record whose key property is null: it cannot be upserted."""


class RowBuilder:
    """Builds staging rows for one table; counts values that did not convert (stored as NULL)."""

    def __init__(self, mapping: TableMapping, columns: list[TableColumn], phones: PhoneNormalizer) -> None:
        """Precompute the converters for `columns` (as returned by `connector.loaded_columns`)."""
        self.mapping = mapping
        self._key_sources = tuple(source for _, source in mapping.key_columns)
        self._promoted: list[tuple[str, tuple[str, ...], Callable[[Any], str | None]]] = []
        for column in columns:
            if column.source is None:
                continue
            convert = phones.e164_text if column.is_e164 else CONVERTERS[column.sql_type]
            self._promoted.append((column.name, column.source.path, convert))

    def key_of(self, record: dict[str, Any], record_text: str) -> tuple[str, ...]:
        """The record's key as text; the whole-record hash for keyless streams."""
        if self._key_sources == (RECORD_HASH_SOURCE,):
            return (record_hash(record_text),)
        key = tuple(to_text(record.get(source)) for source in self._key_sources)
        if any(part is None for part in key):
            raise MissingKeyValueError(
                f"a record of table {self.mapping.table!r} has a null key property "
                f"{list(self._key_sources)}; keys must be present and non-null"
            )
        return key  # type: ignore[return-value]

    def build(self, records: Iterable[dict[str, Any]]) -> Batch:
        """Staging lines for the batch, deduplicated by key (the last record wins)."""
        latest: dict[tuple[str, ...], tuple[dict[str, Any], str]] = {}
        received = 0
        for record in records:
            received += 1
            text = record_json(record)
            latest[self.key_of(record, text)] = (record, text)
        batch = Batch(received=received, duplicates=received - len(latest))
        promoted = self._promoted
        failures = batch.conversion_nulls
        append = batch.lines.append
        for key, (record, text) in latest.items():
            fields = [copy_text(part) for part in key]
            for name, path, convert in promoted:
                try:
                    converted = convert(dig(record, path))
                except Unconvertible:
                    failures[name] += 1
                    converted = None
                fields.append(COPY_NULL if converted is None else converted)
            fields.append(text.replace("\\", "\\\\"))
            append("\t".join(fields))
        return batch
