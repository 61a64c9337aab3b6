"""Query clean-up: words, stop words, British/American spelling, the synonym map for how
people talk, and typo correction that never "corrects" a real English word."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.guidance._cache import TypoTable, shared_lexicon


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
gonna wanna shud cud wud ngl imo imho ffs tbf smh fml thx ty xx aye
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
    "kickback": "affiliate|commission",
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
    "reported": "regulator|reported",
    "stars": "review|rating", "star": "review|rating", "geotag": "location|geotagging",
    "check-in": "location|check in", "checkin": "location|check in",
    "location": "location|geotagging", "boss": "employer|manager",
    "anon": "anonymous", "burner": "anonymous", "pseudonym": "anonymous",
    "screenshot": "screenshot", "screenshotted": "screenshot",
    "vaccine": "vaccine|public health", "vaccines": "vaccine|public health",
    "opinions": "opinion|view", "views": "view|opinion", "profile": "profile|bio",
    "bio": "bio|profile", "cover": "cover|protect",
    "someone elses": "copyright|someone else|other people", "name": "name|identify|identifiable",
    "follower": "follower|stranger|member of the public", "followers": "follower|audience",
    "for a drink": "date|relationship|drink", "remind": "remind|reminder|appointment|contact",
    "session": "session|appointment", "attacking": "attack|criticism|disagree|debate",
    "wound": "wound|patient|clinical photo", "portfolio": "portfolio|teaching",
    "add me": "friend request|add", "added me": "friend request|add",
    "adding me": "friend request|add", "chat gpt": "ai|artificial intelligence",
    "trust": "trust|employer", "management": "management|manager|employer",
    "socials": "social media", "declare": "declare|disclose", "yr": "year", "yrs": "year",
    # The field's own abbreviations: known, so never "corrected" into another word.
    "tt": "tiktok", "yt": "youtube", "li": "linkedin", "twt": "twitter",
    "hca": "healthcare assistant|colleague", "hcas": "healthcare assistant|colleague",
    "ftp": "fitness to practise|regulator", "ftp hearing": "fitness to practise|regulator",
    "hcpc": "hcpc|regulator", "nmc": "nmc|regulator", "gmc": "gmc|regulator",
    "coru": "coru|regulator", "csp": "csp|professional body", "rcn": "rcn|professional body",
    "msk": "musculoskeletal", "ot": "occupational therapist", "slt": "speech and language therapist",
    "gp": "doctor|gp", "a&e": "emergency department", "ed": "emergency department",
    "icu": "intensive care", "obs": "observations", "mdt": "team|colleague",
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


def _is_english(word: str) -> bool:
    """Whether a word is ordinary English (pyspellchecker's frequency list), so that
    "massage" is not "corrected" to "message"."""
    return (shared_lexicon().frequency(word) or 0) >= 50


def _dictionary_fix(word: str) -> str | None:
    """A one-edit correction from the English dictionary ("registraton" ->
    "registration"), for misspelt words the guidance itself never uses."""
    if len(word) < 5 or _is_english(word):
        return None
    fixed = shared_lexicon().correction(word)
    return fixed if fixed and fixed != word else None


class _Speller:
    """Typo correction against a vocabulary (the symmetric-delete method: words within
    edit distance d share a form with up to d letters deleted). Real English words are
    never corrected: a word we do not know is just a word we have no guidance on."""

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        self._table: TypoTable | None = None  # found or built on the first unknown word

    @property
    def table(self) -> TypoTable:
        if self._table is None:
            self._table = shared_lexicon().typo_table(
                (w for w in self.vocabulary if len(w) >= 4), lambda w: self._deletes(w, self._max(w)))
        return self._table

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
        candidates = self.table.words_under(self._deletes(word, limit))
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
