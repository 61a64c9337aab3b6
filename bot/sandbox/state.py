"""The sandbox's in-memory world: guild, roles, members, channels, threads, messages.

Every object renders itself as the JSON Discord documents for it ("Resources > User",
"Resources > Guild", "Resources > Channel", "Resources > Message"). Ids are snowflakes with
Discord's epoch ("Reference > Snowflakes"), so a client's ``created_at`` is the real time.

The world knows nothing of HTTP or websockets: it changes state, checks permissions and
announces gateway events through :meth:`World.dispatch`, which the gateway subscribes to.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import errors
from . import permissions as perms

DISCORD_EPOCH_MS = 1420070400000

# "Resources > Channel > Channel Types"
GUILD_TEXT = 0
GUILD_VOICE = 2
GUILD_CATEGORY = 4
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (PUBLIC_THREAD, PRIVATE_THREAD)

# "Resources > Message > Message Types"
DEFAULT = 0
THREAD_CREATED = 18
REPLY = 19
CHAT_INPUT_COMMAND = 20

# "Resources > Message > Message Flags"
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_NOTIFICATIONS = 1 << 12

MAX_CONTENT_LENGTH = 2000
NONCE_WINDOW_SECONDS = 300.0

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


class Snowflakes:
    """Generates strictly increasing snowflakes from the wall clock ("Reference > Snowflakes")."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._prefix = ((worker_id & 0x1F) << 17) | ((process_id & 0x1F) << 12)
        self._last_ms = 0
        self._increment = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        """A new id; within one millisecond the 12-bit increment tells ids apart."""
        with self._lock:
            now = int(time.time() * 1000) - DISCORD_EPOCH_MS
            if now <= self._last_ms:
                self._increment += 1
                if self._increment >= 4096:
                    # Borrow the next millisecond rather than repeat an id.
                    self._last_ms += 1
                    self._increment = 0
                now = self._last_ms
            else:
                self._last_ms = now
                self._increment = 0
            return (now << 22) | self._prefix | self._increment


def snowflake_time(snowflake: int) -> dt.datetime:
    """The UTC time encoded in a snowflake."""
    return dt.datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=dt.timezone.utc)


def time_snowflake(moment: dt.datetime) -> int:
    """The lowest snowflake for a moment, as clients build for ``before``/``after`` queries."""
    return (int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22


def iso(moment: dt.datetime | None) -> str | None:
    """ISO 8601 the way Discord writes timestamps (``+00:00`` offset, microseconds)."""
    if moment is None:
        return None
    return moment.astimezone(dt.timezone.utc).isoformat()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        """"Resources > User > User Object"."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,  # the user's server tag: none here
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        """"Topics > Permissions > Role Object"."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Member:
    user: User
    role_ids: list[int]
    joined_at: dt.datetime
    nick: str | None = None

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        """"Resources > Guild > Guild Member Object"."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None

    def payload(self, cdn_base: str, channel_id: int) -> dict[str, Any]:
        """"Resources > Message > Attachment Object"; the url serves the bytes from the sandbox."""
        url = f"{cdn_base}/attachments/{channel_id}/{self.id}/{self.filename}"
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": url,
            "proxy_url": url,
        }
        if self.content_type:
            data["content_type"] = self.content_type
        if self.description:
            data["description"] = self.description
        return data


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int
    author: User
    content: str = ""
    type: int = DEFAULT
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    nonce: str | int | None = None
    edited_at: dt.datetime | None = None
    flags: int = 0
    reference: dict[str, Any] | None = None
    referenced_message_id: int | None = None
    reactions: dict[str, list[int]] = field(default_factory=dict)
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    thread_id: int | None = None
    # Ephemeral messages are visible to one user only and never stored in channel history.
    visible_to: int | None = None

    @property
    def created_at(self) -> dt.datetime:
        return snowflake_time(self.id)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)


@dataclass
class Channel:
    id: int
    guild_id: int
    type: int
    name: str
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    rate_limit_per_user: int = 0
    last_message_id: int | None = None
    # Threads only ("Resources > Channel > Thread Metadata Object").
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: dt.datetime | None = None
    message_count: int = 0
    total_message_sent: int = 0
    thread_members: dict[int, dt.datetime] = field(default_factory=dict)
    # History, oldest first: ids increase with time, so a sorted list allows bisecting.
    message_ids: list[int] = field(default_factory=list)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self) -> dict[str, Any]:
        """"Resources > Channel > Channel Object" for a guild text channel or a thread."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "rate_limit_per_user": self.rate_limit_per_user,
            "flags": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
        }
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id),
                message_count=self.message_count,
                member_count=min(len(self.thread_members), 50),
                total_message_sent=self.total_message_sent,
                applied_tags=[],
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(self.archive_timestamp or snowflake_time(self.id)),
                    "locked": self.locked,
                    "create_timestamp": iso(snowflake_time(self.id)),
                    **({"invitable": self.invitable} if self.type == PRIVATE_THREAD else {}),
                },
            )
        else:
            data.update(
                position=self.position,
                permission_overwrites=[o.payload() for o in self.overwrites.values()],
                nsfw=False,
            )
            if self.type == GUILD_TEXT:
                data.update(topic=self.topic, default_auto_archive_duration=1440)
            elif self.type == GUILD_VOICE:
                data.update(bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1)
            elif self.type == GUILD_VOICE:
                # Voice channels always carry these ("Channel Object": bitrate, user_limit).
                data.update(bitrate=64000, user_limit=0, rtc_region=None)
        return data

    def thread_member_payload(self, user_id: int) -> dict[str, Any]:
        """"Resources > Channel > Thread Member Object"."""
        return {
            "id": str(self.id),
            "user_id": str(user_id),
            "join_timestamp": iso(self.thread_members[user_id]),
            "flags": 0,
        }


@dataclass
class ScheduledEvent:
    id: int
    guild_id: int
    creator_id: int
    name: str
    scheduled_start_time: dt.datetime
    entity_type: int
    privacy_level: int = 2
    status: int = 1
    description: str | None = None
    scheduled_end_time: dt.datetime | None = None
    channel_id: int | None = None
    location: str | None = None
    interested_user_ids: set[int] = field(default_factory=set)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    scheduled_events: dict[int, ScheduledEvent] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=utcnow)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


Listener = Callable[[str, dict[str, Any], "DispatchContext"], None]


@dataclass(frozen=True)
class DispatchContext:
    """What the gateway needs to route an event: its intent and who may see it."""

    intent: int | None
    guild_id: int | None = None
    # For MESSAGE_* events: who wrote it and who it mentions (content intent exemptions).
    author_id: int | None = None
    mention_ids: tuple[int, ...] = ()
    # Thread member updates about other users need GUILD_MEMBERS ("Thread Members Update").
    concerns_user_ids: tuple[int, ...] = ()
    message: Message | None = None


# "Topics > Gateway > Gateway Intents"; INTERNAL marks sandbox-only events no client sees.
INTERNAL = -1
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
MESSAGE_CONTENT = 1 << 15
GUILD_SCHEDULED_EVENTS = 1 << 16


def rich_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """An embed as Discord returns it: ``type`` "rich" for those apps send, empty fields
    left out, field ``inline`` present ("Resources > Message > Embed Object")."""
    shaped = {"type": "rich", **{k: v for k, v in embed.items() if v is not None and k != "flags"}}
    if shaped.get("fields"):
        shaped["fields"] = [{"inline": False, **f} for f in shaped["fields"]]
    return shaped


def numbered_components(rows: list[Any]) -> list[Any]:
    """Components as Discord returns them: each with a numeric ``id``, given in order of
    appearance where the app gave none ("Interactions > Message Components > Anatomy")."""
    counter = 0
    taken = set()

    def walk(items: list[Any], assign: bool) -> list[Any]:
        nonlocal counter
        out = []
        for item in items:
            if not isinstance(item, dict):
                out.append(item)
                continue
            item = dict(item)
            if assign:
                if item.get("id") is None:
                    counter += 1
                    while counter in taken:
                        counter += 1
                    item["id"] = counter
            elif isinstance(item.get("id"), int):
                taken.add(item["id"])
            if isinstance(item.get("components"), list):
                item["components"] = walk(item["components"], assign)
            out.append(item)
        return out

    walk(rows, assign=False)
    return walk(rows, assign=True)


class World:
    """All state of the sandboxed Discord: one application, its bot user, and guilds."""

    def __init__(self, *, bot_name: str = "TweetChat", application_name: str = "TweetChat") -> None:
        self.snowflakes = Snowflakes()
        self.cdn_base = ""
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.ephemeral_messages: dict[int, Message] = {}
        self.listeners: list[Listener] = []
        self.bot = self.add_user(bot_name, bot=True)
        self.application_id = self.bot.id  # Since 2020 the bot user shares the application id.
        self.application_name = application_name
        # Shaped like Discord's: the bot's id in base64, a timestamp part, an HMAC part, so
        # a bot that checks the token's shape (as ours does) accepts the sandbox's.
        user_part = base64.urlsafe_b64encode(str(self.bot.id).encode()).decode().rstrip("=")
        self.bot_token = f"{user_part}.{secrets.token_urlsafe(4)[:6]}.{secrets.token_urlsafe(27)}"
        self.owner = self.add_user("sandbox_owner", global_name="Sandbox Owner")
        # "Topics > Gateway > Privileged Intents": what the app's settings page has switched on.
        self.message_content_enabled = True
        self.members_intent_enabled = True
        self.presence_intent_enabled = True
        self._nonces: dict[tuple[int, int, str], tuple[float, int]] = {}

    # --- ids and lookups -------------------------------------------------------------------

    def new_id(self) -> int:
        return self.snowflakes.next()

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> User:
        user = User(self.new_id(), username, global_name, bot)
        self.users[user.id] = user
        return user

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise errors.unknown_channel() from None

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise errors.unknown_guild() from None

    def message(self, channel_id: int, message_id: int) -> Message:
        msg = self.messages.get(message_id)
        if msg is None or msg.channel_id != channel_id:
            raise errors.unknown_message()
        return msg

    def any_message(self, message_id: int) -> Message | None:
        """A channel message or an ephemeral one (which only its interaction can reach)."""
        return self.messages.get(message_id) or self.ephemeral_messages.get(message_id)

    def member(self, guild_id: int, user_id: int) -> Member:
        try:
            return self.guild(guild_id).members[user_id]
        except KeyError:
            raise errors.unknown_member() from None

    # --- events ----------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any], context: DispatchContext) -> None:
        """Announce a gateway event to every listener (the gateway, scripted members)."""
        for listener in list(self.listeners):
            listener(event, data, context)

    # --- guild building --------------------------------------------------------------------

    def create_guild(self, name: str, *, everyone_permissions: int = perms.EVERYONE_DEFAULT) -> Guild:
        guild = Guild(self.new_id(), name, owner_id=self.owner.id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", everyone_permissions, position=0)
        self.guilds[guild.id] = guild
        guild.members[self.owner.id] = Member(self.owner, [], utcnow())
        bot_role = self.add_role(guild.id, self.bot.username, perms.BOT_DEFAULT, announce=False)
        bot_role.managed = True
        bot_role.bot_id = self.bot.id
        guild.members[self.bot.id] = Member(self.bot, [bot_role.id], utcnow())
        return guild

    def bot_role(self, guild_id: int) -> Role:
        """The managed role Discord creates for a bot from its invite permissions."""
        for role in self.guild(guild_id).roles.values():
            if role.bot_id == self.bot.id:
                return role
        raise errors.unknown_guild()

    def add_role(self, guild_id: int, name: str, permissions: int, *, announce: bool = True) -> Role:
        guild = self.guild(guild_id)
        role = Role(self.new_id(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        if announce:
            self.dispatch(
                "GUILD_ROLE_CREATE",
                {"guild_id": str(guild_id), "role": role.payload()},
                DispatchContext(GUILDS, guild_id),
            )
        return role

    def update_role(self, guild_id: int, role_id: int, *, permissions: int) -> Role:
        role = self.guild(guild_id).roles[role_id]
        role.permissions = permissions
        self.dispatch(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(guild_id), "role": role.payload()},
            DispatchContext(GUILDS, guild_id),
        )
        return role

    def add_member(
        self, guild_id: int, username: str, *, role_ids: Iterable[int] = (), global_name: str | None = None
    ) -> Member:
        user = self.add_user(username, global_name=global_name)
        member = Member(user, list(role_ids), utcnow())
        self.guild(guild_id).members[user.id] = member
        self.dispatch(
            "GUILD_MEMBER_ADD",
            {"guild_id": str(guild_id), **member.payload()},
            DispatchContext(GUILD_MEMBERS, guild_id),
        )
        return member

    def add_channel(self, guild_id: int, name: str, *, type: int = GUILD_TEXT, topic: str | None = None) -> Channel:
        guild = self.guild(guild_id)
        channel = Channel(self.new_id(), guild_id, type, name, position=len(guild.channel_ids), topic=topic)
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        self.dispatch("CHANNEL_CREATE", channel.payload(), DispatchContext(GUILDS, guild_id))
        return channel

    def set_overwrite(
        self, channel_id: int, target_id: int, *, type: int, allow: int = 0, deny: int = 0
    ) -> Channel:
        """Set a permission overwrite ("Resources > Channel > Edit Channel Permissions")."""
        channel = self.channel(channel_id)
        channel.overwrites[target_id] = Overwrite(target_id, type, allow, deny)
        self.dispatch("CHANNEL_UPDATE", channel.payload(), DispatchContext(GUILDS, channel.guild_id))
        return channel

    def delete_overwrite(self, channel_id: int, target_id: int) -> Channel:
        channel = self.channel(channel_id)
        channel.overwrites.pop(target_id, None)
        self.dispatch("CHANNEL_UPDATE", channel.payload(), DispatchContext(GUILDS, channel.guild_id))
        return channel

    # --- permissions -----------------------------------------------------------------------

    def guild_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guild(guild_id)
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return perms.base_permissions(
            is_owner=guild.owner_id == user_id,
            everyone_permissions=guild.everyone.permissions,
            role_permissions=(guild.roles[r].permissions for r in member.role_ids if r in guild.roles),
        )

    def channel_permissions(self, channel_id: int, user_id: int) -> int:
        """A member's permissions in a channel; threads inherit their parent's overwrites."""
        channel = self.channel(channel_id)
        if channel.is_thread:
            channel = self.channel(channel.parent_id)  # type: ignore[arg-type]
        guild = self.guild(channel.guild_id)
        member = guild.members.get(user_id)
        if member is None:
            return 0
        overwrites = {o.id: (o.type, o.allow, o.deny) for o in channel.overwrites.values()}
        return perms.apply_overwrites(
            self.guild_permissions(guild.id, user_id),
            guild_id=guild.id,
            member_id=user_id,
            member_role_ids=member.role_ids,
            overwrites=overwrites,
        )

    def require(self, channel_id: int, user_id: int, *needed: int) -> int:
        """Raise Discord's 403s when ``user_id`` lacks a permission in the channel."""
        granted = self.channel_permissions(channel_id, user_id)
        if not granted & perms.VIEW_CHANNEL:
            raise errors.missing_access()
        for bit in needed:
            if not granted & bit:
                raise errors.missing_permissions()
        return granted

    # --- messages --------------------------------------------------------------------------

    def message_payload(self, msg: Message, *, gateway: bool = False, depth: int = 0) -> dict[str, Any]:
        """"Resources > Message > Message Object"; gateway events add guild_id and member."""
        guild = self.guilds.get(msg.guild_id)
        data: dict[str, Any] = {
            "id": str(msg.id),
            "channel_id": str(msg.channel_id),
            "author": msg.author.payload(),
            "content": msg.content,
            "timestamp": iso(msg.created_at),
            "edited_timestamp": iso(msg.edited_at),
            "tts": False,
            "mention_everyone": msg.mention_everyone,
            "mentions": [],
            "mention_roles": [str(r) for r in msg.mention_role_ids],
            "attachments": [a.payload(self.cdn_base, msg.channel_id) for a in msg.attachments],
            "embeds": [rich_embed(e) for e in msg.embeds],
            "pinned": False,
            "type": msg.type,
            "flags": msg.flags,
            "components": numbered_components(msg.components),
        }
        for user_id in msg.mention_ids:
            user = self.users.get(user_id)
            if user is None:
                continue
            mention = user.payload()
            if gateway and guild is not None and user_id in guild.members:
                mention["member"] = guild.members[user_id].payload(with_user=False)
            data["mentions"].append(mention)
        if msg.nonce is not None:
            data["nonce"] = msg.nonce
        if msg.webhook_id is not None:
            data["webhook_id"] = str(msg.webhook_id)
            data["application_id"] = str(self.application_id)
        if msg.reactions:
            data["reactions"] = [
                {
                    "emoji": {"id": None, "name": emoji},
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": self.bot.id in users,
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, users in msg.reactions.items()
                if users
            ]
        if msg.reference is not None:
            data["message_reference"] = msg.reference
            if msg.type == REPLY and depth == 0:
                referenced = self.messages.get(msg.referenced_message_id or 0)
                data["referenced_message"] = (
                    self.message_payload(referenced, depth=1) if referenced is not None else None
                )
        if msg.thread_id is not None and msg.thread_id in self.channels:
            data["thread"] = self.channels[msg.thread_id].payload()
        if msg.interaction_metadata is not None:
            data["interaction_metadata"] = msg.interaction_metadata
            data["interaction"] = {
                "id": msg.interaction_metadata["id"],
                "type": msg.interaction_metadata["type"],
                "name": msg.interaction_metadata.get("name", ""),
                "user": msg.interaction_metadata["user"],
            }
        channel = self.channels.get(msg.channel_id)
        if channel is not None and channel.is_thread:
            data["position"] = max(channel.total_message_sent - 1, 0)
        if gateway and guild is not None:
            data["guild_id"] = str(guild.id)
            member = guild.members.get(msg.author.id)
            if member is not None and msg.webhook_id is None:
                data["member"] = member.payload(with_user=False)
        return data

    def _message_context(self, msg: Message) -> DispatchContext:
        return DispatchContext(
            GUILD_MESSAGES,
            msg.guild_id,
            author_id=msg.author.id,
            mention_ids=tuple(msg.mention_ids),
            message=msg,
        )

    def _mentions(
        self, guild: Guild, author_id: int, content: str, allowed: dict[str, Any] | None, replied_author: int | None
    ) -> tuple[list[int], list[int], bool]:
        """Who a message pings, honouring ``allowed_mentions`` ("Allowed Mentions Object")."""
        parse = ["users", "roles", "everyone"] if allowed is None else list(allowed.get("parse", []))
        allowed_users = {int(u) for u in (allowed or {}).get("users", [])}
        allowed_roles = {int(r) for r in (allowed or {}).get("roles", [])}
        users = []
        for match in _USER_MENTION.finditer(content):
            user_id = int(match.group(1))
            if user_id in guild.members and ("users" in parse or user_id in allowed_users) and user_id not in users:
                users.append(user_id)
        roles = []
        for match in _ROLE_MENTION.finditer(content):
            role_id = int(match.group(1))
            if role_id in guild.roles and ("roles" in parse or role_id in allowed_roles) and role_id not in roles:
                roles.append(role_id)
        if replied_author is not None and replied_author not in users:
            if allowed is None or allowed.get("replied_user", False):
                users.append(replied_author)
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        return users, roles, everyone

    def create_message(
        self,
        channel_id: int,
        author_id: int,
        *,
        content: str = "",
        embeds: list[dict[str, Any]] | None = None,
        components: list[dict[str, Any]] | None = None,
        attachments: list[Attachment] | None = None,
        reply_to: int | None = None,
        fail_if_not_exists: bool = True,
        nonce: str | int | None = None,
        enforce_nonce: bool = False,
        allowed_mentions: dict[str, Any] | None = None,
        flags: int = 0,
        check_permissions: bool = True,
    ) -> Message:
        """Post a message as ``author_id`` ("Resources > Message > Create Message").

        With ``enforce_nonce`` a repeat of the same nonce by the same author within a few
        minutes returns the message created the first time instead of a duplicate.
        """
        channel = self.channel(channel_id)
        guild = self.guild(channel.guild_id)
        if check_permissions:
            send = perms.SEND_MESSAGES_IN_THREADS if channel.is_thread else perms.SEND_MESSAGES
            needed = [send]
            if attachments:
                needed.append(perms.ATTACH_FILES)
            if reply_to is not None:
                needed.append(perms.READ_MESSAGE_HISTORY)
            granted = self.require(channel_id, author_id, *needed)
            if channel.is_thread and channel.locked and not granted & perms.MANAGE_THREADS:
                raise errors.thread_archived()
            if embeds and not granted & perms.EMBED_LINKS:
                embeds = []  # Discord drops embeds silently without Embed Links.
        if len(content) > MAX_CONTENT_LENGTH:
            raise errors.field_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        if not content and not embeds and not attachments and not components:
            raise errors.empty_message()
        if nonce is not None and enforce_nonce:
            key = (channel_id, author_id, str(nonce))
            seen = self._nonces.get(key)
            if seen is not None and time.monotonic() - seen[0] < NONCE_WINDOW_SECONDS and seen[1] in self.messages:
                return self.messages[seen[1]]
        reference = None
        replied_author = None
        msg_type = DEFAULT
        if reply_to is not None:
            referenced = self.messages.get(reply_to)
            if referenced is None or referenced.channel_id != channel_id:
                if fail_if_not_exists:
                    raise errors.field_error(
                        "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                    )
            else:
                reference = {
                    "type": 0,
                    "message_id": str(reply_to),
                    "channel_id": str(channel_id),
                    "guild_id": str(guild.id),
                }
                replied_author = referenced.author.id
                msg_type = REPLY
        mention_ids, role_ids, everyone = self._mentions(guild, author_id, content, allowed_mentions, replied_author)
        msg = Message(
            id=self.new_id(),
            channel_id=channel_id,
            guild_id=guild.id,
            author=self.users[author_id],
            content=content,
            type=msg_type,
            embeds=list(embeds or []),
            components=list(components or []),
            attachments=list(attachments or []),
            mention_ids=mention_ids,
            mention_role_ids=role_ids,
            mention_everyone=everyone,
            nonce=nonce,
            flags=flags & SUPPRESS_NOTIFICATIONS,
            reference=reference,
            referenced_message_id=reply_to if reference else None,
        )
        if nonce is not None and enforce_nonce:
            self._nonces[(channel_id, author_id, str(nonce))] = (time.monotonic(), msg.id)
        self._store(channel, msg)
        return msg

    def _store(self, channel: Channel, msg: Message) -> None:
        self.messages[msg.id] = msg
        channel.message_ids.append(msg.id)
        channel.last_message_id = msg.id
        if channel.is_thread:
            channel.message_count += 1
            channel.total_message_sent += 1
            if channel.archived and not channel.locked:
                # Sending a message to an archived, unlocked thread unarchives it.
                channel.archived = False
                channel.archive_timestamp = utcnow()
                self.dispatch("THREAD_UPDATE", channel.payload(), DispatchContext(GUILDS, channel.guild_id))
        self.dispatch("MESSAGE_CREATE", self.message_payload(msg, gateway=True), self._message_context(msg))
        if channel.is_thread and msg.author.id not in channel.thread_members and msg.webhook_id is None:
            self.add_thread_member(channel.id, msg.author.id)

    def store_system_message(self, channel: Channel, msg: Message) -> None:
        """Store a message the sandbox writes itself (thread notices, interaction replies)."""
        self._store(channel, msg)

    def edit_message(
        self,
        channel_id: int,
        message_id: int,
        editor_id: int,
        *,
        fields: dict[str, Any],
        attachments: list[Attachment] | None = None,
        check_author: bool = True,
    ) -> Message:
        """Edit a message ("Edit Message"); only its author may change content."""
        msg = self.message(channel_id, message_id)
        self.require(channel_id, editor_id)
        if check_author and msg.author.id != editor_id:
            raise errors.cannot_edit_others_message()
        self.apply_edit(msg, fields, attachments)
        return msg

    def apply_edit(self, msg: Message, fields: dict[str, Any], attachments: list[Attachment] | None = None) -> None:
        """Change a message's fields and announce MESSAGE_UPDATE (the full message, as today)."""
        if "content" in fields:
            content = fields["content"] or ""
            if len(content) > MAX_CONTENT_LENGTH:
                raise errors.field_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
            msg.content = content
        if "embeds" in fields:
            msg.embeds = list(fields["embeds"] or [])
        if "components" in fields:
            msg.components = list(fields["components"] or [])
        if "flags" in fields and fields["flags"] is not None:
            msg.flags = (msg.flags & (EPHEMERAL | LOADING)) | (int(fields["flags"]) & ~(EPHEMERAL | LOADING))
        if "attachments" in fields and fields["attachments"] is not None:
            # The list names the attachments to keep, by id; new uploads arrive as files.
            keep = {int(a["id"]) for a in fields["attachments"] if str(a.get("id", "")).isdigit()}
            msg.attachments = [a for a in msg.attachments if a.id in keep]
        if attachments:
            msg.attachments.extend(attachments)
        msg.flags &= ~LOADING
        msg.edited_at = utcnow()
        if msg.visible_to is None:
            self.dispatch("MESSAGE_UPDATE", self.message_payload(msg, gateway=True), self._message_context(msg))
        else:
            self.dispatch("EPHEMERAL_UPDATE", {"id": str(msg.id)}, DispatchContext(INTERNAL, msg.guild_id, message=msg))

    def delete_message(self, channel_id: int, message_id: int, actor_id: int, *, check: bool = True) -> None:
        """Delete a message ("Delete Message"): the author, or anyone with Manage Messages."""
        msg = self.message(channel_id, message_id)
        if check and msg.author.id != actor_id:
            self.require(channel_id, actor_id, perms.MANAGE_MESSAGES)
        del self.messages[message_id]
        channel = self.channel(channel_id)
        index = bisect.bisect_left(channel.message_ids, message_id)
        if index < len(channel.message_ids) and channel.message_ids[index] == message_id:
            del channel.message_ids[index]
        if channel.is_thread:
            channel.message_count = max(channel.message_count - 1, 0)
        self.dispatch(
            "MESSAGE_DELETE",
            {"id": str(message_id), "channel_id": str(channel_id), "guild_id": str(msg.guild_id)},
            DispatchContext(GUILD_MESSAGES, msg.guild_id),
        )

    def history(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[Message]:
        """"Get Channel Messages": newest first, at most ``limit``, relative to one anchor.

        ``after`` returns the ``limit`` messages immediately after the anchor (still newest
        first); ``around`` centres on the anchor and includes it if it exists.
        """
        ids = self.channel(channel_id).message_ids
        if around is not None:
            centre = bisect.bisect_left(ids, around)
            older = ids[max(centre - limit // 2, 0) : centre]
            window = older + ids[centre : centre + limit - len(older)]
        elif after is not None:
            start = bisect.bisect_right(ids, after)
            window = ids[start : start + limit]
        else:
            end = bisect.bisect_left(ids, before) if before is not None else len(ids)
            window = ids[max(end - limit, 0) : end]
        return [self.messages[i] for i in reversed(window)]

    # --- reactions -------------------------------------------------------------------------

    def add_reaction(self, channel_id: int, message_id: int, user_id: int, emoji: str) -> None:
        """Add a unicode emoji reaction ("Create Reaction")."""
        msg = self.message(channel_id, message_id)
        granted = self.require(channel_id, user_id, perms.READ_MESSAGE_HISTORY)
        users = msg.reactions.setdefault(emoji, [])
        if user_id in users:
            return
        if not users and not granted & perms.ADD_REACTIONS:
            raise errors.missing_permissions()
        users.append(user_id)
        guild = self.guild(msg.guild_id)
        data = {
            "user_id": str(user_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "guild_id": str(guild.id),
            "emoji": {"id": None, "name": emoji},
            "message_author_id": str(msg.author.id),
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if user_id in guild.members:
            data["member"] = guild.members[user_id].payload()
        self.dispatch("MESSAGE_REACTION_ADD", data, DispatchContext(GUILD_MESSAGE_REACTIONS, guild.id))

    def remove_reaction(self, channel_id: int, message_id: int, user_id: int, emoji: str) -> None:
        msg = self.message(channel_id, message_id)
        users = msg.reactions.get(emoji, [])
        if user_id not in users:
            return
        users.remove(user_id)
        if not users:
            del msg.reactions[emoji]
        self.dispatch(
            "MESSAGE_REACTION_REMOVE",
            {
                "user_id": str(user_id),
                "channel_id": str(channel_id),
                "message_id": str(message_id),
                "guild_id": str(msg.guild_id),
                "emoji": {"id": None, "name": emoji},
                "burst": False,
                "type": 0,
            },
            DispatchContext(GUILD_MESSAGE_REACTIONS, msg.guild_id),
        )

    # --- threads ---------------------------------------------------------------------------

    def create_thread(
        self,
        parent_id: int,
        creator_id: int,
        *,
        name: str,
        type: int = PUBLIC_THREAD,
        message_id: int | None = None,
        auto_archive_duration: int = 1440,
        invitable: bool = True,
        rate_limit_per_user: int = 0,
    ) -> Channel:
        """Start a thread from a message or in a channel ("Start Thread from Message",
        "Start Thread without Message"); the creator joins it."""
        parent = self.channel(parent_id)
        if parent.is_thread or parent.type != GUILD_TEXT:
            raise errors.APIError(400, 50024, "Cannot execute action on this channel type")
        needed = perms.CREATE_PRIVATE_THREADS if type == PRIVATE_THREAD else perms.CREATE_PUBLIC_THREADS
        extra = (perms.READ_MESSAGE_HISTORY,) if message_id is not None else ()
        self.require(parent_id, creator_id, needed, *extra)
        if not name or len(name) > 100:
            raise errors.field_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if auto_archive_duration not in (60, 1440, 4320, 10080):
            raise errors.field_error(
                "auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of {60, 1440, 4320, 10080}."
            )
        starter = None
        if message_id is not None:
            starter = self.message(parent_id, message_id)
            if starter.thread_id is not None:
                raise errors.thread_already_created()
            thread_id = message_id  # A thread started from a message shares its id.
        else:
            thread_id = self.new_id()
        thread = Channel(
            id=thread_id,
            guild_id=parent.guild_id,
            type=type,
            name=name,
            parent_id=parent_id,
            owner_id=creator_id,
            auto_archive_duration=auto_archive_duration,
            invitable=invitable,
            rate_limit_per_user=rate_limit_per_user or 0,
            archive_timestamp=utcnow(),
        )
        thread.thread_members[creator_id] = utcnow()
        self.channels[thread.id] = thread
        payload = thread.payload()
        payload["newly_created"] = True
        if creator_id == self.bot.id:
            payload["member"] = thread.thread_member_payload(creator_id)
        self.dispatch("THREAD_CREATE", payload, DispatchContext(GUILDS, parent.guild_id))
        if starter is not None:
            starter.thread_id = thread.id
            self.dispatch(
                "MESSAGE_UPDATE", self.message_payload(starter, gateway=True), self._message_context(starter)
            )
        elif type == PUBLIC_THREAD:
            notice = Message(
                id=self.new_id(),
                channel_id=parent_id,
                guild_id=parent.guild_id,
                author=self.users[creator_id],
                content=name,
                type=THREAD_CREATED,
                reference={"channel_id": str(thread.id), "guild_id": str(parent.guild_id)},
            )
            self._store(parent, notice)
        return thread

    def update_thread(self, thread_id: int, actor_id: int, changes: dict[str, Any]) -> Channel:
        """Rename, archive, lock or unlock a thread ("Modify Channel > Thread")."""
        thread = self.channel(thread_id)
        if not thread.is_thread:
            raise errors.APIError(400, 50024, "Cannot execute action on this channel type")
        granted = self.require(thread_id, actor_id)
        is_manager = bool(granted & perms.MANAGE_THREADS)
        if not is_manager and (thread.owner_id != actor_id or "locked" in changes or thread.locked):
            raise errors.missing_permissions()
        if "name" in changes and changes["name"]:
            thread.name = str(changes["name"])[:100]
        if "archived" in changes and changes["archived"] is not None:
            archived = bool(changes["archived"])
            if archived != thread.archived:
                thread.archived = archived
                thread.archive_timestamp = utcnow()
        if "locked" in changes and changes["locked"] is not None:
            thread.locked = bool(changes["locked"])
        if changes.get("auto_archive_duration"):
            thread.auto_archive_duration = int(changes["auto_archive_duration"])
        if "rate_limit_per_user" in changes and changes["rate_limit_per_user"] is not None:
            thread.rate_limit_per_user = int(changes["rate_limit_per_user"])
        if "invitable" in changes and changes["invitable"] is not None:
            thread.invitable = bool(changes["invitable"])
        self.dispatch("THREAD_UPDATE", thread.payload(), DispatchContext(GUILDS, thread.guild_id))
        return thread

    def add_thread_member(self, thread_id: int, user_id: int, *, actor_id: int | None = None) -> None:
        """Add someone to a thread ("Join Thread", "Add Thread Member")."""
        thread = self.channel(thread_id)
        if not thread.is_thread:
            raise errors.APIError(400, 50024, "Cannot execute action on this channel type")
        if actor_id is not None:
            if thread.archived:
                raise errors.thread_archived()
            self.require(thread_id, actor_id)
        if user_id not in self.guild(thread.guild_id).members:
            raise errors.unknown_member()
        if user_id in thread.thread_members:
            return
        thread.thread_members[user_id] = utcnow()
        member = thread.thread_member_payload(user_id)
        self._announce_thread_members(thread, added=[member], removed=[], user_id=user_id)

    def remove_thread_member(self, thread_id: int, user_id: int, *, actor_id: int | None = None) -> None:
        thread = self.channel(thread_id)
        if actor_id is not None and actor_id != user_id:
            self.require(thread_id, actor_id, perms.MANAGE_THREADS)
        if thread.thread_members.pop(user_id, None) is None:
            return
        self._announce_thread_members(thread, added=[], removed=[str(user_id)], user_id=user_id)

    def _announce_thread_members(
        self, thread: Channel, *, added: list[dict[str, Any]], removed: list[str], user_id: int
    ) -> None:
        data = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": min(len(thread.thread_members), 50),
        }
        if added:
            data["added_members"] = added
        if removed:
            data["removed_member_ids"] = removed
        self.dispatch(
            "THREAD_MEMBERS_UPDATE", data, DispatchContext(GUILDS, thread.guild_id, concerns_user_ids=(user_id,))
        )

    def threads_of(self, guild_id: int, *, archived: bool | None = None, parent_id: int | None = None) -> list[Channel]:
        return [
            c
            for c in self.channels.values()
            if c.is_thread
            and c.guild_id == guild_id
            and (archived is None or c.archived == archived)
            and (parent_id is None or c.parent_id == parent_id)
        ]

    # --- payloads for the gateway ----------------------------------------------------------

    def guild_payload(self, guild_id: int, *, all_members: bool) -> dict[str, Any]:
        """GUILD_CREATE's guild ("Gateway Events > Guild Create"): channels, threads, roles.

        Without the presence intent Discord only lists the bot itself in ``members``; the rest
        arrive through Request Guild Members, which discord.py does when members are enabled.
        """
        guild = self.guild(guild_id)
        members = list(guild.members.values()) if all_members else [guild.members[self.bot.id]]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "max_presences": None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "region": "deprecated",
            "home_header": None,
            "widget_enabled": False,
            "widget_channel_id": None,
            "nsfw": False,
            "incidents_data": None,
            "application_id": None,
            "roles": [r.payload() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "soundboard_sounds": [],
            "joined_at": iso(guild.members[self.bot.id].joined_at),
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [m.payload() for m in members],
            "channels": [self.channels[c].payload() for c in guild.channel_ids],
            "threads": [t.payload() for t in self.threads_of(guild_id, archived=False)],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [self.scheduled_event_payload(e) for e in guild.scheduled_events.values()],
        }

    def scheduled_event_payload(self, event: ScheduledEvent, *, with_user_count: bool = False) -> dict[str, Any]:
        """"Resources > Guild Scheduled Event > Guild Scheduled Event Object"."""
        data: dict[str, Any] = {
            "id": str(event.id),
            "guild_id": str(event.guild_id),
            "channel_id": str(event.channel_id) if event.channel_id else None,
            "creator_id": str(event.creator_id),
            "creator": self.users[event.creator_id].payload(),
            "name": event.name,
            "description": event.description,
            "scheduled_start_time": iso(event.scheduled_start_time),
            "scheduled_end_time": iso(event.scheduled_end_time),
            "privacy_level": event.privacy_level,
            "status": event.status,
            "entity_type": event.entity_type,
            "entity_id": None,
            "entity_metadata": {"location": event.location} if event.location else None,
            "image": None,
            "recurrence_rule": None,
            "guild_scheduled_event_exceptions": [],
        }
        if with_user_count:
            data["user_count"] = len(event.interested_user_ids)
        return data

    def application_payload(self) -> dict[str, Any]:
        """"Resources > Application > Application Object" for the sandbox's bot."""
        flags = 0
        # "Application Flags": the *_LIMITED bits mean the privileged intent is switched on.
        if self.presence_intent_enabled:
            flags |= 1 << 13
        if self.members_intent_enabled:
            flags |= 1 << 15
        if self.message_content_enabled:
            flags |= 1 << 19
        return {
            "id": str(self.application_id),
            "name": self.application_name,
            "icon": None,
            "description": "Runs tweetchats (sandbox application).",
            "summary": "",
            "type": None,
            "bot": self.bot.payload(),
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.owner.payload(),
            "team": None,
            "flags": flags,
            "rpc_origins": [],
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "role_connections_verification_url": None,
            "integration_types_config": {"0": {}},
            "flags_new": str(flags),
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
        }
