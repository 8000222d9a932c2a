"""The change overlay: what changed on top of the generated portal (property edits, modified dates, archival),
kept twice — as the portal is now, and as the (possibly lagging) search index last saw it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HistoryEntry:
    value: str | None
    at: int  # epoch ms
    source: str  # HubSpot's sourceType: CRM_UI, IMPORT, API, MERGE...


@dataclass
class ObjectState:
    """Mutable per-object changes; absent fields fall back to the generated object."""

    props: dict[str, str | None] = field(default_factory=dict)
    modified: int | None = None
    archived_at: int | None = None
    # property -> the values set since generation, oldest first (history.py); not part of what search sees
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)

    def snapshot(self) -> ObjectState:
        return ObjectState(dict(self.props), self.modified, self.archived_at)

    def record(self, name: str, value: str | None, at: int, source: str = "CRM_UI") -> None:
        self.history.setdefault(name, []).append(HistoryEntry(value, at, source))


class ChangeOverlay:
    """Per-object changes of one object type: `current` for reads, `indexed` for search."""

    def __init__(self) -> None:
        self.current: dict[int, ObjectState] = {}
        self.indexed: dict[int, ObjectState] = {}

    def get(self, obj_id: int, search: bool = False) -> ObjectState | None:
        return (self.indexed if search else self.current).get(obj_id)

    def edit(self, obj_id: int) -> ObjectState:
        """The current state of `obj_id`, created empty on first change."""
        state = self.current.get(obj_id)
        if state is None:
            state = ObjectState()
            self.current[obj_id] = state
        return state
