"""The :class:`Sandbox`: a Discord-compatible REST + gateway server on loopback.

    async with Sandbox() as sb:
        point_discord_at(sb)               # bot.sandbox.client, on the client side
        await client.start(sb.bot_token)   # an unmodified discord.py client
        await sb.member("pat").send("hello")

One aiohttp server on 127.0.0.1 and a free port serves ``/api/v10`` (REST), ``/`` and
``/resume/`` (gateway), ``/attachments`` (the CDN) and, when asked, ``/room/`` (the
rehearsal room, room.py). Everything lives in memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from . import permissions as perms
from . import state as st
from .dms import DirectMessages
from .events import ScheduledEvents
from .faults import Faults
from .gateway import Gateway, GatewayOptions
from .interactions import Interactions
from .members import ScriptedMember
from .ratelimit import RateLimiter, RateLimits
from .rest import RestAPI
from .room import Room


LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class SandboxConfig:
    """How a sandbox starts; every field has a default fit for tests."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port chosen by the OS
    guild_name: str = "Physiotalk"
    channel_name: str = "tweetchat"
    # Gateway: Discord's HELLO says about 41 s; tests may shorten it.
    heartbeat_interval_ms: int = 41250
    heartbeat_ack_ms: float = 20.0  # a network round trip, as Discord's ACK takes
    resume_window: float = 120.0
    replay_buffer: int = 50_000
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # Discord's 3-second limit on the initial interaction response.
    interaction_deadline: float = 3.0
    bot_permissions: int = perms.BOT_DEFAULT
    moderator_permissions: int = perms.MODERATOR_DEFAULT
    # The app's privileged-intent switches ("Developer Portal > Bot > Privileged Gateway Intents").
    message_content_enabled: bool = True
    members_intent_enabled: bool = True
    presence_intent_enabled: bool = True
    moderators: tuple[str, ...] = ("maya",)
    members: tuple[str, ...] = ("pat", "sam")
    # Seconds added to every REST request, as the round trip to a remote Discord adds.
    rest_latency: float = 0.0
    # The rehearsal room (room.py): the sandbox as a web page at /room/.
    room: bool = False


class Sandbox:
    """A running (or ready to run) sandboxed Discord with one guild and scripted members.

    Attributes after start: ``api_base``, ``gateway_url``, ``bot_token``, ``guild_id``,
    ``channel_id`` (#tweetchat), ``general_channel_id``, ``voice_channel_id``,
    ``application_id``, ``bot_user_id``, ``moderator_role_id``, and ``world``,
    ``gateway``, ``faults``, ``rate_limiter``, ``interactions``, ``scheduled_events``.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        self.config = config or SandboxConfig(**overrides)
        if config is not None and overrides:
            raise TypeError("pass either a SandboxConfig or keyword overrides, not both")
        cfg = self.config
        self.world = world = st.World()
        world.message_content_enabled = cfg.message_content_enabled
        world.members_intent_enabled = cfg.members_intent_enabled
        world.presence_intent_enabled = cfg.presence_intent_enabled
        self.faults = Faults()
        self.rate_limiter = RateLimiter(cfg.rate_limits)
        self.interactions = Interactions(world, response_deadline=cfg.interaction_deadline)
        self.scheduled_events = ScheduledEvents(world)
        self._port = 0
        self.gateway = Gateway(
            world,
            self.faults,
            GatewayOptions(cfg.heartbeat_interval_ms, cfg.resume_window, cfg.replay_buffer,
                           cfg.heartbeat_ack_ms / 1000),
            lambda: self.gateway_url,
        )
        self.faults.gateway = self.gateway
        self.rest = RestAPI(world, self.interactions, self.gateway, self.faults, self.rate_limiter,
                            lambda: self.gateway_url)
        self.rest.world_events = self.scheduled_events
        self.rest.latency = cfg.rest_latency
        self.dms = self.rest.dms = DirectMessages(world)
        self._members: dict[str, ScriptedMember] = {}
        self._message_waiters: list[tuple[Callable[[st.Message], bool], asyncio.Future[st.Message]]] = []
        world.listeners.append(self._notice_message)
        self._build_world()
        if cfg.room and cfg.host not in LOOPBACK:
            # Anyone who can open the room can act as anyone in it: this machine only.
            raise ValueError(f"the rehearsal room is served on loopback only, not {cfg.host}")
        self.room = Room(self) if cfg.room else None
        self._runner: web.AppRunner | None = None

    # --- the default world -----------------------------------------------------------------

    def _build_world(self) -> None:
        cfg, world = self.config, self.world
        guild = world.create_guild(cfg.guild_name)
        self.guild_id = guild.id
        world.bot_role(guild.id).permissions = cfg.bot_permissions
        self.moderator_role_id = world.add_role(guild.id, "Moderator", cfg.moderator_permissions, announce=False).id
        self.channel_id = world.add_channel(guild.id, cfg.channel_name, topic="Tweetchats happen here").id
        self.general_channel_id = world.add_channel(guild.id, "general").id
        self.voice_channel_id = world.add_channel(guild.id, "voice-lounge", type=st.GUILD_VOICE).id
        for name in cfg.moderators:
            self.add_member(name, moderator=True)
        for name in cfg.members:
            self.add_member(name)

    @property
    def bot_user_id(self) -> int:
        return self.world.bot.id

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def bot_token(self) -> str:
        return self.world.bot_token

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self._port}"

    @property
    def api_base(self) -> str:
        """What discord.py's ``Route.BASE`` should be."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What discord.py's ``DiscordWebSocket.DEFAULT_GATEWAY`` should be."""
        return f"ws://{self.config.host}:{self._port}/"

    # --- members, channels, permissions ----------------------------------------------------

    def add_member(self, name: str, *, moderator: bool = False, role_ids: tuple[int, ...] = ()) -> ScriptedMember:
        """Add a person to the guild (GUILD_MEMBER_ADD) and return them as a scripted member."""
        roles = list(role_ids) + ([self.moderator_role_id] if moderator else [])
        member = self.world.add_member(self.guild_id, name, role_ids=roles, global_name=name.title())
        scripted = ScriptedMember(self, member.user.id)
        self._members[name] = scripted
        return scripted

    def member(self, name: str) -> ScriptedMember:
        """A scripted member by username (``"maya"`` the moderator, ``"pat"``, ``"sam"``)."""
        return self._members[name]

    @property
    def moderator(self) -> ScriptedMember:
        return self._members[self.config.moderators[0]]

    @property
    def members(self) -> dict[str, ScriptedMember]:
        return dict(self._members)

    def add_channel(self, name: str, *, topic: str | None = None) -> int:
        """Add a text channel (CHANNEL_CREATE) and return its id."""
        return self.world.add_channel(self.guild_id, name, topic=topic).id

    def set_bot_permissions(self, permissions: int) -> None:
        """Change the bot's managed role (guild-wide permissions), as an admin would."""
        self.world.update_role(self.guild_id, self.world.bot_role(self.guild_id).id, permissions=permissions)

    def set_bot_channel_permissions(self, channel_id: int, *, allow: int = 0, deny: int = 0) -> None:
        """Put a member overwrite for the bot on a channel, e.g. ``deny=SEND_MESSAGES``."""
        self.world.set_overwrite(channel_id, self.bot_user_id, type=1, allow=allow, deny=deny)

    def history(self, channel_id: int | None = None) -> list[st.Message]:
        """Every stored message in a channel or thread, oldest first."""
        channel = self.world.channel(channel_id or self.channel_id)
        return [self.world.messages[i] for i in channel.message_ids]

    def threads(self, parent_id: int | None = None) -> list[st.Channel]:
        return self.world.threads_of(self.guild_id, parent_id=parent_id)

    # --- waiting ---------------------------------------------------------------------------

    def _notice_message(self, event: str, data: dict[str, Any], context: st.DispatchContext) -> None:
        if event not in ("MESSAGE_CREATE", "EPHEMERAL_CREATE") or context.message is None:
            return
        for entry in list(self._message_waiters):
            predicate, future = entry
            if future.done():
                self._message_waiters.remove(entry)
            elif predicate(context.message):
                future.set_result(context.message)
                self._message_waiters.remove(entry)

    async def wait_for_message(self, predicate: Callable[[st.Message], bool], *, timeout: float = 5.0) -> st.Message:
        """Wait for the next new message (channel or ephemeral) that satisfies ``predicate``."""
        future: asyncio.Future[st.Message] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._message_waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if entry in self._message_waiters:
                self._message_waiters.remove(entry)

    # --- lifecycle -------------------------------------------------------------------------

    async def _start(self) -> "Sandbox":
        app = web.Application(middlewares=[self.rest.middleware], client_max_size=64 * 1024 * 1024)
        self.rest.add_routes(app)
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get("/resume/", self.gateway.handle)
        if self.room is not None:
            self.room.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self._port = server.sockets[0].getsockname()[1]
        self.world.cdn_base = self.base_url
        return self

    @classmethod
    async def start(cls, config: SandboxConfig | None = None, **overrides: Any) -> "Sandbox":
        """Create and start a sandbox: ``sb = await Sandbox.start(heartbeat_interval_ms=500)``."""
        return await cls(config, **overrides)._start()

    async def close(self) -> None:
        """Close gateway connections and stop the server."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "Sandbox":
        return await self._start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
