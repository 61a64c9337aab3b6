"""The store: schema through migrations, server scoping, answers and their revisions."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Store, StoreError, migrations, to_db
from bot.store._ledger import DUE_WORK
from bot.chat.timeline import build_timeline
from seed import EVENING

GUILD = 111


@pytest.fixture
def chat(store, seed):
    return store.create_chat(guild_id=GUILD, channel_id=5, definition=seed, start_at=EVENING,
                             timezone_name="Europe/London", steps=build_timeline(seed, EVENING),
                             created_by=7, now=EVENING - timedelta(days=1))


def add(store, chat, message_id, *, guild=GUILD, author=1, question=1, content="A1 hello"):
    return store.add_answer(guild_id=guild, chat_id=chat.id, question=question,
                            message_id=message_id, channel_id=9, via="thread", author_id=author,
                            author_name=f"member {author}", content=content, created_at=EVENING,
                            recorded_at=EVENING, attachments=[{"filename": "x.png", "size": 3}])


def test_schema_is_created_by_migrations_in_wal_mode(store, db_path):
    assert store.schema_version() == [m.name for m in migrations._migrations]
    assert {"servers", "chats", "steps", "answers", "answer_revisions", "audit_log",
            "_sqlite_migrations"} <= set(store.db.table_names())
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Opening again applies nothing twice.
    again = Store(db_path)
    assert again.schema_version() == store.schema_version()
    again.close()


def test_database_opens_with_the_sqlite_utils_command_line(store, chat, db_path):
    store.close()
    out = subprocess.run([sys.executable, "-m", "sqlite_utils", "tables", str(db_path), "--counts"],
                         capture_output=True, text=True, check=True).stdout
    tables = {row["table"]: row["count"] for row in json.loads(out)}
    assert tables["chats"] == 1 and tables["steps"] == 9


def test_times_are_fixed_width_utc_text(store, chat):
    row = next(store.db.query("SELECT start_at, due_at FROM chats JOIN steps ON chats.id = chat_id"))
    assert row["start_at"] == "2030-12-02T20:00:00.000000+00:00"
    with pytest.raises(ValueError):
        to_db(EVENING.replace(tzinfo=None))


def test_every_row_carries_its_server_and_reads_are_scoped(store, chat):
    for table in ("chats", "steps"):
        assert {r["guild_id"] for r in store.db[table].rows} == {GUILD}
    with pytest.raises(StoreError):
        store.chat(222, chat.id)
    assert store.steps(222, chat.id) == []
    assert store.chats(222) == []
    assert store.claim_step(222, store.steps(GUILD, chat.id)[0].id, EVENING) is False
    add(store, chat, 1)
    assert store.answers(222, chat.id) == []
    assert store.withdraw_answer(222, 1, EVENING) is False
    assert store.edit_answer(222, 1, content="x", edited_at=EVENING, recorded_at=EVENING) is False


def test_answers_are_stored_once_with_a_first_revision(store, chat):
    assert add(store, chat, 1) is True
    assert add(store, chat, 1, content="seen again in a backfill") is False
    [answer] = store.answers(GUILD, chat.id)
    assert answer["content"] == "A1 hello"
    assert answer["attachments"] == [{"filename": "x.png", "size": 3}]
    assert store.revisions(GUILD, 1) == [
        {"version": 0, "content": "A1 hello", "edited_at": to_db(EVENING)}]


def test_edits_become_revisions_idempotently_and_in_time_order(store, chat):
    add(store, chat, 1)
    t1, t2 = EVENING + timedelta(minutes=1), EVENING + timedelta(minutes=2)
    assert store.edit_answer(GUILD, 1, content="second", edited_at=t2, recorded_at=t2)
    assert not store.edit_answer(GUILD, 1, content="second", edited_at=t2, recorded_at=t2)
    # An older edit arriving late (a backfill) is kept as history but not made current.
    assert store.edit_answer(GUILD, 1, content="first", edited_at=t1, recorded_at=t2)
    [answer] = store.answers(GUILD, chat.id)
    assert answer["content"] == "second" and answer["edited_at"] == to_db(t2)
    assert [r["content"] for r in store.revisions(GUILD, 1)] == ["A1 hello", "second", "first"]
    assert not store.edit_answer(GUILD, 404, content="x", edited_at=t1, recorded_at=t1)


def test_withdrawn_answers_are_kept_but_hidden_and_not_counted(store, chat):
    add(store, chat, 1, author=1)
    add(store, chat, 2, author=2)
    add(store, chat, 3, author=1, question=2)
    assert store.withdraw_answer(GUILD, 2, EVENING)
    assert not store.withdraw_answer(GUILD, 2, EVENING)
    assert [a["message_id"] for a in store.answers(GUILD, chat.id)] == [1, 3]
    assert len(store.answers(GUILD, chat.id, include_withdrawn=True)) == 3
    assert store.answer_counts(GUILD, chat.id) == [(1, 1, 1), (2, 1, 1)]
    assert store.participant_count(GUILD, chat.id) == 1


def test_server_settings_defaults_and_updates(store):
    assert store.server_settings(5).archive_threads is True
    updated = store.update_server_settings(5, EVENING, timezone="Europe/Dublin", archive_threads=False)
    assert updated.timezone == "Europe/Dublin" and updated.archive_threads is False
    assert store.server_settings(6).timezone is None
    with pytest.raises(StoreError):
        store.update_server_settings(5, EVENING, colour="red")


def test_chat_creation_is_atomic(store, seed):
    bad_steps = build_timeline(seed, EVENING)
    bad_steps.append(bad_steps[0])  # duplicate seq violates the unique index
    with pytest.raises(Exception):
        store.create_chat(guild_id=GUILD, channel_id=5, definition=seed, start_at=EVENING,
                          timezone_name="Europe/London", steps=bad_steps, created_by=7, now=EVENING)
    assert store.chats(GUILD) == [] and store.db["steps"].count == 0


def test_a_reader_beside_the_bot_never_checkpoints_or_writes(db_path, seed):
    """`tweetchat export` and `stats` open the database read-only: closing a reader does
    not checkpoint (which made the bot's own writes fail at once), and a reader cannot
    change anything."""
    import sqlite3

    writer = Store(db_path)
    writer.save_chat(GUILD, seed, created_by=1, now=EVENING)
    wal = Path(str(db_path) + "-wal")
    size = wal.stat().st_size
    assert size > 0
    reader = Store(db_path, read_only=True)
    assert len(reader.saved_chats(GUILD)) == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.save_chat(GUILD, seed, created_by=1, now=EVENING)
    reader.close()
    assert wal.stat().st_size == size  # not checkpointed by the reader
    writer.save_chat(GUILD, seed, created_by=1, now=EVENING)
    assert len(writer.saved_chats(GUILD)) == 2
    writer.close()


def test_due_work_is_read_from_indexes_and_gives_each_chat_its_next_step_only(store, seed):
    """The dispatcher's lookup: one piece of work per chat at most (the rest of a chat's
    steps wait for it), earliest first, and a query plan with no scan of a whole table,
    so its cost does not grow with the ledger (figures: benchmarks/due_lookup.py)."""
    chats = []
    for i, minutes in enumerate([30, 10, 20]):
        start = EVENING + timedelta(minutes=minutes)
        chats.append(store.create_chat(guild_id=GUILD + i, channel_id=5, definition=seed, start_at=start,
                                       timezone_name="Europe/London", steps=build_timeline(seed, start),
                                       created_by=7, now=EVENING - timedelta(days=1)))
    work = store.due_work(10)
    assert [w.chat_id for w in work] == [chats[1].id, chats[2].id, chats[0].id]
    assert all(w.action == "post" and store.step(w.guild_id, w.step_id).seq == 0 for w in work)
    assert store.next_due_step() == work[0]
    plan = [row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + DUE_WORK, {"limit": 1, "count": 2, "shards": "[0]"})]
    assert {"SCAN steps USING INDEX idx_steps_ready", "SCAN chat_actions USING INDEX idx_chat_actions_ready"} <= set(plan)
    assert not [line for line in plan if line.startswith("SCAN") and "INDEX" not in line
                and "subquery" not in line], plan


def test_server_settings_are_kept_briefly_and_a_change_here_is_seen_at_once(store, db_path, monkeypatch):
    assert store.server_settings(GUILD).confidentiality_nudge is False
    store.update_server_settings(GUILD, EVENING, confidentiality_nudge=True)
    assert store.server_settings(GUILD).confidentiality_nudge is True  # this process: at once
    other = Store(db_path)  # another process, the operator's command line
    other.update_server_settings(GUILD, EVENING, confidentiality_nudge=False)
    other.close()
    assert store.server_settings(GUILD).confidentiality_nudge is True  # kept for a moment
    monkeypatch.setattr(store._settings, "seconds", 0.0)
    assert store.server_settings(GUILD).confidentiality_nudge is False  # then read again


def test_opt_outs_are_kept_briefly_and_a_change_here_is_seen_at_once(store, db_path):
    assert not store.is_opted_out(GUILD, 42)
    store.set_opted_out(GUILD, 42, True, EVENING)
    assert store.is_opted_out(GUILD, 42)  # this process: at once
    second = Store(db_path, beside_bot=True)  # the answer writer's own connection
    assert second.is_opted_out(GUILD, 42) and second.is_opted_out(GUILD, 42, fresh=True)
    store.set_opted_out(GUILD, 42, False, EVENING)
    assert not store.is_opted_out(GUILD, 42)
    assert second.is_opted_out(GUILD, 42)  # what it kept, for a moment ...
    assert not second.is_opted_out(GUILD, 42, fresh=True)  # ... which fresh does not use
    store.set_opted_out(GUILD, 42, True, EVENING)
    store.erase_member(GUILD, 42, EVENING)  # erasure removes the opt-out with the rest
    assert not store.is_opted_out(GUILD, 42)
    second.close()
