"""Transcripts of a chat run on the sandbox (see e2e/recorded_chat.py): every format is
parsed back and checked against the store and against what the scripted members did,
and the HTML is opened in a real headless browser."""

from __future__ import annotations

import csv
import html
import html.parser
import io
import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from markdown_it import MarkdownIt

from bot.record import privacy
from bot.__main__ import EXIT_INVALID, main
from bot.store import StoreError
from bot.chat.timeline import build_timeline
from bot.record.transcript import (FORMATS, HIDDEN_PARENT, MAX_DEPTH, _walk, build_transcript,
                                   render, transcript_filename)
from e2e.recorded_chat import HOSTILE_NAME, HOSTILE_TEXT, HOSTILE_TEXT_2
from record.browser import chromium
from seed import EVENING, ROOT

SCHEMA = json.loads((ROOT / "docs" / "transcript.schema.json").read_text())


# -- what the transcript should hold, from the raw rows ------------------------------------


def expected_rows(store, guild_id, chat_id) -> dict[int, dict]:
    """message id -> the fields a transcript row must have, computed from raw rows."""
    raw = {r["message_id"]: r for r in store.answers(guild_id, chat_id, include_withdrawn=True)}
    opted_out = store.opted_out_members(guild_id)

    def shown(row):
        return row["deleted_at"] is None and row["author_id"] not in opted_out

    rows = {}
    for message_id, r in raw.items():
        if not shown(r):
            continue
        parent = raw.get(r["reply_to"])
        rows[message_id] = {
            "question": r["question"], "author_id": r["author_id"],
            "author_name": r["author_name"], "content": r["content"],
            "edit_count": len(store.revisions(guild_id, message_id)) - 1,
            "reply_to": r["reply_to"] if parent and shown(parent) else None,
            "reply_to_hidden": bool(parent) and not shown(parent),
            "via": r["via"],
        }
    return rows


def flatten(answers: list[dict]) -> list[dict]:
    out = []
    for a in answers:
        out.append(a)
        out += flatten(a["replies"])
    return out


def unescape_md(text: str) -> str:
    """What a CommonMark reader shows for backslash-escaped text."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


@pytest.fixture
def transcript(recorded_chat, recorded_store):
    return build_transcript(recorded_store, recorded_chat.guild_id, recorded_chat.chat_id)


# -- the data ---------------------------------------------------------------------------------


def test_transcript_holds_the_shown_answers_and_the_script_agrees(recorded_chat, recorded_store,
                                                                  transcript):
    rec = recorded_chat
    expected = expected_rows(recorded_store, rec.guild_id, rec.chat_id)
    answers = {a.message_id: a for a, _ in transcript.walk()}
    # What the members did, independently of the store: the same answers are shown.
    assert set(answers) == {s.message_id for s in rec.shown()} == set(expected)
    assert not set(answers) & {s.message_id for s in rec.left_out()}
    for sent in rec.shown():
        a = answers[sent.message_id]
        assert (a.question, a.content, a.edit_count, a.via) == (
            sent.question, sent.content, sent.edits, sent.via)
        assert a.author_name == rec.display_names[sent.author]
        assert a.edited is (sent.edits > 0)
        assert a.created.tzinfo is not None and a.created.utcoffset() == transcript.start.utcoffset()
        assert a.attachments == sent.attachments
    assert transcript.timezone == "Europe/London"
    assert [q.number for q in transcript.questions] == [1, 2, 3, 4, 5, 6]
    assert all(q.posted for q in transcript.questions)


def test_replies_nest_and_replies_to_left_out_answers_are_marked(recorded_chat, transcript):
    rec = recorded_chat
    by_content = {a.content: (a, depth) for a, depth in transcript.walk()}
    first, depth = by_content["Replying to the first answer"]
    assert depth == 1 and [r.content for r in first.replies] == ["And a reply to that reply"]
    assert by_content["And a reply to that reply"][1] == 2
    for text in ("Replying to olive", "Replying before it was withdrawn"):  # opted out, withdrawn
        reply, depth = by_content[text]
        assert depth == 0 and reply.reply_to is None and reply.reply_to_hidden
    assert sum(a.reply_to_hidden for a, _ in transcript.walk()) == 2
    assert transcript.answer_count == len(rec.shown())


def test_a_chat_of_another_server_is_refused(recorded_chat, recorded_store):
    with pytest.raises(StoreError):
        build_transcript(recorded_store, recorded_chat.guild_id + 1, recorded_chat.chat_id)


def test_deep_reply_chains_stop_nesting_at_max_depth_and_keep_their_reply_to(store, seed):
    chat = store.create_chat(guild_id=1, channel_id=2, definition=seed, start_at=EVENING,
                             timezone_name="America/New_York",
                             steps=build_timeline(seed, EVENING), created_by=None, now=EVENING)
    parent = None
    for i in range(MAX_DEPTH + 4):
        store.add_answer(guild_id=1, chat_id=chat.id, question=1, message_id=100 + i,
                         channel_id=9, via="thread", author_id=7, author_name="Ann",
                         content=f"level {i}", created_at=EVENING + timedelta(seconds=i),
                         reply_to=parent, recorded_at=EVENING)
        parent = 100 + i
    t = build_transcript(store, 1, chat.id)
    depths = [(a.content, d, a.reply_to) for a, d in t.walk()]
    assert [d for _, d, _ in depths] == [*range(MAX_DEPTH + 1), MAX_DEPTH, MAX_DEPTH, MAX_DEPTH]
    assert [r for _, _, r in depths] == [None, *range(100, 100 + MAX_DEPTH + 3)]
    assert t.questions[0].answers[0].created.tzname() == "EST"
    md = render(t, "md").decode()
    assert "in reply to Ann" in md  # the flattened ones say whom they reply to


# -- each format, parsed back -------------------------------------------------------------------


def test_json_validates_against_the_schema_and_its_rows_match_the_store(recorded_chat,
                                                                       recorded_store, transcript):
    rec = recorded_chat
    document = json.loads(render(transcript, "json"))
    jsonschema.validate(document, SCHEMA)
    jsonschema.validate(document, strict(SCHEMA))  # and every field it has is documented
    assert document["schema"] == 1 and document["chat"]["id"] == rec.chat_id
    rows = [a for q in document["questions"] for a in flatten(q["answers"])]
    expected = expected_rows(recorded_store, rec.guild_id, rec.chat_id)
    assert sorted(int(a["message_id"]) for a in rows) == sorted(expected)
    for a in rows:
        want = expected[int(a["message_id"])]
        assert int(a["author"]["id"]) == want["author_id"]
        assert a["author"]["name"] == want["author_name"]
        assert (a["question"], a["content"], a["edit_count"], a["via"], a["reply_to_hidden"]) == (
            want["question"], want["content"], want["edit_count"], want["via"],
            want["reply_to_hidden"])
        assert a["reply_to"] == (str(want["reply_to"]) if want["reply_to"] else None)
    # Nested replies sit under the answer they name.
    for q in document["questions"]:
        for a in flatten(q["answers"]):
            assert all(r["reply_to"] == a["message_id"] for r in a["replies"])


def strict(schema):
    """The schema with no undocumented fields allowed."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def test_json_doc_describes_every_field_of_the_schema():
    doc = (ROOT / "docs" / "transcript-json.md").read_text()
    names = set()

    def collect(node):
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(SCHEMA)
    assert [n for n in sorted(names) if f"`{n}`" not in doc] == []


def test_csv_has_one_row_per_shown_answer_matching_the_store(recorded_chat, recorded_store,
                                                            transcript):
    rec = recorded_chat
    data = render(transcript, "csv")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for spreadsheets
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    expected = expected_rows(recorded_store, rec.guild_id, rec.chat_id)
    assert sorted(int(r["message_id"]) for r in rows) == sorted(expected)

    def text(cell):  # the formula guard: one leading apostrophe added where needed
        return cell[1:] if cell.startswith("'") else cell

    for r in rows:
        want = expected[int(r["message_id"])]
        assert int(r["question"]) == want["question"]
        assert (int(r["author_id"]), text(r["author"])) == (want["author_id"], want["author_name"])
        assert text(r["content"]) == want["content"]
        assert int(r["edit_count"]) == want["edit_count"]
        assert r["reply_to"] == (str(want["reply_to"]) if want["reply_to"] else "")
        assert r["reply_to_hidden"] == ("true" if want["reply_to_hidden"] else "false")
        assert r["created"] and (r["edited_at"] != "") == (want["edit_count"] > 0)
    hostile = next(r for r in rows if text(r["content"]) == HOSTILE_TEXT)
    assert "\n" in hostile["content"] and "|" in hostile["content"]
    assert text(hostile["attachments"]) == "eve's <notes>.txt"


def test_markdown_shows_every_shown_answer_and_member_text_cannot_break_it(recorded_chat,
                                                                           transcript):
    rec = recorded_chat
    text = render(transcript, "md").decode()
    # Parse it back: each answer is "- **name** · time ..." then its text quoted.
    found, lines, i = [], text.split("\n"), 0
    head = re.compile(r"^( *)- \*\*((?:\\.|[^\\*])+)\*\* · ")
    while i < len(lines):
        m = head.match(lines[i])
        i += 1
        if not m:
            continue
        quote_prefix = m[1] + "  > "
        while i < len(lines) and not lines[i].strip():
            i += 1
        body = []
        while i < len(lines) and lines[i].startswith(quote_prefix.rstrip()):
            body.append(lines[i][len(quote_prefix):])
            i += 1
        found.append((unescape_md(m[2]), unescape_md("\n".join(body))))
    expected = sorted((rec.display_names[s.author], s.content) for s in rec.shown())
    assert sorted(found) == expected
    for sent in rec.left_out():
        assert sent.content not in text
    assert text.count(HIDDEN_PARENT) == 2

    # A CommonMark reader (raw HTML on, as many are) sees only our structure.
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    headings = [tokens[k + 1].content for k, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [transcript.title, "Intro", *(f"Q{n}" for n in range(1, 7)), "Wrap-up"]
    inline = [c for t in tokens if t.children for c in t.children]
    assert not [t for t in [*tokens, *inline] if t.type in ("html_block", "html_inline")]
    links = [c.attrs["href"] for c in inline if c.type == "link_open"]
    assert links == [url for _, url in transcript.reading]
    rendered = MarkdownIt("commonmark").render(text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered and "<script" not in rendered
    assert "<strong>markdown</strong>" in rendered  # Discord's own formatting is kept
    assert "**bold** | [me](https://example.com)" in rendered  # the name, shown literally


class _Text(html.parser.HTMLParser):
    """Collects the text of elements by class, and every tag name seen."""

    def __init__(self) -> None:
        super().__init__()
        self.tags, self.texts, self._open = [], {}, []

    VOID = {"meta", "link", "br", "img", "input", "hr", "base"}

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self._open.append(dict(attrs).get("class"))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1]:
            self.texts.setdefault(self._open[-1], []).append(data)


def check_html_page(page: str, rec, transcript) -> _Text:
    parsed = _Text()
    parsed.feed(page)
    contents = sorted(c for c in parsed.texts.get("text", []))
    assert contents == sorted(s.content for s in rec.shown() if s.content.strip())
    assert sorted(parsed.texts["author"]) == sorted(rec.display_names[s.author] for s in rec.shown())
    assert "script" not in parsed.tags and "img" not in parsed.tags and "a" in parsed.tags
    for sent in rec.left_out():
        assert sent.content not in page
    for q in transcript.questions:
        assert q.text in parsed.texts["question-text"]
    return parsed


def test_html_has_contents_with_counts_the_wrap_up_and_late_answers_marked(store, seed):
    """The record worth keeping: a table of contents by question with answer counts, the
    wrap-up, answers after the wrap-up marked, long links that wrap on a phone."""
    steps = build_timeline(seed, EVENING)
    chat = store.create_chat(guild_id=1, channel_id=2, definition=seed, start_at=EVENING,
                             timezone_name="Europe/London", steps=steps, created_by=None, now=EVENING)
    wrap = next(s for s in store.steps(1, chat.id) if s.kind.value == "wrap_up")
    store.claim_step(1, wrap.id, wrap.due_at)
    store.mark_posted(1, wrap.id, message_id=5, posted_at=wrap.due_at, late_seconds=None,
                      needs_thread=False)
    for i, (question, minutes) in enumerate([(1, 6), (1, 7), (2, 16), (2, 120)]):
        store.add_answer(guild_id=1, chat_id=chat.id, question=question, message_id=200 + i,
                         channel_id=9, via="thread", author_id=7 + i, author_name=f"M{i}",
                         content=f"answer {i} https://example.org/{'very-long-path-' * 8}",
                         created_at=EVENING + timedelta(minutes=minutes), reply_to=None,
                         recorded_at=EVENING)
    t = build_transcript(store, 1, chat.id)
    page = render(t, "html").decode()
    contents = page[page.index('<nav id="contents"'):page.index("</nav>")]
    assert '<a href="#q1">Q1</a>' in contents and "(2 answers)" in contents
    assert '<a href="#q3">Q3</a>' in contents and "(0 answers)" in contents
    assert '<a href="#wrap-up">Wrap-up</a>' in contents
    assert '<section id="wrap-up">' in page and html.escape(seed.wrap_up.strip()[:40]) in page
    assert page.count("after the wrap-up") == 1  # only the answer two hours in
    assert "overflow-wrap: anywhere" in page and 'name="viewport"' in page
    md = render(t, "md").decode()
    assert "## Wrap-up" in md and md.count("after the wrap-up") == 1


def test_html_is_standalone_escaped_and_forbids_scripts(recorded_chat, transcript):
    page = render(transcript, "html").decode()
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "Content-Security-Policy" in page and "script-src 'none'" in html.unescape(page)
    assert "@media print" in page  # print-friendly, and no external assets:
    assert not re.search(r"<(script|img|link|iframe|object|embed)\b", page, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    check_html_page(page, recorded_chat, transcript)


def dump_dom(browser: str, page: Path, tmp_path: Path) -> str:
    profile = tmp_path / f"profile-{page.stem}"
    try:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=2000",
             "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        # An alert() blocks a headless page for good: a script ran, or the browser hung.
        pytest.fail(f"chromium did not finish loading {page.name} in 30 s (did an alert run?)")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_html_in_a_real_browser_shows_everything_and_runs_nothing(recorded_chat, transcript,
                                                                   tmp_path):
    browser = chromium()
    page = tmp_path / "transcript.html"
    page.write_bytes(render(transcript, "html"))
    # A control page first: this browser, so started, does run scripts and handlers.
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><title>before</title><img src="x" '
                       "onerror=\"document.title='pwned'\"><script>document.body.dataset.ran=1"
                       "</script>")
    assert "<title>pwned</title>" in dump_dom(browser, control, tmp_path)

    dom = dump_dom(browser, page, tmp_path)
    assert f"<title>{transcript.title}</title>" in dom  # onerror="document.title='pwned'" never ran
    assert "pwned</title>" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=" in dom
    parsed = check_html_page(dom, recorded_chat, transcript)
    assert HOSTILE_TEXT_2 in parsed.texts["text"] and HOSTILE_NAME in parsed.texts["author"]


LAYOUT = """({
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  contents: [...document.querySelectorAll('nav#contents li')].map(li => li.textContent.trim()),
  wrapUp: !!document.querySelector('section#wrap-up'),
  widest: Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right)),
  fontSize: parseFloat(getComputedStyle(document.body).fontSize),
})"""


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
async def test_the_html_transcript_reads_well_at_desktop_and_phone_width(recorded_chat, transcript,
                                                                         tmp_path, width, height):
    """The page as a person sees it: the table of contents lists every question with its
    answer count, the wrap-up is there, and nothing is wider than the screen (long links
    and names wrap), at desktop and at phone width. Screenshots are left in the test's
    temporary folder as artefacts, never committed."""
    from record.browser import evaluate, open_page, screenshot

    browser = chromium()
    page = tmp_path / "transcript.html"
    page.write_bytes(render(transcript, "html"))
    async with open_page(browser, page, tmp_path / f"profile-{width}", width=width, height=height) as call:
        layout = await evaluate(call, LAYOUT)
        shot = await screenshot(call, tmp_path / f"transcript-{width}.png")
    assert layout["overflow"] <= 0 and layout["widest"] <= width + 1, layout
    counts = {q.number: sum(1 for _ in _walk(q.answers)) for q in transcript.questions}
    for q in transcript.questions:
        line = next(c for c in layout["contents"] if c.startswith(f"Q{q.number} "))
        assert line.endswith(f"({counts[q.number]} answer{'s' if counts[q.number] != 1 else ''})"), line
    assert layout["contents"][-1] == "Wrap-up" and layout["wrapUp"]
    assert layout["fontSize"] >= 16  # readable on a phone without zooming
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_a_missing_browser_skips_unless_ci_requires_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("TWEETCHAT_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        chromium(candidates=())
    monkeypatch.setenv("TWEETCHAT_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="TWEETCHAT_REQUIRE_BROWSER=1"):
        chromium(candidates=())


# -- formats, names and errors ----------------------------------------------------------------


def test_unknown_format_is_a_clear_value_error(transcript):
    with pytest.raises(ValueError, match="unknown transcript format 'pdf'.*md, html, csv, json"):
        render(transcript, "pdf")
    with pytest.raises(ValueError):
        transcript_filename(transcript, "pdf")


def test_filenames_are_safe_and_say_what_they_are(transcript):
    for fmt, (mime, ext) in FORMATS.items():
        name = transcript_filename(transcript, fmt)
        assert re.fullmatch(r"[a-z0-9-]+\.[a-z]+", name), name
        assert name == f"physiotalk-{transcript.start:%Y-%m-%d}-chat-{transcript.chat_id}.{ext}"
        assert "/" in mime
    from dataclasses import replace
    odd = replace(transcript, hashtag="#../Évènement ✨", title="x")
    assert transcript_filename(odd, "md").startswith("evenement-")
    assert transcript_filename(replace(transcript, hashtag="", title="✨"), "md").startswith("tweetchat-")


def test_opting_back_in_brings_answers_back(recorded_chat, recorded_store):
    rec = recorded_chat
    before = build_transcript(recorded_store, rec.guild_id, rec.chat_id).answer_count
    privacy.set_opt_out(recorded_store, rec.guild_id, rec.opted_out_id, False, EVENING)
    after = build_transcript(recorded_store, rec.guild_id, rec.chat_id).answer_count
    assert after - before == sum(1 for s in rec.sent.values()
                                 if rec.user_ids[s.author] == rec.opted_out_id and not s.withdrawn)


# -- the command line ---------------------------------------------------------------------------


def test_cli_export_writes_each_format(recorded_chat, tmp_path, capsys):
    db = tmp_path / "copy.db"
    shutil.copy(recorded_chat.db, db)
    chat = str(recorded_chat.chat_id)
    assert main(["export", chat, "--format", "json", "-o", str(tmp_path / "t.json"),
                 "--db", str(db)]) == 0
    jsonschema.validate(json.loads((tmp_path / "t.json").read_text()), SCHEMA)
    assert main(["export", chat, "--db", str(db)]) == 0  # Markdown on standard output
    out = capsys.readouterr().out
    assert out.startswith("# 50 shades of grey") and HIDDEN_PARENT in out


def test_cli_export_of_an_unknown_chat_lists_the_chats_and_exits_2(recorded_chat, tmp_path, capsys):
    db = tmp_path / "copy.db"
    shutil.copy(recorded_chat.db, db)
    assert main(["export", "999", "--db", str(db)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "there is no chat 999" in err
    assert f"#{recorded_chat.chat_id} 50 shades of grey" in err and err.count("\n") == 1
    assert main(["export", "1", "--db", str(tmp_path / "missing.db")]) == EXIT_INVALID
    assert "there is no database at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
