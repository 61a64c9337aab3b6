"""Pacing requests under Discord's global rate limit, with a fake clock."""

from __future__ import annotations

import pytest

from bot.run.pacing import Pacer


async def test_the_pacer_spaces_requests_under_the_global_limit():
    now = [100.0]
    slept = []

    async def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(50, catch_up=0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        await pacer.wait()
    assert slept == pytest.approx([0.02, 0.02, 0.02, 0.02])  # the first goes at once
    now[0] += 10  # after a quiet spell, no debt is carried
    await pacer.wait()
    assert len(slept) == 4 and pacer.waited == pytest.approx(0.08)
    with pytest.raises(ValueError):
        Pacer(0)


async def test_after_a_stall_waiting_requests_do_not_leave_in_a_burst():
    import asyncio

    now = [0.0]
    released = []

    async def sleep(seconds):
        now[0] += seconds + (0.2 if not released else 0)  # the loop stalls once, for 200 ms
        await asyncio.sleep(0)

    pacer = Pacer(50, catch_up=2, clock=lambda: now[0], sleep=sleep)

    async def request():
        await pacer.wait()
        released.append(now[0])

    await request()
    await asyncio.gather(*(request() for _ in range(6)))
    # However the stall fell, no second holds more than 50 (the rate) + 2 (the catch-up).
    for i, at in enumerate(released):
        assert sum(1 for t in released[i:] if t < at + 1.0) <= 52
    gaps = [b - a for a, b in zip(released, released[1:])]
    assert sum(1 for gap in gaps if gap < 0.02 - 1e-9) <= 2, gaps  # at most the catch-up at once
