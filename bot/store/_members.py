"""Members' data: opt-outs, export, erasure and retention."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.store._base import StoreBase
from bot.store._kept import Kept
from bot.store._deliveries import DELIVERIES, OPT_INS
from bot.store.records import to_db


class _Members(StoreBase):
    # Asked for every arriving message; kept briefly (bot.store._kept).
    _optouts: Kept[frozenset[int]]

    def set_opted_out(self, guild_id: int, user_id: int, opted_out: bool, now: datetime) -> bool:
        """Record that a member does (or no longer does) want their messages stored in
        this server. Returns whether anything changed."""
        if opted_out:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO optouts (guild_id, user_id, at) VALUES (?, ?, ?)",
                [guild_id, user_id, to_db(now)])
        else:
            cursor = self.db.execute(
                "DELETE FROM optouts WHERE guild_id = ? AND user_id = ?", [guild_id, user_id])
        self._optouts.drop(guild_id)
        return cursor.rowcount == 1

    def is_opted_out(self, guild_id: int, user_id: int, *, fresh: bool = False) -> bool:
        """Whether a member asked that nothing of theirs be stored in this server.

        :param fresh: read the database, not what this store keeps: for a second
            connection of the same process (the answer writer's), whose kept copy a change
            made on the first would not drop.
        """
        if fresh:
            return self.db.execute(
                "SELECT 1 FROM optouts WHERE guild_id = ? AND user_id = ?", [guild_id, user_id]
            ).fetchone() is not None
        return user_id in self._optouts.get(guild_id)

    def _read_optouts(self, guild_id: int) -> frozenset[int]:
        return frozenset(self.opted_out_members(guild_id))

    def opted_out_members(self, guild_id: int) -> set[int]:
        """Ids of a server's opted-out members (left out of transcripts)."""
        return {r[0] for r in self.db.execute(
            "SELECT user_id FROM optouts WHERE guild_id = ?", [guild_id])}

    def member_data(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Everything stored about one member in one server, as plain data: their
        answers (each with its revisions), their opt-out, chats they scheduled or saved,
        and the audit lines of what they did."""
        # Every revision of their answers in one query, not one query per answer.
        revisions: dict[int, list[dict]] = {}
        for r in self.db.query(
            "SELECT r.message_id, r.version, r.content, r.edited_at FROM answer_revisions r "
            "JOIN answers a ON a.message_id = r.message_id WHERE a.guild_id = ? "
            "AND a.author_id = ? ORDER BY r.message_id, r.version", [guild_id, user_id]):
            revisions.setdefault(r.pop("message_id"), []).append(r)
        answers = []
        for r in self.db.query(
            "SELECT answers.*, chats.title AS chat_title FROM answers JOIN chats "
            "ON chats.id = answers.chat_id WHERE answers.guild_id = ? AND author_id = ? "
            "ORDER BY answers.created_at, message_id", [guild_id, user_id]):
            r["attachments"] = json.loads(r["attachments"])
            r["revisions"] = revisions.get(r["message_id"], [])
            answers.append(r)
        optout = self.db.execute("SELECT at FROM optouts WHERE guild_id = ? AND user_id = ?",
                                 [guild_id, user_id]).fetchone()
        return {
            "server_id": guild_id,
            "member_id": user_id,
            "opted_out_since": optout[0] if optout else None,
            "answers": answers,
            "chats_scheduled": list(self.db.query(
                "SELECT id, title, start_at, state FROM chats WHERE guild_id = ? AND created_by = ? "
                "ORDER BY id", [guild_id, user_id])),
            "chats_saved": list(self.db.query(
                "SELECT id, title, created_at FROM saved_chats WHERE guild_id = ? "
                "AND created_by = ? ORDER BY id", [guild_id, user_id])),
            "reminders_on_since": (self.db.execute(
                "SELECT at FROM reminder_optins WHERE guild_id = ? AND user_id = ?",
                [guild_id, user_id]).fetchone() or [None])[0],
            "reminders_sent": list(self.db.query(
                "SELECT chat_id, at, outcome FROM reminders_sent WHERE guild_id = ? AND user_id = ? "
                "ORDER BY chat_id", [guild_id, user_id])),
            "cpd_records_after_every_chat_since": (self.db.execute(
                "SELECT at FROM cpd_optins WHERE guild_id = ? AND user_id = ?",
                [guild_id, user_id]).fetchone() or [None])[0],
            "cpd_records_sent": list(self.db.query(
                "SELECT chat_id, at, outcome FROM cpd_sent WHERE guild_id = ? AND user_id = ? "
                "ORDER BY chat_id", [guild_id, user_id])),
            "reflections": list(self.db.query(
                "SELECT chat_id, learned, change, standards, updated_at FROM reflections "
                "WHERE guild_id = ? AND user_id = ? ORDER BY chat_id", [guild_id, user_id])),
            "confidentiality_nudges": list(self.db.query(
                "SELECT chat_id, at FROM nudges_sent WHERE guild_id = ? AND user_id = ? ORDER BY chat_id",
                [guild_id, user_id])),
            "series_created": list(self.db.query(
                "SELECT id, title, repeat, state FROM series WHERE guild_id = ? AND created_by = ? "
                "ORDER BY id", [guild_id, user_id])),
            "audit_log": list(self.db.query(
                "SELECT at, action, chat_id, detail FROM audit_log WHERE guild_id = ? "
                "AND actor_id = ? ORDER BY id", [guild_id, user_id])),
        }

    def member_answer_count(self, guild_id: int, user_id: int) -> int:
        """How many answers (withdrawn included) a member has stored in one server."""
        return self.db.execute("SELECT COUNT(*) FROM answers WHERE guild_id = ? AND author_id = ?",
                               [guild_id, user_id]).fetchone()[0]

    def erase_member(self, guild_id: int, user_id: int, now: datetime) -> dict[str, int]:
        """Remove everything stored about a member in one server, in one transaction:
        their answers and revisions (kept only as anonymous counts), their opt-out, and
        their id wherever it marks who did something. Other servers are untouched.
        Returns how many rows of each kind went."""
        with self.transaction():
            where = "guild_id = ? AND author_id = ?"
            erased = self._erase_answers(where, [guild_id, user_id], "member request", now)
            for table in ("optouts", "reflections", *sorted(OPT_INS | DELIVERIES)):
                erased[table] = self.db.execute(
                    f"DELETE FROM {table} WHERE guild_id = ? AND user_id = ?",
                    [guild_id, user_id]).rowcount
            self._optouts.drop(guild_id)
            for table, column in (("chats", "created_by"), ("saved_chats", "created_by"),
                                  ("series", "created_by"), ("audit_log", "actor_id")):
                erased[table] = self.db.execute(
                    f"UPDATE {table} SET {column} = NULL WHERE guild_id = ? AND {column} = ?",
                    [guild_id, user_id]).rowcount
        return erased

    def purge_answers_before(self, guild_id: int, cutoff: datetime, now: datetime) -> dict[str, int]:
        """Retention: remove a server's answers (and revisions) created before `cutoff`,
        keeping anonymous counts. Returns how many rows of each kind went."""
        with self.transaction():
            return self._erase_answers("guild_id = ? AND created_at < ?",
                                       [guild_id, to_db(cutoff)], "retention", now)

    def servers_with_retention(self) -> list[tuple[int, int]]:
        """(guild_id, retention_days) of every server that set a retention period."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT guild_id, retention_days FROM servers WHERE retention_days IS NOT NULL")]

    def erased_tallies(self, guild_id: int, chat_id: int) -> dict[int, tuple[int, int]]:
        """question -> (answers, participants) erased from a chat (anonymous counts)."""
        return {
            r[0]: (r[1], r[2]) for r in self.db.execute(
                "SELECT question, SUM(answers), SUM(participants) FROM erased_tallies "
                "WHERE guild_id = ? AND chat_id = ? GROUP BY question", [guild_id, chat_id])
        }

    def _erase_answers(self, where: str, params: list, reason: str, now: datetime) -> dict[str, int]:
        """Delete the answers matching `where` (on the answers table) with their
        revisions, tallying the visible ones per chat and question first. Call inside a
        transaction."""
        self.db.execute(
            "INSERT INTO erased_tallies (guild_id, chat_id, question, answers, participants, "
            "reason, at) SELECT guild_id, chat_id, question, COUNT(*), COUNT(DISTINCT author_id), "
            f"?, ? FROM answers WHERE {where} AND deleted_at IS NULL "
            "GROUP BY guild_id, chat_id, question",
            [reason, to_db(now), *params])
        revisions = self.db.execute(
            "DELETE FROM answer_revisions WHERE message_id IN "
            f"(SELECT message_id FROM answers WHERE {where})", params).rowcount
        answers = self.db.execute(f"DELETE FROM answers WHERE {where}", params).rowcount
        return {"answers": answers, "revisions": revisions}

