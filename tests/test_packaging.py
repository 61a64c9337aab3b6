"""The installed package works on its own: built as a wheel, installed outside the checkout,
run from another folder, it finds its data (the seed chat, the knowledge file and its
vectors), the sentence model and Discord's spec. Dependencies come from the test
environment; only the project itself is the wheel (the checkout is not on the path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seed import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                            "-w", str(work / "dist")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (work / "dist").glob("tweetchat_bot-*.whl")
    target = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                           str(target), str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def tweetchat(installed: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWEETCHAT_", "DISCORD_"))}
    env["PYTHONPATH"] = str(installed)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_the_wheel_carries_its_data_and_runs_from_anywhere(installed, tmp_path):
    where = subprocess.run([sys.executable, "-c", "import bot, bot.config; print(bot.__file__); "
                            "print(bot.config.DEFAULT_DATA_DIR)"], cwd=tmp_path, capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(installed)})
    module, data = where.stdout.split()
    assert module.startswith(str(installed)) and data.startswith(str(installed)), where.stdout
    data = Path(data)
    assert not data.is_symlink() and (data / "guidance.toml").is_file()
    room = Path(module).parent / "sandbox" / "room"  # the rehearsal room's page
    assert all((room / name).is_file() for name in ("index.html", "room.js", "room.css"))

    checked = tweetchat(installed, tmp_path, "check", *map(str, sorted((data / "chats").glob("*.toml"))),
                        str(data / "guidance.toml"))
    assert checked.returncode == 0, checked.stderr
    assert "OK: 65 guidance entries" in checked.stdout or "guidance entries" in checked.stdout

    answered = tweetchat(installed, tmp_path, "guidance", "a patient sent me a friend request", "--json")
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["results"][0]["id"] == "patient-friend-requests"
    assert not list(tmp_path.iterdir()), "nothing written in the folder it ran from"

    demo = tweetchat(installed, tmp_path, "demo", "--speed", "600", "--db", str(tmp_path / "demo.db"))
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Answers stored in SQLite, per question" in demo.stdout
