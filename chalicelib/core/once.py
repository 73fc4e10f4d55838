"""Objects built once per process, per key: the offline engines, readers and
stores load models or open files, and `chalice local` or waitress may ask for
them from several threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    """A lock-guarded cache: `get(key, build)` calls `build` at most once per
    key while it succeeds (a build that raises is tried again next time)."""

    def __init__(self) -> None:
        self._items: dict[Hashable, T] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        item = self._items.get(key)
        if item is None:
            with self._lock:
                item = self._items.get(key)
                if item is None:
                    item = self._items[key] = build()
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
