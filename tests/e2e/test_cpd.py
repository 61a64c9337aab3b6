"""For the members, end to end on the sandbox: the CPD record (the wrap-up's button, `/cpd
on`, `/cpd reflect`, `list`, `export`, and `/mydata delete` taking it all away) and the
private confidentiality nudge (one DM, once per chat, only with the server's setting on)."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.run.dispatcher import ScaledClock
from bot.store import ChatState
from e2e.conftest import CROWD, eventually, running_bot
from e2e.test_commands import modal_values, text_of
from e2e.test_journey import SPEED, schedule_soon


@pytest.fixture
async def fast_bot(sandbox, tmp_path):
    # Twice the journey's speed: the chat's 18 minutes in about 9 s.
    async with running_bot(sandbox, tmp_path / "tweetchat.db", clock=ScaledClock(2 * SPEED)) as b:
        yield b


def thread_of(bot, sb, chat, number):
    return next((s.thread_id for s in bot.store.steps(sb.guild_id, chat.id)
                 if s.question == number and s.thread_id), None)


def attachment_text(message, suffix):
    return next(a for a in message.attachments if a.filename.endswith(suffix)).data.decode("utf-8")


async def test_cpd_records_by_button_and_by_cpd_on_then_reflect_list_export_delete(sandbox, fast_bot):
    sb, bot = sandbox, fast_bot
    always, asker, silent = (sb.member(n) for n in CROWD[:3])
    assert "After each chat" in (await (await always.invoke("cpd on", {})).message()).content
    chat = await schedule_soon(sb, bot, interval=0.5)
    q1 = await eventually(lambda: thread_of(bot, sb, chat, 1), timeout=60)
    first = await always.send("I check every post against the HCPC standards", channel_id=q1)
    await always.edit(first, "I check every post against the HCPC standards now")
    await asker.send("Consent first, always", channel_id=q1)
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED, timeout=90)

    # /cpd on: the record arrives by DM after the wrap-up, with the final text.
    [dm] = await eventually(lambda: always.direct_messages(), timeout=20)
    record = attachment_text(dm, ".md")
    assert "# CPD record: 50 shades of grey" in record
    assert "against the HCPC standards now" in record and "Consent first" not in record
    assert "18 minutes" in record  # intro to wrap-up as scheduled (bot time)
    # A chat on UTC gets the neutral template (UK time gets the HCPC's standards).
    assert "Which of my regulator's or professional body's standards" in record
    assert asker.direct_messages() == [] and silent.direct_messages() == []

    # The wrap-up's button, for a member who did not turn /cpd on.
    wrap_up = next(m for m in sb.history(sb.channel_id)
                   if m.embeds and m.embeds[0]["title"].startswith("Thank you"))
    pressed = await asker.press(wrap_up, f"cpd:record:{chat.id}")
    assert "Sent to your DMs" in (await pressed.message(check=lambda m: bool(m.content))).content
    assert "Consent first, always" in attachment_text(asker.direct_messages()[0], ".md")
    again = await asker.press(wrap_up, f"cpd:record:{chat.id}")
    assert "You have it already" in (await again.message(check=lambda m: bool(m.content))).content
    assert len(asker.direct_messages()) == 1
    outsider = await silent.press(wrap_up, f"cpd:record:{chat.id}")
    assert "no answer in this chat" in (await outsider.message(check=lambda m: bool(m.content))).content
    assert silent.direct_messages() == []

    # A reflection, private, in the list and the export.
    opened = await asker.invoke("cpd reflect", {"chat": chat.id})
    typed = modal_values(await opened.modal(), {"What did I learn": "Anonymising is harder than I thought",
                                                "How will it change": "I'll ask before I post",
                                                "Which of my regulator": "HCPC standards 3 and 4"})
    saved = await (await asker.submit_modal(opened, typed)).message()
    assert "Saved your reflection" in saved.content
    listed = text_of(await (await asker.invoke("cpd list", {})).message())
    assert f"#{chat.id}" in listed and "reflection written" in listed
    exported = await (await asker.invoke("cpd export", {})).message()
    assert {a.filename for a in exported.attachments} == {"cpd-records.md", "cpd-records.html"}
    assert "Anonymising is harder than I thought" in attachment_text(exported, ".md")
    assert "Anonymising is harder" in attachment_text(exported, ".html")
    # Never in the transcript.
    transcript = await (await sb.moderator.invoke("tweetchat transcript", {"chat": chat.id, "format": "md"})).message()
    assert "Anonymising" not in attachment_text(transcript, ".md")
    # /mydata export has it; /mydata delete takes it away.
    mine = await (await asker.invoke("mydata export", {})).message()
    assert json.loads(mine.attachments[0].data)["reflections"][0]["learned"].startswith("Anonymising")
    asking = await asker.invoke("mydata delete", {})
    await (await asker.press(await asking.message(), "mydata:delete:confirm")).response()
    await eventually(lambda: bot.store.reflection(sb.guild_id, chat.id, asker.id) is None)
    assert bot.store.cpd_sent(sb.guild_id, chat.id).get(asker.id) is None


async def test_the_confidentiality_nudge_is_private_once_per_chat_and_off_by_default(sandbox, fast_bot):
    sb, bot = sandbox, fast_bot
    careless, careful = sb.member(CROWD[0]), sb.member(CROWD[1])
    chat = await schedule_soon(sb, bot, interval=2)
    q1 = await eventually(lambda: thread_of(bot, sb, chat, 1), timeout=60)
    identifying = "Mrs Okafor in bed 4 on Ward 9 had her new hip today and refused to mobilise"
    await careless.send(identifying, channel_id=q1)  # the setting is off: no nudge
    await asyncio.sleep(0.5)
    assert careless.direct_messages() == []

    reply = await (await sb.moderator.invoke("tweetchat config", {"confidentiality_nudge": True})).message()
    assert "confidentiality nudge: **on**" in reply.content
    await careful.send("Patients often ask me about driving after a hip replacement", channel_id=q1)
    answer = await careless.send("The 34 y/o with MS I saw at Northgate General this morning", channel_id=q1)
    [dm] = await eventually(lambda: careless.direct_messages())
    shown = text_of(dm)
    assert "private check" in shown and answer.id and str(answer.id) in dm.embeds[0]["description"]
    assert "Guidance: Posting about a patient or case without naming them" in shown
    q2 = await eventually(lambda: thread_of(bot, sb, chat, 2), timeout=60)
    await careless.send("Bay 3 bed 2 tonight is a 19 yo with a python bite", channel_id=q2)
    await eventually(lambda: len(bot.store.answers(sb.guild_id, chat.id)) == 4)
    await asyncio.sleep(0.5)
    assert len(careless.direct_messages()) == 1  # once per chat
    assert careful.direct_messages() == []
    assert not any("private check" in text_of(m) for m in sb.world.messages.values())  # never public
    assert bot.store.nudges_sent(sb.guild_id, chat.id) == {careless.id}
