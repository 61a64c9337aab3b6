"""Direct messages from the bot to members: "Resources > User > Create DM" opens (or
returns) the DM channel with a user, and "Create Message" in it delivers the message.

As on Discord, a member who does not accept direct messages from server members, or who
shares no server with the bot, cannot be messaged: the send is refused with 403, code
50007 "Cannot send messages to this user". Messages are checked like channel messages
(content length, an empty message) and kept per recipient for tests and the scripted
members to read; they are never in a guild channel's history.
"""

from __future__ import annotations

from typing import Any

from . import errors
from . import state as st

DM = 1  # "Channel Object > Channel Types": DM


class DirectMessages:
    """The world's DM channels and what was delivered through them."""

    def __init__(self, world: st.World) -> None:
        self.world = world
        self.channel_of: dict[int, int] = {}  # recipient id -> DM channel id
        self.recipient_of: dict[int, int] = {}  # DM channel id -> recipient id
        self.closed: set[int] = set()  # members whose DMs are closed
        self.received: dict[int, list[st.Message]] = {}  # recipient id -> messages, oldest first

    def is_dm(self, channel_id: int) -> bool:
        return channel_id in self.recipient_of

    def open(self, recipient_id: int) -> dict[str, Any]:
        """"Create DM": the DM channel object (the same one on every call)."""
        user = self.world.users.get(recipient_id)
        if user is None:
            raise errors.unknown_user()
        if recipient_id not in self.channel_of:
            channel_id = self.world.new_id()
            self.channel_of[recipient_id] = channel_id
            self.recipient_of[channel_id] = recipient_id
        messages = self.received.get(recipient_id) or []
        return {"id": str(self.channel_of[recipient_id]), "type": DM, "flags": 0,
                "last_message_id": str(messages[-1].id) if messages else None,
                "recipients": [user.payload()]}

    def send(self, channel_id: int, body: dict[str, Any],
             attachments: list[st.Attachment] | None = None) -> st.Message:
        """Deliver the bot's message to the channel's recipient, or refuse as Discord does."""
        recipient = self.recipient_of[channel_id]
        shares_a_server = any(recipient in g.members for g in self.world.guilds.values())
        if recipient in self.closed or not shares_a_server:
            raise errors.cannot_message_user()
        content = body.get("content") or ""
        if len(content) > st.MAX_CONTENT_LENGTH:
            raise errors.field_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        embeds, components = body.get("embeds") or [], body.get("components") or []
        if not content and not embeds and not components and not attachments:
            raise errors.empty_message()
        message = st.Message(self.world.new_id(), channel_id, 0, self.world.bot, content=content,
                             embeds=embeds, components=components, nonce=body.get("nonce"),
                             attachments=list(attachments or ()))
        self.received.setdefault(recipient, []).append(message)
        return message
