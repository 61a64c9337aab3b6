"""Chats, their step ledger (what the dispatcher claims and marks posted) and saved chats."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Collection, Iterable

from bot.chat.definition import ChatDefinition
from bot.chat.timeline import PlannedStep
from bot.store._leases import ShardRange
from bot.store.schema import READY_AT
from bot.store._base import StoreBase
from bot.store.records import (
    Chat, ChatAction, ChatActionKind, ChatState, DueStep, NotFound, Step, StepState, _action,
    _chat, _step, from_db, to_db,
)


# A row's server is in one of the shards asked for (:count shards, :shards a JSON list).
IN_SHARDS = "(:count = 1 OR ((guild_id >> 22) % :count) IN (SELECT value FROM json_each(:shards)))"

# The next pieces of due work (see _Ledger.due_work); each branch walks its own index.
DUE_WORK = f"""
SELECT * FROM (
    SELECT guild_id, id, chat_id, {READY_AT} AS at, 'post' AS action
      FROM steps INDEXED BY idx_steps_ready
     WHERE state = 'pending' AND {IN_SHARDS}
       AND (SELECT state FROM chats WHERE chats.id = steps.chat_id) IN ('scheduled', 'running')
       AND NOT EXISTS (SELECT 1 FROM steps e WHERE e.chat_id = steps.chat_id
                          AND e.seq < steps.seq AND e.state IN ('pending', 'claimed'))
     ORDER BY {READY_AT}, id LIMIT :limit)
UNION ALL
SELECT * FROM (
    SELECT guild_id, id, chat_id, thread_retry_at AS at, 'thread' AS action
      FROM steps INDEXED BY idx_steps_thread_retry
     WHERE state = 'posted' AND thread_retry_at IS NOT NULL AND {IN_SHARDS}
     ORDER BY thread_retry_at, id LIMIT :limit)
UNION ALL
SELECT * FROM (
    SELECT guild_id, id, chat_id, {READY_AT} AS at, 'chat action' AS action
      FROM chat_actions INDEXED BY idx_chat_actions_ready
     WHERE state = 'pending' AND {IN_SHARDS}
       AND NOT EXISTS (SELECT 1 FROM chat_actions e WHERE e.chat_id = chat_actions.chat_id
                          AND e.id < chat_actions.id AND e.state IN ('pending', 'claimed'))
     ORDER BY {READY_AT}, id LIMIT :limit)
ORDER BY at, id
LIMIT :limit
"""


class _Ledger(StoreBase):
    def create_chat(
        self, *, guild_id: int, channel_id: int, definition: ChatDefinition, start_at: datetime,
        timezone_name: str, steps: Iterable[PlannedStep], created_by: int | None, now: datetime,
        series_id: int | None = None, occurrence: int | None = None,
    ) -> Chat:
        """Record a scheduled chat and its whole step ledger in one transaction (with
        `series_id` and `occurrence` for an occurrence of a series: a second live chat
        for the same occurrence is refused by the database)."""
        with self.transaction():
            chat_id = self.db["chats"].insert(
                {
                    "guild_id": guild_id,
                    "channel_id": channel_id,
                    "title": definition.title,
                    "definition": json.dumps(definition.to_dict(), ensure_ascii=False),
                    "start_at": to_db(start_at),
                    "timezone": timezone_name,
                    "state": ChatState.SCHEDULED.value,
                    "created_by": created_by,
                    "created_at": to_db(now),
                    "series_id": series_id,
                    "occurrence": occurrence,
                }
            ).last_pk
            self.db["steps"].insert_all(
                {
                    "guild_id": guild_id,
                    "chat_id": chat_id,
                    "seq": s.seq,
                    "kind": s.kind.value,
                    "question": s.question,
                    "due_at": to_db(s.due),
                    "state": StepState.PENDING.value,
                    # Discord nonces are at most 25 characters; this is unique per step.
                    "nonce": f"tc{chat_id}s{s.seq}",
                    "attempts": 0,
                }
                for s in steps
            )
        return self.chat(guild_id, chat_id)

    def chat(self, guild_id: int, chat_id: int) -> Chat:
        """One chat of a server; StoreError if it does not exist there."""
        rows = list(
            self.db.query("SELECT * FROM chats WHERE guild_id = ? AND id = ?", [guild_id, chat_id])
        )
        if not rows:
            raise NotFound(f"there is no chat #{chat_id} in this server")
        return _chat(rows[0])

    def chats(
        self, guild_id: int, states: Iterable[ChatState] | None = None, limit: int = 100
    ) -> list[Chat]:
        """A server's chats, soonest start first, optionally only those in `states`."""
        sql, params = "SELECT * FROM chats WHERE guild_id = ?", [guild_id]
        if states is not None:
            states = [ChatState(s).value for s in states]
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            params += states
        sql += " ORDER BY start_at, id LIMIT ?"
        return [_chat(r) for r in self.db.query(sql, [*params, limit])]

    def set_chat_state(
        self, guild_id: int, chat_id: int, state: ChatState, *, paused_at: datetime | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """Move a chat to `state` (NotFound if it is not in this server)."""
        self._update_one(
            "chats", guild_id, chat_id,
            "UPDATE chats SET state = ?, paused_at = ?, ended_at = COALESCE(?, ended_at) "
            "WHERE guild_id = ? AND id = ?",
            [ChatState(state).value, to_db(paused_at), to_db(ended_at), guild_id, chat_id],
            expected="in this server",
        )

    def set_chat_discord_ids(
        self, guild_id: int, chat_id: int, *, scheduled_event_id: int | None = None,
        announcement_message_id: int | None = None,
    ) -> None:
        """Remember the Discord scheduled event and announcement made for a chat."""
        self._update_one(
            "chats", guild_id, chat_id,
            "UPDATE chats SET scheduled_event_id = COALESCE(?, scheduled_event_id), "
            "announcement_message_id = COALESCE(?, announcement_message_id) "
            "WHERE guild_id = ? AND id = ?",
            [scheduled_event_id, announcement_message_id, guild_id, chat_id],
            expected="in this server",
        )

    def steps(self, guild_id: int, chat_id: int) -> list[Step]:
        """The step ledger of a chat, in posting order."""
        return [
            _step(r)
            for r in self.db.query(
                "SELECT * FROM steps WHERE guild_id = ? AND chat_id = ? ORDER BY seq",
                [guild_id, chat_id],
            )
        ]

    def step(self, guild_id: int, step_id: int) -> Step:
        rows = list(
            self.db.query("SELECT * FROM steps WHERE guild_id = ? AND id = ?", [guild_id, step_id])
        )
        if not rows:
            raise NotFound(f"there is no step #{step_id} in this server")
        return _step(rows[0])

    def next_due_step(self) -> DueStep | None:
        """The earliest work for the dispatcher across all servers: a pending step of a
        scheduled or running chat, a posted question whose thread is still to open, or a
        pending chat action (Event, archiving, record)."""
        found = self.due_work(1)
        return found[0] if found else None

    def due_work(self, limit: int, shards: ShardRange | None = None,
                 held: Collection[int] | None = None) -> list[DueStep]:
        """The `limit` earliest pieces of work (see :meth:`next_due_step`), earliest first,
        of the servers in shards `held` out of ``shards.count`` (default: all).

        Each branch walks its own index (schema.READY_AT) in order and stops after `limit`
        rows that qualify, so the cost follows the work asked for, not the size of the
        ledger. Steps of one chat go out in order: a step is work only when no earlier step
        of its chat is still to post (and likewise a chat's actions)."""
        rows = self.db.execute(DUE_WORK, {"limit": limit, **_shard_params(shards, held)}).fetchall()
        return [DueStep(guild_id, item_id, from_db(at), action, chat_id)
                for guild_id, item_id, chat_id, at, action in rows]

    def claimed_steps(self, shards: ShardRange | None = None,
                      held: Collection[int] | None = None) -> list[tuple[int, int]]:
        """(guild_id, step_id) of steps left claimed (a crash hit while posting them), of
        the servers in shards `held` (default: all)."""
        return [(r[0], r[1]) for r in self.db.execute(
            f"SELECT guild_id, id FROM steps WHERE state = 'claimed' AND {IN_SHARDS} ORDER BY due_at, id",
            _shard_params(shards, held))]

    def claim_step(self, guild_id: int, step_id: int, now: datetime) -> bool:
        """Mark a pending step as being posted. False if it was not pending (someone
        else took it, or a moderator changed it meanwhile)."""
        cursor = self.db.execute(
            "UPDATE steps SET state = 'claimed', claimed_at = ?, attempts = attempts + 1 "
            "WHERE guild_id = ? AND id = ? AND state = 'pending'",
            [to_db(now), guild_id, step_id],
        )
        return cursor.rowcount == 1

    def mark_posted(
        self, guild_id: int, step_id: int, *, message_id: int, posted_at: datetime,
        late_seconds: float | None, needs_thread: bool,
    ) -> None:
        """A claimed step is on Discord. A question is marked for its thread right away.
        WrongState if the step is no longer claimed (a moderator skipped it meanwhile)."""
        self._update_one(
            "steps", guild_id, step_id,
            "UPDATE steps SET state = 'posted', message_id = ?, posted_at = ?, late_seconds = ?, "
            "thread_retry_at = ?, last_error = NULL WHERE guild_id = ? AND id = ? "
            "AND state = 'claimed'",
            [message_id, to_db(posted_at), late_seconds, to_db(posted_at) if needs_thread else None,
             guild_id, step_id],
            expected="claimed",
        )

    def release_claim(self, guild_id: int, step_id: int, *, error: str, retry_at: datetime) -> None:
        """Posting a claimed step failed without reaching Discord: back to pending, with
        the error and the time of the next attempt. WrongState if it is not claimed."""
        self._update_one(
            "steps", guild_id, step_id,
            "UPDATE steps SET state = 'pending', claimed_at = NULL, not_before = ?, "
            "last_error = ? WHERE guild_id = ? AND id = ? AND state = 'claimed'",
            [to_db(retry_at), error[:500], guild_id, step_id],
            expected="claimed",
        )

    def set_thread(self, guild_id: int, step_id: int, thread_id: int) -> None:
        """The question's thread is open on Discord."""
        self._update_one(
            "steps", guild_id, step_id,
            "UPDATE steps SET thread_id = ?, thread_retry_at = NULL, last_error = NULL "
            "WHERE guild_id = ? AND id = ?",
            [thread_id, guild_id, step_id],
            expected="in this server",
        )

    def set_thread_failure(
        self, guild_id: int, step_id: int, *, error: str, retry_at: datetime
    ) -> None:
        """Opening the question's thread failed; try again at `retry_at`."""
        self._update_one(
            "steps", guild_id, step_id,
            "UPDATE steps SET thread_retry_at = ?, last_error = ? WHERE guild_id = ? AND id = ?",
            [to_db(retry_at), error[:500], guild_id, step_id],
            expected="in this server",
        )

    def skip_step(self, guild_id: int, step_id: int, reason: str) -> bool:
        """Mark a pending or claimed step skipped, with why. False if it had already
        been posted or ended."""
        cursor = self.db.execute(
            "UPDATE steps SET state = 'skipped', note = ? "
            "WHERE guild_id = ? AND id = ? AND state IN ('pending', 'claimed')",
            [reason, guild_id, step_id],
        )
        return cursor.rowcount == 1

    def reschedule_step(self, guild_id: int, step_id: int, due_at: datetime) -> None:
        """Move one pending step to a new due time (clearing any retry delay);
        WrongState if it is no longer pending."""
        self._update_one(
            "steps", guild_id, step_id,
            "UPDATE steps SET due_at = ?, not_before = NULL WHERE guild_id = ? AND id = ? "
            "AND state = 'pending'",
            [to_db(due_at), guild_id, step_id],
            expected="pending",
        )

    def cancel_chat(self, guild_id: int, chat_id: int, reason: str, now: datetime) -> int:
        """Call a chat off: its steps still to post are cancelled (with `reason`) and the
        chat is cancelled, in one transaction. Returns how many steps were cancelled."""
        with self.transaction():
            cancelled = self.db.execute(
                "UPDATE steps SET state = 'cancelled', note = ? "
                "WHERE guild_id = ? AND chat_id = ? AND state = 'pending'",
                [reason, guild_id, chat_id],
            ).rowcount
            self.set_chat_state(guild_id, chat_id, ChatState.CANCELLED, ended_at=now)
        return cancelled

    def opened_at(self, guild_id: int, chat_id: int) -> datetime | None:
        """When a chat's intro was posted (None before): the chat is open from then."""
        row = self.db.execute(
            "SELECT posted_at FROM steps WHERE guild_id = ? AND chat_id = ? AND kind = 'intro'",
            [guild_id, chat_id]).fetchone()
        return from_db(row[0]) if row else None

    def first_question_at(self, guild_id: int, chat_id: int) -> datetime | None:
        """When a chat's first question was posted (None before): introductions end then."""
        row = self.db.execute(
            "SELECT MIN(posted_at) FROM steps WHERE guild_id = ? AND chat_id = ? "
            "AND kind = 'question' AND posted_at IS NOT NULL", [guild_id, chat_id]).fetchone()
        return from_db(row[0]) if row else None

    def pending_count(self, guild_id: int, chat_id: int) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM steps WHERE guild_id = ? AND chat_id = ? "
            "AND state IN ('pending', 'claimed')",
            [guild_id, chat_id],
        ).fetchone()[0]

    # -- chat actions (Event, archiving, record) ----------------------------------------

    def add_chat_actions(self, guild_id: int, chat_id: int, kinds: Iterable[ChatActionKind],
                         due_at: datetime) -> None:
        """Put actions in a chat's ledger (an action already there is left as it is)."""
        for kind in kinds:
            self.db.execute(
                "INSERT OR IGNORE INTO chat_actions (guild_id, chat_id, action, state, due_at, "
                "attempts) VALUES (?, ?, ?, 'pending', ?, 0)",
                [guild_id, chat_id, ChatActionKind(kind).value, to_db(due_at)])

    def chat_action(self, guild_id: int, action_id: int) -> ChatAction:
        rows = list(self.db.query("SELECT * FROM chat_actions WHERE guild_id = ? AND id = ?",
                                  [guild_id, action_id]))
        if not rows:
            raise NotFound(f"there is no chat action #{action_id} in this server")
        return _action(rows[0])

    def chat_actions(self, guild_id: int, chat_id: int) -> list[ChatAction]:
        """A chat's actions, in the order they were added."""
        return [_action(r) for r in self.db.query(
            "SELECT * FROM chat_actions WHERE guild_id = ? AND chat_id = ? ORDER BY id",
            [guild_id, chat_id])]

    def troubled_chat_actions(self, guild_id: int) -> list[ChatAction]:
        """A server's chat actions not yet done whose last attempt failed, oldest first."""
        return [_action(r) for r in self.db.query(
            "SELECT * FROM chat_actions WHERE guild_id = ? AND state != 'done' "
            "AND last_error IS NOT NULL ORDER BY id", [guild_id])]

    def claimed_chat_actions(self, shards: ShardRange | None = None,
                             held: Collection[int] | None = None) -> list[tuple[int, int]]:
        """(guild_id, action id) of chat actions left claimed, as :meth:`claimed_steps`."""
        return [(r[0], r[1]) for r in self.db.execute(
            f"SELECT guild_id, id FROM chat_actions WHERE state = 'claimed' AND {IN_SHARDS} ORDER BY id",
            _shard_params(shards, held))]

    def claim_chat_action(self, guild_id: int, action_id: int, now: datetime) -> bool:
        """Mark a pending action as being done; False if it was not pending."""
        return self.db.execute(
            "UPDATE chat_actions SET state = 'claimed', claimed_at = ?, attempts = attempts + 1 "
            "WHERE guild_id = ? AND id = ? AND state = 'pending'",
            [to_db(now), guild_id, action_id]).rowcount == 1

    def mark_chat_action_done(self, guild_id: int, action_id: int, now: datetime,
                              note: str | None = None) -> None:
        """A claimed action was carried out (or found done); `note` says what happened."""
        self._update_one(
            "chat_actions", guild_id, action_id,
            "UPDATE chat_actions SET state = 'done', done_at = ?, note = ?, last_error = NULL "
            "WHERE guild_id = ? AND id = ? AND state = 'claimed'",
            [to_db(now), note, guild_id, action_id], expected="claimed")

    def release_chat_action(self, guild_id: int, action_id: int, *, error: str,
                            retry_at: datetime) -> None:
        """A claimed action failed: back to pending, to be tried again at `retry_at`."""
        self._update_one(
            "chat_actions", guild_id, action_id,
            "UPDATE chat_actions SET state = 'pending', claimed_at = NULL, not_before = ?, "
            "last_error = ? WHERE guild_id = ? AND id = ? AND state = 'claimed'",
            [to_db(retry_at), error[:500], guild_id, action_id], expected="claimed")

    def save_chat(self, guild_id: int, definition: ChatDefinition, *, created_by: int | None,
                  now: datetime) -> int:
        """Keep a chat a moderator wrote, for this server only; returns its id."""
        return self.db["saved_chats"].insert({
            "guild_id": guild_id, "title": definition.title,
            "definition": json.dumps(definition.to_dict(), ensure_ascii=False),
            "created_by": created_by, "created_at": to_db(now),
        }).last_pk

    def saved_chats(self, guild_id: int) -> list[tuple[int, ChatDefinition]]:
        """A server's saved chats, newest first."""
        return [
            (r["id"], ChatDefinition.from_dict(json.loads(r["definition"])))
            for r in self.db.query(
                "SELECT id, definition FROM saved_chats WHERE guild_id = ? ORDER BY id DESC",
                [guild_id])
        ]



def _shard_params(shards: ShardRange | None, held: Collection[int] | None) -> dict:
    if shards is None or shards.count == 1:
        return {"count": 1, "shards": "[]"}
    return {"count": shards.count, "shards": json.dumps(sorted(held if held is not None else shards.home))}
