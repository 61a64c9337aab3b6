from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from bot.chats import load_chat_file  # noqa: E402
from bot.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_CHAT = ROOT / "data" / "chats" / "physiotalk-2016-10-17-professionalism.toml"

# A Monday evening well in the future, in winter (GMT = UTC).
EVENING = datetime(2030, 12, 2, 20, 0, tzinfo=timezone.utc)


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
