"""`/catchup` for a member who arrives late: the running chat's questions so far, each with
a jump link to its thread and its answer count, as only that member sees it."""

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
