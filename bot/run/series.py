"""Series: a chat that recurs (weekly, every N weeks, or monthly on a weekday) at one local
hour, each occurrence its own chat in the ledger.

A series keeps its next :data:`HORIZON` occurrences scheduled as ordinary chats (each with
its steps, its Discord Event and the dispatcher's exactly-once guarantee), and tops itself
up whenever one of them finishes or is cancelled, whenever a moderator changes it, and
when the bot starts (so a bot that was down between occurrences schedules the ones it
missed creating). The database refuses a second live chat for the same occurrence, so
topping up twice, or from two processes, never schedules one twice.

Occurrences take their chat from the series: the same chat every time (mode "same"), or
the chats of a queue, each once and in order (mode "queue"); an occurrence a moderator
skipped or swapped another chat into does not use up the queue's next chat.
"""

from __future__ import annotations

import sqlite3
from itertools import islice
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from bot.chat import ChatDefinition
from bot.chat.recurrence import Occurrence, Repeat, next_occurrences, occurrences, parse_repeat
from bot.chat.timeline import ResolvedStart, build_timeline, resolve_start
from bot.chat.zones import resolve_zone
from bot.run.control import ChatStateError, InputError, with_interval
from bot.store import Chat, ChatActionKind, ChatState, Series, SeriesState, Store

HORIZON = 3  # occurrences kept scheduled ahead, each with its Discord Event
MAX_COUNT = 520
MODES = {"same": "the same chat every time", "queue": "a queue: each chat once, in order"}
SHOWN = 8  # upcoming occurrences listed for moderators


@dataclass(frozen=True)
class SeriesPreview:
    """A series checked but not yet created (shown before Confirm)."""

    definition: ChatDefinition
    repeat: Repeat
    first: ResolvedStart
    count: int | None
    until: date | None
    mode: str
    interval_minutes: float | None
    upcoming: list[Occurrence]


@dataclass(frozen=True)
class Upcoming:
    """One occurrence as moderators see it: its date and what it will run."""

    occurrence: Occurrence
    title: str | None  # None: skipped, or nothing left in the queue
    status: str  # "scheduled as chat #12", "skipped", "swapped in", "not scheduled yet"...
    chat: Chat | None


@dataclass(frozen=True)
class SeriesOutcome:
    message: str
    series: Series
    scheduled: list[Chat]  # chats the change scheduled (each needs its Event)
    cancelled: list[Chat]  # chats the change called off (each Event cancelled)


def parse_until(text: str | None) -> date | None:
    """An end date as YYYY-MM-DD (None: no end date)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not a date; write the last date as YYYY-MM-DD, "
                         "e.g. 2027-06-30") from None


class SeriesControl:
    """Creating, changing and topping up a server's series."""

    def __init__(self, store: Store, now: Callable[[], datetime],
                 wake: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.now = now
        self.wake = wake

    # -- creating ---------------------------------------------------------------------------

    def preview(self, definition: ChatDefinition, repeat: str, when: str, tz: str, *,
                count: int | None = None, until: str | None = None, mode: str = "same",
                interval_minutes: float | None = None) -> SeriesPreview:
        """Check a series and list its first occurrences, writing nothing.

        :raises RepeatError, StartTimeError, UnknownTimeZone, InputError: for people.
        """
        rule = parse_repeat(repeat)
        if mode not in MODES:
            raise InputError(f"mode {mode!r} is not one of: " + ", ".join(MODES))
        definition = with_interval(definition, interval_minutes)
        if count is not None and not 1 <= count <= MAX_COUNT:
            raise InputError(f"a series has 1 to {MAX_COUNT} occurrences (leave count out for no limit)")
        last = parse_until(until)
        first = resolve_start(when, tz, now=self.now(), default_time=definition.schedule.start)
        if last is not None and last < first.local.date():
            raise InputError(f"the series would end on {last:%a %d %b %Y}, before its first chat "
                             f"on {first.local:%a %d %b %Y}; give a later end date")
        local_first = first.local.replace(tzinfo=None)
        upcoming = list(islice(occurrences(rule, local_first, first.zone, count=count, until=last), SHOWN))
        if not upcoming:
            raise InputError(f"{rule.describe()} from {first.local:%a %d %b %Y} has no date "
                             "before the end you gave; give a later end date")
        return SeriesPreview(definition, rule, first, count, last, mode, interval_minutes, upcoming)

    def create(self, guild_id: int, channel_id: int, preview: SeriesPreview, *,
               actor_id: int | None) -> SeriesOutcome:
        """Record a previewed series and schedule its first occurrences."""
        if preview.upcoming[0].start <= self.now():
            raise ChatStateError("the first chat's start has passed while you were confirming; "
                                 "create the series again with a later start")
        series = self.store.create_series(
            guild_id=guild_id, channel_id=channel_id, repeat=preview.repeat.value,
            first_local=preview.upcoming[0].local, timezone_name=preview.first.zone.key,
            count=preview.count, until=preview.until, mode=preview.mode,
            interval_minutes=preview.interval_minutes, definitions=[preview.definition],
            created_by=actor_id, now=self.now())
        self.store.audit(guild_id, "series created", at=self.now(), actor_id=actor_id,
                         detail=f"#{series.id} {series.title!r} {series.repeat} in channel "
                                f"{channel_id} from {series.first_local:%Y-%m-%d %H:%M} {series.timezone}")
        scheduled = self.top_up(guild_id, series.id)
        return SeriesOutcome(f"Created series #{series.id} **{series.title}**, "
                             f"{preview.repeat.describe()}.", series, scheduled, [])

    # -- what is coming ----------------------------------------------------------------------

    def upcoming(self, guild_id: int, series_id: int, limit: int = SHOWN) -> list[Upcoming]:
        """The next occurrences (from now) and what each will run."""
        series = self.store.series(guild_id, series_id)
        if series.state is not SeriesState.ACTIVE:
            return []
        live = self._live_chats(series)
        changes = self.store.series_changes(guild_id, series_id)
        queue = self.store.series_chats(guild_id, series_id)
        out = []
        for occ in self._occurrences(series, after=self.now() - timedelta(hours=12), limit=limit):
            chat = live.get(occ.number)
            change = changes.get(occ.number)
            if chat is not None and chat.state is not ChatState.FINISHED:
                out.append(Upcoming(occ, chat.title, f"{chat.state.value} as chat #{chat.id}", chat))
            elif chat is not None:
                continue  # already over today
            elif change is not None and change.skipped:
                out.append(Upcoming(occ, None, "skipped", None))
            else:
                definition = self._definition(series, occ.number, changes, queue)
                out.append(Upcoming(occ, definition.title if definition else None,
                                    "scheduled nearer the time" if definition else
                                    "nothing left in the queue: add a chat", None))
        return out

    # -- changing ------------------------------------------------------------------------------

    def skip(self, guild_id: int, series_id: int, occurrence: int, *,
             actor_id: int | None) -> SeriesOutcome:
        """Leave one occurrence out (its chat, if already scheduled, is cancelled)."""
        series, occ = self._changeable(guild_id, series_id, occurrence)
        cancelled = []
        with self.store.transaction():
            self.store.set_series_change(guild_id, series_id, occurrence, skipped=True,
                                         definition=None, now=self.now())
            cancelled = self._cancel_occurrence(series, occurrence, "occurrence skipped")
        self._audit(series, actor_id, "series occurrence skipped", f"{occ.local:%Y-%m-%d %H:%M}")
        scheduled = self.top_up(guild_id, series_id)
        return SeriesOutcome(f"Skipped the {occ.local:%a %d %b %Y %H:%M} chat of "
                             f"**{series.title}**.", series, scheduled, cancelled)

    def swap(self, guild_id: int, series_id: int, occurrence: int, definition: ChatDefinition, *,
             actor_id: int | None) -> SeriesOutcome:
        """Run another chat at one occurrence (the queue keeps its order for the rest)."""
        series, occ = self._changeable(guild_id, series_id, occurrence)
        definition = with_interval(definition, series.interval_minutes)
        with self.store.transaction():
            self.store.set_series_change(guild_id, series_id, occurrence, skipped=False,
                                         definition=definition, now=self.now())
            cancelled = self._cancel_occurrence(series, occurrence, "another chat swapped in")
        self._audit(series, actor_id, "series occurrence swapped",
                    f"{occ.local:%Y-%m-%d %H:%M}: {definition.title!r}")
        scheduled = self.top_up(guild_id, series_id)
        return SeriesOutcome(f"The {occ.local:%a %d %b %Y %H:%M} chat of **{series.title}** will "
                             f"be **{definition.title}**.", series, scheduled, cancelled)

    def add(self, guild_id: int, series_id: int, definition: ChatDefinition, *,
            actor_id: int | None) -> SeriesOutcome:
        """Put a chat at the end of a queue series."""
        series = self._active(guild_id, series_id)
        if series.mode != "queue":
            raise ChatStateError(f"series #{series.id} runs the same chat every time; swap a chat "
                                 "into one occurrence instead (`/tweetchat series swap`)")
        position = self.store.add_series_chat(guild_id, series_id,
                                              with_interval(definition, series.interval_minutes),
                                              self.now())
        self._audit(series, actor_id, "series chat added", f"{definition.title!r} at {position + 1}")
        scheduled = self.top_up(guild_id, series_id)
        return SeriesOutcome(f"Added **{definition.title}** to **{series.title}**'s queue "
                             f"(number {position + 1}).", series, scheduled, [])

    def end(self, guild_id: int, series_id: int, *, actor_id: int | None) -> SeriesOutcome:
        """End a series: nothing more is scheduled and the chats not yet started are
        cancelled (a running one carries on to its wrap-up)."""
        series = self._active(guild_id, series_id)
        with self.store.transaction():
            self.store.set_series_state(guild_id, series_id, SeriesState.ENDED, self.now())
            cancelled = []
            for chat in self._live_chats(series).values():
                if chat.state is ChatState.SCHEDULED:
                    cancelled.append(self._cancel_chat(chat, "series ended"))
        self._audit(series, actor_id, "series ended", f"{len(cancelled)} chats cancelled")
        self.wake()
        return SeriesOutcome(f"Ended **{series.title}**; {len(cancelled)} scheduled "
                             f"chat{'s' if len(cancelled) != 1 else ''} cancelled.",
                             self.store.series(guild_id, series_id), [], cancelled)

    # -- topping up ---------------------------------------------------------------------------

    def top_up(self, guild_id: int, series_id: int) -> list[Chat]:
        """Schedule occurrences until :data:`HORIZON` are waiting (the ones whose start is
        already past are left out); finish the series when none is left. Returns the
        chats it scheduled; each gets an "announce" action (its Discord Event)."""
        series = self.store.series(guild_id, series_id)
        if series.state is not SeriesState.ACTIVE:
            return []
        now = self.now()
        live = self._live_chats(series)
        waiting = sum(1 for c in live.values() if c.state is ChatState.SCHEDULED)
        changes = self.store.series_changes(guild_id, series_id)
        queue = self.store.series_chats(guild_id, series_id)
        reminder = self.store.server_settings(guild_id).reminder_lead_minutes
        made: list[Chat] = []
        left = False
        for occ in self._occurrences(series, after=now, limit=HORIZON + len(changes) + waiting + 1):
            left = True
            if waiting >= HORIZON:
                break
            if occ.number in live:
                continue
            change = changes.get(occ.number)
            if change is not None and change.skipped:
                continue
            definition = self._definition(series, occ.number, changes, queue)
            if definition is None:
                break  # the queue is empty from here on
            lead = reminder if occ.start - timedelta(minutes=reminder) > now else 0
            try:
                with self.store.transaction():
                    chat = self.store.create_chat(
                        guild_id=guild_id, channel_id=series.channel_id, definition=definition,
                        start_at=occ.start, timezone_name=series.timezone,
                        steps=build_timeline(definition, occ.start, lead),
                        created_by=series.created_by, now=now, series_id=series.id,
                        occurrence=occ.number)
                    self.store.add_chat_actions(guild_id, chat.id, [ChatActionKind.ANNOUNCE], now)
                    self.store.audit(guild_id, "scheduled", at=now, chat_id=chat.id,
                                     detail=f"series #{series.id}, {occ.local:%Y-%m-%d %H:%M} "
                                            f"{series.timezone}" + (f" ({occ.note})" if occ.note else ""))
            except sqlite3.IntegrityError:
                continue  # another top-up (or process) scheduled this occurrence first
            made.append(chat)
            waiting += 1
        if not left and not any(c.state is not ChatState.FINISHED for c in live.values()
                                if c.state is not ChatState.CANCELLED):
            self.store.set_series_state(guild_id, series_id, SeriesState.FINISHED, now)
            self.store.audit(guild_id, "series finished", at=now,
                             detail=f"#{series.id}: no occurrence left")
        if made:
            self.wake()
        return made

    def top_up_after(self, chat: Chat) -> list[Chat]:
        """After a chat finished or was cancelled: top its series up."""
        if chat.series_id is None:
            return []
        return self.top_up(chat.guild_id, chat.series_id)

    def top_up_all(self) -> int:
        """At start: top every active series up (the bot may have been down)."""
        return sum(len(self.top_up(g, s)) for g, s in self.store.active_series_keys())

    def next_chat(self, chat: Chat) -> Chat | None:
        """The occurrence scheduled after `chat` in its series, if any."""
        if chat.series_id is None:
            return None
        later = [c for c in self._live_chats(self.store.series(chat.guild_id, chat.series_id)).values()
                 if c.start_at > chat.start_at and c.state is ChatState.SCHEDULED]
        return min(later, key=lambda c: c.start_at, default=None)

    # -- helpers ---------------------------------------------------------------------------------

    def _occurrences(self, series: Series, *, after: datetime, limit: int) -> list[Occurrence]:
        return next_occurrences(parse_repeat(series.repeat), series.first_local,
                                resolve_zone(series.timezone), after=after, limit=limit,
                                count=series.count, until=series.until)

    def _definition(self, series: Series, number: int, changes: dict,
                    queue: list[ChatDefinition]) -> ChatDefinition | None:
        change = changes.get(number)
        if change is not None and change.definition is not None:
            return change.definition
        if series.mode == "same":
            definition = queue[0]
        else:
            position = number - sum(1 for k in changes if k < number)
            if position >= len(queue):
                return None
            definition = queue[position]
        return with_interval(definition, series.interval_minutes)

    def _live_chats(self, series: Series) -> dict[int, Chat]:
        return {c.occurrence: c for c in self.store.series_occurrence_chats(series.guild_id, series.id)
                if c.state is not ChatState.CANCELLED}

    def _active(self, guild_id: int, series_id: int) -> Series:
        series = self.store.series(guild_id, series_id)
        if series.state is not SeriesState.ACTIVE:
            raise ChatStateError(f"series #{series.id} **{series.title}** has {series.state.value}; "
                                 "create a new one with `/tweetchat series create`")
        return series

    def _changeable(self, guild_id: int, series_id: int, occurrence: int) -> tuple[Series, Occurrence]:
        series = self._active(guild_id, series_id)
        occ = next((o for o in self._occurrences(series, after=self.now(), limit=100)
                    if o.number == occurrence), None)
        if occ is None:
            raise InputError(f"series #{series.id} has no occurrence number {occurrence} among its "
                             "next 100; pick one from the list")
        chat = self._live_chats(series).get(occurrence)
        if chat is not None and chat.state is not ChatState.SCHEDULED:
            raise ChatStateError(f"the {occ.local:%a %d %b} chat is {chat.state.value}; use "
                                 "`/tweetchat stop` to wrap it up instead")
        return series, occ

    def _cancel_occurrence(self, series: Series, occurrence: int, reason: str) -> list[Chat]:
        chat = self._live_chats(series).get(occurrence)
        return [self._cancel_chat(chat, reason)] if chat is not None else []

    def _cancel_chat(self, chat: Chat, reason: str) -> Chat:
        self.store.cancel_chat(chat.guild_id, chat.id, reason, self.now())
        self.store.audit(chat.guild_id, "cancelled", at=self.now(), chat_id=chat.id, detail=reason)
        return self.store.chat(chat.guild_id, chat.id)

    def _audit(self, series: Series, actor_id: int | None, action: str, detail: str) -> None:
        self.store.audit(series.guild_id, action, at=self.now(), actor_id=actor_id,
                         detail=f"series #{series.id}: {detail}")

