"""What the bot sends members privately, by DM: who asked for it (reminders, CPD records
after every chat) and who was sent what for which chat (reminders, CPD records,
confidentiality nudges), never any text.

Every kind works the same way, so one set of queries serves them all: an opt-in is a row
per member; a delivery is a row per member per chat, written *before* the DM goes
(``claim``), so a member gets each at most once even across a crash, with its outcome
written after ("sent", "dms closed"...), or the claim given back for a passing refusal so
a retry sends it.
"""

from __future__ import annotations

from datetime import datetime

from bot.store._base import StoreBase
from bot.store.records import to_db

OPT_INS = frozenset({"reminder_optins", "cpd_optins"})
DELIVERIES = frozenset({"reminders_sent", "cpd_sent", "nudges_sent"})


class _Deliveries(StoreBase):
    # -- one mechanism ---------------------------------------------------------------------

    def _set_opt_in(self, table: str, guild_id: int, user_id: int, on: bool, now: datetime) -> None:
        assert table in OPT_INS
        if on:
            self.db.execute(f"INSERT OR IGNORE INTO {table} (guild_id, user_id, at) VALUES (?, ?, ?)",
                            [guild_id, user_id, to_db(now)])
        else:
            self.db.execute(f"DELETE FROM {table} WHERE guild_id = ? AND user_id = ?", [guild_id, user_id])

    def _opted_in(self, table: str, guild_id: int) -> set[int]:
        assert table in OPT_INS
        return {r[0] for r in self.db.execute(f"SELECT user_id FROM {table} WHERE guild_id = ?", [guild_id])}

    def _claim(self, table: str, guild_id: int, chat_id: int, user_id: int, now: datetime) -> bool:
        assert table in DELIVERIES
        return self.db.execute(
            f"INSERT OR IGNORE INTO {table} (guild_id, chat_id, user_id, at) VALUES (?, ?, ?, ?)",
            [guild_id, chat_id, user_id, to_db(now)]).rowcount == 1

    def _outcome(self, table: str, guild_id: int, chat_id: int, user_id: int, outcome: str | None) -> None:
        assert table in DELIVERIES
        where = "guild_id = ? AND chat_id = ? AND user_id = ?"
        if outcome is None:
            self.db.execute(f"DELETE FROM {table} WHERE {where}", [guild_id, chat_id, user_id])
        else:
            self.db.execute(f"UPDATE {table} SET outcome = ? WHERE {where}",
                            [outcome, guild_id, chat_id, user_id])

    def _outcomes(self, table: str, guild_id: int, chat_id: int) -> dict[int, str | None]:
        assert table in DELIVERIES and table != "nudges_sent"
        return {r[0]: r[1] for r in self.db.execute(
            f"SELECT user_id, outcome FROM {table} WHERE guild_id = ? AND chat_id = ?", [guild_id, chat_id])}

    # -- reminders -------------------------------------------------------------------------

    def set_reminder_optin(self, guild_id: int, user_id: int, on: bool, now: datetime) -> None:
        """A member turns DM reminders of this server's chats on or off."""
        self._set_opt_in("reminder_optins", guild_id, user_id, on, now)

    def reminder_optins(self, guild_id: int) -> set[int]:
        """The members of a server who turned reminders on."""
        return self._opted_in("reminder_optins", guild_id)

    def claim_reminder(self, guild_id: int, chat_id: int, user_id: int, now: datetime) -> bool:
        """Note that a member is being reminded of a chat; False if they were already."""
        return self._claim("reminders_sent", guild_id, chat_id, user_id, now)

    def reminder_outcome(self, guild_id: int, chat_id: int, user_id: int, outcome: str | None) -> None:
        """What became of a claimed reminder; None gives the claim back."""
        self._outcome("reminders_sent", guild_id, chat_id, user_id, outcome)

    def reminders_sent(self, guild_id: int, chat_id: int) -> dict[int, str | None]:
        """member id -> outcome of each reminder of a chat."""
        return self._outcomes("reminders_sent", guild_id, chat_id)

    # -- CPD records -----------------------------------------------------------------------

    def set_cpd_optin(self, guild_id: int, user_id: int, on: bool, now: datetime) -> None:
        """A member asks for (or stops) a CPD record by DM after every chat they take part in."""
        self._set_opt_in("cpd_optins", guild_id, user_id, on, now)

    def cpd_optins(self, guild_id: int) -> set[int]:
        return self._opted_in("cpd_optins", guild_id)

    def claim_cpd_record(self, guild_id: int, chat_id: int, user_id: int, now: datetime) -> bool:
        """Note that a member's record of a chat is being sent; False if it was already."""
        return self._claim("cpd_sent", guild_id, chat_id, user_id, now)

    def cpd_record_outcome(self, guild_id: int, chat_id: int, user_id: int, outcome: str | None) -> None:
        """"sent", "dms closed"...; None gives the claim back (to be tried again)."""
        self._outcome("cpd_sent", guild_id, chat_id, user_id, outcome)

    def cpd_sent(self, guild_id: int, chat_id: int) -> dict[int, str | None]:
        """member id -> outcome of each record sent for a chat."""
        return self._outcomes("cpd_sent", guild_id, chat_id)

    # -- confidentiality nudges -------------------------------------------------------------

    def claim_nudge(self, guild_id: int, chat_id: int, user_id: int, now: datetime) -> bool:
        """Note that a member is nudged in a chat; False if they were already (once per chat)."""
        return self._claim("nudges_sent", guild_id, chat_id, user_id, now)

    def nudges_sent(self, guild_id: int, chat_id: int) -> set[int]:
        return {r[0] for r in self.db.execute(
            "SELECT user_id FROM nudges_sent WHERE guild_id = ? AND chat_id = ?", [guild_id, chat_id])}
