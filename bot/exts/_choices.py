"""Autocomplete for every command group: the choices whose label contains what was typed."""

from __future__ import annotations

from typing import Iterable, TypeVar

from discord import app_commands

from bot import discord_limits as limits
from bot.chat.posts import shorten

Value = TypeVar("Value", str, int)
MAX_CHOICES = 25  # Discord shows at most 25


def matching(options: Iterable[tuple[str, Value]], typed: str) -> list[app_commands.Choice[Value]]:
    """(label, value) pairs as choices, those whose label contains `typed` (any case), in
    order, at most 25; labels are cut to Discord's 100 characters."""
    typed = typed.lower()
    out = []
    for label, value in options:
        if typed in label.lower():
            out.append(app_commands.Choice(name=shorten(label, limits.CHOICE_NAME), value=value))
            if len(out) == MAX_CHOICES:
                break
    return out
