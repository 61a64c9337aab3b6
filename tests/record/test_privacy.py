"""Members' data: export, erasure (scanning every table), opt-out and retention, over a
real store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.record import privacy
from bot.record.privacy import MAX_RETENTION_DAYS
from bot.run.control import ChatControl, InputError
from bot.answers import AnswerWriter, MessageEdited, MessageSeen
from bot.store import ChatState
from bot.chat.timeline import build_timeline
from seed import EVENING

GUILD, OTHER_GUILD, CHANNEL = 111, 333, 222
THREAD = 9001
LEAVER, STAYER, MODERATOR = 424242424242, 515151515151, 636363636363


def make_chat(store, seed, guild, thread):
    chat = store.create_chat(guild_id=guild, channel_id=CHANNEL, definition=seed,
                             start_at=EVENING, timezone_name="Europe/London",
                             steps=build_timeline(seed, EVENING), created_by=MODERATOR, now=EVENING)
    steps = store.steps(guild, chat.id)
    store.set_thread(guild, steps[1].id, thread)
    store.claim_step(guild, steps[0].id, EVENING)
    store.mark_posted(guild, steps[0].id, message_id=thread - 1, posted_at=EVENING,
                        late_seconds=None, needs_thread=False)
    store.set_chat_state(guild, chat.id, ChatState.RUNNING)
    return chat


def message(message_id, author, content, *, guild=GUILD, thread=THREAD, minutes=1):
    return MessageSeen(guild, thread, message_id, author, f"name-{author}", False, content,
                       EVENING + timedelta(minutes=minutes))


@pytest.fixture
async def two_servers(store, seed):
    """Both members answer in two servers; the leaver also edits and schedules a chat."""
    chat = make_chat(store, seed, GUILD, THREAD)
    other = make_chat(store, seed, OTHER_GUILD, THREAD + 1)
    store.create_chat(guild_id=GUILD, channel_id=CHANNEL, definition=seed,
                      start_at=EVENING + timedelta(days=7), timezone_name="Europe/London",
                      steps=build_timeline(seed, EVENING + timedelta(days=7)),
                      created_by=LEAVER, now=EVENING)
    store.audit(GUILD, "scheduled", at=EVENING, actor_id=LEAVER, chat_id=chat.id)
    writer = AnswerWriter(store, lambda: EVENING, opted_out=store.is_opted_out)
    writer.submit(message(1, LEAVER, "leaver's secret answer"))
    writer.submit(message(2, LEAVER, "leaver's second answer", minutes=2))
    writer.submit(message(3, STAYER, "stayer's answer"))
    writer.submit(message(4, LEAVER, "leaver elsewhere", guild=OTHER_GUILD, thread=THREAD + 1))
    writer.submit(MessageEdited(GUILD, 1, "leaver's secret answer, edited",
                                EVENING + timedelta(minutes=5)))
    await writer.flush()
    return chat, other, writer


def rows_mentioning(store, needles) -> list[tuple[str, dict]]:
    """Every row of every table that holds any of `needles` in any column."""
    found = []
    for table in store.db.table_names():
        for row in store.db[table].rows:
            if any(needle in str(value) for value in row.values() for needle in needles):
                found.append((table, row))
    return found


async def test_erasure_leaves_no_trace_of_the_member_and_keeps_anonymous_counts(store, two_servers):
    chat, other, _ = two_servers
    now = EVENING + timedelta(hours=2)
    # Everything else a member can leave behind: reminders, CPD records and reflections,
    # nudges; the every-table scan below must find none of it after the erasure.
    store.set_reminder_optin(GUILD, LEAVER, True, now)
    store.claim_reminder(GUILD, chat.id, LEAVER, now)
    store.set_cpd_optin(GUILD, LEAVER, True, now)
    store.claim_cpd_record(GUILD, chat.id, LEAVER, now)
    store.set_reflection(GUILD, chat.id, LEAVER, learned="leaver's reflection", change="c",
                         standards="s", now=now)
    store.claim_nudge(GUILD, chat.id, LEAVER, now)
    exported = privacy.export_member(store, GUILD, LEAVER, now)
    assert b"leaver's reflection" in exported and b"reminders_on_since" in exported
    erased = privacy.erase_member(store, GUILD, LEAVER, EVENING + timedelta(days=1))
    assert (erased.answers, erased.revisions) == (2, 3)
    assert "Deleted 2 answers" in erased.sentence()

    in_this_server = [(t, r) for t, r in rows_mentioning(store, [str(LEAVER), "leaver"])
                      if r.get("guild_id") != OTHER_GUILD]
    assert in_this_server == []
    # The other member's data and the other server's data are untouched.
    assert [a["author_id"] for a in store.answers(GUILD, chat.id)] == [STAYER]
    assert [a["content"] for a in store.answers(OTHER_GUILD, other.id)] == ["leaver elsewhere"]
    # Only counts remain, and the audit line does not name who.
    assert store.erased_tallies(GUILD, chat.id) == {1: (2, 1)}
    [line] = [a for a in store.audit_log(GUILD) if a["action"] == "member data erased on request"]
    assert line["actor_id"] is None and "2 answers" in line["detail"]
    assert "secret" not in json.dumps(store.audit_log(GUILD))


def disk_bytes(store) -> bytes:
    """Everything of the database on disk: the file, its WAL and shared memory."""
    from pathlib import Path

    return b"".join(Path(store.path + suffix).read_bytes()
                    for suffix in ("", "-wal", "-shm") if Path(store.path + suffix).exists())


async def test_erased_text_is_gone_from_the_files_on_disk(store, two_servers):
    """Not only from the tables: from the database file and its WAL, with the bot still
    running (no clean shutdown to tidy up). Before, the text stayed in the WAL."""
    assert b"leaver's secret answer" in disk_bytes(store)
    privacy.erase_member(store, GUILD, LEAVER, EVENING + timedelta(days=1))
    on_disk = disk_bytes(store)
    assert b"leaver's secret answer" not in on_disk and b"leaver's second" not in on_disk
    assert b"stayer's answer" in on_disk  # the check can see text that is still there


async def test_retention_purge_leaves_no_text_on_disk(store, two_servers):
    now = EVENING + timedelta(days=30, minutes=10)
    ChatControl(store, lambda: now).configure(GUILD, actor_id=MODERATOR, retention_days=30)
    privacy.purge_expired(store, now)
    assert b"stayer's answer" not in disk_bytes(store)
    assert b"leaver elsewhere" in disk_bytes(store)  # the other server keeps its answers


async def test_export_holds_everything_about_the_member_and_nothing_of_others(store, two_servers):
    chat, _, _ = two_servers
    data = json.loads(privacy.export_member(store, GUILD, LEAVER, EVENING))
    assert data["schema"] == privacy.EXPORT_SCHEMA
    assert data["member_id"] == LEAVER and data["server_id"] == GUILD
    assert [a["message_id"] for a in data["answers"]] == [1, 2]
    assert [r["content"] for r in data["answers"][0]["revisions"]] == [
        "leaver's secret answer", "leaver's secret answer, edited"]
    assert data["answers"][0]["chat_title"] == chat.title
    assert len(data["chats_scheduled"]) == 1
    assert [a["action"] for a in data["audit_log"]] == ["scheduled"]
    text = json.dumps(data)
    assert "stayer" not in text and "leaver elsewhere" not in text
    assert store.audit_log(GUILD)[0]["action"] == "member exported their data"


async def test_opt_out_stops_storage_of_answers_and_edits_and_opt_in_restarts_it(store, two_servers):
    chat, _, writer = two_servers
    said = privacy.set_opt_out(store, GUILD, STAYER, True, EVENING)
    assert "opted out" in said
    assert "already" in privacy.set_opt_out(store, GUILD, STAYER, True, EVENING)
    assert store.opted_out_members(GUILD) == {STAYER}
    assert not store.is_opted_out(OTHER_GUILD, STAYER)
    writer.submit(message(10, STAYER, "after opting out"))
    writer.submit(MessageEdited(GUILD, 3, "edited after opting out", EVENING + timedelta(minutes=9)))
    await writer.flush()
    assert store.answer(GUILD, 10) is None
    assert store.answer(GUILD, 3)["content"] == "stayer's answer"
    privacy.set_opt_out(store, GUILD, STAYER, False, EVENING)
    writer.submit(message(11, STAYER, "back in"))
    await writer.flush()
    assert store.answer(GUILD, 11)["content"] == "back in"
    actions = [a["action"] for a in store.audit_log(GUILD)]
    assert actions[:2] == ["member opted in", "member opted out"]


async def test_retention_purges_exactly_what_is_older_than_n_days(store, two_servers):
    chat, other, _ = two_servers
    # Answers 1 and 3 are 30 days and a minute old; answer 2 is exactly 30 days old: kept.
    now = EVENING + timedelta(days=30, minutes=2)
    control = ChatControl(store, lambda: now)
    control.configure(GUILD, actor_id=MODERATOR, retention_days=30)
    with pytest.raises(InputError):
        control.configure(GUILD, actor_id=MODERATOR, retention_days=MAX_RETENTION_DAYS + 1)
    assert privacy.purge_expired(store, now) == {GUILD: 2}
    assert [a["message_id"] for a in store.answers(GUILD, chat.id)] == [2]
    assert store.revisions(GUILD, 1) == [] and store.revisions(GUILD, 3) == []
    assert store.erased_tallies(GUILD, chat.id) == {1: (2, 2)}
    # The other server set no retention; a second run finds nothing more.
    assert len(store.answers(OTHER_GUILD, other.id)) == 1
    assert privacy.purge_expired(store, now) == {}
    assert store.audit_log(GUILD)[0]["action"] == "retention purge"
