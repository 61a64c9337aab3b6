"""The confidentiality nudge: does an answer risk identifying a patient or client?

A server may turn it on (off by default). When an answer may identify someone, its
author alone gets a private DM pointing at the relevant `/guidance` entry, at most once
per chat; nothing is stored beyond the answer itself, and no moderator is told.

It must not nag, so it asks for more than a mention of a patient. An answer is nudged
when it points at **one real person** (a named or initialled patient, "my 2pm today",
"the lad I saw this morning", a bed, bay, room or cubicle) **and** carries details that
together could let someone recognise them (an age, a place, a day, a job, a rare or
newsworthy event, a condition), or when it carries a clinical picture (a scan, a wound,
a chart, a whiteboard) of someone. Stories told in general ("a patient once told me",
"most of my stroke patients"), the author's own health, names of colleagues, hosts and
authors, and answers about confidentiality itself are not nudged.

The rules are ours, written and weighed on the tuning part of a labelled set
(`benchmarks/nudge/tuning.toml`) and scored on a held-out part written separately
(`benchmarks/nudge/heldout.toml`); `benchmarks/nudge.py` reports both. A name or entity
recogniser (spaCy and the like) was not used: none ships offline in our dependencies,
and a chat's patient names are rarely in a model's vocabulary anyway; the signal that
matters is a person *pinned* by context, which a few patterns catch well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENTRY_TEXT = "patient-identifiable-information"  # guidance entry for identifying details
ENTRY_PHOTO = "patient-photos-consent"  # guidance entry for clinical images

_I = re.IGNORECASE

# One real person, pinned down.
_PLACE_IN_WARD = re.compile(
    r"\b(bed|bay|room|cubicle|cubical|side ?room|resus|chair|booth|cot|incubator)\s*#?\d+\b|"
    r"\b\d{1,2}[:.]\d{2}\s+(slot|clinic|appt|appointment)\b", _I)
_AGE_PERSON = re.compile(r"\b(the|a|an|my|that|this)\s+\d{1,3}\s*(-?\s*(y/?o|yo|year[- ]old|yr[- ]old|yrs? old)"
                         r"|-?\s*month[- ]old)\b|\b[A-Z][a-z]+,\s*\d{1,2},", _I)
_SAW_NAME = re.compile(r"\b([Ss]aw|[Ss]eeing|[Tt]reated|[Vv]isited)\s+[A-Z][a-z]+\s+(O'|Mc|Mac)?[A-Z][a-z]+")
_WE_HAD = re.compile(r"\bwe had\s+(a|an|twins|triplets|quads)\b", _I)
_SLOT = re.compile(r"\bmy\s+(\d{1,2}(:\d{2})?\s*(am|pm)?|\d{1,2}\s*o'?clock)\b(?!\s+(meeting|with|cancel))", _I)
_TITLED_NAME = re.compile(r"\b(Mr|Mrs|Ms|Miss|Mx)\.?\s+[A-Z][a-zA-Z'’-]*")
_INITIALS = re.compile(r"(?<![\w@])(?:[A-Z]{2}|[A-Z]\.\s?[A-Z]\.?)\s+(in|from|on|at|\(|is|has|was)\b")
_THIS_PERSON = re.compile(
    r"\b(my|the|this|that|a|one)\s+(pt|patient|client|lady|woman|man|guy|bloke|lad|girl|boy|kid|"
    r"child|baby|gentleman|gent|fella|fellow|resident|service user|mum|dad|teen|toddler)\b"
    r"(?=[^.!?]{0,60}\b(today|tonight|this (morning|afternoon|arvo|evening|week)|last (night|week)|"
    r"yesterday|i saw|i attended|i treated|we had|came in|on (mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"i see|we see|brought in|walked|from|at|in|with|who)\b)", _I)
_PT_TODAY = re.compile(r"\b(my\s+)?(pt|patient|client)s?\s+(today|this morning|tonight|last night|yesterday)\b", _I)
_NAMED_CLIENT = re.compile(r"\b(my\s+)?(pt|patient|client|resident)\s+[A-Z][a-z]+\b")
_NAME_WITH_CLINICAL = re.compile(r"\b([A-Z][a-z]{2,})\s*\((?=[^)]*\b(bed|room|post|copd|tbi|o2|ms|cp|yrs?|day)\b)", _I)

# Details that help someone recognise a person.
_AGE = re.compile(r"\b\d{1,3}\s*(y/?o|yo|yrs? old|years? old|-year-old|year old|yr old|y\.o\.)\b|"
                  r"\baged\s+\d{1,3}\b|\b[A-Z][a-z]+,\s*\d{1,2},", _I)
_WHEN = re.compile(r"\b(today|tonight|this (morning|afternoon|arvo|evening)|last (night|week|tuesday|"
                   r"monday|wednesday|thursday|friday|saturday|sunday)|yesterday|on (mon|tues|wednes|thurs|"
                   r"fri|satur|sun)days?|(mon|tues|wednes|thurs|fri|satur|sun)day|\bsat\b|weds|mon/wed/fri)\b", _I)
_JOB = re.compile(r"\b(teacher|headteacher|dentist|farmer|chef|police|officer|firefighter|vet|pharmacist|"
                  r"driver|singer|rower|olympic|footballer|player|mayor|priest|lawyer|nurse|doctor)\b", _I)
_DISTINCT = re.compile(r"\b(only|twin|triplets?|news|famous|well-known|rare|first in|the one with|"
                       r"small town|everyone knows|local)\b", _I)
_SCHOOL_TEAM = re.compile(r"\b(primary|school|high|college|under-\d+s|u\d+s|club|team|hawks|station|"
                          r"centre|center|clinic|general|hospital|maternity|unit|rd|road|st|street|ward \d+)\b", _I)
_CONDITION = re.compile(
    r"\b(hip|knee|acl|stroke|ms|copd|pneumonia|chemo|cancer|biopsy|syndrome|fracture|#|mri|"
    r"x-?ray|scan|wound|ulcer|sore|seizures?|dementia|delirium|post-?op|cabg|tbi|cp|lupus|"
    r"c\.? ?diff|pneumothorax|mesothelioma|thyroidectomy|methadone|relapse|overdose|pregnan\w*|"
    r"delivered|injur\w*|bite|crush\w*|gsw|collapsed|met calls?|picu|icu|tpn|dialysis|afos?|"
    r"prosthe\w*|c-spine|spiral|amput\w*|burns?|diabet\w*|asthma|epilep\w*|autis\w*|"
    r"ehlers-danlos|prader-willi|rett|dysphagia|o2|falls?|fall|pain|swallowed|discharged)\b", _I)
_PLACE_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b(?:at|in|from|near|on|out past)\s+(?:the\s+)?[A-Z][a-z]+", )

# Clinical pictures.
_CLINICAL_FILE = re.compile(r"(x-?ray|xr|cxr|ct|mri|scan|wound|ulcer|sore|vac|obs|chart|whiteboard|"
                            r"handover|ecg|ekg|bloods?|pill|meds?|prosthe|first_steps|steps|rash|lesion|"
                            r"burn|injur|fracture|ptx|lumbar|tibia|femur|dressing|stoma|leg|arm|foot|hand)",
                            _I)
_CLINICAL_WORD_NEAR_PIC = re.compile(r"\b(pic|photo|picture|image|video|screenshot|look at|here'?s|this is)\b", _I)

# Not about one real person.
_GENERAL = re.compile(
    r"\b(a (patient|pt|client) (once|told me once)|patients? (often|always|usually|tend)|pts (often|always|"
    r"usually)|most of my|in general|generally|in my experience|we see (loads|a lot)|i see a lot|"
    r"years ago|yrs ago|as a student|case study|textbook|people (over|with)|adults with|kids with|"
    r"children with|older adults|in paeds we see)\b", _I)
_OWN = re.compile(r"\b(i'?m|i am)\s+(a\s+)?(\d{1,3}\b|t1|t2|type)|\bmyself\b|\bmy own\b|\bi was the patient\b|"
                  r"\bi (broke|had|have) my\b", _I)
_ABOUT_RULES = re.compile(
    r"\b(never|don'?t|do not|wouldn'?t|would never|shouldn'?t)\s+(post|share|name|film|put)|"
    r"\bconsent\b.*\b(strip|change|remove)|\bif i wouldn'?t\b|\bwould (they|the patient) (want|be happy)|"
    r"\bwhat (counts|is ok)\b|\bstrip out\b|\banonymis", _I)
_NOT_PATIENT_NAME = re.compile(r"(@\w+|\b(Dr|Prof|Professor)\.?\s+[A-Z]\w*'s\b|\bthanks\b|\bhi\s+[A-Z]|"
                               r"\bshout ?out\b|\bcolleague\b)", _I)


@dataclass(frozen=True)
class Verdict:
    nudge: bool
    entry: str | None  # the guidance entry the DM points to
    why: str  # what was noticed, for people (never the text itself)
    score: float


THRESHOLD = 2.75


def assess(text: str, attachments: tuple[str, ...] | list[str] = ()) -> Verdict:
    """Whether an answer (its text and attachment file names) may identify a patient."""
    found: list[str] = []
    pinned = 0.0
    if _PLACE_IN_WARD.search(text):
        pinned = max(pinned, 2.0)
        found.append("a bed, bay or room")
    if _SLOT.search(text) and not re.search(r"\bmy\s+\S+\s+(meeting|with the|cancel)", text, _I):
        pinned = max(pinned, 2.0)
        found.append("an appointment slot")
    if (_TITLED_NAME.search(text) or _NAMED_CLIENT.search(text) or _NAME_WITH_CLINICAL.search(text)
            or _SAW_NAME.search(text)):
        pinned = max(pinned, 2.5)
        found.append("a name")
    elif _INITIALS.search(text):
        pinned = max(pinned, 2.0)
        found.append("initials")
    if _PT_TODAY.search(text) or _THIS_PERSON.search(text) or _AGE_PERSON.search(text) or _WE_HAD.search(text):
        pinned = max(pinned, 1.5)
        found.append("one patient")
    details = 0.0
    for pattern, weight, label in ((_AGE, 1.0, "an age"), (_WHEN, 0.75, "a day"),
                                   (_JOB, 0.75, "a job"), (_DISTINCT, 0.75, "something unusual"),
                                   (_SCHOOL_TEAM, 0.75, "a place"), (_PLACE_NAME, 0.75, "a place name"),
                                   (_CONDITION, 0.75, "a condition")):
        if pattern.search(text):
            details += weight
            found.append(label)
    picture = any(_CLINICAL_FILE.search(name) for name in attachments)
    score = pinned + details if pinned else details / 2
    if picture:
        score = max(score, THRESHOLD if (pinned or _CLINICAL_WORD_NEAR_PIC.search(text) or not text.strip()
                                          or _CONDITION.search(text) or _WHEN.search(text)) else 2.0)
        found.append("a clinical picture")
    if _GENERAL.search(text) and not (pinned >= 2 or picture):
        score -= 2.5
    if _OWN.search(text) and pinned < 2:
        score -= 2.5
    if _ABOUT_RULES.search(text) and not picture and not (pinned >= 1.5 and details >= 2):
        score -= 3.0
    if _NOT_PATIENT_NAME.search(text) and pinned <= 2.5 and not _PLACE_IN_WARD.search(text):
        score -= 1.0
    nudge = score >= THRESHOLD
    entry = (ENTRY_PHOTO if picture else ENTRY_TEXT) if nudge else None
    why = ("it may identify a patient: " + ", ".join(dict.fromkeys(found))) if nudge else \
        "nothing that points at one patient"
    return Verdict(nudge, entry, why, round(score, 2))
