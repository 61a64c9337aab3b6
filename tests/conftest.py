from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from bot.chats import load_chat_file  # noqa: E402
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
