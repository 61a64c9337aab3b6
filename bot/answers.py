"""Answer collection: which member messages are answers, and writing them in batches.

The Discord layer turns gateway events (and history fetched after downtime) into plain
:class:`MessageSeen`, :class:`MessageEdited` and :class:`MessageDeleted` records and hands
them to an :class:`AnswerWriter`. The writer decides what each message is an answer to
and writes many of them per SQLite transaction from one task, so a burst costs one commit
per batch rather than one per answer. The writes themselves still run on the event loop
(the store's connection lives there): a slow disk delays the gateway for the length of
one batch.

What counts as an answer (see also the README):

* any member message in a question's thread is an answer to that question, at any time
  until the thread is archived (so late thoughts after the wrap-up are kept; they are
  recognisable by their time);
* a message in a thread a member opened from an answer counts as a reply to that answer,
  for the same question;
* a message in the chat's channel starting "A1", "A1:", "A1." (any number of a question
  of the chat) sent between the intro and the wrap-up is an answer to that question
  (judged by the message's time, so history fetched after downtime routes the same way);
  after the wrap-up the channel is back to ordinary conversation;
* any other message in the chat's channel between the intro and Q1 is an
  **introduction** (the intro asks people to say who they are): stored like an answer,
  with question number 0 (:data:`bot.store.INTRODUCTIONS`), edits, deletions and opt-outs alike,
  and shown apart from the answers in transcripts and statistics;
* messages from bots (including this one) are never answers.
"""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Union

from bot.store import INTRODUCTIONS, ChatState, NewAnswer, Store

log = logging.getLogger(__name__)

# "A1 …", "a1: …", "A1. …", "A1- …", "A 1 …": the answer's number, then a break.
ANSWERING_STATES = (ChatState.RUNNING, ChatState.PAUSED, ChatState.FINISHED)
ANSWER_PREFIX = re.compile(r"^\s*[Aa]\s?(\d{1,2})(?=$|[\s:.,;)\-–—])")


def channel_answer_number(content: str) -> int | None:
    """The question number an "A1 …" message answers, or None."""
    match = ANSWER_PREFIX.match(content)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class MessageSeen:
    """A message as Discord delivered it (live or from history)."""

    guild_id: int
    channel_id: int  # the thread's id for messages in threads
    message_id: int
    author_id: int
    author_name: str
    author_is_bot: bool
    content: str
    created_at: datetime
    edited_at: datetime | None = None
    reply_to: int | None = None
    attachments: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class MessageEdited:
    guild_id: int
    message_id: int
    content: str
    edited_at: datetime
    attachments: list[dict] | None = None


@dataclass(frozen=True)
class MessageDeleted:
    guild_id: int
    message_id: int
    deleted_at: datetime


AnswerEvent = Union[MessageSeen, MessageEdited, MessageDeleted]


@dataclass(frozen=True)
class Target:
    chat_id: int
    question: int
    via: str  # "thread" or "channel"
    reply_to: int | None = None


def route(store: Store, msg: MessageSeen) -> Target | None:
    """What a message answers, or None if it is not an answer."""
    if msg.author_is_bot:
        return None
    found = store.question_for_thread(msg.guild_id, msg.channel_id)
    if found is not None:
        chat_id, question = found
        return Target(chat_id, question, "thread", msg.reply_to)
    # A thread a member opened from an answer has the answer's message id as its id.
    parent = store.answer(msg.guild_id, msg.channel_id)
    if parent is not None:
        return Target(parent["chat_id"], parent["question"], "thread",
                      msg.reply_to or parent["message_id"])
    number = channel_answer_number(msg.content)
    if number is None:
        return _introduction(store, msg)
    for chat in store.chats_in_channel(msg.guild_id, msg.channel_id, ANSWERING_STATES):
        if not any(q.number == number for q in chat.definition.questions):
            continue
        # Judged by the message's own time, so history fetched later routes the same way.
        opened = store.opened_at(msg.guild_id, chat.id)
        if opened is None or msg.created_at < opened:
            continue
        if chat.ended_at is not None and msg.created_at > chat.ended_at:
            continue
        return Target(chat.id, number, "channel", msg.reply_to)
    return None


def _introduction(store: Store, msg: MessageSeen) -> Target | None:
    """An introduction: a channel message after a chat's intro and before its Q1 (by
    the message's own time, as for channel answers)."""
    for chat in store.chats_in_channel(msg.guild_id, msg.channel_id, ANSWERING_STATES):
        opened = store.opened_at(msg.guild_id, chat.id)
        if opened is None or msg.created_at < opened:
            continue
        first = store.first_question_at(msg.guild_id, chat.id)
        if first is not None and msg.created_at >= first:
            continue
        if first is None and chat.ended_at is not None:
            continue  # a chat stopped before its first question
        return Target(chat.id, INTRODUCTIONS, "intro", msg.reply_to)
    return None


def _new_answer(msg: MessageSeen, target: Target) -> NewAnswer:
    return NewAnswer(msg.guild_id, target.chat_id, target.question, msg.message_id,
                     msg.channel_id, target.via, msg.author_id, msg.author_name, msg.content,
                     msg.created_at, target.reply_to, msg.attachments)


@dataclass
class WriteStats:
    answers: int = 0
    edits: int = 0
    withdrawals: int = 0
    ignored: int = 0
    batches: int = 0
    failed_writes: int = 0  # attempts that failed and were retried (nothing lost)
    overflowed: int = 0  # events refused because the queue was full (backfill finds them)
    broken: int = 0  # events that could never be written (a bug; logged with the event)


# Errors of the world, which pass: the database locked by another process, the disk
# full or failing. A batch that hits one is kept and written again later.
TRANSIENT = (sqlite3.OperationalError, OSError)
RETRY_FIRST_SECONDS = 0.25
RETRY_MAX_SECONDS = 15.0
MAX_QUEUED = 200_000  # about 100 MB of answers waiting while the database is unavailable


class AnswerWriter:
    """One task that writes answer events in batches (one transaction per batch)."""

    def __init__(self, store: Store, now: Callable[[], datetime], *, max_batch: int = 500,
                 opted_out: Callable[[int, int], bool] | None = None,
                 max_queued: int = MAX_QUEUED,
                 own_store: Callable[[], Store] | None = None) -> None:
        """
        :param store: the database.
        :param own_store: opens a connection of the writer's own, used only from a thread
            of its own: the writes then run off the event loop, so a burst of answers does
            not hold up the gateway or a due post. Without it, `store` is written on the
            loop.
        :param now: the clock, for the time each row was recorded.
        :param max_batch: most events written in one transaction.
        :param opted_out: (guild_id, user_id) -> True to store nothing of that member.
        :param max_queued: most events held while the database cannot be written; past
            it, events are refused loudly and the next backfill recovers them.
        """
        self.max_queued = max_queued
        self.store = store
        self.now = now
        self.max_batch = max_batch
        self.opted_out = opted_out or (lambda guild_id, user_id: False)
        self.stats = WriteStats()
        self._queue: asyncio.Queue[AnswerEvent] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._own_store = own_store
        self._thread: ThreadPoolExecutor | None = None
        self._own: Store | None = None  # opened in the writer's thread, used only there

    def submit(self, event: AnswerEvent) -> None:
        """Queue an event; returns at once. A message from an opted-out member is dropped
        here, when it arrives, so an opt-in processed before the queue drains does not
        store it."""
        if isinstance(event, MessageSeen) and self.opted_out(event.guild_id, event.author_id):
            self.stats.ignored += 1
            return
        if self._queue.qsize() >= self.max_queued:
            self.stats.overflowed += 1
            if self.stats.overflowed % 1000 == 1:
                log.error("answer queue full (%d events waiting for the database): %d events "
                          "refused so far; they are read back from Discord by the backfill "
                          "after the next restart or reconnect", self.max_queued,
                          self.stats.overflowed)
            return
        self._queue.put_nowait(event)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="answer-writer")

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed."""
        if self._task is None:
            batch = self._drain()
            self.write(batch)
            for _ in batch:
                self._queue.task_done()
        else:
            await self._queue.join()

    async def close(self) -> None:
        """Write what is queued, then stop the task."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._thread is not None:
            if self._own is not None:
                await asyncio.get_running_loop().run_in_executor(self._thread, self._own.close)
                self._own = None
            self._thread.shutdown(wait=True)
            self._thread = None

    async def _write(self, batch: list[AnswerEvent]) -> None:
        """Write a batch: in the writer's own thread when it has one, else here."""
        if self._own_store is None:
            self.write(batch)
            return
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer-writer")
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write_in_thread, batch)

    def _write_in_thread(self, batch: list[AnswerEvent]) -> None:
        if self._own is None:
            self._own = self._own_store()
        self.write(batch, self._own)

    def _drain(self) -> list[AnswerEvent]:
        batch = []
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return batch

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first, *self._drain()]
            await self._write_until_done(batch)
            for _ in batch:
                self._queue.task_done()
            # Let the gateway handlers run between batches.
            await asyncio.sleep(0)

    async def _write_until_done(self, batch: list[AnswerEvent]) -> None:
        """Write a batch, keeping it through transient failures (retried with back-off,
        for as long as it takes); an event that fails for any other reason is a bug: it
        is logged and left out, and the rest of its batch is written."""
        wait = RETRY_FIRST_SECONDS
        while True:
            try:
                await self._write(batch)
                return
            except TRANSIENT as exc:
                self.stats.failed_writes += 1
                log.warning("could not write %d answer events (%s); keeping them, trying "
                            "again in %.1f s", len(batch), exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_SECONDS)
            except Exception:
                break
        for event in batch:  # one by one, to find the event that cannot be written
            while True:
                try:
                    await self._write([event])
                    break
                except TRANSIENT:
                    await asyncio.sleep(wait)
                except Exception:
                    self.stats.broken += 1
                    log.exception("answer event could not be written and is left out: %r", event)
                    break

    def write(self, batch: list[AnswerEvent], store: Store | None = None) -> None:
        """Write a batch of events in one transaction (also usable without the task).

        New answers in a question's thread, most of a burst, are gathered and stored
        together (:meth:`Store.add_answers`); anything else stores what was gathered first,
        so every event sees the ones before it (a reply to an answer of the same batch)."""
        if not batch:
            return
        store = store or self.store
        recorded = self.now()
        before = dataclasses.replace(self.stats)
        gathered: list[NewAnswer] = []
        threads: dict[tuple[int, int], tuple[int, int] | None] = {}  # question_for_thread, this batch

        def store_gathered() -> None:
            self.stats.answers += store.add_answers(gathered, recorded)
            gathered.clear()

        try:
            with store.batch():
                for event in batch:
                    if isinstance(event, MessageSeen) and not event.author_is_bot \
                            and event.edited_at is None:
                        place = (event.guild_id, event.channel_id)
                        if place not in threads:
                            threads[place] = store.question_for_thread(*place)
                        if threads[place] is not None:
                            chat_id, question = threads[place]
                            gathered.append(_new_answer(event, Target(chat_id, question, "thread",
                                                                       event.reply_to)))
                            continue
                    store_gathered()
                    self._apply(event, recorded, store)
                store_gathered()
        except BaseException:
            self.stats = before  # rolled back: nothing of the batch counted
            raise
        self.stats.batches += 1

    def _apply(self, event: AnswerEvent, recorded: datetime, store: Store) -> None:
        if isinstance(event, MessageSeen):
            target = route(store, event)
            if target is None:
                self.stats.ignored += 1
                return
            self.stats.answers += store.add_answers([_new_answer(event, target)], recorded)
            if event.edited_at is not None:
                # Seen in history after an edit made while we were away.
                if store.edit_answer(event.guild_id, event.message_id,
                                          content=event.content, edited_at=event.edited_at,
                                          recorded_at=recorded, attachments=event.attachments):
                    self.stats.edits += 1
        elif isinstance(event, MessageEdited):
            author = store.answer_author(event.guild_id, event.message_id)
            if author is None or self._opted_out_in(store, event.guild_id, author):
                self.stats.ignored += 1  # not an answer, or its author opted out since
            elif store.edit_answer(event.guild_id, event.message_id, content=event.content,
                                        edited_at=event.edited_at, recorded_at=recorded,
                                        attachments=event.attachments):
                self.stats.edits += 1
        else:
            if store.withdraw_answer(event.guild_id, event.message_id, event.deleted_at):
                self.stats.withdrawals += 1

    def _opted_out_in(self, store: Store, guild_id: int, user_id: int) -> bool:
        """The opt-out check, on the connection of the thread it runs in."""
        if store is self.store:
            return self.opted_out(guild_id, user_id)
        return store.is_opted_out(guild_id, user_id, fresh=True)
