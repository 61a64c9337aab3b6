"""A stored chat for the transcript and statistics tests, made the real way: the seed
chat runs compressed on the sandbox with the real bot, and scripted members answer in
the threads, reply, edit, withdraw, answer "A3 ..." in the channel, attach a file, and
write hostile text. One member opts out after the chat, so the store holds their
answers but transcripts and statistics must leave them out.

`record_chat` returns, besides the database, what the script did (:class:`Sent` per
message), so tests can compute expected figures without reading the code under test.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bot.record import privacy
from bot.sandbox import Sandbox, SandboxConfig
from bot.sandbox.client import restore_discord
from bot.store import ChatState, Store
from e2e.conftest import eventually, running_bot
from e2e.test_chat_run import schedule_now, wait_for_thread

SPEED = 600  # the 65-minute seed chat in 6.5 s: a question every second
PEOPLE = tuple(f"member{i:02d}" for i in range(1, 10))
HOSTILE, OPTED_OUT = "eve", "olive"
HOSTILE_NAME = 'Eve <i>"x"</i> **bold** | [me](https://example.com)'
HOSTILE_TEXT = ("A1 <script>alert(1)</script> **markdown** @everyone | a pipe, a comma\n"
                "and a newline")
HOSTILE_TEXT_2 = ('<img src=x onerror="document.title=\'pwned\'">\n# Not a heading\n---\n'
                  "> quoted\n[click](javascript:alert(1)) <!-- hidden -->\n```\nunclosed fence")


@dataclass
class Sent:
    """One message a scripted member posted, and what became of it."""

    message_id: int
    question: int
    author: str  # username
    content: str  # the final text
    reply_to: int | None = None
    edits: int = 0
    withdrawn: bool = False
    via: str = "thread"
    attachments: tuple[str, ...] = ()


@dataclass
class RecordedChat:
    db: Path
    guild_id: int
    chat_id: int
    opted_out_id: int
    user_ids: dict[str, int]  # username -> id
    display_names: dict[str, str]  # username -> display name
    sent: dict[int, Sent] = field(default_factory=dict)

    def shown(self) -> list[Sent]:
        """The messages a transcript must show: not withdrawn, not by the opted-out member."""
        return [s for s in self.sent.values()
                if not s.withdrawn and self.user_ids[s.author] != self.opted_out_id]

    def left_out(self) -> list[Sent]:
        return [s for s in self.sent.values() if s not in self.shown()]


async def record_chat(db: Path) -> RecordedChat:
    """Run the seed chat on the sandbox into the database `db` and return the record."""
    config = SandboxConfig(heartbeat_interval_ms=2000, members=(*PEOPLE, HOSTILE, OPTED_OUT))
    async with Sandbox(config) as sb:
        try:
            hostile = sb.member(HOSTILE)
            sb.world.users[hostile.id].global_name = HOSTILE_NAME
            async with running_bot(sb, db) as bot:
                chat = schedule_now(bot, sb, speed=SPEED, delay=0.5)
                record = RecordedChat(
                    db=db, guild_id=sb.guild_id, chat_id=chat.id,
                    opted_out_id=sb.member(OPTED_OUT).id,
                    user_ids={n: sb.member(n).id for n in (*PEOPLE, HOSTILE, OPTED_OUT)},
                    display_names={n: sb.world.users[sb.member(n).id].global_name
                                   for n in (*PEOPLE, HOSTILE, OPTED_OUT)})
                await _script(sb, record)
                await eventually(
                    lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, 30)
                await bot.writer.flush()
        finally:
            restore_discord()
    store = Store(db)
    privacy.set_opt_out(store, record.guild_id, record.opted_out_id, True,
                        datetime.now(timezone.utc))
    store.close()
    return record


async def _script(sb, record: RecordedChat) -> None:
    member = sb.member

    async def send(name, question, text, *, thread=None, reply=None, files=None, via="thread"):
        if reply is not None:
            message = await member(name).reply(reply, text, files=files)
        else:
            message = await member(name).send(text, channel_id=thread, files=files)
        record.sent[message.id] = Sent(message.id, question, name, text,
                                       reply_to=reply.id if reply is not None else None,
                                       via=via, attachments=tuple(files or ()))
        return message

    async def edit(name, message, text):
        await member(name).edit(message, text)
        record.sent[message.id].content = text
        record.sent[message.id].edits += 1

    async def delete(name, message):
        await member(name).delete(message)
        record.sent[message.id].withdrawn = True

    for number in range(1, 7):
        thread = (await wait_for_thread(sb, number, timeout=15)).id
        answers = [await send(name, number, f"A{number} from {name}: thought {i}", thread=thread)
                   for i, name in enumerate(PEOPLE[number % 3: number % 3 + 4])]
        if number == 1:
            first = answers[0]
            reply = await send("member05", 1, "Replying to the first answer", reply=first)
            await send("member06", 1, "And a reply to that reply", reply=reply)
            await edit(first_author(record, first), first, f"{first.content} (edited)")
            await edit(first_author(record, first), first, f"{first.content} (edited twice)")
            await send(HOSTILE, 1, HOSTILE_TEXT, thread=thread,
                       files={"eve's <notes>.txt": b"notes"})
            olive = await send(OPTED_OUT, 1, "A1 from olive, who opts out later", thread=thread)
            await send("member07", 1, "Replying to olive", reply=olive)
        if number == 2:
            doomed = answers[0]
            await send("member08", 2, "Replying before it was withdrawn", reply=doomed)
            await delete(first_author(record, doomed), doomed)
            await send(OPTED_OUT, 2, "A2 from olive again", thread=thread)
        if number == 3:
            await send("member09", 3, "A3 answering in the channel", thread=sb.channel_id,
                       via="channel")
        if number == 4:
            await send(HOSTILE, 4, HOSTILE_TEXT_2, thread=thread)
        if number == 5:
            await send("member01", 5, "", thread=thread, files={"poster.pdf": b"%PDF-1.4"})
        if number == 6:
            await edit(first_author(record, answers[-1]), answers[-1], "A6 changed my mind")
    await asyncio.sleep(0)


def first_author(record: RecordedChat, message) -> str:
    return record.sent[message.id].author
