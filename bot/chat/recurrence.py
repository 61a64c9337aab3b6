"""How a series repeats: "weekly", "every-2-weeks", "monthly-2nd-monday", and the dates of
its occurrences at one local hour in an IANA zone.

The dates are computed on the wall clock (with dateutil's rrule, RFC 5545's recurrence
rules) and only then turned into instants, so an 8pm chat stays at 8pm local across the
clock changes: its UTC time moves by an hour instead. A wall-clock time that does not
exist on some date (inside a spring-forward gap) runs at the same moment read with the
offset before the change (02:30 becomes 03:30 summer time), and says so; one that happens
twice takes the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from dateutil import rrule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS = {"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "4th": 4,
            "fourth": 4, "last": -1}
ORDINAL_NAMES = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}
MAX_WEEKS = 12
REPEAT_EXAMPLES = '"weekly", "every-2-weeks" (or "fortnightly") or "monthly-2nd-monday" (or "monthly-last-friday")'


class RepeatError(ValueError):
    """A repeat rule that cannot be read; the message says what would work."""


@dataclass(frozen=True)
class Repeat:
    """Every `weeks` weeks on the first date's weekday, or (when `nth` is set) monthly on
    the nth (1-4, or -1 for the last) `weekday` of the month."""

    weeks: int = 1
    nth: int | None = None
    weekday: int | None = None  # 0 is Monday

    @property
    def value(self) -> str:
        """The canonical text (what `parse_repeat` reads back)."""
        if self.nth is not None:
            return f"monthly-{ORDINAL_NAMES[self.nth]}-{WEEKDAYS[self.weekday]}"
        return "weekly" if self.weeks == 1 else f"every-{self.weeks}-weeks"

    def describe(self) -> str:
        """For people: "every week", "every 2 weeks", "the 2nd Monday of every month"."""
        if self.nth is not None:
            return f"the {ORDINAL_NAMES[self.nth]} {WEEKDAYS[self.weekday].title()} of every month"
        return "every week" if self.weeks == 1 else f"every {self.weeks} weeks"

    def rule(self, first: datetime, *, count: int | None = None,
             until: datetime | None = None) -> rrule.rrule:
        """The rrule from the naive wall-clock `first` start."""
        if self.nth is not None:
            return rrule.rrule(rrule.MONTHLY, dtstart=first, count=count, until=until,
                               byweekday=rrule.weekday(self.weekday, self.nth))
        return rrule.rrule(rrule.WEEKLY, interval=self.weeks, dtstart=first, count=count,
                           until=until)


def parse_repeat(text: str) -> Repeat:
    """Read a repeat rule as a moderator or operator writes it: weekly, fortnightly,
    every-3-weeks (or "every 3 weeks"), monthly-2nd-monday (or "second Monday",
    "monthly-last-friday"). Case, spaces and hyphens do not matter.

    :raises RepeatError: naming what would work.
    """
    cleaned = re.sub(r"[\s_-]+", " ", text.strip().lower())
    cleaned = re.sub(r"\b(of )?(the|every|each) month\b|\bof the month\b", "", cleaned).strip()
    if cleaned in ("weekly", "every week", "each week", "1 week", "every 1 weeks"):
        return Repeat()
    if cleaned in ("fortnightly", "every other week", "every 2 weeks", "every two weeks"):
        return Repeat(weeks=2)
    match = re.fullmatch(r"every (\d+) weeks?", cleaned)
    if match:
        weeks = int(match.group(1))
        if not 1 <= weeks <= MAX_WEEKS:
            raise RepeatError(f"a series repeats every 1 to {MAX_WEEKS} weeks, not every {weeks}")
        return Repeat(weeks=weeks)
    match = re.fullmatch(r"(?:monthly )?(?:on )?(?:the )?(\w+) (\w+?)s?", cleaned)
    if match and match.group(1) in ORDINALS:
        day = next((i for i, name in enumerate(WEEKDAYS) if name.startswith(match.group(2))
                    and len(match.group(2)) >= 3), None)
        if day is not None:
            return Repeat(nth=ORDINALS[match.group(1)], weekday=day)
    if cleaned.startswith("monthly") or cleaned in ("every month", "month"):
        raise RepeatError("say which weekday of the month, e.g. monthly-2nd-monday or "
                          "monthly-last-friday (a 5th weekday is not in every month)")
    if cleaned in ("biweekly", "bi weekly"):
        raise RepeatError('"biweekly" means twice a week to some and every two weeks to '
                          'others; write "every-2-weeks" (or "fortnightly")')
    raise RepeatError(f"I can't read {text!r} as a repeat; use {REPEAT_EXAMPLES}")


@dataclass(frozen=True)
class Occurrence:
    """One date of a series: its number (0 is the first), its start instant (UTC) and the
    wall-clock start it was computed from."""

    number: int
    start: datetime  # aware, UTC
    local: datetime  # naive wall-clock time in the series' zone
    note: str = ""  # when the wall-clock time did not exist that day


def local_instant(naive: datetime, zone: ZoneInfo) -> tuple[datetime, str]:
    """A wall-clock time in `zone` as a UTC instant, and a note if it had to be moved."""
    first = naive.replace(tzinfo=zone, fold=0)
    instant = first.astimezone(timezone.utc)
    back = instant.astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        return instant, (f"{naive:%H:%M} does not exist on {naive:%a %d %b %Y} in {zone.key} "
                         f"(the clocks go forward); it runs at {back:%H:%M %Z}")
    return instant, ""


def occurrences(repeat: Repeat, first: datetime, zone: ZoneInfo, *, count: int | None = None,
                until: date | None = None) -> Iterator[Occurrence]:
    """Every occurrence of a series, in order (endless without `count` or `until`).

    :param first: the first start, naive wall-clock time in `zone`; for a monthly rule the
        first occurrence is the first matching day on or after it.
    :param count: at most this many occurrences.
    :param until: none after this local date (inclusive).
    """
    end = datetime.combine(until, time(23, 59, 59)) if until else None
    for number, local in enumerate(repeat.rule(first, count=count, until=end)):
        instant, note = local_instant(local, zone)
        yield Occurrence(number, instant, local, note)


def next_occurrences(repeat: Repeat, first: datetime, zone: ZoneInfo, *, after: datetime,
                     limit: int, count: int | None = None,
                     until: date | None = None) -> list[Occurrence]:
    """Up to `limit` occurrences starting after the instant `after`."""
    out = []
    for occurrence in occurrences(repeat, first, zone, count=count, until=until):
        if occurrence.start > after:
            out.append(occurrence)
            if len(out) >= limit:
                break
    return out
