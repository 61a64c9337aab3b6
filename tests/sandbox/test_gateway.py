"""Gateway conformance: a plain discord.py client against the sandbox's gateway."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import discord
import pytest

from bot.sandbox import SandboxConfig

from sandbox_clients import TIMEOUT, Recorder, all_intents, connected, listen


async def test_ready_and_guild_create_are_parsed(sandbox, client):
    assert client.user.id == sandbox.bot_user_id
    assert client.application_id == sandbox.application_id
    guild = client.get_guild(sandbox.guild_id)
    assert guild.name == "Physiotalk"
    channel = guild.get_channel(sandbox.channel_id)
    assert isinstance(channel, discord.TextChannel)
    assert channel.name == "tweetchat" and channel.topic == "Tweetchats happen here"
    assert {r.name for r in guild.roles} >= {"@everyone", "Moderator", "TweetChat"}
    assert guild.me.guild_permissions.send_messages
    # The guild's created_at comes from its snowflake, so it is today, not 1970 or 2015.
    assert abs(guild.created_at - discord.utils.utcnow()) < dt.timedelta(minutes=1)


async def test_members_arrive_through_request_guild_members(sandbox, client):
    guild = client.get_guild(sandbox.guild_id)
    # Without the presence intent GUILD_CREATE lists only the bot; discord.py chunks the rest.
    await asyncio.wait_for(guild.chunk(), TIMEOUT)
    names = {m.name for m in guild.members}
    assert {"maya", "pat", "sam", "TweetChat"} <= names
    maya = guild.get_member(sandbox.member("maya").id)
    assert maya.guild_permissions.manage_events
    assert not guild.get_member(sandbox.member("pat").id).guild_permissions.manage_events


async def test_message_created_at_comes_from_the_snowflake(sandbox, client):
    sent = await sandbox.member("pat").send("hello, chat")
    message = await client.wait_for("message", timeout=TIMEOUT)
    assert message.id == sent.id
    assert message.content == "hello, chat"
    assert message.author.id == sandbox.member("pat").id
    assert message.channel.id == sandbox.channel_id
    assert message.created_at == sent.created_at
    assert abs(message.created_at - discord.utils.utcnow()) < dt.timedelta(seconds=5)
    assert message.created_at == discord.utils.snowflake_time(message.id)


async def test_sequence_numbers_increase_by_one(sandbox):
    frames: list[dict] = []
    async with connected(sandbox, enable_debug_events=True) as client:
        listen(client, "socket_raw_receive", lambda raw: frames.append(json.loads(raw)))
        messages = Recorder(client, "message")
        for n in range(3):
            await sandbox.member("pat").send(f"message {n}")
        await messages.wait(3)
    seqs = [f["s"] for f in frames if f["op"] == 0]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert sandbox.gateway.connection_queries[0]["compress"] == "zlib-stream"
    assert sandbox.gateway.connection_queries[0]["encoding"] == "json"


@pytest.fixture
def sandbox_config():
    return SandboxConfig(heartbeat_interval_ms=150)


async def test_heartbeats_are_acknowledged(sandbox, client):
    await sandbox.gateway.wait_for("heartbeat", count=3, timeout=TIMEOUT)
    assert client.latency < 1.0
    before = sandbox.gateway.log.count("heartbeat")
    await sandbox.faults.request_heartbeat()  # op 1 from the server: beat now
    await sandbox.gateway.wait_for("heartbeat", count=before + 1, timeout=TIMEOUT)


async def test_dropped_connection_resumes_and_replays_missed_events(sandbox, client):
    resumed = asyncio.create_task(client.wait_for("resumed", timeout=TIMEOUT))
    assert await sandbox.faults.drop_gateway() == 1
    # Sent while the bot is disconnected: only a replay can deliver it.
    missed = await sandbox.member("pat").send("while you were away")
    got = await client.wait_for("message", check=lambda m: m.id == missed.id, timeout=TIMEOUT)
    await resumed
    assert got.content == "while you were away"
    assert sandbox.gateway.log.count("identify") == 1
    assert sandbox.gateway.log.count("resumed") == 1
    # discord.py resumed at READY's resume_gateway_url, not the default gateway.
    assert sandbox.gateway.connection_paths == ["/", "/resume/"]


async def test_close_code_4000_resumes(sandbox, client):
    await sandbox.faults.drop_gateway(code=4000)
    await sandbox.gateway.wait_for("resumed", timeout=TIMEOUT)
    sent = await sandbox.member("sam").send("after the close")
    assert (await client.wait_for("message", timeout=TIMEOUT)).id == sent.id


async def test_refused_resume_leads_to_a_new_identify(sandbox, client):
    sandbox.faults.refuse_next_resume()
    # discord.py waits 5 s before any IDENTIFY that is not its first (identify concurrency).
    ready_again = asyncio.create_task(client.wait_for("ready", timeout=TIMEOUT + 5))
    await sandbox.faults.drop_gateway()
    await ready_again
    assert sandbox.gateway.log.count("resume_refused") == 1
    assert sandbox.gateway.log.count("identify") == 2
    sent = await sandbox.member("pat").send("new session")
    assert (await client.wait_for("message", timeout=TIMEOUT)).id == sent.id


async def test_reconnect_opcode_makes_the_client_resume(sandbox, client):
    await sandbox.faults.send_reconnect()
    await sandbox.gateway.wait_for("resumed", timeout=TIMEOUT)
    assert sandbox.gateway.log.count("identify") == 1


async def test_resumable_invalid_session_resumes(sandbox, client):
    await sandbox.faults.invalidate_sessions(resumable=True)
    await sandbox.gateway.wait_for("resumed", timeout=TIMEOUT)


async def test_paused_dispatch_delivers_in_order_when_resumed(sandbox, client):
    received = Recorder(client, "message")
    async with sandbox.faults.dispatch_paused():
        for n in range(5):
            await sandbox.member("pat").send(f"queued {n}")
        with pytest.raises(asyncio.TimeoutError):
            await received.wait(1, timeout=0.2)
    messages = await received.wait(5)
    assert [m.content for m in messages] == [f"queued {n}" for n in range(5)]


async def test_without_message_content_intent_content_is_empty(sandbox):
    intents = all_intents()
    intents.message_content = False
    async with connected(sandbox, intents) as client:
        pat = sandbox.member("pat")
        await pat.send("secret words", files={"notes.txt": b"x"})
        plain = await client.wait_for("message", timeout=TIMEOUT)
        assert plain.content == "" and plain.attachments == []
        await pat.send(f"{client.user.mention} you can read this")
        mentioned = await client.wait_for("message", timeout=TIMEOUT)
        assert mentioned.content.endswith("you can read this")
        own = await client.get_channel(sandbox.channel_id).send("mine")
        assert own.content == "mine"


async def test_without_guild_messages_intent_no_message_events(sandbox):
    intents = all_intents()
    intents.guild_messages = False
    async with connected(sandbox, intents) as client:
        await sandbox.member("pat").send("unheard")
        await sandbox.member("maya").react(sandbox.history()[-1], "👍")
        payload = await client.wait_for("raw_reaction_add", timeout=TIMEOUT)
        assert payload.emoji.name == "👍"
    assert not any(t == "MESSAGE_CREATE" for _, t, _ in next(iter(sandbox.gateway.sessions.values())).buffer)


async def test_privileged_intent_not_enabled_closes_with_4014(sandbox):
    sandbox.world.message_content_enabled = False
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with connected(sandbox):
            pass


async def test_bad_token_is_refused(sandbox):
    client = discord.Client(intents=all_intents())
    with pytest.raises(discord.LoginFailure):
        await client.login("not-the-token")
    await client.close()


async def test_get_gateway_bot_points_at_the_sandbox(sandbox, client):
    data = await client.http.get_bot_gateway()
    assert data[1] == sandbox.gateway_url.rstrip("/") + "/" or data[1].startswith(sandbox.gateway_url.rstrip("/"))


async def test_a_shard_gets_only_its_servers_and_their_events(sandbox):
    """Topics > Gateway > Sharding: a server's events go to shard (guild_id >> 22) % count."""
    world = sandbox.world
    other = world.create_guild("Other")
    while (other.id >> 22) % 2 == (sandbox.guild_id >> 22) % 2:
        del world.guilds[other.id]
        other = world.create_guild("Other")
    mine = (sandbox.guild_id >> 22) % 2
    elsewhere = world.add_channel(other.id, "elsewhere").id
    async with connected(sandbox, factory=discord.AutoShardedClient, shard_ids=[mine], shard_count=2) as client:
        assert [g.id for g in client.guilds] == [sandbox.guild_id]
        seen = []

        @client.event
        async def on_message(message):
            seen.append(message.channel.id)

        await sandbox.member("pat").send("here")
        other_author = world.add_member(other.id, "zed")
        world.create_message(elsewhere, other_author.user.id, content="not for this shard")
        await asyncio.sleep(0.3)
        assert seen == [sandbox.channel_id]
    assert sandbox.gateway.ready_payloads[-1]["shard"] == [mine, 2]


async def test_an_invalid_shard_closes_with_4010(sandbox):
    with pytest.raises(discord.ConnectionClosed) as info:
        async with connected(sandbox, factory=discord.AutoShardedClient, shard_ids=[0], shard_count=0):
            pass
    assert info.value.code == 4010
