"""`tweetchat demo`, the README's first command, run fast: it finishes, and the counts it
prints are the ones in SQLite."""

from __future__ import annotations

import io
import re

from bot.demo import run_demo
from bot.store import Store


async def test_the_demo_runs_the_chat_and_prints_what_sqlite_holds(tmp_path):
    out = io.StringIO()
    db = tmp_path / "demo.db"
    total = await run_demo(out, speed=600, db_path=db)
    text = out.getvalue()
    for title in ("Q1 of 6", "Q6 of 6", "Thank you for joining"):
        assert f"bot posted: {title}" in text
    assert "asked /guidance about a patient's friend request" in text
    # Q4 of the seed chat carries the fitness-to-practise entry as related guidance.
    q4 = text.split("bot posted: Q4 of 6", 1)[1].splitlines()[1]
    assert "related guidance: “When does online behaviour become a fitness-to-practise concern?”" in q4
    store = Store(db)
    [chat] = store.db["chats"].rows
    counts = store.answer_counts(chat["guild_id"], chat["id"])
    store.close()
    printed = {int(q): int(n) for q, n in re.findall(r"^  Q(\d):\s+(\d+) answers", text, re.M)}
    assert printed == {q: n for q, n, _ in counts} and len(printed) == 6
    # At least 16 members answer each question; one answer is withdrawn.
    assert total == sum(printed.values()) >= 6 * 16 - 1
    assert f"Database: {db}" in text
    # The commands it suggests run as printed, from another folder, venv activated or not.
    import shlex
    import subprocess

    suggested = text.split(f"Database: {db}", 1)[1].replace("try:", "").strip().splitlines()
    assert len(suggested) == 3
    for line in suggested:
        done = subprocess.run(shlex.split(line.strip()), cwd=tmp_path, capture_output=True, text=True,
                              env={k: v for k, v in __import__("os").environ.items() if k != "VIRTUAL_ENV"})
        assert done.returncode == 0, (line, done.stderr[-500:])
    assert (tmp_path / "transcript.html").stat().st_size > 1000 and (tmp_path / "chart.png").exists()
