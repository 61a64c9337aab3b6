"""Answer routing and the batching writer, over a real store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.answers import (
    AnswerWriter, MessageDeleted, MessageEdited, MessageSeen, channel_answer_number,
)
from bot.store import ChatState
from bot.chat.timeline import build_timeline
from seed import EVENING

GUILD, CHANNEL = 111, 222
THREADS = {1: 9001, 2: 9002}


@pytest.fixture
def chat(store, seed):
    chat = store.create_chat(guild_id=GUILD, channel_id=CHANNEL, definition=seed, start_at=EVENING,
                             timezone_name="Europe/London", steps=build_timeline(seed, EVENING),
                             created_by=1, now=EVENING)
    for step in store.steps(GUILD, chat.id):
        if step.question in THREADS:
            store.set_thread(GUILD, step.id, THREADS[step.question])
    intro = store.steps(GUILD, chat.id)[0]
    store.claim_step(GUILD, intro.id, EVENING)
    store.mark_posted(GUILD, intro.id, message_id=1, posted_at=EVENING, late_seconds=None,
                        needs_thread=False)
    store.set_chat_state(GUILD, chat.id, ChatState.RUNNING)
    return store.chat(GUILD, chat.id)


def seen(message_id, channel_id, content="my answer", *, author=7, bot=False, reply_to=None,
         guild=GUILD, edited_at=None):
    return MessageSeen(guild, channel_id, message_id, author, f"member{author}", bot, content,
                       EVENING + timedelta(minutes=message_id % 60), edited_at, reply_to,
                       [{"id": 1, "filename": "a.png", "size": 10, "content_type": "image/png"}])


@pytest.mark.parametrize("content, number", [
    ("A1 I think", 1), ("a1: yes", 1), ("A1. agreed", 1), ("A2- no", 2), ("A 3 maybe", 3),
    ("A12 late", 12), ("A1", 1), ("Anyone here?", None), ("A1b is my ward", None),
    ("Q1 what?", None), ("answer: A1", None),
])
def test_channel_answer_prefix(content, number):
    assert channel_answer_number(content) == number


async def test_thread_messages_and_channel_a_answers_are_stored(store, chat):
    writer = AnswerWriter(store, lambda: EVENING)
    writer.start()
    writer.submit(seen(1, THREADS[1]))
    writer.submit(seen(2, THREADS[2], "reply", reply_to=1, author=8))
    writer.submit(seen(3, CHANNEL, "A2: from the channel"))
    writer.submit(seen(4, CHANNEL, "just chatting"))
    writer.submit(seen(5, THREADS[1], "bot message", bot=True))
    writer.submit(seen(6, CHANNEL, "A9 no such question"))
    writer.submit(seen(7, 5555, "A1 in another channel"))
    await writer.flush()
    rows = {r["message_id"]: r for r in store.answers(GUILD, chat.id)}
    assert set(rows) == {1, 2, 3, 4}
    assert (rows[1]["question"], rows[1]["via"]) == (1, "thread")
    assert (rows[2]["question"], rows[2]["reply_to"]) == (2, 1)
    assert (rows[3]["question"], rows[3]["via"]) == (2, "channel")
    assert (rows[4]["question"], rows[4]["via"]) == (0, "intro")  # before Q1: an introduction
    assert rows[1]["attachments"][0]["filename"] == "a.png"
    assert writer.stats.answers == 4 and writer.stats.ignored == 3
    await writer.close()


async def test_introductions_are_channel_messages_between_the_intro_and_q1(store, chat):
    q1 = next(s for s in store.steps(GUILD, chat.id) if s.question == 1)
    store.claim_step(GUILD, q1.id, EVENING)
    store.mark_posted(GUILD, q1.id, message_id=2, posted_at=EVENING + timedelta(minutes=5),
                      late_seconds=None, needs_thread=False)
    writer = AnswerWriter(store, lambda: EVENING, opted_out=lambda g, u: u == 99)
    writer.start()
    early = MessageSeen(GUILD, CHANNEL, 1000, 7, "member7", False, "hello before the start",
                        EVENING - timedelta(minutes=1))
    writer.submit(early)
    writer.submit(seen(1, CHANNEL, "Hi, I'm Sam, a band 6 physio in Leeds"))
    writer.submit(seen(2, CHANNEL, "Hello from Cork!", author=8, reply_to=1))
    writer.submit(seen(3, CHANNEL, "Opted out but saying hi", author=99))
    writer.submit(seen(6, CHANNEL, "after Q1, just chatting"))  # minute 6: Q1 is out
    writer.submit(MessageEdited(GUILD, 1, "Hi, I'm Sam, a band 7 physio in Leeds", EVENING + timedelta(minutes=4)))
    writer.submit(MessageDeleted(GUILD, 2, EVENING + timedelta(minutes=4)))
    await writer.flush()
    rows = {r["message_id"]: r for r in store.answers(GUILD, chat.id, include_withdrawn=True)}
    assert set(rows) == {1, 2}
    assert rows[1]["content"].endswith("band 7 physio in Leeds") and rows[1]["question"] == 0
    assert rows[2]["deleted_at"] is not None
    assert store.introduction_counts(GUILD, chat.id) == (1, 1)  # the withdrawn one not shown
    assert store.chat_totals(GUILD, chat.id)["answers"] == 0  # introductions are not answers
    await writer.close()


async def test_thread_opened_from_an_answer_counts_as_replies_to_it(store, chat):
    writer = AnswerWriter(store, lambda: EVENING)
    writer.submit(seen(30, CHANNEL, "A1 my take"))
    await writer.flush()
    writer.submit(seen(31, 30, "replying in the thread made from that answer", author=9))
    await writer.flush()
    reply = store.answer(GUILD, 31)
    assert (reply["question"], reply["reply_to"]) == (1, 30)


async def test_one_batch_sees_its_own_earlier_answers(store, chat):
    """Thread answers are gathered and stored together; what comes after them in the same
    batch (a reply in a thread opened from one, its edit, a repeat) still finds them."""
    writer = AnswerWriter(store, lambda: EVENING)
    writer.submit(seen(50, THREADS[1], "gathered"))
    writer.submit(seen(50, THREADS[1], "gathered"))  # live and from history: stored once
    writer.submit(seen(51, 50, "a reply in the thread opened from it", author=9))
    writer.submit(MessageEdited(GUILD, 50, "gathered, then edited", EVENING + timedelta(minutes=3)))
    writer.submit(seen(52, THREADS[2], "gathered after the rest"))
    await writer.flush()
    assert writer.stats.batches == 1 and writer.stats.answers == 3 and writer.stats.edits == 1
    assert (store.answer(GUILD, 51)["question"], store.answer(GUILD, 51)["reply_to"]) == (1, 50)
    assert [r["content"] for r in store.revisions(GUILD, 50)] == ["gathered", "gathered, then edited"]
    assert store.answer(GUILD, 52)["question"] == 2
    assert store.answer(GUILD, 50)["attachments"][0]["filename"] == "a.png"


async def test_channel_answers_only_between_intro_and_wrap_up(store, chat):
    store.set_chat_state(GUILD, chat.id, ChatState.FINISHED,
                         ended_at=EVENING + timedelta(minutes=40, seconds=30))
    writer = AnswerWriter(store, lambda: EVENING)
    writer.submit(seen(40, CHANNEL, "A1 during the chat, fetched after it ended"))
    writer.submit(seen(41, CHANNEL, "A1 after the wrap-up"))
    writer.submit(seen(42, THREADS[1], "late thought in the thread"))
    await writer.flush()
    assert [r["message_id"] for r in store.answers(GUILD, chat.id)] == [40, 42]


async def test_edits_deletions_and_repeats(store, chat):
    writer = AnswerWriter(store, lambda: EVENING)
    writer.start()
    writer.submit(seen(1, THREADS[1], "first"))
    writer.submit(seen(1, THREADS[1], "first"))  # seen again (backfill): no duplicate
    t = EVENING + timedelta(minutes=30)
    writer.submit(MessageEdited(GUILD, 1, "second", t))
    writer.submit(MessageEdited(GUILD, 1, "second", t))  # replayed event: no second revision
    writer.submit(MessageEdited(GUILD, 404, "unknown", t))
    writer.submit(seen(2, THREADS[1], "to withdraw"))
    writer.submit(MessageDeleted(GUILD, 2, t))
    await writer.flush()
    assert [r["content"] for r in store.revisions(GUILD, 1)] == ["first", "second"]
    assert [r["message_id"] for r in store.answers(GUILD, chat.id)] == [1]
    assert store.answer(GUILD, 2)["deleted_at"] is not None
    assert (writer.stats.edits, writer.stats.withdrawals) == (1, 1)
    await writer.close()


async def test_an_edit_made_while_offline_is_recorded_from_history(store, chat):
    writer = AnswerWriter(store, lambda: EVENING)
    writer.submit(seen(1, THREADS[1], "original"))
    await writer.flush()
    writer.submit(seen(1, THREADS[1], "changed while the bot was down",
                       edited_at=EVENING + timedelta(hours=1)))
    await writer.flush()
    assert store.answer(GUILD, 1)["content"] == "changed while the bot was down"
    assert len(store.revisions(GUILD, 1)) == 2


async def test_other_servers_messages_never_land_in_this_chat(store, chat):
    writer = AnswerWriter(store, lambda: EVENING)
    writer.submit(seen(50, THREADS[1], guild=999))
    writer.submit(seen(51, CHANNEL, "A1 hi", guild=999))
    await writer.flush()
    assert store.answers(GUILD, chat.id) == []
    assert store.db["answers"].count == 0


async def test_opted_out_members_are_not_stored(store, chat):
    writer = AnswerWriter(store, lambda: EVENING, opted_out=lambda g, u: u == 7)
    writer.submit(seen(60, THREADS[1], author=7))
    writer.submit(seen(61, THREADS[1], author=8))
    await writer.flush()
    assert [r["author_id"] for r in store.answers(GUILD, chat.id)] == [8]


async def test_a_burst_is_written_in_few_transactions(store, chat):
    writer = AnswerWriter(store, lambda: EVENING, max_batch=500)
    writer.start()
    for i in range(2000):
        writer.submit(seen(10_000 + i, THREADS[1 + i % 2], author=i % 40))
    await writer.flush()
    assert store.db["answers"].count == 2000
    assert writer.stats.batches <= 8
    await writer.close()


LOCK_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock, as another program writing would hold it
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


async def test_a_batch_survives_another_process_holding_the_write_lock(store, chat):
    """Another process holds the database's write lock for longer than the busy timeout:
    the writer keeps the batch and writes it once the lock is gone; nothing is lost or
    stored twice."""
    import asyncio
    import subprocess
    import sys

    store.db.execute("PRAGMA busy_timeout = 50")  # so the test need not wait 5 s
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, store.path, "1.5"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    writer = AnswerWriter(store, lambda: EVENING)
    writer.start()
    for i in range(1, 41):
        writer.submit(seen(i, THREADS[1 + i % 2], f"answer {i}", author=i))
    await asyncio.sleep(0.5)
    assert store.answers(GUILD, chat.id) == []  # still locked out
    assert writer.stats.failed_writes >= 1
    await asyncio.wait_for(writer.flush(), 20)
    holder.wait(5)
    stored = store.answers(GUILD, chat.id)
    assert sorted(a["message_id"] for a in stored) == list(range(1, 41))
    assert writer.stats.answers == 40 and writer.stats.broken == 0
    await writer.close()


async def test_a_full_queue_refuses_loudly_instead_of_growing(store, chat, caplog):
    writer = AnswerWriter(store, lambda: EVENING, max_queued=3)  # task not started: nothing drains
    for i in range(1, 6):
        writer.submit(seen(i, THREADS[1]))
    assert writer.stats.overflowed == 2
    assert any("answer queue full" in r.getMessage() for r in caplog.records)
    await writer.flush()
    assert len(store.answers(GUILD, chat.id)) == 3


async def test_with_a_connection_of_its_own_the_writer_writes_off_the_event_loop(store, chat, db_path):
    """The bot's writer: its own connection, opened and used in its own thread, so a burst
    does not hold up the event loop; edits and opt-outs read on that connection too."""
    import threading

    from bot.store import Store

    threads = []

    def own():
        threads.append(threading.current_thread().name)
        return Store(db_path, beside_bot=True)

    store.set_opted_out(GUILD, 6, True, EVENING)  # member 6's answers are not stored
    writer = AnswerWriter(store, lambda: EVENING, opted_out=store.is_opted_out, own_store=own)
    writer.start()
    for i in range(300):
        writer.submit(seen(20_000 + i, THREADS[1], author=i % 7))
    writer.submit(MessageEdited(GUILD, 20_000, "changed my mind", EVENING + timedelta(hours=1), []))
    await writer.flush()
    assert threads and threads[0].startswith("answer-writer") and threads[0] != threading.current_thread().name
    assert store.db["answers"].count == 300 - len(range(6, 300, 7))
    assert store.db.execute("SELECT content FROM answers WHERE message_id = 20000").fetchone()[0] == "changed my mind"
    await writer.close()
    assert writer._thread is None and writer._own is None  # its connection closed in its thread
