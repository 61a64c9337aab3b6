"""Discord's global rate limit, kept on our side.

Discord lets a bot make 50 requests a second in all (interaction responses aside), and
answers any more with a global 429 that stops every request for a while. discord.py obeys
a 429 once it has one but does not pace itself before, so when the dispatcher posts for many
servers at once (1,000 chats starting at 8pm) it would run into that wall again and again.
:class:`Pacer` spaces requests at a rate just under the limit instead: however many are
waiting, no second ever holds more than the rate allows.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

# Discord's documented global limit is 50 requests per second. We send at most 45 a second
# on average, with at most CATCH_UP more at once after the event loop fell behind: no
# second of sending holds more than 45 + 1 + CATCH_UP = 48, so requests can arrive up to
# about 40 ms later than they left and Discord still counts no more than 50 in a second.
# (At 47 a second that margin was nil: a global 429 now and then when the process, or the
# sandbox sharing it, fell behind; 1,000 servers at 8pm cost 1.13 x the floor at 45 and
# 1.08 x at 47, benchmarks/README.md.)
GLOBAL_REQUESTS_PER_SECOND = 45.0
CATCH_UP = 2


class Pacer:
    """Lets requests go one at a time, first come first served, ``1 / rate`` seconds apart.

    Each request's slot is chosen when its turn comes, not promised in advance: after the
    event loop stalls, the waiting requests do not all leave together in a burst. A request
    may use up to ``catch_up`` slots that passed while nobody could send (so a stall costs
    little throughput); beyond that, the spacing holds."""

    def __init__(self, rate: float = GLOBAL_REQUESTS_PER_SECOND, *, catch_up: int = CATCH_UP,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError("the rate must be positive")
        self.gap = 1.0 / rate
        self.catch_up = catch_up
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._turn = asyncio.Lock()
        self.waited = 0.0  # seconds spent waiting in all, for the logs and benchmarks

    async def wait(self) -> None:
        """Return when the caller may send its request."""
        asked = self._clock()
        async with self._turn:
            now = self._clock()
            slot = max(self._next, now - self.catch_up * self.gap)
            if slot > now:
                await self._sleep(slot - now)
            self._next = slot + self.gap
        self.waited += self._clock() - asked
