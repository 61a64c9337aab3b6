from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from bot.chat import load_chat_file  # noqa: E402
from bot.store import Store  # noqa: E402
from seed import SEED_CHAT  # noqa: E402


@pytest.fixture
def seed():
    return load_chat_file(SEED_CHAT)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "tweetchat.db"


@pytest.fixture
def store(db_path):
    s = Store(db_path)
    yield s
    s.close()


@pytest.fixture(scope="session")
def recorded_chat(tmp_path_factory):
    """A chat run once per session on the sandbox with the real bot (see
    e2e/recorded_chat.py). Tests must not change its database: use `recorded_store`."""
    import asyncio

    from e2e.recorded_chat import record_chat

    return asyncio.run(record_chat(tmp_path_factory.mktemp("recorded") / "tweetchat.db"))


@pytest.fixture
def recorded_store(recorded_chat, tmp_path):
    """A copy of the recorded chat's database, open; changes stay in this test."""
    import shutil

    copy = tmp_path / "recorded.db"
    shutil.copy(recorded_chat.db, copy)
    s = Store(copy)
    yield s
    s.close()
