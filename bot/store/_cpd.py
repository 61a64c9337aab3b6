"""Members' CPD records (opt-ins, records sent, reflections: private to each member) and
the confidentiality nudges sent (who, in which chat; never any text)."""

from __future__ import annotations

from datetime import datetime

from bot.store._base import StoreBase
from bot.store.records import Reflection, from_db, to_db


class _Cpd(StoreBase):
    def set_cpd_optin(self, guild_id: int, user_id: int, on: bool, now: datetime) -> None:
        """A member asks for (or stops) a CPD record by DM after every chat they take part in."""
        if on:
            self.db.execute("INSERT OR IGNORE INTO cpd_optins (guild_id, user_id, at) VALUES (?, ?, ?)",
                            [guild_id, user_id, to_db(now)])
        else:
            self.db.execute("DELETE FROM cpd_optins WHERE guild_id = ? AND user_id = ?",
                            [guild_id, user_id])

    def cpd_optins(self, guild_id: int) -> set[int]:
        return {r[0] for r in self.db.execute(
            "SELECT user_id FROM cpd_optins WHERE guild_id = ?", [guild_id])}

    def claim_cpd_record(self, guild_id: int, chat_id: int, user_id: int, now: datetime) -> bool:
        """Note that a member's record of a chat is being sent; False if it was already."""
        return self.db.execute(
            "INSERT OR IGNORE INTO cpd_sent (guild_id, chat_id, user_id, at) VALUES (?, ?, ?, ?)",
            [guild_id, chat_id, user_id, to_db(now)]).rowcount == 1

    def cpd_record_outcome(self, guild_id: int, chat_id: int, user_id: int, outcome: str | None) -> None:
        """"sent", "dms closed"...; None gives the claim back (to be tried again)."""
        if outcome is None:
            self.db.execute("DELETE FROM cpd_sent WHERE guild_id = ? AND chat_id = ? AND user_id = ?",
                            [guild_id, chat_id, user_id])
        else:
            self.db.execute("UPDATE cpd_sent SET outcome = ? WHERE guild_id = ? AND chat_id = ? "
                            "AND user_id = ?", [outcome, guild_id, chat_id, user_id])

    def cpd_sent(self, guild_id: int, chat_id: int) -> dict[int, str | None]:
        """member id -> outcome of each record sent for a chat."""
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT user_id, outcome FROM cpd_sent WHERE guild_id = ? AND chat_id = ?",
            [guild_id, chat_id])}

    def set_reflection(self, guild_id: int, chat_id: int, user_id: int, *, learned: str,
                       change: str, standards: str, now: datetime) -> None:
        """Write (or rewrite) a member's reflection on a chat."""
        self.db["reflections"].upsert({
            "guild_id": guild_id, "chat_id": chat_id, "user_id": user_id, "learned": learned,
            "change": change, "standards": standards, "updated_at": to_db(now)},
            pk=("chat_id", "user_id"))

    def reflection(self, guild_id: int, chat_id: int, user_id: int) -> Reflection | None:
        """A member's reflection on a chat, or None."""
        row = self.db.execute(
            "SELECT learned, change, standards, updated_at FROM reflections WHERE guild_id = ? "
            "AND chat_id = ? AND user_id = ?", [guild_id, chat_id, user_id]).fetchone()
        return Reflection(row[0], row[1], row[2], from_db(row[3])) if row else None

    def chats_answered_by(self, guild_id: int, user_id: int) -> list[int]:
        """The chats of a server in which a member has an answer or introduction they did
        not withdraw, oldest first."""
        return [r[0] for r in self.db.execute(
            "SELECT a.chat_id FROM answers a JOIN chats c ON c.id = a.chat_id "
            "WHERE a.guild_id = ? AND a.author_id = ? AND a.deleted_at IS NULL "
            "GROUP BY a.chat_id ORDER BY MIN(c.start_at)", [guild_id, user_id])]

    def revision_count(self, guild_id: int, message_id: int) -> int:
        """How many times an answer was edited after it was first stored."""
        return self.db.execute(
            "SELECT COUNT(*) FROM answer_revisions WHERE guild_id = ? AND message_id = ? AND version > 0",
            [guild_id, message_id]).fetchone()[0]

    def claim_nudge(self, guild_id: int, chat_id: int, user_id: int, now: datetime) -> bool:
        """Note that a member is nudged in a chat; False if they were already (once per chat)."""
        return self.db.execute(
            "INSERT OR IGNORE INTO nudges_sent (guild_id, chat_id, user_id, at) VALUES (?, ?, ?, ?)",
            [guild_id, chat_id, user_id, to_db(now)]).rowcount == 1

    def nudges_sent(self, guild_id: int, chat_id: int) -> set[int]:
        return {r[0] for r in self.db.execute(
            "SELECT user_id FROM nudges_sent WHERE guild_id = ? AND chat_id = ?", [guild_id, chat_id])}
