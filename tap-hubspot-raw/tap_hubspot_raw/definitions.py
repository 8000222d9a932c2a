"""Property definitions as discovery read them, kept for the rest of the run.

Discovery reads ``GET /crm/v3/properties/{type}`` for each object stream's schema; checking the names in
``property_history`` needs the same answers. Keeping them spares a request per object type.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from tap_hubspot_raw.api import PROPERTIES_PATH
from tap_hubspot_raw.reader import CallApi

_PROPERTIES_PATH = re.compile("^" + re.escape(PROPERTIES_PATH).replace(r"\{object_type\}", "([^/?]+)") + "$")


class DiscoveredDefinitions:
    """Reads property definitions through ``call`` at most once per object type (thread-safe)."""

    def __init__(self, call: CallApi) -> None:
        """Read through ``call`` (the tap's transport)."""
        self._call = call
        self._lock = threading.Lock()
        self._payloads: dict[str, dict[str, Any]] = {}

    def call(self, method: str, path: str, params: dict[str, Any] | None, body: Any) -> dict[str, Any]:
        """``call``, answering a repeated plain GET of an object type's definitions from memory."""
        if method != "GET" or params or body is not None or not _PROPERTIES_PATH.match(path):
            return self._call(method, path, params, body)
        with self._lock:
            known = self._payloads.get(path)
        if known is None:  # read outside the lock: discovery reads several object types at once
            known = self._call(method, path, params, body)
            with self._lock:
                self._payloads[path] = known
        return known

    def names(self, object_type: str) -> set[str]:
        """The names of ``object_type``'s properties."""
        payload = self.call("GET", PROPERTIES_PATH.format(object_type=object_type), None, None)
        return {str(d["name"]) for d in payload.get("results") or []}
