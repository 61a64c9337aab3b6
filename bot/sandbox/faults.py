"""Fault injection: the failures a bot meets in production, on demand.

REST faults match a route template such as ``"POST /channels/{channel_id}/threads"``
(the same spelling :class:`~bot.sandbox.ratelimit.RateLimits` uses) and apply to the next
``times`` matching requests. Gateway faults act on live connections through the gateway.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, AsyncIterator

if TYPE_CHECKING:
    from .gateway import Gateway


@dataclass
class RouteFault:
    route: str
    status: int | None = None
    delay: float = 0.0
    times: int = 1
    hits: int = 0


class Faults:
    """Switches a test flips to make the sandbox misbehave the way Discord sometimes does."""

    def __init__(self) -> None:
        self._route_faults: list[RouteFault] = []
        self.gateway: Gateway | None = None
        self.refuse_resumes = 0
        self.dispatch_open = asyncio.Event()
        self.dispatch_open.set()

    # --- REST ------------------------------------------------------------------------------

    def fail_route(self, route: str, status: int = 500, *, times: int = 1) -> RouteFault:
        """Answer the next ``times`` requests to ``route`` with ``status`` (500, 502, 503, ...)."""
        fault = RouteFault(route, status=status, times=times)
        self._route_faults.append(fault)
        return fault

    def slow_route(self, route: str, seconds: float, *, times: int = 1) -> RouteFault:
        """Delay the next ``times`` requests to ``route`` by ``seconds`` before handling them."""
        fault = RouteFault(route, delay=seconds, times=times)
        self._route_faults.append(fault)
        return fault

    def take(self, route: str) -> RouteFault | None:
        """The fault to apply to this request, if any (consumes one use of it)."""
        for fault in self._route_faults:
            if fault.route == route and fault.hits < fault.times:
                fault.hits += 1
                return fault
        return None

    def clear(self) -> None:
        """Forget all pending REST faults and let dispatch flow again."""
        self._route_faults.clear()
        self.refuse_resumes = 0
        self.dispatch_open.set()

    # --- gateway ---------------------------------------------------------------------------

    def _require_gateway(self) -> "Gateway":
        if self.gateway is None:
            raise RuntimeError("the sandbox is not running")
        return self.gateway

    async def drop_gateway(self, code: int | None = None) -> int:
        """Cut every gateway connection: abruptly (``code=None``, like a network drop) or
        with a close frame. Sessions stay resumable. Returns how many were cut."""
        return await self._require_gateway().drop_connections(code)

    def refuse_next_resume(self, times: int = 1) -> None:
        """Answer the next RESUME attempts with INVALID_SESSION (d=false)."""
        self.refuse_resumes += times

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT, asking clients to reconnect and resume."""
        await self._require_gateway().send_op(7, None)

    async def invalidate_sessions(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION with ``d=resumable``."""
        await self._require_gateway().send_op(9, resumable)

    async def request_heartbeat(self) -> None:
        """Send op 1, asking clients to heartbeat at once."""
        await self._require_gateway().send_op(1, None)

    def pause_dispatch(self) -> None:
        """Hold dispatches (they queue, with sequence numbers) until :meth:`resume_dispatch`."""
        self.dispatch_open.clear()

    def resume_dispatch(self) -> None:
        self.dispatch_open.set()

    @asynccontextmanager
    async def dispatch_paused(self) -> AsyncIterator[None]:
        """``async with faults.dispatch_paused():`` holds dispatches inside the block."""
        self.pause_dispatch()
        try:
            yield
        finally:
            self.resume_dispatch()
