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


# --- Discord's contract, over the whole suite ---------------------------------------------------
# Every request discord.py sends to a sandbox is checked against Discord's OpenAPI spec and
# documented limits (bot/sandbox/contract.py). A test fails if the bot sent anything Discord
# would refuse, or a field the spec does not define, unless it is listed here.
ALLOWED_UNKNOWN_FIELDS = {
    # discord.py's Embed.to_dict() always sends the embed's `flags`; the spec has no such
    # request field and Discord ignores it.
    ("POST /channels/{channel_id}/messages", "embeds.*.flags"),
    # discord.py sends each command's age-restriction `nsfw` flag; Discord's docs define it
    # ("Application Command Object"), the spec's update request does not.
    ("PUT /applications/{application_id}/guilds/{guild_id}/commands", "*.nsfw"),
    ("PUT /applications/{application_id}/commands", "*.nsfw"),
    # discord.py's Message.edit() sends `tts` (false); edits cannot be text-to-speech and
    # Discord ignores it.
    ("PATCH /channels/{channel_id}/messages/{message_id}", "tts"),
    # discord.py repeats the overwrite's id from the path in the body.
    ("PUT /channels/{channel_id}/permissions/{overwrite_id}", "id"),
}
RESPONSE_PROBLEMS: set = set()
DISCORD_PY = "DiscordBot"  # discord.py's User-Agent starts so; raw test requests do not


def _field_pattern(path: str) -> str:
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


@pytest.fixture(autouse=True)
def discord_contract(request):
    """Collects the contract violations of the bot's requests during one test."""
    from bot.sandbox import contract

    seen: list = []

    def observe(violation, user_agent: str) -> None:
        if user_agent.startswith(DISCORD_PY):
            seen.append(violation)

    contract.observers.append(observe)
    yield seen
    contract.observers.remove(observe)
    if request.node.get_closest_marker("refusals_expected"):
        seen = [v for v in seen if v.rule == "unknown field"]
    RESPONSE_PROBLEMS.update((v.route, _field_pattern(v.path), v.code, v.message) for v in seen if v.side == "response")
    broken = [v for v in seen if v.side == "request" and (v.route, _field_pattern(v.path)) not in ALLOWED_UNKNOWN_FIELDS]
    assert not broken, "the bot sent what Discord would refuse or not know:\n" + "\n".join(map(str, broken))


def pytest_terminal_summary(terminalreporter):
    if RESPONSE_PROBLEMS:
        terminalreporter.write_sep("-", "sandbox responses that differ from Discord's spec")
        for problem in sorted(RESPONSE_PROBLEMS):
            terminalreporter.write_line(" ".join(problem))
