"""Server settings and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store._base import StoreBase
from bot.store._kept import Kept
from bot.store.records import ServerSettings, StoreError, to_db


class _Servers(StoreBase):
    # Read for every arriving message (is the confidentiality nudge on?) and every post.
    _settings: Kept[ServerSettings]

    def server_settings(self, guild_id: int) -> ServerSettings:
        """A server's settings (defaults for a server never configured); kept briefly
        (bot.store._kept)."""
        return self._settings.get(guild_id)

    def _read_settings(self, guild_id: int) -> ServerSettings:
        rows = list(self.db.query("SELECT * FROM servers WHERE guild_id = ?", [guild_id]))
        if not rows:
            return ServerSettings(guild_id)
        r = rows[0]
        return ServerSettings(
            guild_id=r["guild_id"], timezone=r["timezone"], host_role_id=r["host_role_id"],
            catch_up=r["catch_up"], reminder_lead_minutes=r["reminder_lead_minutes"],
            archive_threads=bool(r["archive_threads"]), retention_days=r["retention_days"],
            share_record=bool(r["share_record"]), reminder_role_id=r["reminder_role_id"],
            confidentiality_nudge=bool(r["confidentiality_nudge"]),
        )

    def update_server_settings(self, guild_id: int, now: datetime, **changes: Any) -> ServerSettings:
        """Change some of a server's settings; unknown names raise StoreError."""
        allowed = {"timezone", "host_role_id", "catch_up", "reminder_lead_minutes",
                   "archive_threads", "retention_days", "share_record", "reminder_role_id",
                   "confidentiality_nudge"}
        unknown = set(changes) - allowed
        if unknown:
            raise StoreError(f"unknown server settings: {', '.join(sorted(unknown))}")
        current = self._read_settings(guild_id).__dict__ | changes
        for flag in ("archive_threads", "share_record", "confidentiality_nudge"):
            current[flag] = int(bool(current[flag]))
        self.db["servers"].upsert({**current, "updated_at": to_db(now)}, pk="guild_id")
        self._settings.drop(guild_id)
        # Read, not kept: inside a transaction that rolls back, this is not yet the truth.
        return self._read_settings(guild_id)


    def audit(
        self, guild_id: int, action: str, *, at: datetime, actor_id: int | None = None,
        chat_id: int | None = None, detail: str = "",
    ) -> None:
        """Append a line to the server's audit log (who did what, never deleted content)."""
        self.db["audit_log"].insert(
            {"guild_id": guild_id, "at": to_db(at), "actor_id": actor_id, "action": action,
             "chat_id": chat_id, "detail": detail}
        )

    def last_audit_id(self) -> int:
        row = self.db.execute("SELECT MAX(id) FROM audit_log").fetchone()
        return row[0] or 0

    def operator_changes_since(self, audit_id: int) -> list[tuple[int, int, int, str]]:
        """(audit id, server, chat, action) of chat changes made from the command line
        (no acting member) after `audit_id`, oldest first."""
        return [tuple(r) for r in self.db.execute(
            "SELECT id, guild_id, chat_id, action FROM audit_log WHERE id > ? AND actor_id IS NULL "
            "AND chat_id IS NOT NULL ORDER BY id", [audit_id]).fetchall()]

    def audit_log(self, guild_id: int, limit: int = 50) -> list[dict]:
        return list(
            self.db.query(
                "SELECT at, actor_id, action, chat_id, detail FROM audit_log WHERE guild_id = ? "
                "ORDER BY id DESC LIMIT ?",
                [guild_id, limit],
            )
        )

