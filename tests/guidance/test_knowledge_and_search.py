"""The guidance knowledge file: validation, search quality on the tuning part of the
evaluation set and on the old development set, vocabulary, safe reload."""

from __future__ import annotations

import copy
import sys
import tomllib

import pytest

from bot.guidance import (
    GuidanceIndex, GuidanceLibrary, KnowledgeFileError, load_knowledge, parse_knowledge, vectors_for,
)
from seed import ROOT

sys.path.insert(0, str(ROOT))
from benchmarks.guidance.evaluate import TUNING_PARTS, Ranked, load, score  # noqa: E402

KNOWLEDGE = ROOT / "data" / "guidance.toml"
DEV_SET = ROOT / "tests" / "guidance" / "dev_set.toml"


@pytest.fixture(scope="module")
def raw():
    return tomllib.loads(KNOWLEDGE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def index():
    return GuidanceIndex(load_knowledge(KNOWLEDGE), vectors_for(KNOWLEDGE))


def problems(data) -> list[str]:
    with pytest.raises(KnowledgeFileError) as info:
        parse_knowledge(data, "guidance.toml")
    return info.value.problems


def test_the_shipped_file_is_valid_and_covers_the_ground(index):
    kb = index.kb
    assert len(kb.entries) >= 40
    assert "not legal advice" in kb.disclaimer
    assert all(e.sources for e in kb.entries)
    assert all(s.url.startswith("https://") for e in kb.entries for s in e.sources)


def test_missing_fields_duplicate_ids_and_bad_sources_name_the_entry(raw):
    data = copy.deepcopy(raw)
    first, second = data["entries"][0], data["entries"][1]
    del first["answer"]
    second["id"] = first["id"]
    second["sources"] = []
    data["entries"][2]["sources"][0]["url"] = "htp://example"
    data["entries"][3]["last_reviewed"] = "yesterday"
    found = problems(data)
    entry0 = f"entries[0] ({first['id']})"
    assert f"{entry0}.answer: missing" in found
    assert any(p.startswith(f"entries[1] ({first['id']}).id: duplicate") for p in found)
    assert any("entries[1]" in p and "sources" in p and "at least one" in p for p in found)
    assert any("entries[2]" in p and "sources[0].url" in p and "https://" in p for p in found)
    assert any("entries[3]" in p and "last_reviewed" in p for p in found)


def ranked(index):
    def search(query: str) -> Ranked:
        result = index.search(query, top=10)
        return Ranked([h.entry.id for h in result.results], result.abstained)
    return search


def test_quality_on_the_tuning_part(index):
    """The tuning parts of the evaluation set (benchmarks/guidance/tuning*.toml, written by
    others in many voices) are what the weights, thresholds, phrasings and out-of-scope
    examples were fitted on; the held-out part is only scored by the benchmark, never
    asserted or tuned on here."""
    found = score(ranked(index), load(*TUNING_PARTS))
    assert found.inside >= 500 and found.outside >= 150
    assert found.hit1 >= 0.88, found.line()
    assert found.hit3 >= 0.92, found.line()
    assert found.abstain_recall >= 0.88, found.line()
    assert found.by_length["long"] >= 0.78, found.by_length  # the long, rambling questions


def test_quality_on_the_old_development_set(index):
    found = score(ranked(index), load(DEV_SET))
    assert found.hit3 >= 0.90, found.line()
    assert found.abstain_recall >= 0.75, found.line()


def test_admin_and_money_questions_are_not_pulled_into_regulator_entries(index):
    for query in ("how much is the hcpc renewal fee this year", "nmc revalidation how many reflective accounts",
                  "can my manager make me work nights", "best hashtags to get more reach on my clinic posts"):
        assert index.search(query).abstained, query


def test_abbreviations_and_chat_words_are_never_corrected(index):
    terms = {t.word: t for t in index.terms("ngl my hca posted a tt from the ward, ftp risk? tbh")}
    assert "ngl" not in terms and "tbh" not in terms  # chat words carry no meaning
    for word in ("hca", "tt", "ftp"):
        assert not terms[word].corrected and terms[word].alternatives, word


def test_acronyms_and_numbers_are_not_corrected_into_other_words(index):
    terms = index.terms("tips for passing my OSCE, band 6")
    assert [t.word for t in terms] == ["tips", "passing", "osce", "band"]
    assert not any(t.corrected for t in terms)


def test_slang_spelling_and_typos_reach_the_right_entry(index):
    for query, expected in [("frend reqest from a client", "patient-friend-requests"),
                            ("is cursing on twitter unprofessional", "swearing-and-tone"),
                            ("brand wants to send me freebies", "free-products-gifts"),
                            ("patient stuff in the team group chat", "whatsapp-group-chats")]:
        ids = [h.entry.id for h in index.search(query).results]
        assert expected in ids, (query, ids)


def test_jurisdiction_filter(index):
    result = index.search("can we use patient testimonials in our ads", jurisdiction="AU")
    assert all(h.entry.applies_to("AU") for h in result.results)


def test_a_broken_reload_keeps_the_previous_file(tmp_path):
    path = tmp_path / "guidance.toml"
    path.write_text(KNOWLEDGE.read_text(encoding="utf-8"), encoding="utf-8")
    library = GuidanceLibrary(path)
    before = len(library.kb.entries)
    path.write_text("[meta]\ntitle = 'x'\n", encoding="utf-8")
    ok, message = library.reload()
    assert not ok and "still in use" in message and "disclaimer" in message
    assert len(library.kb.entries) == before
    assert library.index.search("friend request from a patient").results


@pytest.mark.parametrize("query, expected", [
    # The examples in the issue that asked for /guidance: each must come first.
    ("a patient sent me a friend request", "patient-friend-requests"),
    ("can I share a photo from today's class", "class-teaching-photos"),
    ("is cursing on social media unprofessional", "swearing-and-tone"),
    ("a brand wants to send me free trainers", "free-products-gifts"),
])
def test_the_issues_examples_are_answered_first(index, query, expected):
    result = index.search(query)
    assert not result.abstained and result.results[0].entry.id == expected
