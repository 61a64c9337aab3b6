"""The /tweetchat moderator commands, invoked by scripted members on the sandbox."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.run.dispatcher import SystemClock
from bot.sandbox import CommandRefused
from bot.sandbox import permissions as perms
from bot.store import ChatState
from e2e.conftest import eventually

SEED = "physiotalk-2016-10-17-professionalism"


def tomorrow() -> str:
    return (SystemClock().now() + timedelta(days=1)).strftime("%Y-%m-%d")


async def schedule(sb, member=None, **options):
    member = member or sb.moderator
    values = {"chat": SEED, "channel": sb.channel_id, "when": f"{tomorrow()} 20:00",
              "timezone": "Europe/London", **options}
    handle = await member.invoke("tweetchat schedule", values)
    return handle, await handle.message()


def text_of(message) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f["name"] + " " + f["value"] for f in embed.get("fields", [])]
    return "\n".join(parts)


async def test_schedule_previews_then_confirm_schedules_and_announces(sandbox, bot):
    sb = sandbox
    choices = await sb.moderator.autocomplete("tweetchat schedule", "chat", "shades")
    assert [c["value"] for c in choices] == [SEED]
    zones = await sb.moderator.autocomplete("tweetchat schedule", "timezone", "londn")
    assert zones[0]["value"] == "Europe/London"

    handle, preview = await schedule(sb)
    assert handle.is_ephemeral
    shown = text_of(preview)
    assert "Schedule: 50 shades of grey" in shown
    assert shown.count("<t:") >= 18 and ":R>" in shown  # every step, absolute and relative
    assert bot.store.chats(sb.guild_id) == []  # nothing until Confirm

    confirmed = await sb.moderator.press(preview, "tweetchat:confirm")
    await confirmed.response()
    [chat] = await eventually(lambda: bot.store.chats(sb.guild_id))
    assert chat.state is ChatState.SCHEDULED and chat.timezone == "Europe/London"
    assert chat.start_at.strftime("%H:%M") in ("20:00", "19:00")  # GMT or BST
    announcement = await eventually(lambda: [m for m in sb.history(sb.channel_id)
                                             if m.embeds and m.embeds[0]["title"].startswith("Coming up")])
    assert "Pre-chat reading" in text_of(announcement[0])
    chat = await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).scheduled_event_id and
                            bot.store.chat(sb.guild_id, chat.id))
    event = sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id)
    assert event.name.startswith("50 shades of grey")
    assert bot.store.audit_log(sb.guild_id)[0]["actor_id"] == sb.moderator.id


async def test_cancelled_confirmation_schedules_nothing(sandbox, bot):
    sb = sandbox
    _, preview = await schedule(sb)
    pressed = await sb.moderator.press(preview, "tweetchat:cancel")
    await pressed.response()
    assert "nothing was scheduled" in text_of(await handle_message(sb, preview))
    assert bot.store.chats(sb.guild_id) == []


async def handle_message(sb, message):
    return sb.world.any_message(message.id)


async def test_plain_member_is_refused(sandbox, bot):
    with pytest.raises(CommandRefused):
        await sandbox.member("member01").invoke("tweetchat status")


async def test_missing_bot_permissions_are_named_and_nothing_is_scheduled(sandbox, bot):
    sb = sandbox
    sb.set_bot_channel_permissions(sb.channel_id, deny=perms.CREATE_PUBLIC_THREADS | perms.EMBED_LINKS)
    await eventually(lambda: not bot.get_channel(sb.channel_id).permissions_for(
        bot.get_guild(sb.guild_id).me).create_public_threads)
    _, reply = await schedule(sb)
    assert "Embed Links" in reply.content and "Create Public Threads" in reply.content
    assert not reply.components
    assert bot.store.chats(sb.guild_id) == []


@pytest.mark.parametrize("options, expected", [
    ({"timezone": "Europe/Londn"}, "did you mean Europe/London"),
    ({"when": "2020-01-01 20:00"}, "in the past"),
    ({"timezone": "BST"}, "use Europe/London"),
    ({"when": "next blursday"}, "can't read 'next blursday' as a start time"),
    ({"chat": "no-such-chat"}, "no chat file called"),
])
async def test_bad_input_gets_a_clear_error_and_changes_nothing(sandbox, bot, options, expected):
    _, reply = await schedule(sandbox, **options)
    assert reply.ephemeral and expected in reply.content
    assert bot.store.chats(sandbox.guild_id) == []


async def test_schedule_reads_start_times_as_people_type_them(sandbox, bot):
    """"tomorrow 7.30pm" and a weekday alone (the chat file's 20:00) through the slash command:
    the preview shows the instant they resolve to, as a Discord timestamp."""
    london = ZoneInfo("Europe/London")
    today = SystemClock().now().astimezone(london).date()
    in_three_days = today + timedelta(days=3)  # a weekday's name that cannot mean today
    cases = [("tomorrow 7.30pm", datetime.combine(today + timedelta(days=1), time(19, 30))),
             (f"{in_three_days:%A}", datetime.combine(in_three_days, time(20, 0)))]
    for typed, local in cases:
        _, preview = await schedule(sandbox, when=typed)
        instant = int(local.replace(tzinfo=london).timestamp())
        assert f"<t:{instant}:F>" in text_of(preview), (typed, text_of(preview))
    assert bot.store.chats(sandbox.guild_id) == []  # previews only


async def test_running_a_chat_with_the_control_commands(sandbox, bot):
    sb = sandbox
    _, preview = await schedule(sb)
    await (await sb.moderator.press(preview, "tweetchat:confirm")).response()
    [chat] = await eventually(lambda: bot.store.chats(sb.guild_id))
    options = await sb.moderator.autocomplete("tweetchat start", "chat", "")
    assert options[0]["value"] == chat.id

    async def run(command, **extra):
        handle = await sb.moderator.invoke(f"tweetchat {command}", {"chat": chat.id, **extra})
        return (await handle.message()).content

    event_id = await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).scheduled_event_id)
    before = sb.scheduled_events.get(sb.guild_id, event_id).scheduled_start_time
    assert "Extended" in await run("extend", minutes=10)
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, event_id).scheduled_start_time
                     - before == timedelta(minutes=10))
    assert "only a running chat can be paused" in await run("pause")
    assert "Starting" in await run("start")
    await eventually(lambda: any(m.embeds and m.embeds[0]["title"].startswith("50 shades")
                                 for m in sb.history(sb.channel_id)))
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.RUNNING)
    assert "Posting **Q1** now" in await run("skip")
    await eventually(lambda: any(t.name.startswith("Q1 ") for t in sb.threads(sb.channel_id)))
    assert "Paused" in await run("pause")
    assert "Resumed" in await run("resume")
    status = await (await sb.moderator.invoke("tweetchat status")).message()
    assert "running" in text_of(status) and "next: question Q2" in text_of(status)
    assert "use stop" in await run("cancel")
    event_id = bot.store.chat(sb.guild_id, chat.id).scheduled_event_id
    assert sb.scheduled_events.get(sb.guild_id, event_id).status == 2  # ACTIVE since /start
    assert "Wrapping up" in await run("stop")
    await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).state is ChatState.FINISHED)
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, event_id).status == 3)  # COMPLETED
    actions = [a["action"] for a in bot.store.audit_log(sb.guild_id, limit=20)]
    for action in ("scheduled", "extended", "started now", "skipped ahead", "paused", "resumed",
                   "stopped early"):
        assert action in actions


async def test_cancel_before_start_cancels_the_scheduled_event(sandbox, bot):
    sb = sandbox
    _, preview = await schedule(sb)
    await (await sb.moderator.press(preview, "tweetchat:confirm")).response()
    [chat] = await eventually(lambda: bot.store.chats(sb.guild_id))
    chat = await eventually(lambda: bot.store.chat(sb.guild_id, chat.id).scheduled_event_id and
                            bot.store.chat(sb.guild_id, chat.id))
    handle = await sb.moderator.invoke("tweetchat cancel", {"chat": chat.id})
    assert "Cancelled" in (await handle.message()).content
    assert bot.store.chat(sb.guild_id, chat.id).state is ChatState.CANCELLED
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, chat.scheduled_event_id).status == 4)


async def test_config_saves_server_defaults(sandbox, bot):
    sb = sandbox
    handle = await sb.moderator.invoke("tweetchat config", {"timezone": "europe/dublin",
                                                            "catch_up": "skip",
                                                            "archive_threads": False,
                                                            "retention_days": 90,
                                                            "share_record": True})
    said = (await handle.message()).content
    assert "Europe/Dublin" in said and "90 days" in said and "record after each chat: **posted**" in said
    settings = bot.store.server_settings(sb.guild_id)
    assert (settings.timezone, settings.catch_up, settings.archive_threads, settings.retention_days,
            settings.share_record) == ("Europe/Dublin", "skip", False, 90, True)
    handle = await sb.moderator.invoke("tweetchat config", {"retention_days": 0})
    assert "answers kept: **until deleted**" in (await handle.message()).content
    assert bot.store.server_settings(sb.guild_id).retention_days is None
    with pytest.raises(CommandRefused):
        await sb.moderator.invoke("tweetchat config", {"retention_days": -1})


def modal_values(modal: dict, by_label: dict[str, str]) -> dict[str, str]:
    """Map the modal's text inputs (found by label) to the values to type."""
    values = {}
    for row in modal["components"]:
        for item in row.get("components", [row.get("component", row)]):
            for label, value in by_label.items():
                if item.get("label", "").startswith(label):
                    values[item["custom_id"]] = value
    return values


async def test_new_chat_typed_in_a_modal_is_saved_and_offered_for_scheduling(sandbox, bot):
    sb = sandbox
    opened = await sb.moderator.invoke("tweetchat new")
    modal = await opened.modal()
    typed = modal_values(modal, {
        "Title": "Students on placement", "Intro": "Welcome, students!",
        "Questions": "What surprised you on placement?\n\nWhat would you post about it?",
        "Minutes": "12", "Wrap-up": "Thanks all!"})
    assert len(typed) == 5
    submitted = await sb.moderator.submit_modal(opened, typed)
    assert "Saved **Students on placement** (2 questions, every 12 min)" in (await submitted.message()).content
    [(saved_id, definition)] = bot.store.saved_chats(sb.guild_id)
    assert [q.text for q in definition.questions][1] == "What would you post about it?"
    choices = await sb.moderator.autocomplete("tweetchat schedule", "chat", "placement")
    assert choices[0]["value"] == f"saved:{saved_id}"
    _, preview = await schedule(sb, chat=f"saved:{saved_id}")
    assert "Schedule: Students on placement" in text_of(preview)


async def test_a_bad_modal_chat_is_refused_with_the_reason(sandbox, bot):
    sb = sandbox
    opened = await sb.moderator.invoke("tweetchat new")
    typed = modal_values(await opened.modal(), {
        "Title": "Bad", "Intro": "Hi", "Questions": "Q?", "Minutes": "-3", "Wrap-up": "Bye"})
    reply = await (await sb.moderator.submit_modal(opened, typed)).message()
    assert "not saved" in reply.content and "interval_minutes" in reply.content
    assert bot.store.saved_chats(sb.guild_id) == []
