"""The gateway: websocket sessions as "Topics > Gateway" and "Gateway Events" describe them.

HELLO, IDENTIFY (with intents, privileged intents checked against the application's
settings), READY with ``resume_gateway_url``, GUILD_CREATE, heartbeats and ACKs, sequence
numbers, a per-session replay buffer for RESUME, RECONNECT and INVALID_SESSION, and
``zlib-stream`` transport compression. Dispatches are filtered by the session's intents;
without MESSAGE_CONTENT, message content fields arrive empty ("Message Content Intent").
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import WSMsgType, web

from . import state as st

if TYPE_CHECKING:
    from .faults import Faults

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

# "Opcodes and Status Codes > Gateway Close Event Codes"
UNKNOWN_OPCODE, DECODE_ERROR, NOT_AUTHENTICATED, AUTHENTICATION_FAILED = 4001, 4002, 4003, 4004
ALREADY_AUTHENTICATED, INVALID_API_VERSION, INVALID_INTENTS, DISALLOWED_INTENTS = 4005, 4012, 4013, 4014
INVALID_SHARD = 4010

PRIVILEGED_INTENTS = {st.GUILD_PRESENCES: "presence", st.GUILD_MEMBERS: "members", st.MESSAGE_CONTENT: "content"}
ALL_INTENTS = (1 << 26) - 1

# The fields "Message Content Intent" empties for apps without the intent.
CONTENT_FIELDS = {"content": "", "embeds": [], "attachments": [], "components": []}


@dataclass
class GatewayOptions:
    heartbeat_interval_ms: int = 41250
    # How long a disconnected session stays resumable, and how many events it remembers.
    resume_window: float = 120.0
    replay_buffer: int = 50_000
    # The round trip before a heartbeat's ACK arrives (Discord's is tens of milliseconds).
    heartbeat_ack_delay: float = 0.02


@dataclass
class Session:
    """One identified gateway session; it outlives connections so it can be resumed."""

    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0

    def serves(self, guild_id: int | None) -> bool:
        """Whether this session gets a guild's events: its shard is
        ``(guild_id >> 22) % num_shards`` ("Topics > Gateway > Sharding"); events of no
        guild (DMs) go to shard 0."""
        if not self.shard or self.shard[1] <= 1:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id if guild_id is not None else shard_id == 0
    buffer: deque[tuple[int, str, dict[str, Any]]] = field(default_factory=deque)
    connection: "Connection | None" = None
    disconnected_at: float | None = None
    invalid: bool = False


class Connection:
    """One websocket. All frames go out through :meth:`send`, under a lock, so that
    zlib-stream frames leave in the order they were compressed."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request, compress: bool) -> None:
        self.ws = ws
        self.request = request
        self.path = request.path
        self._compressor = zlib.compressobj() if compress else None
        self._lock = asyncio.Lock()
        self.queue: asyncio.Queue[tuple[int, str, dict[str, Any]] | None] = asyncio.Queue()
        self.session: Session | None = None
        self.writer: asyncio.Task[None] | None = None
        self.acks: set[asyncio.Task[None]] = set()  # heartbeat ACKs on their way
        self.closed = False

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        async with self._lock:
            if self.closed or self.ws.closed:
                return
            if self._compressor is not None:
                data = self._compressor.compress(text.encode()) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    async def close(self, code: int, message: str = "") -> None:
        self.closed = True
        if not self.ws.closed:
            await self.ws.close(code=code, message=message.encode())

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, as a network failure would."""
        self.closed = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class Gateway:
    """Serves gateway connections and turns world events into per-session dispatches."""

    def __init__(self, world: st.World, faults: "Faults", options: GatewayOptions, url: Callable[[], str]) -> None:
        self.world = world
        self.faults = faults
        self.options = options
        self._url = url
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        # What happened, in order ("hello", "identify", "resume", "resume_refused", ...).
        self.log: list[str] = []
        self.connection_paths: list[str] = []
        self.connection_queries: list[dict[str, str]] = []
        self.ready_payloads: deque[dict[str, Any]] = deque(maxlen=10)  # the last READYs sent
        self._changed = asyncio.Event()
        world.listeners.append(self.on_world_event)

    async def _ack_later(self, conn: Connection) -> None:
        try:
            await asyncio.sleep(self.options.heartbeat_ack_delay)
            await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        finally:
            conn.acks.discard(asyncio.current_task())  # type: ignore[arg-type]

    @property
    def resume_url(self) -> str:
        # A distinct path, so tests can tell that a client resumed where READY told it to.
        return self._url() + "resume/"

    def _note(self, what: str) -> None:
        self.log.append(what)
        self._changed.set()

    async def wait_for(self, what: str, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``what`` has happened ``count`` times in total (e.g. ``"resumed"``)."""

        async def waiter() -> None:
            while self.log.count(what) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(waiter(), timeout)

    # --- dispatch --------------------------------------------------------------------------

    def on_world_event(self, event: str, data: dict[str, Any], context: st.DispatchContext) -> None:
        if context.intent == st.INTERNAL:
            return
        bot_id = self.world.bot.id
        for session in self.sessions.values():
            if session.invalid or not session.serves(context.guild_id):
                continue
            intents = session.intents
            if context.intent is not None and not intents & context.intent:
                continue
            if event == "THREAD_MEMBERS_UPDATE" and not intents & st.GUILD_MEMBERS:
                if bot_id not in context.concerns_user_ids:
                    continue
            payload = data
            if (
                event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
                and not intents & st.MESSAGE_CONTENT
                and context.author_id != bot_id
                and bot_id not in context.mention_ids
            ):
                payload = {**data, **CONTENT_FIELDS}
            self._append(session, event, payload)

    def _append(self, session: Session, event: str, payload: dict[str, Any]) -> None:
        session.seq += 1
        item = (session.seq, event, payload)
        session.buffer.append(item)
        if len(session.buffer) > self.options.replay_buffer:
            session.buffer.popleft()
        if session.connection is not None and not session.connection.closed:
            session.connection.queue.put_nowait(item)

    async def _write_dispatches(self, conn: Connection) -> None:
        open_ = self.faults.dispatch_open
        while True:
            item = await conn.queue.get()
            if item is None:
                return
            if not open_.is_set():
                await open_.wait()
            seq, event, payload = item
            await conn.send({"op": DISPATCH, "s": seq, "t": event, "d": payload})

    # --- faults ----------------------------------------------------------------------------

    async def drop_connections(self, code: int | None) -> int:
        live = [c for c in self.connections if not c.closed]
        for conn in live:
            if code is None:
                conn.abort()
            else:
                await conn.close(code, "sandbox fault")
        return len(live)

    async def send_op(self, op: int, data: Any) -> None:
        for conn in [c for c in self.connections if not c.closed]:
            if op == INVALID_SESSION and conn.session is not None and not data:
                conn.session.invalid = True
            await conn.send({"op": op, "d": data, "s": None, "t": None})

    # --- the websocket handler ---------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET / (and /resume/): upgrade to a gateway connection."""
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        if not ws.can_prepare(request).ok:
            return web.json_response({"url": self._url()})
        await ws.prepare(request)
        query = request.query
        compress = query.get("compress") == "zlib-stream"  # zstd-stream falls back to plain text frames.
        conn = Connection(ws, request, compress)
        self.connections.add(conn)
        self.connection_paths.append(request.path)
        self.connection_queries.append(dict(query))
        try:
            if query.get("v", "10") not in ("9", "10"):
                await conn.close(INVALID_API_VERSION, "Invalid API version")
                return ws
            if query.get("encoding", "json") != "json":
                await conn.close(DECODE_ERROR, "Only json encoding is emulated")
                return ws
            await conn.send({"op": HELLO, "d": {"heartbeat_interval": self.options.heartbeat_interval_ms},
                             "s": None, "t": None})
            self._note("hello")
            await self._read(conn)
        finally:
            conn.closed = True
            conn.queue.put_nowait(None)
            if conn.writer is not None:
                conn.writer.cancel()
            self.connections.discard(conn)
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                session.disconnected_at = time.monotonic()
            self._note("closed")
        return ws

    async def _read(self, conn: Connection) -> None:
        async for msg in conn.ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await conn.close(DECODE_ERROR, "Decode error")
                break
            try:
                payload = json.loads(msg.data)
                op = payload["op"]
            except (ValueError, KeyError, TypeError):
                await conn.close(DECODE_ERROR, "Decode error")
                break
            data = payload.get("d")
            if op == HEARTBEAT:
                self._note("heartbeat")
                # Discord's ACK comes back after a network round trip, never within the same
                # millisecond (an instant ACK races discord.py's keep-alive thread into a
                # spurious "Can't keep up" warning).
                conn.acks.add(asyncio.create_task(self._ack_later(conn)))
            elif op == IDENTIFY:
                if not await self._identify(conn, data or {}):
                    break
            elif op == RESUME:
                if not await self._resume(conn, data or {}):
                    break
            elif op == REQUEST_GUILD_MEMBERS:
                if conn.session is None:
                    await conn.close(NOT_AUTHENTICATED, "Not authenticated")
                    break
                self._request_members(conn.session, data or {})
            elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
                if conn.session is None:
                    await conn.close(NOT_AUTHENTICATED, "Not authenticated")
                    break
            else:
                await conn.close(UNKNOWN_OPCODE, "Unknown opcode")
                break

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> bool:
        if conn.session is not None:
            await conn.close(ALREADY_AUTHENTICATED, "Already authenticated")
            return False
        if data.get("token") != self.world.bot_token:
            await conn.close(AUTHENTICATION_FAILED, "Authentication failed")
            return False
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~ALL_INTENTS:
            await conn.close(INVALID_INTENTS, "Invalid intent(s)")
            return False
        enabled = {
            st.GUILD_PRESENCES: self.world.presence_intent_enabled,
            st.GUILD_MEMBERS: self.world.members_intent_enabled,
            st.MESSAGE_CONTENT: self.world.message_content_enabled,
        }
        if any(intents & bit and not enabled[bit] for bit in PRIVILEGED_INTENTS):
            await conn.close(DISALLOWED_INTENTS, "Disallowed intent(s)")
            return False
        shard = data.get("shard")
        if shard is not None and not (
                isinstance(shard, list) and len(shard) == 2 and all(isinstance(n, int) for n in shard)
                and 0 <= shard[0] < shard[1]):
            await conn.close(INVALID_SHARD, "Invalid shard")
            return False
        session = Session(secrets.token_hex(16), intents, shard)
        session.connection = conn
        self.sessions[session.id] = session
        conn.session = session
        conn.writer = asyncio.create_task(self._write_dispatches(conn))
        world = self.world
        user = world.bot.payload()
        user.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
        ready = {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in world.guilds.values()
                       if session.serves(g.id)],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(world.application_id), "flags": world.application_payload()["flags"]},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["sandbox"],
            "auth": {},
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        self.ready_payloads.append(ready)
        self._append(session, "READY", ready)
        if intents & st.GUILDS:
            all_members = bool(intents & st.GUILD_PRESENCES)
            for guild in world.guilds.values():
                if session.serves(guild.id):
                    self._append(session, "GUILD_CREATE", world.guild_payload(guild.id, all_members=all_members))
        self._note("identify")
        return True

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> bool:
        if data.get("token") != self.world.bot_token:
            await conn.close(AUTHENTICATION_FAILED, "Authentication failed")
            return False
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        refuse = self.faults.refuse_resumes > 0
        if refuse:
            self.faults.refuse_resumes -= 1
        resumable = (
            session is not None
            and not session.invalid
            and isinstance(seq, int)
            and seq <= session.seq
            and (not session.buffer or seq >= session.buffer[0][0] - 1)
            and (
                session.disconnected_at is None
                or time.monotonic() - session.disconnected_at <= self.options.resume_window
            )
        )
        if refuse or not resumable:
            if session is not None:
                session.invalid = True
            self._note("resume_refused")
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return True
        assert session is not None and isinstance(seq, int)
        old = session.connection
        if old is not None and old is not conn:
            await old.close(4000, "Session resumed elsewhere")
        # Queue the missed events and RESUMED before attaching, so that nothing dispatched
        # meanwhile can overtake them (we do not await between snapshot and attach).
        for item in session.buffer:
            if item[0] > seq:
                conn.queue.put_nowait(item)
        session.connection = conn
        session.disconnected_at = None
        conn.session = session
        # RESUMED is numbered but not buffered: a later resume must not replay it.
        session.seq += 1
        conn.queue.put_nowait((session.seq, "RESUMED", {}))
        conn.writer = asyncio.create_task(self._write_dispatches(conn))
        self._note("resumed")
        return True

    def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        """Answer op 8 with one GUILD_MEMBERS_CHUNK ("Request Guild Members")."""
        try:
            guild = self.world.guild(int(data.get("guild_id", 0)))
        except (ValueError, TypeError, st.errors.APIError):
            return
        user_ids = data.get("user_ids")
        if user_ids is not None:
            wanted = [int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])]
            members = [guild.members[u] for u in wanted if u in guild.members]
            not_found = [str(u) for u in wanted if u not in guild.members]
        else:
            query = str(data.get("query", "")).lower()
            limit = int(data.get("limit", 0)) or len(guild.members)
            members = [m for m in guild.members.values() if m.user.username.lower().startswith(query)][:limit]
            not_found = []
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": not_found,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        if data.get("presences"):
            chunk["presences"] = []
        self._append(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def close(self) -> None:
        for conn in list(self.connections):
            await conn.close(1001, "Sandbox shutting down")
