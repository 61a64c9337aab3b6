"""The confidentiality nudge on its labelled set: precision and recall on the tuning part
(what the rules were written and weighed on) and the held-out part (written separately,
never tuned on), with each miss listed for the tuning part only.

    python benchmarks/nudge.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.nudge import assess  # noqa: E402

HERE = REPO / "benchmarks" / "nudge"
TUNING, HELDOUT = HERE / "tuning.toml", HERE / "heldout.toml"


def load(path: Path) -> list[dict]:
    return tomllib.loads(path.read_text(encoding="utf-8"))["messages"]


def evaluate(messages: list[dict]) -> dict:
    tp = fp = fn = tn = 0
    wrong = []
    for m in messages:
        got = assess(m["text"], (m["attachment"],) if m.get("attachment") else ()).nudge
        if got and m["nudge"]:
            tp += 1
        elif got:
            fp += 1
            wrong.append(("nudged, should not", m))
        elif m["nudge"]:
            fn += 1
            wrong.append(("missed", m))
        else:
            tn += 1
    return {"n": len(messages), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "wrong": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the tuning part's mistakes")
    args = parser.parse_args()
    print("| part | messages | should nudge | precision | recall | false nudges | missed |")
    print("|---|---|---|---|---|---|---|")
    parts = [("tuning", load(TUNING))]
    if not args.misses:
        parts.append(("**held-out**", load(HELDOUT)))
    for name, messages in parts:
        r = evaluate(messages)
        print(f"| {name} | {r['n']} | {r['tp'] + r['fn']} | {r['precision']:.3f} | {r['recall']:.3f} "
              f"| {r['fp']} | {r['fn']} |")
        if args.misses and name == "tuning":
            for kind, m in r["wrong"]:
                v = assess(m["text"], (m["attachment"],) if m.get("attachment") else ())
                print(f"  {kind} ({v.score}): {m['text'][:150]!r} [{m.get('attachment', '')}] — {m['why']}")
    # Cost: an anchor (a regex over the same text) measured in the same run.
    texts = [m["text"] for _, ms in parts for m in ms]
    start = time.perf_counter()
    for _ in range(20):
        for t in texts:
            assess(t)
    ours = (time.perf_counter() - start) / (20 * len(texts))
    start = time.perf_counter()
    for _ in range(20):
        for t in texts:
            t.lower().split()
    anchor = (time.perf_counter() - start) / (20 * len(texts))
    print(f"\n{ours * 1e6:.0f} µs per answer, {ours / anchor:.0f}× lower-casing and splitting it")


if __name__ == "__main__":
    main()
