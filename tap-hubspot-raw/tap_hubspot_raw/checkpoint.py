"""A full sync's progress in the stream's state, so an interrupted full sync resumes near where it stopped.

While a stream's full sync runs, its state carries ``full_sync``: when the sync started (the bookmark it will
set, so changes made meanwhile are read by the next incremental run), which kind of list cursor the portal
has, the id ranges whose every live object has been emitted, and whether the archived sweep finished. The
SDK writes the stream's state in its STATE messages, which the target repeats only once it has committed
what came before: a resumed full sync reads only the ranges not done. The key goes when the sync completes.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from tap_hubspot_raw.idspace import IdRange, merge_ranges
from tap_hubspot_raw.pagination import to_epoch_ms, to_iso

STATE_KEY = "full_sync"


@dataclass
class FullSyncCheckpoint:
    """What an interrupted full sync had finished."""

    started_ms: int
    list_cursor: str | None = None
    done: list[IdRange] = field(default_factory=list)
    archived_done: bool = False

    @classmethod
    def load(cls, stream_state: MutableMapping[str, Any]) -> FullSyncCheckpoint | None:
        """The checkpoint in ``stream_state``, if a full sync was interrupted."""
        saved = stream_state.get(STATE_KEY)
        if not isinstance(saved, dict) or not saved.get("started_at"):
            return None
        return cls(
            started_ms=to_epoch_ms(str(saved["started_at"])),
            list_cursor=saved.get("list_cursor"),
            done=merge_ranges(IdRange(int(low), int(high)) for low, high in saved.get("done") or []),
            archived_done=bool(saved.get("archived_done")),
        )

    def save(self, stream_state: MutableMapping[str, Any]) -> None:
        """Write the checkpoint into ``stream_state`` (the SDK emits it with the next STATE message)."""
        stream_state[STATE_KEY] = {
            "started_at": to_iso(self.started_ms),
            "list_cursor": self.list_cursor,
            "done": [[r.low, r.high] for r in self.done],
            "archived_done": self.archived_done,
        }

    def mark_done(self, done: IdRange) -> None:
        """Every live object of ``done`` has been emitted."""
        self.done = merge_ranges([*self.done, done])

    @staticmethod
    def clear(stream_state: MutableMapping[str, Any]) -> None:
        """The full sync completed."""
        stream_state.pop(STATE_KEY, None)
