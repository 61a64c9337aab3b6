"""Moderator operations on chats: schedule, start, pause, resume, skip, extend, stop, cancel.

Each operation is a change to the step ledger in the store, checked against the chat's
state, written in one transaction, logged in the server's audit log with who did it, and
followed by a wake-up of the dispatcher. Each returns a sentence for the moderator, or
raises :class:`ChatStateError` saying why it cannot be done and what to do instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from bot.chats import ChatDefinition
from bot.store import ACTIVE_CHAT_STATES, ChatRecord, ChatState, StepRecord, StepState, Store
from bot.timeline import (
    PlannedStep, ResolvedStart, StepKind, build_timeline, offsets_problems, resolve_start,
    step_label,
)

MAX_EXTEND_MINUTES = 180


class ChatStateError(Exception):
    """An operation that does not fit the chat's state; the message is for the moderator."""


@dataclass(frozen=True)
class Outcome:
    message: str
    chat: ChatRecord


@dataclass(frozen=True)
class Preview:
    """A chat checked and planned but not yet scheduled (shown before Confirm)."""

    definition: ChatDefinition
    start: ResolvedStart
    steps: list[PlannedStep]


def with_interval(definition: ChatDefinition, interval_minutes: float | None) -> ChatDefinition:
    """The definition with another interval between questions (checked)."""
    if interval_minutes is None:
        return definition
    if not 0.5 <= interval_minutes <= 240:
        raise ChatStateError("the interval must be between 0.5 and 240 minutes")
    changed = dataclasses.replace(
        definition,
        schedule=dataclasses.replace(definition.schedule, interval_minutes=interval_minutes),
    )
    problems = offsets_problems(changed)
    if problems:
        raise ChatStateError(
            "with that interval: " + "; ".join(message for _, message in problems)
        )
    return changed


class ChatControl:
    """The operations moderators run on a server's chats."""

    def __init__(self, store: Store, now: Callable[[], datetime],
                 wake: Callable[[], None] = lambda: None) -> None:
        """
        :param store: the database.
        :param now: the clock (returns aware UTC datetimes).
        :param wake: called after every change so the dispatcher re-reads the ledger.
        """
        self.store = store
        self.now = now
        self.wake = wake

    # -- scheduling --------------------------------------------------------------------------

    def preview(self, definition: ChatDefinition, start_local: str, tz: str, *,
                interval_minutes: float | None = None, occurrence: str = "earlier",
                reminder_minutes: float = 0) -> Preview:
        """Check a start and plan every step, without writing anything. A reminder is
        planned `reminder_minutes` before the start if that is still in the future.

        :raises UnknownTimeZone, StartTimeError, ChatStateError: with a message for people.
        """
        definition = with_interval(definition, interval_minutes)
        start = resolve_start(start_local, tz, now=self.now(), occurrence=occurrence)
        if start.instant - timedelta(minutes=reminder_minutes) <= self.now():
            reminder_minutes = 0
        return Preview(definition, start,
                       build_timeline(definition, start.instant, reminder_minutes))

    def schedule(self, guild_id: int, channel_id: int, preview: Preview, *,
                 actor_id: int | None) -> Outcome:
        """Record a previewed chat and its ledger; it will run at its start."""
        if preview.start.instant <= self.now():
            raise ChatStateError("that start time has passed while you were confirming; "
                                 "schedule it again with a later time")
        chat = self.store.create_chat(
            guild_id=guild_id, channel_id=channel_id, definition=preview.definition,
            start_at=preview.start.instant, timezone_name=preview.start.zone.key,
            steps=preview.steps, created_by=actor_id, now=self.now(),
        )
        self._audit(chat, actor_id, "scheduled",
                    f"{chat.title!r} in channel {channel_id} at {chat.start_at:%Y-%m-%d %H:%M} UTC")
        self.wake()
        return Outcome(f"Scheduled **{chat.title}** (chat #{chat.id}).", chat)

    # -- running ----------------------------------------------------------------------------

    def start_now(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Start a scheduled chat now: the whole schedule moves so the intro is due now."""
        chat = self._chat(guild_id, chat_id, {ChatState.SCHEDULED},
                          "only a chat that has not started can be started")
        pending = self._pending(chat)
        intro = next(s for s in pending if s.kind is StepKind.INTRO)
        shift = self.now() - intro.due_at
        with self.store.transaction():
            for s in pending:
                if s.kind is StepKind.REMINDER:
                    self.store.skip_step(guild_id, s.id, "skipped: chat started early")
            self._shift(chat, [s for s in pending if s.kind is not StepKind.REMINDER], shift)
        self._audit(chat, actor_id, "started now", f"schedule moved by {_minutes(shift)}")
        return Outcome(f"Starting **{chat.title}** now; every step moved by {_minutes(shift)}.",
                       self._reload(chat))

    def pause(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Hold a running chat: nothing is posted until it is resumed."""
        chat = self._chat(guild_id, chat_id, {ChatState.RUNNING},
                          "only a running chat can be paused")
        self.store.set_chat_state(guild_id, chat_id, ChatState.PAUSED, paused_at=self.now())
        self._audit(chat, actor_id, "paused")
        return Outcome(f"Paused **{chat.title}**. Use resume to carry on; the remaining "
                       "questions will keep their spacing.", self._reload(chat))

    def resume(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Carry on a paused chat; the remaining steps move later by the time paused."""
        chat = self._chat(guild_id, chat_id, {ChatState.PAUSED}, "only a paused chat can be resumed")
        paused_for = self.now() - (chat.paused_at or self.now())
        with self.store.transaction():
            self._shift(chat, self._pending(chat), paused_for)
            self.store.set_chat_state(guild_id, chat_id, ChatState.RUNNING)
        self._audit(chat, actor_id, "resumed", f"after {_minutes(paused_for)}")
        return Outcome(f"Resumed **{chat.title}** after {_minutes(paused_for)}; the remaining "
                       f"steps moved later by as much.", self._reload(chat))

    def skip_to_next_question(self, guild_id: int, chat_id: int, *,
                              actor_id: int | None) -> Outcome:
        """Post the next question now; later steps keep their spacing after it."""
        chat = self._chat(guild_id, chat_id, {ChatState.RUNNING},
                          "only a running chat can move on to its next question")
        pending = self._pending(chat)
        nxt = next((s for s in pending if s.kind is StepKind.QUESTION), None)
        if nxt is None:
            raise ChatStateError("every question has been posted; use stop to wrap up now")
        now = self.now()
        shift = now - nxt.due_at
        with self.store.transaction():
            for s in pending:
                if s.seq < nxt.seq:
                    self.store.skip_step(guild_id, s.id, f"skipped: moderator moved on to Q{nxt.question}")
            self._shift(chat, [s for s in pending if s.seq >= nxt.seq], min(shift, timedelta(0)))
        self._audit(chat, actor_id, "skipped ahead", f"Q{nxt.question} now")
        return Outcome(f"Posting **Q{nxt.question}** now; the rest of the chat moves earlier by "
                       f"{_minutes(-min(shift, timedelta(0)))}.", self._reload(chat))

    def extend(self, guild_id: int, chat_id: int, minutes: float, *,
               actor_id: int | None) -> Outcome:
        """Push every step still to come back by `minutes`."""
        if not 0 < minutes <= MAX_EXTEND_MINUTES:
            raise ChatStateError(f"extend by 1 to {MAX_EXTEND_MINUTES} minutes")
        chat = self._chat(guild_id, chat_id, set(ACTIVE_CHAT_STATES),
                          "only a scheduled, running or paused chat can be extended")
        pending = self._pending(chat)
        if not pending:
            raise ChatStateError("nothing is left to post in that chat")
        self._shift(chat, pending, timedelta(minutes=minutes))
        self._audit(chat, actor_id, "extended", f"by {minutes:g} min")
        nxt = self._pending(self._reload(chat))[0]
        return Outcome(f"Extended **{chat.title}** by {minutes:g} min; next: "
                       f"{step_label(nxt.kind, nxt.question)}.", self._reload(chat))

    def stop(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Wrap up now: the questions still to come are skipped and the wrap-up posts."""
        chat = self._chat(guild_id, chat_id, {ChatState.RUNNING, ChatState.PAUSED},
                          "only a running or paused chat can be stopped (cancel one that has "
                          "not started)")
        now = self.now()
        with self.store.transaction():
            skipped = 0
            for s in self._pending(chat):
                if s.kind is StepKind.WRAP_UP:
                    self.store.reschedule_step(guild_id, s.id, now)
                else:
                    skipped += self.store.skip_step(guild_id, s.id, "skipped: chat stopped early")
            self.store.set_chat_state(guild_id, chat_id, ChatState.RUNNING)
        self._audit(chat, actor_id, "stopped early", f"{skipped} steps skipped")
        return Outcome(f"Wrapping up **{chat.title}** now ({skipped} step"
                       f"{'s' if skipped != 1 else ''} skipped).", self._reload(chat))

    def cancel(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Call off a chat that has not started; nothing of it will be posted."""
        chat = self._chat(guild_id, chat_id, {ChatState.SCHEDULED},
                          "only a chat that has not started can be cancelled; use stop to "
                          "wrap up a running one")
        with self.store.transaction():
            self.store.cancel_pending_steps(guild_id, chat_id, "chat cancelled")
            self.store.set_chat_state(guild_id, chat_id, ChatState.CANCELLED, ended_at=self.now())
        self._audit(chat, actor_id, "cancelled")
        return Outcome(f"Cancelled **{chat.title}**; nothing of it will be posted.",
                       self._reload(chat))

    # -- helpers -------------------------------------------------------------------------------

    def _chat(self, guild_id: int, chat_id: int, allowed: set[ChatState], why: str) -> ChatRecord:
        chat = self.store.chat(guild_id, chat_id)
        if chat.state not in allowed:
            raise ChatStateError(f"**{chat.title}** is {chat.state.value}: {why}.")
        return chat

    def _pending(self, chat: ChatRecord) -> list[StepRecord]:
        return [s for s in self.store.steps(chat.guild_id, chat.id) if s.state is StepState.PENDING]

    def _shift(self, chat: ChatRecord, steps: list[StepRecord], by: timedelta) -> None:
        with self.store.transaction():
            for s in steps:
                self.store.reschedule_step(chat.guild_id, s.id, s.due_at + by)
        self.wake()

    def _reload(self, chat: ChatRecord) -> ChatRecord:
        self.wake()
        return self.store.chat(chat.guild_id, chat.id)

    def _audit(self, chat: ChatRecord, actor_id: int | None, action: str, detail: str = "") -> None:
        self.store.audit(chat.guild_id, action, at=self.now(), actor_id=actor_id,
                         chat_id=chat.id, detail=detail)


def _minutes(delta: timedelta) -> str:
    minutes = abs(delta.total_seconds()) / 60
    if minutes < 1:
        return f"{abs(delta.total_seconds()):.0f} s"
    return f"{minutes:.0f} min" if minutes == int(minutes) or minutes >= 10 else f"{minutes:.1f} min"

