"""Scoring a guidance search on a labelled query set (the tuning parts, the held-out part,
the old dev set). Used by ``benchmarks/guidance_search.py`` and by ``tests/guidance``.

A query's ``expect`` lists the entries a careful reader would accept; ``[]`` means out of
scope (the search should abstain). Queries marked ``uncovered`` ask about professional
conduct online that no entry covers: they count as out of scope."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Everything is fitted on the tuning parts; tuning2, 3 and 4 were held-out parts 1, 2 and 3b
# until they had been scored once (their headers say when). The held-out part is scored,
# never tuned on.
TUNING_PARTS = (HERE / "tuning.toml", HERE / "tuning2.toml", HERE / "tuning3.toml",
                HERE / "tuning4.toml")
# Held-out part 4, written by a helper for the refit of 2026-12-03 in UK and Irish voices.
HELDOUT_PARTS = (HERE / "heldout4.toml",)
DEPTH = 10


@dataclass
class Ranked:
    ids: list[str]  # best first, up to DEPTH
    abstained: bool


@dataclass
class Query:
    text: str
    expect: frozenset[str]
    length: str = ""
    voice: str = ""


@dataclass
class Score:
    hit1: float
    hit3: float
    mrr: float
    abstain_precision: float
    abstain_recall: float
    answered_wrongly_out: int  # out-of-scope queries answered
    inside: int
    outside: int
    right_decisions: int  # in scope with the right entry first, plus out of scope abstained
    misses: list[tuple[Query, Ranked]] = field(default_factory=list)
    by_length: dict[str, float] = field(default_factory=dict)  # hit@1 per length

    def line(self) -> str:
        return (f"hit@1 {self.hit1:.3f}  hit@3 {self.hit3:.3f}  MRR {self.mrr:.3f}  "
                f"abstain P {self.abstain_precision:.3f} R {self.abstain_recall:.3f}  "
                f"right {self.right_decisions}/{self.inside + self.outside}")


def load(*paths: Path) -> list[Query]:
    """The queries of one or more parts, in order."""
    out = []
    for path in paths:
        out.extend(_load(path))
    return out


def _load(path: Path) -> list[Query]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for q in data["queries"]:
        expect = q["expect"]
        expect = [expect] if isinstance(expect, str) else list(expect)
        out.append(Query(q["query"], frozenset(e for e in expect if e), q.get("length", ""), q.get("voice", "")))
    return out


def score(search: Callable[[str], Ranked], queries: list[Query]) -> Score:
    inside = [q for q in queries if q.expect]
    outside = [q for q in queries if not q.expect]
    hit1 = hit3 = rr = 0.0
    abstained_in = abstained_out = 0
    misses = []
    by_len: dict[str, list[int]] = {}
    for q in inside:
        r = search(q.text)
        ids = [] if r.abstained else r.ids
        abstained_in += r.abstained
        first = bool(ids[:1]) and ids[0] in q.expect
        hit1 += first
        hit3 += any(i in q.expect for i in ids[:3])
        rank = next((n for n, i in enumerate(ids[:DEPTH], 1) if i in q.expect), None)
        rr += 1 / rank if rank else 0.0
        by_len.setdefault(q.length, []).append(first)
        if not first:
            misses.append((q, r))
    for q in outside:
        r = search(q.text)
        abstained_out += r.abstained
        if not r.abstained:
            misses.append((q, r))
    abstained = abstained_in + abstained_out
    return Score(
        hit1 / len(inside), hit3 / len(inside), rr / len(inside),
        abstained_out / abstained if abstained else float("nan"),
        abstained_out / len(outside) if outside else float("nan"),
        len(outside) - abstained_out, len(inside), len(outside), int(hit1) + abstained_out, misses,
        {k: sum(v) / len(v) for k, v in sorted(by_len.items())},
    )
