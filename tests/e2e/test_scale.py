"""Many chats at the same minute, as 8pm brings them: the dispatcher posts for different
chats at once, each chat's steps in order, and the bot keeps under Discord's global rate
limit by itself (no global 429) while the sandbox enforces Discord-like limits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.run.dispatcher import ScaledClock
from bot.sandbox import RateLimits, SandboxConfig
from bot.store import StepState
from e2e.conftest import eventually, running_bot

SEED = "physiotalk-2016-10-17-professionalism"
CHATS = 24
SPEED = 30


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(heartbeat_interval_ms=5000, rate_limits=RateLimits.discord_like())


async def test_chats_starting_together_post_at_once_in_order_and_never_hit_the_global_limit(sandbox, tmp_path):
    sb = sandbox
    channels = [sb.add_channel(f"chat-{i:02d}") for i in range(CHATS)]
    async with running_bot(sb, tmp_path / "tweetchat.db", clock=ScaledClock(SPEED)) as bot:
        start = (bot.now() + timedelta(minutes=6)).replace(second=0, microsecond=0)

        async def schedule(channel_id: int) -> None:
            handle = await sb.moderator.invoke("tweetchat schedule", {
                "chat": SEED, "channel": channel_id, "when": start.strftime("%Y-%m-%d %H:%M"),
                "timezone": "UTC"}, channel_id=channel_id)
            preview = await handle.message(timeout=10)
            await (await sb.moderator.press(preview, "tweetchat:confirm")).response(timeout=10)

        # One moderator schedules a chat in each channel, all for the same minute.
        await asyncio.gather(*(schedule(c) for c in channels))
        chats = await eventually(lambda: len(bot.store.chats(sb.guild_id)) == CHATS and bot.store.chats(sb.guild_id))
        assert {c.start_at for c in chats} == {start}

        def q1_threads_open() -> bool:
            return all(bot.store.steps(sb.guild_id, c.id)[1].thread_id for c in chats)

        await eventually(q1_threads_open, timeout=60)
        for chat in chats:
            ledger = bot.store.steps(sb.guild_id, chat.id)
            intro, q1 = ledger[0], ledger[1]
            assert intro.state is StepState.POSTED and q1.state is StepState.POSTED
            assert intro.message_id < q1.message_id
            posted = [m for m in sb.history(chat.channel_id) if m.author.id == sb.bot_user_id
                      and m.embeds and "chat %d ·" % chat.id in m.embeds[0].get("footer", {}).get("text", "")]
            assert [m.id for m in posted][:2] == [intro.message_id, q1.message_id]  # once each, in order
        assert not [r for r in sb.rate_limiter.refusals if r[1] == "global"], sb.rate_limiter.refusals
        assert bot.pacer.waited > 0  # it held requests back: without it, global 429s (tried)
