"""`/guidance`, `/guidance-topics` and `/guidance-reload`: answers from the curated
knowledge file (`bot.guidance` does the searching; this file only talks to Discord).

Answers are ephemeral unless the member asks to post publicly. Each answer is an embed
with the entry's answer, do/don't points, where the sources differ, the sources as links,
when it was last reviewed and the file's disclaimer, plus buttons for the next-best
entries. The buttons carry the entry id in their custom id (a dynamic item), so they keep
working after a restart or a reload.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Iterable

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import escape_markdown, escape_mentions

from bot import discord_limits as limits
from bot.guidance import JURISDICTIONS, Entry, Hit, KnowledgeBase
from bot.chat.posts import COLOUR, shorten
from bot.exts._replies import moderators_only, report_error

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

NO_ANSWER_COLOUR = 0x747F8D  # Discord's neutral grey
MATCH_BUTTONS = 4


def _chunks(lines: Iterable[str], limit: int) -> list[str]:
    """Join lines into as few blocks of at most `limit` characters as possible (a line
    longer than the limit is shortened with an ellipsis)."""
    blocks: list[str] = []
    current = ""
    for line in lines:
        line = shorten(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            blocks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        blocks.append(current)
    return blocks


def _add_fields(embed: discord.Embed, name: str, lines: Iterable[str]) -> None:
    """Add lines as one field, or several ("name (continued)") if they do not fit one,
    as long as the embed stays within Discord's limits."""
    for i, block in enumerate(_chunks(lines, limits.EMBED_FIELD_VALUE)):
        title = name if i == 0 else f"{name} (continued)"
        if (len(embed.fields) >= limits.EMBED_FIELDS - 1
                or len(embed) + len(title) + len(block) > limits.EMBED_TOTAL - 40):
            embed.add_field(name="…", value="(cut to fit Discord's size limit)", inline=False)
            return
        embed.add_field(name=title, value=block, inline=False)


def source_line(source) -> str:
    label = escape_markdown(f"{source.publisher}: {source.document} ({source.year})")
    section = f" · {escape_markdown(source.section)}" if source.section else ""
    return f"• [{label.replace('[', '(').replace(']', ')')}]({source.url}){section}"


SHORT_POINTS = 3  # do's and don'ts on the first screen; the rest behind "Sources and more"


def entry_embed(entry: Entry, kb: KnowledgeBase, *, full: bool = False) -> discord.Embed:
    """One guidance entry as an embed, within Discord's limits. The first screen (a phone's
    worth) is the short answer, the top do's and don'ts and the main source; ``full`` adds
    every point, where sources differ and all sources."""
    embed = discord.Embed(title=entry.title, description=entry.answer, colour=COLOUR)
    applies = ", ".join(JURISDICTIONS[j] if j != "INTL" else "broadly" for j in entry.jurisdictions)
    # The footer first, so that the fields below are fitted around it.
    embed.set_footer(text=f"Applies: {applies} · last reviewed {entry.last_reviewed:%d %b %Y}\n"
                          f"{kb.disclaimer}"[: limits.EMBED_FOOTER])
    do = entry.do if full else entry.do[:SHORT_POINTS]
    dont = entry.dont if full else entry.dont[:SHORT_POINTS]
    if do:
        _add_fields(embed, "Do", (f"✅ {p}" for p in do))
    if dont:
        _add_fields(embed, "Don't", (f"⛔ {p}" for p in dont))
    if not full:
        more = len(entry.do) - len(do) + len(entry.dont) - len(dont)
        rest = [f"{more} more point{'s' if more != 1 else ''}"] if more else []
        if entry.differences:
            rest.append("where sources differ")
        rest.append(f"all {len(entry.sources)} sources" if len(entry.sources) > 1 else "the source")
        _add_fields(embed, "Main source", [source_line(entry.sources[0]),
                                           f"*Sources and more: {', '.join(rest)}.*"])
        return embed
    if entry.differences:
        _add_fields(embed, "Where sources differ", [entry.differences])
    _add_fields(embed, "Sources", (source_line(s) for s in entry.sources))
    return embed


def quoted(question: str) -> str:
    """A member's question, safe to show back (no formatting tricks, no pings)."""
    return escape_mentions(escape_markdown(" ".join(question.split())))[:200]


def no_answer_embed(question: str, suggestions: list[Hit], kb: KnowledgeBase) -> discord.Embed:
    """The honest answer when the file has nothing that fits."""
    lines = [f"I have no guidance that answers “{quoted(question)}” well, so I won't guess."]
    if suggestions:
        lines.append("\nThe closest topics I do cover are below; one of them may help.")
    lines.append("\nSee everything I cover with `/guidance-topics`. For a real situation, "
                 "check your regulator's or professional body's guidance, or ask your union "
                 "or indemnity provider.")
    embed = discord.Embed(title="No guidance on that", description="\n".join(lines),
                          colour=NO_ANSWER_COLOUR)
    embed.set_footer(text=kb.disclaimer[: limits.EMBED_FOOTER])
    return embed


def topic_embeds(kb: KnowledgeBase) -> list[discord.Embed]:
    """Every entry title, grouped by topic, over as many embeds as Discord allows."""
    by_topic: dict[str, list[str]] = {}
    for e in kb.entries:
        by_topic.setdefault(e.topic, []).append(e.title)
    lines = [f"**{topic.replace('-', ' ').capitalize()}**: {' · '.join(titles)}"
             for topic, titles in sorted(by_topic.items())]
    embeds, total = [], 0
    for block in _chunks(lines, limits.EMBED_DESCRIPTION):
        if total + len(block) > limits.EMBED_TOTAL - 300 or len(embeds) == limits.EMBEDS_PER_MESSAGE:
            break
        embeds.append(discord.Embed(description=block, colour=COLOUR))
        total += len(block)
    embeds[0].title = f"What /guidance covers ({len(kb.entries)} topics)"
    embeds[-1].set_footer(text="Ask in your own words: /guidance question:<what happened>. "
                               f"Last reviewed {kb.last_reviewed:%d %b %Y}.")
    return embeds


class EntryButton(discord.ui.DynamicItem[discord.ui.Button],
                  template=r"guidance:(?P<kind>entry|more):(?P<id>[a-z0-9-]+)"):
    """A button that shows one guidance entry to whoever presses it: another candidate
    (``entry``, its first screen) or the whole of the one shown (``more``)."""

    def __init__(self, entry_id: str, label: str = "Show", *, more: bool = False) -> None:
        kind = "more" if more else "entry"
        super().__init__(discord.ui.Button(
            label=shorten(label, limits.BUTTON_LABEL),
            style=discord.ButtonStyle.primary if more else discord.ButtonStyle.secondary,
            custom_id=f"guidance:{kind}:{entry_id}"))
        self.entry_id = entry_id
        self.more = more

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match) -> "EntryButton":
        return cls(match["id"], item.label or "Show", more=match["kind"] == "more")

    async def callback(self, interaction: discord.Interaction) -> None:
        library = interaction.client.guidance
        entry = library.kb.entry(self.entry_id)
        if entry is None:
            await interaction.response.send_message(
                "That topic is no longer in the guidance file (it was updated). Ask again with "
                "`/guidance`.", ephemeral=True)
            return
        view = None if self.more else entry_view(entry, [])
        kwargs = {"view": view} if view is not None else {}
        await interaction.response.send_message(embed=entry_embed(entry, library.kb, full=self.more),
                                                ephemeral=True, **kwargs)


def entry_view(shown: Entry | None, candidates: list[Hit]) -> discord.ui.View | None:
    """"Sources and more" for the entry shown, then a button per other real candidate."""
    view = discord.ui.View(timeout=None)
    if shown is not None:
        view.add_item(EntryButton(shown.id, "Sources and more", more=True))
    for hit in candidates[:MATCH_BUTTONS]:
        view.add_item(EntryButton(hit.entry.id, hit.entry.title))
    return view if view.children else None


JURISDICTION_CHOICES = [app_commands.Choice(name=name, value=code)
                        for code, name in JURISDICTIONS.items() if code != "INTL"]


class Guidance(commands.Cog):
    """Sourced guidance on professionalism on social media, for every member."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(EntryButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(EntryButton)

    async def _question_choices(self, interaction: discord.Interaction,
                                current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=e.title[:100], value=e.title[:100])
                for e in await asyncio.to_thread(self.bot.guidance.index.titles_matching, current, 25)]

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)

    @app_commands.command(name="guidance",
                          description="Sourced guidance on professionalism on social media")
    @app_commands.describe(
        question="what happened or what you want to know, in your own words",
        jurisdiction="only guidance that applies in this country",
        public="post the answer in the channel (default: only you see it)",
    )
    @app_commands.choices(jurisdiction=JURISDICTION_CHOICES)
    @app_commands.autocomplete(question=_question_choices)
    async def guidance(self, interaction: discord.Interaction,
                       question: app_commands.Range[str, 2, 300],
                       jurisdiction: str | None = None, public: bool = False) -> None:
        library = self.bot.guidance
        kb = library.kb
        chosen = next((e for e in kb.entries if e.title[:100] == question), None)
        if chosen is not None and chosen.applies_to(jurisdiction):
            # Encoding a question takes tens of milliseconds: off the event loop.
            result = await asyncio.to_thread(library.index.search, chosen.title, top=1 + MATCH_BUTTONS,
                                          jurisdiction=jurisdiction)
            others = [h for h in result.results if h.entry.id != chosen.id]
            embed, view = entry_embed(chosen, kb), entry_view(chosen, others)
        else:
            result = await asyncio.to_thread(library.index.search, question, top=1 + MATCH_BUTTONS,
                                             jurisdiction=jurisdiction)
            if result.abstained:
                embed, view = no_answer_embed(question, result.suggestions, kb), \
                    entry_view(None, result.suggestions)
            else:
                best, *others = result.results  # others: only real candidates, never fillers
                embed, view = entry_embed(best.entry, kb), entry_view(best.entry, others)
        log.info("guidance in guild %s: %s", interaction.guild_id,
                 "no answer" if result.abstained and chosen is None else embed.title)
        kwargs = {"embed": embed, "ephemeral": not public}
        if view is not None:
            kwargs["view"] = view
        await interaction.response.send_message(**kwargs)

    @app_commands.command(name="guidance-topics", description="What /guidance can answer")
    async def topics(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embeds=topic_embeds(self.bot.guidance.kb),
                                                ephemeral=True)

    @app_commands.command(name="guidance-reload",
                          description="Re-read the guidance knowledge file (moderators)")
    @app_commands.default_permissions(manage_events=True)
    @app_commands.guild_only()
    async def reload(self, interaction: discord.Interaction) -> None:
        # Discord's default permission can be changed by server admins: check ourselves.
        if not await moderators_only(self.bot, interaction):
            return
        library = self.bot.guidance
        ok, message = library.reload()
        message = message.replace(str(library.path), library.path.name)  # no server paths
        log.log(logging.INFO if ok else logging.WARNING, "%s (%s) reloaded guidance: %s",
                interaction.user, interaction.user.id, message.splitlines()[0])
        if interaction.guild_id is not None:
            self.bot.store.audit(interaction.guild_id, "guidance reloaded" if ok else
                                 "guidance reload refused", at=self.bot.now(),
                                 actor_id=interaction.user.id, detail=message.splitlines()[0])
        text = f"✅ {message}" if ok else f"⚠️ {message}"
        if len(text) > 1900:
            text = text[:1880] + "\n… (see the bot's log)"
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(Guidance(bot))
