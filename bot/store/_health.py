"""What the running bot and the command line tell each other through the database: the
bot's heartbeat (read by `tweetchat health`) and the ledger version (bumped by operator
commands, watched by the bot)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime

from bot.store._base import StoreBase
from bot.store.records import from_db, to_db


@dataclass(frozen=True)
class Heartbeat:
    pid: int
    host: str
    at: datetime
    started_at: datetime
    gateway_ok: bool
    gateway_at: datetime | None
    dispatcher_alive: bool
    dispatcher_restarts: int


class _Health(StoreBase):
    def ledger_version(self) -> int:
        """A number that changes whenever another process changed the ledger."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'ledger_version'").fetchone()
        return row[0] if row else 0

    def bump_ledger_version(self) -> None:
        """Tell a running bot (another process) that the ledger changed under it."""
        self.db.execute("UPDATE meta SET value = value + 1 WHERE key = 'ledger_version'")

    def beat(self, *, now: datetime, started_at: datetime, gateway_ok: bool,
             dispatcher_alive: bool, dispatcher_restarts: int) -> None:
        """Record that this process is alive, and how its gateway and dispatcher are."""
        pid = os.getpid()
        previous = self.db.execute("SELECT gateway_at FROM heartbeats WHERE pid = ?", [pid]).fetchone()
        gateway_at = to_db(now) if gateway_ok else (previous[0] if previous else None)
        with self.transaction():
            self.db["heartbeats"].upsert({
                "pid": pid, "host": socket.gethostname(), "at": to_db(now),
                "started_at": to_db(started_at), "gateway_ok": int(gateway_ok),
                "gateway_at": gateway_at, "dispatcher_alive": int(dispatcher_alive),
                "dispatcher_restarts": dispatcher_restarts,
            }, pk="pid")
            # Rows of processes long gone (a restart gets a new pid) are not news.
            self.db.execute("DELETE FROM heartbeats WHERE pid != ? AND at < ?",
                            [pid, to_db(started_at)])

    def latest_heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat of any process (None before a bot of this version ran)."""
        if not self.db["heartbeats"].exists():
            return None
        row = self.db.execute(
            "SELECT pid, host, at, started_at, gateway_ok, gateway_at, dispatcher_alive, "
            "dispatcher_restarts FROM heartbeats ORDER BY at DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return Heartbeat(row[0], row[1], from_db(row[2]), from_db(row[3]), bool(row[4]),
                         from_db(row[5]), bool(row[6]), row[7] or 0)
