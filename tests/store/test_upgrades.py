"""Upgrades: a database left at any earlier schema version opens with today's code,
migrates to the latest version, and keeps what it held."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlite_utils

from bot.chat import load_chat_file
from bot.store import Store, migrations
from seed import SEED_CHAT

NAMES = [m.name for m in migrations._migrations]  # in order


@pytest.mark.parametrize("stop_before", NAMES[1:], ids=lambda n: f"from before {n}")
def test_a_database_from_an_earlier_version_upgrades_and_keeps_its_data(tmp_path, stop_before):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrations.apply(old, stop_before=stop_before)
    applied = [m.name for m in migrations.applied(old)]
    assert stop_before not in applied
    # What every version since the first has had: a chat with its steps.
    start = datetime(2026, 11, 2, 20, tzinfo=timezone.utc)
    definition = load_chat_file(SEED_CHAT)
    old["chats"].insert({"id": 7, "guild_id": 1, "channel_id": 2, "title": definition.title,
                         "definition": __import__("json").dumps(definition.to_dict()),
                         "state": "scheduled", "start_at": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                         "timezone": "Europe/London", "created_at": (start - timedelta(days=1)).strftime(
                             "%Y-%m-%dT%H:%M:%S.%fZ")}, alter=False)
    old.close()
    store = Store(path)
    try:
        assert store.schema_version() == NAMES
        chat = store.find_chat(7)
        assert chat is not None and chat.title == definition.title
        assert chat.definition.questions == definition.questions
    finally:
        store.close()
