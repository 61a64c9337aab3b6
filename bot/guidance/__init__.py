"""Guidance: the curated knowledge file, its validation and its search.

The file (``data/guidance.toml``) holds curated entries of social-media guidance for
health professionals, each in our own words with its sources. :func:`load_knowledge`
validates it, naming the entry and field of every problem. :class:`GuidanceIndex`
answers queries by meaning and words together: sentence vectors (all-MiniLM-L6-v2, run in
NumPy; `_semantic`) fused with SQLite FTS5 after our own query clean-up (British/American
spelling, the field's abbreviations, synonyms, typo correction against the file's
vocabulary); it abstains, with "did you mean" suggestions, when the best entry is not
clearly nearer to the question than the out-of-scope examples of `_scope` are.
:class:`GuidanceLibrary` holds the file in force and reloads it safely.

The parts: `_knowledge` (the file model and validation), `_query` (query clean-up),
`_semantic` (the sentence model and cached entry vectors), `_scope` (what is out of
scope), `_index` (ranking, abstaining, related guidance for chat questions). The names below are the public face.
"""

from __future__ import annotations

from pathlib import Path

from bot.guidance._index import GuidanceIndex, Hit, SearchResult
from bot.guidance._knowledge import (
    JURISDICTIONS, Entry, KnowledgeBase, KnowledgeFileError, Source, load_knowledge,
    looks_like_knowledge, parse_knowledge,
)

__all__ = [
    "JURISDICTIONS", "Entry", "GuidanceIndex", "GuidanceLibrary", "Hit", "KnowledgeBase",
    "KnowledgeFileError", "SearchResult", "Source", "load_knowledge", "looks_like_knowledge",
    "parse_knowledge", "prepare", "vectors_for",
]


def vectors_for(knowledge: Path) -> Path:
    """Where the entries' sentence vectors are kept beside a knowledge file."""
    return knowledge.with_name(knowledge.stem + ".vectors.npz")


def prepare(knowledge: Path) -> GuidanceIndex:
    """Build everything the search keeps between starts (`_cache`): the knowledge file's
    vectors and typo table, the English table, the dequantised weights. For an image whose
    package folder is read-only at run time (the Dockerfile runs this while building)."""
    from bot.guidance._cache import shared_lexicon

    index = GuidanceIndex(load_knowledge(knowledge), vectors_for(knowledge))
    index.search("a pt of mine wants to add me on fb, is that allowd?")  # reaches the typo table
    shared_lexicon().correction("registraton")  # and the English table
    return index


class GuidanceLibrary:
    """The knowledge file in force. A reload that fails keeps the previous file serving."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.index = GuidanceIndex(load_knowledge(self.path), vectors_for(self.path))

    @property
    def kb(self) -> KnowledgeBase:
        return self.index.kb

    def reload(self) -> tuple[bool, str]:
        """Re-read the file. Returns (True, summary) or (False, why, with the old file kept)."""
        try:
            index = GuidanceIndex(load_knowledge(self.path), vectors_for(self.path))
        except KnowledgeFileError as exc:
            return False, (f"The knowledge file was not reloaded; the previous version "
                           f"({len(self.kb.entries)} entries) is still in use.\n{exc}")
        self.index = index
        return True, f"Reloaded {len(index.kb.entries)} guidance entries from {self.path.name}."
