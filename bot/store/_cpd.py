"""Members' CPD reflections (private to each member) and what a record is built from.
Who asked for records and who was sent one are in `_deliveries`."""

from __future__ import annotations

from datetime import datetime

from bot.store._base import StoreBase
from bot.store.records import Reflection, from_db, to_db


class _Cpd(StoreBase):
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
