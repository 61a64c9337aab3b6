"""A short sample of the kill trials (tests/e2e/kill_trials.py) on every change: the bot
as a real process, SIGKILLed at random moments during a chat and started again. The
seeds are printed; `TWEETCHAT_TRIAL_SEED` replays one. The long run is documented in the
README ("Exactly once")."""

from __future__ import annotations

import os
import random

from e2e.kill_trials import run_trial

TRIALS = 2


async def test_killed_at_random_the_bot_loses_nothing_and_posts_nothing_twice(tmp_path, capsys):
    first = int(os.environ.get("TWEETCHAT_TRIAL_SEED") or random.randrange(100_000))
    results = []
    for seed in range(first, first + TRIALS):
        results.append(await run_trial(seed, tmp_path, kills=3))
    with capsys.disabled():
        for r in results:
            print(f"\nkill trial {r.line()} (replay: TWEETCHAT_TRIAL_SEED={r.seed})")
    failed = [r for r in results if not r.ok]
    assert not failed, "\n".join(
        f"{r.line()}: {r.__dict__} (log: {tmp_path}/trial-{r.seed}.log)" for r in failed)
    assert all(r.kills == 3 and r.answers > 50 for r in results)
