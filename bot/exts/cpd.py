"""`/cpd`: each member's private CPD record of the chats they took part in.

After a chat's wrap-up, a member who presses **My CPD record** under it (or who turned
`/cpd on` for every chat) gets by DM a record of the chat: what it was, the pre-chat
reading, its questions, their own answers as they stand, and a reflection template
(`bot.record.cpd`). `/cpd reflect` writes the reflection in a form; `/cpd list` shows the
chats they took part in; `/cpd export` gives every record and reflection as one Markdown
and one printable HTML file. Everything here is private to the member: replies are
ephemeral, records go by DM, and reflections are never in transcripts or statistics
(`/mydata export` includes them, `/mydata delete` removes them).
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import discord_limits as limits
from bot.chat.posts import COLOUR, CPD_RECORD, shorten, timestamp
from bot.exts._choices import matching
from bot.exts._dm import PASSING, dm_once
from bot.exts._replies import report_error
from bot.record.cpd import build_cpd_record, member_records, render_cpd
from bot.store import Chat, ChatState, StoreError

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

NOT_A_PARTICIPANT = ("You have no answer in this chat, so there is no record of it for you. "
                     "Records are for members who took part.")


def _file(data: bytes, name: str) -> discord.File:
    return discord.File(io.BytesIO(data), filename=name)


async def send_record(bot: "TweetchatBot", chat: Chat, user_id: int) -> str:
    """DM a member their record of a chat, at most once: "sent", "dms closed", "not a
    participant", "sent already" or "no such user". Raises one of `PASSING` for a passing
    refusal (the claim is given back, so a retry sends it)."""
    store = bot.store
    record = build_cpd_record(store, chat.guild_id, chat.id, user_id)
    if record is None:
        return "not a participant"
    embed = discord.Embed(
        title=shorten(f"Your CPD record: {record.title}", limits.EMBED_TITLE), colour=COLOUR,
        description=(f"{timestamp(record.start, 'F')} · {record.minutes} minutes · "
                     f"{len(record.answers)} contributions of yours. The file has the chat's questions, "
                     "the pre-chat reading, your answers as they stand, and a reflection template "
                     f"({record.framework.name}). Add your reflection with `/cpd reflect` in the "
                     "server; `/cpd export` gives all your records."))
    embed.set_footer(text="Private to you: nobody else sees your record or reflections.")
    return await dm_once(
        bot, user_id,
        claim=lambda: store.claim_cpd_record(chat.guild_id, chat.id, user_id, bot.now()),
        outcome=lambda result: store.cpd_record_outcome(chat.guild_id, chat.id, user_id, result),
        embed=embed, file=_file(render_cpd([record], "md"), f"cpd-chat-{chat.id}.md"))


class RecordButton(discord.ui.DynamicItem[discord.ui.Button], template=r"cpd:record:(?P<chat>\d+)"):
    """**My CPD record** under a wrap-up: the record by DM, for whoever presses it."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(discord.ui.Button(label="My CPD record", style=discord.ButtonStyle.secondary,
                                           custom_id=f"{CPD_RECORD}{chat_id}"))
        self.chat_id = chat_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match) -> "RecordButton":
        return cls(int(match["chat"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: "TweetchatBot" = interaction.client  # type: ignore[assignment]
        try:
            chat = bot.store.chat(interaction.guild_id, self.chat_id)
        except StoreError:
            await interaction.response.send_message("That chat is no longer in this server's records.",
                                                    ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            outcome = await send_record(bot, chat, interaction.user.id)
        except PASSING as exc:
            log.warning("chat %s: CPD record not sent (%s)", chat.id, exc)
            outcome = "failed"
        text = {
            "sent": "✅ Sent to your DMs. Add your reflection with `/cpd reflect`.",
            "sent already": "You have it already (check your DMs); `/cpd export` gives every record again.",
            "dms closed": ("I couldn't DM you: your direct messages from this server are closed. "
                           "Use `/cpd export` to get your records here instead."),
            "not a participant": NOT_A_PARTICIPANT,
            "no such user": "Discord couldn't find your account to message; try again later.",
            "failed": "Discord didn't take the message just now; press the button again in a minute.",
        }[outcome]
        await interaction.followup.send(text, ephemeral=True)


class ReflectionModal(discord.ui.Modal, title="Your reflection"):
    """The three prompts of the record's framework, filled in with what was written before."""

    def __init__(self, bot: "TweetchatBot", chat: Chat, prompts: tuple[str, str, str], current) -> None:
        super().__init__()
        self.bot, self.chat = bot, chat
        values = (current.learned, current.change, current.standards) if current else ("", "", "")
        self.fields = []
        for prompt, value in zip(prompts, values):
            field = discord.ui.TextInput(label=shorten(prompt, 45), placeholder=shorten(prompt, 100),
                                         style=discord.TextStyle.paragraph, max_length=2000,
                                         required=False, default=value or None)
            self.add_item(field)
            self.fields.append(field)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        learned, change, standards = (f.value or "" for f in self.fields)
        self.bot.store.set_reflection(self.chat.guild_id, self.chat.id, interaction.user.id,
                                      learned=learned, change=change, standards=standards,
                                      now=self.bot.now())
        await interaction.response.send_message(
            f"✅ Saved your reflection on **{discord.utils.escape_markdown(self.chat.title)}**. Only "
            "you can see it; `/cpd export` puts it in your records.", ephemeral=True)


@app_commands.guild_only()
class Cpd(commands.GroupCog, group_name="cpd",
          group_description="Your private CPD record of the chats you take part in"):
    """Members' CPD records and reflections."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RecordButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RecordButton)

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error, (StoreError,))

    async def _my_chats(self, interaction: discord.Interaction,
                        current: str) -> list[app_commands.Choice[int]]:
        store, guild = self.bot.store, interaction.guild_id
        chats = (store.chat(guild, chat_id)
                 for chat_id in reversed(store.chats_answered_by(guild, interaction.user.id)))
        return matching(((f"#{c.id} {c.title} ({c.start_at:%d %b %Y})", c.id) for c in chats), current)

    @app_commands.command(name="on", description="Get your CPD record by DM after every chat you take part in")
    async def cpd_on(self, interaction: discord.Interaction) -> None:
        self.bot.store.set_cpd_optin(interaction.guild_id, interaction.user.id, True, self.bot.now())
        await interaction.response.send_message(
            "✅ After each chat you answer in, you'll get your record by DM (allow direct messages "
            "from this server's members if none arrive). `/cpd off` stops it.", ephemeral=True)

    @app_commands.command(name="off", description="Stop the CPD record after every chat")
    async def cpd_off(self, interaction: discord.Interaction) -> None:
        self.bot.store.set_cpd_optin(interaction.guild_id, interaction.user.id, False, self.bot.now())
        await interaction.response.send_message(
            "Done: no more records after each chat. The wrap-up's **My CPD record** button still "
            "works for one chat.", ephemeral=True)

    @app_commands.command(name="reflect", description="Write your reflection on a chat you took part in")
    @app_commands.describe(chat="the chat (the ones you answered in)")
    @app_commands.autocomplete(chat=_my_chats)
    async def reflect(self, interaction: discord.Interaction, chat: int) -> None:
        record = build_cpd_record(self.bot.store, interaction.guild_id, chat, interaction.user.id)
        if record is None:
            await interaction.response.send_message(NOT_A_PARTICIPANT, ephemeral=True)
            return
        found = self.bot.store.chat(interaction.guild_id, chat)
        await interaction.response.send_modal(
            ReflectionModal(self.bot, found, record.framework.prompts, record.reflection))

    @app_commands.command(name="list", description="The chats you took part in, and your reflections")
    async def cpd_list(self, interaction: discord.Interaction) -> None:
        records = member_records(self.bot.store, interaction.guild_id, interaction.user.id)
        if not records:
            await interaction.response.send_message(
                "You haven't answered in any chat here yet. Records start with your first answer.",
                ephemeral=True)
            return
        lines = [f"`#{r.chat_id}` **{discord.utils.escape_markdown(r.title)}** · {timestamp(r.start, 'D')}"
                 f" · {len(r.answers)} contributions · "
                 + ("reflection written" if r.reflection and not r.reflection.empty else "no reflection yet")
                 for r in records[-25:]]
        embed = discord.Embed(title="Your chats", colour=COLOUR,
                              description=shorten("\n".join(lines), limits.EMBED_DESCRIPTION))
        embed.set_footer(text="/cpd reflect adds a reflection; /cpd export downloads them all.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="export", description="All your records and reflections as files")
    async def export(self, interaction: discord.Interaction) -> None:
        records = member_records(self.bot.store, interaction.guild_id, interaction.user.id)
        if not records:
            await interaction.response.send_message(
                "You haven't answered in any chat here yet, so there is nothing to export.", ephemeral=True)
            return
        await interaction.response.send_message(
            f"Your {len(records)} CPD records: Markdown, and a web page you can print or save as "
            "PDF from your browser. Only you can see this.", ephemeral=True,
            files=[_file(render_cpd(records, "md"), "cpd-records.md"),
                   _file(render_cpd(records, "html"), "cpd-records.html")])


async def send_records_after(bot: "TweetchatBot", chat: Chat) -> str:
    """The chat is over: DM each participant who turned `/cpd on` their record (once each).
    Raises for a passing refusal so the action is retried (those sent are not sent again)."""
    if chat.state is not ChatState.FINISHED:
        return "the chat did not finish"
    wanted = bot.store.cpd_optins(chat.guild_id)
    counts: dict[str, int] = {}
    failure = None
    for user_id in sorted(wanted):
        try:
            outcome = await send_record(bot, chat, user_id)
        except PASSING as exc:
            failure = exc
            continue
        counts[outcome] = counts.get(outcome, 0) + 1
    if failure is not None:
        raise failure
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nobody asked"


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(Cpd(bot))
