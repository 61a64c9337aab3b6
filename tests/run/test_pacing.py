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

    pacer = Pacer(50, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        await pacer.wait()
    assert slept == pytest.approx([0.02, 0.02, 0.02, 0.02])  # the first goes at once
    now[0] += 10  # after a quiet spell, no debt is carried
    await pacer.wait()
    assert len(slept) == 4 and pacer.waited == pytest.approx(0.08)
    with pytest.raises(ValueError):
        Pacer(0)
