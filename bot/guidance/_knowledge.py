"""The knowledge file: its entries and sources, and its validation (every problem named
by entry and field)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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
    from bot.guidance._cache import shared_lexicon

    path = Path(path)
    try:
        data = shared_lexicon().parsed(path.read_bytes(), lambda raw: tomllib.loads(raw.decode("utf-8")))
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


# Publishers of primary guidance: regulators, professional and statutory bodies, on their
# own sites (a subdomain counts). Every entry cites at least one, first; a newspaper,
# vendor or defence-union summary may follow it. Add a body's domain here when citing it.
PRIMARY_DOMAINS = frozenset({
    # UK
    "hcpc-uk.org", "hcpc-uk.co.uk", "hpc-uk.org", "nmc.org.uk", "nmc-uk.org", "gmc-uk.org",
    "csp.org.uk", "rcn.org.uk", "bma.org.uk", "sor.org", "college-optometrists.org",
    "asa.org.uk", "ico.org.uk",
    # Australia: Ahpra and the National Boards
    "ahpra.gov.au", "physiotherapyboard.gov.au", "medicalboard.gov.au",
    "nursingmidwiferyboard.gov.au", "medicalradiationpracticeboard.gov.au",
    "osteopathyboard.gov.au", "atsihealthpracticeboard.gov.au", "chiropracticboard.gov.au",
    # Canada
    "physiotherapyalberta.ca", "cpta.ab.ca", "collegept.org", "cptbc.org", "optometrybc.com",
    # Ireland, New Zealand, the US, international
    "coru.ie", "physioboard.org.nz", "osteopathsnz.co.nz", "apta.org", "socialworkers.org",
    "world.physio",
})


def is_primary(url: str) -> bool:
    """Whether a source's address is on a primary publisher's own site."""
    host = (urlparse(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in PRIMARY_DOMAINS)


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
    if out and len(out) == len(raw) and not is_primary(out[0].url):
        problems.append(
            f"{where}.sources: the first source must be the publisher's own guidance (a regulator "
            f"or professional body's site, such as hcpc-uk.org or ahpra.gov.au); "
            f"{urlparse(out[0].url).hostname} is not one. Put a primary source first, or add the "
            "body's domain to PRIMARY_DOMAINS in bot/guidance/_knowledge.py")
    return tuple(out)
