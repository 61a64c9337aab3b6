"""Transcripts and statistics: counts and rows of the answers that are shown."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.store._base import StoreBase
from bot.store.records import Chat, NotFound, QuestionTally, _chat


class _Shown(StoreBase):
    # -- transcripts and statistics ----------------------------------------------------------
    # An answer is *shown* (in transcripts and statistics) when its author did not withdraw
    # it and has not opted out; everything here counts or returns shown answers only, and
    # the counting happens in SQL.

    # Introductions (question 0) are shown too, but counted apart from the answers.

    @staticmethod
    def _shown(alias: str = "a") -> str:
        """The SQL condition for the answer or introduction aliased `alias` to be shown."""
        return (f"{alias}.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM optouts o "
                f"WHERE o.guild_id = {alias}.guild_id AND o.user_id = {alias}.author_id)")

    @classmethod
    def _shown_answer(cls, alias: str = "a") -> str:
        """Shown, and an answer to a question (not an introduction)."""
        return f"{alias}.question > 0 AND {cls._shown(alias)}"

    def introduction_counts(self, guild_id: int, chat_id: int) -> tuple[int, int]:
        """(shown introductions, distinct members who introduced themselves) of a chat."""
        return tuple(self.db.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT a.author_id) FROM answers a WHERE a.guild_id = ? "
            f"AND a.chat_id = ? AND a.question = 0 AND {self._shown()}", [guild_id, chat_id]).fetchone())

    def find_chat(self, chat_id: int) -> Chat | None:
        """Operator-only (the command line), not scoped by server: the chat with this id
        in any server, or None. Use its `guild_id` for every further query."""
        rows = list(self.db.query("SELECT * FROM chats WHERE id = ?", [chat_id]))
        return _chat(rows[0]) if rows else None

    def all_chats(self, limit: int = 50) -> list[Chat]:
        """Operator-only, not scoped by server: the most recent chats of every server,
        newest first (for listing what exists when an operator names an unknown chat)."""
        return [_chat(r) for r in self.db.query(
            "SELECT * FROM chats ORDER BY start_at DESC, id DESC LIMIT ?", [limit])]

    def transcript_answers(self, guild_id: int, chat_id: int) -> list[dict]:
        """A chat's shown answers as plain rows, by question then time, each with
        `edit_count` (revisions after the first) and, for a Discord reply, whether the
        message it replies to is a shown answer (`parent_shown` 1), an answer left out
        (0: withdrawn, or its author opted out) or no answer of this chat (None)."""
        rows = []
        for r in self.db.query(
            f"""
            SELECT a.message_id, a.question, a.via, a.author_id, a.author_name, a.content,
                   a.created_at, a.edited_at, a.reply_to, a.attachments,
                   (SELECT COUNT(*) FROM answer_revisions r
                     WHERE r.guild_id = a.guild_id AND r.message_id = a.message_id
                       AND r.version > 0) AS edit_count,
                   CASE WHEN p.message_id IS NULL THEN NULL
                        WHEN {self._shown("p")} THEN 1 ELSE 0 END AS parent_shown
              FROM answers a
              LEFT JOIN answers p ON p.message_id = a.reply_to AND p.guild_id = a.guild_id
                                 AND p.chat_id = a.chat_id
             WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown()}
             ORDER BY a.question, a.created_at, a.message_id
            """, [guild_id, chat_id]):
            r["attachments"] = json.loads(r["attachments"])
            rows.append(r)
        return rows

    def chat_totals(self, guild_id: int, chat_id: int) -> dict[str, Any]:
        """Counts over a chat's shown answers: `answers`, `participants`, `replies`
        (answers that are Discord replies to another answer of the chat, shown or not),
        `first_time_participants` (members with no answer, withdrawn or not, in any of
        the server's earlier chats), `withheld` (answers left out because their author
        opted out)."""
        shown = f"FROM answers a WHERE a.guild_id = :g AND a.chat_id = :c AND {self._shown_answer()}"
        row = self.db.execute(
            f"""
            SELECT (SELECT COUNT(*) {shown}),
                   (SELECT COUNT(DISTINCT a.author_id) {shown}),
                   (SELECT COUNT(*) {shown} AND a.reply_to IN
                        (SELECT message_id FROM answers WHERE guild_id = :g AND chat_id = :c)),
                   (SELECT COUNT(*) FROM (SELECT DISTINCT a.author_id {shown}) p
                     WHERE NOT EXISTS
                        (SELECT 1 FROM answers e JOIN chats earlier ON earlier.id = e.chat_id
                          WHERE e.guild_id = :g AND e.author_id = p.author_id
                            AND earlier.guild_id = :g
                            AND (earlier.start_at < this.start_at
                                 OR (earlier.start_at = this.start_at AND earlier.id < this.id)))),
                   (SELECT COUNT(*) FROM answers a WHERE a.guild_id = :g AND a.chat_id = :c
                       AND a.question > 0 AND a.deleted_at IS NULL
                       AND a.author_id IN (SELECT user_id FROM optouts WHERE guild_id = :g))
              FROM chats this WHERE this.guild_id = :g AND this.id = :c
            """, {"g": guild_id, "c": chat_id}).fetchone()
        if row is None:
            raise NotFound(f"there is no chat #{chat_id} in this server")
        names = ("answers", "participants", "replies", "first_time_participants", "withheld")
        return dict(zip(names, row))

    def shown_counts_by_question(self, guild_id: int, chat_id: int) -> list[QuestionTally]:
        """(question, answers, distinct participants) of a chat's shown answers."""
        return [QuestionTally(*r) for r in self.db.execute(
            f"SELECT a.question, COUNT(*), COUNT(DISTINCT a.author_id) FROM answers a "
            f"WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown_answer()} "
            "GROUP BY a.question ORDER BY a.question", [guild_id, chat_id])]

    def shown_counts_by_minute(self, guild_id: int, chat_id: int) -> list[tuple[datetime, int]]:
        """(start of the minute, UTC; shown answers in it) for each minute with answers.
        Stored times are fixed-width UTC text, so the first 16 characters are the minute;
        every time zone in use today is offset from UTC by whole minutes."""
        return [
            (datetime.fromisoformat(minute + ":00+00:00"), count)
            for minute, count in self.db.execute(
                f"SELECT substr(a.created_at, 1, 16) AS minute, COUNT(*) FROM answers a "
                f"WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown_answer()} "
                "GROUP BY minute ORDER BY minute", [guild_id, chat_id])
        ]

    def top_authors(self, guild_id: int, chat_id: int, limit: int) -> list[tuple[str, int]]:
        """(display name, shown answers) of the members with most answers in a chat,
        most first. Only for a moderator who explicitly asks for a ranking."""
        # SQLite fills the bare author_name from the row with MAX(created_at): the name
        # the member used last.
        return [(r[0], r[1]) for r in self.db.execute(
            f"SELECT a.author_name, COUNT(*) AS n, MAX(a.created_at) FROM answers a "
            f"WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown_answer()} "
            "GROUP BY a.author_id ORDER BY n DESC, MIN(a.created_at) LIMIT ?",
            [guild_id, chat_id, limit])]

