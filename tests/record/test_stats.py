"""Statistics and the chart, on the chat run on the sandbox (e2e/recorded_chat.py) and on
small stores with known times; expected figures are computed here, from what the
scripted members did or from raw rows."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections import Counter
from datetime import timedelta


from bot.record import privacy
from bot.__main__ import EXIT_INVALID, main
from bot.record.stats import LATE_WINDOW, chat_stats, render_chart, top_contributors
from bot.store import StepState
from bot.chat.timeline import StepKind, build_timeline
from seed import EVENING, ROOT


def test_statistics_match_what_the_members_did(recorded_chat, recorded_store):
    rec = recorded_chat
    stats = chat_stats(recorded_store, rec.guild_id, rec.chat_id)
    shown = rec.shown()
    assert stats.answers == len(shown)
    assert stats.participants == len({s.author for s in shown})
    assert stats.first_time_participants == stats.participants  # the server's first chat
    assert stats.answers_per_question == dict(sorted(Counter(s.question for s in shown).items()))
    assert stats.participants_per_question == {
        q: len({s.author for s in shown if s.question == q}) for q in range(1, 7)}
    assert stats.replies == sum(1 for s in shown if s.reply_to)
    assert stats.withheld == sum(1 for s in rec.sent.values()
                                 if rec.user_ids[s.author] == rec.opted_out_id and not s.withdrawn)
    assert stats.erased == {} and stats.later_answers == 0

    # Minutes, from raw rows.
    raw = recorded_store.answers(rec.guild_id, rec.chat_id)
    minutes = Counter(r["created_at"][:16] for r in raw if r["author_id"] != rec.opted_out_id)
    busiest = max(sorted(minutes.items()), key=lambda kv: kv[1])
    when, count = stats.busiest_minute
    assert (when.astimezone(EVENING.tzinfo).isoformat()[:16], count) == busiest
    assert when.tzinfo is not None and str(when.tzinfo) == "Europe/London"
    steps = recorded_store.steps(rec.guild_id, rec.chat_id)
    intro = next(s for s in steps if s.kind is StepKind.INTRO)
    assert stats.per_minute[0][0] == intro.posted_at.replace(second=0, microsecond=0)
    assert sum(n for _, n in stats.per_minute) == stats.answers
    gaps = {b[0] - a[0] for a, b in zip(stats.per_minute, stats.per_minute[1:])}
    assert gaps <= {timedelta(minutes=1)}
    assert stats.question_times == {s.question: s.posted_at for s in steps if s.question}

    lines = stats.summary_lines()
    assert lines[0].startswith(f"{stats.answers} answers from {stats.participants} members")
    assert f"Plus {stats.withheld} answers left out at their authors' request" in lines[-1]
    summary = "\n".join(lines)
    assert not any(name in summary for name in rec.display_names.values())  # no one ranked


def test_first_timers_are_those_with_no_answer_in_the_servers_earlier_chats(recorded_chat,
                                                                           recorded_store, seed):
    rec = recorded_chat
    store = recorded_store
    ids = rec.user_ids
    chat = store.chat(rec.guild_id, rec.chat_id)

    def other_chat(guild_id, start, authors):
        other = store.create_chat(guild_id=guild_id, channel_id=5, definition=seed,
                                  start_at=start, timezone_name="Europe/London",
                                  steps=build_timeline(seed, start), created_by=None, now=start)
        for n, name in enumerate(authors):
            store.add_answer(guild_id=guild_id, chat_id=other.id, question=1,
                             message_id=other.id * 1000 + n, channel_id=5, via="thread",
                             author_id=ids[name], author_name=name, content="earlier",
                             created_at=start, recorded_at=start)
        return other

    week = timedelta(days=7)
    earlier = other_chat(rec.guild_id, chat.start_at - week, ["member02", "member03"])
    store.withdraw_answer(rec.guild_id, earlier.id * 1000 + 1, chat.start_at)  # still took part
    other_chat(rec.guild_id, chat.start_at + week, ["member04"])  # later: does not count
    other_chat(rec.guild_id + 1, chat.start_at - week, ["member05"])  # another server
    stats = chat_stats(store, rec.guild_id, rec.chat_id)
    assert stats.first_time_participants == stats.participants - 2
    assert "taking part for the first time" in stats.summary_lines()[0]


def test_erased_answers_are_reported_apart_as_anonymous_counts(recorded_chat, recorded_store):
    rec = recorded_chat
    before = chat_stats(recorded_store, rec.guild_id, rec.chat_id)
    gone = [s for s in rec.shown() if s.author == "member03"]
    privacy.erase_member(recorded_store, rec.guild_id, rec.user_ids["member03"], EVENING)
    after = chat_stats(recorded_store, rec.guild_id, rec.chat_id)
    assert after.answers == before.answers - len(gone)
    assert after.erased_answers == len(gone)
    assert after.erased == {q: (n, 1) for q, n in Counter(s.question for s in gone).items()}
    assert f"{len(gone)} answers since deleted" in after.summary_lines()[-1]


def test_per_minute_window_is_zero_filled_and_late_answers_are_counted_apart(store, seed):
    chat = store.create_chat(guild_id=1, channel_id=2, definition=seed, start_at=EVENING,
                             timezone_name="America/New_York",
                             steps=build_timeline(seed, EVENING), created_by=None, now=EVENING)
    steps = store.steps(1, chat.id)
    for s in steps:
        store.claim_step(1, s.id, s.due_at)
        store.mark_posted(1, s.id, message_id=5000 + s.seq, posted_at=s.due_at,
                            late_seconds=None, needs_thread=False)
    assert all(s.state is StepState.POSTED for s in store.steps(1, chat.id))
    wrap_up = steps[-1].due_at
    at = {  # message id -> minutes after the start, seconds
        1: (5, 10), 2: (5, 50), 3: (6, 0), 4: (17, 30), 5: (17, 31), 6: (17, 59), 7: (40, 0)}
    for message_id, (minutes, seconds) in at.items():
        store.add_answer(guild_id=1, chat_id=chat.id, question=1 if minutes < 15 else 2,
                         message_id=message_id, channel_id=9, via="thread", author_id=message_id % 3,
                         author_name="x", content="a",
                         created_at=EVENING + timedelta(minutes=minutes, seconds=seconds),
                         reply_to=1 if message_id == 2 else None, recorded_at=EVENING)
    late = wrap_up + LATE_WINDOW + timedelta(minutes=5)
    store.add_answer(guild_id=1, chat_id=chat.id, question=6, message_id=99, channel_id=9,
                     via="thread", author_id=1, author_name="x", content="late", created_at=late,
                     recorded_at=late)
    store.withdraw_answer(1, 7, EVENING + timedelta(hours=1))

    stats = chat_stats(store, 1, chat.id)
    assert stats.answers == 7 and stats.replies == 1 and stats.later_answers == 1
    assert [m for m, _ in stats.per_minute][0] == EVENING
    assert stats.per_minute[-1][0] == wrap_up.replace(second=0)
    assert len(stats.per_minute) == int((wrap_up - EVENING).total_seconds() // 60) + 1
    counts = {int((m - EVENING).total_seconds() // 60): n for m, n in stats.per_minute if n}
    assert counts == {5: 2, 6: 1, 17: 3}
    assert stats.busiest_minute == (EVENING + timedelta(minutes=17), 3)
    assert stats.busiest_minute[0].tzname() == "EST"
    assert stats.answers_per_question == {1: 3, 2: 3, 3: 0, 4: 0, 5: 0, 6: 1}
    assert "1 answer came more than 2 hours after the wrap-up" in stats.summary_lines()


def test_chart_is_a_png_of_sensible_size_that_decodes(recorded_chat, recorded_store, store, seed):
    import matplotlib.image

    rec = recorded_chat
    for stats in (chat_stats(recorded_store, rec.guild_id, rec.chat_id),
                  chat_stats(store, 1, store.create_chat(
                      guild_id=1, channel_id=2, definition=seed, start_at=EVENING,
                      timezone_name="Europe/London", steps=build_timeline(seed, EVENING),
                      created_by=None, now=EVENING).id)):  # and one with no answers at all
        png = render_chart(stats)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) < 500_000
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        height, width, channels = pixels.shape
        assert 800 <= width <= 2400 and 300 <= height <= width and channels == 4
        assert pixels[0, 0, 3] == 0  # transparent background, for Discord's both themes


def test_ranking_only_when_asked(recorded_chat, recorded_store):
    rec = recorded_chat
    top = top_contributors(recorded_store, rec.guild_id, rec.chat_id, limit=3)
    counts = Counter(s.author for s in rec.shown())
    assert [n for _, n in top] == sorted(counts.values(), reverse=True)[:3]
    most = max(counts.values())
    assert top[0][0] in {rec.display_names[a] for a, n in counts.items() if n == most}


def test_importing_stats_leaves_matplotlib_unloaded():
    code = "import sys, bot.record.stats, bot.record.transcript; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    assert out.strip() == "False"


def test_cli_stats_prints_the_summary_and_writes_the_chart(recorded_chat, tmp_path, capsys):
    db = tmp_path / "copy.db"
    shutil.copy(recorded_chat.db, db)
    chart = tmp_path / "chart.png"
    assert main(["stats", str(recorded_chat.chat_id), "--chart", str(chart), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "answers from" in out and "Busiest minute" in out and "Most answers" not in out
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert main(["stats", str(recorded_chat.chat_id), "--top", "2", "--db", str(db)]) == 0
    assert "Most answers (asked for with --top 2)" in capsys.readouterr().out
    assert main(["stats", "424242", "--db", str(db)]) == EXIT_INVALID
    assert "there is no chat 424242" in capsys.readouterr().err
