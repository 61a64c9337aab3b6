"""The rehearsal room: the sandbox in a browser.

A small web page served by the sandbox itself, on its loopback address (``/room/``): the
guild's channels with the bot's messages rendered as Discord renders them, threads, the
member list, and a composer with the slash commands. Whoever opens it picks who they are
(a moderator, a member, or someone new) and acts as that person through the same
:class:`~bot.sandbox.members.ScriptedMember` calls the tests use, so every post, edit,
button and command goes through the world's permission checks and reaches the bot as
gateway events. Each tab is one person; tabs follow the world live over a websocket and
see only what their person sees (ephemeral replies included).

    GET  /room/                      the page (and /room/static/…: its script and styles)
    GET  /room/api/state?as=ID       what person ID (a user id or name) sees: channels, threads, messages, people,
                                     the commands they may use
    POST /room/api/act               {"as": ID, "action": …}: send, edit, delete, react, press,
                                     invoke, autocomplete, submit_modal, add_person
    GET  /room/ws?as=ID              "changed" whenever something person ID can see changes

It never imports discord.py: the bot is just another client of the sandbox.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import WSMsgType, web

from . import errors
from . import permissions as perms
from . import state as st
from .interactions import MODAL, CommandRefused
from .members import InteractionHandle, NoResponse, ScriptedMember

if TYPE_CHECKING:
    from .server import Sandbox

STATIC = Path(__file__).with_name("room")
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# Discord's username rules: 2-32 of lower-case letters, digits, "_" and ".".
USERNAME = re.compile(r"^[a-z0-9_.]{2,32}$")
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
# Events that change what a page shows. Ephemeral ones go only to their one reader.
SHOWN = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_REACTION_ADD",
         "MESSAGE_REACTION_REMOVE", "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE",
         "CHANNEL_CREATE", "CHANNEL_UPDATE", "GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE",
         "GUILD_SCHEDULED_EVENT_CREATE", "GUILD_SCHEDULED_EVENT_UPDATE"}
PRIVATE = {"EPHEMERAL_CREATE", "EPHEMERAL_UPDATE", "EPHEMERAL_DELETE"}
# The page's security policy: its own script and styles only, images from the sandbox.
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class RoomError(Exception):
    """An action the room cannot do, in one line a person can act on."""


class _Viewer:
    """One open tab: its person, its websocket, and a flag saying it needs refreshing."""

    def __init__(self, user_id: int, socket: web.WebSocketResponse) -> None:
        self.user_id = user_id
        self.socket = socket
        self.dirty = asyncio.Event()


class Room:
    """The rehearsal room of one sandbox."""

    def __init__(self, sandbox: "Sandbox", *, speed: float = 1.0) -> None:
        self.sb = sandbox
        # The bot's clock, which the page shows and reads relative times ("in 2 minutes")
        # against: a rehearsal at `speed` x runs ahead of the wall clock.
        self.speed = speed
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self._viewers: list[_Viewer] = []
        self._handles: dict[int, InteractionHandle] = {}
        sandbox.world.listeners.append(self._notice)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/room", self._redirect)
        app.router.add_get("/room/", self._page)
        app.router.add_get("/room/static/{name}", self._static)
        app.router.add_get("/room/api/state", self._state)
        app.router.add_post("/room/api/act", self._act)
        app.router.add_get("/room/ws", self._socket)

    # -- live updates ------------------------------------------------------------------

    def _notice(self, event: str, data: dict[str, Any], context: st.DispatchContext) -> None:
        if event in PRIVATE:
            reader = context.message.visible_to if context.message is not None else None
            for viewer in self._viewers:
                if viewer.user_id == reader:
                    viewer.dirty.set()
        elif event in SHOWN:
            for viewer in self._viewers:
                viewer.dirty.set()

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        person = self._person(request.query.get("as"))
        socket = web.WebSocketResponse(heartbeat=20)
        await socket.prepare(request)
        viewer = _Viewer(person.id, socket)
        self._viewers.append(viewer)
        # The page read its state before this socket was open: whatever changed in between
        # reached no viewer, so the first message asks the page to read it again.
        viewer.dirty.set()
        sender = asyncio.create_task(self._send_changes(viewer))
        try:
            async for message in socket:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            sender.cancel()
            self._viewers.remove(viewer)
        return socket

    @staticmethod
    async def _send_changes(viewer: _Viewer) -> None:
        while not viewer.socket.closed:
            await viewer.dirty.wait()
            await asyncio.sleep(0.05)  # a burst of events is one refresh
            viewer.dirty.clear()
            try:
                await viewer.socket.send_json({"kind": "changed"})
            except (ConnectionError, RuntimeError):
                return

    # -- the page ----------------------------------------------------------------------

    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/room/")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return self._file("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in {"room.js", "room.css"}:
            raise web.HTTPNotFound()
        return self._file(name)

    @staticmethod
    def _file(name: str) -> web.Response:
        path = STATIC / name
        return web.Response(body=path.read_bytes(), content_type=CONTENT_TYPES[path.suffix],
                            charset="utf-8", headers={"Content-Security-Policy": POLICY,
                                                      "Cache-Control": "no-store",
                                                      "X-Content-Type-Options": "nosniff"})

    # -- what a person sees ------------------------------------------------------------

    def _person(self, raw: Any) -> ScriptedMember:
        """The person a request is made as: ``as`` is a user id or a username (none: the
        first moderator, who can do everything a rehearsal needs)."""
        if raw in (None, ""):
            return self.sb.moderator
        for name, member in self.sb.members.items():
            if str(member.id) == str(raw) or name == str(raw).lower():
                return member
        raise web.HTTPNotFound(text=f"nobody called {raw} is in this room; add them first")

    async def _state(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.view(self._person(request.query.get("as"))))

    def view(self, person: ScriptedMember) -> dict[str, Any]:
        """Everything ``person``'s page shows."""
        world, sb = self.sb.world, self.sb
        guild = world.guild(sb.guild_id)
        channels = [c for c in (world.channel(i) for i in guild.channel_ids)
                    if c.type == st.GUILD_TEXT and person.permissions_in(c.id) & perms.VIEW_CHANNEL]
        threads = [t for t in world.threads_of(sb.guild_id)
                   if t.parent_id in {c.id for c in channels}]
        messages = {str(c.id): [self._message(m, person) for m in person.messages(c.id)]
                    for c in [*channels, *threads]}
        people = [self._someone(m) for m in sb.members.values()]
        people.append({"id": str(world.bot.id), "name": world.bot.username,
                       "display": world.bot.global_name or world.bot.username, "bot": True,
                       "moderator": False,
                       "online": any(c.session is not None and not c.closed for c in sb.gateway.connections)})
        return {
            "guild": {"id": str(guild.id), "name": guild.name},
            "me": self._someone(person),
            "people": people,
            "roles": {str(r.id): r.name for r in guild.roles.values()},
            "channels": [{"id": str(c.id), "name": c.name, "topic": c.topic} for c in channels],
            "threads": [{"id": str(t.id), "name": t.name, "parent_id": str(t.parent_id),
                         "archived": bool(t.archived), "locked": bool(t.locked),
                         "count": len(t.message_ids)} for t in threads],
            "messages": messages,
            "commands": self._commands(person),
            "clock": {"speed": self.speed, "now": self.clock().timestamp() * 1000},
        }

    def _someone(self, member: ScriptedMember) -> dict[str, Any]:
        user = self.sb.world.users[member.id]
        return {"id": str(user.id), "name": user.username, "display": user.global_name or user.username,
                "bot": False, "moderator": member.is_moderator}

    def _message(self, message: st.Message, person: ScriptedMember) -> dict[str, Any]:
        payload = self.sb.world.message_payload(message)
        payload["ephemeral"] = message.ephemeral
        payload["mine"] = message.author.id == person.id
        return payload

    def _commands(self, person: ScriptedMember) -> list[dict[str, Any]]:
        """The slash commands this person's client would offer, one per runnable path
        ("tweetchat schedule"), each with its options."""
        interactions = self.sb.interactions
        found: list[dict[str, Any]] = []
        for scope in (self.sb.guild_id, None):
            for command in interactions.commands.get(scope, []):
                if command.get("type", 1) != 1 or not interactions.may_use(command, self.sb.channel_id, person.id):
                    continue
                found += _paths(command["name"], command.get("description", ""), command.get("options") or [])
        return sorted(found, key=lambda c: c["path"])

    # -- what a person does ------------------------------------------------------------

    async def _act(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _refused("the request was not JSON")
        if not isinstance(body, dict):
            return _refused("the request was not a JSON object")
        person = self._person(body.get("as"))
        try:
            result = await self.act(person, body)
        except RoomError as exc:
            return _refused(str(exc))
        except CommandRefused as exc:
            return _refused(f"Discord would not send that command: {exc}")
        except errors.APIError as exc:
            return _refused(f"Discord refused it: {exc.message} ({exc.code})")
        return web.json_response({"ok": True, **result})

    async def act(self, person: ScriptedMember, body: dict[str, Any]) -> dict[str, Any]:
        """Do one thing as ``person``; see the module's docstring for the actions."""
        action = body.get("action")
        world = self.sb.world
        if action == "send":
            content = _text(body, "content")
            reply_to = _id(body, "reply_to") if body.get("reply_to") else None
            message = await person.send(content, channel_id=_id(body, "channel_id"), reply_to=reply_to)
            return {"message_id": str(message.id)}
        if action == "edit":
            message = self._find(body)
            await person.edit(message, _text(body, "content"))
            return {}
        if action == "delete":
            await person.delete(self._find(body))
            return {}
        if action == "react":
            await person.react(self._find(body), _text(body, "emoji"))
            return {}
        if action == "press":
            handle = await person.press(self._find(body), _text(body, "custom_id"),
                                        values=body.get("values"))
            return await self._answered(handle)
        if action == "invoke":
            options = self._options(body.get("options") or {})
            handle = await person.invoke(_text(body, "command"), options, channel_id=_id(body, "channel_id"))
            return await self._answered(handle)
        if action == "autocomplete":
            options = self._options(body.get("options") or {})
            focused = _text(body, "focused")
            options.pop(focused, None)
            try:
                choices = await person.autocomplete(_text(body, "command"), focused, str(body.get("value", "")),
                                                    options, channel_id=_id(body, "channel_id"))
            except NoResponse:
                choices = []
            return {"choices": choices}
        if action == "submit_modal":
            opened = self._handles.get(_id(body, "interaction_id"))
            if opened is None:
                raise RoomError("that form has expired; run the command again")
            values = body.get("values")
            if not isinstance(values, dict):
                raise RoomError("the form's values are missing")
            handle = await person.submit_modal(opened, {str(k): str(v) for k, v in values.items()})
            return await self._answered(handle)
        if action == "add_person":
            name = str(body.get("name", "")).strip().lower()
            if not USERNAME.match(name):
                raise RoomError("a name is 2-32 lower-case letters, digits, _ or . (as Discord's usernames)")
            if name in self.sb.members or name == world.bot.username.lower():
                raise RoomError(f"{name} is already here; pick them from the list")
            added = self.sb.add_member(name, moderator=bool(body.get("moderator")))
            return {"person": self._someone(added)}
        raise RoomError(f"unknown action {action!r}")

    def _find(self, body: dict[str, Any]) -> st.Message:
        message = self.sb.world.any_message(_id(body, "message_id"))
        if message is None:
            raise RoomError("that message is gone (deleted, or dismissed)")
        return message

    def _options(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise RoomError("options must be an object")
        return {str(k): v for k, v in raw.items() if v not in (None, "")}

    async def _answered(self, handle: InteractionHandle) -> dict[str, Any]:
        """Wait for the bot's first answer, as Discord's client does (up to its 3 s)."""
        self._handles[handle.id] = handle
        if len(self._handles) > 500:
            self._handles.pop(next(iter(self._handles)))
        try:
            kind = await handle.response()
        except NoResponse:
            raise RoomError("The application did not respond") from None
        if kind == MODAL:
            return {"interaction_id": str(handle.id), "modal": handle.interaction.callback_data}
        return {"interaction_id": str(handle.id)}


def _paths(prefix: str, description: str, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    subs = [o for o in options if o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if not subs:
        return [{"path": prefix, "description": description, "options": options}]
    found: list[dict[str, Any]] = []
    for sub in subs:
        found += _paths(f"{prefix} {sub['name']}", sub.get("description", ""), sub.get("options") or [])
    return found


def _refused(why: str) -> web.Response:
    return web.json_response({"ok": False, "error": why}, status=400)


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise RoomError(f"{key} is missing")
    return value


def _id(body: dict[str, Any], key: str) -> int:
    try:
        return int(body[key])
    except (KeyError, TypeError, ValueError):
        raise RoomError(f"{key} is missing or not an id") from None
