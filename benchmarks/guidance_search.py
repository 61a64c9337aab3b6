"""Quality and cost of the /guidance search, on the tuning and the held-out parts of the
evaluation set, beside the previous engine, plain BM25 and a second embedding model.

Engines (all over ``data/guidance.toml``):

* ours: :class:`bot.guidance.GuidanceIndex` as the bot uses it (all-MiniLM-L6-v2 fused
  with the lexical ranker, abstaining by the out-of-scope margin);
* MiniLM alone: the same vectors and abstain rule without the lexical part;
* WordLlama: the same fusion and rule with wordllama's l2_supercat 256-d vectors (MIT,
  weights in its wheel) instead of MiniLM, its weights and margin fitted on the tuning
  part the same way (``--skip-wordllama`` if it is not installed);
* previous: the lexical engine with the coverage abstain rule it had before (coverage
  0.38, evidence 2.5, two matched words);
* BM25: ``rank_bm25.BM25Okapi`` over each entry's text, abstaining under a threshold
  fitted on the tuning part (most right decisions).

Every threshold and weight of every engine is fitted on ``tuning.toml`` only; the
held-out part is scored, never looked at. Costs: query latency, index build (with and
without the vector cache), resident memory after loading, and the CLI's cold start,
each beside an anchor measured in the same run (``python -c pass``).

    .venv/bin/pip install -e '.[bench]' && .venv/bin/pip install wordllama
    .venv/bin/python benchmarks/guidance_search.py
"""

from __future__ import annotations

import argparse
import itertools
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.guidance.evaluate import HELDOUT, HERE, TUNING, Ranked, load, score  # noqa: E402
from bot.guidance import GuidanceIndex, load_knowledge, vectors_for  # noqa: E402
import bot.guidance._index as engine  # noqa: E402
from bot.guidance._scope import OUT_OF_SCOPE  # noqa: E402
from bot.guidance._semantic import entry_texts  # noqa: E402

KNOWLEDGE = REPO / "data" / "guidance.toml"


def ours(index: GuidanceIndex):
    def search(query: str) -> Ranked:
        r = index.search(query, top=10)
        return Ranked([h.entry.id for h in r.results], r.abstained)
    return search


def previous(index: GuidanceIndex):
    """The lexical engine with the abstain rule it had before this change."""
    def search(query: str) -> Ranked:
        terms = index.terms(query)
        if not terms:
            return Ranked([], True)
        lexical = index._lexical(terms)
        ids = [e.id for e in index.kb.entries]
        rows = sorted(lexical.items(), key=lambda kv: (round(kv[1][0], 2), kv[1][1]), reverse=True)
        if not rows:
            return Ranked([], True)
        coverage, _, evidence, matched = rows[0][1]
        platform = sum(engine._is_platform(t) for t in terms)
        needed = min(2, len(terms) - platform)
        abstain = coverage < 0.38 or evidence < 2.5 or matched < needed
        return Ranked([ids[r - 1] for r, _ in rows[:10]], abstain)
    return search


class Fused:
    """Our fusion and abstain rule over any sentence vectors (for the model comparison)."""

    def __init__(self, index: GuidanceIndex, embed, lexical: bool = True) -> None:
        self.index, self.embed, self.lexical = index, embed, lexical
        texts, owners, kinds = entry_texts(index.kb.entries)
        self.matrix = embed(texts)
        self.owners, self.kinds = np.array(owners), np.array(kinds)
        self.scope = embed(list(OUT_OF_SCOPE))
        self.ids = [e.id for e in index.kb.entries]
        self.weights = (engine.ANSWER_WEIGHT, engine.LEXICAL_WEIGHT if lexical else 0.0, engine.MARGIN)
        self._features: dict[str, tuple] = {}

    def features(self, query: str):
        if query not in self._features:
            v = self.embed([query])[0]
            sims = self.matrix @ v
            n = len(self.ids)
            q = np.full(n, -1.0)
            a = np.full(n, -1.0)
            mq, ma = np.isin(self.kinds, ("title", "phrasing")), self.kinds == "answer"
            np.maximum.at(q, self.owners[mq], sims[mq])
            np.maximum.at(a, self.owners[ma], sims[ma])
            cov = np.zeros(n)
            for rowid, (c, *_rest) in self.index._lexical(self.index.terms(query)).items():
                cov[rowid - 1] = c
            self._features[query] = (q, a, cov, float((self.scope @ v).max()))
        return self._features[query]

    def search(self, query: str) -> Ranked:
        aw, lw, margin = self.weights
        q, a, cov, outside = self.features(query)
        s = q + aw * a + lw * cov
        order = np.argsort(-s)
        top = order[0]
        return Ranked([self.ids[i] for i in order[:10]], q[top] - outside < margin or s[top] < engine.FLOOR)

    def fit(self, queries) -> None:
        """The weights and margin with the most right decisions on the tuning part."""
        best = None
        for aw, lw, margin in itertools.product((0.25, 0.5, 0.75), (0.5, 0.8, 1.0, 1.2) if self.lexical else (0.0,),
                                                np.arange(-0.1, 0.21, 0.02)):
            self.weights = (aw, lw, float(margin))
            right = score(self.search, queries).right_decisions
            if best is None or right > best[0]:
                best = (right, self.weights)
        self.weights = best[1]


class BM25:
    def __init__(self, kb) -> None:
        from rank_bm25 import BM25Okapi

        self.ids = [e.id for e in kb.entries]
        self.bm25 = BM25Okapi([tokens(" ".join((e.title, *e.phrasings, e.answer, *e.do, *e.dont)))
                               for e in kb.entries])
        self.threshold = 0.0

    def search(self, query: str) -> Ranked:
        ranked = sorted(zip(self.bm25.get_scores(tokens(query)), self.ids), reverse=True)[:10]
        return Ranked([i for _, i in ranked], not ranked or ranked[0][0] < self.threshold)

    def fit(self, queries) -> None:
        tops = sorted({sorted(self.bm25.get_scores(tokens(q.text)))[-1] + 1e-6 for q in queries} | {0.0})
        best = None
        for t in tops:
            self.threshold = t
            right = score(self.search, queries).right_decisions
            if best is None or right > best[0]:
                best = (right, t)
        self.threshold = best[1]


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def wordllama_embed():
    import wordllama
    from wordllama import WordLlama

    model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    return lambda texts: np.asarray(model.embed(list(texts), norm=True), dtype=np.float32)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-wordllama", action="store_true")
    parser.add_argument("--cli-runs", type=int, default=7)
    args = parser.parse_args()

    tuning, heldout, heldout2 = load(TUNING), load(HELDOUT), load(HERE / "heldout2.toml")
    for name, part in (("tuning", tuning), ("held-out", heldout), ("held-out 2", heldout2)):
        inside = sum(1 for q in part if q.expect)
        print(f"{name}: {len(part)} queries, {inside} in scope, {len(part) - inside} out of scope")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    kb = load_knowledge(KNOWLEDGE)
    index = GuidanceIndex(kb, vectors_for(KNOWLEDGE))
    build_cached = time.perf_counter() - start
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    with tempfile.TemporaryDirectory() as tmp:
        import bot.guidance._semantic as semantic

        shared, semantic.SHARED_CACHES = semantic.SHARED_CACHES, []
        start = time.perf_counter()
        GuidanceIndex(kb, Path(tmp) / "v.npz")
        build_cold = time.perf_counter() - start
        semantic.SHARED_CACHES = shared
    print(f"{len(kb.entries)} entries; index build {build_cached * 1e3:.0f} ms with the vector cache, "
          f"{build_cold:.1f} s without; encoder and index add {rss_ours / 1024:.0f} MB resident")

    engines: list[tuple[str, object]] = [("ours (MiniLM + lexical)", ours(index))]
    semantic_only = Fused(index, index.semantic.encoder.encode, lexical=False)
    semantic_only.fit(tuning)
    engines.append((f"MiniLM alone (answer weight {semantic_only.weights[0]}, margin {semantic_only.weights[2]:.2f})",
                    semantic_only.search))
    if not args.skip_wordllama:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        embed = wordllama_embed()
        load_wl = time.perf_counter() - start
        wl = Fused(index, embed)
        wl.fit(tuning)
        rss_wl = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
        aw, lw, margin = wl.weights
        engines.append((f"WordLlama + lexical (fitted: {aw}, {lw}, margin {margin:.2f})", wl.search))
        print(f"WordLlama: model load {load_wl * 1e3:.0f} ms, {rss_wl / 1024:.0f} MB more resident")
    engines.append(("previous (lexical, coverage rule)", previous(index)))
    bm25 = BM25(kb)
    bm25.fit(tuning)
    engines.append((f"BM25, T = {bm25.threshold:.2f}", bm25.search))

    print()
    print("| engine | part | hit@1 | hit@3 | MRR@10 | abstain precision | abstain recall | right decisions |")
    print("|---|---|---|---|---|---|---|---|")
    for label, search in engines:
        for part_name, part in (("tuning", tuning), ("held-out", heldout), ("held-out 2", heldout2)):
            s = score(search, part)
            print(f"| {label} | {part_name} | {s.hit1:.3f} | {s.hit3:.3f} | {s.mrr:.3f} | "
                  f"{s.abstain_precision:.3f} | {s.abstain_recall:.3f} "
                  f"({s.outside - s.answered_wrongly_out}/{s.outside}) | {s.right_decisions}/{len(part)} |")
    s = score(ours(index), heldout)
    print(f"\nours, held-out hit@1 by length: " + ", ".join(f"{k} {v:.3f}" for k, v in s.by_length.items()))

    texts = [q.text for q in tuning + heldout]
    times = []
    for text in texts:
        start = time.perf_counter()
        index.search(text)
        times.append((time.perf_counter() - start) * 1e3)
    print(f"ours, query latency over {len(texts)} queries: p50 {percentile(times, 50):.1f} ms, "
          f"p99 {percentile(times, 99):.1f} ms")

    anchor = seconds([sys.executable, "-c", "pass"], args.cli_runs)
    cli = seconds([sys.executable, "-m", "bot", "guidance", "can I accept a friend request from a patient"],
                  args.cli_runs)
    print(f"CLI cold start: {cli:.2f} s, {cli / anchor:.1f}x `python -c pass` ({anchor * 1e3:.0f} ms) "
          f"in the same run (median of {args.cli_runs})")
    model = sum(p.stat().st_size for p in (REPO / "bot" / "guidance" / "model").iterdir())
    print(f"installed model: {model / 1e6:.1f} MB (MiniLM int8 + tokenizer)")


if __name__ == "__main__":
    main()
