"""A direct message to a member, sent at most once: the one way the bot DMs members
something they asked for (reminders, CPD records)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import aiohttp
import discord

if TYPE_CHECKING:
    from bot.app import TweetchatBot

# Refusals that pass (a rate limit, Discord down, the network): worth trying again later.
PASSING = (discord.HTTPException, aiohttp.ClientError, TimeoutError)


async def dm_once(bot: "TweetchatBot", user_id: int, claim: Callable[[], bool],
                  outcome: Callable[[str | None], None], **message) -> str:
    """Send `message` (discord.py's ``send`` arguments) to a member by DM, unless `claim()`
    says they had it already ("sent already"). The claim is taken before sending, so a
    crash never sends it twice; what happened is recorded with `outcome`: "sent", "dms
    closed" (passed over, nobody told) or "no such user", each returned too. For a passing
    refusal the claim is given back (``outcome(None)``) and the error raised, so a retry
    sends it."""
    if not claim():
        return "sent already"
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        await user.send(allowed_mentions=discord.AllowedMentions.none(), **message)
    except discord.Forbidden:
        result = "dms closed"
    except discord.NotFound:
        result = "no such user"
    except PASSING:
        outcome(None)
        raise
    else:
        result = "sent"
    outcome(result)
    return result
