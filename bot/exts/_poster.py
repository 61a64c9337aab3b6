"""The dispatcher's poster on Discord: sends step posts, finds them after a crash, opens
question threads, and carries out the chat actions: the Scheduled Event started and
ended, the threads archived, the record posted."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.chat.posts import Post, event_url, reminder_dm
from bot.exts._files import post_record
from bot.exts._dm import PASSING, dm_once
from bot.exts.cpd import send_records_after
from bot.run.dispatcher import PostFailed, Published, action_marker
from bot.store import Chat, ChatActionKind, ChatState
from bot.chat.timeline import StepKind

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

THREAD_ALREADY_CREATED = 160004  # Discord's code: a thread already exists for this message
THREAD_ARCHIVE_MINUTES = 1440


def _buttons(buttons: tuple[tuple[str, str], ...]) -> discord.ui.View:
    """A post's buttons; their custom ids are answered by the extension that owns them
    (related guidance: the guidance extension's entry buttons)."""
    view = discord.ui.View(timeout=None)
    for label, custom_id in buttons:
        view.add_item(discord.ui.Button(label=label, custom_id=custom_id,
                                        style=discord.ButtonStyle.secondary))
    return view


def failure(exc: discord.HTTPException, what: str) -> PostFailed:
    """A Discord refusal as a PostFailed with a reason a moderator can act on."""
    if isinstance(exc, discord.Forbidden):
        return PostFailed(f"{what}: the bot lacks a permission ({exc.text}); give it View "
                          "Channel, Send Messages, Embed Links, Create Public Threads, Send "
                          "Messages in Threads, Manage Threads and Manage Events there",
                          permanent=True)
    if isinstance(exc, discord.NotFound):
        return PostFailed(f"{what}: Discord says it no longer exists ({exc.text})", permanent=True)
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
                raise PostFailed(f"channel {channel_id} no longer exists", permanent=True) from None
            except discord.HTTPException as exc:
                raise failure(exc, "fetching the channel") from None
        return channel  # type: ignore[return-value]

    async def _guild(self, guild_id: int) -> discord.Guild:
        """The server from the cache, or (a server of another process's shard, taken over
        after that process died) from Discord."""
        guild = self.bot.get_guild(guild_id)
        if guild is not None:
            return guild
        try:
            return await self.bot.fetch_guild(guild_id)
        except discord.NotFound:
            raise PostFailed(f"the bot is no longer in server {guild_id}", permanent=True) from None
        except discord.HTTPException as exc:
            raise failure(exc, "fetching the server") from None

    async def publish(self, channel_id: int, post: Post, nonce: str) -> Published:
        channel = await self._channel(channel_id)
        try:
            options = {"view": _buttons(post.buttons)} if post.buttons else {}
            # Nothing pings, except a server's reminder role in "starting soon".
            mentions = (discord.AllowedMentions(everyone=False, users=False, replied_user=False,
                                                roles=[discord.Object(post.ping_role)])
                        if post.ping_role else discord.AllowedMentions.none())
            message = await channel.send(
                content=post.content,
                embed=discord.Embed.from_dict(post.embed),
                nonce=nonce,  # discord.py adds enforce_nonce: Discord refuses a duplicate
                allowed_mentions=mentions,
                **options,
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

    async def notify_host(self, chat: Chat, text: str) -> None:
        """A direct message to the moderator who scheduled the chat (their DMs may be
        closed: then only the log and `/tweetchat status` say it)."""
        if chat.created_by is None:
            return
        user = self.bot.get_user(chat.created_by) or await self.bot.fetch_user(chat.created_by)
        await user.send(text, allowed_mentions=discord.AllowedMentions.none())

    async def chat_action(self, chat: Chat, kind: ChatActionKind) -> str | None:
        if kind is ChatActionKind.ANNOUNCE:
            return await self.create_event(chat)
        if kind is ChatActionKind.REMIND:
            return await self.remind_members(chat)
        if kind is ChatActionKind.CPD_RECORDS:
            await self.bot.writer.flush()  # answers still queued belong in the records
            try:
                return await send_records_after(self.bot, self.bot.store.chat(chat.guild_id, chat.id))
            except discord.HTTPException as exc:
                raise failure(exc, "sending CPD records") from None
        if kind is ChatActionKind.EVENT_START:
            return await self._event(chat, end=False)
        if kind is ChatActionKind.EVENT_END:
            return await self._event(chat, end=True)
        settings = self.bot.store.server_settings(chat.guild_id)
        if kind is ChatActionKind.ARCHIVE_THREADS:
            if not settings.archive_threads:
                return "the server keeps threads open"
            return await self._archive_threads(chat)
        if not settings.share_record:
            return "the server posts the record only on request"
        await self.bot.writer.flush()  # answers still queued belong in the record
        channel = await self._channel(chat.channel_id)
        wrap_up = next((s for s in self.bot.store.steps(chat.guild_id, chat.id)
                        if s.kind is StepKind.WRAP_UP and s.message_id), None)
        try:
            await post_record(channel, self.bot.store, chat,
                              wrap_up_message_id=wrap_up.message_id if wrap_up else None,
                              marker=action_marker(chat.id, kind))
        except discord.HTTPException as exc:
            raise failure(exc, "posting the record") from None
        return None

    async def create_event(self, chat: Chat) -> str | None:
        """Give a chat its Discord Scheduled Event (members mark it "interested" and see
        it in the server's Events). Safe to repeat: an Event already made for the chat
        (found by the marker its description ends with, after a crash between Discord
        making it and the store recording it) is used, not made twice."""
        chat = self.bot.store.chat(chat.guild_id, chat.id)
        if chat.state is not ChatState.SCHEDULED:
            return f"the chat is {chat.state.value}: no Event needed"
        if chat.scheduled_event_id:
            return "the Event was made already"
        guild = await self._guild(chat.guild_id)
        channel = await self._channel(chat.channel_id)
        d = chat.definition
        mark = f"(tweetchat #{chat.id})"
        steps = self.bot.store.steps(chat.guild_id, chat.id)
        try:
            event = next((e for e in await guild.fetch_scheduled_events(with_counts=False)
                          if (e.description or "").endswith(mark)), None)
            if event is None:
                text = (d.description or d.intro)[: 1000 - len(mark) - 2].rstrip()
                event = await guild.create_scheduled_event(
                    name=d.title[:100], start_time=chat.start_at, end_time=steps[-1].due_at,
                    entity_type=discord.EntityType.external,
                    location=f"#{getattr(channel, 'name', 'tweetchat')}"[:100],
                    privacy_level=discord.PrivacyLevel.guild_only,
                    description=f"{text}\n\n{mark}")
        except discord.HTTPException as exc:
            raise failure(exc, "creating the Scheduled Event") from None
        self.bot.store.set_chat_discord_ids(chat.guild_id, chat.id, scheduled_event_id=event.id)
        return None

    async def remind_members(self, chat: Chat) -> str | None:
        """DM a reminder to each member who marked the chat's Event interested or turned
        reminders on, once each (a member is noted before the DM goes, so a crash never
        sends a second one). A member whose DMs are closed is passed over silently; a
        passing refusal (a rate limit, Discord down) gives the member back to be tried
        again when the action is retried."""
        store = self.bot.store
        chat = store.chat(chat.guild_id, chat.id)
        if chat.state not in (ChatState.SCHEDULED, ChatState.RUNNING):
            return f"the chat is {chat.state.value}: no reminders"
        guild = await self._guild(chat.guild_id)
        wanted = set(store.reminder_optins(chat.guild_id))
        if chat.scheduled_event_id:
            try:
                event = await guild.fetch_scheduled_event(chat.scheduled_event_id)
                wanted |= {user.id async for user in event.users()}
            except discord.NotFound:
                pass  # the Event was deleted in Discord: only those who opted in
            except discord.HTTPException as exc:
                raise failure(exc, "reading who is interested in the Event") from None
        wanted.discard(self.bot.user.id if self.bot.user else 0)
        event = event_url(chat.guild_id, chat.scheduled_event_id) if chat.scheduled_event_id else None
        embed = discord.Embed.from_dict(reminder_dm(
            chat.definition, starts=chat.start_at, event=event,
            channel_url=f"https://discord.com/channels/{chat.guild_id}/{chat.channel_id}"))
        sent = closed = 0
        passing: list[PostFailed] = []
        for user_id in sorted(wanted):
            try:
                result = await dm_once(
                    self.bot, user_id,
                    claim=lambda: store.claim_reminder(chat.guild_id, chat.id, user_id, self.bot.now()),
                    outcome=lambda r: store.reminder_outcome(chat.guild_id, chat.id, user_id, r),
                    embed=embed)
            except PASSING as exc:
                passing.append(failure(exc, "sending a reminder") if isinstance(exc, discord.HTTPException)
                               else PostFailed(f"sending a reminder: {exc}"))
                continue
            sent += result == "sent"
            closed += result == "dms closed"
        if passing:
            raise PostFailed(f"{len(passing)} reminders not sent yet ({passing[0].reason})",
                             retry_after=max((p.retry_after or 0) for p in passing) or None)
        return f"{sent} reminded by DM" + (f", {closed} with DMs closed" if closed else "")

    async def _event(self, chat: Chat, *, end: bool) -> str | None:
        """Start (or end) the chat's Scheduled Event. Each call uses the event object
        Discord returned from the previous one: discord.py's objects are not updated in
        place."""
        event_id = self.bot.store.chat(chat.guild_id, chat.id).scheduled_event_id
        if not event_id:
            return "no Scheduled Event"
        guild = await self._guild(chat.guild_id)
        try:
            event = await guild.fetch_scheduled_event(event_id)
            if event.status is discord.EventStatus.scheduled:
                event = await event.start(reason="tweetchat started")
            if end and event.status is discord.EventStatus.active:
                event = await event.end(reason="tweetchat ended")
        except discord.NotFound:
            return "the Scheduled Event was deleted in Discord"
        except discord.HTTPException as exc:
            raise failure(exc, "updating the Scheduled Event") from None
        return None if event.status in (discord.EventStatus.active, discord.EventStatus.completed) \
            else f"the Scheduled Event is {event.status.name}"

    async def _archive_threads(self, chat: Chat) -> str | None:
        """Archive and lock every question thread; one that fails does not stop the
        others, and the action is retried for those left."""
        failed = []
        for step in self.bot.store.steps(chat.guild_id, chat.id):
            if step.kind is not StepKind.QUESTION or step.thread_id is None:
                continue
            try:
                thread = self.bot.get_channel(step.thread_id) or await self.bot.fetch_channel(step.thread_id)
                if not (getattr(thread, "archived", False) and getattr(thread, "locked", False)):
                    await thread.edit(archived=True, locked=True, reason="tweetchat ended")  # type: ignore[union-attr]
            except discord.NotFound:
                continue  # deleted by a moderator: nothing to archive
            except discord.HTTPException as exc:
                failed.append(failure(exc, f"archiving the Q{step.question} thread"))
        if failed:
            raise PostFailed("; ".join(f.reason for f in failed),
                             retry_after=max((f.retry_after or 0) for f in failed) or None)
        return None
