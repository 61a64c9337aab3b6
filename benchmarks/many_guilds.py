"""Many servers starting a chat in the same minute: how long until every intro, and every
Q1 with its thread, is out, against the floor Discord's global rate limit allows.

The real bot (discord.py) and the sandbox in one process; the sandbox has ``--guilds``
servers, each with a #tweetchat channel, enforces Discord-like limits (50 requests/s in
all, 5 messages per 5 s per channel, ...) and adds ``--latency`` seconds to every REST
request, as the round trip to a remote Discord would. One chat per server, compressed
``--speed`` times (so Q1 follows the intro after 300 / speed s), all starting at once.
(Chats are put in the ledger with ``ChatControl.schedule_compressed``: this measures the
dispatcher, not the scheduling commands, which tests/e2e drives through Discord.)

Floors: N intros need N requests, so N / 50 s; Q1 and its thread need 2N, so 2N / 50 s
from Q1's due time. Also: global 429s met, and whether every chat's steps went out in
order and once.

    .venv/bin/python benchmarks/many_guilds.py [--guilds 1000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
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
from bot.store import StepState  # noqa: E402

DISCORD_GLOBAL = 50.0
# How many chats have their intro posted, and their Q1 posted with its thread.
PROGRESS = """SELECT COALESCE(SUM(kind = 'intro' AND state = 'posted'), 0),
                     COALESCE(SUM(kind = 'question' AND question = 1 AND state = 'posted'
                                  AND thread_id IS NOT NULL), 0)
              FROM steps"""


async def measure(guilds: int, latency: float, speed: float, lead: float) -> dict:
    db = Path(tempfile.mkdtemp(prefix="tweetchat-guilds-")) / "bench.db"
    config = SandboxConfig(members=(), rate_limits=RateLimits.discord_like(), heartbeat_interval_ms=30_000,
                           rest_latency=latency)
    async with Sandbox(config) as sb:
        channels = {sb.guild_id: sb.channel_id}
        for i in range(guilds - 1):
            guild = sb.world.create_guild(f"Server {i + 2}")
            channels[guild.id] = sb.world.add_channel(guild.id, "tweetchat").id
        bot, runner = await start_bot(sb, db_path=db, data=data_dir(), timeout=120, max_messages=None,
                                      chunk_guilds_at_startup=False)
        definition = load_chat_file(data_dir() / "chats" / f"{SEED_NAME}.toml")
        chats = [bot.control.schedule_compressed(guild, channel, definition, speed=speed, lead_seconds=lead,
                                                 zone="Europe/London", actor_id=None).chat
                 for guild, channel in channels.items()]
        # Times from the ledger's own instants (the bot's clock is the wall clock here).
        first_start = min(c.start_at for c in chats)
        start = time.monotonic() + (first_start - bot.now()).total_seconds()
        q1_due = start + 300 / speed
        intros_done = q1_done = None
        while q1_done is None:
            await asyncio.sleep(0.2)
            # One aggregate query: reading every chat's ledger through the store each time
            # cost a third of the process's CPU at 300 servers, which the bot then lacked.
            intros, q1s = bot.store.db.execute(PROGRESS).fetchone()
            if intros_done is None and intros == len(chats):
                intros_done = time.monotonic()
            if q1s == len(chats):
                q1_done = time.monotonic()
            if time.monotonic() - start > 30 * guilds / DISCORD_GLOBAL + 600:
                raise RuntimeError("gave up waiting")
        states = [bot.store.steps(c.guild_id, c.id)[:2] for c in chats]
        in_order = all(s[0].state is s[1].state is StepState.POSTED and s[0].message_id < s[1].message_id
                       for s in states)
        refusals = list(sb.rate_limiter.refusals)
        waited = bot.pacer.waited
        await bot.close()
        await asyncio.gather(runner, return_exceptions=True)
    return {
        "guilds": guilds, "intros": intros_done - start, "intro_floor": guilds / DISCORD_GLOBAL,
        "q1": q1_done - q1_due, "q1_floor": 2 * guilds / DISCORD_GLOBAL, "in_order": in_order,
        "global_429": sum(1 for _, scope in refusals if scope == "global"), "other_429": len(refusals),
        "paced": waited,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--speed", type=float, default=5.0, help="Q1 comes 300/speed s after the intro")
    parser.add_argument("--lead", type=float, default=5.0, help="seconds from scheduling to the start")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    r = asyncio.run(measure(args.guilds, args.latency, args.speed, args.lead))
    print(f"{r['guilds']} servers, {args.latency * 1e3:.0f} ms added per request:")
    print(f"  every intro out {r['intros']:.1f} s after the start; floor {r['intro_floor']:.1f} s "
          f"({r['intros'] / r['intro_floor']:.2f} x)")
    print(f"  every Q1 and its thread out {r['q1']:.1f} s after Q1 was due; floor {r['q1_floor']:.1f} s "
          f"({r['q1'] / r['q1_floor']:.2f} x)")
    print(f"  each chat's steps in order: {r['in_order']}; global 429s: {r['global_429']}; "
          f"all 429s: {r['other_429']}; time requests waited for the pacer: {r['paced']:.0f} s in all")


if __name__ == "__main__":
    main()
