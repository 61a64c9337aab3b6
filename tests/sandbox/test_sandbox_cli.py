"""``python -m bot.sandbox`` (what ``tweetchat sandbox`` runs): starts fast, and discord.py logs in."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from sandbox_clients import TIMEOUT, connected

from bot.sandbox.client import point_discord_at, restore_discord

REPO = Path(__file__).resolve().parents[2]


class _Running:
    """Enough of a Sandbox for the client helpers: the URLs and token the CLI printed."""

    def __init__(self, details: dict) -> None:
        self.api_base = details["api_base"]
        self.gateway_url = details["gateway_url"]
        self.bot_token = details["bot_token"]


async def test_cli_starts_under_two_seconds_and_accepts_a_login():
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox", "--json", cwd=REPO, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), TIMEOUT)
        elapsed = time.monotonic() - started
        details = json.loads(line)
        assert elapsed < 2.0, f"sandbox took {elapsed:.2f}s to start"
        running = _Running(details)
        point_discord_at(running)
        try:
            async with connected(running) as client:
                guild = client.get_guild(int(details["guild_id"]))
                assert guild.name == "Physiotalk"
                assert guild.get_channel(int(details["channel_id"])).name == "tweetchat"
                sent = await guild.get_channel(int(details["channel_id"])).send("hello from the CLI test")
                assert sent.content == "hello from the CLI test"
        finally:
            restore_discord()
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
