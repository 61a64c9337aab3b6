"""/mydata on the sandbox: a member exports, opts out, and deletes their data; other
members' data stays; the retention purge runs from the bot."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.store import to_db
from e2e.conftest import eventually
from e2e.test_chat_run import schedule_now, wait_for_thread


@pytest.fixture
async def answered(sandbox, bot):
    """A running chat where two members have answered Q1."""
    sb = sandbox
    chat = schedule_now(bot, sb, speed=60, delay=0.2)
    thread = await wait_for_thread(sb, 1)
    leaver, stayer = sb.member("member01"), sb.member("member02")
    first = await leaver.send("A1 my private thoughts", channel_id=thread.id)
    await leaver.edit(first, "A1 my private thoughts, edited")
    await stayer.send("A1 stayer's answer", channel_id=thread.id)
    await eventually(lambda: len(bot.store.answers(sb.guild_id, chat.id)) == 2)
    await eventually(lambda: len(bot.store.revisions(sb.guild_id, first.id)) == 2)
    return chat, thread, leaver, stayer


async def test_export_gives_the_member_their_data_only_they_see(sandbox, bot, answered):
    chat, _, leaver, _ = answered
    handle = await leaver.invoke("mydata export")
    reply = await handle.message()
    assert handle.is_ephemeral and not sandbox.member("member02").can_see(reply)
    [attachment] = reply.attachments
    data = json.loads(await leaver.read_attachment(attachment))
    assert data["member_id"] == leaver.id
    assert [a["content"] for a in data["answers"]] == ["A1 my private thoughts, edited"]
    assert len(data["answers"][0]["revisions"]) == 2
    assert "stayer" not in json.dumps(data)


async def test_opt_out_stops_storing_and_opt_in_restarts(sandbox, bot, answered):
    chat, thread, leaver, _ = answered
    said = await (await leaver.invoke("mydata optout")).message()
    assert "opted out" in said.content
    await leaver.send("A1 not to be kept", channel_id=thread.id)
    await (await leaver.invoke("mydata optin")).message()
    await leaver.send("A1 kept again", channel_id=thread.id)
    await eventually(lambda: any(a["content"] == "A1 kept again"
                                 for a in bot.store.answers(sandbox.guild_id, chat.id)))
    contents = [a["content"] for a in bot.store.answers(sandbox.guild_id, chat.id)]
    assert "A1 not to be kept" not in contents


async def test_delete_asks_first_then_leaves_no_trace(sandbox, bot, answered):
    sb = sandbox
    chat, _, leaver, stayer = answered
    asked = await (await leaver.invoke("mydata delete")).message()
    assert "cannot be undone" in asked.content
    pressed = await leaver.press(asked, "mydata:delete:cancel")
    await pressed.response()
    assert len(bot.store.answers(sb.guild_id, chat.id)) == 2

    asked = await (await leaver.invoke("mydata delete")).message()
    pressed = await leaver.press(asked, "mydata:delete:confirm")
    await pressed.response()
    done = sb.world.any_message(asked.id)
    assert "Deleted 1 answer" in done.content
    for table in bot.store.db.table_names():
        for row in bot.store.db[table].rows:
            assert str(leaver.id) not in json.dumps(row, default=str), table
            assert "private thoughts" not in json.dumps(row, default=str), table
    assert [a["author_id"] for a in bot.store.answers(sb.guild_id, chat.id)] == [stayer.id]
    assert bot.store.erased_tallies(sb.guild_id, chat.id) == {1: (1, 1)}
    # Moderators see that it happened, not who or what.
    audit = await (await sb.moderator.invoke("tweetchat audit")).message()
    shown = audit.embeds[0]["description"]
    assert "**member data erased on request**: 1 answer, 2 revisions" in shown
    assert str(leaver.id) not in shown and "private thoughts" not in shown


async def test_the_retention_purge_runs_from_the_bot(sandbox, bot, answered):
    sb = sandbox
    chat, *_ = answered
    cog = bot.get_cog("MyData")
    assert cog.retention.is_running()
    bot.store.update_server_settings(sb.guild_id, bot.now(), retention_days=1)
    assert await cog.purge() == {}  # nothing is a day old yet
    # Age the answers by two days, as time would.
    bot.store.db.execute("UPDATE answers SET created_at = ?",
                         [to_db(bot.now() - timedelta(days=2))])
    assert await cog.purge() == {sb.guild_id: 2}
    assert bot.store.answers(sb.guild_id, chat.id) == []
