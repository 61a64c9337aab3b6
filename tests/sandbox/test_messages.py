"""Messages through discord.py: create (nonce), edit, delete, fetch, history, replies,
attachments, reactions, and Discord's errors."""

from __future__ import annotations

import io

import discord
import pytest
from sandbox_clients import TIMEOUT, Recorder

from bot.sandbox import permissions as perms


async def channel_of(sandbox, client) -> discord.TextChannel:
    return client.get_channel(sandbox.channel_id)


async def test_send_is_stored_and_parsed(sandbox, client):
    channel = await channel_of(sandbox, client)
    sent = await channel.send("Q1: what do you post?", embed=discord.Embed(title="Question 1"))
    stored = sandbox.history()[-1]
    assert stored.id == sent.id and stored.content == "Q1: what do you post?"
    assert sent.author.id == sandbox.bot_user_id
    assert sent.embeds[0].title == "Question 1"
    assert sent.created_at == discord.utils.snowflake_time(sent.id)
    assert sandbox.member("pat").messages()[-1].id == sent.id


async def test_enforced_nonce_returns_the_existing_message(sandbox, client):
    channel = await channel_of(sandbox, client)
    first = await channel.send("once only", nonce="q1-posting")
    again = await channel.send("once only", nonce="q1-posting")
    other = await channel.send("once only", nonce="q2-posting")
    assert again.id == first.id
    assert other.id != first.id
    assert [m.content for m in sandbox.history()] == ["once only", "once only"]


async def test_edit_and_delete_by_bot(sandbox, client):
    channel = await channel_of(sandbox, client)
    sent = await channel.send("draft")
    edited = await sent.edit(content="final")
    assert edited.content == "final" and edited.edited_at is not None
    assert sandbox.history()[-1].content == "final"
    await edited.delete()
    assert sandbox.history() == []
    with pytest.raises(discord.NotFound) as info:
        await channel.fetch_message(sent.id)
    assert info.value.code == 10008


async def test_member_edit_and_delete_reach_the_client(sandbox, client):
    pat = sandbox.member("pat")
    original = await pat.send("A1: typo")
    await client.wait_for("message", timeout=TIMEOUT)
    await pat.edit(original, "A1: fixed")
    before, after = await client.wait_for("message_edit", timeout=TIMEOUT)
    assert before.content == "A1: typo" and after.content == "A1: fixed"
    await pat.delete(original)
    deleted = await client.wait_for("raw_message_delete", timeout=TIMEOUT)
    assert deleted.message_id == original.id and deleted.channel_id == sandbox.channel_id


async def test_bot_cannot_edit_a_members_message(sandbox, client):
    theirs = await sandbox.member("pat").send("mine")
    message = await (await channel_of(sandbox, client)).fetch_message(theirs.id)
    with pytest.raises(discord.Forbidden) as info:
        await message.edit(content="hijacked")
    assert info.value.code == 50005


async def test_history_pages_past_100(sandbox, client):
    pat, sam = sandbox.member("pat"), sandbox.member("sam")
    for n in range(260):
        await (pat if n % 2 else sam).send(f"message {n}")
    channel = await channel_of(sandbox, client)
    sandbox.rest.requests.clear()
    newest = [m async for m in channel.history(limit=250)]
    assert [m.content for m in newest] == [f"message {n}" for n in range(259, 9, -1)]
    assert all(a.id > b.id for a, b in zip(newest, newest[1:]))
    assert sandbox.rest.requests.count("GET /channels/{channel_id}/messages") == 3

    everything = [m async for m in channel.history(limit=None)]
    assert len(everything) == 260

    anchor = sandbox.history()[99]  # "message 99"
    after = [m async for m in channel.history(limit=120, after=anchor, oldest_first=True)]
    assert [m.content for m in after] == [f"message {n}" for n in range(100, 220)]

    before = [m async for m in channel.history(limit=5, before=anchor)]
    assert [m.content for m in before] == [f"message {n}" for n in (98, 97, 96, 95, 94)]

    around = [m async for m in channel.history(limit=5, around=anchor)]
    assert sorted(m.content for m in around) == sorted(f"message {n}" for n in (97, 98, 99, 100, 101))


async def test_history_limit_outside_1_to_100_is_invalid_form_body(sandbox, client):
    with pytest.raises(discord.HTTPException) as info:
        await client.http.logs_from(sandbox.channel_id, 101)
    assert info.value.status == 400 and info.value.code == 50035
    assert "limit" in info.value.text


async def test_replies_both_ways(sandbox, client):
    question = await (await channel_of(sandbox, client)).send("Q2: how often?")
    answer = await sandbox.member("pat").reply(sandbox.history()[-1], "A2: daily")
    got = await client.wait_for("message", check=lambda m: m.id == answer.id, timeout=TIMEOUT)
    assert got.type is discord.MessageType.reply
    assert got.reference.message_id == question.id
    assert got.reference.resolved.content == "Q2: how often?"
    assert client.user in got.mentions  # a reply pings the replied-to author by default
    thanks = await got.reply("Thanks!", mention_author=False)
    stored = sandbox.history()[-1]
    assert stored.id == thanks.id and stored.referenced_message_id == answer.id
    assert stored.mention_ids == []


async def test_attachments_upload_and_download(sandbox, client):
    channel = await channel_of(sandbox, client)
    sent = await channel.send("transcript", file=discord.File(io.BytesIO(b"Q1,A1\n"), filename="chat.csv"))
    assert sent.attachments[0].filename == "chat.csv" and sent.attachments[0].size == 6
    assert sandbox.history()[-1].attachments[0].data == b"Q1,A1\n"
    theirs = await sandbox.member("sam").send("my slides", files={"slides.pdf": b"%PDF-1.4 sandbox"})
    got = await client.wait_for("message", check=lambda m: m.id == theirs.id, timeout=TIMEOUT)
    attachment = got.attachments[0]
    assert attachment.filename == "slides.pdf" and attachment.content_type == "application/pdf"
    assert await attachment.read() == b"%PDF-1.4 sandbox"


async def test_reactions_both_ways(sandbox, client):
    sent = await (await channel_of(sandbox, client)).send("React if you agree")
    await sandbox.member("pat").react(sandbox.history()[-1], "👍")
    payload = await client.wait_for("raw_reaction_add", timeout=TIMEOUT)
    assert payload.emoji.name == "👍" and payload.user_id == sandbox.member("pat").id
    await sent.add_reaction("✅")
    stored = sandbox.history()[-1]
    assert stored.reactions == {"👍": [sandbox.member("pat").id], "✅": [sandbox.bot_user_id]}
    fetched = await sent.channel.fetch_message(sent.id)
    assert {(str(r.emoji), r.count, r.me) for r in fetched.reactions} == {("👍", 1, False), ("✅", 1, True)}


@pytest.mark.refusals_expected
async def test_too_long_content_is_invalid_form_body(sandbox, client):
    with pytest.raises(discord.HTTPException) as info:
        await (await channel_of(sandbox, client)).send("x" * 2001)
    assert info.value.code == 50035 and "content" in info.value.text


async def test_missing_send_messages_is_403_50013(sandbox, client):
    sandbox.set_bot_channel_permissions(sandbox.channel_id, deny=perms.SEND_MESSAGES)
    channel = await channel_of(sandbox, client)
    await client.wait_for("guild_channel_update", timeout=TIMEOUT)
    assert not channel.permissions_for(channel.guild.me).send_messages  # discord.py agrees
    with pytest.raises(discord.Forbidden) as info:
        await channel.send("hello?")
    assert info.value.status == 403 and info.value.code == 50013
    general = client.get_channel(sandbox.general_channel_id)
    assert (await general.send("still fine elsewhere")).content == "still fine elsewhere"


async def test_hidden_channel_is_403_50001(sandbox, client):
    sandbox.set_bot_channel_permissions(sandbox.channel_id, deny=perms.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as info:
        await client.http.send_message(sandbox.channel_id, params=discord.http.handle_message_parameters("x"))
    assert info.value.code == 50001


async def test_many_member_messages_arrive_in_order(sandbox, client):
    received = Recorder(client, "message")
    for n in range(50):
        await sandbox.member("pat").send(str(n))
    messages = await received.wait(50)
    assert [m.content for m in messages] == [str(n) for n in range(50)]


async def test_rest_follows_the_apps_message_content_switch(sandbox, client):
    await sandbox.member("pat").send("private thoughts")
    sandbox.world.message_content_enabled = False  # switched off in the developer portal
    [fetched] = [m async for m in client.get_channel(sandbox.channel_id).history(limit=1)]
    assert fetched.content == "" and fetched.author.name == "pat"


async def test_history_without_read_message_history_is_empty(sandbox, client):
    await sandbox.member("pat").send("before the change")
    sandbox.set_bot_channel_permissions(sandbox.channel_id, deny=perms.READ_MESSAGE_HISTORY)
    assert [m async for m in client.get_channel(sandbox.channel_id).history(limit=10)] == []


@pytest.mark.refusals_expected
async def test_direct_messages_reach_members_unless_their_dms_are_closed(sandbox, client):
    pat = sandbox.member("pat")
    user = await client.fetch_user(pat.id)
    sent = await user.send("Starting soon", embed=discord.Embed(title="Reminder"))
    [received] = pat.direct_messages()
    assert received.id == sent.id and received.embeds[0]["title"] == "Reminder"
    assert isinstance(sent.channel, discord.DMChannel) and sent.channel.recipient.id == pat.id
    assert all(m.id != sent.id for m in sandbox.history())  # never in a guild channel
    again = await user.create_dm()
    assert again.id == sent.channel.id  # the same DM channel every time
    with pytest.raises(discord.HTTPException) as too_long:
        await user.send("x" * 2001)
    assert too_long.value.code == 50035
    pat.close_dms()
    with pytest.raises(discord.Forbidden) as refused:
        await user.send("hello again")
    assert (refused.value.status, refused.value.code) == (403, 50007)
    assert refused.value.text == "Cannot send messages to this user"
    assert len(pat.direct_messages()) == 1
