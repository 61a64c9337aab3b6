"""Per-server values that are read for every arriving message but change rarely (a
server's settings, its opted-out members), kept in memory for a few seconds.

A change made through the same :class:`bot.store.Store` drops what was kept at once; one
made by another process (the operator's command line) is seen within :data:`KEPT_SECONDS`.
"""

from __future__ import annotations

import time
from typing import Callable, Generic, TypeVar

Value = TypeVar("Value")

KEPT_SECONDS = 2.0  # real seconds
MOST_KEPT = 10_000  # servers; past it everything kept is forgotten at once


class Kept(Generic[Value]):
    """guild id -> value, read again once older than `seconds`."""

    def __init__(self, read: Callable[[int], Value], seconds: float = KEPT_SECONDS) -> None:
        self.read = read
        self.seconds = seconds
        self._values: dict[int, tuple[float, Value]] = {}

    def get(self, guild_id: int) -> Value:
        kept = self._values.get(guild_id)
        now = time.monotonic()
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        value = self.read(guild_id)
        if len(self._values) >= MOST_KEPT:
            self._values.clear()
        self._values[guild_id] = (now, value)
        return value

    def drop(self, guild_id: int) -> None:
        """Forget a server's value (it was just changed): the next get reads it."""
        self._values.pop(guild_id, None)
