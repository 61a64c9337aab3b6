"""The guidance knowledge file: loading, validation and search.

The file (``data/guidance.toml``) holds curated entries of social-media guidance for
health professionals, each in our own words with its sources. :func:`load_knowledge`
validates it, naming the entry and field of every problem. :class:`GuidanceIndex`
answers queries: SQLite FTS5 (Porter stemming, BM25 with per-field weights) after our own
query clean-up (British/American spelling, a synonym map for how people talk, typo
correction against the file's vocabulary), and an abstain rule: when the best entry
covers too little of what was asked, or shares only one of its words (platform names
aside), no answer, only "did you mean" suggestions.
:class:`GuidanceLibrary` holds the file in force and reloads it safely.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlite_utils
from spellchecker import SpellChecker

JURISDICTIONS = {
    "UK": "United Kingdom", "IE": "Ireland", "AU": "Australia", "NZ": "New Zealand",
    "US": "United States", "CA": "Canada", "INTL": "applies broadly",
}
ID_SHAPE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
LIMITS = {"title": 100, "answer": 700, "point": 200, "differences": 700}


# ---------------------------------------------------------------------------------------
# The file


@dataclass(frozen=True)
class Source:
    publisher: str
    document: str
    year: int
    url: str
    section: str | None = None


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    topic: str
    answer: str
    do: tuple[str, ...]
    dont: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    phrasings: tuple[str, ...]
    sources: tuple[Source, ...]
    last_reviewed: date
    differences: str | None = None

    def applies_to(self, jurisdiction: str | None) -> bool:
        return (jurisdiction is None or jurisdiction in self.jurisdictions
                or "INTL" in self.jurisdictions)


@dataclass(frozen=True)
class KnowledgeBase:
    title: str
    disclaimer: str
    last_reviewed: date
    entries: tuple[Entry, ...]
    source: str = ""

    def entry(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)


class KnowledgeFileError(ValueError):
    """The knowledge file is invalid; `problems` lists "where: what" lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}\n"
                         + "\n".join(f"  {p}" for p in problems))


def looks_like_knowledge(path: str | Path) -> bool:
    """Whether a file is a knowledge file (has [[entries]]) rather than a chat file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"^\s*\[\[entries\]\]", text, re.MULTILINE) is not None


def load_knowledge(path: str | Path) -> KnowledgeBase:
    """Read and validate a knowledge file.

    :raises KnowledgeFileError: naming the entry (index and id) and field of each problem.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeFileError(str(path), [f"cannot read the file: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeFileError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_knowledge(data, str(path))


def parse_knowledge(data: dict[str, Any], source: str = "<knowledge>") -> KnowledgeBase:
    """Validate already-parsed TOML data; see :func:`load_knowledge`."""
    problems: list[str] = []
    meta = data.get("meta")
    if not isinstance(meta, dict):
        problems.append("meta: missing; add a [meta] table with title, disclaimer, last_reviewed")
        meta = {}
    for key in ("title", "disclaimer"):
        if not isinstance(meta.get(key), str) or not meta.get(key, "").strip():
            problems.append(f"meta.{key}: missing or empty")
    if not isinstance(meta.get("last_reviewed"), date):
        problems.append("meta.last_reviewed: must be a date such as 2026-11-25 (no quotes)")
    unknown = set(data) - {"meta", "entries"}
    if unknown:
        problems.append(f"unknown top-level keys: {', '.join(sorted(unknown))}; "
                        "valid: meta, entries")

    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        problems.append("entries: missing; add [[entries]] tables")
        raw_entries = []
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_entries):
        entry = _entry(raw, index, seen, problems)
        if entry is not None:
            entries.append(entry)
    if problems:
        raise KnowledgeFileError(source, problems)
    return KnowledgeBase(meta["title"].strip(), meta["disclaimer"].strip(), meta["last_reviewed"],
                         tuple(entries), source)


_ENTRY_KEYS = {"id", "title", "topic", "answer", "do", "dont", "differences", "jurisdictions",
               "phrasings", "last_reviewed", "sources"}
_SOURCE_KEYS = {"publisher", "document", "year", "url", "section"}


def _entry(raw: Any, index: int, seen: dict[str, int], problems: list[str]) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(f"entries[{index}]: must be a table")
        return None
    entry_id = raw.get("id")
    where = f"entries[{index}]" + (f" ({entry_id})" if isinstance(entry_id, str) else "")
    before = len(problems)

    def text(key: str, limit: int, required: bool = True) -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                problems.append(f"{where}.{key}: missing")
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}.{key}: must be non-empty text")
            return None
        if len(value.strip()) > limit:
            problems.append(f"{where}.{key}: {len(value.strip())} characters; at most {limit}")
        return value.strip()

    def texts(key: str, low: int, high: int, limit: int) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(f"{where}.{key}: must be a list of non-empty texts")
            return ()
        if not low <= len(value) <= high:
            problems.append(f"{where}.{key}: has {len(value)} items; expected {low} to {high}")
        for i, v in enumerate(value):
            if len(v.strip()) > limit:
                problems.append(f"{where}.{key}[{i}]: {len(v.strip())} characters; at most {limit}")
        return tuple(v.strip() for v in value)

    for key in sorted(set(raw) - _ENTRY_KEYS):
        problems.append(f"{where}.{key}: unknown key; valid keys: {', '.join(sorted(_ENTRY_KEYS))}")
    if not isinstance(entry_id, str) or not ID_SHAPE.match(entry_id):
        problems.append(f"{where}.id: must be lowercase words joined by hyphens, e.g. "
                        "'patient-friend-requests'")
    elif entry_id in seen:
        problems.append(f"{where}.id: duplicate of entries[{seen[entry_id]}]")
    else:
        seen[entry_id] = index
    title = text("title", LIMITS["title"])
    topic = text("topic", 40)
    answer = text("answer", LIMITS["answer"])
    differences = text("differences", LIMITS["differences"], required=False)
    do = texts("do", 1, 6, LIMITS["point"])
    dont = texts("dont", 0, 6, LIMITS["point"])
    phrasings = texts("phrasings", 1, 15, 200)
    jurisdictions = texts("jurisdictions", 1, len(JURISDICTIONS), 10)
    for j in jurisdictions:
        if j not in JURISDICTIONS:
            problems.append(f"{where}.jurisdictions: {j!r} is not one of "
                            f"{', '.join(JURISDICTIONS)}")
    reviewed = raw.get("last_reviewed")
    if not isinstance(reviewed, date):
        problems.append(f"{where}.last_reviewed: must be a date such as 2026-11-25 (no quotes)")
    sources = _sources(raw.get("sources"), where, problems)
    if len(problems) > before:
        return None
    return Entry(entry_id, title, topic, answer, do, dont, jurisdictions, phrasings,  # type: ignore[arg-type]
                 sources, reviewed, differences)


def _sources(raw: Any, where: str, problems: list[str]) -> tuple[Source, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}.sources: every entry needs at least one [[entries.sources]]")
        return ()
    out = []
    for i, s in enumerate(raw):
        at = f"{where}.sources[{i}]"
        if not isinstance(s, dict):
            problems.append(f"{at}: must be a table")
            continue
        for key in sorted(set(s) - _SOURCE_KEYS):
            problems.append(f"{at}.{key}: unknown key; valid keys: {', '.join(sorted(_SOURCE_KEYS))}")
        ok = True
        for key in ("publisher", "document", "url"):
            if not isinstance(s.get(key), str) or not s[key].strip():
                problems.append(f"{at}.{key}: missing or empty")
                ok = False
        year = s.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= date.today().year + 1:
            problems.append(f"{at}.year: {year!r} is not a year (e.g. 2024)")
            ok = False
        url = s.get("url")
        if isinstance(url, str):
            parsed = urlparse(url.strip())
            if parsed.scheme != "https" or "." not in parsed.netloc or " " in url.strip():
                problems.append(f"{at}.url: {url!r} is not an https:// web address")
                ok = False
        section = s.get("section")
        if section is not None and (not isinstance(section, str) or not section.strip()):
            problems.append(f"{at}.section: must be non-empty text when given")
            ok = False
        if ok:
            out.append(Source(s["publisher"].strip(), s["document"].strip(), year, url.strip(),
                              section.strip() if section else None))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# Query clean-up

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves im ive id dont doesnt
isnt cant wont shouldnt wouldnt couldnt ok okay is it also get got want wants wanted really
still yet ever anyone someone something thing things one ones way lot lots u ur pls please
do does did tell know think go going much many whether even whats hows wheres whos thats
theres lets need needs use using used guy guys girl people person stuff today tonight
tomorrow yesterday morning night last week weekend time fast good best great new old say
said saying says make made take took way ask asked asking help right realised realized
keep keeps kept put putting actually maybe probably
lol lmao haha tbh idk omg cool hard bad another getting went sure literally basically kinda
gonna wanna shud cud wud
""".split()) - {"help"}

# British spelling is our canonical form; American spellings are mapped to it.
_SPELLING = {
    "behavior": "behaviour", "behaviors": "behaviours", "behavioral": "behavioural",
    "color": "colour", "colors": "colours", "favor": "favour", "favorite": "favourite",
    "honor": "honour", "humor": "humour", "labor": "labour", "neighbor": "neighbour",
    "rumor": "rumour", "rumors": "rumours", "center": "centre", "defense": "defence",
    "license": "licence", "program": "programme", "programs": "programmes",
    "pediatric": "paediatric", "orthopedic": "orthopaedic", "counseling": "counselling",
    "traveling": "travelling", "judgment": "judgement", "jewelry": "jewellery",
}
_IZE = re.compile(r"^(.{3,}?)iz(e|es|ed|ing|ation|ations|er|ers)$")
_IZE_EXCEPTIONS = {"size", "sizes", "prize", "prizes", "seize", "seized", "seizing", "citizen"}

# How people talk -> the words the guidance uses. Keys are single words or phrases
# (matched on word boundaries); values are alternatives separated by "|", each a word or
# a phrase that must appear as such ("former patient" does not match "patient" alone).
SYNONYMS: dict[str, str] = {
    "fb": "facebook", "insta": "instagram", "ig": "instagram", "snap": "snapchat",
    "snapchat": "snapchat|social media", "tweet": "twitter|post", "tweets": "twitter|post",
    "tweeting": "twitter|post", "retweet": "share|repost", "retweets": "share|repost",
    "repost": "share", "dm": "direct message|message", "dms": "direct message|message",
    "pm": "private message|message", "inbox": "message", "messaged": "message",
    "group chat": "whatsapp|group chat|messaging group",
    "team chat": "whatsapp|group chat|messaging group", "whatsapp": "whatsapp|group chat",
    "client": "patient", "clients": "patient", "pt": "patient", "pts": "patient",
    "service user": "patient", "caseload": "patient", "treated": "patient|treat",
    "discharged": "former patient|discharged", "ex-patient": "former patient",
    "ex patient": "former patient",
    "coworker": "colleague", "co-worker": "colleague", "workmate": "colleague",
    "coworkers": "colleague", "workmates": "colleague", "teammate": "colleague",
    "bad-mouth": "criticise|criticism", "bad mouth": "criticise|criticism",
    "badmouth": "criticise|criticism", "slag off": "criticise|criticism",
    "slagging": "criticise|criticism", "trash talk": "criticise|criticism",
    "moan": "complain", "moaning": "complain", "rant": "complain|vent", "vent": "complain",
    "whinge": "complain", "freebie": "free|gift|free product", "freebies": "free|gift|free product",
    "gifted": "free|gift", "swag": "free|gift", "ambassador": "ambassador|sponsored",
    "sponsorship": "sponsored", "influencer": "sponsored|influencer",
    "promo code": "affiliate|discount code", "discount code": "affiliate|discount code",
    "kickback": "affiliate|commission", "cut": "commission|cut",
    "swear": "swearing", "swore": "swearing", "cursing": "swearing", "cussing": "swearing",
    "profanity": "swearing", "cuss": "swearing", "curse": "swearing",
    "pic": "photo", "pics": "photo", "picture": "photo", "pictures": "photo",
    "selfie": "photo", "selfies": "photo", "vid": "video",
    "x-ray": "image|scan|x ray", "xray": "image|scan|x ray", "mri": "image|scan",
    "drunk": "alcohol|drunk", "booze": "alcohol", "boozy": "alcohol", "hungover": "alcohol",
    "tinder": "dating app", "hinge": "dating app", "bumble": "dating app",
    "swiped": "dating app", "dating": "dating|date",
    "whistle blowing": "whistleblowing", "whistle-blowing": "whistleblowing",
    "troll": "trolling|harassment|troll", "trolls": "trolling|harassment|troll",
    "trolled": "trolling|harassment", "sued": "defamation|sue", "libel": "defamation",
    "slander": "defamation", "chatgpt": "ai|artificial intelligence",
    "ai": "ai|artificial intelligence", "ahpra": "ahpra|australia", "aussie": "australia",
    "fitness to practise": "fitness to practise|regulator", "struck off": "regulator|struck off",
    "registration": "registration|regulator|register", "reported": "regulator|reported",
    "stars": "review|rating", "star": "review|rating", "geotag": "location|geotagging",
    "check-in": "location|check in", "checkin": "location|check in",
    "location": "location|geotagging", "boss": "employer|manager",
    "anon": "anonymous", "burner": "anonymous", "pseudonym": "anonymous",
    "screenshot": "screenshot", "screenshotted": "screenshot",
    "vaccine": "vaccine|public health", "vaccines": "vaccine|public health",
    "opinions": "opinion|view", "views": "view|opinion", "profile": "profile|bio",
    "bio": "bio|profile", "cover": "cover|protect", "lose": "lose|regulator|struck off",
    "someone elses": "copyright|someone else|other people", "name": "name|identify|identifiable",
    "follower": "follower|stranger|member of the public", "followers": "follower|audience",
    "for a drink": "date|relationship|drink", "remind": "remind|reminder|appointment|contact",
    "session": "session|appointment", "attacking": "attack|criticism|disagree|debate",
    "wound": "wound|patient|clinical photo", "portfolio": "portfolio|teaching",
    "add me": "friend request|add", "added me": "friend request|add",
    "adding me": "friend request|add", "chat gpt": "ai|artificial intelligence",
    "trust": "trust|employer", "management": "management|manager|employer",
    "socials": "social media", "declare": "declare|disclose", "yr": "year", "yrs": "year",
}
_PHRASES = sorted((k for k in SYNONYMS if " " in k or "-" in k), key=len, reverse=True)
_WORD = re.compile(r"[a-z0-9]+")


def _canonical(word: str) -> str:
    if word in _SPELLING:
        return _SPELLING[word]
    match = _IZE.match(word)
    if match and word not in _IZE_EXCEPTIONS:
        return f"{match.group(1)}is{match.group(2)}"
    return word


def words(text: str) -> list[str]:
    """Lower-cased words with British spelling; used for both documents and queries."""
    text = text.lower().replace("’", "'").replace("'", "")
    return [_canonical(w) for w in _WORD.findall(text)]


def _damerau(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions, giving up (returning limit + 1) past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if (previous2 is not None and i > 1 and j > 1 and ca == b[j - 2]
                    and a[i - 2] == cb):
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


_ENGLISH: SpellChecker | None = None


def _english() -> SpellChecker:
    global _ENGLISH
    if _ENGLISH is None:
        _ENGLISH = SpellChecker(language="en", distance=1)
    return _ENGLISH


def _is_english(word: str) -> bool:
    """Whether a word is ordinary English (pyspellchecker's frequency list), so that
    "massage" is not "corrected" to "message"."""
    return _english().word_frequency[word] >= 50


def _dictionary_fix(word: str) -> str | None:
    """A one-edit correction from the English dictionary ("registraton" ->
    "registration"), for misspelt words the guidance itself never uses."""
    if len(word) < 5 or _is_english(word):
        return None
    fixed = _english().correction(word)
    return fixed if fixed and fixed != word else None


class _Speller:
    """Typo correction against a vocabulary (the symmetric-delete method: words within
    edit distance d share a form with up to d letters deleted). Real English words are
    never corrected: a word we do not know is just a word we have no guidance on."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        self.deletes: dict[str, set[str]] = {}
        for word in vocabulary:
            if len(word) >= 4:
                for form in self._deletes(word, self._max(word)):
                    self.deletes.setdefault(form, set()).add(word)

    @staticmethod
    def _max(word: str) -> int:
        return 1 if len(word) <= 5 else 2

    @staticmethod
    def _deletes(word: str, depth: int) -> set[str]:
        forms, frontier = {word}, {word}
        for _ in range(depth):
            frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
            forms |= frontier
        return forms

    def correct(self, word: str) -> str | None:
        """The closest vocabulary word (ties: the commoner), or None."""
        if len(word) < 4 or word in self.vocabulary or _is_english(word):
            return None
        limit = self._max(word)
        candidates: set[str] = set()
        for form in self._deletes(word, limit):
            candidates |= self.deletes.get(form, set())
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = _damerau(word, candidate, limit)
            if distance <= limit:
                key = (distance, -self.vocabulary[candidate], candidate)
                best = key if best is None or key < best else best
        return best[2] if best else None


@dataclass(frozen=True)
class Term:
    """One word (or phrase) of the query with its alternatives: synonyms, or the
    spelling it was corrected to. Each form is a word or a phrase of words."""

    word: str
    alternatives: tuple[str, ...] = ()
    corrected: bool = False

    def forms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.word, *self.alternatives)))

    def fts(self) -> str:
        """The FTS5 expression matching any form (phrases stay phrases)."""
        return "(" + " OR ".join(f'"{f}"' for f in self.forms()) + ")"


def _flat(text: str) -> str:
    return f" {' '.join(_WORD.findall(text.replace('-', ' ')))} "


def _alternatives(key: str) -> tuple[str, ...]:
    return tuple(" ".join(words(alt)) for alt in SYNONYMS[key].split("|") if words(alt))


# ---------------------------------------------------------------------------------------
# Search


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float  # 0..1: how much of the query this entry covers, weighted by rarity
    rank_score: float  # BM25 from FTS5, higher is better
    evidence: float = 0.0  # the summed weight of the query words it covers
    matched: int = 0  # how many of the query's words it contains, platform names aside


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
ABSTAIN_BELOW = 0.38  # coverage under which we do not answer (tuned on the dev set)
CORRECTED_WEIGHT = 0.8  # a word we had to correct counts for a little less
WEAK_MATCH = 0.4  # a word that is only a detail of an entry (see _credit) counts for less
UNKNOWN_WEIGHT = 2.0  # weight of a query word that no entry contains
MATCH_CACHE_SIZE = 20_000  # FTS lookups remembered per index
MIN_EVIDENCE = 2.5  # one common word ("chat", "post") is not enough to answer on
# Nor is one word of a longer question: "how do I grow my instagram followers" shares
# "followers" with the follow-request entry and nothing else of what it asks. Platform
# names do not count towards this, since they say where, not what: every entry applies on
# every platform, and a platform's name is in the phrasings of a third of them.
MIN_MATCHED = 2
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

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.db = sqlite_utils.Database(memory=True)
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
        self.db["entries"].insert_all(rows, pk="rowid")
        self.db["entries"].enable_fts(
            ["title", "phrasings", "answer", "points", "topic"],
            tokenize="porter unicode61", create_triggers=False,
        )
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
        self.db["passages"].insert_all(passage_rows, pk="rowid")
        self.db["passages"].enable_fts(["text"], tokenize="porter unicode61",
                                       create_triggers=False)
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
        """Rank entries for a query; abstain (no results, only suggestions) when the best
        entry covers less than ABSTAIN_BELOW of the query's weighted words, less than
        MIN_EVIDENCE in all, or fewer than MIN_MATCHED of its words (platforms aside).

        :param query: what the member typed.
        :param top: how many results to return when answering.
        :param jurisdiction: one of JURISDICTIONS to keep only entries that apply there.
        """
        terms = self.terms(query)
        if not terms:
            return SearchResult(query, True, [], [], terms)
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
        hits = []
        for rowid, rank_score in ranked:
            entry = self._by_rowid[rowid]
            if not entry.applies_to(jurisdiction):
                continue
            covered = sum(w * docs.get(rowid, 0.0) for w, docs in zip(weights, credits))
            matched = sum(rowid in docs for docs, p in zip(credits, platform) if not p)
            hits.append(Hit(entry, covered / total, rank_score, covered, matched))
        # Coverage decides the order; BM25 breaks ties between entries covering as much.
        hits.sort(key=lambda h: (round(h.score, 2), h.rank_score), reverse=True)
        needed = min(MIN_MATCHED, len(terms) - sum(platform))
        if (not hits or hits[0].score < ABSTAIN_BELOW or hits[0].evidence < MIN_EVIDENCE
                or hits[0].matched < needed):
            return SearchResult(query, True, [], hits[:3], terms)
        return SearchResult(query, False, hits[:top], hits[top:top + 3], terms)

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


class GuidanceLibrary:
    """The knowledge file in force. A reload that fails keeps the previous file serving."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.index = GuidanceIndex(load_knowledge(self.path))

    @property
    def kb(self) -> KnowledgeBase:
        return self.index.kb

    def reload(self) -> tuple[bool, str]:
        """Re-read the file. Returns (True, summary) or (False, why, with the old file kept)."""
        try:
            index = GuidanceIndex(load_knowledge(self.path))
        except KnowledgeFileError as exc:
            return False, (f"The knowledge file was not reloaded; the previous version "
                           f"({len(self.kb.entries)} entries) is still in use.\n{exc}")
        self.index = index
        return True, f"Reloaded {len(index.kb.entries)} guidance entries from {self.path.name}."
