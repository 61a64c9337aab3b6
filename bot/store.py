"""The SQLite store: the schema (as numbered migrations) and every query.

This is the only module that writes SQL. It is built on sqlite-utils, runs in WAL mode,
and keeps the database readable with ordinary tools (``sqlite-utils tables tweetchat.db``).

Every row carries its server (``guild_id``) and every query that reads or changes a
server's data is scoped by it. The exceptions are :meth:`Store.next_due_step`, the
dispatcher's question "what is due next, anywhere?", which only returns step keys that
the caller then handles through the scoped methods, and the operator's (command line)
:meth:`Store.find_chat` and :meth:`Store.all_chats`.

Times are stored as ISO 8601 text in UTC with a fixed width
(``2026-12-07T20:05:00.000000+00:00``) so that text order is time order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.chats import ChatDefinition
from bot.timeline import PlannedStep, StepKind

migrations = Migrations("tweetchat")


def to_db(moment: datetime | None) -> str | None:
    """An aware datetime as fixed-width UTC ISO text (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_db(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class ChatState(str, Enum):
    SCHEDULED = "scheduled"  # waiting for its intro
    RUNNING = "running"  # intro posted, steps to go
    PAUSED = "paused"  # a moderator paused it; steps wait
    FINISHED = "finished"  # every step posted or skipped
    CANCELLED = "cancelled"  # called off before it started


class StepState(str, Enum):
    PENDING = "pending"  # not yet posted
    CLAIMED = "claimed"  # the dispatcher is posting it (or crashed while doing so)
    POSTED = "posted"  # on Discord; message id recorded
    SKIPPED = "skipped"  # deliberately not posted; `note` says why
    CANCELLED = "cancelled"  # the chat was cancelled


ACTIVE_CHAT_STATES = (ChatState.SCHEDULED, ChatState.RUNNING, ChatState.PAUSED)


@dataclass(frozen=True)
class ChatRecord:
    id: int
    guild_id: int
    channel_id: int
    title: str
    definition: ChatDefinition
    start_at: datetime
    timezone: str
    state: ChatState
    created_by: int | None
    created_at: datetime
    paused_at: datetime | None
    ended_at: datetime | None
    scheduled_event_id: int | None
    announcement_message_id: int | None


@dataclass(frozen=True)
class StepRecord:
    id: int
    guild_id: int
    chat_id: int
    seq: int
    kind: StepKind
    question: int | None
    due_at: datetime
    state: StepState
    nonce: str
    attempts: int
    not_before: datetime | None  # retry time after a failed attempt
    claimed_at: datetime | None
    posted_at: datetime | None
    message_id: int | None
    thread_id: int | None
    thread_retry_at: datetime | None  # a question posted whose thread still has to be opened
    late_seconds: float | None
    note: str | None
    last_error: str | None

    @property
    def needs_thread(self) -> bool:
        return (
            self.kind is StepKind.QUESTION
            and self.state is StepState.POSTED
            and self.thread_id is None
        )


@dataclass(frozen=True)
class DueStep:
    """A key returned by the cross-server dispatcher query."""

    guild_id: int
    step_id: int
    when: datetime  # when it should be acted on
    action: str  # "post" or "thread"


@dataclass(frozen=True)
class ServerSettings:
    guild_id: int
    timezone: str | None = None
    host_role_id: int | None = None
    catch_up: str | None = None  # overrides the chat file's policy when set
    reminder_lead_minutes: int = 30
    archive_threads: bool = True
    retention_days: int | None = None  # answers older than this are purged; None: kept
    share_record: bool = False  # the wrap-up carries the statistics, chart and transcript


# ---------------------------------------------------------------------------------------
# Schema. Never edit a migration that has shipped: add a new one.


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["servers"].create(
        {
            "guild_id": int,
            "timezone": str,
            "host_role_id": int,
            "catch_up": str,
            "reminder_lead_minutes": int,
            "archive_threads": int,
            "updated_at": str,
        },
        pk="guild_id",
        defaults={"reminder_lead_minutes": 30, "archive_threads": 1},
        not_null={"reminder_lead_minutes", "archive_threads"},
    )
    db["chats"].create(
        {
            "id": int,
            "guild_id": int,
            "channel_id": int,
            "title": str,
            "definition": str,  # JSON snapshot of the chat definition when scheduled
            "start_at": str,
            "timezone": str,
            "state": str,
            "created_by": int,
            "created_at": str,
            "paused_at": str,
            "ended_at": str,
            "scheduled_event_id": int,
            "announcement_message_id": int,
        },
        pk="id",
        not_null={"guild_id", "channel_id", "title", "definition", "start_at", "timezone",
                  "state", "created_at"},
    )
    db["chats"].create_index(["guild_id", "state"])
    db["steps"].create(
        {
            "id": int,
            "guild_id": int,
            "chat_id": int,
            "seq": int,
            "kind": str,
            "question": int,
            "due_at": str,
            "state": str,
            "nonce": str,  # Discord message nonce: the same on every attempt of this step
            "attempts": int,
            "not_before": str,
            "claimed_at": str,
            "posted_at": str,
            "message_id": int,
            "thread_id": int,
            "thread_retry_at": str,
            "late_seconds": float,
            "note": str,
            "last_error": str,
        },
        pk="id",
        foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "chat_id", "seq", "kind", "due_at", "state", "nonce", "attempts"},
        defaults={"attempts": 0},
    )
    db["steps"].create_index(["chat_id", "seq"], unique=True)
    db["steps"].create_index(["state", "due_at"])
    db["answers"].create(
        {
            "message_id": int,  # the Discord message id
            "guild_id": int,
            "chat_id": int,
            "question": int,
            "channel_id": int,  # where it was posted (the thread's id for thread answers)
            "via": str,  # "thread" or "channel" (an "A1 ..." message)
            "author_id": int,
            "author_name": str,
            "content": str,  # the current text
            "created_at": str,
            "edited_at": str,
            "deleted_at": str,  # set when the member deleted it (withdrawn)
            "reply_to": int,
            "attachments": str,  # JSON list of {id, filename, size, content_type, url}
        },
        pk="message_id",
        foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "chat_id", "question", "channel_id", "via", "author_id",
                  "author_name", "content", "created_at", "attachments"},
    )
    db["answers"].create_index(["guild_id", "chat_id", "question"])
    db["answers"].create_index(["guild_id", "author_id"])
    db["answer_revisions"].create(
        {
            "id": int,
            "guild_id": int,
            "message_id": int,
            "version": int,  # 0 is the text as first posted
            "content": str,
            "edited_at": str,  # when Discord says this version was written
            "recorded_at": str,
        },
        pk="id",
        foreign_keys=[("message_id", "answers", "message_id")],
        not_null={"guild_id", "message_id", "version", "content", "edited_at", "recorded_at"},
    )
    db["answer_revisions"].create_index(["message_id", "version"], unique=True)
    db["answer_revisions"].create_index(["message_id", "edited_at"], unique=True)
    db["audit_log"].create(
        {
            "id": int,
            "guild_id": int,
            "at": str,
            "actor_id": int,  # None for the bot itself
            "action": str,
            "chat_id": int,
            "detail": str,
        },
        pk="id",
        not_null={"guild_id", "at", "action"},
    )
    db["audit_log"].create_index(["guild_id", "at"])


@migrations()
def m002_lookup_indexes(db: sqlite_utils.Database) -> None:
    # Every incoming message asks "is this channel a question's thread?" and "is a chat
    # running in this channel?".
    db["steps"].create_index(["guild_id", "thread_id"])
    db["chats"].create_index(["guild_id", "channel_id", "state"])


@migrations()
def m003_saved_chats(db: sqlite_utils.Database) -> None:
    # Chats moderators typed in Discord (/tweetchat new), offered when scheduling.
    db["saved_chats"].create(
        {"id": int, "guild_id": int, "title": str, "definition": str, "created_by": int,
         "created_at": str},
        pk="id", not_null={"guild_id", "title", "definition", "created_at"},
    )
    db["saved_chats"].create_index(["guild_id", "title"])


@migrations()
def m004_privacy(db: sqlite_utils.Database) -> None:
    # Members who asked that their messages not be stored (/mydata optout).
    db["optouts"].create({"guild_id": int, "user_id": int, "at": str},
                         pk=("guild_id", "user_id"), not_null={"at"})
    # What is left of erased answers (a member's /mydata delete, or retention): counts
    # with no one's id, so a chat's statistics still add up.
    db["erased_tallies"].create(
        {"id": int, "guild_id": int, "chat_id": int, "question": int, "answers": int,
         "participants": int, "reason": str, "at": str},
        pk="id", foreign_keys=[("chat_id", "chats", "id")],
        not_null={"guild_id", "chat_id", "question", "answers", "participants", "reason", "at"},
    )
    db["erased_tallies"].create_index(["guild_id", "chat_id"])
    db["servers"].add_column("retention_days", int)
    db["servers"].add_column("share_record", int, not_null_default=0)
    db["answers"].create_index(["guild_id", "created_at"])


class StoreError(Exception):
    """A request the store cannot carry out (unknown chat, wrong server...)."""


class Store:
    """All reads and writes of the bot's SQLite database."""

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) and migrate the database at `path` (":memory:" works)."""
        self.path = str(path)
        self._closed = False
        self.db = sqlite_utils.Database(self.path)
        if self.path != ":memory:":
            self.db.enable_wal()
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA busy_timeout = 5000")
        migrations.apply(self.db)

    def close(self) -> None:
        """Checkpoint the WAL and close the connection (a second call does nothing)."""
        if self._closed:
            return
        if self.path != ":memory:":
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()
        self._closed = True

    def schema_version(self) -> list[str]:
        """Names of the applied migrations, oldest first."""
        return [m.name for m in migrations.applied(self.db)]

    # -- servers -----------------------------------------------------------------------

    def server_settings(self, guild_id: int) -> ServerSettings:
        """A server's settings (defaults for a server never configured)."""
        rows = list(self.db.query("SELECT * FROM servers WHERE guild_id = ?", [guild_id]))
        if not rows:
            return ServerSettings(guild_id)
        r = rows[0]
        return ServerSettings(
            guild_id=r["guild_id"], timezone=r["timezone"], host_role_id=r["host_role_id"],
            catch_up=r["catch_up"], reminder_lead_minutes=r["reminder_lead_minutes"],
            archive_threads=bool(r["archive_threads"]), retention_days=r["retention_days"],
            share_record=bool(r["share_record"]),
        )

    def update_server_settings(self, guild_id: int, now: datetime, **changes: Any) -> ServerSettings:
        """Change some of a server's settings; unknown names raise StoreError."""
        allowed = {"timezone", "host_role_id", "catch_up", "reminder_lead_minutes",
                   "archive_threads", "retention_days", "share_record"}
        unknown = set(changes) - allowed
        if unknown:
            raise StoreError(f"unknown server settings: {', '.join(sorted(unknown))}")
        current = self.server_settings(guild_id).__dict__ | changes
        for flag in ("archive_threads", "share_record"):
            current[flag] = int(bool(current[flag]))
        self.db["servers"].upsert({**current, "updated_at": to_db(now)}, pk="guild_id")
        return self.server_settings(guild_id)

    # -- chats and their steps -------------------------------------------------------------

    def create_chat(
        self, *, guild_id: int, channel_id: int, definition: ChatDefinition, start_at: datetime,
        timezone_name: str, steps: Iterable[PlannedStep], created_by: int | None, now: datetime,
    ) -> ChatRecord:
        """Record a scheduled chat and its whole step ledger in one transaction."""
        with self.db.atomic():
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

    def chat(self, guild_id: int, chat_id: int) -> ChatRecord:
        """One chat of a server; StoreError if it does not exist there."""
        rows = list(
            self.db.query("SELECT * FROM chats WHERE guild_id = ? AND id = ?", [guild_id, chat_id])
        )
        if not rows:
            raise StoreError(f"there is no chat #{chat_id} in this server")
        return _chat(rows[0])

    def chats(
        self, guild_id: int, states: Iterable[ChatState] | None = None, limit: int = 100
    ) -> list[ChatRecord]:
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
        self._update(
            "UPDATE chats SET state = ?, paused_at = ?, ended_at = COALESCE(?, ended_at) "
            "WHERE guild_id = ? AND id = ?",
            [ChatState(state).value, to_db(paused_at), to_db(ended_at), guild_id, chat_id],
        )

    def set_chat_discord_ids(
        self, guild_id: int, chat_id: int, *, scheduled_event_id: int | None = None,
        announcement_message_id: int | None = None,
    ) -> None:
        """Remember the Discord scheduled event and announcement made for a chat."""
        self._update(
            "UPDATE chats SET scheduled_event_id = COALESCE(?, scheduled_event_id), "
            "announcement_message_id = COALESCE(?, announcement_message_id) "
            "WHERE guild_id = ? AND id = ?",
            [scheduled_event_id, announcement_message_id, guild_id, chat_id],
        )

    def steps(self, guild_id: int, chat_id: int) -> list[StepRecord]:
        """The step ledger of a chat, in posting order."""
        return [
            _step(r)
            for r in self.db.query(
                "SELECT * FROM steps WHERE guild_id = ? AND chat_id = ? ORDER BY seq",
                [guild_id, chat_id],
            )
        ]

    def step(self, guild_id: int, step_id: int) -> StepRecord:
        rows = list(
            self.db.query("SELECT * FROM steps WHERE guild_id = ? AND id = ?", [guild_id, step_id])
        )
        if not rows:
            raise StoreError(f"there is no step #{step_id} in this server")
        return _step(rows[0])

    def next_due_step(self) -> DueStep | None:
        """The earliest work for the dispatcher across all servers: a pending step of a
        scheduled or running chat, or a posted question whose thread is still to open."""
        rows = list(
            self.db.query(
                """
                SELECT guild_id, id, MAX(due_at, COALESCE(not_before, '')) AS at, 'post' AS action
                  FROM steps
                 WHERE state = 'pending'
                   AND chat_id IN (SELECT id FROM chats WHERE state IN ('scheduled', 'running'))
                UNION ALL
                SELECT guild_id, id, thread_retry_at AS at, 'thread' AS action
                  FROM steps
                 WHERE state = 'posted' AND thread_retry_at IS NOT NULL
                ORDER BY at, id
                LIMIT 1
                """
            )
        )
        if not rows:
            return None
        r = rows[0]
        return DueStep(r["guild_id"], r["id"], from_db(r["at"]), r["action"])

    def claimed_steps(self) -> list[tuple[int, int]]:
        """(guild_id, step_id) of steps left claimed: a crash hit while posting them."""
        return [
            (r["guild_id"], r["id"])
            for r in self.db.query("SELECT guild_id, id FROM steps WHERE state = 'claimed' ORDER BY due_at, id")
        ]

    def claim_step(self, guild_id: int, step_id: int, now: datetime) -> bool:
        """Mark a pending step as being posted. False if it was not pending (someone
        else took it, or a moderator changed it meanwhile)."""
        cursor = self.db.execute(
            "UPDATE steps SET state = 'claimed', claimed_at = ?, attempts = attempts + 1 "
            "WHERE guild_id = ? AND id = ? AND state = 'pending'",
            [to_db(now), guild_id, step_id],
        )
        return cursor.rowcount == 1

    def record_posted(
        self, guild_id: int, step_id: int, *, message_id: int, posted_at: datetime,
        late_seconds: float | None, needs_thread: bool,
    ) -> None:
        """A claimed step is on Discord. A question is marked for its thread right away."""
        self._update(
            "UPDATE steps SET state = 'posted', message_id = ?, posted_at = ?, late_seconds = ?, "
            "thread_retry_at = ?, last_error = NULL WHERE guild_id = ? AND id = ? "
            "AND state = 'claimed'",
            [message_id, to_db(posted_at), late_seconds, to_db(posted_at) if needs_thread else None,
             guild_id, step_id],
        )

    def release_claim(self, guild_id: int, step_id: int, *, error: str, retry_at: datetime) -> None:
        """Posting a claimed step failed without reaching Discord: back to pending, with
        the error and the time of the next attempt."""
        self._update(
            "UPDATE steps SET state = 'pending', claimed_at = NULL, not_before = ?, "
            "last_error = ? WHERE guild_id = ? AND id = ? AND state = 'claimed'",
            [to_db(retry_at), error[:500], guild_id, step_id],
        )

    def record_thread(self, guild_id: int, step_id: int, thread_id: int) -> None:
        self._update(
            "UPDATE steps SET thread_id = ?, thread_retry_at = NULL, last_error = NULL "
            "WHERE guild_id = ? AND id = ?",
            [thread_id, guild_id, step_id],
        )

    def record_thread_failure(
        self, guild_id: int, step_id: int, *, error: str, retry_at: datetime
    ) -> None:
        self._update(
            "UPDATE steps SET thread_retry_at = ?, last_error = ? WHERE guild_id = ? AND id = ?",
            [to_db(retry_at), error[:500], guild_id, step_id],
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
        """Move one pending step to a new due time (clearing any retry delay)."""
        self._update(
            "UPDATE steps SET due_at = ?, not_before = NULL WHERE guild_id = ? AND id = ? "
            "AND state = 'pending'",
            [to_db(due_at), guild_id, step_id],
        )

    def cancel_pending_steps(self, guild_id: int, chat_id: int, reason: str) -> int:
        cursor = self.db.execute(
            "UPDATE steps SET state = 'cancelled', note = ? "
            "WHERE guild_id = ? AND chat_id = ? AND state = 'pending'",
            [reason, guild_id, chat_id],
        )
        return cursor.rowcount

    def opened_at(self, guild_id: int, chat_id: int) -> datetime | None:
        """When a chat's intro was posted (None before): the chat is open from then."""
        row = self.db.execute(
            "SELECT posted_at FROM steps WHERE guild_id = ? AND chat_id = ? AND kind = 'intro'",
            [guild_id, chat_id]).fetchone()
        return from_db(row[0]) if row else None

    def pending_count(self, guild_id: int, chat_id: int) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM steps WHERE guild_id = ? AND chat_id = ? "
            "AND state IN ('pending', 'claimed')",
            [guild_id, chat_id],
        ).fetchone()[0]

    def transaction(self):
        """A context manager: everything inside commits together or not at all."""
        return self.db.atomic()

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

    # -- answers -----------------------------------------------------------------------------

    def add_answer(
        self, *, guild_id: int, chat_id: int, question: int, message_id: int, channel_id: int,
        via: str, author_id: int, author_name: str, content: str, created_at: datetime,
        reply_to: int | None = None, attachments: list[dict] | None = None,
        recorded_at: datetime,
    ) -> bool:
        """Store an answer and its first revision. Idempotent: a message already stored
        (seen twice: live and again in a history backfill) is left as it is; returns
        whether it was new."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO answers (message_id, guild_id, chat_id, question, "
                "channel_id, via, author_id, author_name, content, created_at, reply_to, "
                "attachments) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [message_id, guild_id, chat_id, question, channel_id, via, author_id, author_name,
                 content, to_db(created_at), reply_to, json.dumps(attachments or [])],
            )
            if cursor.rowcount != 1:
                return False
            self.db.execute(
                "INSERT INTO answer_revisions (guild_id, message_id, version, content, edited_at, "
                "recorded_at) VALUES (?, ?, 0, ?, ?, ?)",
                [guild_id, message_id, content, to_db(created_at), to_db(recorded_at)],
            )
        return True

    def edit_answer(
        self, guild_id: int, message_id: int, *, content: str, edited_at: datetime,
        recorded_at: datetime, attachments: list[dict] | None = None,
    ) -> bool:
        """Record an edit as a new revision and make it the current text. Idempotent on
        (message, edited_at); an edit older than the newest stored one is kept as a
        revision but does not replace the current text. False for an unknown answer or a
        repeat."""
        with self.db.atomic():
            row = self.db.execute(
                "SELECT edited_at, created_at FROM answers WHERE guild_id = ? AND message_id = ?",
                [guild_id, message_id],
            ).fetchone()
            if row is None:
                return False
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO answer_revisions (guild_id, message_id, version, content, "
                "edited_at, recorded_at) SELECT ?, ?, COALESCE(MAX(version), -1) + 1, ?, ?, ? "
                "FROM answer_revisions WHERE message_id = ?",
                [guild_id, message_id, content, to_db(edited_at), to_db(recorded_at), message_id],
            )
            if cursor.rowcount != 1:
                return False
            newest = row[0] or row[1]
            if to_db(edited_at) >= newest:
                self.db.execute(
                    "UPDATE answers SET content = ?, edited_at = ?, "
                    "attachments = COALESCE(?, attachments) WHERE guild_id = ? AND message_id = ?",
                    [content, to_db(edited_at),
                     None if attachments is None else json.dumps(attachments), guild_id,
                     message_id],
                )
        return True

    def withdraw_answer(self, guild_id: int, message_id: int, deleted_at: datetime) -> bool:
        """Mark an answer deleted by its author (withdrawn). False if unknown or already."""
        cursor = self.db.execute(
            "UPDATE answers SET deleted_at = ? WHERE guild_id = ? AND message_id = ? "
            "AND deleted_at IS NULL",
            [to_db(deleted_at), guild_id, message_id],
        )
        return cursor.rowcount == 1

    def question_for_thread(self, guild_id: int, thread_id: int) -> tuple[int, int] | None:
        """(chat_id, question number) of the question whose thread this is, if any."""
        row = self.db.execute(
            "SELECT chat_id, question FROM steps WHERE guild_id = ? AND thread_id = ? LIMIT 1",
            [guild_id, thread_id],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def chats_in_channel(self, guild_id: int, channel_id: int,
                         states: Iterable[ChatState]) -> list[ChatRecord]:
        """A server's chats in one channel that are in one of `states`, soonest first."""
        states = [ChatState(s).value for s in states]
        return [
            _chat(r)
            for r in self.db.query(
                f"SELECT * FROM chats WHERE guild_id = ? AND channel_id = ? AND state IN "
                f"({', '.join('?' * len(states))}) ORDER BY start_at",
                [guild_id, channel_id, *states],
            )
        ]

    def answer(self, guild_id: int, message_id: int) -> dict | None:
        """One stored answer (withdrawn or not), or None."""
        rows = list(self.db.query(
            "SELECT * FROM answers WHERE guild_id = ? AND message_id = ?", [guild_id, message_id]))
        if not rows:
            return None
        rows[0]["attachments"] = json.loads(rows[0]["attachments"])
        return rows[0]

    def answer_author(self, guild_id: int, message_id: int) -> int | None:
        """The author of a stored answer, or None if the message is not one."""
        row = self.db.execute("SELECT author_id FROM answers WHERE guild_id = ? AND message_id = ?",
                              [guild_id, message_id]).fetchone()
        return row[0] if row else None

    def answers(self, guild_id: int, chat_id: int, *, include_withdrawn: bool = False) -> list[dict]:
        """A chat's answers as plain rows, by question then time."""
        sql = "SELECT * FROM answers WHERE guild_id = ? AND chat_id = ?"
        if not include_withdrawn:
            sql += " AND deleted_at IS NULL"
        sql += " ORDER BY question, created_at, message_id"
        rows = []
        for r in self.db.query(sql, [guild_id, chat_id]):
            r["attachments"] = json.loads(r["attachments"])
            rows.append(r)
        return rows

    def revisions(self, guild_id: int, message_id: int) -> list[dict]:
        return list(
            self.db.query(
                "SELECT version, content, edited_at FROM answer_revisions "
                "WHERE guild_id = ? AND message_id = ? ORDER BY version",
                [guild_id, message_id],
            )
        )

    def answer_counts(self, guild_id: int, chat_id: int) -> list[tuple[int, int, int]]:
        """(question, answers, distinct participants) for a chat's visible answers."""
        return [
            (r["question"], r["answers"], r["participants"])
            for r in self.db.query(
                "SELECT question, COUNT(*) AS answers, COUNT(DISTINCT author_id) AS participants "
                "FROM answers WHERE guild_id = ? AND chat_id = ? AND deleted_at IS NULL "
                "GROUP BY question ORDER BY question",
                [guild_id, chat_id],
            )
        ]

    def participant_count(self, guild_id: int, chat_id: int) -> int:
        return self.db.execute(
            "SELECT COUNT(DISTINCT author_id) FROM answers WHERE guild_id = ? AND chat_id = ? "
            "AND deleted_at IS NULL",
            [guild_id, chat_id],
        ).fetchone()[0]

    # -- members' data ---------------------------------------------------------------------

    def set_opted_out(self, guild_id: int, user_id: int, opted_out: bool, now: datetime) -> bool:
        """Record that a member does (or no longer does) want their messages stored in
        this server. Returns whether anything changed."""
        if opted_out:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO optouts (guild_id, user_id, at) VALUES (?, ?, ?)",
                [guild_id, user_id, to_db(now)])
        else:
            cursor = self.db.execute(
                "DELETE FROM optouts WHERE guild_id = ? AND user_id = ?", [guild_id, user_id])
        return cursor.rowcount == 1

    def is_opted_out(self, guild_id: int, user_id: int) -> bool:
        """Whether a member asked that nothing of theirs be stored in this server."""
        return self.db.execute(
            "SELECT 1 FROM optouts WHERE guild_id = ? AND user_id = ?", [guild_id, user_id]
        ).fetchone() is not None

    def opted_out_members(self, guild_id: int) -> set[int]:
        """Ids of a server's opted-out members (left out of transcripts)."""
        return {r[0] for r in self.db.execute(
            "SELECT user_id FROM optouts WHERE guild_id = ?", [guild_id])}

    def member_data(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Everything stored about one member in one server, as plain data: their
        answers (each with its revisions), their opt-out, chats they scheduled or saved,
        and the audit lines of what they did."""
        # Every revision of their answers in one query, not one query per answer.
        revisions: dict[int, list[dict]] = {}
        for r in self.db.query(
            "SELECT r.message_id, r.version, r.content, r.edited_at FROM answer_revisions r "
            "JOIN answers a ON a.message_id = r.message_id WHERE a.guild_id = ? "
            "AND a.author_id = ? ORDER BY r.message_id, r.version", [guild_id, user_id]):
            revisions.setdefault(r.pop("message_id"), []).append(r)
        answers = []
        for r in self.db.query(
            "SELECT answers.*, chats.title AS chat_title FROM answers JOIN chats "
            "ON chats.id = answers.chat_id WHERE answers.guild_id = ? AND author_id = ? "
            "ORDER BY answers.created_at, message_id", [guild_id, user_id]):
            r["attachments"] = json.loads(r["attachments"])
            r["revisions"] = revisions.get(r["message_id"], [])
            answers.append(r)
        optout = self.db.execute("SELECT at FROM optouts WHERE guild_id = ? AND user_id = ?",
                                 [guild_id, user_id]).fetchone()
        return {
            "server_id": guild_id,
            "member_id": user_id,
            "opted_out_since": optout[0] if optout else None,
            "answers": answers,
            "chats_scheduled": list(self.db.query(
                "SELECT id, title, start_at, state FROM chats WHERE guild_id = ? AND created_by = ? "
                "ORDER BY id", [guild_id, user_id])),
            "chats_saved": list(self.db.query(
                "SELECT id, title, created_at FROM saved_chats WHERE guild_id = ? "
                "AND created_by = ? ORDER BY id", [guild_id, user_id])),
            "audit_log": list(self.db.query(
                "SELECT at, action, chat_id, detail FROM audit_log WHERE guild_id = ? "
                "AND actor_id = ? ORDER BY id", [guild_id, user_id])),
        }

    def member_answer_count(self, guild_id: int, user_id: int) -> int:
        """How many answers (withdrawn included) a member has stored in one server."""
        return self.db.execute("SELECT COUNT(*) FROM answers WHERE guild_id = ? AND author_id = ?",
                               [guild_id, user_id]).fetchone()[0]

    def erase_member(self, guild_id: int, user_id: int, now: datetime) -> dict[str, int]:
        """Remove everything stored about a member in one server, in one transaction:
        their answers and revisions (kept only as anonymous counts), their opt-out, and
        their id wherever it marks who did something. Other servers are untouched.
        Returns how many rows of each kind went."""
        with self.db.atomic():
            where = "guild_id = ? AND author_id = ?"
            erased = self._erase_answers(where, [guild_id, user_id], "member request", now)
            erased["optouts"] = self.db.execute(
                "DELETE FROM optouts WHERE guild_id = ? AND user_id = ?",
                [guild_id, user_id]).rowcount
            for table, column in (("chats", "created_by"), ("saved_chats", "created_by"),
                                  ("audit_log", "actor_id")):
                erased[table] = self.db.execute(
                    f"UPDATE {table} SET {column} = NULL WHERE guild_id = ? AND {column} = ?",
                    [guild_id, user_id]).rowcount
        return erased

    def purge_answers_before(self, guild_id: int, cutoff: datetime, now: datetime) -> dict[str, int]:
        """Retention: remove a server's answers (and revisions) created before `cutoff`,
        keeping anonymous counts. Returns how many rows of each kind went."""
        with self.db.atomic():
            return self._erase_answers("guild_id = ? AND created_at < ?",
                                       [guild_id, to_db(cutoff)], "retention", now)

    def servers_with_retention(self) -> list[tuple[int, int]]:
        """(guild_id, retention_days) of every server that set a retention period."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT guild_id, retention_days FROM servers WHERE retention_days IS NOT NULL")]

    def erased_tallies(self, guild_id: int, chat_id: int) -> dict[int, tuple[int, int]]:
        """question -> (answers, participants) erased from a chat (anonymous counts)."""
        return {
            r[0]: (r[1], r[2]) for r in self.db.execute(
                "SELECT question, SUM(answers), SUM(participants) FROM erased_tallies "
                "WHERE guild_id = ? AND chat_id = ? GROUP BY question", [guild_id, chat_id])
        }

    def _erase_answers(self, where: str, params: list, reason: str, now: datetime) -> dict[str, int]:
        """Delete the answers matching `where` (on the answers table) with their
        revisions, tallying the visible ones per chat and question first. Call inside a
        transaction."""
        self.db.execute(
            "INSERT INTO erased_tallies (guild_id, chat_id, question, answers, participants, "
            "reason, at) SELECT guild_id, chat_id, question, COUNT(*), COUNT(DISTINCT author_id), "
            f"?, ? FROM answers WHERE {where} AND deleted_at IS NULL "
            "GROUP BY guild_id, chat_id, question",
            [reason, to_db(now), *params])
        revisions = self.db.execute(
            "DELETE FROM answer_revisions WHERE message_id IN "
            f"(SELECT message_id FROM answers WHERE {where})", params).rowcount
        answers = self.db.execute(f"DELETE FROM answers WHERE {where}", params).rowcount
        return {"answers": answers, "revisions": revisions}

    # -- transcripts and statistics ----------------------------------------------------------
    # An answer is *shown* (in transcripts and statistics) when its author did not withdraw
    # it and has not opted out; everything here counts or returns shown answers only, and
    # the counting happens in SQL.

    @staticmethod
    def _shown(alias: str = "a") -> str:
        """The SQL condition for the answer aliased `alias` to be shown."""
        return (f"{alias}.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM optouts o "
                f"WHERE o.guild_id = {alias}.guild_id AND o.user_id = {alias}.author_id)")

    def find_chat(self, chat_id: int) -> ChatRecord | None:
        """Operator-only (the command line), not scoped by server: the chat with this id
        in any server, or None. Use its `guild_id` for every further query."""
        rows = list(self.db.query("SELECT * FROM chats WHERE id = ?", [chat_id]))
        return _chat(rows[0]) if rows else None

    def all_chats(self, limit: int = 50) -> list[ChatRecord]:
        """Operator-only, not scoped by server: the most recent chats of every server,
        newest first (for listing what exists when an operator names an unknown chat)."""
        return [_chat(r) for r in self.db.query(
            "SELECT * FROM chats ORDER BY start_at DESC, id DESC LIMIT ?", [limit])]

    def transcript_answers(self, guild_id: int, chat_id: int) -> list[dict]:
        """A chat's shown answers as plain rows, by question then time, each with
        `edit_count` (revisions after the first) and, for a Discord reply, whether the
        message it replies to is a shown answer (`parent_shown` 1), an answer left out
        (0: withdrawn, or its author opted out) or no answer of this chat (None)."""
        rows = []
        for r in self.db.query(
            f"""
            SELECT a.message_id, a.question, a.via, a.author_id, a.author_name, a.content,
                   a.created_at, a.edited_at, a.reply_to, a.attachments,
                   (SELECT COUNT(*) FROM answer_revisions r
                     WHERE r.guild_id = a.guild_id AND r.message_id = a.message_id
                       AND r.version > 0) AS edit_count,
                   CASE WHEN p.message_id IS NULL THEN NULL
                        WHEN {self._shown("p")} THEN 1 ELSE 0 END AS parent_shown
              FROM answers a
              LEFT JOIN answers p ON p.message_id = a.reply_to AND p.guild_id = a.guild_id
                                 AND p.chat_id = a.chat_id
             WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown()}
             ORDER BY a.question, a.created_at, a.message_id
            """, [guild_id, chat_id]):
            r["attachments"] = json.loads(r["attachments"])
            rows.append(r)
        return rows

    def chat_totals(self, guild_id: int, chat_id: int) -> dict[str, Any]:
        """Counts over a chat's shown answers: `answers`, `participants`, `replies`
        (answers that are Discord replies to another answer of the chat, shown or not),
        `first_time_participants` (members with no answer, withdrawn or not, in any of
        the server's earlier chats), `withheld` (answers left out because their author
        opted out)."""
        shown = f"FROM answers a WHERE a.guild_id = :g AND a.chat_id = :c AND {self._shown()}"
        row = self.db.execute(
            f"""
            SELECT (SELECT COUNT(*) {shown}),
                   (SELECT COUNT(DISTINCT a.author_id) {shown}),
                   (SELECT COUNT(*) {shown} AND a.reply_to IN
                        (SELECT message_id FROM answers WHERE guild_id = :g AND chat_id = :c)),
                   (SELECT COUNT(*) FROM (SELECT DISTINCT a.author_id {shown}) p
                     WHERE NOT EXISTS
                        (SELECT 1 FROM answers e JOIN chats earlier ON earlier.id = e.chat_id
                          WHERE e.guild_id = :g AND e.author_id = p.author_id
                            AND earlier.guild_id = :g
                            AND (earlier.start_at < this.start_at
                                 OR (earlier.start_at = this.start_at AND earlier.id < this.id)))),
                   (SELECT COUNT(*) FROM answers a WHERE a.guild_id = :g AND a.chat_id = :c
                       AND a.deleted_at IS NULL
                       AND a.author_id IN (SELECT user_id FROM optouts WHERE guild_id = :g))
              FROM chats this WHERE this.guild_id = :g AND this.id = :c
            """, {"g": guild_id, "c": chat_id}).fetchone()
        if row is None:
            raise StoreError(f"there is no chat #{chat_id} in this server")
        names = ("answers", "participants", "replies", "first_time_participants", "withheld")
        return dict(zip(names, row))

    def shown_counts_by_question(self, guild_id: int, chat_id: int) -> list[tuple[int, int, int]]:
        """(question, answers, distinct participants) of a chat's shown answers."""
        return [tuple(r) for r in self.db.execute(
            f"SELECT a.question, COUNT(*), COUNT(DISTINCT a.author_id) FROM answers a "
            f"WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown()} "
            "GROUP BY a.question ORDER BY a.question", [guild_id, chat_id])]

    def shown_counts_by_minute(self, guild_id: int, chat_id: int) -> list[tuple[datetime, int]]:
        """(start of the minute, UTC; shown answers in it) for each minute with answers.
        Stored times are fixed-width UTC text, so the first 16 characters are the minute;
        every time zone in use today is offset from UTC by whole minutes."""
        return [
            (datetime.fromisoformat(minute + ":00+00:00"), count)
            for minute, count in self.db.execute(
                f"SELECT substr(a.created_at, 1, 16) AS minute, COUNT(*) FROM answers a "
                f"WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown()} "
                "GROUP BY minute ORDER BY minute", [guild_id, chat_id])
        ]

    def top_authors(self, guild_id: int, chat_id: int, limit: int) -> list[tuple[str, int]]:
        """(display name, shown answers) of the members with most answers in a chat,
        most first. Only for a moderator who explicitly asks for a ranking."""
        # SQLite fills the bare author_name from the row with MAX(created_at): the name
        # the member used last.
        return [(r[0], r[1]) for r in self.db.execute(
            f"SELECT a.author_name, COUNT(*) AS n, MAX(a.created_at) FROM answers a "
            f"WHERE a.guild_id = ? AND a.chat_id = ? AND {self._shown()} "
            "GROUP BY a.author_id ORDER BY n DESC, MIN(a.created_at) LIMIT ?",
            [guild_id, chat_id, limit])]

    # -- audit -------------------------------------------------------------------------------

    def audit(
        self, guild_id: int, action: str, *, at: datetime, actor_id: int | None = None,
        chat_id: int | None = None, detail: str = "",
    ) -> None:
        """Append a line to the server's audit log (who did what, never deleted content)."""
        self.db["audit_log"].insert(
            {"guild_id": guild_id, "at": to_db(at), "actor_id": actor_id, "action": action,
             "chat_id": chat_id, "detail": detail}
        )

    def audit_log(self, guild_id: int, limit: int = 50) -> list[dict]:
        return list(
            self.db.query(
                "SELECT at, actor_id, action, chat_id, detail FROM audit_log WHERE guild_id = ? "
                "ORDER BY id DESC LIMIT ?",
                [guild_id, limit],
            )
        )

    # -- internals -------------------------------------------------------------------------

    def _update(self, sql: str, params: list) -> int:
        return self.db.execute(sql, params).rowcount


def _chat(r: dict) -> ChatRecord:
    return ChatRecord(
        id=r["id"], guild_id=r["guild_id"], channel_id=r["channel_id"], title=r["title"],
        definition=ChatDefinition.from_dict(json.loads(r["definition"])),
        start_at=from_db(r["start_at"]), timezone=r["timezone"], state=ChatState(r["state"]),
        created_by=r["created_by"], created_at=from_db(r["created_at"]),
        paused_at=from_db(r["paused_at"]), ended_at=from_db(r["ended_at"]),
        scheduled_event_id=r["scheduled_event_id"],
        announcement_message_id=r["announcement_message_id"],
    )


def _step(r: dict) -> StepRecord:
    return StepRecord(
        id=r["id"], guild_id=r["guild_id"], chat_id=r["chat_id"], seq=r["seq"],
        kind=StepKind(r["kind"]), question=r["question"], due_at=from_db(r["due_at"]),
        state=StepState(r["state"]), nonce=r["nonce"], attempts=r["attempts"],
        not_before=from_db(r["not_before"]), claimed_at=from_db(r["claimed_at"]),
        posted_at=from_db(r["posted_at"]), message_id=r["message_id"], thread_id=r["thread_id"],
        thread_retry_at=from_db(r["thread_retry_at"]), late_seconds=r["late_seconds"],
        note=r["note"], last_error=r["last_error"],
    )
