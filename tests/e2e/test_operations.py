"""Operating the bot: `tweetchat health` reads the running bot's heartbeat (the image's
health check), and `tweetchat backup` copies the live database while answers arrive."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys

import pytest

from bot.__main__ import main
from bot.app import TweetchatBot
from e2e.conftest import CROWD, eventually, running_bot
from e2e.test_journey import SPEED, schedule_soon
from test_answers import LOCK_HOLDER
from bot.run.dispatcher import ScaledClock


@pytest.fixture
def quick_heartbeat(monkeypatch):
    monkeypatch.setattr(TweetchatBot, "HEARTBEAT_SECONDS", 0.2)


async def health(db, *extra) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await asyncio.to_thread(main, ["health", "--db", str(db), *extra])
    return code, out.getvalue()


async def test_health_follows_the_running_bot(sandbox, tmp_path, quick_heartbeat):
    db = tmp_path / "tweetchat.db"
    async with running_bot(sandbox, db):
        await eventually(lambda: sqlite3.connect(db).execute(
            "SELECT COUNT(*) FROM heartbeats WHERE gateway_ok = 1 AND dispatcher_alive = 1").fetchone()[0])
        code, text = await health(db)
        assert code == 0 and text.startswith("healthy:"), text
        # Another process holds the write lock: the database cannot be written.
        holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(db), "4"],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        code, text = await health(db)
        holder.wait(10)
        assert code == 1 and "cannot be written" in text, text
        await sandbox.faults.drop_gateway(4000)  # the bot reconnects on its own
    await asyncio.sleep(0.5)
    code, text = await health(db, "--max-age", "0.3")
    assert code == 1 and "not running, or stuck" in text, text


async def test_health_without_a_bot_says_so(tmp_path):
    from bot.store import Store

    Store(tmp_path / "t.db").close()
    code, text = await health(tmp_path / "t.db")
    assert code == 1 and "never recorded a heartbeat" in text
    with pytest.raises(SystemExit) as refused:
        main(["health", "--db", str(tmp_path / "t.db"), "--max-age", "0"])
    assert refused.value.code == 2


async def test_a_backup_while_answers_arrive_holds_every_committed_answer(sandbox, tmp_path):
    sb = sandbox
    db = tmp_path / "tweetchat.db"
    async with running_bot(sb, db, clock=ScaledClock(SPEED)) as bot:
        chat = await schedule_soon(sb, bot, interval=2)
        q1 = await eventually(lambda: next((s for s in bot.store.steps(sb.guild_id, chat.id)
                                            if s.question == 1 and s.thread_id), None), timeout=60)
        sent: dict[int, str] = {}
        stop = asyncio.Event()

        async def members_answer() -> None:
            i = 0
            while not stop.is_set():
                name = CROWD[i % len(CROWD)]
                text = f"{name}: answer {i}"
                message = await sb.member(name).send(text, channel_id=q1.thread_id)
                sent[message.id] = text
                i += 1
                await asyncio.sleep(0.01)

        writing = asyncio.create_task(members_answer())
        await eventually(lambda: len(bot.store.answers(sb.guild_id, chat.id)) >= 20, timeout=30)
        committed = {a["message_id"] for a in bot.store.answers(sb.guild_id, chat.id)}
        copy = tmp_path / "backup.db"
        code = await asyncio.to_thread(main, ["backup", str(copy), "--db", str(db)])
        stop.set()
        await writing
        assert code == 0
    backup = sqlite3.connect(copy)
    assert backup.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = dict(backup.execute("SELECT message_id, content FROM answers").fetchall())
    assert committed <= set(rows), "every answer committed before the backup is in it"
    assert all(sent[m] == text for m, text in rows.items()), "and each is whole"
    assert main(["backup", str(copy), "--db", str(db)]) == 2  # never overwrites
