"""Quality and speed of the /guidance search on the development set, beside plain BM25.

Both engines answer every query in ``tests/guidance/dev_set.toml`` against
``data/guidance.toml``:

* ours: :class:`bot.guidance.GuidanceIndex` as the bot uses it;
* baseline: ``rank_bm25.BM25Okapi`` (k1 = 1.5, b = 0.75) over one document per entry
  (title, phrasings, answer, do and don't points), lower-cased words, no stemming,
  stopwords or synonyms. It abstains when its best score is under a threshold, tuned on
  the same set in two ways: the lowest threshold at which every out-of-scope query
  abstains (ours is held to that), and the one that makes the most right decisions
  (in-scope answered with the entry in the top 3, plus out-of-scope abstained).

Quality: hit@1 and hit@3 over in-scope queries (an abstention is a miss), MRR over the
first 10 results, abstain precision (of the queries that abstained, the share that were
out of scope) and recall (of the out-of-scope queries, the share that abstained).
Speed: per-query latency over all dev queries, on a fresh index (first pass: nothing
cached yet) and warm (``--passes`` more passes); index build time, median of ``--builds``.

    .venv/bin/python benchmarks/guidance_search.py
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rank_bm25 import BM25Okapi  # noqa: E402

from bot.guidance import GuidanceIndex, KnowledgeBase, load_knowledge  # noqa: E402
from bot.guidance._query import _english  # noqa: E402

KNOWLEDGE = REPO / "data" / "guidance.toml"
DEV_SET = REPO / "tests" / "guidance" / "dev_set.toml"
DEPTH = 10  # results looked at for MRR


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Ranked:
    ids: list[str]  # best first, up to DEPTH
    abstained: bool


class Baseline:
    """Plain BM25 over each entry's whole text; abstains under `threshold`."""

    def __init__(self, kb: KnowledgeBase, threshold: float = 0.0) -> None:
        self.ids = [e.id for e in kb.entries]
        self.bm25 = BM25Okapi([tokens(" ".join((e.title, *e.phrasings, e.answer, *e.do, *e.dont)))
                               for e in kb.entries])
        self.threshold = threshold

    def scores(self, query: str) -> list[tuple[float, str]]:
        return sorted(zip(self.bm25.get_scores(tokens(query)), self.ids), reverse=True)

    def search(self, query: str) -> Ranked:
        ranked = self.scores(query)[:DEPTH]
        return Ranked([i for _, i in ranked], not ranked or ranked[0][0] < self.threshold)


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def ours(index: GuidanceIndex) -> Callable[[str], Ranked]:
    def search(query: str) -> Ranked:
        result = index.search(query, top=DEPTH)
        return Ranked([h.entry.id for h in result.results], result.abstained)
    return search


def quality(search: Callable[[str], Ranked], queries: list[dict]) -> dict[str, float]:
    inside = [q for q in queries if q["expect"]]
    outside = [q for q in queries if not q["expect"]]
    hit1 = hit3 = rr = 0.0
    abstained_in = abstained_out = 0
    for q in inside:
        r = search(q["query"])
        ids = [] if r.abstained else r.ids
        abstained_in += r.abstained
        hit1 += ids[:1] == [q["expect"]]
        hit3 += q["expect"] in ids[:3]
        rr += 1 / (ids.index(q["expect"]) + 1) if q["expect"] in ids else 0.0
    for q in outside:
        abstained_out += search(q["query"]).abstained
    abstained = abstained_in + abstained_out
    return {
        "hit@1": hit1 / len(inside), "hit@3": hit3 / len(inside), "mrr": rr / len(inside),
        "abstain_precision": abstained_out / abstained if abstained else float("nan"),
        "abstain_recall": abstained_out / len(outside),
        "hits3": int(hit3), "inside": len(inside), "out_abstained": abstained_out,
        "outside": len(outside),
    }


def tune_baseline(kb: KnowledgeBase, queries: list[dict]) -> tuple[float, float]:
    """(lowest threshold at which every out-of-scope query abstains, threshold with the
    most right decisions). Candidates sit just above each query's own top score."""
    base = Baseline(kb)
    seen = []  # (top score, top 3 ids, expected id) per query
    for q in queries:
        ranked = base.scores(q["query"])
        seen.append((ranked[0][0], [i for _, i in ranked[:3]], q["expect"]))
    candidates = sorted({0.0} | {top + 1e-6 for top, _, _ in seen})
    all_out = next(t for t in candidates
                   if all(top < t for top, _, expect in seen if not expect))

    def right(t: float) -> int:
        return sum((top >= t and expect in ids) if expect else top < t
                   for top, ids, expect in seen)
    best = max(candidates, key=lambda t: (right(t), -t))
    return all_out, best


def latency(search: Callable[[str], object], queries: list[str], passes: int) -> list[float]:
    times = []
    for _ in range(passes):
        for q in queries:
            start = time.perf_counter_ns()
            search(q)
            times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def build_ms(make: Callable[[], object], builds: int) -> float:
    times = []
    for _ in range(builds):
        start = time.perf_counter_ns()
        make()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20, help="warm passes over the dev set")
    parser.add_argument("--builds", type=int, default=9, help="index builds to time")
    args = parser.parse_args()

    kb = load_knowledge(KNOWLEDGE)
    queries = tomllib.loads(DEV_SET.read_text(encoding="utf-8"))["queries"]
    texts = [q["query"] for q in queries]
    inside = sum(1 for q in queries if q["expect"])
    print(f"{len(kb.entries)} entries; {len(queries)} dev queries "
          f"({inside} in scope, {len(queries) - inside} out of scope)")
    print(f"Python {platform.python_version()}, {platform.machine()}")

    start = time.perf_counter()
    _english()  # loaded once per process, on the first query with an unknown word
    loaded_ms = (time.perf_counter() - start) * 1e3
    print(f"English word list load (once per process): {loaded_ms:.0f} ms")

    index = GuidanceIndex(kb)
    cold = latency(index.search, texts, 1)
    warm = latency(index.search, texts, args.passes)
    all_out, best = tune_baseline(kb, queries)
    rows = [("ours", quality(ours(GuidanceIndex(kb)), queries), cold, warm,
             build_ms(lambda: GuidanceIndex(kb), args.builds))]
    for label, threshold in ((f"BM25, T={all_out:.2f} (all out-of-scope abstain)", all_out),
                             (f"BM25, T={best:.2f} (most right decisions)", best)):
        base = Baseline(kb, threshold)
        base_cold = latency(base.search, texts, 1)
        rows.append((label, quality(base.search, queries), base_cold,
                     latency(base.search, texts, args.passes),
                     build_ms(lambda: Baseline(kb, threshold), args.builds)))

    print()
    print("| engine | hit@1 | hit@3 | MRR@10 | abstain precision | abstain recall "
          "| first pass p50 / p99 | warm p50 / p99 | build |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, m, c, w, b in rows:
        print(f"| {label} | {m['hit@1']:.3f} | {m['hit@3']:.3f} ({m['hits3']}/{m['inside']}) "
              f"| {m['mrr']:.3f} | {m['abstain_precision']:.3f} "
              f"| {m['abstain_recall']:.3f} ({m['out_abstained']}/{m['outside']}) "
              f"| {percentile(c, 50):.2f} / {percentile(c, 99):.2f} ms "
              f"| {percentile(w, 50):.3f} / {percentile(w, 99):.3f} ms | {b:.1f} ms |")


if __name__ == "__main__":
    main()
