"""Reading Singer messages with msgspec: the SDK's `json.loads(parse_float=Decimal)` was a top cost."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from typing_extensions import override

_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class FastSingerReader(SingerReader):
    """Same messages as the SDK reader (floats as exact `Decimal`), decoded ~2-3x faster."""

    @override
    def deserialize_json(self, line: str) -> dict:
        try:
            message = _DECODER.decode(line)
        except msgspec.DecodeError:
            # msgspec refuses some JSON the stdlib accepts (lone "\\ud800" escapes): let the SDK decide.
            message = super().deserialize_json(line)
        if not isinstance(message, dict):
            raise InvalidInputLine(f"A Singer message must be a JSON object: {line[:200]}")
        return message
