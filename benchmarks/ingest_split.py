"""Answers stored per second during a burst, against what a plain discord.py client
receives of the same burst, with the sandbox in another process.

The child process runs the sandbox and its scripted members (one core, as Discord would be
elsewhere). The parent runs, in turn:

* a plain discord.py 2.7 client (default intents + message content, no message cache)
  whose ``on_message`` only counts: messages received per second, from the first send to
  the last receipt;
* the real bot (``TweetchatBot``) with a compressed chat running, the burst posted in
  Q1's thread: answers committed to SQLite per second, from the first send until
  ``SELECT COUNT(*)`` sees them all; the event loop's lag meanwhile (a ticker that wants
  to wake every 10 ms).

Each round runs the bot, then the plain client on the same thread (so both receive the same
kind of message and the sandbox does the same work for each), ``--rounds`` times; the
ratio is bot / plain of the same round.

With ``--steps``, it measures instead how late steps are posted while a burst arrives:
besides the chat whose Q1 thread takes the burst, ``--chats`` more chats (each in a server
of its own, compressed ``--step-speed`` times, started a little apart) post their steps
while the burst arrives. Rounds alternate with and without the burst, so the quiet rounds
are the anchor: the lateness the dispatcher and the rate-limit pacer cause on their own.
A step counts when it fell due between the first send and the last answer stored (or the
same span of a quiet round). Each step's lateness is read twice from the ledger: when the
dispatcher claimed it (the bot's own delay: its event loop and dispatcher) and when the
message was made on the sandbox (plus the rate-limit pacer and the request itself, which
the sandbox serves from the process that is also sending the burst). The default pace
(600 ×: a chat's steps 1 s apart, ten chats started 0.1 s apart) keeps the steps that fall
in a burst those of different chats, as at 8pm: at 4,000 × a chat's steps were 150 ms
apart, less than a question and its thread take while the sandbox is busy, so each step
waited for its own chat's previous one and the figure measured the compression.

    .venv/bin/python benchmarks/ingest_split.py [--count 5000] [--rounds 2]
    .venv/bin/python benchmarks/ingest_split.py --steps [--count 5000] [--rounds 10] [--chats 10] [--step-speed 600]
    .venv/bin/python benchmarks/ingest_split.py --profile [--count 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bot.chat import load_chat_file  # noqa: E402
from bot.demo import SEED_NAME, data_dir  # noqa: E402
from bot.sandbox import RateLimits, Sandbox, SandboxConfig  # noqa: E402
from sandbox_throughput import _Endpoint, connect  # noqa: E402

MEMBERS = tuple(f"m{i:02d}" for i in range(30))
DEFINITION = load_chat_file(data_dir() / "chats" / f"{SEED_NAME}.toml")


async def send_burst(sandbox: Sandbox, count: int, channel_id: int, slice_: int = 200) -> None:
    members = [sandbox.member(name) for name in MEMBERS]
    for n in range(count):
        await members[n % len(members)].send(f"{time.time():.6f} A1 answer {n}", channel_id=channel_id)
        if n % slice_ == slice_ - 1:
            # Let the gateway writer (and the REST routes) run, as a live server would.
            await asyncio.sleep(0)


async def serve(servers: int) -> None:
    """The child: the sandbox (with `servers` more servers, a channel each), then bursts
    where the parent says."""
    config = SandboxConfig(rate_limits=RateLimits.off(), members=MEMBERS, heartbeat_interval_ms=30_000)
    async with Sandbox(config) as sandbox:
        more = []
        for n in range(servers):
            guild = sandbox.world.create_guild(f"Server {n + 2}")
            more.append((guild.id, sandbox.world.add_channel(guild.id, "tweetchat").id))
        print(json.dumps({"api_base": sandbox.api_base, "gateway_url": sandbox.gateway_url,
                          "bot_token": sandbox.bot_token, "guild_id": sandbox.guild_id,
                          "channel_id": sandbox.channel_id, "more": more}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            command, count, channel, slice_ = line.split()
            if command == "burst":
                await send_burst(sandbox, int(count), int(channel), int(slice_))
            print("sent", flush=True)


async def plain_round(endpoint, child, count: int, channel_id: int) -> tuple[float, float]:
    """Messages per second the plain client received, and its CPU per message (s)."""
    client, counter, task = await connect(endpoint)
    try:
        counter.expect(count)
        cpu = time.process_time()
        child.stdin.write(f"burst {count} {channel_id} 200\n".encode())
        await asyncio.wait_for(counter.done.wait(), 300)
        cpu = time.process_time() - cpu
        await child.stdout.readline()
        return counter.report("plain")["messages_per_second"], cpu / count
    finally:
        await client.close()
        await task


@contextlib.asynccontextmanager
async def running_bot(endpoint, details, workdir: Path):
    """The real bot connected to the child's sandbox, with the seed chat started
    (compressed) in the main channel: yields (bot, chat, Q1's thread id)."""
    from bot.app import TweetchatBot, point_at
    from bot.config import Secret, Settings

    settings = Settings(token=Secret(endpoint.bot_token), database=workdir / f"bot-{time.time_ns()}.db",
                        api_base_url=endpoint.api_base, gateway_url=endpoint.gateway_url,
                        dev_guild_id=details["guild_id"])
    point_at(settings)
    bot = TweetchatBot(settings, guild_ready_timeout=0.1, max_messages=None)
    runner = asyncio.create_task(bot.start(endpoint.bot_token))
    await asyncio.wait_for(bot.ready_once.wait(), 30)
    try:
        chat = bot.control.schedule_compressed(details["guild_id"], details["channel_id"], DEFINITION,
                                               speed=300, lead_seconds=0.5, zone="Europe/London",
                                               actor_id=None).chat
        while not bot.store.steps(details["guild_id"], chat.id)[1].thread_id:
            await asyncio.sleep(0.05)
        yield bot, chat, bot.store.steps(details["guild_id"], chat.id)[1].thread_id
    finally:
        await bot.close()
        await asyncio.gather(runner, return_exceptions=True)


class LoopLag:
    """A ticker that wants to wake every 10 ms, recording how late it woke."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - before - 0.01)

    def stop(self) -> float:
        """Stop; the p99 lag in seconds."""
        self._task.cancel()
        return percentile(self.lags, 99) if self.lags else 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def stored_all(bot, chat, count: int) -> None:
    """Wait until SQLite holds `count` answers of `chat`. The writer's own tally says when
    to look (counting the rows every 20 ms cost the bot's process 16 µs per answer in a
    20,000 burst, which the plain client does not pay); the rows counted decide."""
    while bot.writer.stats.answers < count:
        await asyncio.sleep(0.02)
    while bot.store.db.execute("SELECT COUNT(*) FROM answers WHERE guild_id = ? AND chat_id = ?",
                               [chat.guild_id, chat.id]).fetchone()[0] < count:
        await asyncio.sleep(0.005)


async def bot_round(endpoint, details, child, count: int, workdir: Path,
                    profiler=None) -> tuple[float, float, float, int]:
    """Answers stored per second, the loop's p99 lag, CPU per answer (s, every thread of
    the process), and Q1's thread; `profiler` (a cProfile.Profile) runs during the burst."""
    async with running_bot(endpoint, details, workdir) as (bot, chat, thread_id):
        lag = LoopLag()
        start, cpu = time.time(), time.process_time()
        if profiler is not None:
            profiler.enable()
        child.stdin.write(f"burst {count} {thread_id} 200\n".encode())
        await stored_all(bot, chat, count)
        if profiler is not None:
            profiler.disable()
        elapsed, cpu = time.time() - start, time.process_time() - cpu
        lag_p99 = lag.stop()
        await child.stdout.readline()
        return count / elapsed, lag_p99, cpu / count, thread_id


async def steps_round(endpoint, details, child, count: int, workdir: Path, *, servers: list,
                      burst: bool, step_speed: float,
                      quiet_span: float) -> tuple[list[tuple[float, float]], float, float]:
    """Of the other chats' steps due while the burst arrived (or, without the burst, over
    as long a span): how late each was posted (the message's own time on the sandbox) and
    claimed (the dispatcher took it up, before the pacer and the request); the loop's p99
    lag, and the span."""
    async with running_bot(endpoint, details, workdir) as (bot, chat, thread_id):
        others = [bot.control.schedule_compressed(guild, channel, DEFINITION, speed=step_speed,
                                                  lead_seconds=0.1 + 0.1 * n, zone="Europe/London",
                                                  actor_id=None).chat
                  for n, (guild, channel) in enumerate(servers)]
        lag = LoopLag()
        start = datetime.now(timezone.utc)
        if burst:
            # Slices of 20: the sandbox's REST routes (where the steps go) share its one
            # process with the burst; Discord's do not.
            child.stdin.write(f"burst {count} {thread_id} 20\n".encode())
            await stored_all(bot, chat, count)
            await child.stdout.readline()
        else:
            await asyncio.sleep(quiet_span)
        end = datetime.now(timezone.utc)
        lag_p99 = lag.stop()
        while not all(s.posted_at for c in others for s in bot.store.steps(c.guild_id, c.id)):
            await asyncio.sleep(0.05)
        due = [s for c in others for s in bot.store.steps(c.guild_id, c.id) if start <= s.due_at <= end]
        late = [((s.posted_at - s.due_at).total_seconds(), (s.claimed_at - s.due_at).total_seconds())
                for s in due]
        return late, lag_p99, (end - start).total_seconds()


async def run_steps(count: int, rounds: int, chats: int, step_speed: float) -> None:
    # Servers of their own in each round: a new bot finding an earlier round's posts of a
    # chat with the same id in the same channel would take them as its own (its recovery).
    child, details = await start_child(chats * rounds)
    workdir = Path(tempfile.mkdtemp(prefix="tweetchat-steps-"))
    found = {True: [], False: []}
    span = 1.0
    try:
        for n in range(rounds):
            burst = n % 2 == 0  # a quiet round watches as long as the burst before it took
            servers = details["more"][n * chats:(n + 1) * chats]
            late, lag, span = await steps_round(_Endpoint(details), details, child, count, workdir,
                                                servers=servers, burst=burst, step_speed=step_speed, quiet_span=span)
            found[burst].extend(late)
            print(f"round {n + 1} ({'burst' if burst else 'quiet'}): {len(late)} steps due in "
                  f"{span:.2f} s, latest posted {max((p for p, _ in late), default=0) * 1e3:.0f} ms "
                  f"late, claimed {max((c for _, c in late), default=0) * 1e3:.0f} ms; loop lag p99 "
                  f"{lag * 1e3:.0f} ms", flush=True)
    finally:
        child.stdin.close()
        await child.wait()
    for burst, late in found.items():
        for n, what in enumerate(("posted", "claimed")):
            values = [pair[n] for pair in late]
            if values:
                print(f"{'during bursts' if burst else 'quiet'}: {len(values)} steps {what} late p50 "
                      f"{percentile(values, 50) * 1e3:.0f} ms, p95 {percentile(values, 95) * 1e3:.0f} ms, "
                      f"p99 {percentile(values, 99) * 1e3:.0f} ms, max {max(values) * 1e3:.0f} ms")


async def profile(count: int) -> None:
    """One bot round under cProfile (the event loop's thread only; the writer's thread is
    not in it): where the loop's time goes per message."""
    import cProfile
    import pstats

    child, details = await start_child()
    profiler = cProfile.Profile()
    try:
        await bot_round(_Endpoint(details), details, child, count, Path(tempfile.mkdtemp()), profiler)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    finally:
        child.stdin.close()
        await child.wait()


async def start_child(servers: int = 0):
    child = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", str(servers),
                                                 cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return child, json.loads(await child.stdout.readline())


async def run(count: int, rounds: int) -> None:
    child, details = await start_child()
    endpoint = _Endpoint(details)
    workdir = Path(tempfile.mkdtemp(prefix="tweetchat-ingest-"))
    rows = []
    try:
        for n in range(rounds):
            # The plain client gets the same kind of messages, in the same thread: a thread
            # costs the sandbox more per message than a channel.
            stored, lag, bot_cpu, thread_id = await bot_round(endpoint, details, child, count, workdir)
            plain, plain_cpu = await plain_round(endpoint, child, count, thread_id)
            rows.append((plain, stored, plain_cpu / bot_cpu))
            print(f"round {n + 1}: plain client {plain:,.0f} msg/s; bot stored {stored:,.0f} answers/s "
                  f"({stored / plain:.2f} x); loop lag p99 {lag * 1e3:.0f} ms; CPU per message: plain "
                  f"{plain_cpu * 1e6:.0f} us, bot {bot_cpu * 1e6:.0f} us ({plain_cpu / bot_cpu:.2f} x)",
                  flush=True)
    finally:
        child.stdin.close()
        await child.wait()
    ratios = [s / p for p, s, _ in rows]
    print(f"median ratio over {rounds} rounds of {count:,}: {statistics.median(ratios):.2f}; "
          f"of CPU per message (plain / bot): {statistics.median(c for _, _, c in rows):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", action="store_true", help="measure step lateness during bursts")
    parser.add_argument("--chats", type=int, default=10, help="with --steps: chats posting meanwhile")
    parser.add_argument("--step-speed", type=float, default=600.0,
                        help="with --steps: how compressed their chats are (600: steps 1 s apart)")
    parser.add_argument("--profile", action="store_true", help="one bot round under cProfile")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
    elif args.profile:
        asyncio.run(profile(args.count))
    elif args.steps:
        asyncio.run(run_steps(args.count, args.rounds, args.chats, args.step_speed))
    else:
        asyncio.run(run(args.count, args.rounds))


if __name__ == "__main__":
    main()
