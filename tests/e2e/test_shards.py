"""Two `tweetchat run` processes on one database, one shard each, as TWEETCHAT_SHARDS sets
them: each server's chat is posted once, by the process of its shard; when one process is
killed, the other takes its server's chat over once the lease runs out, and nothing is
posted twice. The sandbox routes each server's gateway events to its shard's connection."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from bot.sandbox import ScriptedMember
from bot.sandbox import permissions as perms
from bot.store import StepState, Store
from e2e.kill_trials import BotProcess, until

SEED = "physiotalk-2016-10-17-professionalism"
SPEED = 60  # the bots' clock; questions 2 minutes apart: the chat takes about 20 s


def shard_of(guild_id: int) -> int:
    return (guild_id >> 22) % 2


def second_server(sb):
    """A second server, in the other shard of two, with a channel and a moderator."""
    world = sb.world
    while True:
        guild = world.create_guild("Second server")
        if shard_of(guild.id) != shard_of(sb.guild_id):
            break
        del world.guilds[guild.id]
    role = world.add_role(guild.id, "Moderator", sb.config.moderator_permissions | perms.USE_APPLICATION_COMMANDS)
    channel = world.add_channel(guild.id, "tweetchat").id
    mod = world.add_member(guild.id, "rosa", role_ids=[role.id], global_name="Rosa")
    return guild.id, channel, ScriptedMember(sb, mod.user.id)


def posted(sb, channel_id: int, chat_id: int) -> list[str]:
    """The footers of the bot's posts of one chat, in the order they were posted."""
    mark = f"chat {chat_id} · "
    return [m.embeds[0]["footer"]["text"] for m in sb.history(channel_id)
            if m.author.id == sb.bot_user_id and m.embeds and mark in m.embeds[0].get("footer", {}).get("text", "")]


async def test_two_processes_share_the_servers_by_shard_and_one_takes_over_when_the_other_dies(sandbox, tmp_path):
    sb = sandbox
    guild2, channel2, rosa = second_server(sb)
    db = tmp_path / "tweetchat.db"
    origin = datetime.now(timezone.utc)
    processes = {}
    for shard in (0, 1):
        process = BotProcess(sb, db, origin, tmp_path / f"shard{shard}.log")
        process.env.pop("TWEETCHAT_DEV_GUILD")  # commands for every server, not one
        process.env["TWEETCHAT_SHARDS"] = f"{shard}/2"
        process.env["TWEETCHAT_CLOCK_SPEED"] = str(SPEED)
        processes[shard] = process
        await process.start()
    try:
        await sb.gateway.wait_for("identify", count=2, timeout=60)

        def bot_now() -> datetime:
            return origin + (datetime.now(timezone.utc) - origin) * SPEED

        start = (bot_now() + timedelta(minutes=7)).replace(second=0, microsecond=0)

        async def schedule(member, channel_id):
            for _ in range(100):  # until the global commands are synced and answered
                try:
                    handle = await member.invoke("tweetchat schedule", {
                        "chat": SEED, "channel": channel_id, "when": start.strftime("%Y-%m-%d %H:%M"),
                        "timezone": "UTC", "interval": 2}, channel_id=channel_id)
                    preview = await handle.message(timeout=5)
                    break
                except Exception:  # noqa: BLE001 - not synced yet
                    await asyncio.sleep(0.3)
            await (await member.press(preview, "tweetchat:confirm")).response(timeout=10)

        await schedule(sb.moderator, sb.channel_id)
        await schedule(rosa, channel2)

        def chats():
            store = Store(db, read_only=True)
            try:
                return {g: store.chats(g) for g in (sb.guild_id, guild2)}
            finally:
                store.close()

        found = await until(lambda: all(chats().values()) and chats(), 30, "both chats in the ledger")
        chat1, chat2 = found[sb.guild_id][0], found[guild2][0]
        await until(lambda: len(posted(sb, sb.channel_id, chat1.id)) >= 2
                    and len(posted(sb, channel2, chat2.id)) >= 2, 60, "intro and Q1 in both servers")

        # The process of the second server's shard dies; the other takes its chat over.
        await processes[shard_of(guild2)].kill()

        def finished(guild_id, chat_id) -> bool:
            store = Store(db, read_only=True)
            try:
                return all(s.state is StepState.POSTED for s in store.steps(guild_id, chat_id))
            finally:
                store.close()

        await until(lambda: finished(guild2, chat2.id) and finished(sb.guild_id, chat1.id), 120,
                    "both chats posted to the end")
        store = Store(db, read_only=True)
        for channel_id, chat in ((sb.channel_id, chat1), (channel2, chat2)):
            footers = posted(sb, channel_id, chat.id)
            steps = store.steps(chat.guild_id, chat.id)
            assert len(footers) == len(set(footers)) == len(steps), footers  # every step once, no more
            assert footers[-1].endswith("Wrap-up")
        store.close()
    finally:
        for process in processes.values():
            await process.stop()
