"""The dispatcher's poster on Discord: sends step posts, finds them after a crash, opens
question threads, and archives them when a chat ends."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.chat.posts import Post
from bot.run.dispatcher import PostFailed, Published
from bot.store import Chat, Step
from bot.chat.timeline import StepKind

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

THREAD_ALREADY_CREATED = 160004  # Discord's code: a thread already exists for this message
THREAD_ARCHIVE_MINUTES = 1440


def failure(exc: discord.HTTPException, what: str) -> PostFailed:
    """A Discord refusal as a PostFailed with a reason a moderator can act on."""
    if isinstance(exc, discord.Forbidden):
        return PostFailed(f"{what}: the bot lacks a permission in that channel ({exc.text}); "
                          "give it View Channel, Send Messages, Embed Links, Create Public "
                          "Threads and Send Messages in Threads there")
    retry = None
    if exc.response is not None:
        header = exc.response.headers.get("Retry-After")
        retry = float(header) if header else None
    return PostFailed(f"{what}: Discord answered {exc.status} ({exc.text or 'no detail'})",
                      retry_after=retry)


class DiscordPoster:
    """Implements :class:`bot.runner.Poster` with discord.py."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.NotFound:
                raise PostFailed(f"channel {channel_id} no longer exists") from None
            except discord.HTTPException as exc:
                raise failure(exc, "fetching the channel") from None
        return channel  # type: ignore[return-value]

    async def publish(self, channel_id: int, post: Post, nonce: str) -> Published:
        channel = await self._channel(channel_id)
        try:
            message = await channel.send(
                content=post.content,
                embed=discord.Embed.from_dict(post.embed),
                nonce=nonce,  # discord.py adds enforce_nonce: Discord refuses a duplicate
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.DiscordServerError:
            raise  # 5xx after discord.py's own retries: outcome unknown, recovery looks
        except discord.HTTPException as exc:
            raise failure(exc, "posting") from None
        return Published(message.id, message.created_at)

    async def find_published(self, channel_id: int, marker: str,
                             since: datetime) -> Published | None:
        channel = await self._channel(channel_id)
        me = self.bot.user.id if self.bot.user else None
        async for message in channel.history(limit=None, after=since, oldest_first=True):
            if message.author.id != me or not message.embeds:
                continue
            footer = message.embeds[0].footer.text or ""
            if footer.endswith(marker):
                return Published(message.id, message.created_at)
        return None

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        channel = await self._channel(channel_id)
        try:
            thread = await channel.get_partial_message(message_id).create_thread(  # type: ignore[attr-defined]
                name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                reason="tweetchat question thread",
            )
        except discord.HTTPException as exc:
            if exc.code == THREAD_ALREADY_CREATED:
                # A thread started from a message shares the message's id.
                return message_id
            raise failure(exc, "opening the thread") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PostFailed(f"opening the thread: {exc}") from None
        return thread.id

    async def chat_finished(self, chat: Chat, steps: list[Step]) -> None:
        await self._end_event(chat)
        # Announced, not called: the record feature listens (bot.exts.record).
        self.bot.dispatch("tweetchat_chat_finished", chat)
        if not self.bot.store.server_settings(chat.guild_id).archive_threads:
            return
        for step in steps:
            if step.kind is not StepKind.QUESTION or step.thread_id is None:
                continue
            try:
                thread = self.bot.get_channel(step.thread_id) or await self.bot.fetch_channel(step.thread_id)
                await thread.edit(archived=True, locked=True, reason="tweetchat ended")  # type: ignore[union-attr]
            except discord.HTTPException as exc:
                log.warning("chat %s: could not archive thread %s: %s", chat.id, step.thread_id, exc)

    async def _end_event(self, chat: Chat) -> None:
        """Mark the chat's Scheduled Event as over (it may never have been started)."""
        record = self.bot.store.chat(chat.guild_id, chat.id)
        guild = self.bot.get_guild(chat.guild_id)
        if not record.scheduled_event_id or guild is None:
            return
        try:
            event = await guild.fetch_scheduled_event(record.scheduled_event_id)
            if event.status is discord.EventStatus.active:
                await event.end()
            elif event.status is discord.EventStatus.scheduled:
                await event.start()
                await event.end()
        except discord.HTTPException as exc:
            log.warning("chat %s: scheduled event not ended: %s", chat.id, exc)

