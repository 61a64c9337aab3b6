"""Rate limits (headers, 429 bodies, global limit) and injected faults, seen by discord.py."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import discord
import pytest
from sandbox_clients import TIMEOUT

from bot.sandbox import RateLimits, Rule, SandboxConfig

SEND = "POST /channels/{channel_id}/messages"


async def raw_post(sandbox, path: str, body: dict) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(sandbox.api_base + path, json=body,
                                headers={"Authorization": f"Bot {sandbox.bot_token}"}) as response:
            return response.status, dict(response.headers), await response.json()


class TestRouteBuckets:
    @pytest.fixture
    def sandbox_config(self):
        return SandboxConfig(rate_limits=RateLimits(routes={SEND: Rule(2, 0.5)}))

    async def test_headers_and_429_body(self, sandbox):
        path = f"/channels/{sandbox.channel_id}/messages"
        status, headers, _ = await raw_post(sandbox, path, {"content": "one"})
        assert status == 200
        assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Remaining"] == "1"
        assert 0 < float(headers["X-RateLimit-Reset-After"]) <= 0.5
        assert abs(float(headers["X-RateLimit-Reset"]) - time.time()) < 1.0
        bucket = headers["X-RateLimit-Bucket"]
        await raw_post(sandbox, path, {"content": "two"})
        status, headers, body = await raw_post(sandbox, path, {"content": "three"})
        assert status == 429
        assert body["global"] is False and 0 < body["retry_after"] <= 0.5
        assert headers["X-RateLimit-Scope"] == "user" and headers["X-RateLimit-Bucket"] == bucket
        assert headers["Via"]  # discord.py only trusts 429s that came through Discord's proxy
        # Another channel is another bucket.
        status, _, _ = await raw_post(sandbox, f"/channels/{sandbox.general_channel_id}/messages", {"content": "x"})
        assert status == 200

    async def test_discord_py_spaces_requests_by_the_headers(self, sandbox, client):
        channel = client.get_channel(sandbox.channel_id)
        started = time.monotonic()
        for n in range(5):
            await channel.send(f"paced {n}")
        assert time.monotonic() - started > 0.9  # 5 sends at 2 per 0.5 s need two waits
        assert sandbox.rate_limiter.refusals == []  # it waited before, not after, a 429
        assert len(sandbox.history()) == 5


class TestGlobalLimit:
    @pytest.fixture
    def sandbox_config(self):
        return SandboxConfig(rate_limits=RateLimits(global_per_second=3))

    async def test_global_429_is_waited_out(self, sandbox, client):
        channel = client.get_channel(sandbox.channel_id)
        sent = await asyncio.wait_for(asyncio.gather(*(channel.send(f"burst {n}") for n in range(6))), TIMEOUT)
        assert len(sent) == 6 and len(sandbox.history()) == 6
        assert any(scope == "global" for _, scope in sandbox.rate_limiter.refusals)


async def test_500_once_is_retried_by_discord_py(sandbox, client):
    sandbox.faults.fail_route(SEND, 500)
    message = await client.get_channel(sandbox.channel_id).send("after a hiccup")
    assert message.content == "after a hiccup"
    assert sandbox.rest.requests.count(SEND) == 2
    assert len(sandbox.history()) == 1


async def test_502_from_the_proxy_is_retried(sandbox, client):
    sandbox.faults.fail_route("GET /channels/{channel_id}/messages/{message_id}", 502)
    stored = await sandbox.member("pat").send("fetch me")
    fetched = await client.get_channel(sandbox.channel_id).fetch_message(stored.id)
    assert fetched.content == "fetch me"


async def test_slow_route(sandbox, client):
    sandbox.faults.slow_route(SEND, 0.3)
    started = time.monotonic()
    await client.get_channel(sandbox.channel_id).send("slowly")
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await client.get_channel(sandbox.channel_id).send("fast again")
    assert time.monotonic() - started < 0.3


async def test_403_is_not_retried(sandbox, client):
    sandbox.faults.fail_route(SEND, 500, times=0)  # a fault that never fires changes nothing
    with pytest.raises(discord.Forbidden):
        await client.http.edit_channel_permissions(sandbox.channel_id, sandbox.member("pat").id, "0", "2048", 1)
