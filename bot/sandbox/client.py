"""Point an unmodified discord.py at a sandbox (the only sandbox module importing discord).

discord.py reads its REST base from ``discord.http.Route.BASE`` and its gateway from
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``; both are class attributes, so this
affects every client in the process until :func:`restore_discord` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord.gateway
import discord.http
import yarl

if TYPE_CHECKING:
    from .server import Sandbox

_ORIGINAL = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def point_discord_at(sandbox: "Sandbox") -> None:
    """Send discord.py's REST calls and gateway connections to ``sandbox``."""
    discord.http.Route.BASE = sandbox.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sandbox.gateway_url)


def restore_discord() -> None:
    """Point discord.py back at discord.com."""
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = _ORIGINAL
