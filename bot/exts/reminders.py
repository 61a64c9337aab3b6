"""`/reminders on|off`: a member asks for (or stops) a DM before each chat of the server.

Members who mark a chat's Discord Event as interested are reminded too, without this
command. The DM is sent when the chat's "starting soon" post goes out (the server's
reminder setting), and not at all when the server reminds by pinging a role instead or
has reminders turned off. Anyone can use it; the reply is only for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts._replies import report_error

if TYPE_CHECKING:
    from bot.app import TweetchatBot


class Reminders(commands.Cog):
    """Members' own reminder choice."""

    def __init__(self, bot: "TweetchatBot") -> None:
        self.bot = bot

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)

    @app_commands.command(name="reminders", description="Get a DM before each chat here (or stop)")
    @app_commands.describe(turn="on: a DM before each chat; off: no more DMs")
    @app_commands.choices(turn=[app_commands.Choice(name="on", value="on"),
                                app_commands.Choice(name="off", value="off")])
    @app_commands.guild_only()
    async def reminders(self, interaction: discord.Interaction, turn: str) -> None:
        on = turn == "on"
        store = self.bot.store
        store.set_reminder_optin(interaction.guild_id, interaction.user.id, on, self.bot.now())
        settings = store.server_settings(interaction.guild_id)
        if not on:
            text = ("Reminders are off: no more DMs before chats here (unless you mark a chat's "
                    "Event as interested).")
        elif not settings.reminder_lead_minutes:
            text = ("Saved, but this server has reminders turned off at the moment; you'll get a "
                    "DM once the moderators turn them on.")
        elif settings.reminder_role_id:
            text = (f"Saved. This server reminds people by pinging <@&{settings.reminder_role_id}> "
                    "instead of DMs: give yourself that role to be pinged.")
        else:
            text = (f"Reminders are on: a DM {settings.reminder_lead_minutes} minutes before each "
                    "chat here. If nothing arrives, allow direct messages from server members "
                    "(the server's Privacy Settings). `/reminders off` stops them.")
        await interaction.response.send_message(text, ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())


async def setup(bot: "TweetchatBot") -> None:
    await bot.add_cog(Reminders(bot))
