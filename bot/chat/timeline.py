"""The run-of-show timeline: from a chat definition and a start to dated steps.

Offsets are elapsed time from the start instant, so a chat that spans a daylight-saving
change keeps its real spacing (Q4 is ten real minutes after Q3 even when the wall clock
jumps back an hour in between). Start times are wall-clock times in an IANA zone;
:func:`resolve_start` turns them into instants and refuses the ones that cannot be.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo

from bot.chat.definition import MAX_CHAT_MINUTES, ChatDefinition
from bot.chat.zones import resolve_zone


class StepKind(str, Enum):
    REMINDER = "reminder"  # "starting soon", before the intro (a server setting)
    INTRO = "intro"
    QUESTION = "question"
    MIDWAY = "midway"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True)
class PlannedStep:
    """One post of the run of show, at its due instant (UTC)."""

    seq: int  # 0-based order within the chat
    kind: StepKind
    question: int | None  # question number for QUESTION steps
    offset: timedelta  # elapsed time from the start
    due: datetime  # aware, UTC

    @property
    def label(self) -> str:
        return step_label(self.kind, self.question)


def step_label(kind: StepKind | str, question: int | None) -> str:
    """Short human name of a step: Intro, Q3, Midway reminder, Wrap-up."""
    kind = StepKind(kind)
    if kind is StepKind.QUESTION:
        return f"Q{question}"
    return {StepKind.REMINDER: "Reminder", StepKind.INTRO: "Intro",
            StepKind.MIDWAY: "Midway reminder", StepKind.WRAP_UP: "Wrap-up"}[kind]


def step_offsets(definition: ChatDefinition) -> list[tuple[StepKind, int | None, float]]:
    """The steps of a chat with their offsets in minutes from the start, in posting order."""
    sched = definition.schedule
    steps: list[tuple[StepKind, int | None, float]] = [(StepKind.INTRO, None, 0.0)]
    question_at: dict[int, float] = {}
    previous: float | None = None
    for q in definition.questions:
        if q.at_minutes is not None:
            at = float(q.at_minutes)
        elif previous is None:
            at = float(sched.first_question_after_minutes)
        else:
            at = previous + sched.interval_minutes
        question_at[q.number] = at
        previous = at
    last = previous if previous is not None else 0.0
    midway = definition.midway
    for q in definition.questions:
        steps.append((StepKind.QUESTION, q.number, question_at[q.number]))
        if midway and q.number == midway.after_question and q.number + 1 in question_at:
            # Halfway between the question it follows and the next one.
            steps.append((StepKind.MIDWAY, None, (question_at[q.number] + question_at[q.number + 1]) / 2))
    wrap_after = sched.wrap_up_after_minutes
    steps.append((StepKind.WRAP_UP, None, last + (sched.interval_minutes if wrap_after is None else wrap_after)))
    return steps


def offsets_problems(definition: ChatDefinition) -> list[tuple[tuple, str]]:
    """Timing problems of a definition as (field path, message) pairs."""
    problems: list[tuple[tuple, str]] = []
    offsets = step_offsets(definition)
    question_at = {n: m for k, n, m in offsets if k is StepKind.QUESTION}
    previous = 0.0
    for index, q in enumerate(definition.questions):
        at = question_at[q.number]
        if index > 0 and at <= previous:
            problems.append(
                (("questions", index, "at_minutes"),
                 f"Q{q.number} at {at:g} minutes is not after Q{q.number - 1} at {previous:g}; "
                 "questions must come in order, later each time")
            )
        previous = at
    total = offsets[-1][2]
    if total > MAX_CHAT_MINUTES:
        problems.append(
            (("schedule",), f"the chat would last {total:g} minutes; at most {MAX_CHAT_MINUTES}")
        )
    return problems


def build_timeline(definition: ChatDefinition, start: datetime,
                   reminder_minutes: float = 0) -> list[PlannedStep]:
    """Dated steps of a chat starting at `start` (an aware datetime), in posting order,
    with a "starting soon" reminder `reminder_minutes` before the start if above 0.

    A pure function: the same definition and start always give the same steps.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start_utc = start.astimezone(timezone.utc)
    steps = []
    offsets = step_offsets(definition)
    if reminder_minutes > 0:
        offsets.insert(0, (StepKind.REMINDER, None, -float(reminder_minutes)))
    for seq, (kind, number, minutes) in enumerate(offsets):
        offset = timedelta(minutes=minutes)
        steps.append(PlannedStep(seq, kind, number, offset, start_utc + offset))
    return steps


def compressed(definition: ChatDefinition, speed: float) -> ChatDefinition:
    """The same chat with every timing divided by `speed`, for rehearsals and demos.
    Built in code, so the chat file's bounds on intervals do not apply."""
    s = definition.schedule
    return dataclasses.replace(definition, schedule=dataclasses.replace(
        s,
        first_question_after_minutes=s.first_question_after_minutes / speed,
        interval_minutes=s.interval_minutes / speed,
        wrap_up_after_minutes=(s.wrap_up_after_minutes or s.interval_minutes) / speed,
        late_grace_seconds=5,
    ))


class StartTimeError(ValueError):
    """A start time that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class ResolvedStart:
    instant: datetime  # aware, UTC
    zone: ZoneInfo
    note: str = ""  # e.g. how an ambiguous wall-clock time was read

    @property
    def local(self) -> datetime:
        return self.instant.astimezone(self.zone)


START_FORMAT = "YYYY-MM-DD HH:MM"
START_EXAMPLES = '"8pm Friday", "tomorrow 7.30pm", "next Monday 20:00" or 2026-12-07 20:00'
# A time of day in what was typed: 8pm, 7.30pm, 20:00, noon. Without one, "Monday" alone
# would be read as midnight.
_HAS_TIME = re.compile(r"\b\d{1,2}([:.]\d{2})?\s*(am|pm)\b|\b\d{1,2}[:.]\d{2}\b|\b(noon|midday|midnight)\b"
                       r"|\bin\s+\d+\s*(min|minute|hour|hr)s?\b", re.IGNORECASE)


def parse_local(text: str) -> datetime:
    """Parse "YYYY-MM-DD HH:MM" (also with T) into a naive wall-clock datetime."""
    cleaned = text.strip().replace("T", " ")
    try:
        return datetime.strptime(cleaned, "%Y-%m-%d %H:%M")
    except ValueError:
        raise StartTimeError(
            f"{text!r} is not a date and time; write it as {START_FORMAT}, e.g. 2026-12-07 20:00"
        ) from None


def parse_start(text: str, zone: ZoneInfo, *, now: datetime, default_time: time | None = None) -> datetime:
    """What a moderator typed as a start, as a naive wall-clock time in `zone`: ISO
    ("2026-12-07 20:00", or a date alone with `default_time`), or as people say it
    ("8pm", "20:00 Friday", "tomorrow 7.30pm", "next Monday 8pm"), read by dateparser
    against the current local time, preferring the future ("8pm" at 9pm is tomorrow's).

    :raises StartTimeError: when it is not a time, or names a day without a time and
        there is no `default_time`.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise StartTimeError(f"say when the chat starts, e.g. {START_EXAMPLES}")
    try:
        return parse_local(cleaned)
    except StartTimeError:
        pass
    try:
        day = datetime.strptime(cleaned, "%Y-%m-%d")
    except ValueError:
        day = None
    if day is not None:
        if default_time is None:
            raise StartTimeError(f"{cleaned} has no time; add one, e.g. {cleaned} 20:00")
        return datetime.combine(day.date(), default_time)
    import dateparser  # here: its import costs 80 ms that only this path needs

    # "7.30pm" is how many people write a time; dateparser wants "7:30pm".
    spoken = re.sub(r"\b(\d{1,2})\.(\d{2})(?=\s*(am|pm)\b|\s|$)", r"\1:\2", cleaned, flags=re.IGNORECASE)
    local_now = now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    found = dateparser.parse(spoken, languages=["en"], settings={
        "PREFER_DATES_FROM": "future", "RELATIVE_BASE": local_now, "DATE_ORDER": "DMY",
        "RETURN_AS_TIMEZONE_AWARE": False, "PARSERS": ["relative-time", "absolute-time"]})
    if found is None:
        raise StartTimeError(f"I can't read {cleaned!r} as a start time; try {START_EXAMPLES}")
    if not _HAS_TIME.search(spoken):
        if default_time is None:
            raise StartTimeError(f"{cleaned!r} has no time of day; add one, e.g. \"{cleaned} 8pm\"")
        found = datetime.combine(found.date(), default_time)
    return found.replace(second=0, microsecond=0)


def resolve_start(
    local: str | datetime, tz: str, *, now: datetime, occurrence: str = "earlier",
    allow_past: bool = False, default_time: time | None = None,
) -> ResolvedStart:
    """Turn a wall-clock start in an IANA zone into an instant.

    :param local: what was typed (see :func:`parse_start`) or a naive datetime (wall-clock
        time in `tz`).
    :param tz: IANA zone name (any case); unknown names raise UnknownTimeZone with suggestions.
    :param now: the current instant (injected so tests control it).
    :param occurrence: for a wall-clock time that happens twice (clocks going back),
        "earlier" or "later".
    :param allow_past: accept a start before `now` (only for previews of past chats).
    :param default_time: the time for a start that names only a day (the chat file's).
    :raises StartTimeError: for a malformed, non-existent or past time.
    """
    zone = resolve_zone(tz)
    naive = (parse_start(local, zone, now=now, default_time=default_time) if isinstance(local, str)
             else local.replace(tzinfo=None))
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    stamp = naive.strftime("%H:%M on %a %d %b %Y")

    # A wall-clock time inside a spring-forward gap does not round-trip through UTC.
    round_trip = first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        same_moment = first.astimezone(timezone.utc).astimezone(zone)
        raise StartTimeError(
            f"{stamp} does not exist in {zone.key}: the clocks go forward then. "
            f"Choose a time outside the skipped hour, e.g. {same_moment:%H:%M} "
            f"({same_moment.tzname()})."
        )
    note = ""
    if first.utcoffset() != second.utcoffset():
        if occurrence not in ("earlier", "later"):
            raise StartTimeError('occurrence must be "earlier" or "later"')
        chosen, other = (first, second) if occurrence == "earlier" else (second, first)
        note = (
            f"{stamp} happens twice in {zone.key} (the clocks go back); using the "
            f"{occurrence} one ({chosen.tzname()}, UTC{_offset(chosen)}), not the "
            f"{'later' if occurrence == 'earlier' else 'earlier'} one ({other.tzname()})."
        )
    else:
        chosen = first
    instant = chosen.astimezone(timezone.utc)
    if instant <= now and not allow_past:
        raise StartTimeError(
            f"{stamp} {chosen.tzname()} is in the past (it is now "
            f"{now.astimezone(zone):%H:%M on %a %d %b %Y} there); choose a later time."
        )
    return ResolvedStart(instant, zone, note)


def _offset(moment: datetime) -> str:
    total = int(moment.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "+" if total >= 0 else "-"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
