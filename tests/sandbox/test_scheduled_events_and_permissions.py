"""Guild scheduled events and permissions, seen by discord.py."""

from __future__ import annotations

import datetime as dt

import discord
import pytest
from sandbox_clients import TIMEOUT

from bot.sandbox import APIError
from bot.sandbox import permissions as perms


def soon(minutes: int) -> dt.datetime:
    return discord.utils.utcnow() + dt.timedelta(minutes=minutes)


async def test_scheduled_event_lifecycle(sandbox, client):
    guild = client.get_guild(sandbox.guild_id)
    created_event = client.wait_for("scheduled_event_create", timeout=TIMEOUT)
    event = await guild.create_scheduled_event(
        name="#PhysioChat: privacy",
        description="Monthly tweetchat",
        start_time=soon(60),
        end_time=soon(120),
        entity_type=discord.EntityType.external,
        location="#tweetchat",
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    assert (await created_event).id == event.id
    assert event.name == "#PhysioChat: privacy" and event.location == "#tweetchat"
    assert event.status is discord.EventStatus.scheduled and event.creator_id == sandbox.bot_user_id
    assert abs(event.start_time - soon(60)) < dt.timedelta(seconds=5)

    await sandbox.member("pat").mark_interested(event.id)
    [listed] = await guild.fetch_scheduled_events(with_counts=True)
    assert listed.id == event.id and listed.user_count == 1

    updated = client.wait_for("scheduled_event_update", timeout=TIMEOUT)
    started = await event.start()
    assert started.status is discord.EventStatus.active
    before, after = await updated
    assert after.status is discord.EventStatus.active
    ended = await started.end()
    assert ended.status is discord.EventStatus.completed
    with pytest.raises(discord.HTTPException) as info:
        await ended.edit(status=discord.EventStatus.active)
    assert info.value.code == 50035

    deleted = client.wait_for("scheduled_event_delete", timeout=TIMEOUT)
    await ended.delete()
    assert (await deleted).id == event.id
    assert await guild.fetch_scheduled_events() == []


async def test_voice_event_needs_a_channel_and_times_must_be_future(sandbox, client):
    guild = client.get_guild(sandbox.guild_id)
    voice = guild.get_channel(sandbox.voice_channel_id)
    event = await guild.create_scheduled_event(
        name="Voice debrief", start_time=soon(30), channel=voice, entity_type=discord.EntityType.voice,
        privacy_level=discord.PrivacyLevel.guild_only,
    )
    assert event.channel_id == voice.id and event.entity_type is discord.EntityType.voice
    with pytest.raises(discord.HTTPException) as info:
        await guild.create_scheduled_event(
            name="Yesterday", start_time=soon(-60), end_time=soon(60), entity_type=discord.EntityType.external,
            location="here", privacy_level=discord.PrivacyLevel.guild_only,
        )
    assert info.value.code == 50035 and "scheduled_start_time" in info.value.text


async def test_bot_without_event_permissions_is_refused(sandbox, client):
    sandbox.set_bot_permissions(perms.BOT_DEFAULT & ~perms.MANAGE_EVENTS & ~perms.CREATE_EVENTS)
    await client.wait_for("guild_role_update", timeout=TIMEOUT)
    # @everyone grants Create Events by default, as on Discord; take that away too.
    sandbox.world.update_role(sandbox.guild_id, sandbox.guild_id, permissions=perms.EVERYONE_DEFAULT & ~perms.CREATE_EVENTS)
    await client.wait_for("guild_role_update", timeout=TIMEOUT)
    guild = client.get_guild(sandbox.guild_id)
    assert not guild.me.guild_permissions.manage_events
    with pytest.raises(discord.Forbidden) as info:
        await guild.create_scheduled_event(
            name="Nope", start_time=soon(10), end_time=soon(20), entity_type=discord.EntityType.external,
            location="here", privacy_level=discord.PrivacyLevel.guild_only,
        )
    assert info.value.code == 50013


async def test_channel_permissions_agree_with_discord_py(sandbox, client):
    guild = client.get_guild(sandbox.guild_id)
    await guild.chunk()
    channel = guild.get_channel(sandbox.channel_id)
    for name in ("maya", "pat", "sam"):
        member = guild.get_member(sandbox.member(name).id)
        assert channel.permissions_for(member).value == sandbox.member(name).permissions_in()
    assert channel.permissions_for(guild.me).value == sandbox.world.channel_permissions(channel.id, sandbox.bot_user_id)


async def test_editing_channel_overwrites(sandbox, client):
    guild = client.get_guild(sandbox.guild_id)
    channel = guild.get_channel(sandbox.channel_id)
    await guild.chunk()
    sam = guild.get_member(sandbox.member("sam").id)
    with pytest.raises(discord.Forbidden) as info:  # Manage Roles is not in the bot's defaults
        await channel.set_permissions(sam, send_messages=False)
    assert info.value.code == 50013
    sandbox.set_bot_permissions(perms.BOT_DEFAULT | perms.MANAGE_ROLES)
    await client.wait_for("guild_role_update", timeout=TIMEOUT)
    updated = client.wait_for("guild_channel_update", timeout=TIMEOUT)
    await channel.set_permissions(sam, send_messages=False)
    _, after = await updated
    assert after.overwrites_for(sam).send_messages is False
    with pytest.raises(APIError) as refused:
        await sandbox.member("sam").send("muted")
    assert refused.value.code == 50013
    assert (await sandbox.member("pat").send("not muted")).content == "not muted"
    await channel.set_permissions(sam, overwrite=None)
    assert (await sandbox.member("sam").send("unmuted")).content == "unmuted"


async def test_moderator_may_delete_others_messages_plain_member_may_not(sandbox, client):
    message = await client.get_channel(sandbox.channel_id).send("bot post")
    stored = sandbox.history()[-1]
    with pytest.raises(APIError) as refused:
        await sandbox.member("pat").delete(stored)
    assert refused.value.code == 50013
    deleted = client.wait_for("raw_message_delete", timeout=TIMEOUT)
    await sandbox.moderator.delete(stored)
    assert (await deleted).message_id == message.id


async def test_a_refused_event_edit_changes_nothing(sandbox, client):
    guild = client.get_guild(sandbox.guild_id)
    event = await guild.create_scheduled_event(
        name="Chat", start_time=soon(60), end_time=soon(120), entity_type=discord.EntityType.external,
        location="#tweetchat", privacy_level=discord.PrivacyLevel.guild_only,
    )
    with pytest.raises(discord.HTTPException) as info:
        await event.edit(name="Renamed", end_time=soon(30))  # ends before it starts
    assert info.value.code == 50035 and "scheduled_end_time" in info.value.text
    again = await guild.fetch_scheduled_event(event.id)
    assert again.name == "Chat" and abs(again.end_time - soon(120)) < dt.timedelta(seconds=5)
    assert (await again.start()).status is discord.EventStatus.active
