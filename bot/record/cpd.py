"""A member's CPD record of a chat: what the chat was, their own answers, and a reflection
they write themselves, as Markdown, printable HTML or JSON.

Health professionals count tweetchats as continuing professional development, and UK
regulators ask registrants to keep a record of their learning and reflect on it. The
record is private to its member: it is built only for someone who answered in the chat,
only on their request, and reflections are never part of a transcript or statistics.

The reflection template follows the HCPC's standards of CPD for a chat in the UK
(Europe/London) and a neutral set of prompts elsewhere. The standards are paraphrased
in our own words; the source is cited in the record.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.store import INTRODUCTIONS, Reflection, Store, StoreError

FORMATS = {"md": "Markdown", "html": "web page", "json": "JSON"}


@dataclass(frozen=True)
class Framework:
    """The prompts a reflection answers, and the standards it relates to."""

    key: str
    name: str
    prompts: tuple[str, str, str]  # what I learned; how it changes my practice; standards
    standards: tuple[str, ...]  # paraphrased, numbered as the source numbers them
    source: str  # publisher, document, year, URL


HCPC = Framework(
    key="hcpc",
    name="HCPC standards of continuing professional development (UK)",
    prompts=("What did I learn from this chat?",
             "How will it change my practice, and how will the people I care for benefit?",
             "Which of the HCPC's CPD standards does it help me meet?"),
    standards=(
        "1. Keep a continuous, up-to-date and accurate record of your CPD.",
        "2. Show your CPD is a mix of learning activities relevant to your current or future practice.",
        "3. Try to make sure your CPD improves the quality of your practice and service.",
        "4. Try to make sure your CPD benefits your service users.",
        "5. If asked, present a profile, your own work with evidence, of how you met the standards.",
    ),
    source=("Health and Care Professions Council (HCPC), Standards of continuing professional "
            "development (web version, 2018), "
            "https://www.hcpc-uk.org/standards/standards-of-continuing-professional-development/"),
)
NEUTRAL = Framework(
    key="neutral",
    name="Reflection on a learning activity",
    prompts=("What did I learn from this chat?",
             "How will it change my practice?",
             "Which of my regulator's or professional body's standards does it relate to?"),
    standards=(),
    source="",
)
UK_ZONES = ("Europe/London", "Europe/Belfast", "GB", "GB-Eire")


def framework_for(timezone_name: str) -> Framework:
    """HCPC's standards for a chat run on UK time; neutral prompts elsewhere."""
    return HCPC if timezone_name in UK_ZONES else NEUTRAL


@dataclass(frozen=True)
class MemberAnswer:
    question: int  # 0: the member's introduction
    text: str  # the final text
    posted: datetime  # in the chat's zone
    edits: int


@dataclass(frozen=True)
class CpdRecord:
    chat_id: int
    title: str
    hashtag: str
    start: datetime  # in the chat's zone
    minutes: int  # from the intro to the wrap-up
    timezone: str
    questions: tuple[tuple[int, str], ...]
    reading: tuple[tuple[str, str], ...]
    answers: tuple[MemberAnswer, ...]
    reflection: Reflection | None
    framework: Framework


def build_cpd_record(store: Store, guild_id: int, chat_id: int, member_id: int) -> CpdRecord | None:
    """A member's record of a chat, or None if they took no part in it (no answer or
    introduction they still stand by)."""
    chat = store.chat(guild_id, chat_id)
    zone = ZoneInfo(chat.timezone)
    mine = [a for a in store.answers(guild_id, chat_id) if a["author_id"] == member_id]
    if not mine:
        return None
    steps = store.steps(guild_id, chat_id)
    intro = next((s for s in steps if s.kind.value == "intro"), None)
    wrap_up = next((s for s in steps if s.kind.value == "wrap_up"), None)
    start = (intro.posted_at if intro and intro.posted_at else chat.start_at)
    # The length as run: the due times, which moderators' pauses and extensions move.
    length = (wrap_up.due_at - intro.due_at) if intro and wrap_up else None
    answers = tuple(
        MemberAnswer(a["question"], a["content"], datetime.fromisoformat(a["created_at"]).astimezone(zone),
                     store.revision_count(guild_id, a["message_id"]))
        for a in sorted(mine, key=lambda a: (a["question"], a["created_at"])))
    d = chat.definition
    return CpdRecord(
        chat_id=chat.id, title=d.title, hashtag=d.hashtag, start=start.astimezone(zone),
        minutes=max(0, round(length.total_seconds() / 60)) if length else 0, timezone=chat.timezone,
        questions=tuple((q.number, q.text) for q in d.questions),
        reading=tuple((r.title, r.url) for r in d.reading), answers=answers,
        reflection=store.reflection(guild_id, chat_id, member_id),
        framework=framework_for(chat.timezone))


def member_records(store: Store, guild_id: int, member_id: int) -> list[CpdRecord]:
    """Every chat of a server the member took part in, oldest first."""
    out = []
    for chat_id in store.chats_answered_by(guild_id, member_id):
        try:
            record = build_cpd_record(store, guild_id, chat_id, member_id)
        except StoreError:
            continue
        if record is not None:
            out.append(record)
    return sorted(out, key=lambda r: r.start)


# -- rendering ----------------------------------------------------------------------------


def render_cpd(records: list[CpdRecord], fmt: str) -> bytes:
    """One or more records as one file in `fmt` (md, html or json)."""
    if fmt == "md":
        return "\n\n---\n\n".join(_markdown(r) for r in records).encode("utf-8")
    if fmt == "html":
        return _html(records).encode("utf-8")
    if fmt == "json":
        return (json.dumps([_plain(r) for r in records], ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    raise ValueError(f"unknown CPD format {fmt!r}: use one of {', '.join(FORMATS)}")


def _label(answer: MemberAnswer) -> str:
    return "My introduction" if answer.question == INTRODUCTIONS else f"My answer to Q{answer.question}"


def _date(r: CpdRecord) -> str:
    return f"{r.start:%A} {r.start.day} {r.start:%B %Y, %H:%M} {r.start.tzname()}"


def _markdown(r: CpdRecord) -> str:
    out = [f"# CPD record: {r.title}", "",
           f"{_date(r)} · {r.minutes} minutes · online tweetchat"
           + (f" {r.hashtag}" if r.hashtag else "") + f" · chat {r.chat_id}", ""]
    if r.reading:
        out += ["## Pre-chat reading", ""] + [f"- {title}: {url}" for title, url in r.reading] + [""]
    out += ["## Questions", ""] + [f"{n}. {text}" for n, text in r.questions] + [""]
    out += ["## My contributions", ""]
    for a in r.answers:
        edited = f", edited {a.edits}×" if a.edits else ""
        out += [f"**{_label(a)}** ({a.posted:%H:%M}{edited})", ""]
        out += [f"> {line}" for line in a.text.splitlines() or [""]] + [""]
    out += [f"## Reflection ({r.framework.name})", ""]
    reflection = r.reflection or Reflection("", "", "")
    for prompt, text in zip(r.framework.prompts, (reflection.learned, reflection.change, reflection.standards)):
        out += [f"**{prompt}**", "", text.strip() or "_(to write: /cpd reflect)_", ""]
    if r.framework.standards:
        out += ["The standards, in brief:", ""] + [f"- {s}" for s in r.framework.standards] + [""]
        out += [f"Source: {r.framework.source}", ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}blockquote{margin:.3rem 0 1rem;padding:.2rem .8rem;
border-left:3px solid #2b7a78;background:#f4f8f8;white-space:pre-wrap;overflow-wrap:anywhere}
a{overflow-wrap:anywhere}.todo{color:#777;font-style:italic}article{page-break-after:always}
@media print{body{margin:0}}"""


def _html(records: list[CpdRecord]) -> str:
    e = html.escape
    out = ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>CPD record</title>", f"<style>{_CSS}</style>", "</head>", "<body>"]
    for r in records:
        out += ["<article>", f"<h1>CPD record: {e(r.title)}</h1>",
                f"<p>{e(_date(r))} · {r.minutes} minutes · online tweetchat"
                + (f" {e(r.hashtag)}" if r.hashtag else "") + "</p>"]
        if r.reading:
            out.append("<h2>Pre-chat reading</h2><ul>")
            out += [f'<li>{e(title)}: <a href="{e(url)}">{e(url)}</a></li>' for title, url in r.reading]
            out.append("</ul>")
        out.append("<h2>Questions</h2><ol>")
        out += [f'<li value="{n}">{e(text)}</li>' for n, text in r.questions]
        out += ["</ol>", "<h2>My contributions</h2>"]
        for a in r.answers:
            edited = f", edited {a.edits}×" if a.edits else ""
            out += [f"<p><strong>{e(_label(a))}</strong> ({a.posted:%H:%M}{edited})</p>",
                    f"<blockquote>{e(a.text)}</blockquote>"]
        out.append(f"<h2>Reflection ({e(r.framework.name)})</h2>")
        reflection = r.reflection or Reflection("", "", "")
        for prompt, text in zip(r.framework.prompts, (reflection.learned, reflection.change, reflection.standards)):
            body = (f"<blockquote>{e(text.strip())}</blockquote>" if text.strip()
                    else '<p class="todo">(to write: /cpd reflect)</p>')
            out += [f"<p><strong>{e(prompt)}</strong></p>", body]
        if r.framework.standards:
            out.append("<p>The standards, in brief:</p><ul>")
            out += [f"<li>{e(s)}</li>" for s in r.framework.standards]
            out += ["</ul>", f"<p><small>Source: {e(r.framework.source)}</small></p>"]
        out.append("</article>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _plain(r: CpdRecord) -> dict:
    return {
        "chat_id": r.chat_id, "title": r.title, "hashtag": r.hashtag, "start": r.start.isoformat(),
        "minutes": r.minutes, "timezone": r.timezone,
        "questions": [{"number": n, "text": t} for n, t in r.questions],
        "reading": [{"title": t, "url": u} for t, u in r.reading],
        "answers": [{"question": a.question, "text": a.text, "posted": a.posted.isoformat(),
                     "edits": a.edits} for a in r.answers],
        "reflection": None if r.reflection is None else {
            "learned": r.reflection.learned, "change": r.reflection.change,
            "standards": r.reflection.standards,
            "updated": r.reflection.updated.isoformat() if r.reflection.updated else None},
        "framework": r.framework.key,
    }
