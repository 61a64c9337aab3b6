"""A chat's record packed for Discord: the statistics embed with its chart, and the
transcript as a file. Used by `/tweetchat stats`, `/tweetchat transcript` and the record
posted after the wrap-up (`bot.exts.record`). The figures and files themselves come from the core
(`bot.record.stats`, `bot.record.transcript`); this module only packs them for Discord.

Rendering (matplotlib, building a large file) runs in a worker thread so the gateway
keeps being served; reading the store stays on the event loop, where its connection is.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

import discord

from bot import discord_limits as limits
from bot.chat.posts import COLOUR
from bot.record.stats import ChatStats, chat_stats, render_chart, top_contributors
from bot.store import Chat, Store
from bot.record.transcript import build_transcript, render, transcript_filename

CHART_NAME = "chart.png"
FORMAT_NAMES = {"html": "web page", "md": "Markdown", "csv": "spreadsheet (CSV)", "json": "JSON"}


class RecordTooLarge(Exception):
    """A file over Discord's upload limit; the message says what to do instead."""


def stats_embed(stats: ChatStats, *, ranking: list[tuple[str, int]] | None = None,
                marker: str = "") -> discord.Embed:
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
    embed.set_footer(text=f"Chat #{stats.chat_id} · times in {stats.timezone}"
                          + (f" · {marker}" if marker else ""))
    return embed


@dataclass(frozen=True)
class StatsMessage:
    embed: discord.Embed
    chart: bytes

    def files(self) -> list[discord.File]:
        return [discord.File(io.BytesIO(self.chart), filename=CHART_NAME)]


async def stats_message(store: Store, guild_id: int, chat_id: int, *,
                        rank_members: int = 0, marker: str = "") -> StatsMessage:
    """The statistics of a chat ready to send (StoreError for another server's chat)."""
    stats = chat_stats(store, guild_id, chat_id)
    ranking = top_contributors(store, guild_id, chat_id, rank_members) if rank_members else None
    chart = await asyncio.to_thread(render_chart, stats)
    return StatsMessage(stats_embed(stats, ranking=ranking, marker=marker), chart)


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


async def post_record(channel: discord.abc.Messageable, store: Store, chat: Chat, *,
                      wrap_up_message_id: int | None, marker: str) -> discord.Message:
    """Post a chat's statistics, chart and HTML transcript as a reply to its wrap-up. The
    embed's footer ends with `marker`, so the post can be found after a crash."""
    stats = await stats_message(store, chat.guild_id, chat.id, marker=marker)
    files = stats.files()
    note = "The statistics of the chat, and its transcript to download and keep."
    try:
        files.append((await transcript_file(store, chat.guild_id, chat.id, "html")).file())
    except RecordTooLarge as exc:
        note = f"The statistics of the chat. The transcript was not attached: {exc}"
    reference = (discord.MessageReference(message_id=wrap_up_message_id, channel_id=chat.channel_id,
                                          fail_if_not_exists=False)
                 if wrap_up_message_id else None)
    return await channel.send(note, embed=stats.embed, files=files, reference=reference,
                              allowed_mentions=discord.AllowedMentions.none())
