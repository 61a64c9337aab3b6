"""Chat files: the human-editable TOML file a moderator writes, and its validation.

A chat file says what a tweetchat is (title, hashtag, hosts, intro, the questions,
wrap-up) and its default timing. `load_chat_file` turns a file into a
:class:`ChatDefinition` or raises :class:`ChatFileError` listing every problem with the
file, line and field, and what would be valid. See `data/chats/README.md` for the format.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Iterable

from bot import discord_limits as limits
from bot.chat import posts
from bot.chat.definition import (
    MAX_CHAT_MINUTES, MAX_QUESTIONS, CatchUp, ChatDefinition, Midway, Question, Reading, Schedule,
)
from bot.chat.timeline import offsets_problems
from bot.chat.zones import UnknownTimeZone, resolve_zone

# ---------------------------------------------------------------------------------------
# Problems and where they are in the file


@dataclass(frozen=True)
class Problem:
    field: str  # dotted path, e.g. "questions[2].text"
    message: str  # what is wrong and what would be valid
    line: int | None = None

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ChatFileError(ValueError):
    """A chat file is invalid; `problems` lists each one."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.format(source) for p in problems))


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class _LineIndex:
    """Maps field paths like ('questions', 2, 'text') to line numbers in TOML text.

    tomllib gives no positions for values, so we scan the text for table headers and
    keys; this covers the layout the format documents (tables and arrays of tables).
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple, int] = {}
        counts: dict[str, int] = {}
        table: tuple = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                name = header.group(2)
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    table = (name, index)
                else:
                    table = (name,)
                self.lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                self.lines.setdefault((*table, key.group(1)), number)

    def find(self, path: tuple) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ---------------------------------------------------------------------------------------
# Validation

_TOP_KEYS = {
    "title": "the chat's title",
    "hashtag": "a hashtag such as #physiotalk",
    "description": "one or two sentences about the chat",
    "hosts": "list of host names",
    "guests": "list of guest names",
    "intro": "the host's introduction, posted at the start",
    "reading": "pre-chat reading: [[reading]] tables with title and url",
    "schedule": "[schedule] table: default start, time zone, timings, catch-up policy",
    "questions": "[[questions]] tables with number and text",
    "midway": "[midway] table: after_question and text of the format reminder",
    "wrap_up": "the closing message",
}
_SCHEDULE_KEYS = {
    "start": 'default local start time, "HH:MM"',
    "timezone": "IANA time zone, e.g. Europe/London",
    "first_question_after_minutes": "minutes from the intro to Q1",
    "interval_minutes": "minutes between questions",
    "wrap_up_after_minutes": "minutes from the last question to the wrap-up",
    "catch_up": '"post-late" or "skip"',
    "late_grace_seconds": "how late a step may be before it counts as late",
}
_QUESTION_KEYS = {
    "number": "the question's number, 1..n",
    "text": "the question",
    "thread": "a short title for the question's thread",
    "at_minutes": "minutes from the start (overrides the interval)",
    "guidance": "ids of related /guidance entries to show with the question (up to 3)",
}
_READING_KEYS = {"title": "link text", "url": "https:// address"}
_MIDWAY_KEYS = {"after_question": "question number the reminder follows", "text": "the reminder"}
_ENTRY_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_RELATED = 3
_HASHTAG = re.compile(r"^#[A-Za-z0-9_]{1,100}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class _Checker:
    def __init__(self, index: _LineIndex) -> None:
        self.index = index
        self.problems: list[Problem] = []

    def add(self, path: tuple, message: str) -> None:
        self.problems.append(Problem(_dotted(path), message, self.index.find(path)))

    def keys(self, table: dict, path: tuple, allowed: dict[str, str]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.add((*path, key), f"unknown key; {hint}valid keys: {', '.join(allowed)}")

    def text(
        self, table: dict, path: tuple, key: str, *, required: bool, limit: int
    ) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.add((*path, key), f"missing; expected {_ALL_KEYS.get(key, 'text')}")
            return None
        if not isinstance(value, str):
            self.add((*path, key), f"must be text (a quoted string), not {type(value).__name__}")
            return None
        value = value.strip()
        if required and not value:
            self.add((*path, key), "is empty")
        elif len(value) > limit:
            self.add(
                (*path, key),
                f"is {len(value)} characters; at most {limit} fit in a Discord post with "
                "its decoration",
            )
        return value

    def number(
        self, table: dict, path: tuple, key: str, *, minimum: float, maximum: float,
        integer: bool = False,
    ) -> float | None:
        value = table.get(key)
        if value is None:
            return None
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            kind = "a whole number" if integer else "a number"
            self.add((*path, key), f"must be {kind}, not {value!r}")
            return None
        if not minimum <= value <= maximum:
            self.add((*path, key), f"is {value}; must be between {minimum:g} and {maximum:g}")
            return None
        return value

    def names(self, table: dict, key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.add((key,), 'must be a list of names, e.g. ["Naomi", "Janet"]')
            return ()
        return tuple(v.strip() for v in value)


_ALL_KEYS = {**_TOP_KEYS, **_SCHEDULE_KEYS, **_QUESTION_KEYS, **_MIDWAY_KEYS}


def parse_chat(text: str, source: str = "<chat>") -> ChatDefinition:
    """Parse and validate the TOML text of a chat file.

    :param text: the file's contents.
    :param source: the file name used in error messages.
    :raises ChatFileError: listing every problem found.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ChatFileError(
            source,
            [Problem("", f"not valid TOML: {exc}", int(line.group(1)) if line else None)],
        ) from None
    return _validate(data, _LineIndex(text), source)


def chat_from_data(data: dict, source: str = "<chat>") -> ChatDefinition:
    """Validate a chat given as plain data (the shape of a parsed chat file), e.g. one a
    moderator typed into Discord; raises ChatFileError naming each field."""
    return _validate(data, _LineIndex(""), source)


def load_chat_file(path: str | Path) -> ChatDefinition:
    """Read and validate a chat file; raises ChatFileError (also for unreadable files)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ChatFileError(str(path), [Problem("", f"cannot read the file: {reason}")]) from None
    return parse_chat(text, str(path))


def _validate(data: dict, index: _LineIndex, source: str) -> ChatDefinition:
    check = _Checker(index)
    check.keys(data, (), _TOP_KEYS)

    title = check.text(data, (), "title", required=True, limit=posts.TITLE_MAX) or ""
    hashtag = check.text(data, (), "hashtag", required=False, limit=101) or ""
    if hashtag and not _HASHTAG.match(hashtag):
        check.add(("hashtag",), f"{hashtag!r} is not a hashtag; use # and letters, digits or _")
    description = check.text(data, (), "description", required=False, limit=1000) or ""
    intro = check.text(data, (), "intro", required=True, limit=posts.INTRO_MAX) or ""
    wrap_up = check.text(data, (), "wrap_up", required=True, limit=posts.WRAP_UP_MAX) or ""
    hosts = check.names(data, "hosts")
    guests = check.names(data, "guests")

    reading: list[Reading] = []
    raw_reading = data.get("reading", [])
    if not isinstance(raw_reading, list):
        check.add(("reading",), "must be [[reading]] tables, each with title and url")
        raw_reading = []
    for i, item in enumerate(raw_reading):
        path = ("reading", i)
        if not isinstance(item, dict):
            check.add(path, "must be a table with title and url")
            continue
        check.keys(item, path, _READING_KEYS)
        r_title = check.text(item, path, "title", required=True, limit=200)
        url = check.text(item, path, "url", required=True, limit=500)
        if url and not _URL.match(url):
            check.add((*path, "url"), f"{url!r} is not a web address; start it with https://")
        if r_title and url:
            reading.append(Reading(r_title, url))

    schedule = _schedule(data.get("schedule", {}), check)
    questions = _questions(data.get("questions"), check)
    midway = _midway(data.get("midway"), check, len(questions))

    definition = ChatDefinition(
        title=title, intro=intro, questions=tuple(questions), wrap_up=wrap_up,
        hashtag=hashtag, description=description, hosts=hosts, guests=guests,
        reading=tuple(reading), midway=midway, schedule=schedule,
    )
    if not check.problems:
        # Limits that depend on the whole definition (decorated posts, timeline order).
        for path, message in posts.oversize_problems(definition):
            check.add(path, message)
        for path, message in offsets_problems(definition):
            check.add(path, message)
    if check.problems:
        raise ChatFileError(source, check.problems)
    return definition


def _schedule(raw: Any, check: _Checker) -> Schedule:
    if not isinstance(raw, dict):
        check.add(("schedule",), "must be a [schedule] table")
        return Schedule()
    path = ("schedule",)
    check.keys(raw, path, _SCHEDULE_KEYS)
    start = None
    raw_start = raw.get("start")
    if raw_start is not None:
        if isinstance(raw_start, time):
            start = raw_start.replace(second=0, microsecond=0)
        elif isinstance(raw_start, str) and _HHMM.match(raw_start.strip()):
            hh, mm = raw_start.strip().split(":")
            start = time(int(hh), int(mm))
        else:
            check.add((*path, "start"), f'{raw_start!r} is not a time; write it as "20:00"')
    tz = raw.get("timezone")
    if tz is not None:
        try:
            tz = resolve_zone(str(tz)).key
        except UnknownTimeZone as exc:
            check.add((*path, "timezone"), str(exc))
            tz = None
    first = check.number(raw, path, "first_question_after_minutes", minimum=0, maximum=240)
    interval = check.number(raw, path, "interval_minutes", minimum=0.5, maximum=240)
    wrap = check.number(raw, path, "wrap_up_after_minutes", minimum=0, maximum=240)
    grace = check.number(
        raw, path, "late_grace_seconds", minimum=0, maximum=3600, integer=True
    )
    catch_up = CatchUp.POST_LATE
    raw_catch = raw.get("catch_up")
    if raw_catch is not None:
        try:
            catch_up = CatchUp(raw_catch)
        except ValueError:
            valid = ", ".join(repr(c.value) for c in CatchUp)
            check.add((*path, "catch_up"), f"{raw_catch!r} is not a policy; use one of {valid}")
    defaults = Schedule()
    return Schedule(
        start=start,
        timezone=tz,
        first_question_after_minutes=defaults.first_question_after_minutes if first is None else first,
        interval_minutes=defaults.interval_minutes if interval is None else interval,
        wrap_up_after_minutes=wrap,
        catch_up=catch_up,
        late_grace_seconds=defaults.late_grace_seconds if grace is None else int(grace),
    )


def _questions(raw: Any, check: _Checker) -> list[Question]:
    if raw is None:
        check.add(("questions",), "missing; add [[questions]] tables with number and text")
        return []
    if not isinstance(raw, list) or not raw:
        check.add(("questions",), "must be one or more [[questions]] tables")
        return []
    if len(raw) > MAX_QUESTIONS:
        check.add(("questions",), f"has {len(raw)} questions; at most {MAX_QUESTIONS}")
    questions: list[Question] = []
    seen: dict[int, int] = {}
    problems_before = len(check.problems)
    for i, item in enumerate(raw):
        path = ("questions", i)
        if not isinstance(item, dict):
            check.add(path, "must be a table with number and text")
            continue
        check.keys(item, path, _QUESTION_KEYS)
        number = item.get("number")
        if number is None:
            check.add((*path, "number"), f"missing; this looks like question {i + 1}")
            number = None
        elif isinstance(number, bool) or not isinstance(number, int) or number < 1:
            check.add((*path, "number"), f"{number!r} must be a whole number from 1")
            number = None
        elif number in seen:
            check.add(
                (*path, "number"),
                f"duplicate: Q{number} is already questions[{seen[number]}]",
            )
            number = None
        else:
            seen[number] = i
        text = check.text(item, path, "text", required=True, limit=posts.QUESTION_MAX)
        thread = check.text(item, path, "thread", required=False, limit=10_000)
        if thread is not None and number is not None:
            name = posts.thread_name(number, text or "", thread)
            if len(name) > limits.THREAD_NAME:
                room = limits.THREAD_NAME - len(posts.thread_prefix(number))
                check.add(
                    (*path, "thread"),
                    f"makes the thread name {len(name)} characters; Discord allows "
                    f"{limits.THREAD_NAME}, so keep the thread title to {room}",
                )
        at = check.number(item, path, "at_minutes", minimum=0, maximum=MAX_CHAT_MINUTES)
        related = item.get("guidance", [])
        if (not isinstance(related, list) or len(related) > MAX_RELATED
                or not all(isinstance(r, str) and _ENTRY_ID.match(r) for r in related)):
            check.add((*path, "guidance"), f"must be a list of up to {MAX_RELATED} guidance entry ids, "
                      "e.g. [\"when-regulator-gets-involved\"] (see /guidance-topics)")
            related = []
        if number is not None and text:
            questions.append(Question(number, text, thread or None, at, tuple(related)))
    if seen and len(check.problems) == problems_before:
        expected = set(range(1, len(raw) + 1))
        missing = sorted(expected - set(seen))
        if missing:
            check.add(
                ("questions",),
                "numbers must run 1.." + str(len(raw)) + " without gaps; missing "
                + ", ".join(f"Q{m}" for m in missing),
            )
        order = [q.number for q in questions]
        if order != sorted(order) and not missing:
            check.add(("questions",), f"list the questions in order Q1..Q{len(raw)}")
    return sorted(questions, key=lambda q: q.number)


def _midway(raw: Any, check: _Checker, count: int) -> Midway | None:
    if raw is None:
        return None
    path = ("midway",)
    if not isinstance(raw, dict):
        check.add(path, "must be a [midway] table with after_question and text")
        return None
    check.keys(raw, path, _MIDWAY_KEYS)
    after = check.number(
        raw, path, "after_question", minimum=1, maximum=max(count - 1, 1), integer=True
    )
    if after is None and "after_question" not in raw:
        check.add((*path, "after_question"), "missing; the question number it follows")
    text = check.text(raw, path, "text", required=True, limit=posts.MIDWAY_MAX)
    if after is not None and count and after >= count:
        check.add((*path, "after_question"), f"must be before the last question (Q{count})")
        return None
    return Midway(int(after), text) if after is not None and text else None


def chat_files(folder: str | Path) -> Iterable[Path]:
    """The chat files (``*.toml``) in a folder, sorted by name."""
    return sorted(Path(folder).glob("*.toml"))
