"""A short sample of the kill trials (tests/e2e/kill_trials.py) on every change: the bot
as a real process, SIGKILLed at random moments during a chat and started again. The
seeds are printed; `TWEETCHAT_TRIAL_SEED` replays one. The long run is documented in the
README ("Exactly once")."""

from __future__ import annotations

import os
import random

import pytest

from e2e.kill_trials import FAULTS, NoSmallDisk, run_trial

# One trial of four kills per change keeps CI under its time budget; the long run is
# `python tests/e2e/kill_trials.py --trials 50 --kills 4` (README, "Exactly once").
TRIALS = 1
KILLS = 4


async def test_killed_at_random_the_bot_loses_nothing_and_posts_nothing_twice(tmp_path, capsys):
    first = int(os.environ.get("TWEETCHAT_TRIAL_SEED") or random.randrange(100_000))
    results = []
    for seed in range(first, first + TRIALS):
        results.append(await run_trial(seed, tmp_path, kills=KILLS))
    with capsys.disabled():
        for r in results:
            print(f"\nkill trial {r.line()} (replay: TWEETCHAT_TRIAL_SEED={r.seed})")
    failed = [r for r in results if not r.ok]
    assert not failed, "\n".join(
        f"{r.line()}: {r.__dict__} (log: {tmp_path}/trial-{r.seed}.log)" for r in failed)
    assert all(r.kills == KILLS and r.answers > 50 for r in results)


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_faults_real_servers_have_lose_nothing(tmp_path, capsys, fault):
    """The bot process through a locked database (10 s, longer than its busy timeout),
    Discord answering 5xx and slowly, and the gateway dropping, refusing a resume and
    invalidating the session: the chat completes, nothing lost or twice, and the bot
    still answers commands at the end."""
    seed = int(os.environ.get("TWEETCHAT_TRIAL_SEED") or random.randrange(100_000))
    try:
        result = await run_trial(seed, tmp_path, kills=0, fault=fault)
    except NoSmallDisk as exc:
        pytest.skip(f"the disk-full trial needs a small tmpfs: {exc}")
    with capsys.disabled():
        print(f"\nfault trial {result.line()}")
    assert result.ok, f"{result.__dict__} (log: {tmp_path}/trial-{seed}.log)"
