"""`tweetchat room`: rehearse a chat in the browser, with co-hosts, no Discord account.

It starts the local sandbox with its rehearsal room (`bot/sandbox/room.py`: the channel,
threads, members and slash commands as a web page), the real bot logged in to it, and
prints the page's address. Each browser tab is one person (a moderator, a member, or
someone added on the page); everything they do reaches the bot as it would on Discord.
With ``--speed`` the bot's clock runs faster, so an evening's chat rehearses in minutes.
The page is served on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from bot.demo import data_dir, start_bot

PEOPLE = ("pat", "sam", "alex", "jo")  # members to start with, beside maya the moderator


async def run_room(out: TextIO = sys.stdout, *, speed: float = 1.0, port: int = 0,
                   db_path: Path | None = None, ready: asyncio.Event | None = None,
                   stop: asyncio.Event | None = None) -> None:
    """Run the room until `stop` is set (or the task is cancelled: Ctrl-C)."""
    from bot.sandbox import Sandbox, SandboxConfig

    db_path = db_path or Path(tempfile.mkdtemp(prefix="tweetchat-room-")) / "tweetchat.db"
    config = SandboxConfig(port=port, moderators=("maya",), members=PEOPLE, room=True,
                           heartbeat_interval_ms=10_000)
    async with Sandbox(config) as sb:
        bot, runner = await start_bot(sb, db_path=db_path, data=data_dir(), speed=speed)
        sb.room.speed, sb.room.clock = speed, bot.now
        try:
            url = f"{sb.base_url}/room/"
            clock = (f"The bot's clock runs {speed:g} times faster: a 10-minute gap between "
                     f"questions takes {600 / speed:.0f} s." if speed != 1 else
                     "The bot's clock is real time; try --speed 20 to rehearse faster.")
            out.write(
                f"Rehearsal room: {url}\n"
                f"  Served on 127.0.0.1 only: nobody else on the network can open it.\n"
                f"  Open it in several tabs and pick who you are in each (maya is the moderator;\n"
                f"  {', '.join(PEOPLE)} are members; add more on the page). Each tab sees what\n"
                f"  that person sees, their private replies included.\n"
                f"  To rehearse: as maya, type /tweetchat schedule, choose the chat, and say when:\n"
                f'  "in 10 minutes" is {600 / speed:.0f} s of real time at this speed, time enough to confirm.\n'
                f"  {clock}\n"
                f"  Answers are kept in {db_path}; Ctrl-C stops the room.\n")
            out.flush()
            if ready is not None:
                ready.set()
            waiter = asyncio.create_task((stop or asyncio.Event()).wait())
            done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if runner in done:
                runner.result()  # the bot stopped on its own: say why
        finally:
            await bot.close()
            await asyncio.gather(runner, return_exceptions=True)
