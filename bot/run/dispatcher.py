"""The exactly-once step dispatcher: posts each chat's steps when they are due.

The step ledger in SQLite is the source of truth (the RoboDanny timer pattern): one task
sleeps until the earliest due step, is woken when the schedule changes, **claims** the
step in the database before posting and **records** the result after. The two crash
windows are closed like this:

* killed after the claim, before the post reached Discord: on restart the step is still
  *claimed*; :meth:`Dispatcher.recover` asks the poster whether a message with the step's
  marker exists, finds none, and returns the step to *pending*, to be posted (late, per
  the chat's catch-up policy);
* killed after the post reached Discord, before it was recorded: on restart the poster
  finds the message by its marker and the step is recorded as posted, not posted again.
  Every attempt also carries the step's fixed Discord nonce, which Discord uses to
  refuse a duplicate within its window.

The clock and the poster are injected, so the whole engine runs in tests without Discord
and without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from bot.chat import posts
from bot.chat import CatchUp, ChatDefinition, Question
from bot.store import (
    FINISHING_ACTIONS, Chat, ChatAction, ChatActionKind, ChatState, DueStep, ShardRange, Step, Store,
    WrongState, process_owner,
)
from bot.chat.timeline import StepKind, step_label

if TYPE_CHECKING:
    from bot.run.series import SeriesControl

log = logging.getLogger(__name__)

# CPython cannot sleep for very long reliably (bpo-20493); re-check at least this often.
MAX_SLEEP = timedelta(hours=1)
RETRY_BASE_SECONDS = 5
CONCURRENCY = 16
# A shard lease lasts this long unless renewed (renewed every third of it).
LEASE = timedelta(seconds=30)
RETRY_MAX_SECONDS = 300


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware UTC."""

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        """Return at `when`, or earlier if `wake` is set."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        delay = min((when - self.now()).total_seconds(), MAX_SLEEP.total_seconds())
        if delay <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass


class ScaledClock(SystemClock):
    """A clock `speed` times faster than real time from `origin` (rehearsals, trials,
    journey tests): an evening's chat in a minute, with the dispatcher's own timers. The
    origin is fixed so that a restarted process carries on the same timeline."""

    def __init__(self, speed: float, origin: datetime | None = None) -> None:
        self.speed = speed
        self.origin = origin or datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self.origin + (datetime.now(timezone.utc) - self.origin) * self.speed

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        delay = min((when - self.now()).total_seconds() / self.speed, MAX_SLEEP.total_seconds())
        if delay <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass


@dataclass(frozen=True)
class Published:
    """A message the poster put on Discord (or found there)."""

    message_id: int
    at: datetime


class PostFailed(Exception):
    """Discord refused the request, so nothing was posted (a 4xx/5xx answer, a rate
    limit). Safe to retry. `retry_after` is Discord's suggested wait, if any;
    `permanent` means retrying will not help until a person fixes something (a missing
    permission, a deleted channel), so the host is told."""

    def __init__(self, reason: str, *, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class Poster(Protocol):
    """What the dispatcher needs from Discord. Raise :class:`PostFailed` when Discord
    definitely did not act; any other exception means the outcome is unknown."""

    async def publish(self, channel_id: int, post: posts.Post, nonce: str) -> Published:
        """Send a post to a channel with a nonce (enforced)."""

    async def find_published(self, channel_id: int, marker: str, since: datetime) -> Published | None:
        """The bot's own message in the channel, sent at or after `since`, whose embed
        footer ends with `marker`; None if there is none."""

    async def open_thread(self, channel_id: int, message_id: int, name: str) -> int:
        """Open (or find, if it already exists) the public thread from a message."""

    async def notify_host(self, chat: Chat, text: str) -> None:
        """Tell the chat's host about a problem only a person can fix (best effort)."""

    async def chat_action(self, chat: Chat, kind: ChatActionKind) -> str | None:
        """Carry out one of a chat's actions (start or end its Event, archive its threads,
        post its record); returns a note for the ledger ("not asked for", ...). Must be
        safe to repeat: after a crash an action may be carried out again, except the
        record, which is first looked for by its marker (:func:`action_marker`)."""


def marker(chat_id: int, kind: StepKind, question: int | None) -> str:
    """The text that ends a step's footer and identifies it on Discord."""
    return f"chat {chat_id} · {step_label(kind, question)}"


ACTION_NAMES = {
    ChatActionKind.EVENT_START: "Starting the Discord Event",
    ChatActionKind.EVENT_END: "Ending the Discord Event",
    ChatActionKind.ARCHIVE_THREADS: "Archiving the question threads",
    ChatActionKind.SHARE_RECORD: "Posting the record under the wrap-up",
    ChatActionKind.ANNOUNCE: "Creating the Discord Event",
    ChatActionKind.REMIND: "Sending reminders by DM",
    ChatActionKind.CPD_RECORDS: "Sending CPD records by DM",
}


def action_marker(chat_id: int, kind: ChatActionKind) -> str:
    """The text that ends the footer of a post made by a chat action (the record)."""
    return f"chat {chat_id} · {kind.value}"


def effective_catch_up(chat: Chat, store: Store) -> CatchUp:
    """The server's catch-up setting if it has one, else the chat file's."""
    override = store.server_settings(chat.guild_id).catch_up
    return CatchUp(override) if override else chat.definition.schedule.catch_up


# (entry id, title) of the guidance entries to show with a question.
RelatedGuidance = Callable[[Question], Sequence[tuple[str, str]]]


class Dispatcher:
    """Posts due steps exactly once; see the module docstring."""

    def __init__(self, store: Store, poster: Poster, clock: Clock | None = None,
                 related: RelatedGuidance | None = None,
                 series: "SeriesControl | None" = None, *,
                 shards: ShardRange | None = None, owner: str | None = None,
                 lease: timedelta = LEASE) -> None:
        """
        :param related: finds the guidance shown with a question.
        :param series: tops series up when one of their chats is over (and at start),
            and names the next occurrence in a wrap-up.
        :param shards: this process's home shards (default: one process, every server).
        :param owner: its name in the shard leases (default ``host:pid``).
        :param lease: how long a lease lasts unless renewed; a dead process's chats are
            taken over after at most this long.
        """
        self.shards = shards or ShardRange.single()
        self.owner = owner or process_owner()
        self.lease = lease
        self.held: frozenset[int] = frozenset()  # the shards whose servers it dispatches now
        self._renewed_at: datetime | None = None
        self.store = store
        self.poster = poster
        self.clock = clock or SystemClock()
        self.related = related
        self.series = series
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self.alive = False
        self.restarts = 0
        self._busy = asyncio.Lock()
        # Pieces of work (of different chats) in flight at once. Discord's global limit is
        # kept by the bot's HTTP pacing (bot.run.pacing), not here.
        self.concurrency = CONCURRENCY
        # Per-process backoff counters for thread retries; starting again at 0 after a
        # restart is harmless.
        self._thread_attempts: dict[int, int] = {}
        # Set when a post's outcome is unknown: the next round resolves it first (by
        # looking at Discord) before anything else is posted.
        self._unresolved = False

    # -- public -------------------------------------------------------------------------

    def wake(self) -> None:
        """Tell the dispatcher the schedule changed (call after any ledger change)."""
        self._wake.set()

    async def run(self) -> None:
        """Recover from a crash, then post steps as they fall due until :meth:`stop`.
        Errors of the world (network, database) end it; its supervisor
        (:meth:`supervise`) starts it again."""
        self.held = self._hold()
        await self.recover()
        if self.series is not None:
            # Series dates that came within reach while the bot was down (once per start,
            # not on every recovery from an unknown outcome).
            made = self.series.top_up_all()
            if made:
                log.info("scheduled %d series occurrences at start", made)
        while not self._stopping:
            await self.tick()
            if self._stopping:
                break
            self._wake.clear()
            due = self._due(1)
            now = self.clock.now()
            if due and due[0].when <= now:
                continue
            # Wake for the next due work, and in time to renew the shard leases.
            until = min(due[0].when if due else now + MAX_SLEEP, now + self.lease / 3)
            await self.clock.sleep_until(min(until, now + MAX_SLEEP), self._wake)

    async def supervise(self, *, first_wait: float = 1.0, max_wait: float = 60.0) -> None:
        """Run the dispatcher until :meth:`stop`, starting it again with back-off when an
        error ends it (a locked or full database, the network): it never stays down.
        :attr:`restarts` counts the restarts, :attr:`alive` says whether it is running."""
        try:
            await self._supervised(first_wait, max_wait)
        finally:
            self.alive = False

    async def _supervised(self, first_wait: float, max_wait: float) -> None:
        wait = first_wait
        while not self._stopping:
            self.alive = True
            try:
                await self.run()
                return
            except Exception as exc:  # noqa: BLE001 - any error: log, wait, start again
                self.alive = False
                self.restarts += 1
                log.error("the step dispatcher hit %s: %s; starting it again in %.1f s",
                          type(exc).__name__, exc, wait, exc_info=log.isEnabledFor(logging.DEBUG))
                self._unresolved = True
                try:
                    await asyncio.wait_for(self._stopped.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass
                wait = min(wait * 2, max_wait)

    async def stop(self) -> None:
        """Finish the step in flight, then return; run() ends."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        async with self._busy:
            # Nothing in flight now: hand the shards over at once, not after the lease.
            if self.held:
                self.store.release_shards(self.owner)
                self.held, self._renewed_at = frozenset(), None

    async def recover(self) -> list[str]:
        """Resolve steps left *claimed* by a crash; returns what was done, for the log."""
        report = []
        for guild_id, step_id in self.store.claimed_steps(self.shards, self.held):
            step = self.store.step(guild_id, step_id)
            chat = self.store.chat(guild_id, step.chat_id)
            found = await self._find(chat, step)
            if found is not None:
                await self._record(chat, step, found, late=None)
                report.append(f"{step_label(step.kind, step.question)} of chat {chat.id}: found on "
                              "Discord, recorded")
            else:
                # A first interruption is retried at once; repeated ones back off, so an
                # outage with unknown outcomes does not turn into a burst of attempts.
                wait = self._backoff(step.attempts - 1, None) if step.attempts > 1 else 0
                self.store.release_claim(guild_id, step_id, error="interrupted before posting",
                                         retry_at=self.clock.now() + timedelta(seconds=wait))
                report.append(f"{step_label(step.kind, step.question)} of chat {chat.id}: not on "
                              "Discord, will post")
        for guild_id, action_id in self.store.claimed_chat_actions(self.shards, self.held):
            action = self.store.chat_action(guild_id, action_id)
            chat = self.store.chat(guild_id, action.chat_id)
            found = None
            if action.kind is ChatActionKind.SHARE_RECORD:
                found = await self.poster.find_published(
                    chat.channel_id, action_marker(chat.id, action.kind),
                    (chat.ended_at or action.due_at) - timedelta(minutes=5))
            if found is not None:
                self.store.mark_chat_action_done(guild_id, action_id, self.clock.now(),
                                                 note="found on Discord after a restart")
            else:
                self.store.release_chat_action(guild_id, action_id, error="interrupted",
                                               retry_at=self.clock.now())
            report.append(f"{action.kind.value} of chat {chat.id}: "
                          + ("found done" if found else "will do it again"))
        self._unresolved = False
        for line in report:
            log.warning("recovered %s", line)
        return report

    async def tick(self) -> int:
        """Act on everything due now; returns how many pieces of work were done.

        Work of different chats is done concurrently, at most :attr:`concurrency` at once
        (1,000 servers starting together are not posted one request at a time); the work
        of one chat is done one piece at a time, in order. When a post's outcome is
        unknown, nothing more is started until it is resolved (by looking at Discord).
        An error of the world (the database, the network) waits for the work in flight,
        then ends the tick, as it ends a serial one."""
        done = 0
        async with self._busy:
            if self._stopping:
                return 0
            held, self.held = self.held, self._hold()
            if self.held - held:
                # Shards just taken (at start, or from a process whose lease ran out):
                # their claims were another process's; resolve them before posting.
                await self.recover()
            running: dict[asyncio.Task[None], int] = {}  # work in flight -> its chat
            failure: BaseException | None = None
            while True:
                upcoming = None
                if not self._stopping and not self._unresolved and failure is None:
                    upcoming = self._start_due(running)
                if not running:
                    if self._unresolved and failure is None and not self._stopping:
                        # Resolve the unknown outcome before anything else is posted; if
                        # Discord cannot be read either, this raises and the supervisor
                        # tries again after a back-off.
                        await self.recover()
                        continue
                    break
                # Wait for work in flight to finish, and also for the next work of another
                # chat to fall due (or the schedule to change): a step due while others are
                # still being posted starts on time, not when one of them is done.
                sleeper = asyncio.create_task(self.clock.sleep_until(upcoming or self.clock.now() + MAX_SLEEP,
                                                                     self._wake))
                try:
                    finished, _ = await asyncio.wait([*running, sleeper], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
                if sleeper in finished:
                    self._wake.clear()  # taken in: the loop looks at the schedule again
                for task in finished:
                    if task is sleeper:
                        continue
                    del running[task]
                    if task.exception() is not None:
                        failure = failure or task.exception()
                    else:
                        done += 1
            if failure is not None:
                raise failure
        return done

    def _start_due(self, running: dict[asyncio.Task[None], int]) -> datetime | None:
        """Start the due work of chats that have none in flight, up to the limit; return
        when the next work that could then be started falls due (None: none in sight)."""
        if len(running) >= self.concurrency:
            return None
        busy = set(running.values())
        now = self.clock.now()
        # A chat in flight may hold up to three of the earliest entries (its post, a
        # thread to open, an action): ask for enough to fill every free slot regardless.
        for due in self._due(self.concurrency + 3 * len(busy)):
            if len(running) >= self.concurrency:
                return None
            if due.chat_id in busy:
                continue
            if due.when > now:
                return due.when
            busy.add(due.chat_id)
            running[asyncio.create_task(self._act(due))] = due.chat_id
        return None

    def _hold(self) -> frozenset[int]:
        """Renew the shard leases and take what may be taken (Store.hold_shards), once a
        third of a lease has passed since the last time (a write; not on every tick)."""
        now = self.clock.now()
        if self._renewed_at is not None and now < self._renewed_at + self.lease / 3:
            return self.held
        self._renewed_at = now
        return self.store.hold_shards(self.owner, self.shards, now, self.lease)

    def _due(self, limit: int) -> list[DueStep]:
        return self.store.due_work(limit, self.shards, self.held) if self.held else []

    async def _act(self, due: DueStep) -> None:
        if due.action == "thread":
            await self._open_thread(due)
        elif due.action == "chat action":
            await self._chat_action(due)
        else:
            await self._post(due)

    # -- steps ------------------------------------------------------------------------------

    async def _post(self, due: DueStep) -> None:
        step = self.store.step(due.guild_id, due.step_id)
        chat = self.store.chat(due.guild_id, step.chat_id)
        now = self.clock.now()
        lateness = (now - step.due_at).total_seconds()
        late = lateness > chat.definition.schedule.late_grace_seconds
        label = step_label(step.kind, step.question)
        reminder_too_late = step.kind is StepKind.REMINDER and late
        if late and (reminder_too_late or effective_catch_up(chat, self.store) is CatchUp.SKIP):
            reason = (f"missed: due {step.due_at:%H:%M} UTC, the bot could only post it "
                      f"{lateness / 60:.0f} min later; "
                      + ("a late reminder is pointless" if reminder_too_late
                         else "catch-up policy is skip"))
            if self.store.skip_step(chat.guild_id, step.id, reason):
                self.store.audit(chat.guild_id, "step skipped", at=now, chat_id=chat.id,
                                 detail=f"{label}: {reason}")
                log.info("chat %s: %s %s", chat.id, label, reason)
            await self._after_step(chat)
            return
        if not self.store.claim_step(chat.guild_id, step.id, now):
            return
        step = self.store.step(chat.guild_id, step.id)
        if step.attempts > 1:
            # An earlier attempt may have reached Discord without our knowing.
            found = await self._find(chat, step)
            if found is not None:
                await self._record(chat, step, found, late=lateness if late else None)
                return
        following = None
        if step.kind is StepKind.WRAP_UP and self.series is not None and chat.series_id is not None:
            nxt = self.series.next_chat(chat)
            following = posts.NextChat(nxt.title, nxt.start_at) if nxt else posts.NextChat(None, None)
        post = render_step(self.store, chat, step, related=self.related, due=step.due_at if late else None,
                           posted=now if late else None, following=following)
        try:
            published = await self.poster.publish(chat.channel_id, post, step.nonce)
        except PostFailed as exc:
            wait = self._backoff(step.attempts, exc.retry_after)
            self.store.release_claim(chat.guild_id, step.id, error=exc.reason,
                                     retry_at=now + timedelta(seconds=wait))
            log.warning("chat %s: %s not posted (%s); retrying in %.0fs", chat.id, label,
                        exc.reason, wait)
            if exc.permanent and step.last_error != exc.reason:  # once per new problem
                await self._tell_host(chat, f"{label} could not be posted: {exc.reason}.")
            return
        except Exception as exc:
            # Unknown outcome: keep the claim; recovery decides by looking at Discord,
            # on the next round (and after a back-off if Discord cannot be read either).
            log.warning("chat %s: %s: outcome unknown (%s: %s); checking Discord", chat.id,
                        label, type(exc).__name__, exc)
            self._unresolved = True
            return
        await self._record(chat, step, published, late=lateness if late else None)

    async def _record(self, chat: Chat, step: Step, published: Published,
                late: float | None) -> None:
        try:
            self.store.mark_posted(
                chat.guild_id, step.id, message_id=published.message_id, posted_at=published.at,
                late_seconds=late, needs_thread=step.kind is StepKind.QUESTION,
            )
        except WrongState:
            # A moderator skipped or stopped it while it was on its way: it is on
            # Discord all the same, but the ledger keeps the moderator's decision.
            log.warning("chat %s: %s was posted as a moderator skipped it", chat.id,
                        step_label(step.kind, step.question))
            await self._after_step(self.store.chat(chat.guild_id, chat.id))
            return
        if step.kind is StepKind.REMINDER and not self.store.server_settings(chat.guild_id).reminder_role_id:
            # No reminder role: the members who asked are reminded by DM.
            self.store.add_chat_actions(chat.guild_id, chat.id, [ChatActionKind.REMIND], published.at)
        if step.kind is StepKind.INTRO:
            with self.store.transaction():
                if chat.state is ChatState.SCHEDULED:
                    self.store.set_chat_state(chat.guild_id, chat.id, ChatState.RUNNING)
                self.store.add_chat_actions(chat.guild_id, chat.id, [ChatActionKind.EVENT_START],
                                            published.at)
        log.info("chat %s: posted %s%s", chat.id, step_label(step.kind, step.question),
                 f" ({late / 60:.0f} min late)" if late else "")
        await self._after_step(self.store.chat(chat.guild_id, chat.id))

    async def _after_step(self, chat: Chat) -> None:
        """Finish the chat once no step is left to post."""
        if self.store.pending_count(chat.guild_id, chat.id) or chat.state not in (
            ChatState.SCHEDULED, ChatState.RUNNING
        ):
            return
        now = self.clock.now()
        with self.store.transaction():
            self.store.set_chat_state(chat.guild_id, chat.id, ChatState.FINISHED, ended_at=now)
            self.store.add_chat_actions(chat.guild_id, chat.id, FINISHING_ACTIONS, now)
            self.store.audit(chat.guild_id, "chat finished", at=now, chat_id=chat.id)
        if self.series is not None:
            self.series.top_up_after(chat)
        self.wake()

    async def _chat_action(self, due: DueStep) -> None:
        action: ChatAction = self.store.chat_action(due.guild_id, due.step_id)
        chat = self.store.chat(due.guild_id, action.chat_id)
        if not self.store.claim_chat_action(chat.guild_id, action.id, self.clock.now()):
            return
        try:
            note = await self.poster.chat_action(chat, action.kind)
        except Exception as exc:  # every action can be retried on its own
            retry_after = exc.retry_after if isinstance(exc, PostFailed) else None
            reason = exc.reason if isinstance(exc, PostFailed) else f"{type(exc).__name__}: {exc}"
            wait = self._backoff(action.attempts + 1, retry_after)
            self.store.release_chat_action(chat.guild_id, action.id, error=reason,
                                           retry_at=self.clock.now() + timedelta(seconds=wait))
            log.warning("chat %s: %s not done (%s); retrying in %.0fs", chat.id,
                        action.kind.value, reason, wait)
            if isinstance(exc, PostFailed) and exc.permanent and action.last_error != reason:
                await self._tell_host(chat, f"{ACTION_NAMES[action.kind]} did not work: {reason}.")
            return
        self.store.mark_chat_action_done(chat.guild_id, action.id, self.clock.now(), note=note)
        log.info("chat %s: %s done%s", chat.id, action.kind.value, f" ({note})" if note else "")

    async def _open_thread(self, due: DueStep) -> None:
        step = self.store.step(due.guild_id, due.step_id)
        chat = self.store.chat(due.guild_id, step.chat_id)
        question = next(q for q in chat.definition.questions if q.number == step.question)
        name = posts.thread_name(question.number, question.text, question.thread)
        try:
            thread_id = await self.poster.open_thread(chat.channel_id, step.message_id, name)
        except Exception as exc:  # thread creation is idempotent: always safe to retry
            retry_after = exc.retry_after if isinstance(exc, PostFailed) else None
            attempt = self._thread_attempts.get(step.id, 0) + 1
            self._thread_attempts[step.id] = attempt
            wait = self._backoff(attempt, retry_after)
            self.store.set_thread_failure(
                chat.guild_id, step.id, error=str(exc) or type(exc).__name__,
                retry_at=self.clock.now() + timedelta(seconds=wait),
            )
            log.warning("chat %s: thread for Q%s not opened (%s); retrying in %.0fs",
                        chat.id, step.question, exc, wait)
            return
        self._thread_attempts.pop(step.id, None)
        self.store.set_thread(chat.guild_id, step.id, thread_id)

    # -- helpers ---------------------------------------------------------------------------

    async def _tell_host(self, chat: Chat, problem: str) -> None:
        text = (f"**{chat.title}** (chat #{chat.id}): {problem} The bot keeps trying by "
                "itself; once it is fixed, nothing else is needed. `/tweetchat status` shows "
                "what is still waiting.")
        try:
            await self.poster.notify_host(chat, text)
        except Exception as exc:  # noqa: BLE001 - a notice must never stop the chat
            log.warning("chat %s: could not tell the host (%s)", chat.id, exc)

    async def _find(self, chat: Chat, step: Step) -> Published | None:
        since = (step.claimed_at or step.due_at) - timedelta(minutes=5)
        return await self.poster.find_published(
            chat.channel_id, marker(chat.id, step.kind, step.question), since
        )

    @staticmethod
    def _backoff(attempt: int, retry_after: float | None) -> float:
        wait = min(RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), RETRY_MAX_SECONDS)
        return max(wait, retry_after or 0)


def render_step(store: Store, chat: Chat, step: Step, *, due: datetime | None = None,
                posted: datetime | None = None, related: RelatedGuidance | None = None,
                following: posts.NextChat | None = None) -> posts.Post:
    """The post for a step; `due` and `posted` given when it goes out late; `related`
    finds the guidance entries shown with a question; `following` is the series' next
    chat, named in the wrap-up."""
    definition: ChatDefinition = chat.definition
    mark = marker(chat.id, step.kind, step.question)
    if step.kind is StepKind.REMINDER:
        event = posts.event_url(chat.guild_id, chat.scheduled_event_id) if chat.scheduled_event_id else None
        return posts.reminder_post(definition, mark, starts=chat.start_at, event=event,
                                   role_id=store.server_settings(chat.guild_id).reminder_role_id)
    if step.kind is StepKind.INTRO:
        return posts.intro_post(definition, mark, due=due, posted=posted)
    if step.kind is StepKind.QUESTION:
        question = next(q for q in definition.questions if q.number == step.question)
        return posts.question_post(definition, question, mark, due=due, posted=posted,
                                   related=related(question) if related else ())
    if step.kind is StepKind.MIDWAY:
        return posts.midway_post(definition, mark, due=due, posted=posted)
    # The same rule as the statistics: withdrawn answers and opted-out members not counted.
    per_question = store.shown_counts_by_question(chat.guild_id, chat.id)
    counts = posts.ChatCounts(
        [posts.QuestionCount(*tally) for tally in per_question],
        participants=store.chat_totals(chat.guild_id, chat.id)["participants"],
        answers=sum(tally.answers for tally in per_question),
    )
    return posts.wrap_up_post(definition, mark, counts, due=due, posted=posted, following=following,
                              chat_id=chat.id)
