"""The dispatcher's "what is due next?" lookup, and its CPU per post, at 100, 1,000 and
10,000 chats in one database.

Each chat is the seed chat's run of show (intro, six questions, midway note, wrap-up; its
finishing actions come later), in its own guild: a fifth of them running (intro and Q1
posted), the rest scheduled over the coming week. Measured in one process, on a file
database in WAL mode as the bot uses it:

* lookup: ``Store.next_due_step()``, median of 300 calls; the anchor is a primary-key
  read of one step (``Store.step``) measured just before, so the figure is a ratio that
  the machine's noise largely cancels out of;
* the same lookup written as it was before the indexed form (``PREVIOUS`` below), for
  comparison, on the same database;
* CPU per post: the real ``Dispatcher`` with a poster that answers at once (no network),
  its clock fixed at an instant where 200 steps of different chats are due: process CPU
  time of posting them all, per post.

    .venv/bin/python benchmarks/due_lookup.py [--sizes 100 1000 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.chat import load_chat_file  # noqa: E402
from bot.chat.timeline import build_timeline  # noqa: E402
from bot.demo import SEED_NAME, data_dir  # noqa: E402
from bot.run.dispatcher import Dispatcher, Published  # noqa: E402
from bot.store import ChatState, Store  # noqa: E402

NOW = datetime(2026, 12, 7, 20, 0, tzinfo=timezone.utc)
DUE_AT_ONCE = 200

# The lookup as it was before the indexed form: every pending step checked against every
# earlier step of its chat, the chats' states read for each, no index usable for the order.
PREVIOUS = """
SELECT guild_id, id, MAX(due_at, COALESCE(not_before, '')) AS at, 'post' AS action
  FROM steps
 WHERE state = 'pending'
   AND chat_id IN (SELECT id FROM chats WHERE state IN ('scheduled', 'running'))
   AND NOT EXISTS (SELECT 1 FROM steps e WHERE e.chat_id = steps.chat_id
                      AND e.seq < steps.seq AND e.state IN ('pending', 'claimed'))
UNION ALL
SELECT guild_id, id, thread_retry_at AS at, 'thread' AS action
  FROM steps
 WHERE state = 'posted' AND thread_retry_at IS NOT NULL
UNION ALL
SELECT guild_id, id, MAX(due_at, COALESCE(not_before, '')) AS at, 'chat action' AS action
  FROM chat_actions
 WHERE state = 'pending'
   AND NOT EXISTS (SELECT 1 FROM chat_actions e WHERE e.chat_id = chat_actions.chat_id
                      AND e.id < chat_actions.id AND e.state IN ('pending', 'claimed'))
ORDER BY at, id
LIMIT 1
"""


class InstantPoster:
    """A poster that answers at once: the dispatcher's own cost, with no network."""

    def __init__(self) -> None:
        self.ids = iter(range(10**15, 10**16))

    async def publish(self, channel_id, post, nonce):
        return Published(next(self.ids), NOW)

    async def find_published(self, channel_id, marker, since):
        return None

    async def open_thread(self, channel_id, message_id, name):
        return next(self.ids)

    async def notify_host(self, chat, text):
        return None

    async def chat_action(self, chat, kind):
        return None


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    async def sleep_until(self, when, wake) -> None:
        await asyncio.sleep(0)


def build(size: int, folder: Path) -> tuple[Store, list[tuple[int, int]]]:
    """A database of `size` chats; returns it and (guild, step) of one step per chat."""
    rng = random.Random(size)
    definition = load_chat_file(data_dir() / "chats" / f"{SEED_NAME}.toml")
    store = Store(folder / f"due-{size}.db")
    some_steps = []
    due_now = 0
    for i in range(size):
        guild = 10_000 + i
        if due_now < DUE_AT_ONCE:
            start = NOW - timedelta(minutes=1)  # its intro is due now
            due_now += 1
        elif rng.random() < 0.2:
            start = NOW - timedelta(minutes=rng.randint(6, 50))  # running
        else:
            start = NOW + timedelta(minutes=rng.randint(60, 7 * 24 * 60))
        steps = build_timeline(definition, start)
        chat = store.create_chat(guild_id=guild, channel_id=guild + 1, definition=definition, start_at=start,
                                 timezone_name="Europe/London", steps=steps, created_by=None,
                                 now=start - timedelta(days=1))
        ledger = store.steps(guild, chat.id)
        some_steps.append((guild, ledger[0].id))
        if start < NOW - timedelta(minutes=5):  # running: intro and Q1 out
            store.set_chat_state(guild, chat.id, ChatState.RUNNING)
            for step in ledger[:2]:
                store.claim_step(guild, step.id, start)
                store.mark_posted(guild, step.id, message_id=step.id, posted_at=start, late_seconds=0,
                                  needs_thread=False)
    return store, some_steps


def median_seconds(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size: int, folder: Path) -> dict:
    store, some = build(size, folder)
    anchor = median_seconds(lambda: store.step(*some[len(some) // 2]), 300)
    lookup = median_seconds(store.next_due_step, 300)
    previous = median_seconds(lambda: list(store.db.query(PREVIOUS)), 50 if size >= 10_000 else 300)
    dispatcher = Dispatcher(store, InstantPoster(), FixedClock(NOW))
    cpu = time.process_time()
    posted = asyncio.run(dispatcher.tick())
    per_post = (time.process_time() - cpu) / max(posted, 1)
    store.close()
    return {"size": size, "anchor": anchor, "lookup": lookup, "previous": previous, "posted": posted,
            "per_post": per_post}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10_000])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tweetchat-due-"))
    print("| chats | PK read (anchor) | next_due_step | × anchor | previous form | × anchor | "
          "actions in one tick | CPU per action | × anchor |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        r = measure(size, folder)
        a = r["anchor"]
        print(f"| {size:,} | {a * 1e6:.0f} µs | {r['lookup'] * 1e6:.0f} µs | {r['lookup'] / a:.1f} | "
              f"{r['previous'] * 1e3:.2f} ms | {r['previous'] / a:.0f} | {r['posted']} | "
              f"{r['per_post'] * 1e3:.2f} ms | {r['per_post'] / a:.0f} |")


if __name__ == "__main__":
    main()
