"""Phone numbers → E.164, so calls can be matched to contacts despite formatting ("+7 (912) 345-67-89").

Rules, first that succeeds wins (a number with "+" is only ever read the first way):
1. `default_region`: the number as written there, accepted when `is_possible_number`.
2. `fallback_regions`, in order, for numbers not possible in the default region; same acceptance. The order
   matters: a 10-digit US national number ("(857) 829 5489") is also a possible Russian national number, so
   [US, RU] reads it right and [RU, US] misreads it as +7 857 …; put the region whose national numbers are
   ambiguous with the other's first (11-digit "8 912 …"/"7 912 …" are never possible in the US).
3. International written without "+": 11-15 digits → "+digits", accepted only when `is_valid_number` (strict:
   assigned country and number range). It runs after the configured regions because a Moscow "8 495 123 45 67"
   is also a valid Vietnamese +84 95 123 45 67.
An extension ("736-747-8010 ext. 12") is dropped: E.164 has none. Unparseable or impossible numbers → None.

`phonenumbers.parse` costs ~25 µs, more than the rest of a row. Numbers of the default region written the
usual ways (international "+7 912 …" or national "8 912 …") take an exact shortcut computed from the same
metadata; everything else goes through `phonenumbers`. A test checks both paths agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import phonenumbers

_FORMATTING = re.compile(r"[\s\-().\u00a0]+")
# The ASCII characters `_FORMATTING` removes (ASCII whitespace as `\s` knows it, "-", "(", ")", ".").
_ASCII_FORMATTING = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f-()."
_INTERNATIONAL_WITHOUT_PLUS = re.compile(r"^\d{11,15}$")
_CACHE_SIZE = 100_000


def _region(code: str | None) -> str | None:
    """An upper-case ISO 3166 code phonenumbers knows, None for empty; ValueError for an unknown code."""
    region = (code or "").strip().upper() or None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"Unknown phone region {code!r}: use an ISO 3166 code such as US or RU.")
    return region


class PhoneNormalizer:
    """Normalizes with a default region (and fallback regions) for numbers written without a country code."""

    def __init__(self, default_region: str | None, fallback_regions: Iterable[str] = ()) -> None:
        """Regions are ISO 3166 codes such as "US" or "RU"; fallbacks may be "US,RU" text."""
        self.default_region = _region(default_region)
        if isinstance(fallback_regions, str):  # "US,RU" from an environment variable
            fallback_regions = fallback_regions.replace(";", ",").split(",")
        fallbacks: list[str] = []
        for code in fallback_regions:
            region = _region(code)
            if region is not None and region != self.default_region and region not in fallbacks:
                fallbacks.append(region)
        self.fallback_regions = tuple(fallbacks)
        # Stored beside each E.164 column: numbers normalized under other rules are recomputed.
        self.rules = (
            f"E.164 by phonenumbers {phonenumbers.__version__}; default region "
            f"{self.default_region or 'none'}; fallback regions {','.join(self.fallback_regions) or 'none'}"
        )
        self._parse = lru_cache(maxsize=_CACHE_SIZE)(self._parse_uncached)
        self._country_prefix = ""
        self._national_prefix = ""
        self._lengths: frozenset[int] = frozenset()
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(self.default_region or "")
        # The shortcut is exact only where stripping the national prefix is a plain literal (RU "8", US "1",
        # DE "0"); regions with transform rules (AR, BR, …) always use the full parser.
        if metadata is not None and metadata.national_prefix_transform_rule is None:
            prefix = metadata.national_prefix or ""
            if (metadata.national_prefix_for_parsing or "") == prefix:
                self._country_prefix = f"+{metadata.country_code}"
                self._national_prefix = prefix
                general = metadata.general_desc
                self._lengths = frozenset(general.possible_length or ()) if general else frozenset()

    def e164_text(self, value: Any) -> str | None:
        """The E.164 form, or None when the value is empty or not a possible phone number (never raises)."""
        if not isinstance(value, str) or not value.strip():
            return None
        return self._parse(value)

    def _shortcut(self, text: str) -> str | None:
        # ASCII only (else the full parser): a bytes translate strips the formatting ~3x faster than a regex.
        if not self._country_prefix or not text.isascii():
            return None
        compact = text.encode().translate(None, _ASCII_FORMATTING).decode()
        if not (compact[1:] if compact.startswith("+") else compact).isdigit():
            return None
        if compact.startswith(self._country_prefix):
            national = compact[len(self._country_prefix) :]
        elif (
            self._national_prefix
            and compact.startswith(self._national_prefix)
            and not compact.startswith("+")
        ):
            national = compact[len(self._national_prefix) :]
        else:
            return None
        if self._national_prefix and national.startswith(self._national_prefix):
            return None
        if len(national) not in self._lengths:
            return None
        return self._country_prefix + national

    def _parse_uncached(self, text: str) -> str | None:
        shortcut = self._shortcut(text)
        if shortcut is not None:
            return shortcut
        found = _possible(text, self.default_region)
        if found is not None or text.lstrip().startswith("+"):
            return found
        for region in self.fallback_regions:
            found = _possible(text, region)
            if found is not None:
                return found
        compact = _FORMATTING.sub("", text)
        if _INTERNATIONAL_WITHOUT_PLUS.match(compact):
            return _valid_international("+" + compact)
        return None


def _possible(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _valid_international(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
