"""Discord permission bits and the permission computation Discord performs.

Follows "Topics > Permissions": the bitwise flags table, "Permission Hierarchy" and the
pseudo-code in "Permission Overwrites" (base permissions from @everyone and the member's
roles, then the @everyone overwrite, role overwrites, and the member overwrite).
"""

from __future__ import annotations

from typing import Iterable, Mapping

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_EVENTS = 1 << 33
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40
CREATE_EVENTS = 1 << 44

ALL = (1 << 51) - 1

# What a new guild's @everyone role gets on Discord (the defaults of the guild settings UI).
EVERYONE_DEFAULT = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
    | CREATE_EVENTS
)

MODERATOR_DEFAULT = (
    MANAGE_EVENTS | MANAGE_MESSAGES | MANAGE_THREADS | MODERATE_MEMBERS | MANAGE_NICKNAMES | KICK_MEMBERS
)

# Everything the tweetchat bot needs in its channel: post, thread, attach, embed, manage events.
BOT_DEFAULT = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | MANAGE_THREADS
    | MANAGE_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | MANAGE_EVENTS
    | CREATE_EVENTS
    | USE_APPLICATION_COMMANDS
)


def base_permissions(
    *, is_owner: bool, everyone_permissions: int, role_permissions: Iterable[int]
) -> int:
    """Guild-level permissions: @everyone OR the member's roles; owners and admins get all."""
    if is_owner:
        return ALL
    permissions = everyone_permissions
    for value in role_permissions:
        permissions |= value
    if permissions & ADMINISTRATOR:
        return ALL
    return permissions


def apply_overwrites(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    overwrites: Mapping[int, tuple[int, int, int]],
) -> int:
    """Apply a channel's overwrites ({target_id: (type, allow, deny)}) in Discord's order.

    The @everyone overwrite (whose id is the guild id) comes first, then all role
    overwrites together (deny before allow), then the member's own overwrite.
    """
    if base & ADMINISTRATOR or base == ALL:
        return ALL
    permissions = base
    everyone = overwrites.get(guild_id)
    if everyone is not None:
        permissions &= ~everyone[2]
        permissions |= everyone[1]
    allow = deny = 0
    for role_id in member_role_ids:
        overwrite = overwrites.get(role_id)
        if overwrite is not None and overwrite[0] == 0:
            allow |= overwrite[1]
            deny |= overwrite[2]
    permissions &= ~deny
    permissions |= allow
    member = overwrites.get(member_id)
    if member is not None and member[0] == 1:
        permissions &= ~member[2]
        permissions |= member[1]
    # "Implicit permissions": without View Channel nothing else in the channel applies.
    if not permissions & VIEW_CHANNEL:
        return 0
    return permissions
