"""Which process dispatches which shard's servers: leases that expire unless renewed.

Discord assigns each server to a shard, ``(guild_id >> 22) % shard_count``. Each bot
process has its home shards; it holds a lease on each shard it dispatches and renews its
leases every few seconds. It takes any shard nobody holds or whose holder's lease ran out
(a dead process's chats carry on), and asks for a home shard another process holds; a
process holding a shard that is another live process's home hands it back when asked. An
owner is ``host:pid``: a restarted process on the same machine whose predecessor is gone
takes its leases at once instead of waiting for them to expire.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store._base import StoreBase
from bot.store.records import from_db, to_db


def process_owner() -> str:
    """This process's name in the leases: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(owner: str) -> bool:
    """Whether `owner` is a process of this machine that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True  # our own name from before a restart (a container's pid 1): ours now
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class ShardRange:
    """The shards a process calls home, out of how many."""

    home: frozenset[int]
    count: int

    @classmethod
    def single(cls) -> "ShardRange":
        return cls(frozenset({0}), 1)


class _Leases(StoreBase):
    def hold_shards(self, owner: str, shards: ShardRange, now: datetime,
                    lease: timedelta) -> frozenset[int]:
        """Renew `owner`'s leases, take what it may (see the module docstring) and return
        the shards it holds now. The usual renewal, with nothing to take or give, is one
        statement; anything else is decided again and done in one transaction."""
        until = to_db(now + lease)
        with self.not_synced():  # a renewal lost to a power cut only makes a lease look expired
            held, changes = _plan(owner, shards, now, self._leases())
            if not changes:
                renewed = self.db.execute("UPDATE dispatch_leases SET until = ? WHERE owner = ?",
                                          [until, owner])
                if renewed.rowcount == len(held):
                    return held
            with self.transaction():
                held, changes = _plan(owner, shards, now, self._leases())
                for sql, params in changes:
                    self.db.execute(sql, params)
                self.db.execute("UPDATE dispatch_leases SET until = ? WHERE owner = ?", [until, owner])
            return held

    def _leases(self) -> dict[int, dict]:
        return {r["shard"]: r for r in self.db.query("SELECT * FROM dispatch_leases")}

    def release_shards(self, owner: str) -> None:
        """Give up every lease of `owner` (a clean shutdown): others may take them at once."""
        with self.transaction():
            self.db.execute("DELETE FROM dispatch_leases WHERE owner = ?", [owner])


def _plan(owner: str, shards: ShardRange, now: datetime,
          rows: dict[int, dict]) -> tuple[frozenset[int], list[tuple[str, list]]]:
    """The shards `owner` will hold, and the changes (SQL, parameters) that take, ask for
    or hand back shards; renewing the ones it keeps is left to the caller."""
    held: set[int] = set()
    changes: list[tuple[str, list]] = []
    for shard in range(shards.count):
        row = rows.get(shard)
        home = shard in shards.home
        if row is None:  # nobody holds it: take it (its home process may ask for it)
            changes.append(("INSERT INTO dispatch_leases (shard, owner, until) VALUES (?, ?, ?)",
                            [shard, owner, to_db(now)]))
            held.add(shard)
            continue
        ours = row["owner"] == owner
        if ours and row["wanted_by"] and row["wanted_by"] != owner and not home:
            # Its home process is back and asks for it: hand it over.
            changes.append(("UPDATE dispatch_leases SET owner = '', until = ?, wanted_by = NULL "
                            "WHERE shard = ?", [to_db(now), shard]))
        elif ours:
            held.add(shard)
        elif from_db(row["until"]) <= now or _gone(row["owner"]):  # its holder's lease ran out
            changes.append(("UPDATE dispatch_leases SET owner = ?, wanted_by = CASE WHEN wanted_by = ? "
                            "THEN NULL ELSE wanted_by END WHERE shard = ?", [owner, owner, shard]))
            held.add(shard)
        elif home and row["wanted_by"] != owner:
            changes.append(("UPDATE dispatch_leases SET wanted_by = ? WHERE shard = ?", [owner, shard]))
    return frozenset(held), changes
