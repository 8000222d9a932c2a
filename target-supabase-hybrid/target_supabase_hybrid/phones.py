"""Phone numbers → E.164, so calls can be matched to contacts despite formatting ("+7 (912) 345-67-89").

`phonenumbers.parse` costs ~25 µs, more than the rest of a row. Numbers of the default region written the
usual ways (international "+7 912 …" or national "8 912 …") take an exact shortcut computed from the same
metadata; everything else goes through `phonenumbers`. A test checks both paths agree.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import phonenumbers

_FORMATTING = re.compile(r"[\s\-().\u00a0]+")
_DIGITS = re.compile(r"^\+?\d+$")
_CACHE_SIZE = 100_000


class PhoneNormalizer:
    """Normalizes with a default region for numbers written without a country code."""

    def __init__(self, default_region: str | None) -> None:
        """`default_region` is an ISO 3166 code such as "US" or "RU" (None: only numbers with "+" parse)."""
        self.default_region = (default_region or "").upper() or None
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
        compact = _FORMATTING.sub("", text)
        if not self._country_prefix or not _DIGITS.match(compact):
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
        try:
            number = phonenumbers.parse(text, self.default_region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
