"""What every command group shares: who counts as a moderator, and the reply a person
gets when a command fails (a sentence they can act on; never a traceback, never
"The application did not respond")."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.app import TweetchatBot

log = logging.getLogger(__name__)

MODERATORS_ONLY = "Only moderators (Manage Events) or this server's host role can do that."
SORRY = ("⚠️ Something went wrong on our side and it has been logged (reference {ref}). "
         "Please try again in a minute; if it keeps happening, tell whoever runs the bot.")


def is_moderator(bot: "TweetchatBot", interaction: discord.Interaction) -> bool:
    """Manage Events in the server, or the server's host role."""
    member = interaction.user
    if not isinstance(member, discord.Member) or interaction.guild_id is None:
        return False
    host_role = bot.store.server_settings(interaction.guild_id).host_role_id
    return member.guild_permissions.manage_events or (
        host_role is not None and any(r.id == host_role for r in member.roles))


async def moderators_only(bot: "TweetchatBot", interaction: discord.Interaction) -> bool:
    """True for a moderator; anyone else is told so (ephemerally) and gets False."""
    if is_moderator(bot, interaction):
        return True
    await reply(interaction, MODERATORS_ONLY)
    return False


async def reply(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral reply, whether or not the interaction was answered already."""
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True)
    else:
        await interaction.response.send_message(text, ephemeral=True)


async def report_error(interaction: discord.Interaction, error: app_commands.AppCommandError,
                       people_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Reply to a failed command: the message of an error meant for people, or an apology
    with a reference to the log line (the interaction's id) for anything else."""
    original = getattr(error, "original", error)
    if isinstance(original, people_errors):
        text = f"⚠️ {original}"
    elif isinstance(error, app_commands.CheckFailure):
        return  # the check has answered already
    else:
        log.error("command %s failed (interaction %s)",
                  interaction.command and interaction.command.qualified_name, interaction.id,
                  exc_info=original)
        text = SORRY.format(ref=interaction.id)
    try:
        await reply(interaction, text)
    except discord.HTTPException as exc:
        log.warning("could not tell the member that interaction %s failed: %s", interaction.id, exc)
