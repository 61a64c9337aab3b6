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

Every threshold and weight of every engine is fitted on the tuning parts only
(``Fused.fit``; ``--fit`` refits ours and prints it beside the bot's constants); the
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

from benchmarks.guidance.evaluate import HELDOUT_PARTS, TUNING_PARTS, Ranked, load, score  # noqa: E402
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
    """Our fusion and abstain rule over any sentence vectors: the model comparison, and the
    fit that chose the bot's constants (``--fit`` prints it). Per entry, question =
    (1 - m) x best title/phrasing similarity + m x their mean; score = question + aw x
    answer similarity + lw x lexical coverage; abstain when the best entry's question
    similarity is under the nearest out-of-scope example's + margin, or its score under
    floor."""

    # The grid searched by fit(); the rule: most right decisions on the tuning parts among
    # the settings that decline at least MIN_ABSTAIN of their out-of-scope questions.
    GRID = dict(mean_share=(0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), answer=(0.25, 0.5, 0.75, 1.0),
                lexical=(0.5, 0.75, 1.0, 1.25), margin=tuple(round(x, 2) for x in np.arange(-0.04, 0.161, 0.02)),
                floor=(0.45, 0.55, 0.65))
    MIN_ABSTAIN = 0.90

    def __init__(self, index: GuidanceIndex, embed, lexical: bool = True) -> None:
        self.index, self.embed, self.lexical = index, embed, lexical
        texts, owners, kinds = entry_texts(index.kb.entries)
        self.matrix = embed(texts)
        self.owners, self.kinds = np.array(owners), np.array(kinds)
        self.scope = embed(list(OUT_OF_SCOPE))
        self.ids = [e.id for e in index.kb.entries]
        self.weights = (engine.QUESTION_MEAN_SHARE, engine.ANSWER_WEIGHT,
                        engine.LEXICAL_WEIGHT if lexical else 0.0, engine.MARGIN, engine.FLOOR)
        self._features: dict[str, tuple] = {}
        n = len(self.ids)
        self._mq, self._ma = np.isin(self.kinds, ("title", "phrasing")), self.kinds == "answer"
        self._count = np.maximum(np.bincount(self.owners[self._mq], minlength=n), 1)

    def features(self, query: str):
        """(best question similarity, mean question similarity, answer similarity, lexical
        coverage) per entry, and the nearest out-of-scope example's similarity."""
        if query not in self._features:
            v = self.embed([query])[0]
            sims = self.matrix @ v
            n = len(self.ids)
            best, total, answer = np.full(n, -1.0), np.zeros(n), np.full(n, -1.0)
            np.maximum.at(best, self.owners[self._mq], sims[self._mq])
            np.add.at(total, self.owners[self._mq], sims[self._mq])
            np.maximum.at(answer, self.owners[self._ma], sims[self._ma])
            cov = np.zeros(n)
            if self.lexical:
                for rowid, (c, *_rest) in self.index._lexical(self.index.terms(query)).items():
                    cov[rowid - 1] = c
            self._features[query] = (best, total / self._count, answer, cov, float((self.scope @ v).max()))
        return self._features[query]

    def search(self, query: str) -> Ranked:
        m, aw, lw, margin, floor = self.weights
        best, mean, a, cov, outside = self.features(query)
        q = (1 - m) * best + m * mean
        s = q + aw * a + lw * cov
        order = np.argsort(-s)
        top = order[0]
        return Ranked([self.ids[i] for i in order[:10]], q[top] - outside < margin or s[top] < floor)

    def fit(self, queries) -> tuple[int, float]:
        """Set the weights by the rule above (or, where no setting declines enough, the one
        with the most right decisions); returns (right decisions, out-of-scope declined)."""
        feats = [self.features(q.text) for q in queries]
        best, mean, ans, cov = (np.stack([f[i] for f in feats]) for i in range(4))
        outside = np.array([f[4] for f in feats])
        inside = np.array([bool(q.expect) for q in queries])
        accepted = np.array([[i in q.expect for i in self.ids] for q in queries])
        rows = np.arange(len(queries))
        found = anyhow = None
        lexical = self.GRID["lexical"] if self.lexical else (0.0,)
        for m in self.GRID["mean_share"]:
            q = (1 - m) * best + m * mean
            for aw, lw in itertools.product(self.GRID["answer"], lexical):
                s = q + aw * ans + lw * cov
                top = s.argmax(1)
                right_entry = accepted[rows, top]
                gap, top_score = q[rows, top] - outside, s[rows, top]
                for margin, floor in itertools.product(self.GRID["margin"], self.GRID["floor"]):
                    abstain = (gap < margin) | (top_score < floor)
                    declined = float(abstain[~inside].mean())
                    right = int((inside & ~abstain & right_entry).sum() + (~inside & abstain).sum())
                    setting = (right, declined, (m, aw, lw, float(margin), floor))
                    if declined >= self.MIN_ABSTAIN and (found is None or right > found[0]):
                        found = setting
                    if anyhow is None or right > anyhow[0]:
                        anyhow = setting
        found = found or anyhow  # a model that cannot decline enough: its most right decisions
        self.weights = found[2]
        return found[0], found[1]


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
    parser.add_argument("--fit", action="store_true",
                        help="only refit the bot's weights on the tuning parts and print them")
    args = parser.parse_args()

    tuning = load(*TUNING_PARTS)
    parts = [(f"tuning ({', '.join(p.stem for p in TUNING_PARTS)})", tuning)]
    if args.fit:
        index = GuidanceIndex(load_knowledge(KNOWLEDGE), vectors_for(KNOWLEDGE))
        fused = Fused(index, index.semantic.encoder.encode)
        right, declined = fused.fit(tuning)
        print(f"fitted on {len(tuning)} tuning queries: mean share, answer, lexical, margin, floor = "
              f"{fused.weights}: {right} right decisions, {declined:.3f} of out-of-scope declined")
        print(f"the bot's constants: {(engine.QUESTION_MEAN_SHARE, engine.ANSWER_WEIGHT, engine.LEXICAL_WEIGHT, engine.MARGIN, engine.FLOOR)}")
        return
    heldout = load(*HELDOUT_PARTS)
    parts.append((f"**held-out** ({', '.join(p.stem for p in HELDOUT_PARTS)})", heldout))
    for name, part in parts:
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

    def fitted(label: str, fused: Fused) -> str:
        m, aw, lw, margin, floor = fused.weights
        return f"{label} (fitted: mean {m}, answer {aw}, lexical {lw}, margin {margin:.2f}, floor {floor})"

    engines: list[tuple[str, object]] = [("ours (MiniLM + lexical)", ours(index))]
    semantic_only = Fused(index, index.semantic.encoder.encode, lexical=False)
    semantic_only.fit(tuning)
    engines.append((fitted("MiniLM alone", semantic_only), semantic_only.search))
    if not args.skip_wordllama:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        embed = wordllama_embed()
        load_wl = time.perf_counter() - start
        wl = Fused(index, embed)
        wl.fit(tuning)
        rss_wl = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
        engines.append((fitted("WordLlama + lexical", wl), wl.search))
        print(f"WordLlama: model load {load_wl * 1e3:.0f} ms, {rss_wl / 1024:.0f} MB more resident")
    engines.append(("previous (lexical, coverage rule)", previous(index)))
    bm25 = BM25(kb)
    bm25.fit(tuning)
    engines.append((f"BM25, T = {bm25.threshold:.2f}", bm25.search))

    print()
    print("| engine | part | hit@1 | hit@3 | MRR@10 | abstain precision | abstain recall | right decisions |")
    print("|---|---|---|---|---|---|---|---|")
    for label, search in engines:
        for part_name, part in parts:
            s = score(search, part)
            print(f"| {label} | {part_name} | {s.hit1:.3f} | {s.hit3:.3f} | {s.mrr:.3f} | "
                  f"{s.abstain_precision:.3f} | {s.abstain_recall:.3f} "
                  f"({s.outside - s.answered_wrongly_out}/{s.outside}) | {s.right_decisions}/{len(part)} |")
    for part_name, part in parts:
        s = score(ours(index), part)
        print(f"ours, {part_name} hit@1 by length: " + ", ".join(f"{k} {v:.3f}" for k, v in s.by_length.items()))

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
