"""The sandbox's own rules, without discord.py: snowflakes, history windows, permissions,
rate-limit windows."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.sandbox import RateLimits, Rule
from bot.sandbox import permissions as perms
from bot.sandbox import state as st
from bot.sandbox.ratelimit import RateLimiter


def test_snowflakes_use_discords_epoch_and_increase():
    flakes = st.Snowflakes()
    ids = [flakes.next() for _ in range(5000)]
    assert ids == sorted(set(ids))
    assert abs(st.snowflake_time(ids[0]) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=2)
    # Discord's documented example: 175928847299117063 was made at 2016-04-30 11:18:25.796 UTC.
    assert st.snowflake_time(175928847299117063) == dt.datetime(2016, 4, 30, 11, 18, 25, 796000, dt.timezone.utc)


@pytest.fixture
def world_with_messages():
    world = st.World()
    guild = world.create_guild("G")
    channel = world.add_channel(guild.id, "c")
    author = world.add_member(guild.id, "pat").user.id
    ids = [world.create_message(channel.id, author, content=str(n)).id for n in range(10)]
    return world, channel.id, ids


def contents(messages):
    return [m.content for m in messages]


def test_history_windows(world_with_messages):
    world, channel, ids = world_with_messages
    assert contents(world.history(channel, limit=3)) == ["9", "8", "7"]
    assert contents(world.history(channel, limit=3, before=ids[5])) == ["4", "3", "2"]
    assert contents(world.history(channel, limit=3, after=ids[5])) == ["8", "7", "6"]
    assert contents(world.history(channel, limit=4, around=ids[5])) == ["6", "5", "4", "3"]
    assert contents(world.history(channel, limit=3, after=ids[9])) == []
    assert contents(world.history(channel, limit=50, before=ids[0])) == []


def test_permission_overwrite_order():
    everyone, mod, member = 1, 2, 3
    base = perms.VIEW_CHANNEL | perms.SEND_MESSAGES
    overwrites = {
        everyone: (0, 0, perms.SEND_MESSAGES),  # @everyone may not send...
        mod: (0, perms.SEND_MESSAGES, 0),  # ...but moderators may...
        member: (1, 0, perms.SEND_MESSAGES),  # ...except this one member.
    }
    def compute(member_id, roles):
        return perms.apply_overwrites(base, guild_id=everyone, member_id=member_id, member_role_ids=roles,
                                      overwrites=overwrites)
    assert not compute(9, []) & perms.SEND_MESSAGES
    assert compute(9, [mod]) & perms.SEND_MESSAGES
    assert not compute(member, [mod]) & perms.SEND_MESSAGES
    assert perms.apply_overwrites(perms.SEND_MESSAGES, guild_id=1, member_id=9, member_role_ids=[], overwrites={}) == 0
    assert perms.base_permissions(is_owner=False, everyone_permissions=0, role_permissions=[perms.ADMINISTRATOR]) == perms.ALL


def test_rate_limit_windows_with_a_fake_clock():
    now = [100.0]
    limiter = RateLimiter(RateLimits(routes={"R": Rule(2, 1.0)}, threads_per_guild=Rule(1, 10.0),
                                     global_per_second=None), clock=lambda: now[0])
    assert limiter.check("R", "c1").refusal is None
    assert limiter.check("R", "c1").headers["X-RateLimit-Remaining"] == "0"
    refused = limiter.check("R", "c1")
    assert refused.refusal["retry_after"] == 1.0 and refused.headers["X-RateLimit-Scope"] == "user"
    assert limiter.check("R", "c2").refusal is None  # another channel, another bucket
    now[0] += 1.0
    assert limiter.check("R", "c1").refusal is None
    assert limiter.check("T", "c1", guild_id=7, creates_thread=True).refusal is None
    sub = limiter.check("T", "c2", guild_id=7, creates_thread=True)
    assert sub.refusal is not None and sub.headers["X-RateLimit-Scope"] == "shared"
    assert sub.headers["X-RateLimit-Remaining"] != "0"  # the route bucket itself is not spent
