"""`tweetchat demo`: the whole bot on the local sandbox, with a crowd of scripted members.

It starts the sandbox, the real bot (discord.py's HTTP and gateway code against the
sandbox), and 24 scripted members; runs the seed chat with its timings compressed to
about a minute; prints progress as the bot posts; and ends with the per-question answer
counts read back from SQLite and where the database is. No token or set-up needed.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import TweetchatBot, point_at
from bot.config import DEFAULT_DATA_DIR
from bot.chat import load_chat_file
from bot.config import Secret, Settings
from bot.chat.timeline import compressed
from bot.run.dispatcher import ScaledClock

SEED_NAME = "physiotalk-2016-10-17-professionalism"


def data_dir() -> Path:
    """TWEETCHAT_DATA_DIR if set (as every entry point honours it), else the bundled data."""
    chosen = os.environ.get("TWEETCHAT_DATA_DIR", "").strip()
    return Path(chosen) if chosen else DEFAULT_DATA_DIR
CROWD = ("naomi", "janet", "emma", "aisha", "ben", "chloe", "dev", "ella", "finn", "grace",
         "harry", "isla", "jack", "kiran", "leah", "mo", "nina", "oli", "priya", "quinn",
         "rosa", "sam", "tariq", "uma")
OPENERS = ("For me", "Honestly", "I think", "In my experience", "Agree with others:",
           "Slightly different view:", "As a student,", "From a private practice angle,")
THOUGHTS = {
    1: ("it's the same values online, just more permanent", "respect and honesty don't change "
        "with the medium", "online I pause longer before I post", "my values decide what I share"),
    2: ("patients do look us up before appointments", "a calm, kind tone builds trust",
        "public arguments put people off the profession", "sharing evidence well helps perception"),
    3: ("constant infighting makes it easy for others to dismiss us", "debate is healthy if it "
        "stays respectful", "we should celebrate what physios do well", "critique ideas, not people"),
    4: ("anything identifying a patient is a clear line", "abusive or discriminatory posts",
        "when it would breach the standards face to face", "misleading health claims"),
    5: ("model disagreement that stays kind", "invite quieter voices in", "ask questions before "
        "assuming bad intent", "call out mudslinging privately first"),
    6: ("mentor students on how to post well", "share good practice openly",
        "each of us sets the tone in our own replies", "leaders should show what good looks like"),
}


class Crowd:
    """Scripted members who answer each question as its thread opens."""

    def __init__(self, sandbox, channel_id: int, rng: random.Random, pace: float) -> None:
        self.sb = sandbox
        self.channel_id = channel_id
        self.rng = rng
        self.pace = pace  # seconds over which a question's answers arrive
        self.answered: set[int] = set()
        self.tasks: list[asyncio.Task] = []
        self.sent = 0

    def members(self):
        return [self.sb.member(name) for name in CROWD]

    async def watch(self) -> None:
        while True:
            for thread in self.sb.threads(self.channel_id):
                number = int(thread.name.split(" ")[0][1:]) if thread.name.startswith("Q") else None
                if number and number not in self.answered:
                    self.answered.add(number)
                    self.tasks.append(asyncio.create_task(self.answer(number, thread.id)))
            await asyncio.sleep(0.05)

    async def answer(self, number: int, thread_id: int) -> None:
        people = self.members()
        self.rng.shuffle(people)
        talkers = people[: self.rng.randint(16, len(people))]
        posted = []
        for i, member in enumerate(talkers):
            await asyncio.sleep(self.rng.uniform(0, self.pace / len(talkers)))
            text = f"A{number} {self.rng.choice(OPENERS)} {self.rng.choice(THOUGHTS[number])}."
            if posted and self.rng.random() < 0.25:
                message = await member.reply(self.rng.choice(posted), "Yes! " + text[len(f'A{number} '):])
            else:
                message = await member.send(text, channel_id=thread_id)
            posted.append(message)
            self.sent += 1
        # Some second thoughts: edits, and one member withdraws an answer.
        for message in self.rng.sample(posted, k=2):
            await member_of(self.sb, message).edit(message, message.content + " (edited: on reflection, "
                                                   "context matters too)")
        if number == 2:
            await member_of(self.sb, posted[0]).delete(posted[0])
        if number == 3:
            # An answer in the channel instead of the thread.
            await people[0].send("A3 in the channel: debate yes, diminishing each other no.",
                                 channel_id=self.channel_id)
            self.sent += 1
        if number == 4:
            # A late answer to Q1, after Q4 is out.
            thread = next(t for t in self.sb.threads(self.channel_id) if t.name.startswith("Q1 "))
            await people[1].send("A1 late to the party, but: values first, platform second.",
                                 channel_id=thread.id)
            self.sent += 1


async def start_bot(sb, *, db_path: Path, data: Path, speed: float = 1.0, timeout: float = 15.0,
                    **options):
    """The real bot logged in to the sandbox `sb` (discord.py's HTTP and gateway code), its
    clock `speed` times faster than real time; `options` go to TweetchatBot. Returns (bot,
    the task running it).

    :raises RuntimeError: when it has not logged in within `timeout` seconds.
    """
    settings = Settings(token=Secret(sb.bot_token), database=db_path,
                        api_base_url=sb.api_base, gateway_url=sb.gateway_url,
                        dev_guild_id=sb.guild_id, data_dir=data)
    point_at(settings)
    bot = TweetchatBot(settings, guild_ready_timeout=0.1,
                       clock=ScaledClock(speed) if speed != 1 else None, **options)
    runner = asyncio.create_task(bot.start(sb.bot_token))
    ready = asyncio.create_task(bot.ready_once.wait())
    await asyncio.wait({runner, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await bot.close()
        runner.result() if runner.done() else None
        raise RuntimeError(f"the bot did not log in to the sandbox within {timeout:g} s")
    return bot, runner


def member_of(sandbox, message):
    return next(m for m in sandbox.members.values() if m.id == message.author.id)


async def run_demo(out: TextIO = sys.stdout, *, speed: float = 65.0, db_path: Path | None = None,
                   seed: int = 17) -> int:
    """Run the demo; returns the number of answers stored."""
    from bot.sandbox import Sandbox, SandboxConfig
    from bot.store import Store

    started = time.monotonic()
    db_path = db_path or Path(tempfile.mkdtemp(prefix="tweetchat-demo-")) / "tweetchat.db"

    def say(text: str) -> None:
        out.write(f"[{time.monotonic() - started:5.1f}s] {text}\n")
        out.flush()

    data = data_dir()
    chat_file = load_chat_file(data / "chats" / f"{SEED_NAME}.toml")
    definition = compressed(chat_file, speed)
    config = SandboxConfig(moderators=("maya",), members=CROWD, heartbeat_interval_ms=10_000)
    async with Sandbox(config) as sb:
        say(f"sandbox up at {sb.api_base} with #tweetchat and {len(CROWD)} members")
        # The bot's clock runs `speed` times faster, so the evening takes a minute; the
        # moderator schedules it the way anyone would, and it starts on its own timer.
        bot, runner = await start_bot(sb, db_path=db_path, data=data, speed=speed)
        say(f"bot logged in as {bot.user} and synced its slash commands")

        london = ZoneInfo("Europe/London")
        start = (bot.now() + timedelta(minutes=3)).astimezone(london).replace(second=0, microsecond=0)
        handle = await sb.moderator.invoke("tweetchat schedule", {
            "chat": SEED_NAME, "channel": sb.channel_id, "when": start.strftime("%Y-%m-%d %H:%M"),
            "timezone": "Europe/London"})
        preview = await handle.message()
        shown = preview.embeds[0]
        say(f"maya ran /tweetchat schedule for {start:%H:%M} London time: a preview only she "
            f"sees, “{shown['title']}”, every step as a Discord timestamp; she pressed Confirm")
        confirmed = await sb.moderator.press(preview, "tweetchat:confirm")
        await confirmed.response()
        while not bot.store.chats(sb.guild_id) or not bot.store.chats(sb.guild_id)[0].scheduled_event_id:
            await asyncio.sleep(0.05)
        chat = bot.store.chats(sb.guild_id)[0]
        event = sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id)
        say(f"the bot posted the announcement and created the Scheduled Event “{event.name}”")
        status = await sb.moderator.invoke("tweetchat status")
        shown = await status.message()
        say(f"maya ran /tweetchat status: {shown.embeds[0]['fields'][0]['name']} "
            f"({'only she sees it' if shown.ephemeral else 'public'})")
        asked = await sb.member(CROWD[0]).invoke(
            "guidance", question="a patient sent me a friend request on facebook")
        answer = (await asked.message()).embeds[0]
        sources = sum(f["value"].count("](") for f in answer.get("fields", [])
                      if f["name"].startswith("Sources"))
        say(f"{CROWD[0]} asked /guidance about a patient's friend request: "
            f"\"{answer['title']}\" ({sources} sources cited, only {CROWD[0]} sees it)")
        steps = bot.store.steps(sb.guild_id, chat.id)
        say(f"chat #{chat.id} scheduled: {len(steps)} steps over "
            f"{(steps[-1].due_at - chat.start_at).total_seconds() / speed:.0f} s "
            f"(an hour at x{speed:g}), starting in "
            f"{max(0.0, (chat.start_at - bot.now()).total_seconds() / speed):.0f} s")

        crowd = Crowd(sb, sb.channel_id, random.Random(seed),
                      pace=definition.schedule.interval_minutes * 60 * 0.6)
        watcher = asyncio.create_task(crowd.watch())
        seen: set[int] = set()
        try:
            while True:
                for message in sb.history(sb.channel_id):
                    if message.author.id == sb.bot_user_id and message.id not in seen and message.embeds:
                        seen.add(message.id)
                        related = [f["value"].splitlines()[0].removeprefix("📚 ")
                                   for f in message.embeds[0].get("fields", [])
                                   if f["name"] == "Related guidance"]
                        say(f"bot posted: {message.embeds[0].get('title', '')}"
                            f"   (answers sent so far: {crowd.sent})"
                            + (f"\n          related guidance: “{related[0]}” (a button; only the "
                               "presser sees it)" if related else ""))
                if bot.store.chat(sb.guild_id, chat.id).state.value == "finished":
                    break
                await asyncio.sleep(0.1)
            await asyncio.gather(*crowd.tasks)
            await asyncio.sleep(0.5)
            await bot.writer.flush()
        finally:
            watcher.cancel()
            await bot.close()
            await asyncio.gather(runner, return_exceptions=True)

    store = Store(db_path)
    counts = store.answer_counts(sb.guild_id, chat.id)
    withdrawn = len(store.answers(sb.guild_id, chat.id, include_withdrawn=True)) - sum(a for _, a, _ in counts)
    edited = store.db.execute("SELECT COUNT(DISTINCT message_id) FROM answer_revisions WHERE version > 0").fetchone()[0]
    out.write("\nAnswers stored in SQLite, per question:\n")
    for question, answers, people in counts:
        out.write(f"  Q{question}: {answers:3d} answers from {people} members\n")
    total = sum(a for _, a, _ in counts)
    out.write(f"  in all: {total} answers ({edited} edited, {withdrawn} withdrawn) from "
              f"{store.participant_count(sb.guild_id, chat.id)} members\n")
    # Commands as they can be pasted: the virtualenv's own scripts, activated or not.
    scripts = Path(sys.executable).parent
    tweetchat = scripts / "tweetchat" if (scripts / "tweetchat").exists() else f"{sys.executable} -m bot"
    sqlite_utils = scripts / "sqlite-utils" if (scripts / "sqlite-utils").exists() else "sqlite-utils"
    out.write(f"\nDatabase: {db_path}\n  try: {sqlite_utils} tables {db_path} --counts\n"
              f"       {tweetchat} export {chat.id} --format html -o transcript.html --db {db_path}\n"
              f"       {tweetchat} stats {chat.id} --chart chart.png --db {db_path}\n")
    store.close()
    return total
