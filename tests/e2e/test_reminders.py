"""Reminders that reach people, as a server sets them up and members ask for them: a DM
before the start to each member who marked the chat's Event interested or ran
`/reminders on` (once each; closed DMs passed over silently), or, when the server names a
reminder role, a "starting soon" post that pings that role and nothing else. Every
message the bot sends is checked for pings."""

from __future__ import annotations

import pytest

from bot.run.dispatcher import ScaledClock
from bot.store import StepState
from e2e.conftest import CROWD, eventually, running_bot
from e2e.test_commands import text_of
from e2e.test_journey import SPEED, schedule_soon


@pytest.fixture
async def fast_bot(sandbox, tmp_path):
    async with running_bot(sandbox, tmp_path / "tweetchat.db", clock=ScaledClock(SPEED)) as b:
        yield b


def reminder_step(bot, sb, chat):
    return next(s for s in bot.store.steps(sb.guild_id, chat.id) if s.kind.value == "reminder")


def assert_no_pings_except(sb, role_id=None):
    """No message the bot sent anywhere pings anyone, except `role_id` where named."""
    for message in sb.world.messages.values():
        if message.author.id != sb.bot_user_id:
            continue
        assert not message.mention_ids and not message.mention_everyone, message.content
        assert message.mention_role_ids in ([], [role_id] if role_id else []), message.content


async def configure(sb, **options):
    reply = await (await sb.moderator.invoke("tweetchat config", options)).message()
    return reply.content


async def test_dm_reminders_reach_interested_and_opted_in_members_once(sandbox, fast_bot):
    sb, bot = sandbox, fast_bot
    assert "5 min before, by DM to members who asked" in await configure(sb, reminder_minutes=5)
    interested, opted, both, closed, nobody = (sb.member(n) for n in CROWD[:5])
    for member in (opted, both, closed):
        reply = await (await member.invoke("reminders", {"turn": "on"})).message()
        assert "Reminders are on" in reply.content
    closed.close_dms()
    chat = await schedule_soon(sb, bot, minutes_ahead=10)
    for member in (interested, both):
        await member.mark_interested(chat.scheduled_event_id)

    await eventually(lambda: reminder_step(bot, sb, chat).state is StepState.POSTED, timeout=30)
    await eventually(lambda: any(a.kind.value == "remind" and a.state == "done"
                                 for a in bot.store.chat_actions(sb.guild_id, chat.id)), timeout=20)
    for member in (interested, opted, both):
        [dm] = member.direct_messages()
        assert dm.embeds[0]["title"].startswith("Starting soon: 50 shades")
        assert f"<t:{int(chat.start_at.timestamp())}:F>" in dm.embeds[0]["description"]
        assert f"/events/{sb.guild_id}/{chat.scheduled_event_id}" in dm.embeds[0]["description"]
    assert closed.direct_messages() == [] and nobody.direct_messages() == []
    outcomes = bot.store.reminders_sent(sb.guild_id, chat.id)
    assert outcomes == {interested.id: "sent", opted.id: "sent", both.id: "sent",
                        closed.id: "dms closed"}
    post = sb.world.message(sb.channel_id, reminder_step(bot, sb, chat).message_id)
    assert post.content == "" and "See the Event" in text_of(post)

    off = await (await opted.invoke("reminders", {"turn": "off"})).message()
    assert "Reminders are off" in off.content
    assert opted.id not in bot.store.reminder_optins(sb.guild_id)
    assert_no_pings_except(sb)


async def test_a_reminder_role_is_pinged_instead_and_nothing_else(sandbox, fast_bot):
    sb, bot = sandbox, fast_bot
    role = sb.world.add_role(sb.guild_id, "chat reminders", 0)
    everyone = await configure(sb, reminder_role=sb.guild_id)
    assert everyone.startswith("⚠️") and "@everyone" in everyone
    assert "pinging" in await configure(sb, reminder_minutes=5, reminder_role=role.id)
    opted = sb.member(CROWD[0])
    reply = await (await opted.invoke("reminders", {"turn": "on"})).message()
    assert f"<@&{role.id}>" in reply.content and "instead of DMs" in reply.content
    chat = await schedule_soon(sb, bot, minutes_ahead=10)
    await eventually(lambda: reminder_step(bot, sb, chat).state is StepState.POSTED, timeout=30)
    post = sb.world.message(sb.channel_id, reminder_step(bot, sb, chat).message_id)
    assert post.content == f"<@&{role.id}>" and post.mention_role_ids == [role.id]
    assert opted.direct_messages() == []
    assert not any(a.kind.value == "remind" for a in bot.store.chat_actions(sb.guild_id, chat.id))
    assert_no_pings_except(sb, role.id)
    assert "by DM to members who asked" in await configure(sb, reminders_by="dm")
