"""Plain discord.py clients (no bot code of ours) connected to a sandbox, for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from typing import AsyncIterator, Callable

warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)

import discord  # noqa: E402

from bot.sandbox import Sandbox  # noqa: E402

TIMEOUT = 5.0


def all_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    return intents


@contextlib.asynccontextmanager
async def connected(
    sb: Sandbox,
    intents: discord.Intents | None = None,
    factory: Callable[..., discord.Client] = discord.Client,
    **client_options: object,
) -> AsyncIterator[discord.Client]:
    """A discord.py client logged in and READY against ``sb``; closed afterwards."""
    # guild_ready_timeout: discord.py otherwise waits 2 s for more GUILD_CREATEs after READY.
    client = factory(intents=intents or all_intents(), guild_ready_timeout=0.1, **client_options)
    ready = asyncio.Event()

    @client.event
    async def on_ready() -> None:
        ready.set()

    task = asyncio.create_task(client.start(sb.bot_token))
    try:
        done, _ = await asyncio.wait({task, asyncio.create_task(ready.wait())}, timeout=TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # surfaces the login/connect error
        assert ready.is_set(), "discord.py did not become ready"
        yield client
    finally:
        await client.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, TIMEOUT)


def listen(client: discord.Client, event: str, callback: Callable[..., object]) -> None:
    """Call ``callback`` (a plain function) on every ``event`` (e.g. ``"message"``)."""

    async def handler(*args: object) -> None:
        callback(*args)

    handler.__name__ = f"on_{event}"
    setattr(client, handler.__name__, handler)


class Recorder:
    """Everything one discord.py event delivered, in order, with a bounded wait for more."""

    def __init__(self, client: discord.Client, event: str) -> None:
        self.items: list[object] = []
        self._changed = asyncio.Event()
        listen(client, event, self._add)

    def _add(self, *args: object) -> None:
        self.items.append(args[0] if len(args) == 1 else args)
        self._changed.set()

    async def wait(self, count: int, timeout: float = TIMEOUT) -> list:
        """Wait until at least ``count`` events arrived; return them all."""

        async def until() -> None:
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.items
