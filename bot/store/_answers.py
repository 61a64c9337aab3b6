"""Answers and their revisions, as they arrive from Discord; the counts the wrap-up shows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable, Sequence

from bot.store._base import StoreBase
from bot.store.records import Chat, ChatState, NewAnswer, QuestionTally, _chat, to_db


class _Answers(StoreBase):
    def add_answer(
        self, *, guild_id: int, chat_id: int, question: int, message_id: int, channel_id: int,
        via: str, author_id: int, author_name: str, content: str, created_at: datetime,
        reply_to: int | None = None, attachments: list[dict] | None = None,
        recorded_at: datetime,
    ) -> bool:
        """Store an answer and its first revision (see :meth:`add_answers`); returns
        whether it was new."""
        return self.add_answers([NewAnswer(
            guild_id, chat_id, question, message_id, channel_id, via, author_id, author_name,
            content, created_at, reply_to, attachments)], recorded_at) == 1

    def add_answers(self, answers: Sequence[NewAnswer], recorded_at: datetime) -> int:
        """Store answers, each with its first revision, in one transaction. Idempotent: a
        message already stored (seen twice: live and again in a history backfill) is
        left as it is. Returns how many were new."""
        if not answers:
            return 0
        recorded = to_db(recorded_at)
        rows, revisions = [], []
        for a in answers:
            created = to_db(a.created_at)
            rows.append((a.message_id, a.guild_id, a.chat_id, a.question, a.channel_id, a.via,
                         a.author_id, a.author_name, a.content, created, a.reply_to,
                         json.dumps(a.attachments) if a.attachments else "[]"))
            revisions.append((a.guild_id, a.message_id, a.content, created, recorded))
        conn = self.db.conn
        with self.transaction():
            new = conn.executemany(
                "INSERT OR IGNORE INTO answers (message_id, guild_id, chat_id, question, "
                "channel_id, via, author_id, author_name, content, created_at, reply_to, "
                "attachments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows).rowcount
            # An answer stored before has its first revision already: ignored with it.
            conn.executemany(
                "INSERT OR IGNORE INTO answer_revisions (guild_id, message_id, version, "
                "content, edited_at, recorded_at) VALUES (?, ?, 0, ?, ?, ?)", revisions)
        return new

    def edit_answer(
        self, guild_id: int, message_id: int, *, content: str, edited_at: datetime,
        recorded_at: datetime, attachments: list[dict] | None = None,
    ) -> bool:
        """Record an edit as a new revision and make it the current text. Idempotent on
        (message, edited_at); an edit older than the newest stored one is kept as a
        revision but does not replace the current text. False for an unknown answer or a
        repeat."""
        with self.transaction():
            row = self.db.execute(
                "SELECT edited_at, created_at FROM answers WHERE guild_id = ? AND message_id = ?",
                [guild_id, message_id],
            ).fetchone()
            if row is None:
                return False
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO answer_revisions (guild_id, message_id, version, content, "
                "edited_at, recorded_at) SELECT ?, ?, COALESCE(MAX(version), -1) + 1, ?, ?, ? "
                "FROM answer_revisions WHERE message_id = ?",
                [guild_id, message_id, content, to_db(edited_at), to_db(recorded_at), message_id],
            )
            if cursor.rowcount != 1:
                return False
            newest = row[0] or row[1]
            if to_db(edited_at) >= newest:
                self.db.execute(
                    "UPDATE answers SET content = ?, edited_at = ?, "
                    "attachments = COALESCE(?, attachments) WHERE guild_id = ? AND message_id = ?",
                    [content, to_db(edited_at),
                     None if attachments is None else json.dumps(attachments), guild_id,
                     message_id],
                )
        return True

    def withdraw_answer(self, guild_id: int, message_id: int, deleted_at: datetime) -> bool:
        """Mark an answer deleted by its author (withdrawn). False if unknown or already."""
        cursor = self.db.execute(
            "UPDATE answers SET deleted_at = ? WHERE guild_id = ? AND message_id = ? "
            "AND deleted_at IS NULL",
            [to_db(deleted_at), guild_id, message_id],
        )
        return cursor.rowcount == 1

    def question_for_thread(self, guild_id: int, thread_id: int) -> tuple[int, int] | None:
        """(chat_id, question number) of the question whose thread this is, if any. A
        thread started from a message has the message's id on Discord, so a question's
        thread is known even before its id is stored (the bot killed, or Discord slow to
        answer, between opening the thread and recording it)."""
        row = self.db.execute(
            "SELECT chat_id, question FROM steps WHERE guild_id = ? AND (thread_id = ? OR "
            "(kind = 'question' AND message_id = ?)) LIMIT 1",
            [guild_id, thread_id, thread_id],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def chats_in_channel(self, guild_id: int, channel_id: int,
                         states: Iterable[ChatState]) -> list[Chat]:
        """A server's chats in one channel that are in one of `states`, soonest first."""
        states = [ChatState(s).value for s in states]
        return [
            _chat(r)
            for r in self.db.query(
                f"SELECT * FROM chats WHERE guild_id = ? AND channel_id = ? AND state IN "
                f"({', '.join('?' * len(states))}) ORDER BY start_at",
                [guild_id, channel_id, *states],
            )
        ]

    def answer(self, guild_id: int, message_id: int) -> dict | None:
        """One stored answer (withdrawn or not), or None."""
        rows = list(self.db.query(
            "SELECT * FROM answers WHERE guild_id = ? AND message_id = ?", [guild_id, message_id]))
        if not rows:
            return None
        rows[0]["attachments"] = json.loads(rows[0]["attachments"])
        return rows[0]

    def answer_author(self, guild_id: int, message_id: int) -> int | None:
        """The author of a stored answer, or None if the message is not one."""
        row = self.db.execute("SELECT author_id FROM answers WHERE guild_id = ? AND message_id = ?",
                              [guild_id, message_id]).fetchone()
        return row[0] if row else None

    def answers(self, guild_id: int, chat_id: int, *, include_withdrawn: bool = False) -> list[dict]:
        """A chat's answers as plain rows, by question then time."""
        sql = "SELECT * FROM answers WHERE guild_id = ? AND chat_id = ?"
        if not include_withdrawn:
            sql += " AND deleted_at IS NULL"
        sql += " ORDER BY question, created_at, message_id"
        rows = []
        for r in self.db.query(sql, [guild_id, chat_id]):
            r["attachments"] = json.loads(r["attachments"])
            rows.append(r)
        return rows

    def revisions(self, guild_id: int, message_id: int) -> list[dict]:
        return list(
            self.db.query(
                "SELECT version, content, edited_at FROM answer_revisions "
                "WHERE guild_id = ? AND message_id = ? ORDER BY version",
                [guild_id, message_id],
            )
        )

    def answer_counts(self, guild_id: int, chat_id: int) -> list[QuestionTally]:
        """(question, answers, distinct participants) for a chat's visible answers."""
        return [
            QuestionTally(r["question"], r["answers"], r["participants"])
            for r in self.db.query(
                "SELECT question, COUNT(*) AS answers, COUNT(DISTINCT author_id) AS participants "
                "FROM answers WHERE guild_id = ? AND chat_id = ? AND deleted_at IS NULL "
                "GROUP BY question ORDER BY question",
                [guild_id, chat_id],
            )
        ]

    def participant_count(self, guild_id: int, chat_id: int) -> int:
        return self.db.execute(
            "SELECT COUNT(DISTINCT author_id) FROM answers WHERE guild_id = ? AND chat_id = ? "
            "AND deleted_at IS NULL",
            [guild_id, chat_id],
        ).fetchone()[0]

