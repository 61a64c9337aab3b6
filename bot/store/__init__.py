"""The SQLite store: the schema (as numbered migrations) and every query of the bot's
database. Only this package writes SQL to it (the guidance index keeps its own
in-memory FTS database, `bot.guidance`).

It is built on sqlite-utils, runs in WAL mode, and keeps the database readable with
ordinary tools (``sqlite-utils tables tweetchat.db``). :class:`Store` is the one public
class; its methods are grouped by concern in the private modules (`_ledger`: chats and
steps; `_series`: recurring chats; `_answers`: answers as they arrive; `_members`:
opt-outs, erasure, retention; `_shown`: what transcripts and statistics count; `_cpd`:
members' CPD reflections; `_deliveries`: what is sent to members by DM, opt-ins and at
most once each; `_servers`: settings and audit). They
return the typed records of `bot.store.records` or plain rows for exports, and raise
:class:`NotFound` or :class:`WrongState` (both :class:`StoreError`) rather than doing
nothing.

Every row carries its server (``guild_id``) and every query that reads or changes a
server's data is scoped by it. The exceptions are :meth:`Store.next_due_step`, the
dispatcher's question "what is due next, anywhere?", which only returns step keys that
the caller then handles through the scoped methods, and the operator's (command line)
:meth:`Store.find_chat` and :meth:`Store.all_chats`.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlite_utils

from bot.store._answers import _Answers
from bot.store._cpd import _Cpd
from bot.store._deliveries import _Deliveries
from bot.store._health import Heartbeat, _Health
from bot.store._kept import Kept
from bot.store._leases import ShardRange, _Leases, process_owner
from bot.store._ledger import _Ledger
from bot.store._members import _Members
from bot.store._series import _Series
from bot.store._servers import _Servers
from bot.store._shown import _Shown
from bot.store.records import (
    ACTIVE_CHAT_STATES, FINISHING_ACTIONS, INTRODUCTIONS, Chat, ChatAction, ChatActionKind,
    ChatState, DueStep,
    NewAnswer, NotFound, QuestionTally, Reflection, Series, SeriesChange, SeriesState, ServerSettings, Step, StepState,
    StoreError, WrongState, from_db, to_db,
)
from bot.store.schema import migrations

__all__ = [
    "ACTIVE_CHAT_STATES", "FINISHING_ACTIONS", "INTRODUCTIONS", "Chat", "ChatAction", "ChatActionKind",
    "ChatState", "DueStep", "NewAnswer", "NotFound", "QuestionTally", "Reflection", "Series", "SeriesChange", "SeriesState",
    "ServerSettings", "ShardRange", "Step", "StepState", "process_owner",
    "Heartbeat", "Store", "StoreError", "WrongState", "from_db", "migrations", "to_db",
]


class Store(_Servers, _Ledger, _Leases, _Series, _Answers, _Members, _Shown, _Cpd, _Deliveries, _Health):
    """All reads and writes of the bot's SQLite database."""

    def __init__(self, path: str | Path, *, read_only: bool = False, beside_bot: bool = False) -> None:
        """Open (creating if needed) and migrate the database at `path` (":memory:" works).

        :param read_only: for readers beside a running bot (`tweetchat export`, `stats`):
            the file is opened read-only, nothing is migrated, and closing it never
            checkpoints, so a reader can never make the bot's writes wait or fail.
        :param beside_bot: for the operator's writing commands (`tweetchat chat pause`...):
            closing never checkpoints, so the command never holds the bot's writes back
            while it waits for the bot's readers; the bot checkpoints as it always does.
        """
        self.path = str(path)
        self._settings = Kept(self._read_settings)
        self._optouts = Kept(self._read_optouts)
        self.read_only = read_only
        self.beside_bot = beside_bot
        self._closed = False
        if read_only:
            uri = Path(self.path).resolve().as_uri() + "?mode=ro"
            self.db = sqlite_utils.Database(sqlite3.connect(uri, uri=True))
            self.db.execute("PRAGMA busy_timeout = 5000")
            return
        self.db = sqlite_utils.Database(self.path)
        # Before anything that takes a lock: another process may be opening it too.
        self.db.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            self._settle(self.db.enable_wal)
        self.db.execute("PRAGMA foreign_keys = ON")
        # Deleted rows are overwritten, not just unlinked: erased answers leave no text.
        self.db.execute("PRAGMA secure_delete = ON")
        self._settle(lambda: migrations.apply(self.db))

    @staticmethod
    def _settle(step, patience: float = 30.0) -> None:
        """Run a step of opening that another process opening the same new database at
        the same moment can make fail (switching to WAL, a migration it is applying too):
        each migration is its own transaction, so trying again once the other is done
        finds it applied. Other errors are raised at once."""
        deadline = time.monotonic() + patience
        while True:
            try:
                step()
                return
            except sqlite3.OperationalError as exc:
                if time.monotonic() > deadline or not any(
                        word in str(exc) for word in ("locked", "busy", "already exists")):
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        """Checkpoint the WAL (the bot's own store only) and close the connection (a
        second call does nothing)."""
        if self._closed:
            return
        if self.path != ":memory:" and not self.read_only and not self.beside_bot:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()
        self._closed = True

    def scrub(self) -> bool:
        """After an erasure: copy the WAL into the database and empty it, so deleted text
        is in no file on disk (with ``secure_delete`` the database pages are overwritten;
        this removes the WAL's older copies). False if a reader kept the WAL busy: the
        next scrub, or the next clean shutdown, finishes it."""
        if self.path == ":memory:":
            return True
        if self.beside_bot:
            # Never hold the running bot's writes back: copy what can be copied now; the
            # bot's own next full checkpoint (its next scrub, or shutdown) empties the WAL.
            busy, log_frames, copied = self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return busy == 0 and log_frames == copied
        busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    def schema_version(self) -> list[str]:
        """Names of the applied migrations, oldest first."""
        return [m.name for m in migrations.applied(self.db)]
