"""The connection the store's parts share, and the checked single-row update."""

from __future__ import annotations

import sqlite_utils

from bot.store.records import NotFound, WrongState


class StoreBase:
    """What every part of :class:`bot.store.Store` builds on."""

    db: sqlite_utils.Database

    def transaction(self):
        """A context manager: everything inside commits together or not at all."""
        return self.db.atomic()

    def _update_one(self, table: str, guild_id: int, row_id: int, sql: str, params: list,
                    *, expected: str) -> None:
        """Run an UPDATE meant to change the one row `row_id` of `table` in a server.

        :param expected: the state the row had to be in, for the error ("a claimed step").
        :raises NotFound: no such row in this server.
        :raises WrongState: the row exists but the UPDATE's conditions did not match.
        """
        if self.db.execute(sql, params).rowcount == 1:
            return
        exists = self.db.execute(f"SELECT 1 FROM {table} WHERE guild_id = ? AND id = ?",
                                 [guild_id, row_id]).fetchone()
        noun = table.rstrip("s")
        if exists is None:
            raise NotFound(f"there is no {noun} #{row_id} in this server")
        raise WrongState(f"{noun} #{row_id} is not {expected}; nothing was changed")
