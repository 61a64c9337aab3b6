"""Moderator operations on the ledger: what each one changes, what it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.run.control import ChatControl, ChatStateError, InputError
from bot.run.dispatcher import Dispatcher
from bot.store import ChatState, StepState
from bot.chat.timeline import StartTimeError
from bot.chat.zones import UnknownTimeZone
from seed import EVENING
from fakes import FakeChannel, FakeClock

GUILD, CHANNEL, MOD = 111, 222, 333


@pytest.fixture
def clock():
    return FakeClock(EVENING - timedelta(hours=2))


@pytest.fixture
def control(store, clock):
    return ChatControl(store, clock.now)


@pytest.fixture
def chat(control, seed):
    preview = control.preview(seed, "2030-12-02 20:00", "Europe/London")
    return control.schedule(GUILD, CHANNEL, preview, actor_id=MOD).chat


def dues(store, chat):
    return {s.seq: s.due_at for s in store.steps(GUILD, chat.id) if s.state is StepState.PENDING}


async def started(store, clock, chat, at):
    """Run the chat with a real dispatcher up to `at`; returns the channel."""
    channel = FakeChannel(clock)
    dispatcher = Dispatcher(store, channel, clock)
    while clock.now() < at:
        clock.set(min(clock.now() + timedelta(seconds=30), at))
        await dispatcher.tick()
    return channel, dispatcher


def test_preview_writes_nothing(control, store, seed):
    preview = control.preview(seed, "2030-12-02 20:00", "Europe/London", interval_minutes=12)
    assert [s.label for s in preview.steps][:3] == ["Intro", "Q1", "Q2"]
    assert preview.steps[2].due - preview.steps[1].due == timedelta(minutes=12)
    assert store.chats(GUILD) == []


def test_schedule_records_the_chat_its_ledger_and_who(chat, store, seed):
    assert chat.state is ChatState.SCHEDULED
    assert chat.definition == seed
    assert chat.timezone == "Europe/London"
    steps = store.steps(GUILD, chat.id)
    assert len(steps) == 9 and all(s.state is StepState.PENDING for s in steps)
    assert len({s.nonce for s in steps}) == 9 and all(len(s.nonce) <= 25 for s in steps)
    log = store.audit_log(GUILD)
    assert log[0]["action"] == "scheduled" and log[0]["actor_id"] == MOD


def test_schedule_refuses_bad_input_and_writes_nothing(control, store, seed):
    with pytest.raises(UnknownTimeZone):
        control.preview(seed, "2030-12-02 20:00", "Europe/Londn")
    with pytest.raises(StartTimeError):
        control.preview(seed, "2020-12-02 20:00", "Europe/London")
    with pytest.raises(InputError):
        control.preview(seed, "2030-12-02 20:00", "Europe/London", interval_minutes=-5)
    assert store.chats(GUILD) == [] and store.audit_log(GUILD) == []


def test_confirming_after_the_start_passed_is_refused(control, store, clock, seed):
    preview = control.preview(seed, "2030-12-02 20:00", "Europe/London")
    clock.set(EVENING + timedelta(seconds=1))
    with pytest.raises(ChatStateError, match="has passed"):
        control.schedule(GUILD, CHANNEL, preview, actor_id=MOD)
    assert store.chats(GUILD) == []


def test_start_now_moves_the_whole_schedule(control, store, clock, chat):
    before = dues(store, chat)
    control.start_now(GUILD, chat.id, actor_id=MOD)
    after = dues(store, chat)
    assert after[0] == clock.now()
    assert all(after[k] - before[k] == -timedelta(hours=2) for k in before)


async def test_pause_holds_and_resume_keeps_the_spacing(control, store, clock, chat):
    channel, dispatcher = await started(store, clock, chat, EVENING + timedelta(minutes=6))
    assert channel.titles()[-1] == "Q1 of 6"
    control.pause(GUILD, chat.id, actor_id=MOD)
    assert store.chat(GUILD, chat.id).state is ChatState.PAUSED
    clock.set(EVENING + timedelta(minutes=30))
    await dispatcher.tick()
    assert channel.titles()[-1] == "Q1 of 6"  # nothing posted while paused
    before = dues(store, chat)
    control.resume(GUILD, chat.id, actor_id=MOD)
    after = dues(store, chat)
    assert all(after[k] - before[k] == timedelta(minutes=24) for k in before)
    await dispatcher.tick()
    assert channel.titles()[-1] == "Q1 of 6"
    clock.set(EVENING + timedelta(minutes=15 + 24))
    await dispatcher.tick()
    assert channel.titles()[-1] == "Q2 of 6"
    assert "late" not in channel.messages[-1].post.embed["description"]


def test_pause_and_resume_refuse_the_wrong_state(control, chat):
    with pytest.raises(ChatStateError, match="only a running chat can be paused"):
        control.pause(GUILD, chat.id, actor_id=MOD)
    with pytest.raises(ChatStateError, match="only a paused chat"):
        control.resume(GUILD, chat.id, actor_id=MOD)


async def test_skip_posts_the_next_question_now_and_pulls_the_rest_forward(control, store, clock, chat):
    channel, dispatcher = await started(store, clock, chat, EVENING + timedelta(minutes=27))
    assert channel.titles()[-1] == "Q3 of 6"
    before = dues(store, chat)
    outcome = control.skip_to_next_question(GUILD, chat.id, actor_id=MOD)
    assert "Q4" in outcome.message
    steps = {s.seq: s for s in store.steps(GUILD, chat.id)}
    assert steps[4].state is StepState.SKIPPED  # the midway reminder before Q4
    assert "moved on to Q4" in steps[4].note
    after = dues(store, chat)
    assert after[5] == clock.now()
    assert after[6] - before[6] == -timedelta(minutes=8)
    await dispatcher.tick()
    assert channel.titles()[-1] == "Q4 of 6"


async def test_skip_reads_and_changes_the_ledger_under_one_write_lock(control, store, clock, chat, db_path):
    """The operator's `tweetchat chat skip` runs in a process of its own beside the bot: the
    bot must not be able to claim a step between the command reading the ledger and
    changing it (it did once in a full run, and the command ended in a traceback)."""
    import sqlite3

    channel, dispatcher = await started(store, clock, chat, EVENING + timedelta(minutes=27))
    bot = sqlite3.connect(db_path, timeout=0, isolation_level=None)  # the bot's own connection
    claims = []
    read = store.steps

    def steps_while_the_bot_claims(guild_id, chat_id):
        ledger = read(guild_id, chat_id)
        try:
            claims.append(bot.execute("UPDATE steps SET state = 'claimed' WHERE guild_id = ? AND chat_id = ? "
                                      "AND state = 'pending'", [guild_id, chat_id]).rowcount)
        except sqlite3.OperationalError as exc:  # the command holds the write lock
            claims.append(str(exc))
        return ledger

    store.steps = steps_while_the_bot_claims
    try:
        outcome = control.skip_to_next_question(GUILD, chat.id, actor_id=MOD)
    finally:
        store.steps = read
        bot.close()
    assert claims and all(c == "database is locked" for c in claims)
    assert "Q4" in outcome.message



@pytest.mark.parametrize("operation, running", [
    ("start_now", False), ("cancel", False), ("extend", False),
    ("pause", True), ("stop", True), ("skip_to_next_question", True),
])
async def test_every_chat_operation_checks_and_changes_under_one_write_lock(
        control, store, clock, chat, db_path, operation, running):
    """Whatever a moderator or the operator does to a chat, the bot (another process) cannot
    change that chat between the check of its state and the change."""
    import sqlite3

    if running:
        await started(store, clock, chat, EVENING + timedelta(minutes=27))
    bot = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    tries = []
    read = store.chat

    def chat_while_the_bot_writes(guild_id, chat_id):
        found = read(guild_id, chat_id)
        try:
            bot.execute("UPDATE chats SET state = state WHERE guild_id = ? AND id = ?", [guild_id, chat_id])
            tries.append("written")
        except sqlite3.OperationalError as exc:  # the operation holds the write lock
            tries.append(str(exc))
        return found

    store.chat = chat_while_the_bot_writes
    try:
        act = getattr(control, operation)
        outcome = act(GUILD, chat.id, 5, actor_id=MOD) if operation == "extend" else act(GUILD, chat.id, actor_id=MOD)
    finally:
        store.chat = read
        bot.close()
    assert tries and tries[0] == "database is locked"
    assert outcome.message

def test_skip_needs_a_running_chat(control, chat):
    with pytest.raises(ChatStateError):
        control.skip_to_next_question(GUILD, chat.id, actor_id=MOD)


def test_extend_pushes_the_rest_back(control, store, chat):
    before = dues(store, chat)
    control.extend(GUILD, chat.id, 15, actor_id=MOD)
    after = dues(store, chat)
    assert all(after[k] - before[k] == timedelta(minutes=15) for k in before)
    with pytest.raises(InputError):
        control.extend(GUILD, chat.id, 0, actor_id=MOD)
    with pytest.raises(InputError):
        control.extend(GUILD, chat.id, 500, actor_id=MOD)


async def test_stop_skips_the_rest_and_wraps_up_now(control, store, clock, chat):
    channel, dispatcher = await started(store, clock, chat, EVENING + timedelta(minutes=16))
    control.stop(GUILD, chat.id, actor_id=MOD)
    await dispatcher.tick()
    assert channel.titles()[-1].startswith("Thank you for joining")
    assert channel.titles().count("Q3 of 6") == 0
    steps = store.steps(GUILD, chat.id)
    assert [s.state for s in steps[3:8]] == [StepState.SKIPPED] * 5
    assert store.chat(GUILD, chat.id).state is ChatState.FINISHED
    assert channel.finished == [chat.id]


def test_stop_refuses_a_chat_that_has_not_started(control, chat):
    with pytest.raises(ChatStateError, match="cancel"):
        control.stop(GUILD, chat.id, actor_id=MOD)


async def test_cancel_before_start_and_refusal_after(control, store, clock, chat, seed):
    control.cancel(GUILD, chat.id, actor_id=MOD)
    assert store.chat(GUILD, chat.id).state is ChatState.CANCELLED
    channel, _ = await started(store, clock, chat, EVENING + timedelta(hours=2))
    assert channel.messages == []
    other = control.schedule(GUILD, CHANNEL, control.preview(seed, "2030-12-02 23:00", "Europe/London"),
                             actor_id=MOD).chat
    clock.set(EVENING + timedelta(hours=3))
    await Dispatcher(store, FakeChannel(clock), clock).tick()
    with pytest.raises(ChatStateError, match="use stop"):
        control.cancel(GUILD, other.id, actor_id=MOD)


def test_every_change_wakes_the_dispatcher(store, clock, seed):
    woken = []
    control = ChatControl(store, clock.now, lambda: woken.append(1))
    chat = control.schedule(GUILD, CHANNEL, control.preview(seed, "2030-12-02 20:00", "Europe/London"),
                            actor_id=MOD).chat
    assert len(woken) == 1
    control.extend(GUILD, chat.id, 5, actor_id=MOD)
    control.start_now(GUILD, chat.id, actor_id=MOD)
    assert len(woken) >= 3


def test_every_operation_is_audited_with_its_actor(control, store, chat):
    control.extend(GUILD, chat.id, 5, actor_id=42)
    control.cancel(GUILD, chat.id, actor_id=43)
    actions = [(a["action"], a["actor_id"]) for a in store.audit_log(GUILD)]
    assert actions[:2] == [("cancelled", 43), ("extended", 42)]


def test_operations_on_another_servers_chat_are_refused(control, chat):
    from bot.store import StoreError

    with pytest.raises(StoreError):
        control.cancel(999, chat.id, actor_id=MOD)
