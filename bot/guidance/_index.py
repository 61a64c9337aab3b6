"""The search index: sentence vectors of the entries (all-MiniLM-L6-v2, `_semantic`)
fused with SQLite FTS5 over their words (Porter stemming, BM25 with per-field weights,
coverage of the query's weighted words), ranking and the abstain rule."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import sqlite3

from pathlib import Path

from bot.guidance._knowledge import Entry, KnowledgeBase
from bot.guidance._scope import OUT_OF_SCOPE
from bot.guidance._semantic import EntryVectors, cached_vectors
from bot.guidance._query import (
    _PHRASES, STOPWORDS, SYNONYMS, Term, _alternatives, _dictionary_fix, _flat, _Speller, words,
)



@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float  # the fused score that ranks entries (see GuidanceIndex.search)
    rank_score: float = 0.0  # BM25 from FTS5, higher is better (0: no word in common)
    evidence: float = 0.0  # the summed weight of the query words it covers
    matched: int = 0  # how many of the query's words it contains, platform names aside
    coverage: float = 0.0  # 0..1: how much of the query it covers, weighted by rarity
    similarity: float = 0.0  # cosine of the query with its closest title or phrasing
    margin: float = 0.0  # that similarity less the query's closest out-of-scope example


@dataclass(frozen=True)
class SearchResult:
    query: str
    abstained: bool
    results: list[Hit]
    suggestions: list[Hit] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The shape `tweetchat guidance --json` prints."""
        def entry_json(hit: Hit) -> dict[str, Any]:
            e = hit.entry
            return {
                "id": e.id, "title": e.title, "score": round(hit.score, 4), "answer": e.answer,
                "points": {"do": list(e.do), "dont": list(e.dont)},
                "differences": e.differences,
                "jurisdictions": list(e.jurisdictions),
                "last_reviewed": e.last_reviewed.isoformat(),
                "sources": [{"publisher": s.publisher, "title": s.document, "year": s.year,
                             "url": s.url, "section": s.section} for s in e.sources],
            }
        return {
            "query": self.query,
            "abstained": self.abstained,
            "results": [entry_json(h) for h in self.results],
            "suggestions": [{"id": h.entry.id, "title": h.entry.title, "score": round(h.score, 4)}
                            for h in self.suggestions],
        }


# Column weights for FTS5's bm25(): title, phrasings, answer, points, topic.
WEIGHTS = (4.0, 3.0, 1.0, 1.0, 2.0)
# The fused score: question similarity + ANSWER_WEIGHT x answer similarity + LEXICAL_WEIGHT
# x lexical coverage. It answers when the best entry is nearer to the query than the
# nearest out-of-scope example by MARGIN, and its fused score reaches FLOOR. Further
# results are shown only as real candidates: within CANDIDATE_SHARE of the best score
# and past the margin themselves (a negative margin answers when the best entry is at
# most that much further than the nearest out-of-scope example). All fitted on the tuning
# parts (benchmarks/guidance/tuning*.toml) by `benchmarks/guidance_search.py --fit`, never
# on the held-out part.
ANSWER_WEIGHT = 0.5
QUESTION_MEAN_SHARE = 0.7  # question similarity: 0.3 x the best phrasing + 0.7 x their mean
LEXICAL_WEIGHT = 0.75
MARGIN = -0.04
FLOOR = 0.55
CANDIDATE_SHARE = 0.85
# A related-guidance line under a chat question is shown unasked, so the bar is higher:
# a question this close to an entry's own wording (set by hand, not fitted).
SURE_SIMILARITY = 0.80
SURE_MARGIN = 0.40
CORRECTED_WEIGHT = 0.8  # a word we had to correct counts for a little less
WEAK_MATCH = 0.4  # a word that is only a detail of an entry (see _credit) counts for less
UNKNOWN_WEIGHT = 2.0  # weight of a query word that no entry contains
MATCH_CACHE_SIZE = 20_000  # FTS lookups remembered per index
# Platform names say where, not what: every entry applies on every platform, and a
# platform's name is in the phrasings of a third of them ("matched" leaves them out).
PLATFORMS = frozenset("facebook fb instagram insta ig twitter tiktok linkedin snapchat snap "
                      "youtube reddit bluesky mastodon discord".split()) | {"social media"}


def _is_platform(term: Term) -> bool:
    return set(term.forms()) <= PLATFORMS


def _subject(e: Entry) -> str:
    """The entry's topic and id: the curator's own names for what it is about
    ("clinical-advice-strangers"), indexed with the title."""
    return f"{e.topic} {e.id}".replace("-", " ")


def _credit(kinds: list[str]) -> float:
    """How much a query word counts for an entry, from the kinds of passage of it that
    contain the word: fully when it names the entry's subject (title, topic or id) or
    recurs (a phrasing and somewhere else), WEAK_MATCH when it is in one place only. A
    phrasing is an example of how people ask, so a word in just one of them ("brand sent
    me a free massage gun") is a detail of that example, not what the entry is about."""
    if "title" in kinds or "topic" in kinds or ("phrasing" in kinds and len(kinds) >= 2):
        return 1.0
    return WEAK_MATCH


class GuidanceIndex:
    """A searchable index over one knowledge base (in-memory SQLite FTS5)."""

    def __init__(self, kb: KnowledgeBase, vectors_cache: Path | None = None) -> None:
        """:param vectors_cache: an .npz file keeping the entries' sentence vectors between
        starts (written when it can be; only new or changed passages are encoded)."""
        self.kb = kb
        self.semantic = EntryVectors(kb.entries, vectors_cache)
        self._scope = cached_vectors(OUT_OF_SCOPE, vectors_cache and vectors_cache.with_name(
            vectors_cache.stem + ".scope.npz"), self.semantic.encoder)
        # Plain sqlite3 (FTS5 is built in): the CLI answers without importing more.
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        rows = []
        vocabulary: dict[str, int] = {}
        for rowid, e in enumerate(kb.entries, 1):
            doc = {
                "rowid": rowid,
                "title": " ".join(words(e.title)),
                "phrasings": " ".join(words(" . ".join(e.phrasings))),
                "answer": " ".join(words(e.answer + " " + (e.differences or ""))),
                "points": " ".join(words(" . ".join(e.do + e.dont))),
                "topic": " ".join(words(_subject(e))),
            }
            for text in list(doc.values())[1:]:
                for w in text.split():
                    vocabulary[w] = vocabulary.get(w, 0) + 1
            rows.append(doc)
        columns = ("title", "phrasings", "answer", "points", "topic")
        self.db.execute(f"CREATE VIRTUAL TABLE entries_fts USING fts5({', '.join(columns)}, "
                        "tokenize='porter unicode61')")
        self.db.executemany(f"INSERT INTO entries_fts(rowid, {', '.join(columns)}) VALUES (?, ?, ?, ?, ?, ?)",
                            [(r["rowid"], *(r[c] for c in columns)) for r in rows])
        # The same text again, one row per title, phrasing, answer and point, so that a
        # word's strength in an entry can depend on how many places it appears in.
        self._passages: list[tuple[int, str]] = [(0, "")]  # passage rowid -> (entry, kind)
        passage_rows = []
        for rowid, e in enumerate(kb.entries, 1):
            for kind, text in [("title", e.title), ("topic", _subject(e)),
                               ("answer", e.answer + " " + (e.differences or "")),
                               *(("phrasing", p) for p in e.phrasings),
                               *(("point", p) for p in e.do + e.dont)]:
                passage_rows.append({"rowid": len(self._passages), "text": " ".join(words(text))})
                self._passages.append((rowid, kind))
        self.db.execute("CREATE VIRTUAL TABLE passages_fts USING fts5(text, tokenize='porter unicode61')")
        self.db.executemany("INSERT INTO passages_fts(rowid, text) VALUES (?, ?)",
                            [(r["rowid"], r["text"]) for r in passage_rows])
        self._by_rowid = {rowid: e for rowid, e in enumerate(kb.entries, 1)}
        self.vocabulary = vocabulary
        self._speller = _Speller(vocabulary)
        self._credit_cache: dict[str, dict[int, float]] = {}

    def terms(self, query: str) -> list[Term]:
        """The query's content words, each with its synonyms or spelling correction."""
        text = " " + " ".join(query.lower().replace("’", "'").replace("'", "").split()) + " "
        out: list[Term] = []
        flat = _flat(text)  # the same words with hyphens as spaces: "group-chat" finds "group chat"
        for phrase in _PHRASES:
            if f" {phrase} " in flat or f" {phrase} " in text:
                out.append(Term(" ".join(words(phrase)), _alternatives(phrase)))
                text = text.replace(f" {phrase} ", " ").replace(phrase, " ")
                flat = _flat(text)
        seen = {t.word for t in out}
        # Capitals mark an acronym (OSCE, CPD), not a typo to correct into a nearby word.
        acronyms = {a.lower() for a in re.findall(r"\b[A-Z]{2,}\b", query)}
        for w in words(text):
            # Numbers are details of a case ("90 yr old", "band 6"), not what is asked.
            if (w in STOPWORDS or w in seen or (len(w) < 2 and w not in SYNONYMS)
                    or w.isdigit()):
                continue
            seen.add(w)
            if w in SYNONYMS:
                out.append(Term(w, _alternatives(w)))
                continue
            fixed = None if w in acronyms else self._speller.correct(w)
            if fixed is None and w not in self.vocabulary and w not in acronyms:
                fixed = _dictionary_fix(w)
                if fixed is not None and fixed not in self.vocabulary and fixed not in SYNONYMS:
                    fixed = None
            if fixed is not None:
                alts = _alternatives(fixed) if fixed in SYNONYMS else ()
                out.append(Term(w, (fixed, *alts), corrected=True))
            else:
                out.append(Term(w))
        return out

    def _credits(self, term: Term) -> dict[int, float]:
        """Entries containing the term: row id -> how much it counts there (_credit)."""
        expr = term.fts()
        if expr not in self._credit_cache:
            if len(self._credit_cache) >= MATCH_CACHE_SIZE:  # a long-running bot sees endless words
                self._credit_cache.clear()
            places: dict[int, list[str]] = {}
            for (pid,) in self.db.execute(
                    "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?", [expr]):
                entry, kind = self._passages[pid]
                places.setdefault(entry, []).append(kind)
            self._credit_cache[expr] = {entry: _credit(kinds) for entry, kinds in places.items()}
        return self._credit_cache[expr]

    def search(self, query: str, top: int = 3, jurisdiction: str | None = None) -> SearchResult:
        """Rank entries for a query by meaning and words together; abstain (no results,
        only suggestions) when the best entry is not clearly nearer to the question than
        an out-of-scope example is (MARGIN), or scores under FLOOR.

        :param query: what the member typed.
        :param top: at most how many results to return when answering.
        :param jurisdiction: one of JURISDICTIONS to keep only entries that apply there.
        """
        terms = self.terms(query)
        if not query.strip():
            return SearchResult(query, True, [], [], terms)
        lexical = self._lexical(terms)
        vector = self.semantic.encoder.encode([query])[0]
        question, answer = self.semantic.similarities(vector, QUESTION_MEAN_SHARE)
        outside = float((self._scope @ vector).max()) if len(self._scope) else -1.0
        hits = []
        for i, entry in enumerate(self.kb.entries):
            if not entry.applies_to(jurisdiction):
                continue
            coverage, rank_score, evidence, matched = lexical.get(i + 1, (0.0, 0.0, 0.0, 0))
            fused = float(question[i] + ANSWER_WEIGHT * answer[i] + LEXICAL_WEIGHT * coverage)
            hits.append(Hit(entry, fused, rank_score, evidence, matched, coverage,
                            float(question[i]), float(question[i]) - outside))
        hits.sort(key=lambda h: h.score, reverse=True)
        if not hits or not self._answers(hits[0]):
            return SearchResult(query, True, [], hits[:3], terms)
        best = hits[0].score
        results = [h for h in hits[:top] if h is hits[0] or (self._answers(h) and h.score >= CANDIDATE_SHARE * best)]
        return SearchResult(query, False, results, [], terms)

    @staticmethod
    def _answers(hit: Hit) -> bool:
        return hit.margin >= MARGIN and hit.score >= FLOOR

    def _lexical(self, terms: list[Term]) -> dict[int, tuple[float, float, float, int]]:
        """Per entry row id: (coverage of the query's weighted words, BM25, evidence,
        words matched with platforms aside)."""
        if not terms:
            return {}
        n = len(self.kb.entries)
        weights, credits = [], []
        platform = [_is_platform(t) for t in terms]
        for t in terms:
            docs = self._credits(t)
            credits.append(docs)
            # Rare words say more. A word found nowhere counts as moderately rare: the
            # entries do not cover it, but it may just be an everyday word.
            idf = math.log(1 + n / len(docs)) if docs else UNKNOWN_WEIGHT
            weights.append(idf * (CORRECTED_WEIGHT if t.corrected else 1.0))
        total = sum(weights)
        expr = " OR ".join(t.fts() for t in terms)
        ranked = self.db.execute(
            f"SELECT rowid, -bm25(entries_fts, {', '.join(map(str, WEIGHTS))}) AS s "
            "FROM entries_fts WHERE entries_fts MATCH ? ORDER BY s DESC LIMIT 40",
            [expr],
        ).fetchall()
        out = {}
        for rowid, rank_score in ranked:
            covered = sum(w * docs.get(rowid, 0.0) for w, docs in zip(weights, credits))
            matched = sum(rowid in docs for docs, p in zip(credits, platform) if not p)
            out[rowid] = (covered / total, rank_score, covered, matched)
        return out

    def related(self, text: str, chosen: Sequence[str] = (), limit: int = 2) -> list[Entry]:
        """Entries to show beside a chat question: the ones its chat file names (those
        still in the file), else the search's own pick only when it is sure (the question
        very close to an entry's title or phrasings, and far past the out-of-scope margin):
        never a guess."""
        if chosen:
            return [e for e in (self.kb.entry(i) for i in chosen) if e is not None][:limit]
        result = self.search(text, top=limit)
        return [h.entry for h in result.results
                if not result.abstained and h.similarity >= SURE_SIMILARITY and h.margin >= SURE_MARGIN]

    def titles_matching(self, prefix: str, limit: int = 25) -> list[Entry]:
        """Entries for autocomplete: title words starting with what was typed, else search."""
        typed = prefix.strip().lower()
        if not typed:
            return list(self.kb.entries[:limit])
        starts = [e for e in self.kb.entries if typed in e.title.lower()]
        if len(starts) >= limit:
            return starts[:limit]
        result = self.search(typed, top=limit)
        found = [h.entry for h in result.results + result.suggestions]
        return (starts + [e for e in found if e not in starts])[:limit]
