"""Test doubles for the core: a clock we move by hand and an in-memory Discord channel.

The channel double stands in for Discord only, never for the code under test: the
dispatcher, the store and the ledger all run for real against it.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.chat.posts import Post
from bot.run.dispatcher import PostFailed, Published


class FakeClock:
    """A clock that only moves when the test says so."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment
        self._moved.set()
        self._moved = asyncio.Event()

    def advance(self, **delta: float) -> datetime:
        self.set(self._now + timedelta(**delta))
        return self._now

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        while self._now < when and not wake.is_set():
            moved = asyncio.ensure_future(self._moved.wait())
            woken = asyncio.ensure_future(wake.wait())
            _, pending = await asyncio.wait({moved, woken}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()


class Crash(BaseException):
    """Simulates the process being killed: not an Exception, so nothing catches it."""


@dataclass
class Message:
    id: int
    channel_id: int
    post: Post
    nonce: str
    at: datetime


@dataclass
class FakeChannel:
    """Plays Discord for the dispatcher: keeps what was posted and opened, and fails or
    "crashes" on request. With `enforce_nonce` off (the default) a repeated nonce makes a
    second message, so tests see what the ledger alone prevents."""

    clock: FakeClock
    enforce_nonce: bool = False
    messages: list[Message] = field(default_factory=list)
    threads: dict[int, tuple[int, str]] = field(default_factory=dict)  # message id -> (thread, name)
    finished: list[int] = field(default_factory=list)
    actions: list[tuple[int, str]] = field(default_factory=list)  # (chat id, action) as done
    notices: list[tuple[int, str]] = field(default_factory=list)  # what the host was told
    action_failures: list[BaseException] = field(default_factory=list)
    publish_failures: list[BaseException] = field(default_factory=list)
    thread_failures: list[BaseException] = field(default_factory=list)
    find_failures: list[BaseException] = field(default_factory=list)
    crash_before_send: bool = False
    crash_after_send: bool = False
    find_calls: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    async def publish(self, channel_id: int, post: Post, nonce: str) -> Published:
        if self.crash_before_send:
            self.crash_before_send = False
            raise Crash("killed before the request left")
        if self.publish_failures:
            raise self.publish_failures.pop(0)
        if self.enforce_nonce:
            for m in self.messages:
                if m.nonce == nonce:
                    return Published(m.id, m.at)
        message = Message(next(self._ids), channel_id, post, nonce, self.clock.now())
        self.messages.append(message)
        if self.crash_after_send:
            self.crash_after_send = False
            raise Crash("killed after Discord accepted the message")
        return Published(message.id, message.at)

    async def find_published(self, channel_id: int, marker: str, since: datetime) -> Published | None:
        self.find_calls += 1
        if self.find_failures:
            raise self.find_failures.pop(0)
        for m in self.messages:
            if (m.channel_id == channel_id and m.at >= since
                    and m.post.embed["footer"]["text"].endswith(marker)):
                return Published(m.id, m.at)
        return None

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        if self.thread_failures:
            raise self.thread_failures.pop(0)
        if message_id not in self.threads:
            self.threads[message_id] = (next(self._ids), name)
        return self.threads[message_id][0]

    async def notify_host(self, chat, text: str) -> None:
        self.notices.append((chat.id, text))

    async def chat_action(self, chat, kind) -> str | None:
        self.actions.append((chat.id, kind.value))
        if kind.value == "event_end":  # the first of the finishing actions
            self.finished.append(chat.id)
        if self.action_failures:
            raise self.action_failures.pop(0)
        return None

    def titles(self) -> list[str]:
        return [m.post.embed["title"] for m in self.messages]


def rate_limited(retry_after: float = 2.0) -> PostFailed:
    return PostFailed("429 Too Many Requests", retry_after=retry_after)
