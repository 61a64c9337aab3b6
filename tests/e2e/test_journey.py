"""A moderator's whole journey, through the slash commands only: configure the server,
`/tweetchat schedule` with its preview and Confirm (announcement and Scheduled Event),
then leave the chat alone. It starts on its own timer, members answer in the threads,
and at the end the threads are archived and locked, the Event is completed and the
record is posted. Nothing here calls the core to schedule or start a chat.

The bot runs on a clock 60 times faster than real time (the chat's hour in about a
minute); Discord's side, the sandbox, keeps real time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.chat.timeline import step_label
from bot.run.dispatcher import ScaledClock
from bot.store import ChatState
from e2e.conftest import CROWD, eventually, running_bot

SEED = "physiotalk-2016-10-17-professionalism"
SPEED = 60
EVENT_COMPLETED = 3


@pytest.fixture
async def fast_bot(sandbox, tmp_path):
    async with running_bot(sandbox, tmp_path / "tweetchat.db", clock=ScaledClock(SPEED)) as b:
        yield b


async def schedule_soon(sb, bot, *, minutes_ahead: int = 2, interval: float = 1):
    """/tweetchat schedule as a moderator types it, a couple of (bot) minutes ahead, then
    Confirm."""
    start = (bot.now() + timedelta(minutes=minutes_ahead)).replace(second=0, microsecond=0)
    handle = await sb.moderator.invoke("tweetchat schedule", {
        "chat": SEED, "channel": sb.channel_id, "when": start.strftime("%Y-%m-%d %H:%M"),
        "timezone": "UTC", "interval": interval})
    preview = await handle.message()
    assert preview.embeds and preview.embeds[0]["title"].startswith("Schedule:"), preview.content
    confirmed = await sb.moderator.press(preview, "tweetchat:confirm")
    await confirmed.response()
    [chat] = await eventually(lambda: bot.store.chats(sb.guild_id))
    chat = await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).scheduled_event_id
                            and bot.store.chat(sb.guild_id, chat.id))
    return chat


async def answer_questions(sb, bot, chat, stop: asyncio.Event) -> set[int]:
    """Each member answers each question in its thread as soon as it opens."""
    answered: set[int] = set()
    sent = []
    while not stop.is_set():
        for step in bot.store.steps(sb.guild_id, chat.id):
            if step.thread_id and step.question not in answered:
                answered.add(step.question)
                for name in CROWD[:4]:
                    msg = await sb.member(name).send(f"{name} on Q{step.question}",
                                                   channel_id=step.thread_id)
                    sent.append(msg.id)
        await asyncio.sleep(0.05)
    return set(sent)


def finished_cleanly(sb, bot, chat_id):
    chat = bot.store.chat(sb.guild_id, chat_id)
    return chat.state is ChatState.FINISHED and chat


async def test_a_scheduled_chat_left_alone_runs_and_ends_properly(sandbox, fast_bot, caplog):
    sb, bot = sandbox, fast_bot
    caplog.set_level(logging.WARNING)
    configured = await sb.moderator.invoke("tweetchat config", {"share_record": True})
    assert "Saved" in (await configured.message()).content

    chat = await schedule_soon(sb, bot)
    event = sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id)
    assert event.status == 1  # scheduled

    stop = asyncio.Event()
    answering = asyncio.create_task(answer_questions(sb, bot, chat, stop))
    await eventually(lambda: finished_cleanly(sb, bot, chat.id), timeout=150)
    stop.set()
    sent = await answering

    steps = bot.store.steps(sb.guild_id, chat.id)
    assert [s.state.value for s in steps] == ["posted"] * len(steps)
    # Every answer that reached Discord is in SQLite.
    await eventually(lambda: {a["message_id"] for a in bot.store.answers(sb.guild_id, chat.id)}
                     >= sent, timeout=10)
    # The threads are archived and locked, the Event completed, the record posted.
    threads = [sb.world.channel(s.thread_id) for s in steps if s.thread_id]
    assert len(threads) == 6
    await eventually(lambda: all(t.archived and t.locked for t in threads), timeout=20)
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id).status
                     == EVENT_COMPLETED, timeout=20)
    wrap_up = next(s for s in steps if s.kind.value == "wrap_up")
    record = await eventually(lambda: [m for m in sb.history(sb.channel_id)
                                       if m.embeds and m.embeds[0].get("title", "").startswith("Statistics")],
                              timeout=20)
    assert record[0].reference and int(record[0].reference["message_id"]) == wrap_up.message_id
    problems = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    assert not [p for p in problems if "failed" in p or "not ended" in p or "not updated" in p], problems


async def test_moderator_controls_on_a_chat_with_an_event(sandbox, fast_bot, caplog):
    """Pause, resume, skip, extend and stop through the slash commands on a chat that
    started on its own: each keeps the Event in step, none asks Discord for a start in the
    past, and the chat still ends properly."""
    sb, bot = sandbox, fast_bot
    caplog.set_level(logging.WARNING)
    chat = await schedule_soon(sb, bot, interval=3)
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.RUNNING,
                     timeout=60)
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id).status
                     == 2, timeout=20)  # active: started with the intro
    for command in ("pause", "resume", "skip", "extend", "stop"):
        options = {"chat": chat.id, **({"minutes": 5} if command == "extend" else {})}
        reply = await sb.moderator.invoke(f"tweetchat {command}", options)
        assert "✅" in (await reply.message()).content, command
    await eventually(lambda: finished_cleanly(sb, bot, chat.id), timeout=60)
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id).status
                     == EVENT_COMPLETED, timeout=20)
    threads = [sb.world.channel(s.thread_id) for s in bot.store.steps(sb.guild_id, chat.id)
               if s.thread_id]
    await eventually(lambda: threads and all(t.archived and t.locked for t in threads), timeout=20)
    problems = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    assert not [p for p in problems if "scheduled event" in p.lower() or "failed" in p], problems


async def test_a_permanent_refusal_is_shown_to_moderators_and_retried_until_fixed(
        sandbox, fast_bot, caplog):
    """Someone takes Send Messages from the bot in the chat's channel before the start:
    the intro is refused, `/tweetchat status` says what is wrong and what to give, the
    host is told once (not on every retry), and once the permission is back the chat
    runs to its end by itself."""
    from bot.sandbox import permissions as perms

    sb, bot = sandbox, fast_bot
    caplog.set_level(logging.WARNING)
    chat = await schedule_soon(sb, bot, interval=1)
    sb.set_bot_channel_permissions(sb.channel_id, deny=perms.SEND_MESSAGES)
    intro = await eventually(lambda: next((s for s in bot.store.steps(sb.guild_id, chat.id)
                                           if s.kind.value == "intro" and s.last_error), None),
                             timeout=60)
    assert "lacks a permission" in intro.last_error
    status = await sb.moderator.invoke("tweetchat status")
    shown = (await status.message()).embeds[0]["fields"][0]["value"]
    assert "⚠️ Intro not posted yet" in shown and "Send Messages" in shown
    # Several retries, one notice.
    await eventually(lambda: bot.store.steps(sb.guild_id, chat.id)[0].attempts >= 3, timeout=60)
    told = [m for m in sb.moderator.direct_messages() if "could not be posted" in m.content]
    assert len(told) == 1 and "Send Messages" in told[0].content  # a DM to the host, once
    sb.set_bot_channel_permissions(sb.channel_id)  # fixed
    await eventually(lambda: finished_cleanly(sb, bot, chat.id), timeout=120)
    steps = bot.store.steps(sb.guild_id, chat.id)
    assert [s.state.value for s in steps] == ["posted"] * len(steps)
    footers = [m.embeds[0].get("footer", {}).get("text", "") for m in sb.history(sb.channel_id)
               if m.author.id == sb.bot_user_id and m.embeds]
    for step in steps:  # each step on Discord exactly once
        mark = f"chat {chat.id} · {step_label(step.kind, step.question)}"
        assert sum(f.endswith(mark) for f in footers) == 1, mark


async def test_a_gateway_gone_quiet_is_noticed_and_nothing_is_lost(sandbox, fast_bot, caplog):
    """Discord stops delivering events without closing the connection, mid-chat: the
    watchdog sees that the bot's own posts never came back, reconnects and reads the
    threads back, so the answers posted meanwhile are stored all the same."""
    sb, bot = sandbox, fast_bot
    caplog.set_level(logging.WARNING)
    cog = bot.get_cog("Answers")
    cog.STALE_AFTER = timedelta(seconds=2)
    cog.COOLDOWN = timedelta(seconds=1)
    cog.watchdog.change_interval(seconds=0.5)
    chat = await schedule_soon(sb, bot, interval=2)
    q1 = await eventually(lambda: next((s for s in bot.store.steps(sb.guild_id, chat.id)
                                        if s.question == 1 and s.thread_id), None), timeout=60)
    sb.faults.pause_dispatch()
    try:
        sent = [await sb.member(name).send(f"{name}: said while the gateway was quiet",
                                           channel_id=q1.thread_id) for name in CROWD[:5]]
        stored = await eventually(
            lambda: {a["message_id"] for a in bot.store.answers(sb.guild_id, chat.id)}
            >= {m.id for m in sent}, timeout=60)
        assert stored and cog.rescues >= 1
        assert any("watchdog" in r.getMessage() for r in caplog.records)
    finally:
        sb.faults.resume_dispatch()
    await eventually(lambda: finished_cleanly(sb, bot, chat.id), timeout=120)


async def test_each_question_carries_its_related_guidance(sandbox, fast_bot):
    """The seed chat names the guidance for each question (Q4: the fitness-to-practise
    entry); the question's post lists it and a member's press shows it to them alone."""
    sb, bot = sandbox, fast_bot
    chat = await schedule_soon(sb, bot, interval=1)
    q4 = await eventually(lambda: next((s for s in bot.store.steps(sb.guild_id, chat.id)
                                        if s.question == 4 and s.message_id), None), timeout=90)
    message = next(m for m in sb.history(sb.channel_id) if m.id == q4.message_id)
    field = next(f for f in message.embeds[0]["fields"] if f["name"] == "Related guidance")
    entry = bot.guidance.kb.entry("when-regulator-gets-involved")
    assert entry.title in field["value"]
    buttons = [c["custom_id"] for row in message.components for c in row["components"]]
    assert buttons == ["guidance:entry:when-regulator-gets-involved"]
    pressed = await sb.member(CROWD[0]).press(message, buttons[0])
    shown = await pressed.message()
    assert pressed.is_ephemeral and shown.embeds[0]["title"] == entry.title
    assert not sb.member(CROWD[1]).can_see(shown)
    await eventually(lambda: finished_cleanly(sb, bot, chat.id), timeout=120)
