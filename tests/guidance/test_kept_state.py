"""What the guidance search keeps between starts (bot/guidance/_cache.py and the
dequantised weights of _semantic): the same answers as building it all afresh, rebuilt when
its source changes or the file is damaged, and a folder that cannot be written costs time,
never an answer. And the command line's cold path loads none of the bot."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from spellchecker import SpellChecker

from bot.guidance import _cache, _semantic
from bot.guidance._cache import Lexicon
from seed import ROOT

# Misspellings, real words, a number, words with no one-edit neighbour.
WORDS = ["registraton", "confidentality", "proffesional", "linkdin", "recieve", "patiant",
         "massage", "message", "physio", "whatsap", "tiktokk", "zzzzqx", "1e5", "colleage",
         "sponsered", "defamtion", "harrassment", "screenshoted", "anonymus", "selfiee"]


@pytest.fixture(scope="module")
def english():
    return SpellChecker(language="en", distance=1)


def test_the_english_table_answers_as_pyspellchecker_does(tmp_path, english):
    lexicon = Lexicon(tmp_path / "lexicon.sqlite")
    for word in WORDS:
        assert lexicon.frequency(word) == (english.word_frequency[word] or None), word
        expected = english.correction(word)
        candidates = english.candidates(word) or set()
        best = max((english[c] for c in candidates), default=0)
        if sum(english[c] == best for c in candidates) < 2:  # ties are broken differently
            assert lexicon.correction(word) == expected, word
    # Reopened, it is not rebuilt: the table is simply there.
    again = Lexicon(tmp_path / "lexicon.sqlite")
    assert again._meta("english") == lexicon._meta("english")
    assert again.correction("registraton") == "registration"


def test_a_folder_that_cannot_be_written_still_answers(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache's folder should be")
    lexicon = Lexicon(blocked / "lexicon.sqlite")
    assert lexicon.correction("registraton") == "registration"
    table = lexicon.typo_table(["confidentiality", "registration"], lambda w: {w, w[1:]})
    assert table.words_under({"onfidentiality"}) == {"confidentiality"}


def test_a_vocabulary_is_filed_once_and_old_ones_are_forgotten(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "KEEP", 2)
    lexicon = Lexicon(tmp_path / "lexicon.sqlite")
    calls = []

    def forms(word):
        calls.append(word)
        return {word, word[:-1]}

    for vocabulary in (["alpha", "beta"], ["alpha", "beta"], ["gamma"], ["delta"]):
        lexicon.typo_table(vocabulary, forms)
    assert calls.count("alpha") == 1  # the second time it was looked up, not built
    kept = {r[0] for r in lexicon.db.execute("SELECT DISTINCT word FROM typo_forms")}
    assert kept == {"gamma", "delta"}


def test_parsed_knowledge_is_reused_only_for_the_same_bytes(tmp_path):
    lexicon = Lexicon(tmp_path / "lexicon.sqlite")
    parses = []

    def parse(raw: bytes):
        parses.append(raw)
        import tomllib
        return tomllib.loads(raw.decode())

    one = b'[meta]\ntitle = "t"\nlast_reviewed = 2026-01-02\n'
    first = lexicon.parsed(one, parse)
    second = lexicon.parsed(one, parse)
    assert first == second and len(parses) == 1
    assert type(second["meta"]["last_reviewed"]).__name__ == "date"
    lexicon.parsed(one.replace(b'"t"', b'"u"'), parse)
    assert len(parses) == 2
    # A time of day cannot be kept as JSON: parsed each time, never wrong.
    timed = b'[meta]\nat = 20:00:00\n'
    assert lexicon.parsed(timed, parse) == lexicon.parsed(timed, parse)


def test_dequantised_weights_match_and_a_damaged_copy_is_made_again(tmp_path):
    cache = tmp_path / "f32.safetensors"
    fresh = _semantic.dequantised(_semantic.WEIGHTS, None)
    made = _semantic.dequantised(_semantic.WEIGHTS, cache)
    assert cache.exists()
    kept = _semantic.dequantised(_semantic.WEIGHTS, cache)
    assert isinstance(kept["encoder.layer.0.attention.self.query.weight"], np.memmap)
    for name, array in fresh.items():
        assert np.array_equal(array, made[name]) and np.array_equal(array, kept[name]), name
    del made, kept
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])  # a torn copy
    again = _semantic.dequantised(_semantic.WEIGHTS, cache)
    assert np.array_equal(again["encoder.layer.5.output.dense.weight"],
                          fresh["encoder.layer.5.output.dense.weight"])
    assert cache.stat().st_size > 40_000_000


def test_the_cli_answers_without_loading_the_bot():
    """`tweetchat guidance` on its cold path imports the search and nothing of the bot,
    the chat parser, the store or pyspellchecker's dictionary (built state is kept)."""
    heavy = ["discord", "aiohttp", "sqlite_utils", "bot.store", "bot.chat.files", "bot.sandbox.server",
             "spellchecker"]
    code = ("import sys, io, contextlib\n"
            "from bot.__main__ import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    status = main(['guidance', 'a pt of mine wants to add me on fb, is that allowd?'])\n"
            f"print(status, [m for m in {heavy!r} if m in sys.modules], 'Source:' in out.getvalue())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETCHAT_")}
    for _ in range(2):  # the first run may build what is kept; the second uses it
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "0 [] True"
