"""A rehearsal: the real dispatcher and store running a chat, posting to the terminal.

Moderators use it to see a chat's run of show before the evening, with its timings
compressed; it exercises the same ledger, catch-up and rendering code as the bot.
"""

from __future__ import annotations

import itertools
import sys
import textwrap
from datetime import datetime
from typing import TextIO

from bot.chat.posts import Post
from bot.run.dispatcher import Published
from bot.store import Chat, ChatActionKind


class TerminalPoster:
    """A poster that prints each post as a framed block and remembers what it posted."""

    def __init__(self, out: TextIO = sys.stdout, now=None) -> None:
        self.out = out
        self._now = now
        self._ids = itertools.count(1)
        self.messages: list[tuple[int, int, Post, str]] = []  # (id, channel, post, nonce)
        self.threads: dict[int, str] = {}
        self.finished: list[int] = []

    async def publish(self, channel_id: int, post: Post, nonce: str) -> Published:
        message_id = next(self._ids)
        self.messages.append((message_id, channel_id, post, nonce))
        self._print(post)
        return Published(message_id, self._now())

    async def find_published(self, channel_id: int, marker: str, since: datetime) -> Published | None:
        for message_id, channel, post, _ in self.messages:
            if channel == channel_id and post.embed["footer"]["text"].endswith(marker):
                return Published(message_id, self._now())
        return None

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        thread_id = 10_000 + message_id
        self.threads[thread_id] = name
        self.out.write(f"   └─ thread opened: “{name}”\n\n")
        self.out.flush()
        return thread_id

    async def notify_host(self, chat: Chat, text: str) -> None:
        self.out.write(f"!! {text}\n")

    async def chat_action(self, chat: Chat, kind: ChatActionKind) -> str | None:
        # A rehearsal has no Discord Event, threads to archive or record to post.
        if kind is ChatActionKind.EVENT_END:
            self.finished.append(chat.id)
        return "rehearsal: nothing to do on Discord"

    def _print(self, post: Post) -> None:
        e = post.embed
        width = 76
        stamp = self._now().astimezone().strftime("%H:%M:%S")
        self.out.write(f"┌─ {stamp} ─ {e['title']}\n")
        for paragraph in e.get("description", "").split("\n"):
            for line in textwrap.wrap(paragraph, width) or [""]:
                self.out.write(f"│ {line}\n")
        for f in e.get("fields", []):
            self.out.write(f"│ ▸ {f['name']}: {f['value'].replace(chr(10), ' / ')}\n")
        self.out.write(f"└─ {e['footer']['text']}\n")
        self.out.flush()

