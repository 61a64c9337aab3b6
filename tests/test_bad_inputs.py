"""Bad command-line input: every case gets one line saying what is wrong (and what would
work), exit 2, no traceback, and no file written or changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.chat import load_chat_file
from bot.chat.timeline import build_timeline
from bot.store import Store
from seed import ROOT, SEED_CHAT

SEED = str(SEED_CHAT)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder with a database holding one chat, a broken chat file and a text file."""
    work = tmp_path_factory.mktemp("bad-inputs")
    definition = load_chat_file(SEED_CHAT)
    start = datetime(2026, 11, 2, 20, tzinfo=timezone.utc)
    store = Store(work / "t.db")
    store.create_chat(guild_id=1, channel_id=2, definition=definition, start_at=start,
                      timezone_name="Europe/London", steps=build_timeline(definition, start),
                      created_by=None, now=start - timedelta(days=1))
    store.close()
    (work / "broken.toml").write_text("title = \n", encoding="utf-8")
    (work / "notes.txt").write_text("not a database", encoding="utf-8")
    (work / "existing.db").write_bytes(b"")
    return work


CASES = [
    # the parser: unknown commands and options, missing and malformed values
    [], ["nonsense"], ["guidance"], ["guidance", "x", "--top", "0"], ["guidance", "x", "--top", "11"],
    ["guidance", "x", "--top", "three"], ["guidance", "x", "--jurisdiction", "XX"],
    ["guidance", "x", "--file", "{work}/notes.txt"], ["guidance", "x", "--file", "{work}/missing.toml"],
    ["guidance", "x", "--colour"],
    ["plan", SEED], ["plan", SEED, "--start", "tomorrow-ish"], ["plan", SEED, "--start", "2026-13-45 20:00"],
    ["plan", SEED, "--start", "2026-12-10 25:99"], ["plan", SEED, "--start", "2026-12-10 20:00", "--tz", "Mars/Olympus"],
    ["plan", "{work}/missing.toml", "--start", "2026-12-10 20:00"], ["plan", "{work}/broken.toml", "--start", "2026-12-10"],
    ["plan", SEED, "--start", "2026-12-10", "--occurrence", "middle"],
    ["export"], ["export", "abc"], ["export", "1", "--db", "{work}/missing.db"], ["export", "99", "--db", "{work}/t.db"],
    ["export", "1", "--db", "{work}/t.db", "--format", "pdf"],
    ["export", "1", "--db", "{work}/t.db", "-o", "{work}/no/such/folder/x.md"],
    ["export", "1", "--db", "{work}/t.db", "-o", "{work}/x.html", "--format", "md"],
    ["export", "1", "--db", "{work}/t.db", "-o", "{work}"],
    ["stats", "1", "--db", "{work}/t.db", "--chart", "{work}/chart.svg"],
    ["stats", "1", "--db", "{work}/t.db", "--chart", "{work}/no/such/chart.png"],
    ["stats", "1", "--db", "{work}/t.db", "--top", "-1"], ["stats", "x", "--db", "{work}/t.db"],
    ["stats", "1", "--db", "{work}/missing.db"],
    ["rehearse", "{work}/missing.toml"], ["rehearse", "{work}/broken.toml"], ["rehearse", SEED, "--speed", "0"],
    ["rehearse", SEED, "--speed", "fast"],
    ["demo", "--speed", "0"], ["demo", "--speed", "-1"], ["demo", "--speed", "5000"], ["demo", "--speed", "x"],
    ["sandbox", "--port", "99999"], ["sandbox", "--port", "-1"], ["sandbox", "--heartbeat-ms", "0"],
    ["sandbox", "--port", "http"],
    ["health", "--db", "{work}/missing.db"], ["health", "--db", "{work}/t.db", "--max-age", "0"],
    ["health", "--db", "{work}/t.db", "--max-age", "soon"],
    ["backup", "{work}/new.db", "--db", "{work}/missing.db"], ["backup", "{work}/existing.db", "--db", "{work}/t.db"],
    ["backup", "{work}/no/such/folder/b.db", "--db", "{work}/t.db"], ["backup"],
    ["check"],
]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file's content; SQLite's -wal/-shm side files are left out (a read-only
    reader of a WAL database may create them empty; they hold no data of ours)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(a) or "(nothing)" for a in CASES])
def test_bad_input_gets_one_line_and_exit_2_and_changes_nothing(workdir, argv):
    args = [a.replace("{work}", str(workdir)) for a in argv]
    before = snapshot(workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWEETCHAT_", "DISCORD_"))}
    env["TWEETCHAT_DATABASE"] = str(workdir / "missing-default.db")
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=60)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-500:])
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr
    assert len(lines[0]) > 20, lines
    assert snapshot(workdir) == before, "a refused command changed a file"
    assert not list(Path(ROOT).glob("*.partial"))
