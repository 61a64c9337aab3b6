"""A whole tweetchat on the sandbox: the real bot posts through discord.py, scripted
members answer, and we check what Discord shows and what SQLite holds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.sandbox.ratelimit import RateLimits, Rule
from bot.store import ChatState, StepState
from seed import SEED_CHAT
from e2e.conftest import CROWD, eventually, running_bot

from bot.chat import load_chat_file

SPEED = 260  # the 65-minute seed chat in 15 s
TOLERANCE = timedelta(seconds=1.5)  # how late a post may be on the sandbox


def schedule_now(bot, sb, speed=SPEED, delay=1.0):
    return bot.control.schedule_compressed(
        sb.guild_id, sb.channel_id, load_chat_file(SEED_CHAT), speed=speed, lead_seconds=delay,
        zone="Europe/London", actor_id=sb.moderator.id).chat


def bot_posts(sb):
    return [m for m in sb.history(sb.channel_id) if m.author.id == sb.bot_user_id and m.embeds]


def question_threads(sb):
    return {int(t.name.split(" ")[0][1:]): t for t in sb.threads(sb.channel_id)
            if t.name.startswith("Q")}


async def wait_for_thread(sb, number, timeout=20):
    return await eventually(lambda: question_threads(sb).get(number), timeout)


async def test_full_seed_chat_posts_on_time_and_stores_every_answer(sandbox, bot):
    sb = sandbox
    chat = schedule_now(bot, sb)
    members = [sb.member(n) for n in CROWD]
    sent = {}
    edited = withdrawn = channel_answer = None
    for number in range(1, 7):
        thread = await wait_for_thread(sb, number)
        posted = []
        for i, member in enumerate(members[: 6 + number]):
            message = await member.send(f"A{number} answer from {member.name} #{i}", channel_id=thread.id)
            sent[message.id] = number
            posted.append(message)
        if number == 1:
            reply = await members[-1].reply(posted[0], "Replying to that first answer")
            sent[reply.id] = 1
            edited = posted[0]
            await members[0].edit(edited, edited.content + " (edited)")
        if number == 2:
            withdrawn = posted[0]
            await members[0].delete(withdrawn)
        if number == 3:
            channel_answer = await members[1].send("A3 answering in the channel", channel_id=sb.channel_id)
            sent[channel_answer.id] = 3
        await asyncio.sleep(0)
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, 30)
    await bot.writer.flush()

    # What Discord shows: each step once, in order, threads named and parented.
    titles = [m.embeds[0]["title"] for m in bot_posts(sb)]
    assert titles == ["50 shades of grey: professionalism and social media",
                      "Q1 of 6", "Q2 of 6", "Q3 of 6", "Halfway: a reminder of the format",
                      "Q4 of 6", "Q5 of 6", "Q6 of 6",
                      "Thank you for joining: 50 shades of grey: professionalism and social media"]
    threads = question_threads(sb)
    assert sorted(threads) == [1, 2, 3, 4, 5, 6]
    # The server's default: question threads are archived and locked at the end.
    await eventually(lambda: all(t.archived and t.locked for t in question_threads(sb).values()))
    assert threads[1].name == "Q1 · Professionalism face to face and online"
    ledger = bot.store.steps(sb.guild_id, chat.id)
    for step, message in zip(ledger, bot_posts(sb)):
        assert step.state is StepState.POSTED and step.message_id == message.id
        assert timedelta(0) <= message.created_at - step.due_at <= TOLERANCE, step
        if step.question:
            assert threads[step.question].id == step.thread_id
            assert threads[step.question].parent_id == sb.channel_id
        assert not message.mention_everyone and not message.mention_role_ids

    # What SQLite holds: every answer, the edit as a revision, the deletion as withdrawn.
    stored = {a["message_id"]: a for a in bot.store.answers(sb.guild_id, chat.id, include_withdrawn=True)}
    assert set(stored) == set(sent)
    assert all(stored[m]["question"] == q for m, q in sent.items())
    assert stored[channel_answer.id]["via"] == "channel"
    assert [r["content"] for r in bot.store.revisions(sb.guild_id, edited.id)][-1].endswith("(edited)")
    assert stored[withdrawn.id]["deleted_at"] is not None
    wrap = bot_posts(sb)[-1].embeds[0]["fields"][0]["value"]
    visible = sum(1 for m in sent if m != withdrawn.id)
    assert f"In all: {visible} answers" in wrap


async def test_restart_mid_chat_loses_nothing_and_posts_nothing_twice(sandbox, tmp_path):
    sb = sandbox
    db = tmp_path / "tweetchat.db"
    members = [sb.member(n) for n in CROWD]
    async with running_bot(sb, db) as bot:
        chat = schedule_now(bot, sb, speed=130)  # Q2 at ~7 s
        thread1 = await wait_for_thread(sb, 1)
        kept = await members[0].send("A1 before the restart", channel_id=thread1.id)
        gone = await members[5].send("A1 I will delete this while the bot is down", channel_id=thread1.id)
        await eventually(lambda: bot.store.answer(sb.guild_id, gone.id))
        q2_due = bot.store.steps(sb.guild_id, chat.id)[2].due_at
        grace = chat.definition.schedule.late_grace_seconds
    # The bot is down: members keep answering, edit and delete.
    during = [await m.send(f"A1 while the bot was down ({m.name})", channel_id=thread1.id)
              for m in members[1:5]]
    await members[0].edit(kept, "A1 before the restart, edited while it was down")
    await members[5].delete(gone)
    await members[1].delete(during[0])  # never seen by the bot: nothing to keep
    # Q2 falls due while the bot is away, and its grace period passes.
    from bot.run.dispatcher import SystemClock
    wait = (q2_due - SystemClock().now()).total_seconds() + grace + 1
    await asyncio.sleep(max(wait, 0))
    async with running_bot(sb, db) as bot:
        await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, 40)
        await bot.writer.flush()
        answers = {a["message_id"]: a for a in bot.store.answers(sb.guild_id, chat.id, include_withdrawn=True)}
        assert {kept.id, gone.id, *(m.id for m in during[1:])} == set(answers)
        assert answers[kept.id]["content"].endswith("edited while it was down")
        assert len(bot.store.revisions(sb.guild_id, kept.id)) == 2
        assert answers[gone.id]["deleted_at"] is not None
        assert all(answers[m.id]["deleted_at"] is None for m in during[1:])
    titles = [m.embeds[0]["title"] for m in bot_posts(sb)]
    assert len(titles) == len(set(titles)) == 9
    q2 = next(m for m in bot_posts(sb) if m.embeds[0]["title"] == "Q2 of 6")
    assert "late" in q2.embeds[0]["description"]  # posted after the restart, saying so


async def test_gateway_drop_resumes_and_replays_missed_answers(sandbox, bot):
    sb = sandbox
    chat = schedule_now(bot, sb, speed=200)
    thread = await wait_for_thread(sb, 1)
    await sb.faults.drop_gateway()
    missed = [await sb.member(n).send(f"A1 during the drop ({n})", channel_id=thread.id) for n in CROWD[:5]]
    await eventually(lambda: all(bot.store.answer(sb.guild_id, m.id) for m in missed), 15)
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, 30)
    titles = [m.embeds[0]["title"] for m in bot_posts(sb)]
    assert len(titles) == len(set(titles)) == 9


async def test_thread_creation_429s_are_waited_out_and_no_question_is_dropped(tmp_path):
    from bot.sandbox import Sandbox, SandboxConfig
    from bot.sandbox.client import restore_discord

    limits = RateLimits(threads_per_guild=Rule(2, 2.0))
    async with Sandbox(SandboxConfig(heartbeat_interval_ms=2000, members=CROWD,
                                     rate_limits=limits)) as sb:
        try:
            async with running_bot(sb, tmp_path / "t.db") as bot:
                chat = schedule_now(bot, sb, speed=1000)  # questions every 0.6 s: a 429 storm
                await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, 40)
                await eventually(lambda: len(question_threads(sb)) == 6, 30)
                steps = bot.store.steps(sb.guild_id, chat.id)
                assert all(s.thread_id for s in steps if s.question)
                assert [m.embeds[0]["title"] for m in bot_posts(sb)].count("Q4 of 6") == 1
        finally:
            restore_discord()
