"""The REST API (v10) routes the bot uses, under ``/api/v10``.

Each handler follows the endpoint of the same name in Discord's "Resources" docs. A
middleware does what Discord does around every request: authentication, injected faults,
rate limits (``X-RateLimit-*`` headers, 429 bodies) and JSON error bodies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any, Awaitable, Callable

from aiohttp import web

from . import contract as dc
from . import errors
from . import permissions as perms
from . import state as st
from .faults import Faults
from .gateway import Gateway
from .interactions import Interactions
from .ratelimit import RateLimiter

API_PREFIX = "/api/v10"
ROUTE_KEY = web.RequestKey("sandbox.route", str)  # "METHOD /template", set by the middleware
Handler = Callable[["RestAPI", web.Request], Awaitable[Any]]
_ROUTES: list[tuple[str, str, Handler]] = []

# Routes that need no bot token: interaction responses are authorised by their token, and
# Discord exempts them from the global rate limit ("Rate Limits > Global Rate Limit").
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, path, handler))
        return handler

    return register


def snowflake(value: str, name: str) -> int:
    """Parse an id from the path or query as Discord does (50035 when it is not one)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise errors.field_error(name, "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not snowflake.") from None
    if number < 0 or number >= 1 << 64:
        raise errors.field_error(name, "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not snowflake.")
    return number


def no_content() -> web.Response:
    return web.Response(status=204)


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with the bare ``application/json`` content type Discord sends (no charset):
    discord.py compares the header verbatim before parsing a body as JSON."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return web.Response(body=body, status=status, headers={**(headers or {}), "Content-Type": "application/json"})


class RestAPI:
    """Binds the route handlers to one world."""

    def __init__(
        self,
        world: st.World,
        interactions: Interactions,
        gateway: Gateway,
        faults: Faults,
        limiter: RateLimiter,
        gateway_url: Callable[[], str],
    ) -> None:
        self.world = world
        self.interactions = interactions
        self.gateway = gateway
        self.faults = faults
        self.latency = 0.0  # seconds added to every REST request (SandboxConfig.rest_latency)
        self.limiter = limiter
        self.gateway_url = gateway_url
        self.requests: list[str] = []  # "METHOD /template" of every request, for tests.

    def add_routes(self, app: web.Application) -> None:
        for method, path, handler in _ROUTES:
            app.router.add_route(method, API_PREFIX + path, self._bind(handler))
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self.serve_attachment)

    def _bind(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def call(request: web.Request) -> web.StreamResponse:
            result = await handler(self, request)
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result)

        return call

    # --- the middleware ----------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        path = request.path
        if not path.startswith(API_PREFIX):
            return await handler(request)
        resource = request.match_info.route.resource
        if resource is None:
            return _error(errors.not_found())
        template = resource.canonical[len(API_PREFIX):]
        key = f"{request.method} {template}"
        self.requests.append(key)
        request[ROUTE_KEY] = key
        token_route = template.startswith(_TOKEN_ROUTES)
        if not token_route and not template.startswith("/gateway"):
            if request.headers.get("Authorization") != f"Bot {self.world.bot_token}":
                return _error(errors.unauthorized())
        if self.latency:
            await asyncio.sleep(self.latency)  # the round trip to a remote Discord
        fault = self.faults.take(key)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return _server_error(fault.status)
        info = request.match_info
        major = info.get("channel_id") or info.get("guild_id") or (
            f"{info.get('webhook_id', info.get('interaction_id', ''))}+{info.get('webhook_token', info.get('interaction_token', ''))}"
        )
        creates_thread = request.method == "POST" and template.endswith("/threads")
        guild_id = None
        if creates_thread:
            channel = self.world.channels.get(_int_or_zero(info.get("channel_id")))
            guild_id = channel.guild_id if channel is not None else None
        verdict = self.limiter.check(
            key, major, guild_id=guild_id, creates_thread=creates_thread, counts_globally=not token_route
        )
        if verdict.refusal is not None:
            # Discord's 429s pass through its proxy, whose Via header clients look for.
            return json_response(verdict.refusal, status=429, headers={**verdict.headers, "Via": "1.1 google"})
        try:
            response = await handler(request)
        except errors.APIError as exc:
            response = _error(exc)
        except web.HTTPException:
            raise
        for name, value in verdict.headers.items():
            response.headers[name] = value
        if dc.observers and isinstance(response, web.Response) and response.content_type == "application/json" \
                and response.body and 200 <= response.status < 300:
            agent = request.headers.get("User-Agent", "")
            for problem in dc.default_contract().response_problems(key, response.status, json.loads(response.body)):
                dc.notice(problem, agent)
        return response

    # --- gateway discovery and identity ---------------------------------------------------------

    @route("GET", "/gateway")
    async def get_gateway(self, request: web.Request) -> Any:
        """"Topics > Gateway > Get Gateway"."""
        return {"url": self.gateway_url()}

    @route("GET", "/gateway/bot")
    async def get_gateway_bot(self, request: web.Request) -> Any:
        """"Get Gateway Bot": the same URL, one shard, a generous session start limit."""
        return {
            "url": self.gateway_url(),
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1},
        }

    @route("GET", "/users/@me")
    async def get_current_user(self, request: web.Request) -> Any:
        data = self.world.bot.payload()
        data.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
        return data

    @route("POST", "/users/@me/channels")
    async def create_dm(self, request: web.Request) -> Any:
        """"Create DM" with ``recipient_id``."""
        body = await _json(request)
        if "recipient_id" not in body:
            raise errors.field_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        return self.dms.open(snowflake(str(body["recipient_id"]), "recipient_id"))

    @route("GET", "/users/{user_id}")
    async def get_user(self, request: web.Request) -> Any:
        user = self.world.users.get(snowflake(request.match_info["user_id"], "user_id"))
        if user is None:
            raise errors.unknown_user()
        return user.payload()

    @route("GET", "/users/@me/guilds")
    async def get_current_user_guilds(self, request: web.Request) -> Any:
        return [
            {
                "id": str(g.id),
                "name": g.name,
                "icon": None,
                "banner": None,
                "owner": False,
                "permissions": str(self.world.guild_permissions(g.id, self.world.bot.id)),
                "features": [],
            }
            for g in self.world.guilds.values()
        ]

    @route("GET", "/oauth2/applications/@me")
    async def get_current_bot_application(self, request: web.Request) -> Any:
        return self.world.application_payload()

    @route("GET", "/applications/@me")
    async def get_current_application(self, request: web.Request) -> Any:
        return self.world.application_payload()

    # --- application commands ----------------------------------------------------------------

    def _application(self, request: web.Request) -> None:
        if snowflake(request.match_info["application_id"], "application_id") != self.world.application_id:
            raise errors.missing_access()

    def _command_guild(self, request: web.Request) -> int:
        guild_id = snowflake(request.match_info["guild_id"], "guild_id")
        self.world.guild(guild_id)
        return guild_id

    @route("GET", "/applications/{application_id}/commands")
    async def get_global_commands(self, request: web.Request) -> Any:
        self._application(request)
        return self.interactions.commands.get(None, [])

    @route("PUT", "/applications/{application_id}/commands")
    async def bulk_overwrite_global_commands(self, request: web.Request) -> Any:
        self._application(request)
        return self.interactions.bulk_overwrite(None, await _json(request))

    @route("POST", "/applications/{application_id}/commands")
    async def create_global_command(self, request: web.Request) -> Any:
        self._application(request)
        return self.interactions.upsert(None, await _json(request))

    @route("DELETE", "/applications/{application_id}/commands/{command_id}")
    async def delete_global_command(self, request: web.Request) -> Any:
        self._application(request)
        self.interactions.delete_command(None, snowflake(request.match_info["command_id"], "command_id"))
        return no_content()

    @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def get_guild_commands(self, request: web.Request) -> Any:
        self._application(request)
        return self.interactions.commands.get(self._command_guild(request), [])

    @route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def bulk_overwrite_guild_commands(self, request: web.Request) -> Any:
        self._application(request)
        return self.interactions.bulk_overwrite(self._command_guild(request), await _json(request))

    @route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
    async def create_guild_command(self, request: web.Request) -> Any:
        self._application(request)
        return self.interactions.upsert(self._command_guild(request), await _json(request))

    @route("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}")
    async def delete_guild_command(self, request: web.Request) -> Any:
        self._application(request)
        guild_id = self._command_guild(request)
        self.interactions.delete_command(guild_id, snowflake(request.match_info["command_id"], "command_id"))
        return no_content()

    # --- channels ----------------------------------------------------------------------------

    def _visible_channel(self, request: web.Request) -> st.Channel:
        channel = self.world.channel(snowflake(request.match_info["channel_id"], "channel_id"))
        self.world.require(channel.id, self.world.bot.id)
        return channel

    @route("GET", "/channels/{channel_id}")
    async def get_channel(self, request: web.Request) -> Any:
        channel = self._visible_channel(request)
        payload = channel.payload()
        if channel.is_thread and self.world.bot.id in channel.thread_members:
            payload["member"] = channel.thread_member_payload(self.world.bot.id)
        return payload

    @route("PATCH", "/channels/{channel_id}")
    async def modify_channel(self, request: web.Request) -> Any:
        """"Modify Channel": thread fields for threads, name/topic for text channels."""
        channel = self.world.channel(snowflake(request.match_info["channel_id"], "channel_id"))
        body = await _json(request)
        if channel.is_thread:
            return self.world.update_thread(channel.id, self.world.bot.id, body).payload()
        self.world.require(channel.id, self.world.bot.id, perms.MANAGE_CHANNELS)
        if body.get("name"):
            channel.name = str(body["name"])
        if "topic" in body:
            channel.topic = body["topic"]
        if "rate_limit_per_user" in body and body["rate_limit_per_user"] is not None:
            channel.rate_limit_per_user = int(body["rate_limit_per_user"])
        self.world.dispatch("CHANNEL_UPDATE", channel.payload(), st.DispatchContext(st.GUILDS, channel.guild_id))
        return channel.payload()

    @route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}")
    async def edit_channel_permissions(self, request: web.Request) -> Any:
        """"Edit Channel Permissions" (needs Manage Roles)."""
        channel = self.world.channel(snowflake(request.match_info["channel_id"], "channel_id"))
        self.world.require(channel.id, self.world.bot.id, perms.MANAGE_ROLES)
        body = await _json(request)
        target = snowflake(request.match_info["overwrite_id"], "overwrite_id")
        self.world.set_overwrite(
            channel.id, target, type=int(body.get("type", 0)),
            allow=int(body.get("allow") or 0), deny=int(body.get("deny") or 0),
        )
        return no_content()

    @route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}")
    async def delete_channel_permission(self, request: web.Request) -> Any:
        channel = self.world.channel(snowflake(request.match_info["channel_id"], "channel_id"))
        self.world.require(channel.id, self.world.bot.id, perms.MANAGE_ROLES)
        self.world.delete_overwrite(channel.id, snowflake(request.match_info["overwrite_id"], "overwrite_id"))
        return no_content()

    @route("POST", "/channels/{channel_id}/typing")
    async def trigger_typing(self, request: web.Request) -> Any:
        channel = self._visible_channel(request)
        self.world.require(channel.id, self.world.bot.id,
                           perms.SEND_MESSAGES_IN_THREADS if channel.is_thread else perms.SEND_MESSAGES)
        return no_content()

    # --- messages ----------------------------------------------------------------------------

    def _rest_message(self, message: st.Message) -> dict[str, Any]:
        payload = self.world.message_payload(message)
        # "Message Content Intent" applies to REST too: it follows the app's settings.
        if not self.world.message_content_enabled and message.author.id != self.world.bot.id and \
                self.world.bot.id not in message.mention_ids:
            payload.update(content="", embeds=[], attachments=[], components=[])
        return payload

    @route("GET", "/channels/{channel_id}/messages")
    async def get_channel_messages(self, request: web.Request) -> Any:
        """"Get Channel Messages": 1-100 (default 50), one of before/after/around, newest first."""
        channel = self._visible_channel(request)
        query = request.query
        if not self.world.channel_permissions(channel.id, self.world.bot.id) & perms.READ_MESSAGE_HISTORY:
            return []  # Discord returns an empty list without Read Message History.
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            raise errors.field_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.") from None
        if limit < 1:
            raise errors.field_error("limit", "NUMBER_TYPE_MIN", "int value should be greater than or equal to 1.")
        if limit > 100:
            raise errors.field_error("limit", "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.")
        anchors = [name for name in ("around", "before", "after") if name in query]
        if len(anchors) > 1:
            raise errors.field_error(anchors[1], "BASE_TYPE_BAD_COMBINATION", "before, after and around are mutually exclusive.")
        kwargs = {name: snowflake(query[name], name) for name in anchors}
        return [self._rest_message(m) for m in self.world.history(channel.id, limit=limit, **kwargs)]

    @route("GET", "/channels/{channel_id}/messages/{message_id}")
    async def get_channel_message(self, request: web.Request) -> Any:
        channel = self._visible_channel(request)
        self.world.require(channel.id, self.world.bot.id, perms.READ_MESSAGE_HISTORY)
        message = self.world.message(channel.id, snowflake(request.match_info["message_id"], "message_id"))
        return self._rest_message(message)

    @route("POST", "/channels/{channel_id}/messages")
    async def create_message(self, request: web.Request) -> Any:
        """"Create Message", JSON or multipart with ``payload_json`` and ``files[n]``."""
        channel_id = snowflake(request.match_info["channel_id"], "channel_id")
        if self.dms.is_dm(channel_id):
            body, attachments = await _message_body(self.world, request)
            return self.world.message_payload(self.dms.send(channel_id, body, attachments))
        self.world.channel(channel_id)
        body, attachments = await _message_body(self.world, request)
        reference = body.get("message_reference") or None
        message = self.world.create_message(
            channel_id,
            self.world.bot.id,
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            attachments=attachments,
            reply_to=int(reference["message_id"]) if reference and reference.get("message_id") else None,
            fail_if_not_exists=bool((reference or {}).get("fail_if_not_exists", True)),
            nonce=body.get("nonce"),
            enforce_nonce=bool(body.get("enforce_nonce", False)),
            allowed_mentions=body.get("allowed_mentions"),
            flags=int(body.get("flags") or 0),
        )
        return self.world.message_payload(message)

    @route("PATCH", "/channels/{channel_id}/messages/{message_id}")
    async def edit_message(self, request: web.Request) -> Any:
        channel_id = snowflake(request.match_info["channel_id"], "channel_id")
        message_id = snowflake(request.match_info["message_id"], "message_id")
        body, attachments = await _message_body(self.world, request)
        message = self.world.edit_message(channel_id, message_id, self.world.bot.id, fields=body, attachments=attachments)
        return self.world.message_payload(message)

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}")
    async def delete_message(self, request: web.Request) -> Any:
        channel_id = snowflake(request.match_info["channel_id"], "channel_id")
        message_id = snowflake(request.match_info["message_id"], "message_id")
        self.world.delete_message(channel_id, message_id, self.world.bot.id)
        return no_content()

    @route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}")
    async def create_reaction(self, request: web.Request) -> Any:
        if request.match_info["user_id"] != "@me":
            raise errors.not_found()
        self.world.add_reaction(
            snowflake(request.match_info["channel_id"], "channel_id"),
            snowflake(request.match_info["message_id"], "message_id"),
            self.world.bot.id,
            request.match_info["emoji"],
        )
        return no_content()

    @route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}")
    async def delete_reaction(self, request: web.Request) -> Any:
        channel_id = snowflake(request.match_info["channel_id"], "channel_id")
        raw_user = request.match_info["user_id"]
        user_id = self.world.bot.id if raw_user == "@me" else snowflake(raw_user, "user_id")
        if user_id != self.world.bot.id:
            self.world.require(channel_id, self.world.bot.id, perms.MANAGE_MESSAGES)
        self.world.remove_reaction(
            channel_id, snowflake(request.match_info["message_id"], "message_id"), user_id, request.match_info["emoji"]
        )
        return no_content()

    # --- threads -----------------------------------------------------------------------------

    def _thread_response(self, thread: st.Channel) -> dict[str, Any]:
        payload = thread.payload()
        if self.world.bot.id in thread.thread_members:
            payload["member"] = thread.thread_member_payload(self.world.bot.id)
        return payload

    @route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
    async def start_thread_from_message(self, request: web.Request) -> Any:
        body = await _json(request)
        thread = self.world.create_thread(
            snowflake(request.match_info["channel_id"], "channel_id"),
            self.world.bot.id,
            name=str(body.get("name") or ""),
            message_id=snowflake(request.match_info["message_id"], "message_id"),
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
        )
        return json_response(self._thread_response(thread), status=201)  # Discord answers 201 Created

    @route("POST", "/channels/{channel_id}/threads")
    async def start_thread_without_message(self, request: web.Request) -> Any:
        body = await _json(request)
        thread = self.world.create_thread(
            snowflake(request.match_info["channel_id"], "channel_id"),
            self.world.bot.id,
            name=str(body.get("name") or ""),
            type=int(body.get("type") or st.PRIVATE_THREAD),
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            invitable=bool(body.get("invitable", True)),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
        )
        return json_response(self._thread_response(thread), status=201)

    def _thread_user(self, request: web.Request) -> tuple[int, int]:
        thread_id = snowflake(request.match_info["channel_id"], "channel_id")
        raw = request.match_info["user_id"]
        return thread_id, (self.world.bot.id if raw == "@me" else snowflake(raw, "user_id"))

    @route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
    async def add_thread_member(self, request: web.Request) -> Any:
        thread_id, user_id = self._thread_user(request)
        self.world.add_thread_member(thread_id, user_id, actor_id=self.world.bot.id)
        return no_content()

    @route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
    async def remove_thread_member(self, request: web.Request) -> Any:
        thread_id, user_id = self._thread_user(request)
        self.world.remove_thread_member(thread_id, user_id, actor_id=self.world.bot.id)
        return no_content()

    @route("GET", "/channels/{channel_id}/thread-members/{user_id}")
    async def get_thread_member(self, request: web.Request) -> Any:
        thread_id, user_id = self._thread_user(request)
        thread = self.world.channel(thread_id)
        if user_id not in thread.thread_members:
            raise errors.unknown_member()
        return thread.thread_member_payload(user_id)

    @route("GET", "/channels/{channel_id}/thread-members")
    async def list_thread_members(self, request: web.Request) -> Any:
        thread = self._visible_channel(request)
        return [thread.thread_member_payload(u) for u in thread.thread_members]

    def _archived(self, request: web.Request, type_: int) -> Any:
        """"List Public/Private Archived Threads": newest archive first, ``before`` a timestamp."""
        channel = self._visible_channel(request)
        self.world.require(channel.id, self.world.bot.id, perms.READ_MESSAGE_HISTORY)
        if type_ == st.PRIVATE_THREAD:
            self.world.require(channel.id, self.world.bot.id, perms.MANAGE_THREADS)
        query = request.query
        limit = int(query.get("limit", "50"))
        before = dt.datetime.fromisoformat(query["before"]) if "before" in query else None
        threads = [
            t for t in self.world.threads_of(channel.guild_id, archived=True, parent_id=channel.id) if t.type == type_
        ]
        threads.sort(key=lambda t: t.archive_timestamp or st.snowflake_time(t.id), reverse=True)
        if before is not None:
            threads = [t for t in threads if (t.archive_timestamp or st.snowflake_time(t.id)) < before]
        page = threads[:limit]
        return {
            "threads": [t.payload() for t in page],
            "members": [t.thread_member_payload(self.world.bot.id) for t in page if self.world.bot.id in t.thread_members],
            "has_more": len(threads) > limit,
        }

    @route("GET", "/channels/{channel_id}/threads/archived/public")
    async def list_public_archived_threads(self, request: web.Request) -> Any:
        return self._archived(request, st.PUBLIC_THREAD)

    @route("GET", "/channels/{channel_id}/threads/archived/private")
    async def list_private_archived_threads(self, request: web.Request) -> Any:
        return self._archived(request, st.PRIVATE_THREAD)

    @route("GET", "/guilds/{guild_id}/threads/active")
    async def list_active_guild_threads(self, request: web.Request) -> Any:
        guild = self.world.guild(snowflake(request.match_info["guild_id"], "guild_id"))
        threads = self.world.threads_of(guild.id, archived=False)
        return {
            "threads": [t.payload() for t in threads],
            "members": [t.thread_member_payload(self.world.bot.id) for t in threads if self.world.bot.id in t.thread_members],
            "has_more": False,
        }

    # --- guild -------------------------------------------------------------------------------

    @route("GET", "/guilds/{guild_id}")
    async def get_guild(self, request: web.Request) -> Any:
        payload = self.world.guild_payload(snowflake(request.match_info["guild_id"], "guild_id"), all_members=False)
        for key in ("members", "channels", "threads", "presences", "voice_states", "guild_scheduled_events",
                    "joined_at", "large", "unavailable", "member_count", "stage_instances", "soundboard_sounds"):
            payload.pop(key, None)
        return payload

    @route("GET", "/guilds/{guild_id}/channels")
    async def get_guild_channels(self, request: web.Request) -> Any:
        guild = self.world.guild(snowflake(request.match_info["guild_id"], "guild_id"))
        return [self.world.channels[c].payload() for c in guild.channel_ids]

    @route("GET", "/guilds/{guild_id}/roles")
    async def get_guild_roles(self, request: web.Request) -> Any:
        guild = self.world.guild(snowflake(request.match_info["guild_id"], "guild_id"))
        return [r.payload() for r in guild.roles.values()]

    @route("GET", "/guilds/{guild_id}/members/{user_id}")
    async def get_guild_member(self, request: web.Request) -> Any:
        guild_id = snowflake(request.match_info["guild_id"], "guild_id")
        return self.world.member(guild_id, snowflake(request.match_info["user_id"], "user_id")).payload()

    @route("GET", "/guilds/{guild_id}/members")
    async def list_guild_members(self, request: web.Request) -> Any:
        """"List Guild Members" (needs the members intent enabled for the app)."""
        guild = self.world.guild(snowflake(request.match_info["guild_id"], "guild_id"))
        if not self.world.members_intent_enabled:
            raise errors.missing_access()
        limit = int(request.query.get("limit", "1"))
        after = snowflake(request.query.get("after", "0"), "after")
        members = sorted((m for m in guild.members.values() if m.user.id > after), key=lambda m: m.user.id)
        return [m.payload() for m in members[:limit]]

    # --- scheduled events ----------------------------------------------------------------------

    @route("GET", "/guilds/{guild_id}/scheduled-events")
    async def list_scheduled_events(self, request: web.Request) -> Any:
        guild = self.world.guild(snowflake(request.match_info["guild_id"], "guild_id"))
        with_count = request.query.get("with_user_count", "false").lower() in ("true", "1")
        return [self.world.scheduled_event_payload(e, with_user_count=with_count) for e in guild.scheduled_events.values()]

    @route("POST", "/guilds/{guild_id}/scheduled-events")
    async def create_scheduled_event(self, request: web.Request) -> Any:
        guild_id = snowflake(request.match_info["guild_id"], "guild_id")
        event = self.world_events.create(guild_id, self.world.bot.id, await _json(request))
        return self.world.scheduled_event_payload(event)

    @route("GET", "/guilds/{guild_id}/scheduled-events/{event_id}")
    async def get_scheduled_event(self, request: web.Request) -> Any:
        event = self.world_events.get(
            snowflake(request.match_info["guild_id"], "guild_id"), snowflake(request.match_info["event_id"], "event_id")
        )
        with_count = request.query.get("with_user_count", "false").lower() in ("true", "1")
        return self.world.scheduled_event_payload(event, with_user_count=with_count)

    @route("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}")
    async def modify_scheduled_event(self, request: web.Request) -> Any:
        event = self.world_events.modify(
            snowflake(request.match_info["guild_id"], "guild_id"),
            snowflake(request.match_info["event_id"], "event_id"),
            self.world.bot.id,
            await _json(request),
        )
        return self.world.scheduled_event_payload(event)

    @route("DELETE", "/guilds/{guild_id}/scheduled-events/{event_id}")
    async def delete_scheduled_event(self, request: web.Request) -> Any:
        self.world_events.delete(
            snowflake(request.match_info["guild_id"], "guild_id"),
            snowflake(request.match_info["event_id"], "event_id"),
            self.world.bot.id,
        )
        return no_content()

    @route("GET", "/guilds/{guild_id}/scheduled-events/{event_id}/users")
    async def get_scheduled_event_users(self, request: web.Request) -> Any:
        guild_id = snowflake(request.match_info["guild_id"], "guild_id")
        event = self.world_events.get(guild_id, snowflake(request.match_info["event_id"], "event_id"))
        return [
            {"guild_scheduled_event_id": str(event.id), "guild_scheduled_event_exception_id": None,
             "user_id": str(u), "user": self.world.users[u].payload(), "response": 1}  # INTERESTED
            for u in sorted(event.interested_user_ids)
        ]

    # --- interactions ----------------------------------------------------------------------------

    @route("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
    async def create_interaction_response(self, request: web.Request) -> Any:
        """"Create Interaction Response"; ``with_response`` returns the callback object."""
        body, attachments = await _message_body(self.world, request, nested="data")
        interaction, message = self.interactions.callback(
            snowflake(request.match_info["interaction_id"], "interaction_id"),
            request.match_info["interaction_token"],
            body,
            attachments,
        )
        if request.query.get("with_response", "false").lower() in ("true", "1"):
            return self.interactions.callback_response(interaction, message)
        return no_content()

    def _webhook_interaction(self, request: web.Request) -> Any:
        return self.interactions.by_webhook_token(
            snowflake(request.match_info["webhook_id"], "webhook_id"), request.match_info["webhook_token"]
        )

    @route("POST", "/webhooks/{webhook_id}/{webhook_token}")
    async def execute_webhook(self, request: web.Request) -> Any:
        """"Create Followup Message" (Execute Webhook with an interaction token)."""
        interaction = self._webhook_interaction(request)
        body, attachments = await _message_body(self.world, request)
        message = self.interactions.followup(interaction, body, attachments)
        if request.query.get("wait", "false").lower() in ("true", "1"):
            return self.world.message_payload(message)
        return no_content()

    @route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def get_webhook_message(self, request: web.Request) -> Any:
        interaction = self._webhook_interaction(request)
        return self.world.message_payload(self.interactions.webhook_message(interaction, request.match_info["message_id"]))

    @route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def edit_webhook_message(self, request: web.Request) -> Any:
        interaction = self._webhook_interaction(request)
        body, attachments = await _message_body(self.world, request)
        message = self.interactions.edit(interaction, request.match_info["message_id"], body, attachments)
        return self.world.message_payload(message)

    @route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}")
    async def delete_webhook_message(self, request: web.Request) -> Any:
        interaction = self._webhook_interaction(request)
        self.interactions.delete(interaction, request.match_info["message_id"])
        return no_content()

    # --- CDN -------------------------------------------------------------------------------------

    async def serve_attachment(self, request: web.Request) -> web.StreamResponse:
        """The attachment bytes behind an attachment's ``url`` (Discord's CDN, on loopback)."""
        attachment_id = _int_or_zero(request.match_info["attachment_id"])
        for message in list(self.world.messages.values()) + list(self.world.ephemeral_messages.values()):
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")
        raise web.HTTPNotFound()

    world_events: Any = None  # set by the server: the scheduled events service


def _int_or_zero(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _error(exc: errors.APIError) -> web.Response:
    return json_response(exc.body(), status=exc.status)


def _server_error(status: int) -> web.Response:
    """What clients see when Discord's backend or its proxy fails."""
    if status in (502, 503, 504):
        # These come from the proxy in front of Discord, as HTML rather than JSON.
        return web.Response(status=status, text=f"<html><body><h1>{status} Bad Gateway</h1></body></html>",
                            content_type="text/html")
    return json_response({"message": f"{status}: Internal Server Error", "code": 0}, status=status)


async def _json(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise errors.APIError(400, 50109, "The request body contains invalid JSON.") from None
    return _within_contract(request, body)


def _within_contract(request: web.Request, body: Any) -> Any:
    """Refuse, as Discord does, a body that breaks its spec or documented limits (400
    50035 with the fields named); tell the tests' observers about fields Discord ignores."""
    route = request.get(ROUTE_KEY)
    if route is None:
        return body
    contract = dc.default_contract()
    refusals = contract.refusals(route, body)
    if dc.observers:
        agent = request.headers.get("User-Agent", "")
        for problem in refusals + contract.unknown_fields(route, body):
            dc.notice(problem, agent)
    if refusals:
        raise errors.invalid_form_body(dc.error_tree(refusals))
    return body


async def _message_body(world: st.World, request: web.Request, *, nested: str | None = None) -> tuple[dict[str, Any], list[st.Attachment]]:
    """A message body, JSON or multipart ("Reference > Uploading Files").

    Multipart bodies carry ``payload_json`` and ``files[n]`` parts; the ``attachments`` list
    in the payload gives each upload's filename and description by its index ``n``. For
    interaction callbacks the message lives under ``nested`` (``data``).
    """
    if not request.content_type.startswith("multipart/"):
        return await _json(request), []
    body: dict[str, Any] = {}
    uploads: dict[int, tuple[str, str | None, bytes]] = {}
    reader = await request.multipart()
    async for part in reader:
        name = part.name or ""
        if name == "payload_json":
            try:
                body = json.loads(await part.text())
            except ValueError:
                raise errors.APIError(400, 50109, "The request body contains invalid JSON.") from None
        elif name.startswith("files[") or name.startswith("file"):
            index = _int_or_zero(name[6:-1]) if name.startswith("files[") else len(uploads)
            uploads[index] = (part.filename or f"file{index}", part.headers.get("Content-Type"), bytes(await part.read()))
    refused = dc.upload_refusal([len(data) for _, _, data in uploads.values()])
    if refused is not None:
        status, code, text = refused
        raise errors.APIError(status, code, text, {"files": {"_errors": [{
            "code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {dc.MAX_FILES} or fewer in length."}]}}
            if code == 50035 else None)
    _within_contract(request, body)
    message = body.get(nested) or {} if nested else body
    described = {}
    for entry in message.get("attachments") or []:
        if str(entry.get("id", "")).isdigit() and int(entry["id"]) in uploads:
            described[int(entry["id"])] = entry
    attachments = []
    for index, (filename, content_type, data) in sorted(uploads.items()):
        meta = described.get(index, {})
        attachments.append(
            st.Attachment(
                id=world.new_id(),
                filename=meta.get("filename") or filename,
                data=data,
                content_type=content_type,
                description=meta.get("description"),
            )
        )
    if message.get("attachments"):
        # Upload placeholders are not "attachments to keep" for an edit.
        message["attachments"] = [a for a in message["attachments"] if not (
            str(a.get("id", "")).isdigit() and int(a["id"]) in uploads and int(a["id"]) < 1 << 22
        )]
    return body, attachments
