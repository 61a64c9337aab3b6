"""Threads through discord.py: from a message, in a channel, membership, archiving,
errors, and the per-guild thread creation rate limit."""

from __future__ import annotations

import time

import discord
import pytest
from sandbox_clients import TIMEOUT

from bot.sandbox import RateLimits, Rule, SandboxConfig
from bot.sandbox import permissions as perms


async def post(sandbox, client, content: str) -> discord.Message:
    return await client.get_channel(sandbox.channel_id).send(content)


async def test_thread_from_message(sandbox, client):
    question = await post(sandbox, client, "Q1: What do you share?")
    thread = await question.create_thread(name="Q1 answers", auto_archive_duration=60)
    assert thread.id == question.id  # a thread started from a message shares its id
    assert thread.parent_id == sandbox.channel_id and thread.name == "Q1 answers"
    assert thread.type is discord.ChannelType.public_thread
    assert thread.owner_id == sandbox.bot_user_id and thread.auto_archive_duration == 60
    created = await client.wait_for("thread_create", timeout=TIMEOUT)
    assert created.id == thread.id
    assert client.get_channel(thread.id) is not None
    with pytest.raises(discord.HTTPException) as info:
        await question.create_thread(name="again")
    assert info.value.code == 160004


async def test_members_post_in_threads_and_join_them(sandbox, client):
    question = await post(sandbox, client, "Q2")
    thread = await question.create_thread(name="Q2 answers")
    pat = sandbox.member("pat")
    joined = client.wait_for("thread_member_join", timeout=TIMEOUT)
    posted = client.wait_for("message", check=lambda m: m.content == "A2: LinkedIn", timeout=TIMEOUT)
    answer = await pat.send("A2: LinkedIn", channel_id=thread.id)
    member = await joined
    assert member.id == pat.id and member.thread_id == thread.id
    got = await posted
    assert got.id == answer.id
    assert isinstance(got.channel, discord.Thread) and got.channel.parent_id == sandbox.channel_id
    reply = await thread.send("Thanks Pat")
    assert reply.channel.id == thread.id
    assert [m.content for m in pat.messages(thread.id)] == ["A2: LinkedIn", "Thanks Pat"]
    assert {m.id for m in await thread.fetch_members()} == {sandbox.bot_user_id, pat.id}


async def test_thread_without_message_and_membership_routes(sandbox, client):
    channel = client.get_channel(sandbox.channel_id)
    thread = await channel.create_thread(name="Backstage", type=discord.ChannelType.public_thread)
    notice = sandbox.history()[-1]
    assert notice.type == 18 and notice.content == "Backstage"  # THREAD_CREATED system message
    sam = sandbox.member("sam")
    await thread.add_user(discord.Object(sam.id))
    assert sam.id in sandbox.world.channel(thread.id).thread_members
    await thread.remove_user(discord.Object(sam.id))
    assert sam.id not in sandbox.world.channel(thread.id).thread_members
    await thread.leave()
    assert sandbox.bot_user_id not in sandbox.world.channel(thread.id).thread_members
    await thread.join()
    assert sandbox.bot_user_id in sandbox.world.channel(thread.id).thread_members
    private = await channel.create_thread(name="Mods only", type=discord.ChannelType.private_thread, invitable=False)
    assert private.type is discord.ChannelType.private_thread and not private.invitable


async def test_archive_and_list_threads(sandbox, client):
    first = await (await post(sandbox, client, "Q1")).create_thread(name="Q1 answers")
    second = await (await post(sandbox, client, "Q2")).create_thread(name="Q2 answers")
    archived = await first.edit(archived=True, locked=True)
    assert archived.archived and archived.locked
    before, after = await client.wait_for("thread_update", timeout=TIMEOUT)
    assert after.archived and not before.archived
    channel = client.get_channel(sandbox.channel_id)
    listed = [t async for t in channel.archived_threads()]
    assert [t.id for t in listed] == [first.id]
    active = await channel.guild.active_threads()
    assert [t.id for t in active] == [second.id]
    # A locked thread refuses members without Manage Threads.
    with pytest.raises(Exception) as info:
        await sandbox.member("pat").send("late answer", channel_id=first.id)
    assert getattr(info.value, "code", None) == 50083


async def test_missing_create_public_threads_is_403(sandbox, client):
    sandbox.set_bot_channel_permissions(sandbox.channel_id, deny=perms.CREATE_PUBLIC_THREADS)
    message = await post(sandbox, client, "Q3")
    with pytest.raises(discord.Forbidden) as info:
        await message.create_thread(name="Q3 answers")
    assert info.value.code == 50013


class TestThreadRateLimit:
    @pytest.fixture
    def sandbox_config(self):
        return SandboxConfig(rate_limits=RateLimits(threads_per_guild=Rule(1, 1.0)))

    async def test_discord_py_waits_out_a_429_on_thread_creation(self, sandbox, client):
        one = await post(sandbox, client, "Q1")
        two = await post(sandbox, client, "Q2")
        await one.create_thread(name="Q1 answers")
        started = time.monotonic()
        thread = await two.create_thread(name="Q2 answers")
        waited = time.monotonic() - started
        assert thread.name == "Q2 answers"
        assert ("POST /channels/{channel_id}/messages/{message_id}/threads", "shared") in sandbox.rate_limiter.refusals
        assert 0.5 < waited < 3.0
