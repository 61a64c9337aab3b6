"""The operator's command line on the live database, beside the running bot: it lists
chats, pauses, resumes, skips and stops one (the bot picks each change up within seconds
through the database), reads the audit log, exports and erases a member's data, and runs
the retention purge. Every command goes through the same core the slash commands use."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.__main__ import main
from bot.app import TweetchatBot
from bot.store import ChatState, StepState
from e2e.conftest import CROWD, eventually, running_bot
from e2e.test_journey import SPEED, schedule_soon
from bot.run.dispatcher import ScaledClock


async def cli(*argv: str, now=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(list(argv), now=now) if now else main(list(argv))
    code = await asyncio.to_thread(call)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
async def shell_bot(sandbox, tmp_path, monkeypatch):
    """The bot on a fast clock, watching for shell changes often; and its database path."""
    monkeypatch.setattr(TweetchatBot, "LEDGER_WATCH_SECONDS", 0.2)
    async with running_bot(sandbox, tmp_path / "tweetchat.db", clock=ScaledClock(SPEED)) as bot:
        yield bot, str(tmp_path / "tweetchat.db")


async def test_an_operator_runs_a_chat_from_the_shell(sandbox, shell_bot):
    sb, (bot, db) = sandbox, shell_bot
    chat = await schedule_soon(sb, bot, interval=3)
    code, listing, _ = await cli("chats", "--db", db)
    assert code == 0 and f"{chat.id:>5}  server {sb.guild_id}" in listing and chat.title in listing

    def posted():
        return [s for s in bot.store.steps(sb.guild_id, chat.id) if s.state is StepState.POSTED]

    await eventually(lambda: any(s.question == 1 for s in posted()), timeout=90)
    code, text, err = await cli("chat", "pause", str(chat.id), "--db", db)
    assert code == 0 and "Paused" in text, err
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.PAUSED)
    count = len(posted())
    await asyncio.sleep(3)  # three questions' worth of the bot's time: nothing is posted
    assert len(posted()) == count
    code, text, _ = await cli("chat", "resume", str(chat.id), "--db", db)
    assert code == 0 and "Resumed" in text

    # A member answers, then asks the operator for their data, then to erase it.
    q1 = next(s for s in bot.store.steps(sb.guild_id, chat.id) if s.question == 1)
    said = await sb.member(CROWD[0]).send("my answer to Q1", channel_id=q1.thread_id)
    await eventually(lambda: bot.store.answer(sb.guild_id, said.id))
    member = str(sb.member(CROWD[0]).id)
    code, exported, _ = await cli("member", "export", str(sb.guild_id), member, "--db", db)
    assert code == 0 and "my answer to Q1" in json.loads(exported)["answers"][0]["content"]

    code, text, _ = await cli("chat", "skip", str(chat.id), "--db", db)
    assert code == 0 and "now" in text
    before = len(posted())
    await eventually(lambda: len(posted()) > before, timeout=15)  # picked up within seconds

    code, text, _ = await cli("chat", "stop", str(chat.id), "--db", db)
    assert code == 0 and "Wrapping up" in text
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, timeout=60)
    code, text, err = await cli("chat", "pause", str(chat.id), "--db", db)
    assert code == 2 and err.count("\n") == 1  # a finished chat: one line saying why

    code, text, _ = await cli("member", "erase", str(sb.guild_id), member, "--db", db)
    assert code == 0 and "Deleted 1 answer" in text
    assert bot.store.answer(sb.guild_id, said.id) is None

    code, log, _ = await cli("audit", str(sb.guild_id), "--db", db)
    assert code == 0
    for action in ("paused", "resumed", "skipped ahead", "stopped early", "member data erased on request"):
        assert action in log, (action, log)


async def test_the_retention_purge_from_the_shell(sandbox, tmp_path):
    sb = sandbox
    db = str(tmp_path / "tweetchat.db")
    async with running_bot(sb, tmp_path / "tweetchat.db", clock=ScaledClock(SPEED)) as bot:
        done = await sb.moderator.invoke("tweetchat config", {"retention_days": 30})
        assert "Saved" in (await done.message()).content
        chat = await schedule_soon(sb, bot, interval=1)
        q1 = await eventually(lambda: next((s for s in bot.store.steps(sb.guild_id, chat.id)
                                            if s.question == 1 and s.thread_id), None), timeout=60)
        said = await sb.member(CROWD[1]).send("an answer to keep for a month", channel_id=q1.thread_id)
        await eventually(lambda: bot.store.answer(sb.guild_id, said.id))
        code, text, _ = await cli("purge", "--db", db)
        assert code == 0 and "nothing to purge" in text
        later = datetime.now(timezone.utc) + timedelta(days=31)
        code, text, _ = await cli("purge", "--db", db, now=lambda: later)
        assert code == 0 and f"server {sb.guild_id}: removed" in text
        assert bot.store.answer(sb.guild_id, said.id) is None


async def test_a_chat_cancelled_from_the_shell_cancels_its_scheduled_event(sandbox, shell_bot):
    sb, (bot, db) = sandbox, shell_bot
    chat = await schedule_soon(sb, bot, minutes_ahead=30)
    event = sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id)
    assert event.status == 1  # scheduled
    code, text, _ = await cli("chat", "cancel", str(chat.id), "--db", db)
    assert code == 0 and "Cancelled" in text
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id).status == 4,
                     timeout=10)  # cancelled in Discord too, as /tweetchat cancel does
    assert bot.store.chat(sb.guild_id, chat.id).state is ChatState.CANCELLED
