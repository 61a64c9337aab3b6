"""/guidance on the sandbox: members ask, get a cited embed, use autocomplete and the
next-match buttons; moderators reload the file, and a broken file leaves the old one
serving."""

from __future__ import annotations

import shutil

import pytest

from bot.guidance import KnowledgeFileError, load_knowledge
from bot.sandbox import CommandRefused
from e2e.conftest import running_bot
from seed import ROOT

KNOWLEDGE = ROOT / "data" / "guidance.toml"


def entry_ids(message) -> list[str]:
    """The other candidates offered as buttons."""
    return [c["custom_id"].removeprefix("guidance:entry:")
            for row in message.components for c in row["components"]
            if c["custom_id"].startswith("guidance:entry:")]


def shown_entry(message):
    title = message.embeds[0]["title"]
    return next(e for e in load_knowledge(KNOWLEDGE).entries if e.title == title)


async def ask(member, **options):
    handle = await member.invoke("guidance", options)
    return handle, await handle.message()


async def test_a_member_gets_a_cited_answer_only_they_see(sandbox, bot):
    member = sandbox.member("member01")
    handle, reply = await ask(member, question="should I accept a friend request from a patient on facebook?")
    assert handle.is_ephemeral
    embed = reply.embeds[0]
    entry = shown_entry(reply)
    assert entry.id == "patient-friend-requests"
    # The first screen: the short answer, the top do's and don'ts, the main source.
    assert embed["description"] == entry.answer
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert {"Do", "Main source"} <= set(fields)
    assert fields["Do"].count("✅") == min(3, len(entry.do))
    assert f"]({entry.sources[0].url})" in fields["Main source"]
    assert "not legal advice" in embed["footer"]["text"]
    assert "last reviewed" in embed["footer"]["text"]
    # "Sources and more" shows the whole entry, every source cited.
    more = await member.press(reply, f"guidance:more:{entry.id}")
    full = (await more.message()).embeds[0]
    assert more.is_ephemeral and full["title"] == entry.title
    sources = "\n".join(f["value"] for f in full["fields"] if f["name"].startswith("Sources"))
    for source in entry.sources:
        assert f"]({source.url})" in sources
    full_do = next(f["value"] for f in full["fields"] if f["name"] == "Do")
    assert full_do.count("✅") == len(entry.do)
    # Other candidates are offered only when they are real ones, never the entry shown.
    assert entry.id not in entry_ids(reply)
    # Nobody else sees it.
    assert not sandbox.member("member02").can_see(reply)
    assert reply not in sandbox.history(sandbox.channel_id)


async def test_a_next_match_button_shows_that_entry(sandbox, bot):
    """A question two entries answer about as well: the second is a button."""
    member = sandbox.member("member01")
    _, reply = await ask(member, question="can i add my patient on facebook")
    others = entry_ids(reply)
    assert others, "a close second candidate is offered"
    pressed = await member.press(reply, f"guidance:entry:{others[0]}")
    shown = await pressed.message()
    assert pressed.is_ephemeral
    assert shown_entry(shown).id == others[0]


async def test_a_clear_answer_offers_no_filler_buttons(sandbox, bot):
    _, reply = await ask(sandbox.member("member01"), question="a brand wants to send me free trainers to review")
    assert shown_entry(reply).id == "free-products-gifts"
    assert entry_ids(reply) == []


async def test_autocomplete_suggests_titles_and_a_picked_title_answers_exactly(sandbox, bot):
    member = sandbox.member("member02")
    choices = await member.autocomplete("guidance", "question", "friend req")
    titles = [c["name"] for c in choices]
    assert 1 <= len(titles) <= 25
    wanted = next(e for e in load_knowledge(KNOWLEDGE).entries if e.id == "patient-friend-requests")
    assert wanted.title in titles
    _, reply = await ask(member, question=wanted.title)
    assert shown_entry(reply).id == wanted.id


async def test_no_guidance_is_said_honestly_with_the_closest_topics(sandbox, bot):
    _, reply = await ask(sandbox.member("member01"), question="recipe for banana bread")
    assert reply.embeds[0]["title"] == "No guidance on that"
    assert "won't guess" in reply.embeds[0]["description"]
    assert "/guidance-topics" in reply.embeds[0]["description"]


async def test_public_answers_are_posted_without_pinging_anyone(sandbox, bot):
    sb = sandbox
    handle, reply = await ask(sb.member("member01"), public=True,
                              question="@everyone is swearing on twitter unprofessional?")
    assert not handle.is_ephemeral
    assert reply.id in [m.id for m in sb.history(sb.channel_id)] and sb.member("member02").can_see(reply)
    assert shown_entry(reply).id == "swearing-and-tone"
    assert not reply.mention_everyone and not reply.mention_ids


async def test_jurisdiction_keeps_to_entries_that_apply_there(sandbox, bot):
    _, reply = await ask(sandbox.member("member01"), question="can I use patient testimonials in ads",
                         jurisdiction="AU")
    assert shown_entry(reply).applies_to("AU")


async def test_topics_lists_every_entry(sandbox, bot):
    handle = await sandbox.member("member01").invoke("guidance-topics")
    message = await handle.message()
    shown = "\n".join(e.get("description", "") for e in message.embeds)
    assert all(e.title in shown for e in load_knowledge(KNOWLEDGE).entries)
    assert sum(len(e.get("description", "")) + len(e.get("title", "")) for e in message.embeds) <= 6000


@pytest.fixture
def data_dir(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(ROOT / "data", copy)
    return copy


async def test_a_broken_reload_keeps_the_old_file_and_says_why(sandbox, tmp_path, data_dir):
    sb = sandbox
    async with running_bot(sb, tmp_path / "t.db", data_dir=data_dir) as bot:
        with pytest.raises(CommandRefused):
            await sb.member("member01").invoke("guidance-reload")

        original = (data_dir / "guidance.toml").read_text(encoding="utf-8")
        (data_dir / "guidance.toml").write_text(
            original.replace('id = "patient-friend-requests"', 'id = "Bad Id"', 1), encoding="utf-8")
        refused = await (await sb.moderator.invoke("guidance-reload")).message()
        assert "still in use" in refused.content
        assert "guidance.toml: 1 problem" in refused.content and str(data_dir) not in refused.content
        assert "(Bad Id).id: must be lowercase" in refused.content
        _, reply = await ask(sb.member("member01"), question="friend request from a patient")
        assert shown_entry(reply).id == "patient-friend-requests"

        (data_dir / "guidance.toml").write_text(
            original.replace('title = "Responding to a negative online review',
                             'title = "Replying to a negative online review', 1),
            encoding="utf-8")
        done = await (await sb.moderator.invoke("guidance-reload")).message()
        assert done.content.startswith("✅ Reloaded")
        assert bot.guidance.kb.entry("responding-to-reviews").title.startswith("Replying")
        actions = [a["action"] for a in bot.store.audit_log(sb.guild_id)]
        assert actions[:2] == ["guidance reloaded", "guidance reload refused"]


async def test_the_bot_refuses_to_start_with_a_broken_knowledge_file(sandbox, tmp_path, data_dir):
    path = data_dir / "guidance.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("[[entries.sources]]", "[[entries.nothing]]", 1),
                    encoding="utf-8")
    with pytest.raises(KnowledgeFileError) as info:
        async with running_bot(sandbox, tmp_path / "t.db", data_dir=data_dir):
            pass
    assert "entries[0] (patient-identifiable-information).nothing: unknown key" in str(info.value)


def test_every_entry_fits_in_one_embed_within_discords_limits():
    from bot import discord_limits as limits
    from bot.exts.guidance import entry_embed

    kb = load_knowledge(KNOWLEDGE)
    for entry in kb.entries:
        for full in (False, True):
            embed = entry_embed(entry, kb, full=full)
            assert len(embed) <= limits.EMBED_TOTAL and len(embed.fields) <= limits.EMBED_FIELDS
            assert all(len(f.value) <= limits.EMBED_FIELD_VALUE for f in embed.fields), entry.id
        shown = "\n".join(f.value for f in embed.fields)
        assert all(s.url in shown for s in entry.sources), entry.id
        first = entry_embed(entry, kb)
        assert len(first) < len(embed) or len(entry.sources) == 1, entry.id  # the first screen is shorter


async def test_an_unexpected_failure_gets_an_apology_not_silence(sandbox, bot, monkeypatch, caplog):
    """Anything going wrong inside /guidance or /mydata: the member is told, with a
    reference that matches the log line, instead of "The application did not respond"."""
    def broken(*args, **kwargs):
        raise RuntimeError("the index is broken")

    monkeypatch.setattr(bot.guidance.index, "search", broken)
    handle = await sandbox.member("member01").invoke("guidance", {"question": "can I post a selfie"})
    message = await handle.message()
    assert "Something went wrong on our side" in message.content and handle.is_ephemeral
    logged = [r for r in caplog.records if "failed (interaction" in r.getMessage()]
    assert logged and str(handle.id) in message.content

    monkeypatch.setattr(bot.store, "member_data", broken)
    handle = await sandbox.member("member01").invoke("mydata export")
    assert "Something went wrong on our side" in (await handle.message()).content
