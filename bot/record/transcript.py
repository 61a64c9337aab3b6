"""Transcripts: a finished (or running) chat read back from the store, grouped by
question, and written as Markdown, standalone HTML, CSV or JSON.

:func:`build_transcript` makes a :class:`Transcript`, plain frozen data; :func:`render`
turns it into the bytes of a file. Nothing here imports discord, so the Discord layer,
the command line and the tests share it.

What is in a transcript:

* the chat's title, hashtag, description, hosts, guests, reading, intro and start, in
  the chat's time zone;
* each question of the chat with the time it was posted and its answers in order, a
  reply nested under the answer it replies to;
* not: withdrawn (deleted) answers, nor any answer by a member who has opted out of the
  server (:meth:`Store.opted_out_members`), even ones stored before they opted out.

A reply whose answer is left out (withdrawn, or its author opted out) is shown at the
top level of its question, in time order, marked as replying to an answer that is not
shown, with no hint of which of the two it was or whose it was. A Discord reply to
something that is not an answer (the question's own post, say) is an ordinary answer.
A reply to an answer under another question stays under its own question, noting whom
it replies to. Replies nest at most :data:`MAX_DEPTH` levels; deeper ones are shown at
that level, noting whom they reply to.

Member content is never trusted: the HTML escapes everything and forbids scripts with a
Content-Security-Policy, the Markdown quotes each answer so that nothing in it can break
the document's structure (see :func:`_md_block`), and the CSV defuses spreadsheet
formulas. The JSON layout is documented in ``docs/transcript-json.md`` and
``docs/transcript.schema.json``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from bot.chat.posts import plural
from bot.store import INTRODUCTIONS, Store

# The version of the JSON layout. Within a version, fields are only ever added.
JSON_SCHEMA_VERSION = 1
MAX_DEPTH = 6

FORMATS: dict[str, tuple[str, str]] = {
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}

# Said of a reply whose answer is left out; the footer says what is left out and why.
HIDDEN_PARENT = "in reply to an answer not shown here"
LEFT_OUT = ("Withdrawn answers, and answers by members who opted out of having their "
            "answers kept, are not included.")


@dataclass(frozen=True)
class TranscriptAnswer:
    """One answer, with the replies nested under it."""

    message_id: int
    question: int
    author_id: int
    author_name: str  # the member's display name when they posted
    created: datetime  # aware, in the chat's time zone
    edited: bool
    edited_at: datetime | None  # the latest edit, in the chat's time zone
    edit_count: int
    content: str  # the current text
    attachments: tuple[str, ...]  # file names (files themselves are never stored)
    via: str  # "thread", or "channel" for an "A1 ..." message
    reply_to: int | None  # the answer replied to, when it is in this transcript
    reply_to_hidden: bool  # a reply to an answer that is left out
    replies: tuple["TranscriptAnswer", ...]


@dataclass(frozen=True)
class TranscriptQuestion:
    number: int
    text: str
    posted: datetime | None  # None if it was never posted (skipped, or still to come)
    answers: tuple[TranscriptAnswer, ...]  # top-level answers; replies are nested


@dataclass(frozen=True)
class Transcript:
    """A chat and its shown answers, as plain data."""

    chat_id: int
    title: str
    hashtag: str
    description: str
    hosts: tuple[str, ...]
    guests: tuple[str, ...]
    reading: tuple[tuple[str, str], ...]  # (title, url)
    intro: str
    start: datetime  # aware, in the chat's zone: when the intro was posted, else the plan
    timezone: str  # IANA name
    generated: datetime  # aware, in the chat's zone
    questions: tuple[TranscriptQuestion, ...]
    # Messages in the channel between the intro and Q1 (question number 0), by time.
    introductions: tuple[TranscriptAnswer, ...] = ()
    wrap_up: str = ""  # the host's closing words
    ended: datetime | None = None  # when the wrap-up was posted (in the chat's zone)

    def late(self, answer: TranscriptAnswer) -> bool:
        """An answer posted after the wrap-up (threads stay open until archived)."""
        return self.ended is not None and answer.created > self.ended

    def walk(self) -> Iterator[tuple[TranscriptAnswer, int]]:
        """Every answer with its nesting depth (0 at the top), in transcript order."""
        for question in self.questions:
            yield from _walk(question.answers)

    def walk_all(self) -> Iterator[tuple[TranscriptAnswer, int]]:
        """The introductions, then every answer, each with its nesting depth."""
        yield from _walk(self.introductions)
        yield from self.walk()

    @property
    def introduced(self) -> int:
        """How many members introduced themselves."""
        return len({a.author_id for a, _ in _walk(self.introductions)})

    @property
    def answer_count(self) -> int:
        return sum(1 for _ in self.walk())


def _walk(answers: tuple[TranscriptAnswer, ...]) -> Iterator[tuple[TranscriptAnswer, int]]:
    stack = [(a, 0) for a in reversed(answers)]
    while stack:
        answer, depth = stack.pop()
        yield answer, depth
        stack.extend((r, depth + 1) for r in reversed(answer.replies))


def build_transcript(store: Store, guild_id: int, chat_id: int, *,
                     now: datetime | None = None) -> Transcript:
    """Read a chat of a server and its shown answers from the store.

    :param store: the database.
    :param guild_id: the server; a chat of another server is a StoreError.
    :param chat_id: the chat.
    :param now: when the transcript is made (default: the current time).
    """
    chat = store.chat(guild_id, chat_id)
    zone = ZoneInfo(chat.timezone)
    definition = chat.definition
    rows = store.transcript_answers(guild_id, chat_id)
    nested_under = _nesting(rows)
    children: dict[int | None, list[dict]] = {}
    for row in rows:
        children.setdefault(nested_under[row["message_id"]], []).append(row)

    def local(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text).astimezone(zone) if text else None

    def node(row: dict) -> TranscriptAnswer:
        shown_parent = row["parent_shown"] == 1
        return TranscriptAnswer(
            message_id=row["message_id"], question=row["question"], author_id=row["author_id"],
            author_name=row["author_name"], created=local(row["created_at"]),
            edited=row["edit_count"] > 0, edited_at=local(row["edited_at"]),
            edit_count=row["edit_count"], content=row["content"],
            attachments=tuple(str(a.get("filename", "")) for a in row["attachments"]),
            via=row["via"], reply_to=row["reply_to"] if shown_parent else None,
            reply_to_hidden=row["parent_shown"] == 0,
            replies=tuple(node(r) for r in children.get(row["message_id"], ())),
        )

    posted = {s.question: s.posted_at for s in store.steps(guild_id, chat_id) if s.question}
    top = {}
    for row in children.get(None, ()):
        top.setdefault(row["question"], []).append(node(row))
    introductions = tuple(top.pop(INTRODUCTIONS, ()))
    numbers = [q.number for q in definition.questions]
    texts = {q.number: q.text for q in definition.questions}
    # Answers stored for a question no longer in the definition are still shown.
    numbers += sorted(set(top) - set(numbers))
    questions = tuple(
        TranscriptQuestion(n, texts.get(n, ""), posted[n].astimezone(zone) if posted.get(n) else None,
                           tuple(top.get(n, ())))
        for n in numbers
    )
    opened = store.opened_at(guild_id, chat_id)
    wrap_up = next((s for s in store.steps(guild_id, chat_id) if s.kind.value == "wrap_up"), None)
    return Transcript(
        chat_id=chat.id, title=definition.title, hashtag=definition.hashtag,
        description=definition.description, hosts=definition.hosts, guests=definition.guests,
        reading=tuple((r.title, r.url) for r in definition.reading), intro=definition.intro.strip(),
        start=(opened or chat.start_at).astimezone(zone), timezone=chat.timezone,
        generated=(now or datetime.now(timezone.utc)).astimezone(zone), questions=questions,
        introductions=introductions, wrap_up=definition.wrap_up.strip(),
        ended=wrap_up.posted_at.astimezone(zone) if wrap_up and wrap_up.posted_at else None,
    )


def _nesting(rows: list[dict]) -> dict[int, int | None]:
    """message id -> the answer it is shown under (None: the top of its question).
    A reply goes under the answer it replies to when that is shown and under the same
    question; deeper than MAX_DEPTH it goes under its ancestor at that depth."""
    by_id = {r["message_id"]: r for r in rows}
    under: dict[int, int | None] = {}
    depth: dict[int | None, int] = {None: -1}
    for row in rows:  # by time, so a parent comes before its replies
        parent = row["reply_to"] if row["parent_shown"] == 1 else None
        if parent not in by_id or by_id[parent]["question"] != row["question"] or parent not in under:
            parent = None
        while depth[parent] + 1 > MAX_DEPTH:
            parent = under[parent]
        under[row["message_id"]] = parent
        depth[row["message_id"]] = depth[parent] + 1
    return under


def render(transcript: Transcript, fmt: str) -> bytes:
    """The transcript as the bytes of a file in `fmt`, one of :data:`FORMATS`."""
    renderers = {"md": _markdown, "html": _html, "csv": _csv, "json": _json}
    if fmt not in renderers:
        raise ValueError(f"unknown transcript format {fmt!r}: use one of "
                         f"{', '.join(FORMATS)}")
    return renderers[fmt](transcript)


def transcript_filename(transcript: Transcript, fmt: str) -> str:
    """A safe file name such as ``physiotalk-2016-10-17-chat-12.md``: the hashtag (or
    the title) reduced to ASCII letters, digits and dashes, the local date, the chat id."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown transcript format {fmt!r}: use one of {', '.join(FORMATS)}")
    slug = _slug(transcript.hashtag) or _slug(transcript.title) or "tweetchat"
    return f"{slug}-{transcript.start:%Y-%m-%d}-chat-{transcript.chat_id}.{FORMATS[fmt][1]}"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")


# -- shared wording --------------------------------------------------------------------


def _when(moment: datetime, start: datetime) -> str:
    """A time in the chat's zone: 20:05, or with the day when it is not the chat's day."""
    if moment.date() == start.date():
        return f"{moment:%H:%M}"
    return f"{moment:%a %d %b} {moment:%H:%M}"


def _long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} {moment.tzname()}"


def _reply_notes(transcript: Transcript) -> dict[int, str]:
    """message id -> a note for answers not nested under what they reply to."""
    shown = {a.message_id: a for a, _ in transcript.walk_all()}
    notes = {}
    for answers in (transcript.introductions, *(q.answers for q in transcript.questions)):
        stack = [(a, None) for a in answers]
        while stack:
            answer, container = stack.pop()
            if answer.reply_to_hidden:
                notes[answer.message_id] = HIDDEN_PARENT
            elif answer.reply_to is not None and answer.reply_to != container:
                parent = shown[answer.reply_to]
                where = ("" if parent.question == answer.question else
                         " in the introductions" if parent.question == INTRODUCTIONS else
                         f" under Q{parent.question}")
                notes[answer.message_id] = (f"in reply to {parent.author_name} "
                                            f"({_when(parent.created, transcript.start)}){where}")
            stack.extend((r, answer.message_id) for r in answer.replies)
    return notes


def _generated_line(transcript: Transcript) -> str:
    return (f"Transcript made {transcript.generated:%Y-%m-%d %H:%M} {transcript.generated.tzname()} "
            f"by tweetchat-bot; times are in {transcript.timezone}. {LEFT_OUT}")


# -- Markdown ----------------------------------------------------------------------------

# Characters escaped in text inside our own lines (names, titles): emphasis, code,
# links, HTML, headings, tables, strike-through; and list markers at a line's start.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>#|~])")
_MD_LIST_START = re.compile(r"^([-+=>]|\d+(?=[.)]))")
# A backslash that would escape the next character: doubled, so it stays a backslash
# and cannot undo the escapes added after it.
_MD_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~])")
# Constructs in member text that could reach outside its quote or hide content:
_MD_HEADING = re.compile(r"^( {0,3})(#)", re.MULTILINE)  # headings
_MD_RULE = re.compile(r"^( {0,3})([-=*_])(?=[-=*_ \t]*$)", re.MULTILINE)  # rules, setext underlines
_MD_HTML = re.compile(r"<(?=[A-Za-z/!?])")  # raw HTML, comments (not <@id> mentions)
_MD_LINK = re.compile(r"\[")  # links, images, reference definitions


def _md_inline(text: str) -> str:
    """Text shown literally inside a line of our own Markdown."""
    text = _MD_INLINE.sub(r"\\\1", " ".join(text.split()))
    return _MD_LIST_START.sub(lambda m: m[0] + "\\" if m[0][0].isdigit() else "\\" + m[0], text, 1)


def _md_block(text: str, indent: str) -> list[str]:
    """Member (or moderator) text as a block quote at `indent`.

    Discord's inline formatting (bold, italics, code, spoilers) is kept, since it is
    Markdown too, but everything that could break the transcript's structure or hide
    text is escaped: headings, rules, raw HTML and comments, and links (so a link shows
    its address and no image or tracking pixel loads). Each line is quoted, so a code
    fence or list in an answer ends with the answer.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    text = _MD_BACKSLASH.sub(r"\\\\", text)
    text = _MD_HEADING.sub(r"\1\\\2", text)
    text = _MD_RULE.sub(r"\1\\\2", text)
    text = _MD_HTML.sub(r"\\<", text)
    text = _MD_LINK.sub(r"\\[", text)
    return [f"{indent}> {line}".rstrip() for line in text.split("\n")]


def _markdown(t: Transcript) -> bytes:
    notes = _reply_notes(t)
    out = [f"# {_md_inline(t.title)}", ""]
    facts = [_md_inline(t.hashtag)] if t.hashtag else []
    facts += [f"{_md_inline(_long_date(t.start))} ({_md_inline(t.timezone)})", f"chat {t.chat_id}"]
    out += [" · ".join(facts), ""]
    if t.description:
        out += [_md_inline(t.description), ""]
    if t.hosts:
        out.append(f"**Hosts:** {', '.join(_md_inline(h) for h in t.hosts)}  ")
    if t.guests:
        out.append(f"**Guests:** {', '.join(_md_inline(g) for g in t.guests)}  ")
    if t.hosts or t.guests:
        out.append("")
    if t.reading:
        out += ["**Reading:**", ""]
        out += [f"- {_md_inline(title)}: <{url}>" if _plain_url(url) else
                f"- {_md_inline(title)}: {_md_inline(url)}" for title, url in t.reading]
        out.append("")
    if t.intro:
        out += ["## Intro", "", *_md_block(t.intro, ""), ""]
    if t.introductions:
        out += ["## Introductions", "", f"{plural(t.introduced, 'member')} introduced themselves.", ""]
        for answer, depth in _walk(t.introductions):
            out += _md_answer(answer, depth, t.start, notes.get(answer.message_id))
    for q in t.questions:
        out += [f"## Q{q.number}", ""]
        if q.text:
            out += _md_block(q.text, "")
            out.append("")
        out += [f"Posted {_when(q.posted, t.start)}." if q.posted else "Not posted.", ""]
        if not q.answers:
            out += ["*No answers.*", ""]
        stack = [(a, 0) for a in reversed(q.answers)]
        while stack:
            answer, depth = stack.pop()
            out += _md_answer(answer, depth, t.start, notes.get(answer.message_id), late=t.late(answer))
            stack.extend((r, depth + 1) for r in reversed(answer.replies))
    if t.wrap_up:
        out += ["## Wrap-up", ""]
        if t.ended:
            out += [f"Posted {_when(t.ended, t.start)}.", ""]
        out += [*_md_block(t.wrap_up, ""), ""]
    out += ["---", "", f"*{_md_inline(_generated_line(t))}*", ""]
    return "\n".join(out).encode("utf-8")


def _md_answer(a: TranscriptAnswer, depth: int, start: datetime, note: str | None, *,
               late: bool = False) -> list[str]:
    indent = "  " * depth
    head = [f"**{_md_inline(a.author_name)}**", _when(a.created, start)]
    if late:
        head.append("after the wrap-up")
    if a.edited:
        head.append("edited")
    if a.via == "channel":
        head.append("in the channel")
    if note:
        head.append(f"*{_md_inline(note)}*")
    lines = [f"{indent}- {' · '.join(head)}", ""]
    if a.content.strip():
        lines += _md_block(a.content, indent + "  ") + [""]
    if a.attachments:
        lines += [f"{indent}  Attached: {', '.join(_md_inline(n) for n in a.attachments)}", ""]
    return lines


def _plain_url(url: str) -> bool:
    return bool(re.fullmatch(r"https?://[^\s<>\"'`\\]+", url))


# -- HTML --------------------------------------------------------------------------------

_CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
        "base-uri 'none'; form-action 'none'")
_CSS = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       background: #fff; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .25rem; border-bottom: 1px solid #d0d7de; }
.meta, .posted, .by, footer { color: #59636e; font-size: .9rem; }
.question-text { font-weight: 600; }
.text, .intro { white-space: pre-wrap; overflow-wrap: anywhere; }
ol.answers, ol.replies { list-style: none; padding-left: 0; }
ol.replies { margin-left: 1.25rem; padding-left: .75rem; border-left: 3px solid #d0d7de; }
li.answer { margin: .9rem 0; break-inside: avoid; }
li.answer > p.by { margin: 0 0 .15rem; }
.author { font-weight: 600; color: #1f2328; }
.note, .edited, .late { font-style: italic; }
.late { color: #9a6700; }
nav#contents ol { padding-left: 1.25rem; } nav#contents li { margin: .2rem 0; }
.count { color: #59636e; font-size: .9rem; white-space: nowrap; }
a, .meta, li { overflow-wrap: anywhere; }
footer { margin-top: 2rem; border-top: 1px solid #d0d7de; padding-top: .5rem; }
@media print { body { margin: 0; max-width: none; font-size: 11pt; }
               h2 { break-after: avoid; } a { color: inherit; } }
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html(t: Transcript) -> bytes:
    notes = _reply_notes(t)
    facts = [_e(t.hashtag)] if t.hashtag else []
    facts += [f'<time datetime="{_e(t.start.isoformat())}">{_e(_long_date(t.start))}</time> '
              f"({_e(t.timezone)})", f"chat {t.chat_id}"]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
           '<meta name="referrer" content="no-referrer">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(t.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           "<header>", f"<h1>{_e(t.title)}</h1>", f'<p class="meta">{" · ".join(facts)}</p>']
    if t.description:
        out.append(f"<p>{_e(t.description)}</p>")
    if t.hosts:
        out.append(f"<p><strong>Hosts:</strong> {_e(', '.join(t.hosts))}</p>")
    if t.guests:
        out.append(f"<p><strong>Guests:</strong> {_e(', '.join(t.guests))}</p>")
    if t.reading:
        out.append("<p><strong>Reading:</strong></p><ul>")
        for title, url in t.reading:
            link = (f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(url)}</a>'
                    if _plain_url(url) else _e(url))
            out.append(f"<li>{_e(title)}: {link}</li>")
        out.append("</ul>")
    out.append("</header>")
    out += _html_contents(t)
    if t.intro:
        out += ['<section id="intro">', "<h2>Intro</h2>", f'<div class="intro">{_e(t.intro)}</div>',
                "</section>"]
    if t.introductions:
        out += ['<section id="introductions">', "<h2>Introductions</h2>",
                f"<p>{_e(plural(t.introduced, 'member'))} introduced themselves.</p>",
                '<ol class="answers">', *_html_answers(t.introductions, t.start, notes, t), "</ol>",
                "</section>"]
    for q in t.questions:
        out += [f'<section class="question" id="q{q.number}">', f"<h2>Q{q.number}</h2>"]
        if q.text:
            out.append(f'<p class="question-text">{_e(q.text)}</p>')
        out.append(f'<p class="posted">Posted <time datetime="{_e(q.posted.isoformat())}">'
                   f"{_e(_when(q.posted, t.start))}</time></p>" if q.posted
                   else '<p class="posted">Not posted.</p>')
        if q.answers:
            out.append('<ol class="answers">')
            out += _html_answers(q.answers, t.start, notes, t)
            out.append("</ol>")
        else:
            out.append("<p><em>No answers.</em></p>")
        out.append("</section>")
    if t.wrap_up:
        out += ['<section id="wrap-up">', "<h2>Wrap-up</h2>"]
        if t.ended:
            out.append(f'<p class="posted">Posted <time datetime="{_e(t.ended.isoformat())}">'
                       f"{_e(_when(t.ended, t.start))}</time></p>")
        out += [f'<div class="intro">{_e(t.wrap_up)}</div>', "</section>"]
    out += [f"<footer>{_e(_generated_line(t))}</footer>", "</body>", "</html>", ""]
    return "\n".join(out).encode("utf-8")


def _html_contents(t: Transcript) -> list[str]:
    """A table of contents: each part, and each question with its answer count."""
    items = []
    if t.intro:
        items.append('<li><a href="#intro">Intro</a></li>')
    if t.introductions:
        items.append(f'<li><a href="#introductions">Introductions</a> '
                     f'<span class="count">({_e(plural(t.introduced, "member"))})</span></li>')
    for q in t.questions:
        count = sum(1 for _ in _walk(q.answers))
        text = q.text if len(q.text) <= 90 else q.text[:89].rstrip() + "…"
        items.append(f'<li><a href="#q{q.number}">Q{q.number}</a> {_e(text)} '
                     f'<span class="count">({_e(plural(count, "answer"))})</span></li>')
    if t.wrap_up:
        items.append('<li><a href="#wrap-up">Wrap-up</a></li>')
    return ['<nav id="contents" aria-label="Contents">', "<h2>Contents</h2>", "<ol>", *items,
            "</ol>", "</nav>"]


def _html_answers(answers: tuple[TranscriptAnswer, ...], start: datetime,
                  notes: dict[int, str], t: Transcript | None = None) -> list[str]:
    out = []
    for a in answers:
        by = [f'<span class="author">{_e(a.author_name)}</span>',
              f'<time datetime="{_e(a.created.isoformat())}">{_e(_when(a.created, start))}</time>']
        if t is not None and t.late(a):
            by.append('<span class="late">after the wrap-up</span>')
        if a.edited:
            by.append('<span class="edited">edited</span>')
        if a.via == "channel":
            by.append("in the channel")
        if a.message_id in notes:
            by.append(f'<span class="note">{_e(notes[a.message_id])}</span>')
        out += [f'<li class="answer" id="m{a.message_id}">', f'<p class="by">{" · ".join(by)}</p>']
        if a.content.strip():
            out.append(f'<div class="text">{_e(a.content)}</div>')
        if a.attachments:
            out.append(f'<p class="by">Attached: {_e(", ".join(a.attachments))}</p>')
        if a.replies:
            out += ['<ol class="replies">', *_html_answers(a.replies, start, notes, t), "</ol>"]
        out.append("</li>")
    return out


# -- CSV ---------------------------------------------------------------------------------

CSV_COLUMNS = ("question", "message_id", "reply_to", "reply_to_hidden", "author", "author_id",
               "created", "edited_at", "edit_count", "via", "attachments", "content")
# Cells that a spreadsheet would run as a formula start with one of these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_cell(text: str) -> str:
    """Member text as a CSV cell a spreadsheet shows as text: a leading apostrophe is
    added to text that starts like a formula (or with an apostrophe, so that removing
    one leading apostrophe always gives the original back)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(t: Transcript) -> bytes:
    buffer = io.StringIO()
    # A byte-order mark, so spreadsheet programs read the file as UTF-8.
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for a, _ in t.walk_all():  # introductions have question 0 and via "intro"
        writer.writerow([
            a.question, a.message_id, a.reply_to or "", "true" if a.reply_to_hidden else "false",
            csv_cell(a.author_name), a.author_id, _iso(a.created), _iso(a.edited_at),
            a.edit_count, a.via, csv_cell("; ".join(a.attachments)), csv_cell(a.content),
        ])
    return buffer.getvalue().encode("utf-8")


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="milliseconds") if moment else ""


# -- JSON --------------------------------------------------------------------------------


def _json(t: Transcript) -> bytes:
    def answer(a: TranscriptAnswer) -> dict:
        return {
            "message_id": str(a.message_id),
            "question": a.question,
            "author": {"id": str(a.author_id), "name": a.author_name},
            "created": _iso(a.created),
            "edited": a.edited,
            "edited_at": _iso(a.edited_at) or None,
            "edit_count": a.edit_count,
            "via": a.via,
            "reply_to": str(a.reply_to) if a.reply_to is not None else None,
            "reply_to_hidden": a.reply_to_hidden,
            "content": a.content,
            "attachments": list(a.attachments),
            "replies": [answer(r) for r in a.replies],
        }

    document = {
        "schema": JSON_SCHEMA_VERSION,
        "generator": "tweetchat-bot",
        "generated_at": _iso(t.generated),
        "chat": {
            "id": t.chat_id, "title": t.title, "hashtag": t.hashtag,
            "description": t.description, "hosts": list(t.hosts), "guests": list(t.guests),
            "reading": [{"title": title, "url": url} for title, url in t.reading],
            "intro": t.intro, "start": _iso(t.start), "timezone": t.timezone,
        },
        "introductions": [answer(a) for a in t.introductions],
        "questions": [
            {"number": q.number, "text": q.text, "posted": _iso(q.posted) or None,
             "answers": [answer(a) for a in q.answers]}
            for q in t.questions
        ],
        "left_out": LEFT_OUT,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
