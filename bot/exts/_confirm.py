"""Confirm / Cancel buttons for an ephemeral question, shared by the extensions."""

from __future__ import annotations

from typing import Callable

import discord

CONFIRM_SECONDS = 300


class ConfirmView(discord.ui.View):
    """Confirm / Cancel buttons that only the member who asked can press.

    ``await view.confirmed_by(...)`` waits and answers a Cancel or a time-out itself; after
    it returns True, ``interaction`` is the button press, still to be answered."""

    def __init__(self, owner_id: int, *, prefix: str = "tweetchat", confirm_label: str = "Confirm",
                 confirm_style: discord.ButtonStyle = discord.ButtonStyle.success) -> None:
        super().__init__(timeout=CONFIRM_SECONDS)
        self.owner_id = owner_id
        self.confirmed: bool | None = None
        self.interaction: discord.Interaction | None = None
        confirm = discord.ui.Button(label=confirm_label, style=confirm_style,
                                    custom_id=f"{prefix}:confirm")
        cancel = discord.ui.Button(label="Cancel", style=discord.ButtonStyle.secondary,
                                   custom_id=f"{prefix}:cancel")
        confirm.callback = self._answer(True)
        cancel.callback = self._answer(False)
        self.add_item(confirm)
        self.add_item(cancel)

    def _answer(self, confirmed: bool):
        async def pressed(interaction: discord.Interaction) -> None:
            self.confirmed, self.interaction = confirmed, interaction
            self.stop()
        return pressed

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "Only the person who ran the command can answer this.", ephemeral=True)
            return False
        return True

    async def confirmed_by(self, interaction: discord.Interaction,
                           declined: Callable[[bool], str]) -> bool:
        """Wait for the answer to the question `interaction` asked: True on Confirm. On
        Cancel or no answer the question is replaced by ``declined(timed_out)`` (saying
        that nothing was done) and False is returned."""
        timed_out = await self.wait()
        if not timed_out and self.confirmed:
            return True
        text = declined(timed_out)
        if self.interaction is not None:
            await self.interaction.response.edit_message(content=text, embed=None, view=None)
        else:
            await interaction.edit_original_response(content=text, embed=None, view=None)
        return False
