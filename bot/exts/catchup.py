"""`/catchup`: for a member who joins a chat late, the running chat's questions so far,
each with a jump link to its thread and how many answers it has; the ones still to come
with their times. Anyone can run it and only they see the reply.

It is a command of its own rather than `/tweetchat catchup` because Discord sets who may
use a command for the whole top-level command: `/tweetchat` is for moderators (Manage
Events), and this is for everyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import discord_limits as limits
from bot.chat.posts import COLOUR, plural, shorten, timestamp
from bot.chat.timeline import StepKind
from bot.exts._replies import report_error
from bot.store import Chat, ChatState, StepState

if TYPE_CHECKING:
    from bot.app import TweetchatBot

LIVE = (ChatState.RUNNING, ChatState.PAUSED)


def jump(guild_id: int, channel_id: int, message_id: int | None = None) -> str:
    """A Discord link that opens a channel, thread or message."""
    tail = f"/{message_id}" if message_id else ""
    return f"https://discord.com/channels/{guild_id}/{channel_id}{tail}"


def catchup_embed(bot: "TweetchatBot", chat: Chat) -> discord.Embed:
    """The questions of a running chat: posted ones linked with their answer counts (the
    same count as the statistics: withdrawn answers and opted-out members left out)."""
    counts = {t.question: t for t in bot.store.shown_counts_by_question(chat.guild_id, chat.id)}
    steps = bot.store.steps(chat.guild_id, chat.id)
    texts = {q.number: q.text for q in chat.definition.questions}
    lines, latest = [], None
    for step in steps:
        if step.kind is not StepKind.QUESTION or step.state is StepState.SKIPPED:
            continue
        text = discord.utils.escape_markdown(shorten(texts.get(step.question, ""), 90))
        if step.state is StepState.POSTED:
            latest = step.question
            tally = counts.get(step.question)
            answers = plural(tally.answers if tally else 0, "answer")
            where = jump(chat.guild_id, step.thread_id) if step.thread_id else \
                jump(chat.guild_id, chat.channel_id, step.message_id)
            lines.append(f"**Q{step.question}** [{text}]({where}) · {answers}")
        else:
            lines.append(f"Q{step.question} {text} · {timestamp(step.due_at, 't')}"
                         f"{' (paused)' if chat.state is ChatState.PAUSED else ''}")
    total = len(chat.definition.questions)
    intro = next((s for s in steps if s.kind is StepKind.INTRO), None)
    embed = discord.Embed(title=shorten(f"Catch up: {chat.title}", limits.EMBED_TITLE), colour=COLOUR)
    head = (f"Started {timestamp(intro.posted_at, 'R')} in <#{chat.channel_id}>. "
            if intro and intro.posted_at else "")
    head += (f"**Q{latest}** of {total} is the latest. " if latest else "The first question is coming up. ")
    head += "Answer each question in its thread."
    # Up to three chats share one reply, and Discord allows 6,000 characters of embeds in all.
    embed.description = shorten(head + "\n\n" + "\n".join(lines), 1900)
    if chat.definition.hashtag:
        embed.set_footer(text=chat.definition.hashtag)
    return embed


class Catchup(commands.Cog):
    """The catch-up for late joiners."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)

    @app_commands.command(name="catchup", description="Joined late? The chat's questions so far, "
                                                      "with links to each thread")
    @app_commands.guild_only()
    async def catchup(self, interaction: discord.Interaction) -> None:
        store = self.bot.store
        running = store.chats(interaction.guild_id, LIVE)
        channel = interaction.channel
        here = getattr(channel, "parent_id", None) or interaction.channel_id
        chats = [c for c in running if c.channel_id == here] or running
        if not chats:
            upcoming = store.chats(interaction.guild_id, (ChatState.SCHEDULED,), limit=1)
            text = "No chat is running right now."
            if upcoming:
                text += (f" The next is **{discord.utils.escape_markdown(upcoming[0].title)}** "
                         f"{timestamp(upcoming[0].start_at, 'F')} ({timestamp(upcoming[0].start_at, 'R')})"
                         f" in <#{upcoming[0].channel_id}>.")
            await interaction.response.send_message(text, ephemeral=True,
                                                    allowed_mentions=discord.AllowedMentions.none())
            return
        await interaction.response.send_message(
            embeds=[catchup_embed(self.bot, c) for c in chats[:3]], ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none())


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(Catchup(bot))
