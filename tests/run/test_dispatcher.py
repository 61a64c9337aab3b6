"""The exactly-once dispatcher, with a fake clock and an in-memory channel: on-time
posting, catch-up after downtime, retries, and the crash windows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.chat import CatchUp
from bot.run.control import ChatControl
from bot.run.dispatcher import Dispatcher, PostFailed
from bot.store import ChatState, StepState, Store
from seed import EVENING
from fakes import Crash, FakeChannel, FakeClock, rate_limited

GUILD, CHANNEL, MOD = 111, 222, 333


@pytest.fixture
def clock():
    return FakeClock(EVENING - timedelta(days=1))


@pytest.fixture
def channel(clock):
    return FakeChannel(clock)


def schedule(store, clock, definition, start="2030-12-02 20:00", guild=GUILD):
    control = ChatControl(store, clock.now)
    preview = control.preview(definition, start, "Europe/London")
    return control.schedule(guild, CHANNEL, preview, actor_id=MOD).chat


async def run_until(dispatcher, clock, moment, step=timedelta(seconds=30)):
    """Move the clock to `moment` in small steps, ticking at each."""
    while clock.now() < moment:
        clock.set(min(clock.now() + step, moment))
        await dispatcher.tick()


async def test_steps_post_on_time_in_order_with_a_thread_per_question(store, clock, channel, seed):
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING - timedelta(seconds=1))
    assert await dispatcher.tick() == 0
    assert channel.messages == []

    await run_until(dispatcher, clock, EVENING + timedelta(minutes=70), step=timedelta(seconds=5))

    assert channel.titles() == [
        seed.title, "Q1 of 6", "Q2 of 6", "Q3 of 6", "Halfway: a reminder of the format",
        "Q4 of 6", "Q5 of 6", "Q6 of 6", f"Thank you for joining: {seed.title}"]
    ledger = store.steps(GUILD, chat.id)
    assert all(s.state is StepState.POSTED for s in ledger)
    for step, message in zip(ledger, channel.messages):
        assert message.id == step.message_id
        assert message.nonce == step.nonce
        # Posted within one tick (5 s) of its due time, and never early.
        assert timedelta(0) <= message.at - step.due_at <= timedelta(seconds=5)
        assert step.late_seconds is None
    questions = [s for s in ledger if s.question]
    assert [channel.threads[s.message_id][1] for s in questions][0] == (
        "Q1 · Professionalism face to face and online")
    assert all(s.thread_id == channel.threads[s.message_id][0] for s in questions)
    assert store.chat(GUILD, chat.id).state is ChatState.FINISHED
    assert channel.finished == [chat.id]
    assert "Q1: 0 answers from 0 members" in channel.messages[-1].post.embed["fields"][0]["value"]


async def test_wrap_up_counts_come_from_the_store(store, clock, channel, seed):
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    for i, (question, author) in enumerate([(1, 1), (1, 2), (2, 1), (1, 1)]):
        store.add_answer(guild_id=GUILD, chat_id=chat.id, question=question, message_id=50 + i,
                         channel_id=9, via="thread", author_id=author, author_name=f"m{author}",
                         content="answer", created_at=EVENING, recorded_at=EVENING)
    await run_until(dispatcher, clock, EVENING + timedelta(minutes=70), step=timedelta(minutes=1))
    counts = channel.messages[-1].post.embed["fields"][0]["value"]
    assert "Q1: 3 answers from 2 members" in counts
    assert "Q2: 1 answer from 1 member" in counts
    assert "In all: 4 answers from 2 members" in counts


async def test_downtime_with_post_late_policy_posts_each_missed_step_once_with_a_note(
        store, clock, channel, seed):
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING + timedelta(minutes=17))  # the bot was down until after Q2 was due
    await dispatcher.tick()
    assert channel.titles() == [seed.title, "Q1 of 6", "Q2 of 6"]
    for message in channel.messages:
        assert message.post.embed["description"].startswith("⏰ **Posted")
    assert "17 minutes late" in channel.messages[0].post.embed["description"]
    assert "12 minutes late" in channel.messages[1].post.embed["description"]
    ledger = store.steps(GUILD, chat.id)
    assert ledger[0].late_seconds == pytest.approx(17 * 60)
    assert ledger[3].state is StepState.PENDING
    # Back on schedule: Q3 is on time and has no late note.
    await run_until(dispatcher, clock, EVENING + timedelta(minutes=25))
    assert channel.messages[-1].post.embed["title"] == "Q3 of 6"
    assert "late" not in channel.messages[-1].post.embed["description"]


async def test_within_the_grace_period_a_step_is_not_called_late(store, clock, channel, seed):
    schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING + timedelta(seconds=45))
    await dispatcher.tick()
    assert "late" not in channel.messages[0].post.embed["description"]


async def test_downtime_with_skip_policy_skips_and_records_why(store, clock, channel, seed):
    store.update_server_settings(GUILD, clock.now(), catch_up=CatchUp.SKIP.value)
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING + timedelta(minutes=16, seconds=30))  # Q2 is 90 s late: beyond grace
    await dispatcher.tick()
    assert channel.messages == []
    ledger = store.steps(GUILD, chat.id)
    assert [s.state for s in ledger[:3]] == [StepState.SKIPPED] * 3
    assert "catch-up policy is skip" in ledger[1].note
    assert any(a["action"] == "step skipped" for a in store.audit_log(GUILD))
    await run_until(dispatcher, clock, EVENING + timedelta(minutes=25))
    assert channel.titles() == ["Q3 of 6"]


async def test_crash_after_claim_before_send_posts_once_after_restart(db_path, clock, channel, seed):
    store = Store(db_path)
    chat = schedule(store, clock, seed)
    clock.set(EVENING + timedelta(minutes=5))
    dispatcher = Dispatcher(store, channel, clock)
    await dispatcher.tick()  # intro and Q1
    assert len(channel.messages) == 2
    clock.set(EVENING + timedelta(minutes=15))
    channel.crash_before_send = True
    with pytest.raises(Crash):
        await dispatcher.tick()
    store.db.close()  # the process is gone

    assert Store(db_path).steps(GUILD, chat.id)[2].state is StepState.CLAIMED
    clock.set(EVENING + timedelta(minutes=16))
    restarted = Store(db_path)
    dispatcher = Dispatcher(restarted, channel, clock)
    report = await dispatcher.recover()
    assert report == [f"Q2 of chat {chat.id}: not on Discord, will post"]
    await dispatcher.tick()
    assert channel.titles() == [seed.title, "Q1 of 6", "Q2 of 6"]
    q2 = restarted.steps(GUILD, chat.id)[2]
    assert q2.state is StepState.POSTED and q2.message_id == channel.messages[2].id
    assert q2.attempts == 2


async def test_crash_after_send_before_record_is_not_posted_again(db_path, clock, channel, seed):
    store = Store(db_path)
    chat = schedule(store, clock, seed)
    clock.set(EVENING + timedelta(minutes=5))
    dispatcher = Dispatcher(store, channel, clock)
    await dispatcher.tick()
    clock.set(EVENING + timedelta(minutes=15))
    channel.crash_after_send = True
    with pytest.raises(Crash):
        await dispatcher.tick()
    store.db.close()
    assert len(channel.messages) == 3  # Q2 reached Discord, the ledger does not know

    clock.set(EVENING + timedelta(minutes=30))
    restarted = Store(db_path)
    dispatcher = Dispatcher(restarted, channel, clock)
    assert await dispatcher.recover() == [f"Q2 of chat {chat.id}: found on Discord, recorded"]
    await dispatcher.tick()
    titles = channel.titles()
    assert titles.count("Q2 of 6") == 1
    assert titles == [seed.title, "Q1 of 6", "Q2 of 6", "Q3 of 6", "Halfway: a reminder of the format"]
    q2 = restarted.steps(GUILD, chat.id)[2]
    assert q2.state is StepState.POSTED and q2.message_id == channel.messages[2].id
    # Its thread is opened after the restart too.
    assert q2.thread_id is not None


async def test_unknown_outcome_is_resolved_by_looking_at_discord(store, clock, channel, seed):
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING)
    channel.publish_failures.append(TimeoutError("no answer from Discord"))
    await dispatcher.tick()
    # The timeout happened before anything was posted: recovery finds nothing and the
    # intro is posted on the next pass, once.
    assert channel.titles() == [seed.title]
    assert store.steps(GUILD, chat.id)[0].state is StepState.POSTED


async def test_refused_post_is_retried_with_backoff_and_never_dropped(store, clock, channel, seed):
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    channel.publish_failures += [PostFailed("503 Service Unavailable"), rate_limited(12)]
    clock.set(EVENING)
    await dispatcher.tick()
    intro = store.steps(GUILD, chat.id)[0]
    assert intro.state is StepState.PENDING and intro.last_error == "503 Service Unavailable"
    assert intro.not_before == EVENING + timedelta(seconds=5)
    clock.advance(seconds=5)
    await dispatcher.tick()
    intro = store.steps(GUILD, chat.id)[0]
    assert intro.not_before == EVENING + timedelta(seconds=5 + 12)  # Discord's retry_after wins
    clock.advance(seconds=12)
    await dispatcher.tick()
    assert channel.titles() == [seed.title]
    assert store.steps(GUILD, chat.id)[0].attempts == 3


async def test_thread_creation_failures_are_retried_until_the_thread_exists(store, clock, channel, seed):
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    channel.thread_failures += [rate_limited(30), PostFailed("502 Bad Gateway")]
    clock.set(EVENING + timedelta(minutes=5))
    await dispatcher.tick()
    q1 = store.steps(GUILD, chat.id)[1]
    assert q1.state is StepState.POSTED and q1.thread_id is None
    assert q1.thread_retry_at == EVENING + timedelta(minutes=5, seconds=30)
    await run_until(dispatcher, clock, EVENING + timedelta(minutes=6))
    q1 = store.steps(GUILD, chat.id)[1]
    assert q1.thread_id == channel.threads[q1.message_id][0]
    assert q1.thread_retry_at is None and q1.last_error is None
    assert channel.titles().count("Q1 of 6") == 1


async def test_run_loop_sleeps_until_due_and_wakes_on_schedule_changes(store, clock, channel, seed):
    dispatcher = Dispatcher(store, channel, clock)
    task = asyncio.create_task(dispatcher.run())
    await asyncio.sleep(0)
    control = ChatControl(store, clock.now, dispatcher.wake)
    chat = control.schedule(GUILD, CHANNEL, control.preview(seed, "2030-12-02 20:00", "Europe/London"),
                            actor_id=MOD).chat
    await asyncio.sleep(0.01)
    assert channel.messages == []
    control.start_now(GUILD, chat.id, actor_id=MOD)
    for _ in range(50):
        await asyncio.sleep(0.001)
        if channel.messages:
            break
    assert channel.titles() == [seed.title]
    clock.advance(minutes=5)
    for _ in range(50):
        await asyncio.sleep(0.001)
        if len(channel.messages) == 2:
            break
    assert channel.titles() == [seed.title, "Q1 of 6"]
    await dispatcher.stop()
    await asyncio.wait_for(task, 1)


async def test_servers_are_independent(store, clock, channel, seed):
    a = schedule(store, clock, seed, guild=1)
    b = schedule(store, clock, seed, guild=2, start="2030-12-02 21:00")
    ChatControl(store, clock.now).cancel(1, a.id, actor_id=MOD)
    dispatcher = Dispatcher(store, channel, clock)
    await run_until(dispatcher, clock, EVENING + timedelta(hours=1, minutes=5), step=timedelta(minutes=1))
    assert channel.titles()[:2] == [seed.title, "Q1 of 6"]
    assert all(s.state is StepState.CANCELLED for s in store.steps(1, a.id))
    assert store.steps(2, b.id)[1].state is StepState.POSTED
    from bot.store import StoreError
    with pytest.raises(StoreError):
        store.steps(1, b.id) or store.chat(1, b.id)


def schedule_with_reminder(store, clock, seed, minutes=30):
    control = ChatControl(store, clock.now)
    preview = control.preview(seed, "2030-12-02 20:00", "Europe/London", reminder_minutes=minutes)
    return control, control.schedule(GUILD, CHANNEL, preview, actor_id=MOD).chat


async def test_reminder_is_posted_before_the_start_and_does_not_open_the_chat(store, clock, channel, seed):
    _, chat = schedule_with_reminder(store, clock, seed)
    ledger = store.steps(GUILD, chat.id)
    assert [s.kind.value for s in ledger][:2] == ["reminder", "intro"]
    assert ledger[0].due_at == EVENING - timedelta(minutes=30)
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING - timedelta(minutes=30))
    await dispatcher.tick()
    assert channel.titles() == ["Starting soon"]
    assert f"<t:{int(EVENING.timestamp())}:R>" in channel.messages[0].post.embed["description"]
    assert store.chat(GUILD, chat.id).state is ChatState.SCHEDULED
    clock.set(EVENING)
    await dispatcher.tick()
    assert store.chat(GUILD, chat.id).state is ChatState.RUNNING


async def test_a_late_reminder_is_skipped_even_with_post_late(store, clock, channel, seed):
    _, chat = schedule_with_reminder(store, clock, seed)
    clock.set(EVENING + timedelta(seconds=30))  # the bot was down through the reminder
    await Dispatcher(store, channel, clock).tick()
    assert channel.titles() == [seed.title]
    reminder = store.steps(GUILD, chat.id)[0]
    assert reminder.state is StepState.SKIPPED and "pointless" in reminder.note


async def test_no_reminder_when_the_start_is_too_soon_and_start_now_skips_it(store, clock, seed):
    clock.set(EVENING - timedelta(minutes=10))
    _, chat = schedule_with_reminder(store, clock, seed)
    assert store.steps(GUILD, chat.id)[0].kind.value == "intro"
    clock.set(EVENING - timedelta(hours=5))
    control, chat = schedule_with_reminder(store, clock, seed)
    control.start_now(GUILD, chat.id, actor_id=MOD)
    steps = store.steps(GUILD, chat.id)
    assert steps[0].state is StepState.SKIPPED and steps[1].due_at == clock.now()


async def test_the_supervisor_restarts_the_dispatcher_when_discord_cannot_be_read(
        store, clock, channel, seed):
    """A post's outcome is unknown and reading Discord to resolve it fails too (network,
    disk): the dispatcher is started again with back-off, resolves it, and posts the
    chat once and in order. Before, the dispatcher task ended for good."""
    import asyncio

    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING)
    channel.publish_failures.append(TimeoutError("no answer from Discord"))
    channel.find_failures += [OSError("network is unreachable"), OSError("still down")]
    task = asyncio.create_task(dispatcher.supervise(first_wait=0.01, max_wait=0.05))
    for _ in range(200):
        if channel.titles():
            break
        await asyncio.sleep(0.01)
    assert dispatcher.restarts == 2 and dispatcher.alive
    assert channel.titles() == [seed.title]
    assert store.steps(GUILD, chat.id)[0].state is StepState.POSTED
    await dispatcher.stop()
    await asyncio.wait_for(task, 5)
    assert not dispatcher.alive


async def test_steps_of_a_chat_stay_in_order_when_one_keeps_failing(store, clock, channel, seed):
    """Q1 is refused again and again: Q2 waits for it rather than overtaking it."""
    chat = schedule(store, clock, seed)
    dispatcher = Dispatcher(store, channel, clock)
    await run_until(dispatcher, clock, EVENING + timedelta(minutes=5), step=timedelta(seconds=5))
    # Backing off up to 5 min between tries, Q1 is still failing when Q2 falls due.
    channel.publish_failures += [PostFailed("500 Internal Server Error")] * 10
    await run_until(dispatcher, clock, EVENING + timedelta(minutes=120), step=timedelta(seconds=5))
    assert channel.titles()[:3] == [seed.title, "Q1 of 6", "Q2 of 6"]
    assert channel.titles()[-1] == f"Thank you for joining: {seed.title}"
    posted = [s.posted_at for s in store.steps(GUILD, chat.id)]
    assert posted == sorted(posted)


class GatedChannel(FakeChannel):
    """A channel whose posts wait at a gate, counting how many are in flight at once."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.gate = asyncio.Event()
        self.in_flight = 0
        self.most = 0
        self.started: list[str] = []

    async def publish(self, channel_id, post, nonce):
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        self.started.append(nonce)
        try:
            await self.gate.wait()
            return await super().publish(channel_id, post, nonce)
        finally:
            self.in_flight -= 1


@pytest.mark.parametrize("limit", [16, 2])
async def test_chats_are_posted_concurrently_up_to_a_limit_each_in_its_own_order(store, clock, seed, limit):
    channel = GatedChannel(clock)
    chats = [schedule(store, clock, seed, guild=GUILD + i) for i in range(3)]
    dispatcher = Dispatcher(store, channel, clock)
    dispatcher.concurrency = limit
    clock.set(EVENING + timedelta(minutes=5, seconds=1))  # each chat's intro and Q1 are due
    ticking = asyncio.create_task(dispatcher.tick())
    for _ in range(100):
        await asyncio.sleep(0)
    assert channel.in_flight == min(3, limit)  # the intros of different chats, together
    # Never two of one chat at once: Q1 waits for its intro to be recorded.
    assert sorted(channel.started) == sorted(f"tc{c.id}s0" for c in chats)[:len(channel.started)]
    channel.gate.set()
    await ticking
    assert channel.most == min(3, limit)
    for chat in chats:
        ledger = store.steps(chat.guild_id, chat.id)
        assert [s.state for s in ledger[:2]] == [StepState.POSTED, StepState.POSTED]
        assert ledger[0].message_id < ledger[1].message_id  # intro before Q1, within the chat
        assert ledger[1].thread_id is not None


async def test_a_step_falling_due_while_another_chats_post_is_in_flight_starts_on_time(store, clock, seed):
    """A slow post of one chat does not hold back another chat's step that falls due
    meanwhile: the tick wakes for it, not when the slow post is done."""
    channel = GatedChannel(clock)
    slow = schedule(store, clock, seed, guild=GUILD)
    other = schedule(store, clock, seed, guild=GUILD + 1, start="2030-12-02 20:02")
    dispatcher = Dispatcher(store, channel, clock)
    clock.set(EVENING + timedelta(seconds=1))  # only the slow chat's intro is due
    ticking = asyncio.create_task(dispatcher.tick())
    for _ in range(100):
        await asyncio.sleep(0)
    assert channel.started == [f"tc{slow.id}s0"]
    clock.set(EVENING + timedelta(minutes=2, seconds=1))  # the other chat's intro falls due
    for _ in range(100):
        await asyncio.sleep(0)
    assert channel.started == [f"tc{slow.id}s0", f"tc{other.id}s0"] and channel.in_flight == 2
    channel.gate.set()
    await ticking
    assert all(store.steps(c.guild_id, c.id)[0].state is StepState.POSTED for c in (slow, other))


# Servers in different shards of two: Discord puts a server in shard (id >> 22) % 2.
SHARD0_GUILD, SHARD1_GUILD = 2 << 22, 3 << 22


def two_processes(store, clock, channel):
    from bot.store import ShardRange

    first = Dispatcher(store, channel, clock, shards=ShardRange(frozenset({0}), 2), owner="machine-a:1")
    second = Dispatcher(store, channel, clock, shards=ShardRange(frozenset({1}), 2), owner="machine-b:1")
    return first, second


async def alive(clock, moment, *dispatchers, step=timedelta(seconds=5)):
    """Move the clock to `moment`, each live process ticking every `step` (its run loop
    wakes at least every third of a lease)."""
    while clock.now() < moment:
        clock.set(min(clock.now() + step, moment))
        for dispatcher in dispatchers:
            await dispatcher.tick()


async def test_two_processes_each_dispatch_their_own_shards_and_take_over_a_dead_ones(store, clock, channel, seed):
    from bot.store import ShardRange

    chats = {g: schedule(store, clock, seed, guild=g) for g in (SHARD0_GUILD, SHARD1_GUILD)}
    a, b = two_processes(store, clock, channel)
    # a starts first and takes both shards (nobody held them); b asks for its home shard
    # and a hands it over within a third of a lease.
    clock.set(EVENING - timedelta(seconds=40))
    await a.tick()
    assert a.held == {0, 1}
    await alive(clock, EVENING + timedelta(seconds=1), a, b)
    assert a.held == {0} and b.held == {1}
    assert {m.nonce for m in channel.messages} == {f"tc{c.id}s0" for c in chats.values()}

    # Process a dies as it posts Q1 of its server: the step stays claimed, by it.
    await alive(clock, EVENING + timedelta(minutes=4, seconds=56), a, b)
    channel.crash_before_send = True
    clock.set(EVENING + timedelta(minutes=5, seconds=1))
    with pytest.raises(Crash):
        await a.tick()
    await alive(clock, EVENING + timedelta(minutes=5, seconds=21), b)
    q1 = store.steps(SHARD0_GUILD, chats[SHARD0_GUILD].id)[1]
    assert q1.state is StepState.CLAIMED and b.held == {1}  # not b's to touch while a's lease runs

    # a's lease runs out: b takes shard 0 over, finds Q1 never reached Discord, posts it once.
    await alive(clock, EVENING + timedelta(minutes=5, seconds=45), b)
    assert b.held == {0, 1}
    assert store.steps(SHARD0_GUILD, chats[SHARD0_GUILD].id)[1].state is StepState.POSTED

    # a comes back: it asks for its home shard, b hands it over, a carries on there.
    a2 = Dispatcher(store, channel, clock, shards=ShardRange(frozenset({0}), 2), owner="machine-a:2")
    await a2.tick()
    assert a2.held == frozenset()  # asked for, not taken: b holds it
    await alive(clock, EVENING + timedelta(minutes=7), b, a2)
    assert a2.held == {0} and b.held == {1}
    await alive(clock, EVENING + timedelta(minutes=40), b, a2)
    await b.stop()  # a clean stop hands its shard over at once
    await alive(clock, EVENING + timedelta(minutes=75), a2)
    assert a2.held == {0, 1}
    for guild, chat in chats.items():
        assert all(s.state is StepState.POSTED for s in store.steps(guild, chat.id))
    nonces = [m.nonce for m in channel.messages]
    assert len(nonces) == len(set(nonces)) == 18  # every step of both chats, once
