"""The bot's own posts at the edges of what its inputs allow: the largest chat a chat file
may hold, run through /tweetchat schedule; autocomplete over more saved chats than Discord
shows; the longest guidance entry. The sandbox refuses what Discord refuses, and the suite's
contract check fails a test in which the bot sent anything Discord would refuse; so each
test here passes only if every post fits, or was cut with a visible "…"."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from bot import discord_limits as limits
from bot.chat import MAX_QUESTIONS, load_chat_file
from bot.chat import posts
from bot.config import DEFAULT_DATA_DIR
from bot.run.dispatcher import ScaledClock
from bot.store import ChatState
from e2e.conftest import eventually, running_bot

SPEED = 60


def toml_text(value: str) -> str:
    return '"""\n' + value.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '"""'


def words(n: int, word: str = "professional") -> str:
    """About n characters of prose (so cuts fall at word boundaries)."""
    text = ""
    while len(text) + len(word) + 1 <= n:
        text += word + " "
    return text.strip().ljust(n, "x")[:n]


def largest_chat(questions: int = MAX_QUESTIONS, *, slack: int = 0) -> str:
    """A chat file with every text as long as the file format allows (less `slack`)."""
    parts = [
        f"title = {toml_text(words(posts.TITLE_MAX))}",
        'hashtag = "#' + "p" * 99 + '"',
        f"description = {toml_text(words(1000))}",
        f"hosts = [{', '.join(repr(words(60, 'host')) for _ in range(5))}]".replace("'", '"'),
        f"intro = {toml_text(words(posts.INTRO_MAX - slack))}",
        f"wrap_up = {toml_text(words(posts.WRAP_UP_MAX - slack))}",
        "[schedule]", 'start = "20:00"', 'timezone = "Europe/London"', "first_question_after_minutes = 1",
        "interval_minutes = 1", "wrap_up_after_minutes = 1",
        "[midway]", "after_question = 3", f"text = {toml_text(words(posts.MIDWAY_MAX - slack))}",
    ]
    for n in range(1, questions + 1):
        # Odd questions name their thread as long as a file may (94 + "Q20 · "); even ones
        # leave it to the bot, which makes it from the question's long text.
        thread = [f"thread = {toml_text(words(94, 'thread'))}"] if n % 2 else []
        parts += ["[[questions]]", f"number = {n}", *thread, f"text = {toml_text(words(posts.QUESTION_MAX - slack))}"]
    return "\n".join(parts) + "\n"


def fitted_chat(tmp: Path) -> Path:
    """The largest chat the loader accepts: shrink the long texts until it does."""
    for slack in range(0, 4000, 50):
        path = tmp / "largest.toml"
        path.write_text(largest_chat(slack=slack), encoding="utf-8")
        try:
            load_chat_file(path)
            return path
        except Exception:  # noqa: BLE001 - the loader's refusal: try smaller texts
            continue
    raise AssertionError("no size of the largest chat was accepted")


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    (data / "chats").mkdir(parents=True)
    shutil.copy(DEFAULT_DATA_DIR / "guidance.toml", data / "guidance.toml")
    return data


async def test_the_largest_chat_runs_through_schedule_and_every_post_fits(sandbox, data_dir, tmp_path):
    sb = sandbox
    shutil.copy(fitted_chat(tmp_path), data_dir / "chats" / "largest.toml")
    definition = load_chat_file(data_dir / "chats" / "largest.toml")
    assert len(definition.questions) == MAX_QUESTIONS
    async with running_bot(sb, tmp_path / "tweetchat.db", clock=ScaledClock(SPEED), data_dir=data_dir) as bot:
        start = (bot.now() + timedelta(minutes=2)).replace(second=0, microsecond=0)
        handle = await sb.moderator.invoke("tweetchat schedule", {
            "chat": "largest", "channel": sb.channel_id, "when": start.strftime("%Y-%m-%d %H:%M"),
            "timezone": "UTC"})
        preview = await handle.message()
        assert preview.embeds, preview.content  # the preview itself fitted
        confirmed = await sb.moderator.press(preview, "tweetchat:confirm")
        await confirmed.response()
        [chat] = await eventually(lambda: bot.store.chats(sb.guild_id))
        await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, timeout=120)
        steps = bot.store.steps(sb.guild_id, chat.id)
        assert all(s.message_id for s in steps), [s for s in steps if not s.message_id]
        posted = [m for m in sb.history(sb.channel_id) if m.author.id == sb.bot_user_id and m.embeds]
        for message in posted:
            embed = message.embeds[0]
            assert len(embed.get("title", "")) <= limits.EMBED_TITLE
        threads = sb.threads(sb.channel_id)
        assert len(threads) == MAX_QUESTIONS
        assert all(len(t.name) <= limits.THREAD_NAME for t in threads)
        assert any(t.name.endswith(posts.ELLIPSIS) for t in threads), "long thread names are cut visibly"


async def test_a_chat_with_more_questions_than_allowed_is_refused_in_one_line(sandbox, data_dir, tmp_path):
    sb = sandbox
    (data_dir / "chats" / "too-many.toml").write_text(largest_chat(MAX_QUESTIONS + 5, slack=3000),
                                                       encoding="utf-8")
    async with running_bot(sb, tmp_path / "tweetchat.db", data_dir=data_dir) as bot:
        choices = await sb.moderator.autocomplete("tweetchat schedule", "chat", "")
        assert "too-many" not in [c["value"] for c in choices]  # a broken file is not offered
        handle = await sb.moderator.invoke("tweetchat schedule", {
            "chat": "too-many", "channel": sb.channel_id, "when": "2999-01-01 20:00",
            "timezone": "UTC"})
        reply = await handle.message()
        text = reply.content + " ".join(e.get("description", "") for e in reply.embeds)
        assert f"at most {MAX_QUESTIONS}" in text, text
        assert bot.store.chats(sb.guild_id) == []


async def test_autocomplete_over_many_long_chats_offers_25_that_fit(sandbox, data_dir, tmp_path):
    sb = sandbox
    seed = DEFAULT_DATA_DIR / "chats" / "physiotalk-2016-10-17-professionalism.toml"
    long_stem = "a-" + "very-long-chat-file-name-" * 6
    assert len(long_stem) > 100
    shutil.copy(seed, data_dir / "chats" / f"{long_stem}.toml")
    for i in range(30):
        shutil.copy(seed, data_dir / "chats" / f"chat-{i:02d}.toml")
    async with running_bot(sb, tmp_path / "tweetchat.db", data_dir=data_dir) as bot:
        definition = load_chat_file(seed)
        for i in range(30):
            bot.control.save_chat(sb.guild_id, definition, actor_id=sb.moderator.id)
        choices = await sb.moderator.autocomplete("tweetchat schedule", "chat", "")
        assert len(choices) == 25
        assert all(1 <= len(c["name"]) <= 100 and len(str(c["value"])) <= 100 for c in choices)
        # A file whose name is too long to be a choice's value is still reachable by typing.
        typed = await sb.moderator.autocomplete("tweetchat schedule", "chat", "very-long")
        assert typed and all(len(str(c["value"])) <= 100 for c in typed)


async def test_the_longest_guidance_entry_fits_one_embed_or_says_where_it_was_cut(sandbox, data_dir, tmp_path):
    import tomllib

    sb = sandbox
    kb = tomllib.loads((data_dir / "guidance.toml").read_text(encoding="utf-8"))
    from bot.guidance._knowledge import LIMITS

    entry = kb["entries"][0]  # every text as long as the knowledge file allows
    entry["title"] = words(LIMITS["title"], "title")
    entry["answer"] = words(LIMITS["answer"], "answer")
    entry["differences"] = words(LIMITS["differences"], "differs")
    entry["do"] = [words(LIMITS["point"], "do") for _ in range(6)]
    entry["dont"] = [words(LIMITS["point"], "dont") for _ in range(6)]
    entry["sources"] = [{"publisher": words(120, "publisher"), "document": words(300, "document"),
                         "year": 2024, "url": "https://www.hcpc-uk.org/" + "p" * 200,
                         "section": words(120, "section")} for _ in range(12)]
    (data_dir / "guidance.toml").write_text(_dump(kb), encoding="utf-8")
    async with running_bot(sb, tmp_path / "tweetchat.db", data_dir=data_dir):
        handle = await sb.member("member01").invoke("guidance", {"question": entry["phrasings"][0]})
        first = await handle.message()
        assert first.embeds
        more = await sb.member("member01").press(first, f"guidance:more:{entry['id']}")
        reply = await more.message()  # the whole entry: every point and source
        shown = reply.embeds[0]
        assert len(shown["title"]) <= limits.EMBED_TITLE
        assert sum(len(f["name"]) + len(f["value"]) for f in shown.get("fields", [])) + len(
            shown.get("description", "")) + len(shown["title"]) + len(shown.get("footer", {}).get("text", "")) <= 6000
        assert posts.ELLIPSIS in str(shown), "what did not fit is cut visibly"


def _dump(data) -> str:
    """A small TOML writer for the knowledge file's shapes (tables, arrays of tables)."""
    import json

    def value(v):
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if hasattr(v, "isoformat"):
            return v.isoformat()
        raise TypeError(type(v))

    lines = []

    def table(prefix, d):
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict)
                   and not (isinstance(v, list) and v and isinstance(v[0], dict))}
        for k, v in scalars.items():
            lines.append(f"{k} = {value(v)}")
        for k, v in d.items():
            if isinstance(v, dict):
                lines.append(f"\n[{prefix}{k}]")
                table(f"{prefix}{k}.", v)
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for item in v:
                    lines.append(f"\n[[{prefix}{k}]]")
                    table(f"{prefix}{k}.", item)

    table("", data)
    return "\n".join(lines) + "\n"
