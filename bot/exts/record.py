"""A chat's record on Discord: the statistics embed with its chart, and the transcript
as a file. Used by `/tweetchat stats`, `/tweetchat transcript` and, when a server asks
for it, after the wrap-up. The figures and files themselves come from the core
(`bot.stats`, `bot.transcript`); this module only packs them for Discord.

Rendering (matplotlib, building a large file) runs in a worker thread so the gateway
keeps being served; reading the store stays on the event loop, where its connection is.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot import discord_limits as limits
from bot.posts import COLOUR
from bot.stats import ChatStats, chat_stats, render_chart, top_contributors
from bot.store import ChatRecord, Store
from bot.timeline import StepKind
from bot.transcript import build_transcript, render, transcript_filename

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

CHART_NAME = "chart.png"
FORMAT_NAMES = {"html": "web page", "md": "Markdown", "csv": "spreadsheet (CSV)", "json": "JSON"}


class RecordTooLarge(Exception):
    """A file over Discord's upload limit; the message says what to do instead."""


def stats_embed(stats: ChatStats, *, ranking: list[tuple[str, int]] | None = None) -> discord.Embed:
    """The statistics as an embed showing the chart (attach it as CHART_NAME)."""
    embed = discord.Embed(title=f"Statistics: {stats.title}"[: limits.EMBED_TITLE],
                          description="\n".join(stats.summary_lines())[: limits.EMBED_DESCRIPTION],
                          colour=COLOUR)
    if ranking:
        lines = [f"{i}. {discord.utils.escape_markdown(name)}: {n}"
                 for i, (name, n) in enumerate(ranking, 1)]
        embed.add_field(name="Most answers (shown because a moderator asked)",
                        value="\n".join(lines)[: limits.EMBED_FIELD_VALUE], inline=False)
    embed.set_image(url=f"attachment://{CHART_NAME}")
    embed.set_footer(text=f"Chat #{stats.chat_id} · times in {stats.timezone}")
    return embed


@dataclass(frozen=True)
class StatsMessage:
    embed: discord.Embed
    chart: bytes

    def files(self) -> list[discord.File]:
        return [discord.File(io.BytesIO(self.chart), filename=CHART_NAME)]


async def stats_message(store: Store, guild_id: int, chat_id: int, *,
                        rank_members: int = 0) -> StatsMessage:
    """The statistics of a chat ready to send (StoreError for another server's chat)."""
    stats = chat_stats(store, guild_id, chat_id)
    ranking = top_contributors(store, guild_id, chat_id, rank_members) if rank_members else None
    chart = await asyncio.to_thread(render_chart, stats)
    return StatsMessage(stats_embed(stats, ranking=ranking), chart)


@dataclass(frozen=True)
class TranscriptFile:
    data: bytes
    filename: str
    answers: int
    title: str

    def file(self) -> discord.File:
        return discord.File(io.BytesIO(self.data), filename=self.filename)


async def transcript_file(store: Store, guild_id: int, chat_id: int, fmt: str) -> TranscriptFile:
    """A chat's transcript in one format, ready to attach.

    :raises RecordTooLarge: when it is over Discord's upload limit.
    """
    transcript = build_transcript(store, guild_id, chat_id)
    data = await asyncio.to_thread(render, transcript, fmt)
    if len(data) > limits.ATTACHMENT_BYTES:
        raise RecordTooLarge(
            f"the {FORMAT_NAMES.get(fmt, fmt)} transcript is {len(data) / 2**20:.1f} MB, over "
            f"Discord's {limits.ATTACHMENT_BYTES // 2**20} MB upload limit. Try the CSV format, "
            f"or ask whoever runs the bot for `tweetchat export {chat_id} --format {fmt}`.")
    return TranscriptFile(data, transcript_filename(transcript, fmt), transcript.answer_count,
                          transcript.title)


async def share_after_wrap_up(bot: "TweetchatBot", chat: ChatRecord) -> None:
    """Post the statistics, chart and HTML transcript in the chat's channel, as a reply
    to the wrap-up (when the server's `share_record` setting is on). Best effort: the
    same is always available from `/tweetchat stats` and `/tweetchat transcript`."""
    store = bot.store
    wrap_up = next((s for s in store.steps(chat.guild_id, chat.id)
                    if s.kind is StepKind.WRAP_UP and s.message_id), None)
    try:
        await bot.writer.flush()  # answers still queued belong in the record
        stats = await stats_message(store, chat.guild_id, chat.id)
        files = stats.files()
        note = "The statistics of the chat, and its transcript to download and keep."
        try:
            files.append((await transcript_file(store, chat.guild_id, chat.id, "html")).file())
        except RecordTooLarge as exc:
            note = f"The statistics of the chat. The transcript was not attached: {exc}"
        channel = bot.get_channel(chat.channel_id) or await bot.fetch_channel(chat.channel_id)
        reference = (discord.MessageReference(message_id=wrap_up.message_id,
                                              channel_id=chat.channel_id, fail_if_not_exists=False)
                     if wrap_up else None)
        await channel.send(note, embed=stats.embed, files=files, reference=reference,
                           allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as exc:
        log.warning("chat %s: the record was not posted after the wrap-up: %s", chat.id, exc)
