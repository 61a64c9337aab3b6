"""Scripted members: people in the sandboxed server, driven from Python.

A :class:`ScriptedMember` does what a person does in Discord's client (write, reply, edit,
delete, react, run slash commands, use autocomplete, press buttons, submit modals, join
threads, mark interest in events) and reads what that person would see, ephemeral
responses included. Everything goes through the same world logic and permission checks
the REST API uses, and reaches a connected bot as gateway events.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from . import permissions as perms
from . import state as st
from .interactions import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    MODAL,
    CommandRefused,
    Interaction,
)

if TYPE_CHECKING:
    from .server import Sandbox

MessageRef = st.Message | int


class NoResponse(TimeoutError):
    """The app did not answer in time ("The application did not respond")."""


class InteractionHandle:
    """An interaction a member started, and what they see of the app's answers."""

    def __init__(self, sandbox: "Sandbox", interaction: Interaction) -> None:
        self._sandbox = sandbox
        self.interaction = interaction

    @property
    def id(self) -> int:
        return self.interaction.id

    @property
    def response_type(self) -> int | None:
        """The callback type the app answered with (4 message, 5 deferred, 9 modal, ...)."""
        return self.interaction.callback_type

    async def _until(self, ready: Callable[[], Any], timeout: float, what: str) -> Any:
        interaction = self.interaction

        async def wait() -> Any:
            while True:
                value = ready()
                if value:
                    return value
                interaction.changed.clear()
                await interaction.changed.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise NoResponse(f"interaction {interaction.id}: no {what} within {timeout}s") from None

    async def response(self, timeout: float | None = None) -> int:
        """Wait for the initial response (by default, Discord's 3-second deadline) and
        return its callback type."""
        limit = timeout if timeout is not None else self._sandbox.interactions.response_deadline + 0.5
        return await self._until(lambda: self.interaction.callback_type, limit, "initial response")

    async def message(self, timeout: float = 5.0, *, check: Callable[[st.Message], bool] | None = None) -> st.Message:
        """The original response message once it has content (deferrals resolved) and,
        with ``check``, once it satisfies it (e.g. after the app edits it)."""
        await self.response(timeout)

        def ready() -> st.Message | None:
            original = self._sandbox.world.any_message(self.interaction.original_message_id or 0)
            if original is None or original.flags & st.LOADING or (check is not None and not check(original)):
                return None
            return original

        return await self._until(ready, timeout, "response message")

    async def followups(self, count: int = 1, timeout: float = 5.0) -> list[st.Message]:
        """Wait for ``count`` follow-up messages (beyond the original) and return them."""
        await self.response(timeout)

        def ready() -> list[st.Message] | None:
            ids = self.interaction.followup_ids
            if len(ids) < count:
                return None
            return [m for m in (self._sandbox.world.any_message(i) for i in ids) if m is not None]

        return await self._until(ready, timeout, f"{count} follow-up(s)")

    async def choices(self, timeout: float = 3.0) -> list[dict[str, Any]]:
        """Autocomplete: the choices the app offered."""
        await self.response(timeout)
        if self.interaction.callback_type != AUTOCOMPLETE_RESULT:
            raise AssertionError(f"expected autocomplete choices, got callback type {self.interaction.callback_type}")
        return list(self.interaction.callback_data.get("choices") or [])

    async def modal(self, timeout: float = 3.0) -> dict[str, Any]:
        """The modal the app opened (its custom_id, title, components)."""
        await self.response(timeout)
        if self.interaction.callback_type != MODAL:
            raise AssertionError(f"expected a modal, got callback type {self.interaction.callback_type}")
        return self.interaction.callback_data

    @property
    def is_ephemeral(self) -> bool:
        original = self._sandbox.world.any_message(self.interaction.original_message_id or 0)
        return original is not None and original.ephemeral

    @property
    def is_deferred(self) -> bool:
        return self.interaction.callback_type == DEFERRED_CHANNEL_MESSAGE

    @property
    def replied(self) -> bool:
        return self.interaction.callback_type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE)


class ScriptedMember:
    """One person in the sandboxed guild."""

    def __init__(self, sandbox: "Sandbox", user_id: int) -> None:
        self._sandbox = sandbox
        self.id = user_id

    def __repr__(self) -> str:
        return f"<ScriptedMember {self.name} id={self.id}>"

    @property
    def _world(self) -> st.World:
        return self._sandbox.world

    @property
    def name(self) -> str:
        return self._world.users[self.id].username

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    @property
    def guild_id(self) -> int:
        return self._sandbox.guild_id

    def direct_messages(self) -> list[st.Message]:
        """What the bot sent this member by DM, oldest first."""
        return list(self._sandbox.dms.received.get(self.id, ()))

    def close_dms(self, closed: bool = True) -> None:
        """Stop (or, with False, allow again) direct messages from the bot, as a member
        does in the server's privacy settings; the bot's DMs are then refused (50007)."""
        (self._sandbox.dms.closed.add if closed else self._sandbox.dms.closed.discard)(self.id)

    def permissions_in(self, channel_id: int | None = None) -> int:
        """This member's permission bits in a channel (default: #tweetchat)."""
        return self._world.channel_permissions(channel_id or self._sandbox.channel_id, self.id)

    @property
    def is_moderator(self) -> bool:
        return bool(self._world.guild_permissions(self.guild_id, self.id) & perms.MANAGE_EVENTS)

    # --- writing ----------------------------------------------------------------------------

    async def send(
        self,
        content: str = "",
        *,
        channel_id: int | None = None,
        files: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None = None,
        reply_to: MessageRef | None = None,
        embeds: list[dict[str, Any]] | None = None,
    ) -> st.Message:
        """Post in a channel or thread (default #tweetchat); ``files`` maps filename to bytes."""
        world = self._world
        attachments = []
        for filename, data in (files.items() if isinstance(files, Mapping) else files or []):
            attachments.append(st.Attachment(world.new_id(), filename, bytes(data), _content_type(filename)))
        return world.create_message(
            channel_id or self._sandbox.channel_id,
            self.id,
            content=content,
            attachments=attachments,
            embeds=embeds,
            reply_to=_id(reply_to) if reply_to is not None else None,
        )

    async def reply(self, message: st.Message, content: str, **kwargs: Any) -> st.Message:
        """Reply to ``message`` in its channel (a Discord reply, type 19)."""
        return await self.send(content, channel_id=message.channel_id, reply_to=message, **kwargs)

    async def edit(self, message: st.Message, content: str) -> st.Message:
        """Edit one of this member's messages."""
        return self._world.edit_message(message.channel_id, message.id, self.id, fields={"content": content})

    async def delete(self, message: st.Message) -> None:
        """Delete a message (own, or anyone's with Manage Messages)."""
        self._world.delete_message(message.channel_id, message.id, self.id)

    async def react(self, message: st.Message, emoji: str) -> None:
        """Add a unicode emoji reaction."""
        self._world.add_reaction(message.channel_id, message.id, self.id, emoji)

    async def unreact(self, message: st.Message, emoji: str) -> None:
        self._world.remove_reaction(message.channel_id, message.id, self.id, emoji)

    async def join_thread(self, thread_id: int) -> None:
        self._world.add_thread_member(thread_id, self.id, actor_id=self.id)

    async def leave_thread(self, thread_id: int) -> None:
        self._world.remove_thread_member(thread_id, self.id, actor_id=self.id)

    async def mark_interested(self, event_id: int) -> None:
        """Click "Interested" on a scheduled event."""
        self._sandbox.scheduled_events.add_interested(self.guild_id, event_id, self.id)

    # --- interactions -----------------------------------------------------------------------

    async def invoke(
        self, command: str, options: Mapping[str, Any] | None = None, *, channel_id: int | None = None, **kwargs: Any
    ) -> InteractionHandle:
        """Run a slash command: ``invoke("chat start", {"name": "..."})`` or with keywords.

        Raises :class:`~bot.sandbox.interactions.CommandRefused` where Discord's client would
        not send it (unknown command, missing ``default_member_permissions``, bad options);
        the bot then receives nothing.
        """
        values = {**(options or {}), **kwargs}
        interaction = self._sandbox.interactions.invoke(self.id, channel_id or self._sandbox.channel_id, command, values)
        return InteractionHandle(self._sandbox, interaction)

    async def autocomplete(
        self,
        command: str,
        focused: str,
        value: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel_id: int | None = None,
        timeout: float = 3.0,
    ) -> list[dict[str, Any]]:
        """Type ``value`` into option ``focused`` and return the choices the app offers."""
        values = {**(options or {}), focused: value}
        interaction = self._sandbox.interactions.invoke(
            self.id, channel_id or self._sandbox.channel_id, command, values, focused=focused
        )
        return await InteractionHandle(self._sandbox, interaction).choices(timeout)

    async def press(self, message: st.Message, custom_id: str, *, values: list[str] | None = None) -> InteractionHandle:
        """Click the button (or choose ``values`` in the select) with ``custom_id``."""
        current = self._world.any_message(message.id) or message
        interaction = self._sandbox.interactions.press(self.id, current, custom_id, values=values)
        return InteractionHandle(self._sandbox, interaction)

    async def submit_modal(self, opened_by: InteractionHandle, values: Mapping[str, str]) -> InteractionHandle:
        """Fill in the modal the app opened (text inputs by custom_id) and submit it."""
        interaction = self._sandbox.interactions.submit_modal(self.id, opened_by.interaction, dict(values))
        return InteractionHandle(self._sandbox, interaction)

    # --- reading ----------------------------------------------------------------------------

    def can_see(self, message: st.Message) -> bool:
        if message.visible_to is not None:
            return message.visible_to == self.id
        granted = self._world.channel_permissions(message.channel_id, self.id)
        return bool(granted & perms.VIEW_CHANNEL and granted & perms.READ_MESSAGE_HISTORY)

    def messages(self, channel_id: int | None = None) -> list[st.Message]:
        """What this member sees in a channel or thread, oldest first, including ephemeral
        responses addressed to them."""
        world = self._world
        channel = world.channel(channel_id or self._sandbox.channel_id)
        seen = [world.messages[i] for i in channel.message_ids]
        seen += [m for m in world.ephemeral_messages.values() if m.channel_id == channel.id and m.visible_to == self.id]
        return sorted((m for m in seen if self.can_see(m)), key=lambda m: m.id)

    def ephemeral_messages(self) -> list[st.Message]:
        """Ephemeral responses only this member can see, oldest first."""
        return sorted((m for m in self._world.ephemeral_messages.values() if m.visible_to == self.id), key=lambda m: m.id)

    async def wait_for_message(
        self,
        predicate: Callable[[st.Message], bool] | None = None,
        *,
        channel_id: int | None = None,
        from_bot: bool = True,
        timeout: float = 5.0,
    ) -> st.Message:
        """Wait for the next new message this member can see (by default, from the bot)."""

        def matches(message: st.Message) -> bool:
            return (
                self.can_see(message)
                and (channel_id is None or message.channel_id == channel_id)
                and (not from_bot or message.author.id == self._world.bot.id)
                and (predicate is None or predicate(message))
            )

        return await self._sandbox.wait_for_message(matches, timeout=timeout)

    async def read_attachment(self, attachment: st.Attachment) -> bytes:
        return attachment.data


def _id(message: MessageRef) -> int:
    return message if isinstance(message, int) else message.id


def _content_type(filename: str) -> str | None:
    import mimetypes

    return mimetypes.guess_type(filename)[0]


__all__ = ["CommandRefused", "InteractionHandle", "NoResponse", "ScriptedMember"]
