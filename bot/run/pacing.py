"""Discord's global rate limit, kept on our side.

Discord lets a bot make 50 requests a second in all (interaction responses aside), and
answers any more with a global 429 that stops every request for a while. discord.py obeys
a 429 once it has one but does not pace itself before, so when the dispatcher posts for many
servers at once (1,000 chats starting at 8pm) it would run into that wall again and again.
:class:`Pacer` spaces requests evenly at a rate just under the limit instead: however many
are waiting, no second ever holds more than the rate allows.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

# Discord's documented global limit is 50 requests per second; 48 leaves room for the
# clock skew between us and Discord's counting window.
GLOBAL_REQUESTS_PER_SECOND = 48.0


class Pacer:
    """Hands out request slots ``1 / rate`` seconds apart, first come first served."""

    def __init__(self, rate: float = GLOBAL_REQUESTS_PER_SECOND, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.gap = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self.waited = 0.0  # seconds spent waiting in all, for the logs and benchmarks

    async def wait(self) -> None:
        """Return when the caller may send its request."""
        now = self._clock()
        slot = max(self._next, now)
        self._next = slot + self.gap
        if slot > now:
            self.waited += slot - now
            await self._sleep(slot - now)
