"""The store's records, states and errors: what its methods return and raise.

Times are stored as ISO 8601 text in UTC with a fixed width
(``2026-12-07T20:05:00.000000+00:00``) so that text order is time order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import Enum
from typing import NamedTuple

from bot.chat.definition import ChatDefinition
from bot.chat.timeline import StepKind


def to_db(moment: datetime | None) -> str | None:
    """An aware datetime as fixed-width UTC ISO text (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_db(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class NewAnswer(NamedTuple):
    """An answer as it arrives, for :meth:`bot.store.Store.add_answers`."""

    guild_id: int
    chat_id: int
    question: int
    message_id: int
    channel_id: int  # the thread's id for thread answers
    via: str  # "thread", "channel" or "intro"
    author_id: int
    author_name: str
    content: str
    created_at: datetime
    reply_to: int | None = None
    attachments: list[dict] | None = None


# The question number under which a chat's introductions (messages in its channel between
# the intro and Q1) are stored in the answers table.
INTRODUCTIONS = 0


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
class Chat:
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
    series_id: int | None = None  # the series this chat is an occurrence of
    occurrence: int | None = None  # its number in the series (0 is the first)


class SeriesState(str, Enum):
    ACTIVE = "active"  # occurrences are scheduled as they come within reach
    ENDED = "ended"  # a moderator ended it; nothing more is scheduled
    FINISHED = "finished"  # its count or end date is reached


@dataclass(frozen=True)
class Series:
    """A recurring chat; see `bot.run.series`."""

    id: int
    guild_id: int
    channel_id: int
    title: str
    repeat: str
    first_local: datetime  # naive wall-clock time in `timezone`
    timezone: str
    count: int | None
    until: date | None
    mode: str  # "same" or "queue"
    interval_minutes: float | None
    state: SeriesState
    created_by: int | None
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class SeriesChange:
    """A moderator's change to one occurrence: skipped, or another chat swapped in."""

    occurrence: int
    skipped: bool
    definition: ChatDefinition | None


@dataclass(frozen=True)
class Step:
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


@dataclass(frozen=True)
class DueStep:
    """A key returned by the cross-server dispatcher query."""

    guild_id: int
    step_id: int  # a step's id; for action "chat action", the chat action's id
    when: datetime  # when it should be acted on
    action: str  # "post", "thread" or "chat action"
    chat_id: int = 0  # the chat it belongs to (work of one chat is done one piece at a time)


class ChatActionKind(str, Enum):
    """What a chat does on Discord besides its posts (see :class:`ChatAction`)."""

    EVENT_START = "event_start"  # the intro is out: the Scheduled Event goes live
    EVENT_END = "event_end"  # the chat is over: the Event is completed
    ARCHIVE_THREADS = "archive_threads"  # the question threads are archived and locked
    SHARE_RECORD = "share_record"  # statistics, chart and transcript under the wrap-up
    ANNOUNCE = "announce"  # a series occurrence gets its Scheduled Event when it is scheduled
    REMIND = "remind"  # "starting soon" is out: DM the members who asked to be reminded
    CPD_RECORDS = "cpd_records"  # the chat is over: DM each opted-in participant their record


FINISHING_ACTIONS = (ChatActionKind.EVENT_END, ChatActionKind.ARCHIVE_THREADS,
                     ChatActionKind.SHARE_RECORD, ChatActionKind.CPD_RECORDS)


@dataclass(frozen=True)
class ChatAction:
    """One such action in the ledger: claimed before it is done, marked done after, and
    retried on its own when Discord refuses it, so one failure never blocks the others."""

    id: int
    guild_id: int
    chat_id: int
    kind: ChatActionKind
    state: str  # "pending", "claimed" or "done"
    due_at: datetime
    attempts: int
    not_before: datetime | None
    done_at: datetime | None
    note: str | None
    last_error: str | None


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
    reminder_role_id: int | None = None  # pinged by "starting soon", instead of DM reminders
    confidentiality_nudge: bool = False  # DM an author whose answer may identify a patient



@dataclass(frozen=True)
class Reflection:
    """A member's own reflection on a chat, for their CPD record (never shown to others)."""

    learned: str
    change: str
    standards: str
    updated: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.learned.strip() or self.change.strip() or self.standards.strip())


class QuestionTally(NamedTuple):
    """How many answers a question had, from how many members."""

    question: int
    answers: int
    participants: int


class StoreError(Exception):
    """A request the store cannot carry out; the message says which and why."""


class NotFound(StoreError):
    """The chat, step or row asked for does not exist in this server."""


class WrongState(StoreError):
    """A write that only applies in certain states found the row in another (e.g. a
    step recorded as posted that is no longer claimed): nothing was changed."""


def _chat(r: dict) -> Chat:
    return Chat(
        id=r["id"], guild_id=r["guild_id"], channel_id=r["channel_id"], title=r["title"],
        definition=ChatDefinition.from_dict(json.loads(r["definition"])),
        start_at=from_db(r["start_at"]), timezone=r["timezone"], state=ChatState(r["state"]),
        created_by=r["created_by"], created_at=from_db(r["created_at"]),
        paused_at=from_db(r["paused_at"]), ended_at=from_db(r["ended_at"]),
        scheduled_event_id=r["scheduled_event_id"],
        announcement_message_id=r["announcement_message_id"],
        series_id=r.get("series_id"), occurrence=r.get("occurrence"),
    )


def _series(r: dict) -> Series:
    return Series(
        id=r["id"], guild_id=r["guild_id"], channel_id=r["channel_id"], title=r["title"],
        repeat=r["repeat"], first_local=datetime.fromisoformat(r["first_local"]),
        timezone=r["timezone"], count=r["count"],
        until=date.fromisoformat(r["until"]) if r["until"] else None, mode=r["mode"],
        interval_minutes=r["interval_minutes"], state=SeriesState(r["state"]),
        created_by=r["created_by"], created_at=from_db(r["created_at"]),
        ended_at=from_db(r["ended_at"]),
    )


def _step(r: dict) -> Step:
    return Step(
        id=r["id"], guild_id=r["guild_id"], chat_id=r["chat_id"], seq=r["seq"],
        kind=StepKind(r["kind"]), question=r["question"], due_at=from_db(r["due_at"]),
        state=StepState(r["state"]), nonce=r["nonce"], attempts=r["attempts"],
        not_before=from_db(r["not_before"]), claimed_at=from_db(r["claimed_at"]),
        posted_at=from_db(r["posted_at"]), message_id=r["message_id"], thread_id=r["thread_id"],
        thread_retry_at=from_db(r["thread_retry_at"]), late_seconds=r["late_seconds"],
        note=r["note"], last_error=r["last_error"],
    )


def _action(r: dict) -> ChatAction:
    return ChatAction(
        id=r["id"], guild_id=r["guild_id"], chat_id=r["chat_id"],
        kind=ChatActionKind(r["action"]), state=r["state"], due_at=from_db(r["due_at"]),
        attempts=r["attempts"], not_before=from_db(r["not_before"]),
        done_at=from_db(r["done_at"]), note=r["note"], last_error=r["last_error"],
    )
