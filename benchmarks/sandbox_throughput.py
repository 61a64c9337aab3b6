"""How many member messages per second the sandbox dispatches to a connected discord.py client.

Two ways to run it:

* ``--mode split`` (default): the sandbox and its scripted members run in a child process,
  the discord.py client in this one, as the bot and Discord would be (one core each).
* ``--mode inprocess``: both share one event loop, as in the test suite.

Two measurements in each mode:

* burst: ``--count`` messages sent as fast as the member API allows; throughput is
  messages received by the client (``on_message``) divided by the time from the first send
  to the last receipt.
* paced: ``--rate`` messages per second for ``--seconds``; reports the rate achieved and
  send-to-``on_message`` latency percentiles.

    .venv/bin/python benchmarks/sandbox_throughput.py
    .venv/bin/python benchmarks/sandbox_throughput.py --mode inprocess --count 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import discord  # noqa: E402

from bot.sandbox import RateLimits, Sandbox, SandboxConfig  # noqa: E402
from bot.sandbox.client import point_discord_at  # noqa: E402


class _Endpoint:
    def __init__(self, details: dict) -> None:
        self.api_base = details["api_base"]
        self.gateway_url = details["gateway_url"]
        self.bot_token = details["bot_token"]


async def send_burst(sandbox: Sandbox, count: int) -> None:
    members = [sandbox.member(name) for name in ("pat", "sam", "maya")]
    for n in range(count):
        await members[n % 3].send(f"{time.time():.6f} burst {n}")
        if n % 200 == 199:
            await asyncio.sleep(0)  # let the gateway writer run, as a live server would


async def send_paced(sandbox: Sandbox, rate: int, seconds: float) -> None:
    members = [sandbox.member(name) for name in ("pat", "sam", "maya")]
    total = int(rate * seconds)
    start = time.perf_counter()
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await members[n % 3].send(f"{time.time():.6f} paced {n}")


class Counter:
    """Counts on_message and records latency from the send time written in the content."""

    def __init__(self, client: discord.Client) -> None:
        self.latencies: list[float] = []
        self.first = self.last = 0.0
        self.target = 0
        self.done = asyncio.Event()

        async def on_message(message: discord.Message) -> None:
            now = time.time()
            sent = float(message.content.split(" ", 1)[0])
            if not self.latencies:
                self.first = sent
            self.latencies.append(now - sent)
            self.last = now
            if len(self.latencies) >= self.target:
                self.done.set()

        client.on_message = on_message  # type: ignore[attr-defined]

    def expect(self, count: int) -> None:
        self.latencies, self.target = [], count
        self.done.clear()

    def report(self, label: str) -> dict:
        received = len(self.latencies)
        span = self.last - self.first
        ordered = sorted(self.latencies)
        return {
            "phase": label,
            "received": received,
            "seconds": round(span, 3),
            "messages_per_second": round(received / span) if span else None,
            "latency_ms_p50": round(statistics.median(ordered) * 1000, 1),
            "latency_ms_p99": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 1),
        }


async def connect(endpoint) -> tuple[discord.Client, Counter, asyncio.Task]:
    intents = discord.Intents.default()
    intents.message_content = True
    # No message cache: the bot does not need one, and a full cache costs discord.py time.
    client = discord.Client(intents=intents, guild_ready_timeout=0.1, max_messages=None)
    counter = Counter(client)
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()
    client.on_ready = on_ready  # type: ignore[attr-defined]
    point_discord_at(endpoint)
    task = asyncio.create_task(client.start(endpoint.bot_token))
    await asyncio.wait_for(ready.wait(), 10)
    return client, counter, task


async def run_inprocess(args: argparse.Namespace) -> list[dict]:
    async with Sandbox(SandboxConfig(rate_limits=RateLimits.off())) as sandbox:
        client, counter, task = await connect(sandbox)
        results = []
        counter.expect(args.count)
        await send_burst(sandbox, args.count)
        await asyncio.wait_for(counter.done.wait(), 120)
        results.append(counter.report("burst"))
        total = int(args.rate * args.seconds)
        counter.expect(total)
        await send_paced(sandbox, args.rate, args.seconds)
        await asyncio.wait_for(counter.done.wait(), 120)
        results.append(counter.report(f"paced {args.rate}/s"))
        await client.close()
        await task
        return results


async def serve(args: argparse.Namespace) -> None:
    """Child process of split mode: run the sandbox, then send what the parent asks for."""
    async with Sandbox(SandboxConfig(rate_limits=RateLimits.off())) as sandbox:
        print(json.dumps({"api_base": sandbox.api_base, "gateway_url": sandbox.gateway_url,
                          "bot_token": sandbox.bot_token}), flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            command, *params = line.split()
            if command == "burst":
                await send_burst(sandbox, int(params[0]))
            elif command == "paced":
                await send_paced(sandbox, int(params[0]), float(params[1]))
            print("sent", flush=True)


async def run_split(args: argparse.Namespace) -> list[dict]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdin is not None and child.stdout is not None
    endpoint = _Endpoint(json.loads(await child.stdout.readline()))
    client, counter, task = await connect(endpoint)
    results = []
    try:
        counter.expect(args.count)
        child.stdin.write(f"burst {args.count}\n".encode())
        await asyncio.wait_for(counter.done.wait(), 120)
        results.append(counter.report("burst"))
        total = int(args.rate * args.seconds)
        counter.expect(total)
        child.stdin.write(f"paced {args.rate} {args.seconds}\n".encode())
        await asyncio.wait_for(counter.done.wait(), 120)
        results.append(counter.report(f"paced {args.rate}/s"))
    finally:
        await client.close()
        await task
        child.stdin.close()
        await child.wait()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("split", "inprocess"), default="split")
    parser.add_argument("--count", type=int, default=10_000, help="messages in the burst")
    parser.add_argument("--rate", type=int, default=1000, help="messages per second in the paced phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the paced phase")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args))
        return
    runner = run_split if args.mode == "split" else run_inprocess
    for result in asyncio.run(runner(args)):
        print(json.dumps({"mode": args.mode, **result}))


if __name__ == "__main__":
    main()
