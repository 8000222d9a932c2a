"""Id-keyed views of ordinal-keyed data, for callers outside the portal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, overload

from .store import TypeStore

if TYPE_CHECKING:
    from .portal import Portal


class StoreById:
    def __init__(self, portal: Portal, type_name: str) -> None:
        self.portal, self.type_name = portal, type_name

    def exists(self, obj_id: int | str) -> bool:
        return self.portal.exists(self.type_name, obj_id)

    def is_archived(self, obj_id: int | str) -> bool:
        return self.portal.is_archived(self.type_name, obj_id)

    def modified_ms(self, obj_id: int | str) -> int:
        return self.portal.modified_ms(self.type_name, obj_id)


class IdsOf(Sequence[int]):
    """A sequence of ordinals seen as the ids they stand for (search results stay lazy)."""

    def __init__(self, store: TypeStore, ords: Sequence[int]) -> None:
        self.ids, self.ords = store.layout.ids, ords

    def __len__(self) -> int:
        return len(self.ords)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self.ids[o] for o in self.ords[index]]
        return self.ids[self.ords[index]]
