"""Collecting answers: gateway events into the answer writer, and history fetched after
downtime so that nothing posted while the bot was away is lost."""

from __future__ import annotations

import collections
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

from bot.answers import MessageDeleted, MessageEdited, MessageSeen
from bot.store import Chat, ChatState

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

# Chats that ended longer ago than this are not re-read after a restart.
BACKFILL_WINDOW = timedelta(hours=24)
HISTORY_MARGIN = timedelta(seconds=5)


def attachments_of(message: discord.Message) -> list[dict]:
    """Attachment metadata we keep (never the file itself)."""
    return [
        {"id": a.id, "filename": a.filename, "size": a.size, "content_type": a.content_type,
         "url": a.url}
        for a in message.attachments
    ]


def seen(message: discord.Message) -> MessageSeen | None:
    if message.guild is None:
        return None
    reply_to = message.reference.message_id if message.reference else None
    return MessageSeen(
        guild_id=message.guild.id, channel_id=message.channel.id, message_id=message.id,
        author_id=message.author.id, author_name=message.author.display_name,
        author_is_bot=message.author.bot or message.webhook_id is not None,
        content=message.content, created_at=message.created_at, edited_at=message.edited_at,
        reply_to=reply_to, attachments=attachments_of(message),
    )


class Answers(commands.Cog):
    """Listens for messages, edits and deletions; backfills after downtime."""

    # The watchdog: a step the bot posted must come back to it over the gateway. If one
    # posted this long ago never did, the gateway has gone quiet without closing.
    STALE_AFTER = timedelta(seconds=30)
    WATCH_BACK = timedelta(minutes=15)
    COOLDOWN = timedelta(minutes=1)

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot
        self._own_seen: collections.deque[int] = collections.deque(maxlen=5000)
        self._last_rescue: datetime | None = None
        self.rescues = 0

    async def cog_load(self) -> None:
        self.bot.message_readers.append(self.read)
        self.watchdog.start()

    async def cog_unload(self) -> None:
        self.bot.message_readers.remove(self.read)
        self.watchdog.cancel()

    @tasks.loop(seconds=15)
    async def watchdog(self) -> None:
        """During a running chat, notice a gateway that stopped delivering events (our
        own posts do not come back), reconnect, and read back what was missed."""
        now = datetime.now(timezone.utc)  # real time: Discord's timestamps are real
        if self._last_rescue and now - self._last_rescue < self.COOLDOWN:
            return
        missing = [
            step for guild in self.bot.guilds
            for chat in self.bot.store.chats(guild.id, (ChatState.RUNNING,))
            for step in self.bot.store.steps(guild.id, chat.id)
            if step.message_id and step.posted_at
            and now - self.WATCH_BACK < step.posted_at < now - self.STALE_AFTER
            and step.message_id not in self._own_seen
        ]
        if not missing:
            return
        self._last_rescue = now
        self.rescues += 1
        self._own_seen.extend(s.message_id for s in missing)  # one rescue per silence
        log.warning("watchdog: %d of the bot's own posts never came back over the gateway "
                    "(the oldest %.0f s ago); reconnecting and reading back what was missed",
                    len(missing), (now - min(s.posted_at for s in missing)).total_seconds())
        for shard in list(self.bot.shards.values()):
            try:
                await shard.reconnect()
            except Exception as exc:  # noqa: BLE001 - the backfill below still runs
                log.warning("watchdog: shard %s did not reconnect: %s", shard.id, exc)
        await self.backfill()

    @watchdog.before_loop
    async def _ready_first(self) -> None:
        await self.bot.wait_until_ready()

    @watchdog.error
    async def _watchdog_failed(self, error: BaseException) -> None:
        log.error("watchdog stopped by %s; starting it again", error, exc_info=error)
        self.watchdog.restart()

    def read(self, message: discord.Message) -> None:
        """Every arriving message (TweetchatBot.message_readers): a member's goes to the
        writer, which decides whether it is an answer."""
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            self._own_seen.append(message.id)
        event = seen(message)
        if event is not None and not event.author_is_bot:
            self.bot.writer.submit(event)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data = payload.data
        if payload.guild_id is None or "content" not in data or not data.get("edited_timestamp"):
            return  # embeds resolving, pins...: not an edit by the member
        self.bot.writer.submit(MessageEdited(
            payload.guild_id, payload.message_id, data["content"],
            datetime.fromisoformat(data["edited_timestamp"]),
            [{"id": int(a["id"]), "filename": a["filename"], "size": a["size"],
              "content_type": a.get("content_type"), "url": a["url"]}
             for a in data.get("attachments", [])],
        ))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            self.bot.writer.submit(MessageDeleted(payload.guild_id, payload.message_id,
                                                  self.bot.now()))

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            for message_id in payload.message_ids:
                self.bot.writer.submit(MessageDeleted(payload.guild_id, message_id, self.bot.now()))

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # After start, and after a reconnect that could not resume: read what we missed.
        await self.backfill()

    async def backfill(self) -> int:
        """Fetch the history of every running or recently ended chat's threads and channel
        and hand every message to the writer (it ignores what it already has); mark
        answers that are gone from Discord as withdrawn. Returns messages read."""
        read = 0
        since = self.bot.now() - BACKFILL_WINDOW
        for guild in self.bot.guilds:
            for chat in self.bot.store.chats(guild.id, (ChatState.RUNNING, ChatState.PAUSED,
                                                        ChatState.FINISHED)):
                if chat.state is ChatState.FINISHED and (chat.ended_at or since) < since:
                    continue
                try:
                    read += await self._backfill_chat(chat)
                except discord.HTTPException as exc:
                    log.warning("chat %s: could not read history: %s", chat.id, exc)
        await self.bot.writer.flush()
        if read:
            log.info("backfill: read %d messages", read)
        return read

    async def _backfill_chat(self, chat: Chat) -> int:
        read = 0
        steps = self.bot.store.steps(chat.guild_id, chat.id)
        opened = self.bot.store.opened_at(chat.guild_id, chat.id)
        if opened is None:
            return 0
        # A posted question whose thread is not recorded yet may have one all the same:
        # a thread started from a message has the message's id.
        places = [s.thread_id or s.message_id for s in steps
                  if s.thread_id or (s.kind.value == "question" and s.message_id)]
        places.append(chat.channel_id)
        reading_from: dict[int, int] = {}
        present: dict[int, set[int]] = {}  # channel read -> member messages still there
        for channel_id in places:
            channel = self.bot.get_channel(channel_id)
            if channel is None:
                try:
                    channel = await self.bot.fetch_channel(channel_id)
                except discord.NotFound:
                    continue
            after = opened - timedelta(seconds=1) if channel_id == chat.channel_id else None
            present[channel_id] = set()
            # Messages newer than this may be missing from the history we read only
            # because they arrived live meanwhile: never judge them deleted (real time,
            # as Discord's ids are, with a margin for clock drift).
            reading_from[channel_id] = discord.utils.time_snowflake(
                datetime.now(timezone.utc) - HISTORY_MARGIN)
            async for message in channel.history(limit=None, after=after, oldest_first=True):
                event = seen(message)
                if event is not None and not event.author_is_bot:
                    present[channel_id].add(message.id)
                    self.bot.writer.submit(event)
                    read += 1
        # Stored answers gone from a channel we could read were deleted meanwhile.
        for answer in self.bot.store.answers(chat.guild_id, chat.id):
            still_there = present.get(answer["channel_id"])
            if (still_there is not None and answer["message_id"] not in still_there
                    and answer["message_id"] < reading_from[answer["channel_id"]]):
                self.bot.writer.submit(MessageDeleted(chat.guild_id, answer["message_id"],
                                                      self.bot.now()))
        return read


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(Answers(bot))
