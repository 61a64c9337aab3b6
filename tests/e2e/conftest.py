"""End-to-end fixtures: the sandbox, and the real bot logged in to it through discord.py."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncIterator

import pytest

from bot.app import TweetchatBot, point_at
from bot.config import Secret, Settings
from bot.sandbox import Sandbox, SandboxConfig
from bot.sandbox.client import restore_discord

CROWD = tuple(f"member{i:02d}" for i in range(1, 13))


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(heartbeat_interval_ms=2000, members=CROWD)


@pytest.fixture
async def sandbox(sandbox_config) -> AsyncIterator[Sandbox]:
    async with Sandbox(sandbox_config) as sb:
        try:
            yield sb
        finally:
            restore_discord()


def settings_for(sb: Sandbox, db: Path) -> Settings:
    return Settings(token=Secret(sb.bot_token), database=db, api_base_url=sb.api_base,
                    gateway_url=sb.gateway_url, dev_guild_id=sb.guild_id)


@contextlib.asynccontextmanager
async def running_bot(sb: Sandbox, db: Path, **options) -> AsyncIterator[TweetchatBot]:
    """The bot, logged in and ready; closed cleanly afterwards. `options` go to
    TweetchatBot (e.g. ``data_dir``)."""
    settings = settings_for(sb, db)
    point_at(settings)
    # discord.py otherwise waits 2 s after READY for more servers.
    bot = TweetchatBot(settings, guild_ready_timeout=0.1, **options)
    task = asyncio.create_task(bot.start(sb.bot_token))
    ready = asyncio.create_task(bot.ready_once.wait())
    await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    try:
        if task.done():
            task.result()
        assert ready.done(), "the bot did not become ready on the sandbox"
    except BaseException:
        ready.cancel()
        await bot.close()
        raise
    try:
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def bot(sandbox, tmp_path) -> AsyncIterator[TweetchatBot]:
    async with running_bot(sandbox, tmp_path / "tweetchat.db") as b:
        yield b


async def eventually(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Wait until predicate() is truthy; fail the test (not hang) if it never is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
