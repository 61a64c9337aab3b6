"""Moderator operations on chats: schedule, start, pause, resume, skip, extend, stop, cancel.

Each operation is a change to the step ledger in the store, checked against the chat's
state, written in one transaction, logged in the server's audit log with who did it, and
followed by a wake-up of the dispatcher. Each returns a sentence for the moderator, or
raises :class:`ChatStateError` saying why it cannot be done and what to do instead, or
:class:`InputError` when what the moderator typed is not valid.

The server's settings (`configure`) and the chats a moderator writes (`save_chat`) are
changed here too, so the Discord layer never writes to the store itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterator

from bot.chat import CatchUp, ChatDefinition
from bot.chat.posts import plural
from bot.chat.zones import resolve_zone
from bot.record.privacy import MAX_RETENTION_DAYS
from bot.store import (
    ACTIVE_CHAT_STATES, Chat, ChatState, ServerSettings, Step, StepState, Store,
)
from bot.chat.timeline import (
    PlannedStep, ResolvedStart, StepKind, build_timeline, compressed, offsets_problems,
    resolve_start, step_label,
)

MAX_EXTEND_MINUTES = 180
MAX_REMINDER_MINUTES = 1440


class ChatStateError(Exception):
    """An operation that does not fit the chat's state; the message is for the moderator."""


class InputError(ValueError):
    """What a moderator typed is not valid; the message says what is wrong and what would
    work. Nothing was changed."""


@dataclass(frozen=True)
class Outcome:
    message: str
    chat: Chat


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
        raise InputError("the interval must be between 0.5 and 240 minutes")
    changed = dataclasses.replace(
        definition,
        schedule=dataclasses.replace(definition.schedule, interval_minutes=interval_minutes),
    )
    problems = offsets_problems(changed)
    if problems:
        raise InputError(
            "with that interval: " + "; ".join(message for _, message in problems)
        )
    return changed


class ChatControl:
    """The operations moderators run on a server's chats."""

    def __init__(self, store: Store, now: Callable[[], datetime],
                 wake: Callable[[], None] = lambda: None,
                 chat_over: Callable[[Chat], object] = lambda chat: None) -> None:
        """
        :param store: the database.
        :param now: the clock (returns aware UTC datetimes).
        :param wake: called after every change so the dispatcher re-reads the ledger.
        :param chat_over: called with a chat a moderator cancelled (its series tops up).
        """
        self.store = store
        self.now = now
        self.wake = wake
        self.chat_over = chat_over

    # -- scheduling --------------------------------------------------------------------------

    def preview(self, definition: ChatDefinition, start_local: str, tz: str, *,
                interval_minutes: float | None = None, occurrence: str = "earlier",
                reminder_minutes: float = 0) -> Preview:
        """Check a start and plan every step, without writing anything. A reminder is
        planned `reminder_minutes` before the start if that is still in the future.

        :raises UnknownTimeZone, StartTimeError, InputError: with a message for people.
        """
        definition = with_interval(definition, interval_minutes)
        start = resolve_start(start_local, tz, now=self.now(), occurrence=occurrence,
                              default_time=definition.schedule.start)
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

    def schedule_compressed(self, guild_id: int, channel_id: int, definition: ChatDefinition, *,
                            speed: float, lead_seconds: float, zone: str,
                            actor_id: int | None) -> Outcome:
        """Schedule a chat to start `lead_seconds` from now with its timings `speed` times
        faster: for rehearsals, the demo and trials, which cannot wait for a real evening."""
        if speed <= 0:
            raise InputError("the speed must be above 0, e.g. 60 to run an hour in a minute")
        definition = compressed(definition, speed)
        start = self.now() + timedelta(seconds=lead_seconds)
        preview = Preview(definition, ResolvedStart(start, resolve_zone(zone)),
                          build_timeline(definition, start))
        return self.schedule(guild_id, channel_id, preview, actor_id=actor_id)

    # -- the server's settings and chats ----------------------------------------------------

    def configure(self, guild_id: int, *, actor_id: int | None, **changes) -> ServerSettings:
        """Change some of a server's settings, each checked, in one audited write.

        :param changes: any of ``timezone`` (an IANA name, resolved), ``host_role_id``,
            ``catch_up`` ("post-late" or "skip"), ``reminder_lead_minutes`` (0 to 1440),
            ``archive_threads``, ``retention_days`` (1 to 3650, or 0/None: keep answers),
            ``share_record``, ``confidentiality_nudge``, ``reminder_role_id`` (pinged by "starting soon" instead of DM
            reminders; None: DMs).
        :raises InputError, UnknownTimeZone: naming the setting and what would be valid.
        """
        checked = {}
        for name, value in changes.items():
            if name == "timezone":
                value = resolve_zone(value).key
            elif name == "catch_up" and value is not None:
                try:
                    value = CatchUp(value).value
                except ValueError:
                    raise InputError(f"catch_up {value!r} is not a policy; use one of "
                                     + ", ".join(repr(c.value) for c in CatchUp)) from None
            elif name == "reminder_lead_minutes":
                if not 0 <= value <= MAX_REMINDER_MINUTES:
                    raise InputError(f"the reminder must be 0 to {MAX_REMINDER_MINUTES} minutes "
                                     "before the start (0: no reminder)")
            elif name == "retention_days":
                value = value or None
                if value is not None and not 1 <= value <= MAX_RETENTION_DAYS:
                    raise InputError(f"answers can be kept 1 to {MAX_RETENTION_DAYS} days "
                                     "(0: until deleted)")
            elif name == "reminder_role_id" and value == guild_id:
                raise InputError("the reminder role can't be @everyone; make a role members give "
                                 "themselves (e.g. \"chat reminders\") and name that")
            elif name not in ("host_role_id", "archive_threads", "share_record", "reminder_role_id",
                              "confidentiality_nudge"):
                raise InputError(f"there is no setting called {name!r}")
            checked[name] = value
        if not checked:
            return self.store.server_settings(guild_id)
        settings = self.store.update_server_settings(guild_id, self.now(), **checked)
        self.store.audit(guild_id, "config changed", at=self.now(), actor_id=actor_id,
                         detail=", ".join(f"{k}={v}" for k, v in checked.items()))
        return settings

    def save_chat(self, guild_id: int, definition: ChatDefinition, *,
                  actor_id: int | None) -> int:
        """Keep a chat a moderator wrote (already validated), for this server; its id."""
        saved_id = self.store.save_chat(guild_id, definition, created_by=actor_id, now=self.now())
        self.store.audit(guild_id, "chat saved", at=self.now(), actor_id=actor_id,
                         detail=definition.title)
        return saved_id

    # -- running ----------------------------------------------------------------------------

    def start_now(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Start a scheduled chat now: the whole schedule moves so the intro is due now."""
        with self._changing(guild_id, chat_id, {ChatState.SCHEDULED},
                            "only a chat that has not started can be started") as chat:
            pending = self._pending(chat)
            intro = next(s for s in pending if s.kind is StepKind.INTRO)
            shift = self.now() - intro.due_at
            for s in pending:
                if s.kind is StepKind.REMINDER:
                    self.store.skip_step(guild_id, s.id, "skipped: chat started early")
            self._shift(chat, [s for s in pending if s.kind is not StepKind.REMINDER], shift)
        self._audit(chat, actor_id, "started now", f"schedule moved by {_minutes(shift)}")
        return Outcome(f"Starting **{chat.title}** now; every step moved by {_minutes(shift)}.",
                       self._reload(chat))

    def pause(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Hold a running chat: nothing is posted until it is resumed."""
        with self._changing(guild_id, chat_id, {ChatState.RUNNING},
                            "only a running chat can be paused") as chat:
            self.store.set_chat_state(guild_id, chat_id, ChatState.PAUSED, paused_at=self.now())
        self._audit(chat, actor_id, "paused")
        return Outcome(f"Paused **{chat.title}**. Use resume to carry on; the remaining "
                       "questions will keep their spacing.", self._reload(chat))

    def resume(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Carry on a paused chat; the remaining steps move later by the time paused."""
        with self._changing(guild_id, chat_id, {ChatState.PAUSED},
                            "only a paused chat can be resumed") as chat:
            paused_for = self.now() - (chat.paused_at or self.now())
            self._shift(chat, self._pending(chat), paused_for)
            self.store.set_chat_state(guild_id, chat_id, ChatState.RUNNING)
        self._audit(chat, actor_id, "resumed", f"after {_minutes(paused_for)}")
        return Outcome(f"Resumed **{chat.title}** after {_minutes(paused_for)}; the remaining "
                       f"steps moved later by as much.", self._reload(chat))

    def skip_to_next_question(self, guild_id: int, chat_id: int, *,
                              actor_id: int | None) -> Outcome:
        """Post the next question now; later steps keep their spacing after it."""
        now = self.now()
        with self._changing(guild_id, chat_id, {ChatState.RUNNING},
                            "only a running chat can move on to its next question") as chat:
            pending = self._pending(chat)
            nxt = next((s for s in pending if s.kind is StepKind.QUESTION), None)
            if nxt is None:
                raise ChatStateError("every question has been posted; use stop to wrap up now")
            shift = now - nxt.due_at
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
            raise InputError(f"extend by 1 to {MAX_EXTEND_MINUTES} minutes")
        with self._changing(guild_id, chat_id, set(ACTIVE_CHAT_STATES),
                            "only a scheduled, running or paused chat can be extended") as chat:
            pending = self._pending(chat)
            if not pending:
                raise ChatStateError("nothing is left to post in that chat")
            self._shift(chat, pending, timedelta(minutes=minutes))
        self._audit(chat, actor_id, "extended", f"by {minutes:g} min")
        nxt = pending[0]
        return Outcome(f"Extended **{chat.title}** by {minutes:g} min; next: "
                       f"{step_label(nxt.kind, nxt.question)}.", self._reload(chat))

    def stop(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Wrap up now: the questions still to come are skipped and the wrap-up posts."""
        now = self.now()
        with self._changing(guild_id, chat_id, {ChatState.RUNNING, ChatState.PAUSED},
                            "only a running or paused chat can be stopped (cancel one that has "
                            "not started)") as chat:
            skipped = 0
            for s in self._pending(chat):
                if s.kind is StepKind.WRAP_UP:
                    self.store.reschedule_step(guild_id, s.id, now)
                else:
                    skipped += self.store.skip_step(guild_id, s.id, "skipped: chat stopped early")
            self.store.set_chat_state(guild_id, chat_id, ChatState.RUNNING)
        self._audit(chat, actor_id, "stopped early", f"{skipped} steps skipped")
        return Outcome(f"Wrapping up **{chat.title}** now ({plural(skipped, 'step')} skipped).",
                       self._reload(chat))

    def cancel(self, guild_id: int, chat_id: int, *, actor_id: int | None) -> Outcome:
        """Call off a chat that has not started; nothing of it will be posted."""
        with self._changing(guild_id, chat_id, {ChatState.SCHEDULED},
                            "only a chat that has not started can be cancelled; use stop to "
                            "wrap up a running one") as chat:
            self.store.cancel_chat(guild_id, chat_id, "chat cancelled", self.now())
            if chat.series_id is not None:  # cancelling an occurrence skips it
                self.store.set_series_change(guild_id, chat.series_id, chat.occurrence,
                                             skipped=True, definition=None, now=self.now())
        self._audit(chat, actor_id, "cancelled")
        self.chat_over(chat)
        rest = " The series carries on with its next date." if chat.series_id is not None else ""
        return Outcome(f"Cancelled **{chat.title}**; nothing of it will be posted.{rest}",
                       self._reload(chat))

    # -- helpers -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _changing(self, guild_id: int, chat_id: int, allowed: set[ChatState],
                  why: str) -> Iterator[Chat]:
        """The chat, checked to be in one of the `allowed` states, inside one write
        transaction with the change made under it: the bot (another process, when this is
        the operator's command line) cannot post a step or move the chat on between the
        check and the change."""
        with self.store.transaction():
            chat = self.store.chat(guild_id, chat_id)
            if chat.state not in allowed:
                raise ChatStateError(f"**{chat.title}** is {chat.state.value}: {why}.")
            yield chat

    def _pending(self, chat: Chat) -> list[Step]:
        return [s for s in self.store.steps(chat.guild_id, chat.id) if s.state is StepState.PENDING]

    def _shift(self, chat: Chat, steps: list[Step], by: timedelta) -> None:
        with self.store.transaction():
            for s in steps:
                self.store.reschedule_step(chat.guild_id, s.id, s.due_at + by)
        self.wake()

    def _reload(self, chat: Chat) -> Chat:
        self.wake()
        return self.store.chat(chat.guild_id, chat.id)

    def _audit(self, chat: Chat, actor_id: int | None, action: str, detail: str = "") -> None:
        self.store.audit(chat.guild_id, action, at=self.now(), actor_id=actor_id,
                         chat_id=chat.id, detail=detail)


def _minutes(delta: timedelta) -> str:
    minutes = abs(delta.total_seconds()) / 60
    if minutes < 1:
        return f"{abs(delta.total_seconds()):.0f} s"
    return f"{minutes:.0f} min" if minutes == int(minutes) or minutes >= 10 else f"{minutes:.1f} min"

