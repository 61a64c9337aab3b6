"""Kill trials: the bot as a real process (`tweetchat run`) on the sandbox, SIGKILLed at
random moments and started again, while members answer, edit and delete; at the end
Discord's record (the sandbox) is compared with SQLite.

A trial: the sandbox runs in this process; a moderator schedules the seed chat with
`/tweetchat schedule` and Confirm; the bot process runs on a clock 30 times faster than
real time (``TWEETCHAT_CLOCK_SPEED``, one origin for every restart), so the evening takes
about half a minute; it is killed ``kills`` times (a random moment each, restarted after
a random pause); once the chat and its actions are done the bot is stopped and the record
checked: each step once and in order, every answer present with its last text, none
wrongly withdrawn, every action done.

The short sample runs in CI (tests/e2e/test_kill_trials.py). The long run:

    .venv/bin/python tests/e2e/kill_trials.py --trials 50 [--seed N] [--kills 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.chat.timeline import step_label  # noqa: E402
from bot.sandbox import Sandbox, SandboxConfig  # noqa: E402
from bot.sandbox.members import NoResponse  # noqa: E402
from bot.store import ChatState, Store  # noqa: E402

SPEED = 30
SEED_CHAT = "physiotalk-2016-10-17-professionalism"
MEMBERS = tuple(f"member{i:02d}" for i in range(1, 9))


@dataclass
class TrialResult:
    seed: int
    fault: str | None = None
    kills: int = 0
    answers: int = 0  # member messages that reached Discord
    duplicated: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    wrongly_withdrawn: list[int] = field(default_factory=list)
    wrong_text: list[int] = field(default_factory=list)
    actions_not_done: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.duplicated or self.missed or self.out_of_order or self.lost
                    or self.wrongly_withdrawn or self.wrong_text or self.actions_not_done)

    def line(self) -> str:
        return (f"seed {self.seed}{f' ({self.fault})' if self.fault else ''}: {self.kills} kills, {self.answers} answers; duplicated "
                f"{len(self.duplicated)}, missed {len(self.missed)}, out of order "
                f"{len(self.out_of_order)}, lost {len(self.lost)}, wrongly withdrawn "
                f"{len(self.wrongly_withdrawn)}, wrong text {len(self.wrong_text)}, actions "
                f"not done {len(self.actions_not_done)}" + ("" if self.ok else " FAILED"))


class BotProcess:
    """`tweetchat run` in its own process, pointed at the sandbox."""

    def __init__(self, sb: Sandbox, db: Path, origin: datetime, log: Path) -> None:
        self.env = {**os.environ, "DISCORD_TOKEN": sb.bot_token,
                    "DISCORD_API_BASE_URL": sb.api_base, "DISCORD_GATEWAY_URL": sb.gateway_url,
                    "TWEETCHAT_DEV_GUILD": str(sb.guild_id), "TWEETCHAT_DATABASE": str(db),
                    "TWEETCHAT_CLOCK_SPEED": str(SPEED),
                    "TWEETCHAT_CLOCK_ORIGIN": origin.isoformat(), "TWEETCHAT_LOG_LEVEL": "INFO"}
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        out = open(self.log, "ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=str(ROOT), env=self.env,
            stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL)
        out.close()

    async def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except asyncio.TimeoutError:
                await self.kill()


async def until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(interval)


async def responds(sb: Sandbox, timeout: float = 60) -> None:
    """Wait until the bot answers a slash command."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            handle = await sb.moderator.invoke("tweetchat status")
            await handle.message(timeout=2)
            return
        except (NoResponse, Exception):  # noqa: BLE001 - not up yet (or commands not synced)
            await asyncio.sleep(0.3)
    raise TimeoutError("the bot process did not answer within 60 s")


def read(db: Path, guild_id: int):
    """(chat, steps, actions) as the bot process has stored them, read beside it."""
    store = Store(db, read_only=True)
    try:
        chats = store.chats(guild_id)
        if not chats:
            return None, [], []
        chat = chats[0]
        return chat, store.steps(chat.guild_id, chat.id), store.chat_actions(chat.guild_id, chat.id)
    finally:
        store.close()


LOCK_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


async def database_locked(sb: Sandbox, db: Path, seconds: float = 10) -> None:
    """Another process holds the database's write lock (longer than the busy timeout)."""
    holder = await asyncio.create_subprocess_exec(sys.executable, "-c", LOCK_HOLDER, str(db),
                                                  str(seconds))
    await holder.wait()


async def discord_errors(sb: Sandbox, db: Path) -> None:
    """Discord answers 503 to the next posts and thread openings, and slowly to others."""
    sb.faults.fail_route("POST /channels/{channel_id}/messages", 503, times=6)
    sb.faults.fail_route("POST /channels/{channel_id}/messages/{message_id}/threads", 500, times=3)
    sb.faults.slow_route("POST /channels/{channel_id}/messages", 4, times=2)
    await asyncio.sleep(8)


async def gateway_trouble(sb: Sandbox, db: Path) -> None:
    """The gateway drops, refuses a resume, then invalidates the session."""
    await sb.faults.drop_gateway()
    await asyncio.sleep(2)
    sb.faults.refuse_next_resume()
    await sb.faults.drop_gateway()
    await asyncio.sleep(3)
    await sb.faults.invalidate_sessions(resumable=False)
    await asyncio.sleep(3)


async def disk_full(sb: Sandbox, db: Path, seconds: float = 10) -> None:
    """The disk holding the database fills up (a small tmpfs), then space comes back."""
    filler = db.parent / "filler"
    # Unbuffered: a write that fills the disk leaves nothing behind in a buffer for close()
    # to flush, which would raise "No space left" out of the `with` (a flaky trial).
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass  # full
    await asyncio.sleep(seconds)
    filler.unlink()


class NoSmallDisk(Exception):
    """This machine cannot mount the small tmpfs the disk-full trial needs."""


def small_disk(workdir: Path) -> Path:
    """A 48 MB tmpfs under `workdir` (root only, where the machine allows mounts)."""
    folder = workdir / "small-disk"
    folder.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise NoSmallDisk(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'})")
    return folder


FAULTS = {"database-locked": database_locked, "discord-errors": discord_errors,
          "gateway-trouble": gateway_trouble, "disk-full": disk_full}


async def run_trial(seed: int, workdir: Path, *, kills: int = 3, fault: str | None = None,
                    say=print) -> TrialResult:
    rng = random.Random(seed)
    result = TrialResult(seed, fault=fault)
    disk = small_disk(workdir) if fault == "disk-full" else None
    db = (disk or workdir) / f"trial-{seed}.db"
    log = workdir / f"trial-{seed}.log"
    bot: BotProcess | None = None
    try:
        async with Sandbox(SandboxConfig(members=MEMBERS, heartbeat_interval_ms=2000)) as sb:
            origin = datetime.now(timezone.utc)
            bot = BotProcess(sb, db, origin, log)
            await bot.start()
            await responds(sb)

            def bot_now() -> datetime:
                return origin + (datetime.now(timezone.utc) - origin) * SPEED

            start = (bot_now() + timedelta(minutes=3)).replace(second=0, microsecond=0)
            handle = await sb.moderator.invoke("tweetchat schedule", {
                "chat": SEED_CHAT, "channel": sb.channel_id, "when": start.strftime("%Y-%m-%d %H:%M"),
                "timezone": "UTC", "interval": 1})
            preview = await handle.message(timeout=10)
            await (await sb.moderator.press(preview, "tweetchat:confirm")).response(timeout=10)
            chat, _, _ = await until(lambda: read(db, sb.guild_id)[0] and read(db, sb.guild_id), 20, "the chat in SQLite")
            end_real = time.monotonic() + (start + timedelta(minutes=12) - bot_now()).total_seconds() / SPEED
            kill_at = sorted(rng.uniform(time.monotonic(), end_real) for _ in range(kills))

            sent: dict[int, tuple[str, bool]] = {}  # message id -> (last text, deleted)
            messages = {}
            stop = asyncio.Event()

            async def members() -> None:
                while not stop.is_set():
                    threads = [s.thread_id for s in read(db, sb.guild_id)[1] if s.thread_id]
                    wrapped = any(m.embeds and "Thank you for joining" in m.embeds[0].get("title", "")
                                  for m in sb.history(sb.channel_id) if m.author.id == sb.bot_user_id)
                    if threads and not wrapped:
                        member = sb.member(rng.choice(MEMBERS))
                        action = rng.random()
                        mine = [m for m in messages.values() if m.author.id == member.id
                                and not sent[m.id][1]]
                        if action < 0.1 and mine:
                            target = rng.choice(mine)
                            text = sent[target.id][0] + " (edited)"
                            await member.edit(target, text)
                            sent[target.id] = (text, False)
                        elif action < 0.14 and mine:
                            target = rng.choice(mine)
                            await member.delete(target)
                            sent[target.id] = (sent[target.id][0], True)
                        else:
                            text = f"{member.name} answer {len(sent) + 1}"
                            message = await member.send(text, channel_id=rng.choice(threads))
                            messages[message.id] = message
                            sent[message.id] = (text, False)
                    await asyncio.sleep(rng.uniform(0.05, 0.25))

            crowd = asyncio.create_task(members())
            if fault is not None:
                at = rng.uniform(time.monotonic() + 3, end_real - 8)
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                await FAULTS[fault](sb, db)
            try:
                for moment in kill_at:
                    await asyncio.sleep(max(0.0, moment - time.monotonic()))
                    await bot.kill()
                    result.kills += 1
                    await asyncio.sleep(rng.uniform(0.2, 1.5))
                    await bot.start()
                await until(lambda: (r := read(db, sb.guild_id))[0] and r[0].state is ChatState.FINISHED
                            and r[2] and all(a.state == "done" for a in r[2]), 120,
                            "the chat finished with its actions done")
            finally:
                stop.set()
                await crowd
            await responds(sb)  # up, and caught up with what happened while it was down
            await asyncio.sleep(1.0)
            await bot.stop()

            chat, steps, actions = read(db, sb.guild_id)
            result.actions_not_done = [a.kind.value for a in actions if a.state != "done"]
            footers = [(m.id, m.embeds[0].get("footer", {}).get("text", ""))
                       for m in sb.history(sb.channel_id) if m.author.id == sb.bot_user_id and m.embeds]
            positions = []
            for step in steps:
                mark = f"chat {chat.id} · {step_label(step.kind, step.question)}"
                found = [i for i, (_, f) in enumerate(footers) if f.endswith(mark)]
                if len(found) > 1:
                    result.duplicated.append(mark)
                if not found and step.state.value != "skipped":
                    result.missed.append(f"{mark} ({step.state.value})")
                positions += found[:1]
            if positions != sorted(positions):
                result.out_of_order.append(" ".join(map(str, positions)))
            store = Store(db, read_only=True)
            try:
                stored = {a["message_id"]: a for a in store.answers(chat.guild_id, chat.id,
                                                                    include_withdrawn=True)}
            finally:
                store.close()
            result.answers = len(sent)
            for message_id, (text, deleted) in sent.items():
                row = stored.get(message_id)
                if deleted:
                    continue  # withdrawn, or never seen if deleted while the bot was down
                if row is None:
                    result.lost.append(message_id)
                elif row["deleted_at"] is not None:
                    result.wrongly_withdrawn.append(message_id)
                elif row["content"] != text:
                    result.wrong_text.append(message_id)
    finally:
        # Whatever happened, even in the trial's own set-up: no bot process or mount left.
        if bot is not None:
            await bot.kill()
        if disk is not None:
            # Lazily if a file on it is still open (the bot's last process exiting): a mount
            # left behind would stop pytest from removing its temporary folders.
            if subprocess.run(["umount", str(disk)], check=False, capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)
    say(result.line())
    return result


async def run_trials(count: int, first_seed: int, kills: int, workdir: Path) -> list[TrialResult]:
    results = []
    for seed in range(first_seed, first_seed + count):
        results.append(await run_trial(seed, workdir, kills=kills))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--kills", type=int, default=4)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tweetchat-trials-"))
    print(f"{args.trials} trials from seed {args.seed}, {args.kills} kills each; logs in {workdir}")
    results = asyncio.run(run_trials(args.trials, args.seed, args.kills, workdir))
    total = {name: sum(len(getattr(r, name)) for r in results)
             for name in ("duplicated", "missed", "out_of_order", "lost", "wrongly_withdrawn",
                          "wrong_text", "actions_not_done")}
    print(f"\n{len(results)} trials, {sum(r.kills for r in results)} kills, "
          f"{sum(r.answers for r in results)} answers: "
          + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in total.items()))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
