"""Series: recurring chats, the chats their occurrences take, and changes to one occurrence."""

from __future__ import annotations

import json
from datetime import date, datetime

from bot.chat.definition import ChatDefinition
from bot.store._base import StoreBase
from bot.store.records import (
    Chat, NotFound, Series, SeriesChange, SeriesState, _chat, _series, to_db,
)


class _Series(StoreBase):
    def create_series(
        self, *, guild_id: int, channel_id: int, repeat: str, first_local: datetime,
        timezone_name: str, count: int | None, until: date | None, mode: str,
        interval_minutes: float | None, definitions: list[ChatDefinition],
        created_by: int | None, now: datetime,
    ) -> Series:
        """Record a series and its chats (one, or a queue in order) in one transaction."""
        with self.transaction():
            series_id = self.db["series"].insert({
                "guild_id": guild_id, "channel_id": channel_id, "title": definitions[0].title,
                "repeat": repeat, "first_local": first_local.replace(tzinfo=None).isoformat(),
                "timezone": timezone_name, "count": count,
                "until": until.isoformat() if until else None, "mode": mode,
                "interval_minutes": interval_minutes, "state": SeriesState.ACTIVE.value,
                "created_by": created_by, "created_at": to_db(now),
            }).last_pk
            for definition in definitions:
                self.add_series_chat(guild_id, series_id, definition, now)
        return self.series(guild_id, series_id)

    def series(self, guild_id: int, series_id: int) -> Series:
        """One series of a server; NotFound if there is none."""
        rows = list(self.db.query("SELECT * FROM series WHERE guild_id = ? AND id = ?",
                                  [guild_id, series_id]))
        if not rows:
            raise NotFound(f"there is no series #{series_id} in this server")
        return _series(rows[0])

    def series_list(self, guild_id: int, states: tuple[SeriesState, ...] | None = None) -> list[Series]:
        """A server's series, oldest first, optionally only those in `states`."""
        sql, params = "SELECT * FROM series WHERE guild_id = ?", [guild_id]
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            params += [SeriesState(s).value for s in states]
        return [_series(r) for r in self.db.query(sql + " ORDER BY id", params)]

    def active_series_keys(self) -> list[tuple[int, int]]:
        """(guild_id, series id) of every active series, in every server (the
        dispatcher tops them up at start)."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT guild_id, id FROM series WHERE state = 'active' ORDER BY id")]

    def set_series_state(self, guild_id: int, series_id: int, state: SeriesState,
                         now: datetime) -> None:
        self._update_one(
            "series", guild_id, series_id,
            "UPDATE series SET state = ?, ended_at = ? WHERE guild_id = ? AND id = ?",
            [SeriesState(state).value, to_db(now), guild_id, series_id], expected="in this server")

    def add_series_chat(self, guild_id: int, series_id: int, definition: ChatDefinition,
                        now: datetime) -> int:
        """Put a chat at the end of a series' queue; returns its position (0 is first)."""
        position = self.db.execute(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM series_chats WHERE series_id = ?",
            [series_id]).fetchone()[0]
        self.db["series_chats"].insert({
            "guild_id": guild_id, "series_id": series_id, "position": position,
            "definition": json.dumps(definition.to_dict(), ensure_ascii=False),
            "added_at": to_db(now)})
        return position

    def series_chats(self, guild_id: int, series_id: int) -> list[ChatDefinition]:
        """The chats of a series, in queue order."""
        return [ChatDefinition.from_dict(json.loads(r[0])) for r in self.db.execute(
            "SELECT definition FROM series_chats WHERE guild_id = ? AND series_id = ? "
            "ORDER BY position", [guild_id, series_id])]

    def set_series_change(self, guild_id: int, series_id: int, occurrence: int, *,
                          skipped: bool, definition: ChatDefinition | None, now: datetime) -> None:
        """Skip one occurrence, or swap another chat in for it (replacing an earlier change)."""
        self.db["series_changes"].upsert({
            "guild_id": guild_id, "series_id": series_id, "occurrence": occurrence,
            "skipped": int(skipped),
            "definition": json.dumps(definition.to_dict(), ensure_ascii=False) if definition else None,
            "at": to_db(now)}, pk=("series_id", "occurrence"))

    def series_changes(self, guild_id: int, series_id: int) -> dict[int, SeriesChange]:
        """occurrence -> the change a moderator made to it."""
        return {r[0]: SeriesChange(r[0], bool(r[1]),
                                   ChatDefinition.from_dict(json.loads(r[2])) if r[2] else None)
                for r in self.db.execute(
                    "SELECT occurrence, skipped, definition FROM series_changes "
                    "WHERE guild_id = ? AND series_id = ?", [guild_id, series_id])}

    def series_occurrence_chats(self, guild_id: int, series_id: int) -> list[Chat]:
        """Every chat made for a series (cancelled ones too), by occurrence then id."""
        return [_chat(r) for r in self.db.query(
            "SELECT * FROM chats WHERE guild_id = ? AND series_id = ? ORDER BY occurrence, id",
            [guild_id, series_id])]
