"""Built state kept between starts, so that a cold `tweetchat guidance` looks things up
instead of rebuilding them. Beside the shared vector caches: the sentence model's weights
dequantised (``minilm-l6-f32.safetensors``, memory-mapped by `_semantic`), and one SQLite
file (``lexicon.sqlite``) holding

- the English word frequencies of pyspellchecker's dictionary (160,000 words: loading
  them from its own file takes about 0.2 s, a lookup here microseconds), with the
  dictionary's one-edit correction done as a query;
- each vocabulary's typo table (the symmetric-delete forms `_query._Speller` looks words
  up in; 0.1 s to build for the bundled file);
- each knowledge file's parsed TOML, keyed by a hash of its bytes (validated again on
  every load: the cache saves the parsing, not the checks).

Every part is rebuilt when its source changes, and kept for the last few vocabularies and
files only. A folder that cannot be written (an installed package) gets the same tables
in memory, built at each start: slower, never wrong.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sqlite3
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

from bot.config import DEFAULT_DATA_DIR

LEXICON = DEFAULT_DATA_DIR / "lexicon.sqlite"
# The sentence model's weights as float32, memory-mapped (see _semantic.dequantised).
DEQUANTISED = DEFAULT_DATA_DIR / "minilm-l6-f32.safetensors"
KEEP = 8  # vocabularies and knowledge files remembered
SCHEMA = 1
_SQL_VARIABLES = 900  # words per IN (...) query, under SQLite's oldest limit of 999


class Lexicon:
    """The cache file (or, if it cannot be opened for writing, the same in memory)."""

    def __init__(self, path: Path | None = LEXICON) -> None:
        self._lock = threading.Lock()
        self._english_ready = False
        self._letters = ""
        self.db = self._open(path)

    @staticmethod
    def _open(path: Path | None) -> sqlite3.Connection:
        if path is not None:
            try:
                # A rollback journal, not WAL: a file built while making an image is then
                # readable where its folder is read-only (WAL needs its -shm file there).
                db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
                _create(db)
                return db
            except sqlite3.Error:
                pass  # read-only folder, damaged file: fall back to memory
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        _create(db)
        return db

    # -- English ----------------------------------------------------------------------

    def _english(self) -> None:
        """Make sure the English table matches pyspellchecker's installed dictionary."""
        if self._english_ready:
            return
        with self._lock:
            if self._english_ready:
                return
            source = _dictionary_stamp()
            try:
                self._fill_english(source)
            except sqlite3.Error:  # locked for long, disk full: build it in memory instead
                self.db = self._open(None)
                self._fill_english(source)
            self._english_ready = True

    def _fill_english(self, source: str) -> None:
        if self._meta("english") != source:
            with _transaction(self.db):
                if self._meta("english") != source:  # not filled by another process meanwhile
                    from spellchecker import SpellChecker

                    frequencies = SpellChecker(language="en", distance=1).word_frequency
                    self.db.execute("DELETE FROM english")
                    self.db.executemany("INSERT OR REPLACE INTO english(word, freq) VALUES (?, ?)",
                                        frequencies.dictionary.items())
                    self._set_meta("letters", "".join(sorted(frequencies.letters)))
                    self._set_meta("english", source)
        self._letters = self._meta("letters") or ""

    def frequency(self, word: str) -> int | None:
        """How often pyspellchecker's corpus has the word (None: not an English word)."""
        self._english()
        row = self.db.execute("SELECT freq FROM english WHERE word = ?", [word]).fetchone()
        return row[0] if row else None

    def correction(self, word: str) -> str | None:
        """pyspellchecker's correction at distance 1: the word itself when it is known,
        else its commonest one-edit neighbour (ties: the first alphabetically), else None."""
        if self.frequency(word) is not None or _is_number(word):
            return word
        known = self._known(_edits1(word, self._letters))
        return min(known, key=lambda pair: (-pair[1], pair[0]))[0] if known else None

    def _known(self, words: Iterable[str]) -> list[tuple[str, int]]:
        return _rows_in(self.db, "SELECT word, freq FROM english WHERE word IN ({})", [], words)

    # -- a vocabulary's typo table -------------------------------------------------------

    def typo_table(self, vocabulary: Iterable[str], forms_of) -> "TypoTable":
        """The symmetric-delete table of a vocabulary: ``forms_of(word)`` gives the forms
        each word is filed under. Built here once per vocabulary, then looked up."""
        words = sorted(set(vocabulary))
        key = _digest("\n".join(words).encode("utf-8"))
        with self._lock:
            try:
                self._fill_typos(key, words, forms_of)
            except sqlite3.Error:  # as for the English table
                self.db = self._open(None)
                self._english_ready = False
                self._fill_typos(key, words, forms_of)
        return TypoTable(self, key)

    def _fill_typos(self, key: str, words: list[str], forms_of) -> None:
        known = "SELECT 1 FROM vocabularies WHERE vocab = ?"
        if self.db.execute(known, [key]).fetchone() is None:
            with _transaction(self.db):
                if self.db.execute(known, [key]).fetchone() is not None:  # filled meanwhile
                    return
                self.db.executemany("INSERT OR IGNORE INTO typo_forms(vocab, form, word) VALUES (?, ?, ?)",
                                    ((key, form, w) for w in words for form in forms_of(w)))
                self.db.execute("INSERT OR REPLACE INTO vocabularies(vocab, used) VALUES (?, ?)",
                                [key, time.time()])
                self._forget("vocabularies", "vocab", "typo_forms")

    # -- parsed knowledge files ----------------------------------------------------------

    def parsed(self, raw: bytes, parse) -> dict[str, Any]:
        """``parse(raw)`` (a TOML file's data), from the cache when these bytes were parsed
        before."""
        key = _digest(raw)
        try:
            row = self.db.execute("SELECT data FROM knowledge WHERE digest = ?", [key]).fetchone()
            if row is not None:
                return json.loads(row[0], object_hook=_undate)
        except (sqlite3.Error, ValueError):
            pass
        data = parse(raw)
        try:
            blob = json.dumps(data, default=_date, ensure_ascii=False)
            with self._lock, _transaction(self.db):
                self.db.execute("INSERT OR REPLACE INTO knowledge(digest, data, used) VALUES (?, ?, ?)",
                                [key, blob, time.time()])
                self._forget("knowledge", "digest")
        except (TypeError, sqlite3.Error):  # a value JSON cannot hold (a time of day), a full disk
            pass
        return data

    # -- bookkeeping ---------------------------------------------------------------------

    def _forget(self, table: str, key: str, *dependants: str) -> None:
        """Keep the KEEP most recently added rows of ``table``."""
        old = [r[0] for r in self.db.execute(
            f"SELECT {key} FROM {table} ORDER BY used DESC LIMIT -1 OFFSET ?", [KEEP])]
        for value in old:
            for dependant in dependants:
                self.db.execute(f"DELETE FROM {dependant} WHERE {key} = ?", [value])
            self.db.execute(f"DELETE FROM {table} WHERE {key} = ?", [value])

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value])


class TypoTable:
    """Lookups in one vocabulary's symmetric-delete table."""

    def __init__(self, lexicon: Lexicon, key: str) -> None:
        self._db, self._key = lexicon.db, key

    def words_under(self, forms: Iterable[str]) -> set[str]:
        return {r[0] for r in _rows_in(self._db, "SELECT word FROM typo_forms WHERE vocab = ? AND form IN ({})",
                                       [self._key], forms)}


_SHARED: Lexicon | None = None
_SHARED_LOCK = threading.Lock()


def shared_lexicon() -> Lexicon:
    """One lexicon per process."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Lexicon()
        return _SHARED


def _rows_in(db: sqlite3.Connection, sql: str, params: list, values: Iterable[str]) -> list[tuple]:
    """The rows of `sql` whose ``IN ({})`` takes `values`, asked in batches small enough
    for any SQLite's limit on parameters."""
    batch = list(values)
    rows: list[tuple] = []
    for start in range(0, len(batch), _SQL_VARIABLES):
        part = batch[start:start + _SQL_VARIABLES]
        rows += db.execute(sql.format(",".join("?" * len(part))), [*params, *part]).fetchall()
    return rows


def _create(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA:
        return  # nothing written: the file may be read-only
    if version != 0:
        for table in ("english", "typo_forms", "vocabularies", "knowledge", "meta"):
            db.execute(f"DROP TABLE IF EXISTS {table}")
    db.executescript(f"""
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS english(word TEXT PRIMARY KEY, freq INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS vocabularies(vocab TEXT PRIMARY KEY, used REAL NOT NULL);
        CREATE TABLE IF NOT EXISTS typo_forms(vocab TEXT NOT NULL, form TEXT NOT NULL,
            word TEXT NOT NULL, PRIMARY KEY (vocab, form, word)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS knowledge(digest TEXT PRIMARY KEY, data TEXT NOT NULL,
            used REAL NOT NULL);
        PRAGMA user_version = {SCHEMA};
    """)


class _transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on an error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, *_) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _dictionary_stamp() -> str:
    """Which copy of pyspellchecker's English dictionary is installed (path, size, time)."""
    spec = importlib.util.find_spec("spellchecker")  # found, not imported (4 ms)
    if spec is None or spec.origin is None:
        return "no pyspellchecker"
    resource = Path(spec.origin).parent / "resources" / "en.json.gz"
    try:
        info = resource.stat()
    except OSError:
        return str(resource)
    return f"{resource}:{info.st_size}:{info.st_mtime_ns}"


def _edits1(word: str, letters: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion away (as
    pyspellchecker makes them)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in letters]
    inserts = [a + c + b for a, b in splits for c in letters]
    return set(deletes + transposes + replaces + inserts)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return word.lower() not in ("nan", "inf", "infinity")


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return {"$date": value.isoformat()}
    raise TypeError(type(value).__name__)


def _undate(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$date" in obj:
        return date.fromisoformat(obj["$date"])
    return obj
