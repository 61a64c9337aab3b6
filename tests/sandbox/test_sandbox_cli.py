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


async def test_tweetchat_run_in_a_second_process_uses_the_printed_settings(tmp_path):
    """`tweetchat sandbox` in one terminal, `tweetchat run` in another with the settings it
    printed: the bot logs in, syncs its slash commands and keeps running."""
    import aiohttp

    sandbox = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", cwd=REPO, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    bot = None
    try:
        printed = []
        while not printed or "tweetchat run" not in printed[-1]:
            line = (await asyncio.wait_for(sandbox.stdout.readline(), TIMEOUT)).decode()
            assert line, "the sandbox ended before printing how to run the bot"
            printed.append(line)
        settings = dict(line.strip().rstrip("\\").strip().split("=", 1) for line in printed
                        if line.strip().startswith(("DISCORD_", "TWEETCHAT_")))
        assert set(settings) == {"DISCORD_TOKEN", "DISCORD_API_BASE_URL", "DISCORD_GATEWAY_URL",
                                 "TWEETCHAT_DEV_GUILD"}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "TWEETCHAT_"))}
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
            env={**env, **settings, "TWEETCHAT_DATABASE": str(tmp_path / "t.db"),
                 "TWEETCHAT_DATA_DIR": str(REPO / "data"), "PYTHONPATH": str(REPO)})
        names: list[str] = []
        async with aiohttp.ClientSession(headers={"Authorization": f"Bot {settings['DISCORD_TOKEN']}"}) as http:
            async with http.get(f"{settings['DISCORD_API_BASE_URL']}/oauth2/applications/@me") as r:
                app_id = (await r.json())["id"]
            commands = (f"{settings['DISCORD_API_BASE_URL']}/applications/{app_id}/guilds/"
                        f"{settings['TWEETCHAT_DEV_GUILD']}/commands")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "tweetchat" not in names:
                async with http.get(commands) as r:
                    names = [c["name"] for c in await r.json()]
                if bot.returncode is not None:
                    break
                await asyncio.sleep(0.2)
        assert {"tweetchat", "guidance"} <= set(names), (await bot.stderr.read(4000)).decode()
        assert bot.returncode is None, "the bot stopped"
    finally:
        if bot is not None and bot.returncode is None:
            bot.send_signal(signal.SIGINT)
            await asyncio.wait_for(bot.wait(), TIMEOUT * 3)
        sandbox.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(sandbox.wait(), TIMEOUT) == 0
