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

    .venv/bin/python benchmarks/ingest_split.py [--count 5000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
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


async def send_burst(sandbox: Sandbox, count: int, channel_id: int) -> None:
    members = [sandbox.member(name) for name in MEMBERS]
    for n in range(count):
        await members[n % len(members)].send(f"{time.time():.6f} A1 answer {n}", channel_id=channel_id)
        if n % 200 == 199:
            await asyncio.sleep(0)  # let the gateway writer run, as a live server would


async def serve() -> None:
    """The child: the sandbox, then bursts where the parent says."""
    config = SandboxConfig(rate_limits=RateLimits.off(), members=MEMBERS, heartbeat_interval_ms=30_000)
    async with Sandbox(config) as sandbox:
        print(json.dumps({"api_base": sandbox.api_base, "gateway_url": sandbox.gateway_url,
                          "bot_token": sandbox.bot_token, "guild_id": sandbox.guild_id,
                          "channel_id": sandbox.channel_id}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            command, count, channel = line.split()
            if command == "burst":
                await send_burst(sandbox, int(count), int(channel))
            print("sent", flush=True)


async def plain_round(endpoint, child, count: int, channel_id: int) -> float:
    client, counter, task = await connect(endpoint)
    try:
        counter.expect(count)
        child.stdin.write(f"burst {count} {channel_id}\n".encode())
        await asyncio.wait_for(counter.done.wait(), 300)
        await child.stdout.readline()
        return counter.report("plain")["messages_per_second"]
    finally:
        await client.close()
        await task


async def bot_round(endpoint, details, child, count: int, workdir: Path) -> tuple[float, float, int]:
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
        definition = load_chat_file(data_dir() / "chats" / f"{SEED_NAME}.toml")
        chat = bot.control.schedule_compressed(details["guild_id"], details["channel_id"], definition,
                                               speed=300, lead_seconds=0.5, zone="Europe/London",
                                               actor_id=None).chat
        while not bot.store.steps(details["guild_id"], chat.id)[1].thread_id:
            await asyncio.sleep(0.05)
        thread_id = bot.store.steps(details["guild_id"], chat.id)[1].thread_id
        lags: list[float] = []

        async def ticker() -> None:
            while True:
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        ticking = asyncio.create_task(ticker())
        start = time.time()
        child.stdin.write(f"burst {count} {thread_id}\n".encode())
        while bot.store.db.execute("SELECT COUNT(*) FROM answers WHERE chat_id = ?", [chat.id]).fetchone()[0] < count:
            await asyncio.sleep(0.02)
        elapsed = time.time() - start
        ticking.cancel()
        await child.stdout.readline()
        lag_p99 = sorted(lags)[int(len(lags) * 0.99) - 1] if lags else 0.0
        return count / elapsed, lag_p99, thread_id
    finally:
        await bot.close()
        await asyncio.gather(runner, return_exceptions=True)


async def run(count: int, rounds: int) -> None:
    child = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve", cwd=REPO,
                                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    details = json.loads(await child.stdout.readline())
    endpoint = _Endpoint(details)
    workdir = Path(tempfile.mkdtemp(prefix="tweetchat-ingest-"))
    rows = []
    try:
        for n in range(rounds):
            # The plain client gets the same kind of messages, in the same thread: a thread
            # costs the sandbox more per message than a channel.
            stored, lag, thread_id = await bot_round(endpoint, details, child, count, workdir)
            plain = await plain_round(endpoint, child, count, thread_id)
            rows.append((plain, stored, lag))
            print(f"round {n + 1}: plain client {plain:,.0f} msg/s; bot stored {stored:,.0f} answers/s "
                  f"({stored / plain:.2f} x); loop lag p99 {lag * 1e3:.0f} ms", flush=True)
    finally:
        child.stdin.close()
        await child.wait()
    ratios = [s / p for p, s, _ in rows]
    print(f"median ratio over {rounds} rounds of {count:,}: {statistics.median(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
    else:
        asyncio.run(run(args.count, args.rounds))


if __name__ == "__main__":
    main()
