"""Fixtures: a sandbox, and a plain discord.py client logged in to it."""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from sandbox_clients import connected  # first: it silences discord.py's audioop warning

import discord

from bot.sandbox import Sandbox, SandboxConfig
from bot.sandbox.client import point_discord_at, restore_discord


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Override in a test module to start the sandbox differently."""
    return SandboxConfig(heartbeat_interval_ms=5000)


@pytest.fixture
async def sandbox(sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    async with Sandbox(sandbox_config) as sb:
        point_discord_at(sb)
        try:
            yield sb
        finally:
            restore_discord()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[discord.Client]:
    async with connected(sandbox) as c:
        yield c
