"""The record posted after a chat: when a server's `share_record` setting is on, the
statistics, chart and HTML transcript go into the chat's channel as a reply to the
wrap-up. Listens for the `tweetchat_chat_finished` event the poster dispatches."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.chat.timeline import StepKind
from bot.exts._files import RecordTooLarge, stats_message, transcript_file
from bot.store import Chat

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)


class Record(commands.Cog):
    """Posts a finished chat's record when the server asks for it."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_tweetchat_chat_finished(self, chat: Chat) -> None:
        if self.bot.store.server_settings(chat.guild_id).share_record:
            await self.share_after_wrap_up(chat)

    async def share_after_wrap_up(self, chat: Chat) -> None:
        """Post the statistics, chart and HTML transcript in the chat's channel, as a reply
        to the wrap-up (when the server's `share_record` setting is on). Best effort: the
        same is always available from `/tweetchat stats` and `/tweetchat transcript`."""
        store = self.bot.store
        wrap_up = next((s for s in store.steps(chat.guild_id, chat.id)
                        if s.kind is StepKind.WRAP_UP and s.message_id), None)
        try:
            await self.bot.writer.flush()  # answers still queued belong in the record
            stats = await stats_message(store, chat.guild_id, chat.id)
            files = stats.files()
            note = "The statistics of the chat, and its transcript to download and keep."
            try:
                files.append((await transcript_file(store, chat.guild_id, chat.id, "html")).file())
            except RecordTooLarge as exc:
                note = f"The statistics of the chat. The transcript was not attached: {exc}"
            channel = (self.bot.get_channel(chat.channel_id)
                       or await self.bot.fetch_channel(chat.channel_id))
            reference = (discord.MessageReference(message_id=wrap_up.message_id,
                                                  channel_id=chat.channel_id, fail_if_not_exists=False)
                         if wrap_up else None)
            await channel.send(note, embed=stats.embed, files=files, reference=reference,
                               allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as exc:
            log.warning("chat %s: the record was not posted after the wrap-up: %s", chat.id, exc)


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(Record(bot))
