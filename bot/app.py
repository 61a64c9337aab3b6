"""The bot process: the discord.py Bot subclass that wires the core to Discord.

`setup_hook` opens the store, starts the answer writer and the step dispatcher, loads the
extensions in `bot/exts/` and syncs the slash commands. `close` stops the dispatcher after
the step in flight, writes the queued answers and closes the database.

We use discord.py's AutoShardedBot: with one process it connects as many shards as
Discord recommends (one below 2,500 servers). Several processes may share one database,
each with its shards (TWEETCHAT_SHARDS): the dispatcher posts for the servers of the shards
it holds a lease on and takes over a dead process's (bot/store/_leases.py, docs/scaling.md).
Every REST request but interaction responses is paced under Discord's global limit
(bot.run.pacing), each process at its shards' share of it.
"""

from __future__ import annotations

import asyncio
import math
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import discord
from discord.ext import commands

from bot.answers import AnswerWriter
from bot.config import Settings
from bot.exts._poster import DiscordPoster
from bot.run.control import ChatControl
from bot.guidance import GuidanceLibrary
from bot.run.pacing import GLOBAL_REQUESTS_PER_SECOND, Pacer
from bot.run.dispatcher import Dispatcher, ScaledClock, SystemClock
from bot.run.series import SeriesControl
from bot.store import ShardRange, Store

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.exts.answers", "bot.exts.tweetchat", "bot.exts.guidance",
              "bot.exts.privacy", "bot.exts.catchup", "bot.exts.reminders",
              "bot.exts.confidentiality", "bot.exts.cpd")


def intents() -> discord.Intents:
    """Guilds, guild messages and the privileged Message Content intent; nothing else."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


def point_at(settings: Settings) -> None:
    """Use the configured REST and gateway URLs (the sandbox in tests and the demo)."""
    import yarl

    discord.http.Route.BASE = settings.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


# The bot never joins voice: discord.py's warnings about missing voice libraries are noise.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class GatewayTurns:
    """A gateway socket (aiohttp's) that gives the event loop a turn every few events.

    discord.py reads gateway events in a loop that does not yield while events are waiting:
    during a burst of thousands of answers a shard held the loop for 0.2-2.8 s at a time,
    and a step falling due waited that long. Every :data:`EVENTS_PER_TURN` events this
    socket lets whatever is ready run first (a due step, the answer writer's commit)."""

    EVENTS_PER_TURN = 32

    def __init__(self, socket) -> None:
        self._socket = socket
        self._since_turn = 0

    def __getattr__(self, name: str):
        return getattr(self._socket, name)

    async def receive(self, *args, **kwargs):
        self._since_turn += 1
        if self._since_turn >= self.EVENTS_PER_TURN:
            self._since_turn = 0
            await asyncio.sleep(0)
        return await self._socket.receive(*args, **kwargs)


class TweetchatBot(commands.AutoShardedBot):
    """The tweetchat bot."""

    def __init__(self, settings: Settings, *, clock: SystemClock | None = None,
                 data_dir: Path | None = None, **options) -> None:
        """
        :param settings: validated settings.
        :param clock: the clock for the dispatcher (default: the system clock).
        :param data_dir: where chat files (``chats/``) and the guidance knowledge file
            (``guidance.toml``) are found (default: the settings' data folder).
        :param options: passed to discord.py (e.g. ``guild_ready_timeout`` in tests).
        """
        if settings.shards is not None:  # one of several processes: its shards only
            options.setdefault("shard_ids", list(settings.shards[0]))
            options.setdefault("shard_count", settings.shards[1])
        super().__init__(
            **options,
            command_prefix=commands.when_mentioned,
            intents=intents(),
            # Nothing the bot posts may ping anyone: member text ends up in our posts.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.settings = settings
        # The global limit is the bot token's, shared by every process: each of several
        # takes the share of its home shards.
        share = len(settings.shards[0]) / settings.shards[1] if settings.shards else 1.0
        self.pacer = Pacer(GLOBAL_REQUESTS_PER_SECOND * share)
        self._pace_requests()
        self._share_the_loop()
        if clock is None and settings.clock_speed != 1:
            clock = ScaledClock(settings.clock_speed, settings.clock_origin)
        self.clock = clock or SystemClock()
        self.data_dir = data_dir or settings.data_dir
        self.store: Store | None = None
        self.dispatcher: Dispatcher | None = None
        self.writer: AnswerWriter | None = None
        self.control: ChatControl | None = None
        self.series: SeriesControl | None = None
        self.guidance: GuidanceLibrary | None = None
        self._dispatch_task: asyncio.Task | None = None
        self._heartbeat_task: asyncio.Task | None = None
        self._watch_task: asyncio.Task | None = None
        self.ready_once = asyncio.Event()
        # Read every arriving message, in the gateway's own call (see dispatch).
        self.message_readers: list[Callable[[discord.Message], None]] = []

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def on_message(self):
        """The bot has no prefix commands, so it has no message handler of its own:
        discord.py then neither parses every message for a command nor schedules a task per
        message to do nothing (it skips a handler it cannot find). Answers and the nudge
        read messages as :attr:`message_readers`."""
        raise AttributeError("on_message")

    def dispatch(self, event_name: str, /, *args, **kwargs) -> None:
        """As discord.py's, but an arriving message is first handed to each of
        :attr:`message_readers`, synchronous functions called here and now: a listener
        would cost a task per message and reader (a burst of answers is thousands a
        second). A reader must not block; one that fails is logged and the others run."""
        if event_name == "message":
            for read in self.message_readers:
                try:
                    read(*args)
                except Exception:  # noqa: BLE001 - one reader's bug must not lose answers
                    log.exception("reading message %s failed in %s", getattr(args[0], "id", "?"),
                                  getattr(read, "__qualname__", read))
        super().dispatch(event_name, *args, **kwargs)

    # Interaction responses are not counted in Discord's global limit (and must answer
    # within 3 s): they are never held back.
    UNPACED = ("/interactions/", "/webhooks/")

    def _pace_requests(self) -> None:
        """Every other REST request waits for its slot under Discord's global limit
        (bot.run.pacing), so many chats posting at once never meet a global 429."""
        send = self.http.request

        async def paced(route, **kwargs):
            if not route.path.startswith(self.UNPACED):
                await self.pacer.wait()
            return await send(route, **kwargs)

        self.http.request = paced

    def _share_the_loop(self) -> None:
        """Gateway sockets that let the rest of the bot run between events (GatewayTurns)."""
        connect = self.http.ws_connect

        async def taking_turns(url, **kwargs):
            return GatewayTurns(await connect(url, **kwargs))

        self.http.ws_connect = taking_turns

    def _related_guidance(self, question) -> list[tuple[str, str]]:
        """Guidance shown with a chat question (the chat file's choice, or a sure match)."""
        if self.guidance is None:
            return []
        return [(e.id, e.title) for e in self.guidance.index.related(question.text, question.guidance)]

    async def setup_hook(self) -> None:
        # An invalid knowledge file stops the start here, with every problem named.
        self.guidance = GuidanceLibrary(self.data_dir / "guidance.toml")
        self.store = Store(self.settings.database)
        # Answers are written off the event loop, on a connection of the writer's own.
        database = self.settings.database
        own = None if str(database) == ":memory:" else (lambda: Store(database, beside_bot=True))
        self.writer = AnswerWriter(self.store, self.now, opted_out=self.store.is_opted_out, own_store=own)
        self.writer.start()
        self.series = SeriesControl(self.store, self.now)
        shards = (ShardRange(frozenset(self.settings.shards[0]), self.settings.shards[1])
                  if self.settings.shards else None)
        self.dispatcher = Dispatcher(self.store, DiscordPoster(self), self.clock,
                                     related=self._related_guidance, series=self.series, shards=shards)
        self.series.wake = self.dispatcher.wake
        self.control = ChatControl(self.store, self.now, self.dispatcher.wake,
                                   chat_over=self.series.top_up_after)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        self._dispatch_task = asyncio.create_task(self._run_dispatcher(), name="dispatcher")
        self._heartbeat_task = asyncio.create_task(self._heartbeat(), name="heartbeat")
        self._watch_task = asyncio.create_task(self._watch_ledger(), name="ledger watch")

    # How often the bot looks for ledger changes made by `tweetchat chat ...` (real seconds).
    LEDGER_WATCH_SECONDS = 2.0

    async def _watch_ledger(self) -> None:
        """Wake the dispatcher when another process (the operator's command line) changed
        the ledger, so a pause or skip there takes effect within seconds."""
        seen = None
        audited = self.store.last_audit_id()
        while True:
            try:
                version = self.store.ledger_version()
                if seen is not None and version != seen:
                    log.info("the ledger was changed from the command line; re-reading it")
                    self.dispatcher.wake()
                    audited = await self._follow_operator(audited)
                seen = version
            except Exception as exc:  # noqa: BLE001 - a locked database: look again later
                log.debug("ledger watch: %s", exc)
            await asyncio.sleep(self.LEDGER_WATCH_SECONDS)

    # The audit actions of `tweetchat chat ...` and the slash command each mirrors.
    _OPERATIONS = {"paused": "pause", "resumed": "resume", "skipped ahead": "skip",
                   "stopped early": "stop", "cancelled": "cancel"}

    async def _follow_operator(self, audited: int) -> int:
        """Bring each changed chat's Scheduled Event in step, as the slash command would."""
        cog = self.get_cog("TweetchatCommands")
        for audit_id, guild_id, chat_id, action in self.store.operator_changes_since(audited):
            audited = audit_id
            guild = self.get_guild(guild_id)
            if action in self._OPERATIONS and guild is not None and cog is not None:
                await cog.sync_event(guild, self.store.chat(guild_id, chat_id), self._OPERATIONS[action])
        return audited

    # How often the running bot records its heartbeat for `tweetchat health`.
    HEARTBEAT_SECONDS = 30.0

    async def _heartbeat(self) -> None:
        """Record, every HEARTBEAT_SECONDS of real time, that this process is alive, and
        whether its gateway and dispatcher are; a failed write is retried next time."""
        started = datetime.now(timezone.utc)
        while True:
            gateway_ok = self.is_ready() and not self.is_closed() and math.isfinite(self.latency)
            try:
                self.store.beat(now=datetime.now(timezone.utc), started_at=started,
                                gateway_ok=gateway_ok, dispatcher_alive=self.dispatcher.alive,
                                dispatcher_restarts=self.dispatcher.restarts)
            except Exception as exc:  # noqa: BLE001 - a locked or full disk: try again later
                log.warning("could not record the heartbeat (%s); retrying in %.0f s",
                            exc, self.HEARTBEAT_SECONDS)
            await asyncio.sleep(self.HEARTBEAT_SECONDS)

    async def _run_dispatcher(self) -> None:
        await self.wait_until_ready()
        await self.dispatcher.supervise()

    async def sync_commands(self) -> None:
        """Sync slash commands: to the development server if one is set, else globally."""
        if self.settings.dev_guild_id:
            guild = discord.Object(self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to server %s", len(synced), self.settings.dev_guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally", len(synced))

    async def on_ready(self) -> None:
        log.info("logged in as %s (%s) in %d servers", self.user, getattr(self.user, "id", "?"),
                 len(self.guilds))
        self.ready_once.set()

    async def close(self) -> None:
        """Finish the step in flight, write queued answers, close the database."""
        for task in (self._heartbeat_task, self._watch_task):
            if task is not None:
                task.cancel()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self._dispatch_task is not None:
            try:
                await asyncio.wait_for(self._dispatch_task, 10)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
        if self.writer is not None:
            await self.writer.close()
        await super().close()
        if self.store is not None:
            self.store.close()
        log.info("closed cleanly")

