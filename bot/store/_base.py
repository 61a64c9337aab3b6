"""The connection the store's parts share, and the checked single-row update."""

from __future__ import annotations

import contextlib
from typing import Iterator

import sqlite_utils

from bot.store.records import NotFound, WrongState


class StoreBase:
    """What every part of :class:`bot.store.Store` builds on."""

    db: sqlite_utils.Database
    _batching = False  # inside batch() (set per instance while one runs)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all. The write lock is taken at
        the start (BEGIN IMMEDIATE), waiting out the busy timeout: a transaction that read
        first and wrote later could be refused at once, without waiting, when another
        process (the operator's command line, a second bot) wrote in between. Nested, it
        is a savepoint."""
        conn = self.db.conn
        if conn.in_transaction:
            if self._batching:
                yield  # inside batch(): all or nothing already, no savepoint per write
                return
            with self.db.atomic():
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        else:
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """A transaction for many writes that stand or fall together (the answer writer's
        batch, retried one event at a time if it fails): the writes inside it make no
        savepoint each (6 of the 35 µs an answer takes), and its commit does not wait for
        the disk (:meth:`not_synced`): answers lost to a power cut are read back from
        Discord by the backfill after the restart."""
        with self.not_synced(), self.transaction():
            self._batching = True
            try:
                yield
            finally:
                self._batching = False

    @contextlib.contextmanager
    def not_synced(self) -> Iterator[None]:
        """Commits inside need not reach the disk before going on: SQLite's
        ``synchronous=NORMAL`` in WAL mode (the database stays whole after any crash; a
        power cut or OS crash, not the process dying, may lose the last commits), 15 µs
        a commit here instead of 250. Only for writes whose loss something else makes
        good; inside a transaction already begun it changes nothing."""
        if self.db.conn.in_transaction:
            yield
            return
        self.db.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            self.db.execute("PRAGMA synchronous = FULL")

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
