"""A chat's record on the sandbox: posted after the wrap-up when the server asks for it,
and on request with /tweetchat transcript and /tweetchat stats."""

from __future__ import annotations

import csv
import io

import pytest

from bot.sandbox import CommandRefused
from bot.store import ChatState
from e2e.conftest import eventually
from e2e.test_chat_run import schedule_now, wait_for_thread

PNG = b"\x89PNG\r\n\x1a\n"


async def run_short_chat(sb, bot):
    """The seed chat at x600 with a few answers, one reply and one withdrawal."""
    chat = schedule_now(bot, sb, speed=600, delay=0.3)
    for number in (1, 2):
        thread = await wait_for_thread(sb, number)
        first = await sb.member("member01").send(f"A{number} first", channel_id=thread.id)
        await sb.member("member02").reply(first, "a reply")
        if number == 2:
            await sb.member("member01").delete(first)
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, 20)
    return chat


async def test_the_record_is_posted_after_the_wrap_up_and_on_request(sandbox, bot):
    sb = sandbox
    bot.store.update_server_settings(sb.guild_id, bot.now(), share_record=True)
    chat = await run_short_chat(sb, bot)

    # After the wrap-up: statistics, chart and HTML transcript, replying to the wrap-up.
    wrap_up = next(s for s in bot.store.steps(sb.guild_id, chat.id) if s.kind.value == "wrap_up")
    shared = await eventually(lambda: [m for m in sb.history(sb.channel_id)
                                       if m.referenced_message_id == wrap_up.message_id
                                       and m.author.id == sb.bot_user_id])
    [message] = shared
    names = sorted(a.filename for a in message.attachments)
    assert names[0] == "chart.png" and names[1].endswith(".html")
    assert message.embeds[0]["image"]["url"] == "attachment://chart.png"
    assert "3 answers from 2 members" in message.embeds[0]["description"]
    chart = next(a for a in message.attachments if a.filename == "chart.png")
    assert chart.data.startswith(PNG)
    html = next(a for a in message.attachments if a.filename.endswith(".html")).data.decode()
    assert "A1 first" in html and "A2 first" not in html  # withdrawn answers left out

    # /tweetchat transcript: a CSV only the moderator gets, one row per shown answer.
    choices = await sb.moderator.autocomplete("tweetchat transcript", "chat", "shades")
    assert choices[0]["value"] == chat.id
    handle = await sb.moderator.invoke("tweetchat transcript", {"chat": chat.id, "format": "csv"})
    reply = await handle.message()
    assert handle.is_ephemeral and "3 answers" in reply.content
    [attachment] = reply.attachments
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8-sig"))))
    stored = bot.store.answers(sb.guild_id, chat.id)
    assert sorted(int(r["message_id"]) for r in rows) == sorted(a["message_id"] for a in stored)

    # /tweetchat stats: posted in the channel, no ranking unless asked for.
    handle = await sb.moderator.invoke("tweetchat stats", {"chat": chat.id})
    posted = await handle.message()
    assert not handle.is_ephemeral and posted.attachments[0].data.startswith(PNG)
    assert posted.embeds[0].get("fields", []) == []
    handle = await sb.moderator.invoke("tweetchat stats", {"chat": chat.id, "public": False,
                                                          "rank_members": True})
    ranked = await handle.message()
    assert handle.is_ephemeral
    assert ranked.embeds[0]["fields"][0]["name"].startswith("Most answers")
    assert bot.store.audit_log(sb.guild_id)[0]["action"] == "member ranking shown"


async def test_the_record_commands_are_for_moderators_and_name_unknown_chats(sandbox, bot):
    sb = sandbox
    with pytest.raises(CommandRefused):
        await sb.member("member01").invoke("tweetchat stats", {"chat": 1})
    handle = await sb.moderator.invoke("tweetchat transcript", {"chat": 999})
    said = await handle.message()
    assert said.content == "⚠️ there is no chat #999 in this server"
