"""Joining a chat: the introductions members post in the channel between the intro and Q1
are kept (with edits and deletions) and appear in the transcript and statistics; and
`/catchup` for a member who arrives late: the running chat's questions so far, each with a
jump link to its thread and its answer count, as only that member sees it."""

from __future__ import annotations

import re

import pytest

from bot.run.dispatcher import ScaledClock
from bot.store import StepState
from e2e.conftest import CROWD, eventually, running_bot
from e2e.test_commands import text_of
from e2e.test_journey import SPEED, schedule_soon

THREAD_LINK = re.compile(r"\*\*Q(\d)\*\* \[[^\]]+\]\(https://discord\.com/channels/(\d+)/(\d+)\) · (\d+) answers?")


@pytest.fixture
async def fast_bot(sandbox, tmp_path):
    async with running_bot(sandbox, tmp_path / "tweetchat.db", clock=ScaledClock(SPEED)) as b:
        yield b


async def test_catchup_links_each_posted_question_with_its_answer_count(sandbox, fast_bot):
    sb, bot = sandbox, fast_bot
    late = sb.member(CROWD[5])
    nothing = await late.invoke("catchup", {})
    assert "No chat is running" in (await nothing.message()).content

    chat = await schedule_soon(sb, bot, interval=2)
    q1 = await eventually(lambda: next((s for s in bot.store.steps(sb.guild_id, chat.id)
                                        if s.question == 1 and s.thread_id), None), timeout=60)
    for name in CROWD[:3]:
        await sb.member(name).send(f"{name}: my answer", channel_id=q1.thread_id)
    await eventually(lambda: len(bot.store.answers(sb.guild_id, chat.id)) == 3)

    handle = await late.invoke("catchup", {})
    reply = await handle.message()
    assert handle.is_ephemeral
    shown = text_of(reply)
    linked = {int(q): (int(g), int(t), int(n)) for q, g, t, n in THREAD_LINK.findall(shown)}
    assert linked[1] == (sb.guild_id, q1.thread_id, 3)
    posted = [s.question for s in bot.store.steps(sb.guild_id, chat.id)
              if s.question and s.state is StepState.POSTED]
    assert sorted(linked) == posted  # every posted question, and only those, is linked
    assert "Q6 " in shown and ":t>" in shown  # the ones to come, with their times
    assert "is the latest" in shown

    in_thread = await late.invoke("catchup", {}, channel_id=q1.thread_id)  # from inside a thread
    assert "Catch up: 50 shades" in text_of(await in_thread.message())


async def test_introductions_before_q1_are_kept_and_in_the_record(sandbox, fast_bot):
    sb, bot = sandbox, fast_bot
    chat = await schedule_soon(sb, bot, interval=1)
    await eventually(lambda: bot.store.opened_at(sb.guild_id, chat.id), timeout=150)
    sam = await sb.member(CROWD[0]).send("Hi all, Sam, band 6 MSK physio in Leeds")
    aoife = await sb.member(CROWD[1]).send("Aoife, OT student in Cork, first chat!")
    gone = await sb.member(CROWD[2]).send("hello (wrong channel, sorry)")
    await sb.member(CROWD[0]).edit(sam, "Hi all, Sam, band 7 MSK physio in Leeds")
    await sb.member(CROWD[2]).delete(gone)
    await eventually(lambda: bot.store.first_question_at(sb.guild_id, chat.id), timeout=60)
    await sb.member(CROWD[3]).send("is the chat on tonight?")  # after Q1: ordinary conversation
    await eventually(lambda: {a["message_id"] for a in bot.store.answers(sb.guild_id, chat.id)}
                     == {sam.id, aoife.id})
    stored = {a["message_id"]: a for a in bot.store.answers(sb.guild_id, chat.id)}
    assert stored[sam.id]["content"].endswith("band 7 MSK physio in Leeds")
    assert {a["question"] for a in stored.values()} == {0}

    handle = await sb.moderator.invoke("tweetchat transcript", {"chat": chat.id, "format": "md"})
    [md] = (await handle.message()).attachments
    text = md.data.decode("utf-8")
    assert "## Introductions" in text and "2 members introduced themselves." in text
    assert text.index("band 7 MSK physio") < text.index("## Q1")
    assert "wrong channel" not in text and "on tonight" not in text
    assert "0 answers" in (await handle.message()).content  # introductions are not answers
    stats = await sb.moderator.invoke("tweetchat stats", {"chat": chat.id, "public": False})
    assert "2 members introduced themselves before Q1" in text_of(await stats.message())
