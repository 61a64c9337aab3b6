"""What a chat is: its questions, intro, wrap-up and default timing, as plain data.

A :class:`ChatDefinition` comes from a chat file (`bot.chat.files`), from a moderator's
form in Discord, or from the snapshot stored when a chat is scheduled (`from_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import time
from enum import Enum
from typing import Any

MAX_QUESTIONS = 20
MAX_CHAT_MINUTES = 24 * 60


class CatchUp(str, Enum):
    """What to do with a step whose time passed while the bot could not post it."""

    POST_LATE = "post-late"  # post it now, saying it is late
    SKIP = "skip"  # do not post it; record why


@dataclass(frozen=True)
class Reading:
    title: str
    url: str


@dataclass(frozen=True)
class Question:
    number: int
    text: str
    thread: str | None = None  # short thread title; derived from the text when absent
    at_minutes: float | None = None  # explicit offset from the start, overriding the interval
    guidance: tuple[str, ...] = ()  # ids of related /guidance entries, shown with the question


@dataclass(frozen=True)
class Midway:
    after_question: int
    text: str


@dataclass(frozen=True)
class Schedule:
    start: time | None = None  # default local start time
    timezone: str | None = None
    first_question_after_minutes: float = 5.0
    interval_minutes: float = 10.0
    wrap_up_after_minutes: float | None = None  # default: one interval after the last question
    catch_up: CatchUp = CatchUp.POST_LATE
    late_grace_seconds: int = 60  # later than this counts as late


@dataclass(frozen=True)
class ChatDefinition:
    """One tweetchat: what is posted and when, relative to its start."""

    title: str
    intro: str
    questions: tuple[Question, ...]
    wrap_up: str
    hashtag: str = ""
    description: str = ""
    hosts: tuple[str, ...] = ()
    guests: tuple[str, ...] = ()
    reading: tuple[Reading, ...] = ()
    midway: Midway | None = None
    schedule: Schedule = field(default_factory=Schedule)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, stored as the chat's snapshot when it is scheduled."""
        data = asdict(self)
        sched = data["schedule"]
        sched["start"] = self.schedule.start.strftime("%H:%M") if self.schedule.start else None
        sched["catch_up"] = self.schedule.catch_up.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ChatDefinition":
        """Rebuild a definition from :meth:`to_dict` output (already validated data)."""
        sched = dict(data.get("schedule") or {})
        if sched.get("start"):
            hh, mm = sched["start"].split(":")
            sched["start"] = time(int(hh), int(mm))
        sched["catch_up"] = CatchUp(sched.get("catch_up", CatchUp.POST_LATE.value))
        return cls(
            title=data["title"],
            intro=data["intro"],
            questions=tuple(Question(**{**q, "guidance": tuple(q.get("guidance", ()))})
                            for q in data["questions"]),
            wrap_up=data["wrap_up"],
            hashtag=data.get("hashtag", ""),
            description=data.get("description", ""),
            hosts=tuple(data.get("hosts", ())),
            guests=tuple(data.get("guests", ())),
            reading=tuple(Reading(**r) for r in data.get("reading", ())),
            midway=Midway(**data["midway"]) if data.get("midway") else None,
            schedule=Schedule(**sched),
        )
