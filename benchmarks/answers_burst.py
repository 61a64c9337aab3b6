"""Answers per second from the gateway to committed SQLite rows during a burst, the
event-loop lag meanwhile, and how late each step of a compressed chat was posted.

The real bot runs against the sandbox in this process (one event loop, as in the tests).
A chat is started; when Q1's thread opens, scripted members post ``--count`` answers in
it as fast as the member API allows (paced in slices of ``--slice`` messages so the
sandbox's own work does not starve the loop completely). We measure:

* throughput: answers committed to SQLite / (last commit - first send);
* event-loop lag: a ticker that wants to wake every 10 ms records how late it woke;
* step lateness: posted_at - due_at for every step of the chat (speed x``--speed``).

    .venv/bin/python benchmarks/answers_burst.py
    .venv/bin/python benchmarks/answers_burst.py --count 20000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.chat import load_chat_file  # noqa: E402
from bot.demo import SEED_NAME, data_dir, start_bot  # noqa: E402
from bot.sandbox import RateLimits, Sandbox, SandboxConfig  # noqa: E402

SEED = data_dir() / "chats" / f"{SEED_NAME}.toml"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def measure(count: int, speed: float, slice_: int) -> dict:
    members = tuple(f"m{i:03d}" for i in range(50))
    db = Path(tempfile.mkdtemp(prefix="tweetchat-bench-")) / "bench.db"
    async with Sandbox(SandboxConfig(members=members, rate_limits=RateLimits.off(),
                                     heartbeat_interval_ms=30_000)) as sb:
        bot, runner = await start_bot(sb, db_path=db, data=data_dir(), max_messages=None)

        chat = bot.control.schedule_compressed(
            sb.guild_id, sb.channel_id, load_chat_file(SEED), speed=speed, lead_seconds=1,
            zone="Europe/London", actor_id=sb.moderator.id).chat
        while not any(t.name.startswith("Q1 ") for t in sb.threads(sb.channel_id)):
            await asyncio.sleep(0.01)
        thread = next(t for t in sb.threads(sb.channel_id) if t.name.startswith("Q1 "))

        lags: list[float] = []
        ticking = True

        async def ticker() -> None:
            loop = asyncio.get_running_loop()
            while ticking:
                before = loop.time()
                await asyncio.sleep(0.010)
                lags.append((loop.time() - before - 0.010) * 1000)

        tick_task = asyncio.create_task(ticker())
        people = [sb.member(n) for n in members]
        t0 = time.perf_counter()
        for i in range(count):
            await people[i % len(people)].send(f"A1 burst answer {i}", channel_id=thread.id)
            if i % slice_ == slice_ - 1:
                await asyncio.sleep(0)
        sent = time.perf_counter()
        query = "SELECT COUNT(*) FROM answers WHERE chat_id = ?"
        while bot.store.db.execute(query, [chat.id]).fetchone()[0] < count:
            await asyncio.sleep(0.005)
        committed = time.perf_counter()
        ticking = False
        await tick_task

        while bot.store.chat(sb.guild_id, chat.id).state.value != "finished":
            await asyncio.sleep(0.05)
        late = [(s.posted_at - s.due_at).total_seconds() * 1000
                for s in bot.store.steps(sb.guild_id, chat.id)]
        batches = bot.writer.stats.batches
        await bot.close()
        await asyncio.gather(runner, return_exceptions=True)
    return {
        "count": count,
        "send_seconds": sent - t0,
        "commit_seconds": committed - t0,
        "answers_per_second": count / (committed - t0),
        "batches": batches,
        "lag_p50_ms": percentile(lags, 50), "lag_p99_ms": percentile(lags, 99),
        "lag_max_ms": max(lags),
        "step_late_ms": late,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--speed", type=float, default=65.0)
    parser.add_argument("--slice", type=int, default=50, dest="slice_")
    args = parser.parse_args()
    r = asyncio.run(measure(args.count, args.speed, args.slice_))
    print(f"burst of {r['count']} answers: sent in {r['send_seconds']:.2f} s, all committed after "
          f"{r['commit_seconds']:.2f} s -> {r['answers_per_second']:.0f} answers/s "
          f"({r['batches']} write batches)")
    print(f"event-loop lag during the burst: p50 {r['lag_p50_ms']:.1f} ms, p99 "
          f"{r['lag_p99_ms']:.1f} ms, max {r['lag_max_ms']:.1f} ms")
    late = r["step_late_ms"]
    print(f"step lateness over {len(late)} steps: median {statistics.median(late):.0f} ms, "
          f"max {max(late):.0f} ms  ({', '.join(f'{v:.0f}' for v in late)})")


if __name__ == "__main__":
    main()
