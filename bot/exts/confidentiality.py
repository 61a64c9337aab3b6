"""The confidentiality nudge on Discord: when a server has it on (`/tweetchat config
confidentiality_nudge:True`; off by default) and a member's new answer may identify a
patient (`bot.nudge`), the author alone gets a DM pointing at the `/guidance` entry, with
how to edit or delete the message. At most one per member per chat; never public, never a
moderator alert; nothing is stored but who was nudged in which chat. Members who opted
out of answer collection are left alone, and closed DMs are passed over silently.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot import discord_limits as limits
from bot.answers import route
from bot.chat.posts import COLOUR, shorten
from bot.exts.answers import seen
from bot.nudge import assess
from bot.store import INTRODUCTIONS

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)


class ConfidentialityNudge(commands.Cog):
    """A private word with an author whose answer may identify someone."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot
        self._tasks: set[asyncio.Task] = set()

    async def cog_load(self) -> None:
        self.bot.message_readers.append(self.read)

    async def cog_unload(self) -> None:
        self.bot.message_readers.remove(self.read)

    def read(self, message: discord.Message) -> None:
        """Every arriving message (TweetchatBot.message_readers): a DM is sent (in a task
        of its own) when the server has the nudge on and the answer may identify someone."""
        if message.guild is None or message.author.bot or message.webhook_id is not None:
            return
        store = self.bot.store
        if not store.server_settings(message.guild.id).confidentiality_nudge:
            return
        verdict = assess(message.content, [a.filename for a in message.attachments])
        if not verdict.nudge or store.is_opted_out(message.guild.id, message.author.id):
            return
        event = seen(message)
        target = route(store, event) if event is not None else None
        if target is None:
            return  # not an answer of a chat
        if not store.claim_nudge(message.guild.id, target.chat_id, message.author.id, self.bot.now()):
            return  # nudged already in this chat
        task = asyncio.create_task(self._nudge(message, target.chat_id, target.question, verdict))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _nudge(self, message: discord.Message, chat_id: int, question: int, verdict) -> None:
        chat = self.bot.store.chat(message.guild.id, chat_id)
        entry = self.bot.guidance.kb.entry(verdict.entry) if self.bot.guidance else None
        where = "introduction" if question == INTRODUCTIONS else f"answer to Q{question}"
        embed = discord.Embed(
            title="A quick, private check on your answer", colour=COLOUR,
            description=shorten(
                f"Your [{where}]({message.jump_url}) in **{discord.utils.escape_markdown(chat.title)}** "
                f"may let someone recognise a patient or client ({verdict.why.split(': ', 1)[-1]}). "
                "If it could, you can edit it (hover the message, **⋯ > Edit Message**) or delete "
                "it (**⋯ > Delete Message**); the bot keeps your edit or removes its copy too.\n\n"
                "Only you got this note: nobody else was told, and the bot keeps no copy of it.",
                limits.EMBED_DESCRIPTION))
        if entry is not None:
            embed.add_field(name=f"Guidance: {entry.title}"[: limits.EMBED_FIELD_NAME],
                            value=shorten(entry.answer, 700) + f"\n`/guidance question:{entry.title}`"[:300],
                            inline=False)
        embed.set_footer(text="Moderators turned these notes on for this server. One per chat at most.")
        try:
            await message.author.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())
        except discord.Forbidden:
            pass  # DMs closed: say so to no one
        except discord.HTTPException as exc:
            log.warning("confidentiality nudge not sent in chat %s: %s", chat_id, exc)


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(ConfidentialityNudge(bot))
