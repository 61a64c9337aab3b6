"""The `/tweetchat` moderator commands: schedule, start, pause, resume, skip, extend, stop,
cancel, status, new, config, and the record of a chat: transcript, stats.

The group is limited to members with Manage Events (Discord enforces
`default_member_permissions`); a server may also name a host role whose members can use
it. Every reply is ephemeral; every change is made by `bot.run.control` (the core) and audited
there with who did it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat import (
    ChatDefinition, ChatFileError, chat_files, chat_from_data, load_chat_file, parse_chat,
)
from bot import discord_limits as limits
from bot.run.control import ChatStateError, InputError, Preview
from bot.exts._choices import matching
from bot.exts._confirm import ConfirmView
from bot.exts._replies import moderators_only, report_error
from bot.exts._files import FORMAT_NAMES, RecordTooLarge, stats_message, transcript_file
from bot.chat.posts import COLOUR, plural, reading_list, shorten, timestamp
from bot.chat.recurrence import RepeatError, parse_repeat
from bot.run.series import HORIZON, MODES, SeriesOutcome, SeriesPreview, Upcoming
from bot.chat.timeline import StartTimeError, step_label
from bot.run.dispatcher import ACTION_NAMES, PostFailed
from bot.record.privacy import MAX_RETENTION_DAYS
from bot.store import (
    ACTIVE_CHAT_STATES, Chat, Series, SeriesState, StepState, StoreError, from_db,
)
from bot.chat.zones import UnknownTimeZone, suggest_zones

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

# What the bot needs in a chat channel, with the names moderators see in Discord.
NEEDED_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "create_public_threads": "Create Public Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "read_message_history": "Read Message History",
}
PEOPLE_ERRORS = (ChatStateError, InputError, StartTimeError, UnknownTimeZone, StoreError, ChatFileError,
                 RecordTooLarge, RepeatError)


def missing_permissions(channel: discord.abc.GuildChannel, me: discord.Member) -> list[str]:
    """The permissions the bot lacks in a channel, by their Discord names."""
    granted = channel.permissions_for(me)
    return [label for attr, label in NEEDED_PERMISSIONS.items() if not getattr(granted, attr)]


def preview_embed(preview: Preview, channel: discord.abc.GuildChannel) -> discord.Embed:
    """Every step of a chat as Discord timestamps (each reader sees their own time)."""
    d = preview.definition
    embed = discord.Embed(title=f"Schedule: {d.title}", colour=COLOUR)
    lines = []
    for step in preview.steps:
        lines.append(f"**{step.label}** · {timestamp(step.due, 'F')} ({timestamp(step.due, 'R')})")
    embed.description = (
        f"In {channel.mention}, starting {timestamp(preview.start.instant, 'F')} "
        f"({preview.start.zone.key}, {preview.start.local:%H:%M %Z}).\n\n" + "\n".join(lines)
    )
    if preview.start.note:
        embed.add_field(name="Note", value=preview.start.note, inline=False)
    embed.set_footer(text="Nothing is scheduled until you press Confirm.")
    return embed


def series_preview_embed(preview: SeriesPreview, channel: discord.abc.GuildChannel) -> discord.Embed:
    """A series before Confirm: its rule, its first dates (each reader's own time) and end."""
    first = preview.upcoming[0]
    local = first.start.astimezone(preview.first.zone)
    embed = discord.Embed(title=f"Series: {preview.definition.title}"[: limits.EMBED_TITLE], colour=COLOUR)
    end = (f"after {plural(preview.count, 'chat')}" if preview.count else
           f"on {preview.until:%a %d %b %Y}" if preview.until else "not set (end it any time)")
    embed.description = (
        f"In {channel.mention}, {preview.repeat.describe()} at {local:%H:%M} "
        f"{preview.first.zone.key} time (the same local hour when the clocks change).\n"
        f"Chats: **{MODES[preview.mode]}**. End: **{end}**.")
    embed.add_field(name="First dates", inline=False, value="\n".join(
        f"{timestamp(o.start, 'F')} ({timestamp(o.start, 'R')})" + (f" · {o.note}" if o.note else "")
        for o in preview.upcoming))
    embed.set_footer(text=f"The next {HORIZON} chats are scheduled at once, each with its Discord "
                          "Event; later ones as the dates come near. Nothing is created until "
                          "you press Confirm.")
    return embed


def upcoming_embed(series: Series, upcoming: list[Upcoming]) -> discord.Embed:
    """What a series will run next, date by date (the number is what skip and swap take)."""
    embed = discord.Embed(title=f"Series #{series.id}: {series.title}"[: limits.EMBED_TITLE],
                          colour=COLOUR)
    if series.state is not SeriesState.ACTIVE:
        embed.description = f"This series has {series.state.value}; nothing more will be scheduled."
        return embed
    lines = []
    for u in upcoming:
        what = f"**{discord.utils.escape_markdown(u.title)}** · " if u.title else ""
        lines.append(f"`{u.occurrence.number}` {timestamp(u.occurrence.start, 'F')} "
                     f"({timestamp(u.occurrence.start, 'R')}) · {what}{u.status}")
    embed.description = (f"{parse_repeat(series.repeat).describe().capitalize()}, "
                         f"in <#{series.channel_id}>.\n\n" + "\n".join(lines))[: limits.EMBED_DESCRIPTION]
    embed.set_footer(text="Skip or swap one with /tweetchat series skip or swap and its number; "
                          "end the series with /tweetchat series end.")
    return embed


SAVED = "saved:"  # autocomplete values of chats saved with /tweetchat new


class NewChatModal(discord.ui.Modal, title="New tweetchat"):
    """A chat typed in Discord: title, intro, questions one per line, interval, wrap-up."""

    chat_title = discord.ui.TextInput(label="Title", max_length=200)
    intro = discord.ui.TextInput(label="Intro (posted at the start)", style=discord.TextStyle.paragraph,
                                 max_length=3000)
    questions = discord.ui.TextInput(label="Questions, one per line", style=discord.TextStyle.paragraph,
                                     max_length=4000)
    interval = discord.ui.TextInput(label="Minutes between questions", default="10", max_length=5)
    wrap_up = discord.ui.TextInput(label="Wrap-up (posted at the end)", style=discord.TextStyle.paragraph,
                                   max_length=3000, default="Thank you all for taking part!")

    def __init__(self, cog: "TweetchatCommands") -> None:
        super().__init__()
        self.cog = cog

    def definition(self) -> ChatDefinition:
        lines = [line.strip() for line in self.questions.value.splitlines() if line.strip()]
        try:
            interval = float(self.interval.value.strip())
        except ValueError:
            raise InputError(f"{self.interval.value!r} is not a number of minutes") from None
        return chat_from_data({
            "title": self.chat_title.value, "intro": self.intro.value,
            "wrap_up": self.wrap_up.value, "schedule": {"interval_minutes": interval},
            "questions": [{"number": i, "text": text} for i, text in enumerate(lines, 1)],
        }, "your new chat")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            definition = self.definition()
        except ChatFileError as exc:
            problems = "\n".join(f"• {p.field}: {p.message}" for p in exc.problems)
            await interaction.response.send_message(
                f"⚠️ The chat was not saved:\n{problems}", ephemeral=True)
            return
        except InputError as exc:
            await interaction.response.send_message(f"⚠️ The chat was not saved: {exc}", ephemeral=True)
            return
        bot = self.cog.bot
        bot.control.save_chat(interaction.guild_id, definition, actor_id=interaction.user.id)
        await interaction.response.send_message(
            f"✅ Saved **{definition.title}** ({len(definition.questions)} questions, every "
            f"{definition.schedule.interval_minutes:g} min). Schedule it with `/tweetchat schedule`; "
            "it is offered in the chat list.", ephemeral=True)


@app_commands.guild_only()
@app_commands.default_permissions(manage_events=True)
class TweetchatCommands(commands.GroupCog, group_name="tweetchat",
                        group_description="Run structured tweetchats in this server"):
    """Moderator commands."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot
        super().__init__()

    # -- checks and errors ---------------------------------------------------------------

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await moderators_only(self.bot, interaction)

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error, PEOPLE_ERRORS)

    # -- autocomplete ----------------------------------------------------------------------

    def _chat_files(self) -> dict[str, Path]:
        return {p.stem: p for p in chat_files(self.bot.data_dir / "chats")}

    async def _chat_choices(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]:
        def options():
            for saved_id, definition in self.bot.store.saved_chats(interaction.guild_id):
                yield f"{definition.title} (saved in this server)", f"{SAVED}{saved_id}"
            for stem, path in self._chat_files().items():
                try:
                    title = load_chat_file(path).title
                except ChatFileError:
                    continue
                # A choice's value is at most 100 characters: a longer file name is sent
                # cut, and _definition finds the one file it begins.
                yield f"{title} ({stem})", stem[: limits.CHOICE_VALUE]
        return matching(options(), current)

    async def _zone_choices(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in suggest_zones(current, limit=25)]

    @staticmethod
    def _chat_id_choices(chats, current: str, when: str) -> list[app_commands.Choice[int]]:
        """Chats whose label contains what was typed; `when` formats the start time."""
        return matching(((f"#{c.id} {c.title} ({c.state.value}, {c.start_at:{when}})", c.id)
                         for c in chats), current)

    async def _active_chat_choices(self, interaction: discord.Interaction,
                                   current: str) -> list[app_commands.Choice[int]]:
        return self._chat_id_choices(self.bot.store.chats(interaction.guild_id, ACTIVE_CHAT_STATES),
                                     current, "%d %b %H:%M UTC")

    async def _any_chat_choices(self, interaction: discord.Interaction,
                                current: str) -> list[app_commands.Choice[int]]:
        """Every chat of the server, the latest first (for its record)."""
        return self._chat_id_choices(
            reversed(self.bot.store.chats(interaction.guild_id, limit=1000)), current, "%d %b %Y")

    # -- schedule ---------------------------------------------------------------------------

    async def _definition(self, guild_id: int, chat: str | None,
                          file: discord.Attachment | None) -> ChatDefinition:
        if file is not None:
            if file.size > 100_000:
                raise InputError("that chat file is over 100 KB; is it the right file?")
            text = (await file.read()).decode("utf-8", errors="replace")
            return parse_chat(text, file.filename)
        if chat and chat.startswith(SAVED):
            saved = dict(self.bot.store.saved_chats(guild_id))
            key = chat[len(SAVED):]
            if key.isdigit() and int(key) in saved:
                return saved[int(key)]
        files = self._chat_files()
        path = files.get(chat or "")
        if path is None and chat and len(chat) == limits.CHOICE_VALUE:
            longer = [p for stem, p in files.items() if stem.startswith(chat)]
            path = longer[0] if len(longer) == 1 else None
        if path is None:
            raise InputError(f"there is no chat file called {chat!r}; pick one from the list "
                                 "or attach a chat file")
        return load_chat_file(path)

    async def _may_post_in(self, interaction: discord.Interaction, channel: discord.TextChannel,
                           what: str) -> bool:
        """True if the bot has what it needs in `channel`; else the moderator is told which
        permissions to give, and nothing is done."""
        missing = missing_permissions(channel, interaction.guild.me)
        if missing:
            await interaction.response.send_message(
                f"⚠️ I can't run {what} in {channel.mention}: I'm missing **{', '.join(missing)}** "
                "there. Give me those permissions (channel settings > Permissions) and try again.",
                ephemeral=True)
        return not missing

    def _zone(self, typed: str | None, settings, definition: ChatDefinition) -> str:
        """The zone a chat is planned in: the one typed, the server's, the chat file's, the bot's."""
        return (typed or settings.timezone or definition.schedule.timezone
                or self.bot.settings.default_timezone)

    @app_commands.command(name="schedule", description="Schedule a tweetchat in a channel")
    @app_commands.describe(
        chat="the chat to run (or attach a file instead)", channel="where to run it",
        when='local start: "8pm Friday", "tomorrow 7.30pm", "next Monday 8pm" or 2026-12-07 20:00',
        timezone="IANA time zone, e.g. Europe/London (default: the server's)",
        interval="minutes between questions (default: the chat file's)",
        file="a chat file (.toml) to use instead of a saved chat",
    )
    @app_commands.autocomplete(chat=_chat_choices, timezone=_zone_choices)
    async def schedule(self, interaction: discord.Interaction, channel: discord.TextChannel,
                       when: str, chat: str | None = None, timezone: str | None = None,
                       interval: app_commands.Range[float, 0.5, 240.0] | None = None,
                       file: discord.Attachment | None = None) -> None:
        if not await self._may_post_in(interaction, channel, "a chat"):
            return
        definition = await self._definition(interaction.guild_id, chat, file)
        settings = self.bot.store.server_settings(interaction.guild_id)
        tz = self._zone(timezone, settings, definition)
        preview = self.bot.control.preview(definition, when, tz,
                                           interval_minutes=interval,
                                           reminder_minutes=settings.reminder_lead_minutes)
        view = ConfirmView(interaction.user.id)
        await interaction.response.send_message(embed=preview_embed(preview, channel), view=view,
                                                ephemeral=True)
        if not await self._confirmed(interaction, view, "Nothing was scheduled"):
            return
        try:
            outcome = self.bot.control.schedule(interaction.guild_id, channel.id, preview,
                                                actor_id=interaction.user.id)
        except ChatStateError as exc:
            await view.interaction.response.edit_message(content=f"⚠️ {exc}", embed=None, view=None)
            return
        if timezone:  # the zone a moderator picks becomes the server's default (audited)
            self.bot.control.configure(interaction.guild_id, actor_id=interaction.user.id,
                                       timezone=timezone)
        log.info("%s scheduled chat %s in guild %s", interaction.user, outcome.chat.id,
                 interaction.guild_id)
        await view.interaction.response.edit_message(
            content=f"✅ {outcome.message} It starts {timestamp(outcome.chat.start_at, 'F')} "
                    f"({timestamp(outcome.chat.start_at, 'R')}).", embed=None, view=None)
        await self._announce(outcome.chat, channel)

    async def _announce(self, chat: Chat, channel: discord.TextChannel) -> None:
        """Post the announcement and create the Discord Scheduled Event (best effort)."""
        d = chat.definition
        embed = discord.Embed(title=f"Coming up: {d.title}", colour=COLOUR,
                              description=d.description or None)
        embed.add_field(name="When", value=f"{timestamp(chat.start_at, 'F')} "
                                           f"({timestamp(chat.start_at, 'R')})", inline=False)
        if d.hosts:
            embed.add_field(name="Hosts", value="\n".join(d.hosts), inline=True)
        if d.guests:
            embed.add_field(name="Guests", value="\n".join(d.guests), inline=True)
        if d.reading:
            embed.add_field(name="Pre-chat reading", inline=False,
                            value=reading_list(d))
        if d.hashtag:
            embed.set_footer(text=d.hashtag)
        message_id = None
        try:
            message_id = (await channel.send(embed=embed)).id
        except discord.HTTPException as exc:
            log.warning("chat %s: announcement failed: %s", chat.id, exc)
        self.bot.store.set_chat_discord_ids(chat.guild_id, chat.id, announcement_message_id=message_id)
        try:
            await self.bot.dispatcher.poster.create_event(chat)
        except PostFailed as exc:
            log.warning("chat %s: scheduled event not created: %s", chat.id, exc.reason)

    # -- operations -------------------------------------------------------------------------

    async def _operate(self, interaction: discord.Interaction, name: str, op, *args) -> None:
        outcome = op(interaction.guild_id, *args, actor_id=interaction.user.id)
        log.info("%s (%s) ran %s on chat %s in guild %s", interaction.user, interaction.user.id,
                 name, outcome.chat.id, interaction.guild_id)
        await interaction.response.send_message(f"✅ {outcome.message}", ephemeral=True)
        await self.sync_event(interaction.guild, outcome.chat, name)

    async def sync_event(self, guild: discord.Guild, chat: Chat, operation: str) -> None:
        """Keep the chat's Discord Scheduled Event in step with the ledger (best effort;
        the chat's own actions start and end it). Each change uses the object Discord
        returned, and a start in the past is never asked for: Discord refuses it."""
        if not chat.scheduled_event_id:
            return
        steps = self.bot.store.steps(chat.guild_id, chat.id)
        intro = next(s for s in steps if s.kind.value == "intro")
        now = self.bot.now()
        try:
            event = await guild.fetch_scheduled_event(chat.scheduled_event_id)
            if operation == "cancel":
                if event.status is discord.EventStatus.scheduled:
                    await event.cancel()
                return
            if event.status is discord.EventStatus.scheduled and (
                    intro.posted_at is not None or intro.due_at <= now):
                event = await event.start(reason="tweetchat started")
            if event.status is discord.EventStatus.scheduled:
                await event.edit(start_time=intro.due_at, end_time=steps[-1].due_at)
            elif event.status is discord.EventStatus.active:
                end = max(steps[-1].due_at, now)
                if end > event.start_time:  # Discord refuses an end before the start
                    await event.edit(end_time=end)
        except discord.HTTPException as exc:
            log.warning("chat %s: scheduled event not updated after %s: %s", chat.id, operation, exc)

    @app_commands.command(name="start", description="Start a scheduled chat now")
    @app_commands.autocomplete(chat=_active_chat_choices)
    async def start(self, interaction: discord.Interaction, chat: int) -> None:
        await self._operate(interaction, "start", self.bot.control.start_now, chat)

    @app_commands.command(name="pause", description="Pause a running chat")
    @app_commands.autocomplete(chat=_active_chat_choices)
    async def pause(self, interaction: discord.Interaction, chat: int) -> None:
        await self._operate(interaction, "pause", self.bot.control.pause, chat)

    @app_commands.command(name="resume", description="Resume a paused chat")
    @app_commands.autocomplete(chat=_active_chat_choices)
    async def resume(self, interaction: discord.Interaction, chat: int) -> None:
        await self._operate(interaction, "resume", self.bot.control.resume, chat)

    @app_commands.command(name="skip", description="Post the next question now")
    @app_commands.autocomplete(chat=_active_chat_choices)
    async def skip(self, interaction: discord.Interaction, chat: int) -> None:
        await self._operate(interaction, "skip", self.bot.control.skip_to_next_question, chat)

    @app_commands.command(name="extend", description="Push the rest of a chat back")
    @app_commands.describe(minutes="how many minutes later (1-180)")
    @app_commands.autocomplete(chat=_active_chat_choices)
    async def extend(self, interaction: discord.Interaction, chat: int,
                     minutes: app_commands.Range[int, 1, 180]) -> None:
        await self._operate(interaction, "extend", self.bot.control.extend, chat, minutes)

    @app_commands.command(name="stop", description="Wrap a running chat up now")
    @app_commands.autocomplete(chat=_active_chat_choices)
    async def stop(self, interaction: discord.Interaction, chat: int) -> None:
        await self._operate(interaction, "stop", self.bot.control.stop, chat)

    @app_commands.command(name="cancel", description="Call off a chat that has not started")
    @app_commands.autocomplete(chat=_active_chat_choices)
    async def cancel(self, interaction: discord.Interaction, chat: int) -> None:
        await self._operate(interaction, "cancel", self.bot.control.cancel, chat)

    @app_commands.command(name="new", description="Write a new chat here, without a file")
    async def new(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(NewChatModal(self))

    @app_commands.command(name="status", description="Upcoming and running chats")
    async def status(self, interaction: discord.Interaction) -> None:
        chats = self.bot.store.chats(interaction.guild_id, ACTIVE_CHAT_STATES)
        troubled = self.bot.store.troubled_chat_actions(interaction.guild_id)
        if not chats and not troubled:
            await interaction.response.send_message(
                "No chats are scheduled or running. Use `/tweetchat schedule` to plan one.",
                ephemeral=True)
            return
        embed = discord.Embed(title="Tweetchats", colour=COLOUR)
        for chat in chats[:25]:
            steps = self.bot.store.steps(chat.guild_id, chat.id)
            nxt = next((s for s in steps if s.state is StepState.PENDING), None)
            posted = sum(s.state is StepState.POSTED for s in steps)
            next_text = (f"next: {nxt.kind.value.replace('_', '-')}"
                         f"{' Q' + str(nxt.question) if nxt.question else ''} "
                         f"{timestamp(nxt.due_at, 'R')}" if nxt else "nothing left to post")
            problems = "".join(
                f"\n⚠️ {step_label(s.kind, s.question)} not posted yet: {s.last_error}"
                for s in steps if s.state is StepState.PENDING and s.last_error)
            embed.add_field(
                name=f"#{chat.id} {chat.title}"[:256],
                value=shorten(f"{chat.state.value} · in <#{chat.channel_id}> · starts "
                              f"{timestamp(chat.start_at, 'f')} · {posted}/{len(steps)} posted · "
                              f"{next_text}{problems}", limits.EMBED_FIELD_VALUE),
                inline=False)
        if troubled and len(embed.fields) < 25:
            lines = "\n".join(f"⚠️ chat #{a.chat_id}: {ACTION_NAMES[a.kind]}: {a.last_error} "
                              f"(tried {a.attempts}×; retrying by itself)" for a in troubled)
            embed.add_field(name="Waiting to be fixed", inline=False,
                            value=shorten(lines, limits.EMBED_FIELD_VALUE))
        await interaction.response.send_message(embed=embed, ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())

    # -- series -------------------------------------------------------------------------------

    series = app_commands.Group(name="series", description="Chats that repeat: weekly, fortnightly, monthly")

    async def _series_choices(self, interaction: discord.Interaction,
                              current: str) -> list[app_commands.Choice[int]]:
        return matching(((f"#{s.id} {s.title} ({parse_repeat(s.repeat).describe()})", s.id)
                         for s in self.bot.store.series_list(interaction.guild_id, (SeriesState.ACTIVE,))),
                        current)

    async def _occurrence_choices(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[int]]:
        series_id = getattr(interaction.namespace, "series", None)
        if not isinstance(series_id, int):
            return []
        try:
            upcoming = self.bot.series.upcoming(interaction.guild_id, series_id, limit=25)
            zone = self.bot.store.series(interaction.guild_id, series_id).timezone
        except StoreError:
            return []
        zone = ZoneInfo(zone)
        return matching(((f"{u.occurrence.number}: {u.occurrence.start.astimezone(zone):%a %d %b %Y %H:%M %Z}"
                          f" · {u.title or '-'} ({u.status})", u.occurrence.number) for u in upcoming),
                        current)

    async def _series_done(self, interaction: discord.Interaction, outcome: SeriesOutcome) -> None:
        """Tell the moderator, and cancel the Events of the chats the change called off
        (the chats it scheduled get theirs from the dispatcher's announce action)."""
        log.info("%s (%s) changed series %s in guild %s: %s", interaction.user, interaction.user.id,
                 outcome.series.id, interaction.guild_id, outcome.message)
        reply = f"✅ {outcome.message}"
        if outcome.scheduled:
            reply += " Scheduled: " + ", ".join(
                f"{timestamp(c.start_at, 'F')} (chat #{c.id})" for c in outcome.scheduled) + "."
        if interaction.response.is_done():
            await interaction.edit_original_response(content=reply, embed=None, view=None)
        else:
            await interaction.response.send_message(reply, ephemeral=True)
        for chat in outcome.cancelled:
            await self.sync_event(interaction.guild, chat, "cancel")

    @series.command(name="create", description="Schedule a chat that repeats")
    @app_commands.describe(
        channel="where each chat runs",
        repeat='"weekly", "every-2-weeks", "monthly-2nd-monday", "monthly-last-friday"...',
        when='the first chat\'s local start: "8pm Friday", "next Monday 8pm" or 2026-12-07 20:00',
        chat="the chat every occurrence runs (or the first of a queue)",
        file="a chat file (.toml) instead of a saved chat",
        timezone="IANA time zone, e.g. Europe/London (default: the server's)",
        count="how many chats in all (default: no limit)",
        until="the last date, YYYY-MM-DD (default: no end date)",
        mode="the same chat every time (default), or a queue of chats taken in order",
        interval="minutes between questions (default: each chat file's)",
    )
    @app_commands.choices(mode=[app_commands.Choice(name=text, value=key) for key, text in MODES.items()])
    @app_commands.autocomplete(chat=_chat_choices, timezone=_zone_choices)
    async def series_create(self, interaction: discord.Interaction, channel: discord.TextChannel,
                            repeat: str, when: str, chat: str | None = None,
                            file: discord.Attachment | None = None, timezone: str | None = None,
                            count: app_commands.Range[int, 1, 520] | None = None,
                            until: str | None = None, mode: str = "same",
                            interval: app_commands.Range[float, 0.5, 240.0] | None = None) -> None:
        if not await self._may_post_in(interaction, channel, "chats"):
            return
        definition = await self._definition(interaction.guild_id, chat, file)
        tz = self._zone(timezone, self.bot.store.server_settings(interaction.guild_id), definition)
        preview = self.bot.series.preview(definition, repeat, when, tz, count=count, until=until,
                                          mode=mode, interval_minutes=interval)
        view = ConfirmView(interaction.user.id)
        await interaction.response.send_message(embed=series_preview_embed(preview, channel),
                                                view=view, ephemeral=True)
        if not await self._confirmed(interaction, view, "Nothing was created"):
            return
        await view.interaction.response.defer()
        try:
            outcome = self.bot.series.create(interaction.guild_id, channel.id, preview,
                                             actor_id=interaction.user.id)
        except ChatStateError as exc:
            await interaction.edit_original_response(content=f"⚠️ {exc}", embed=None, view=None)
            return
        if timezone:
            self.bot.control.configure(interaction.guild_id, actor_id=interaction.user.id,
                                       timezone=timezone)
        await self._series_done(interaction, outcome)
        embed = discord.Embed(title=f"New series: {definition.title}"[: limits.EMBED_TITLE],
                              colour=COLOUR, description=definition.description or None)
        embed.add_field(name="When", inline=False, value=(
            f"{preview.repeat.describe().capitalize()}; the next: " + ", ".join(
                timestamp(c.start_at, "F") for c in outcome.scheduled)))
        embed.set_footer(text="Mark the Events as Interested to see them in your calendar.")
        try:
            await channel.send(embed=embed)
        except discord.HTTPException as exc:
            log.warning("series %s: announcement failed: %s", outcome.series.id, exc)

    async def _confirmed(self, interaction: discord.Interaction, view: ConfirmView,
                         nothing: str) -> bool:
        """Wait for Confirm; on Cancel or no answer, say that `nothing` happened."""
        return await view.confirmed_by(interaction, lambda timed_out: (
            f"{nothing} (no answer within 5 minutes)." if timed_out
            else f"Cancelled; {nothing[0].lower()}{nothing[1:]}."))

    @series.command(name="upcoming", description="A series' next dates and what each will run")
    @app_commands.describe(series="the series (leave out to list every series)")
    @app_commands.autocomplete(series=_series_choices)
    async def series_upcoming(self, interaction: discord.Interaction, series: int | None = None) -> None:
        if series is None:
            every = self.bot.store.series_list(interaction.guild_id)
            if not every:
                await interaction.response.send_message(
                    "This server has no series. Create one with `/tweetchat series create`.",
                    ephemeral=True)
                return
            embed = discord.Embed(title="Series", colour=COLOUR, description="\n".join(
                f"`#{s.id}` **{discord.utils.escape_markdown(s.title)}** · "
                f"{parse_repeat(s.repeat).describe()} in <#{s.channel_id}> · {s.state.value}"
                for s in every[-25:])[: limits.EMBED_DESCRIPTION])
            await interaction.response.send_message(embed=embed, ephemeral=True,
                                                    allowed_mentions=discord.AllowedMentions.none())
            return
        record = self.bot.store.series(interaction.guild_id, series)
        await interaction.response.send_message(
            embed=upcoming_embed(record, self.bot.series.upcoming(interaction.guild_id, series)),
            ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    @series.command(name="skip", description="Leave one date of a series out")
    @app_commands.describe(series="the series", occurrence="the date to leave out")
    @app_commands.autocomplete(series=_series_choices, occurrence=_occurrence_choices)
    async def series_skip(self, interaction: discord.Interaction, series: int, occurrence: int) -> None:
        await self._series_done(interaction, self.bot.series.skip(
            interaction.guild_id, series, occurrence, actor_id=interaction.user.id))

    @series.command(name="swap", description="Run another chat on one date of a series")
    @app_commands.describe(series="the series", occurrence="the date", chat="the chat to run then",
                           file="a chat file (.toml) instead of a saved chat")
    @app_commands.autocomplete(series=_series_choices, occurrence=_occurrence_choices,
                               chat=_chat_choices)
    async def series_swap(self, interaction: discord.Interaction, series: int, occurrence: int,
                          chat: str | None = None, file: discord.Attachment | None = None) -> None:
        definition = await self._definition(interaction.guild_id, chat, file)
        await self._series_done(interaction, self.bot.series.swap(
            interaction.guild_id, series, occurrence, definition, actor_id=interaction.user.id))

    @series.command(name="add", description="Put a chat at the end of a series' queue")
    @app_commands.describe(series="the series (one made with the queue mode)", chat="the chat",
                           file="a chat file (.toml) instead of a saved chat")
    @app_commands.autocomplete(series=_series_choices, chat=_chat_choices)
    async def series_add(self, interaction: discord.Interaction, series: int,
                         chat: str | None = None, file: discord.Attachment | None = None) -> None:
        definition = await self._definition(interaction.guild_id, chat, file)
        await self._series_done(interaction, self.bot.series.add(
            interaction.guild_id, series, definition, actor_id=interaction.user.id))

    @series.command(name="end", description="End a series: its chats not yet started are cancelled")
    @app_commands.describe(series="the series")
    @app_commands.autocomplete(series=_series_choices)
    async def series_end(self, interaction: discord.Interaction, series: int) -> None:
        record = self.bot.store.series(interaction.guild_id, series)
        view = ConfirmView(interaction.user.id, confirm_label="End the series",
                           confirm_style=discord.ButtonStyle.danger)
        await interaction.response.send_message(
            f"End **{discord.utils.escape_markdown(record.title)}**? Its chats that have not "
            "started are cancelled with their Events; a running one carries on to its wrap-up.",
            view=view, ephemeral=True)
        if not await self._confirmed(interaction, view, "Nothing was ended"):
            return
        await view.interaction.response.defer()
        await self._series_done(interaction, self.bot.series.end(
            interaction.guild_id, series, actor_id=interaction.user.id))

    # -- the record ---------------------------------------------------------------------------

    @app_commands.command(name="transcript", description="A chat's transcript as a file")
    @app_commands.describe(chat="the chat", format="the file's format (default: a web page)",
                           public="post it in this channel (default: only you get it)")
    @app_commands.choices(format=[app_commands.Choice(name=name, value=fmt)
                                  for fmt, name in FORMAT_NAMES.items()])
    @app_commands.autocomplete(chat=_any_chat_choices)
    async def transcript(self, interaction: discord.Interaction, chat: int, format: str = "html",
                         public: bool = False) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        made = await transcript_file(self.bot.store, interaction.guild_id, chat, format)
        self.bot.store.audit(interaction.guild_id, "transcript made", at=self.bot.now(),
                             actor_id=interaction.user.id, chat_id=chat, detail=format)
        await interaction.followup.send(
            f"Transcript of **{discord.utils.escape_markdown(made.title)}** "
            f"({made.answers} answers, as a {FORMAT_NAMES[format]}). Withdrawn answers and "
            "members who opted out are left out.",
            file=made.file(), ephemeral=not public)

    @app_commands.command(name="stats", description="A chat's statistics and chart")
    @app_commands.describe(chat="the chat", public="post them in this channel (default: yes)",
                           rank_members="also list the members with most answers (default: no)")
    @app_commands.autocomplete(chat=_any_chat_choices)
    async def stats(self, interaction: discord.Interaction, chat: int, public: bool = True,
                    rank_members: bool = False) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        made = await stats_message(self.bot.store, interaction.guild_id, chat,
                                   rank_members=5 if rank_members else 0)
        if rank_members:
            self.bot.store.audit(interaction.guild_id, "member ranking shown", at=self.bot.now(),
                                 actor_id=interaction.user.id, chat_id=chat)
        await interaction.followup.send(embed=made.embed, files=made.files(),
                                        ephemeral=not public)

    @app_commands.command(name="audit", description="Who did what: the latest audit log lines")
    @app_commands.describe(lines="how many of the latest lines (default 20)")
    async def audit(self, interaction: discord.Interaction,
                    lines: app_commands.Range[int, 1, 50] = 20) -> None:
        rows = self.bot.store.audit_log(interaction.guild_id, limit=lines)
        if not rows:
            await interaction.response.send_message("The audit log is empty.", ephemeral=True)
            return
        text = ""
        for r in rows:
            who = f"<@{r['actor_id']}> · " if r["actor_id"] else ""
            chat = f" · chat #{r['chat_id']}" if r["chat_id"] else ""
            detail = f": {discord.utils.escape_markdown(r['detail'])}" if r["detail"] else ""
            line = f"{timestamp(from_db(r['at']), 'f')} · {who}**{r['action']}**{chat}{detail}"
            if len(text) + len(line) + 1 > limits.EMBED_DESCRIPTION:
                break
            text += ("\n" if text else "") + line
        embed = discord.Embed(title="Audit log (newest first)", colour=COLOUR, description=text)
        embed.set_footer(text="Erasures do not name the member; deleted content is never logged.")
        await interaction.response.send_message(embed=embed, ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())

    @app_commands.command(name="config", description="This server's tweetchat defaults")
    @app_commands.describe(
        timezone="default IANA time zone", host_role="a role whose members may run chats",
        catch_up="what to do with steps missed while the bot was offline",
        archive_threads="archive and lock question threads when a chat ends",
        reminder_minutes="post a 'starting soon' reminder this many minutes before (0: no reminders at all)",
        reminder_role="ping this role (members give it themselves) in 'starting soon', instead of DMs",
        reminders_by="how members are reminded: a DM to those who asked, or the reminder role",
        confidentiality_nudge="privately DM an author whose answer may identify a patient (default: off)",
        retention_days="delete stored answers older than this many days (0: keep them)",
        share_record="post the statistics, chart and transcript after each chat's wrap-up",
    )
    @app_commands.autocomplete(timezone=_zone_choices)
    @app_commands.choices(catch_up=[app_commands.Choice(name="post late, with a note", value="post-late"),
                                    app_commands.Choice(name="skip", value="skip")],
                          reminders_by=[app_commands.Choice(name="a DM to members who asked", value="dm"),
                                        app_commands.Choice(name="pinging the reminder role", value="role")])
    async def config(self, interaction: discord.Interaction, timezone: str | None = None,
                     host_role: discord.Role | None = None, catch_up: str | None = None,
                     archive_threads: bool | None = None,
                     reminder_minutes: app_commands.Range[int, 0, 1440] | None = None,
                     retention_days: app_commands.Range[int, 0, MAX_RETENTION_DAYS] | None = None,
                     share_record: bool | None = None, reminder_role: discord.Role | None = None,
                     reminders_by: str | None = None,
                     confidentiality_nudge: bool | None = None) -> None:
        given = {"timezone": timezone, "host_role_id": host_role and host_role.id,
                 "catch_up": catch_up, "archive_threads": archive_threads,
                 "reminder_lead_minutes": reminder_minutes, "retention_days": retention_days,
                 "share_record": share_record, "reminder_role_id": reminder_role and reminder_role.id,
                 "confidentiality_nudge": confidentiality_nudge}
        changes = {name: value for name, value in given.items() if value is not None}
        if reminders_by == "dm":
            changes["reminder_role_id"] = None
        elif reminders_by == "role" and reminder_role is None and \
                not self.bot.store.server_settings(interaction.guild_id).reminder_role_id:
            raise InputError("name the role to ping with reminder_role (a role members give "
                             "themselves); nothing was changed")
        s = self.bot.control.configure(interaction.guild_id, actor_id=interaction.user.id,
                                       **changes)
        reminders = "none"
        if s.reminder_lead_minutes:
            how = (f"pinging <@&{s.reminder_role_id}>" if s.reminder_role_id
                   else "by DM to members who asked")
            reminders = f"{s.reminder_lead_minutes} min before, {how}"
        await interaction.response.send_message(
            ("✅ Saved. " if changes else "") +
            f"Time zone: **{s.timezone or self.bot.settings.default_timezone}** · host role: "
            f"{f'<@&{s.host_role_id}>' if s.host_role_id else 'none'} · catch-up: "
            f"**{s.catch_up or 'as each chat file says'}** · archive threads at the end: "
            f"**{'yes' if s.archive_threads else 'no'}** · reminder: **{reminders}**"
            f" · answers kept: **{f'{s.retention_days} days' if s.retention_days else 'until deleted'}**"
            f" · record after each chat: **{'posted' if s.share_record else 'on request'}**"
            f" · confidentiality nudge: **{'on' if s.confidentiality_nudge else 'off'}**",
            ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(TweetchatCommands(bot))

