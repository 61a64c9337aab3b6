"""`/mydata`: members see, download and delete what the bot stores about them, and opt
out of answer collection; plus the daily retention purge. The rules live in
`bot.record.privacy`; this file only talks to Discord. Every reply is ephemeral."""

from __future__ import annotations

import io
import logging
from datetime import time, timezone
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.record import privacy
from bot.exts._confirm import ConfirmView
from bot.exts._replies import report_error

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

PURGE_AT = time(hour=4, minute=17, tzinfo=timezone.utc)  # a quiet hour for most servers


@app_commands.guild_only()
class MyData(commands.GroupCog, group_name="mydata",
             group_description="See, download or delete what this bot stores about you here"):
    """Members' control over their own data, in the server they run it in."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        self.retention.start()

    async def cog_unload(self) -> None:
        self.retention.cancel()

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)

    @app_commands.command(name="export", description="Download everything stored about you here")
    async def export(self, interaction: discord.Interaction) -> None:
        data = privacy.export_member(self.bot.store, interaction.guild_id, interaction.user.id,
                                     self.bot.now())
        log.info("member %s exported their data in guild %s", interaction.user.id,
                 interaction.guild_id)
        await interaction.response.send_message(
            "Here is everything this bot stores about you in this server (JSON). Only you "
            "can see this message.",
            file=discord.File(io.BytesIO(data), filename=f"mydata-{interaction.guild_id}.json"),
            ephemeral=True)

    @app_commands.command(name="delete", description="Delete everything stored about you here")
    async def delete(self, interaction: discord.Interaction) -> None:
        count = self.bot.store.member_answer_count(interaction.guild_id, interaction.user.id)
        view = ConfirmView(interaction.user.id, prefix="mydata:delete",
                           confirm_label="Delete my data", confirm_style=discord.ButtonStyle.danger)
        await interaction.response.send_message(
            f"⚠️ This deletes all **{count}** of your stored tweetchat answers in this server, "
            "with every earlier version of them, and removes your id from everything else the "
            "bot keeps here. **It cannot be undone.** Your messages on Discord itself stay "
            "as they are; delete those in Discord if you want them gone. Chat statistics "
            "keep only anonymous counts.",
            view=view, ephemeral=True)
        if not await view.confirmed_by(interaction, lambda timed_out: (
                "Nothing was deleted." + (" (No answer within 5 minutes.)" if timed_out else ""))):
            return
        await self.bot.writer.flush()  # nothing of theirs still queued to be written after
        erased = privacy.erase_member(self.bot.store, interaction.guild_id, interaction.user.id,
                                      self.bot.now())
        log.info("a member's data was erased in guild %s (%d answers)", interaction.guild_id,
                 erased.answers)
        await view.interaction.response.edit_message(
            content=f"✅ {erased.sentence()} To keep future answers from being stored, use "
                    "`/mydata optout`.", view=None)

    @app_commands.command(name="optout", description="Stop storing your tweetchat answers here")
    async def optout(self, interaction: discord.Interaction) -> None:
        said = privacy.set_opt_out(self.bot.store, interaction.guild_id, interaction.user.id,
                                   True, self.bot.now())
        await interaction.response.send_message(said, ephemeral=True)

    @app_commands.command(name="optin", description="Store your tweetchat answers here again")
    async def optin(self, interaction: discord.Interaction) -> None:
        said = privacy.set_opt_out(self.bot.store, interaction.guild_id, interaction.user.id,
                                   False, self.bot.now())
        await interaction.response.send_message(said, ephemeral=True)

    @tasks.loop(time=PURGE_AT)
    async def retention(self) -> None:
        """Once a day: purge answers older than each server's retention period."""
        await self.purge()

    @retention.before_loop
    async def _after_ready(self) -> None:
        await self.bot.wait_until_ready()
        await self.purge()  # also at start, so a bot that was down does not skip a day

    async def purge(self) -> dict[int, int]:
        try:
            return privacy.purge_expired(self.bot.store, self.bot.now())
        except Exception:
            log.exception("the retention purge failed; it runs again tomorrow")
            return {}


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(MyData(bot))
