"""The confidentiality nudge's rules (bot/nudge.py): what pins a patient and what does not,
and its quality on the tuning part of the labelled set (the held-out part is only scored
by benchmarks/nudge.py, never asserted or tuned on here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.nudge import ENTRY_PHOTO, ENTRY_TEXT, assess

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.nudge import TUNING, evaluate, load  # noqa: E402


@pytest.mark.parametrize("text", [
    "Mrs Okafor in bed 4 on Ward 9 had her new hip today",
    "the 34 y/o with MS I saw at Northgate General this morning",
    "my 2pm today cried when I told her the biopsy was benign",
    "Kayden, 15, came in after the match on Saturday with a C-spine query",
])
def test_a_pinned_patient_with_details_is_nudged(text):
    verdict = assess(text)
    assert verdict.nudge and verdict.entry == ENTRY_TEXT and verdict.why.startswith("it may identify")


@pytest.mark.parametrize("text", [
    "A patient once told me years ago that the best thing I did was sit with her",
    "Most of my stroke pts struggle with fatigue",
    "Thanks Sarah! great question",
    "I'm 34 and have MS myself, so this one hits home",
    "Never post a patient's name, bed number or even the ward",
    "can't stay long, got my 2pm meeting with the ward manager",
])
def test_stories_in_general_and_talk_about_rules_are_not(text):
    assert not assess(text).nudge


def test_a_clinical_picture_points_at_the_photo_guidance_and_a_selfie_does_not():
    assert assess("pic of his scan, look at that", ["mri_lumbar.png"]).entry == ENTRY_PHOTO
    assert not assess("selfie from the conference!", ["conf_selfie.jpg"]).nudge


def test_quality_on_the_tuning_part():
    result = evaluate(load(TUNING))
    assert result["precision"] >= 0.95 and result["recall"] >= 0.9, result
