"""Statistics of a chat and their chart: how many took part, when, and on which question.

:func:`chat_stats` reads counts that the store computes in SQL (never every answer) into
a :class:`ChatStats`; :func:`render_chart` draws answers per minute as a PNG. Like the
transcript, the figures count *shown* answers: not withdrawn, and not by a member who
opted out. Erased answers (a member's `/mydata delete`, retention) survive only as
anonymous counts, reported separately.

No member is ranked unless a moderator explicitly asks: :func:`top_contributors` is not
part of the summary.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.chat.posts import plural
from bot.store import Store
from bot.chat.timeline import StepKind

MINUTE = timedelta(minutes=1)
# Answers this long after the wrap-up still count, but are not drawn minute by minute:
# a thread left open for days must not turn the chart into thousands of empty minutes.
LATE_WINDOW = timedelta(hours=2)

# Chart colours that read on Discord's dark (#313338) and light (#FFFFFF) themes alike,
# on a transparent background: mid-tone hues and a mid grey for text and axes.
CHART_BARS = "#5865F2"  # Discord's blurple
CHART_MARKERS = "#E67E22"
CHART_TEXT = "#80848E"  # Discord's own muted text colour


@dataclass(frozen=True)
class ChatStats:
    """A chat's statistics, as plain data; times are aware, in the chat's zone."""

    chat_id: int
    title: str
    timezone: str
    participants: int
    first_time_participants: int  # no answer in any of the server's earlier chats
    answers: int  # shown answers
    answers_per_question: dict[int, int]  # every question of the chat, zero included
    participants_per_question: dict[int, int]
    replies: int  # shown answers that reply to another answer
    busiest_minute: tuple[datetime, int] | None  # (start of the minute, answers in it)
    per_minute: list[tuple[datetime, int]]  # every minute of the window, zero-filled
    question_times: dict[int, datetime]  # when each posted question was posted
    erased: dict[int, tuple[int, int]]  # question -> (answers, participants), anonymous
    withheld: int  # answers left out because their authors opted out
    later_answers: int  # answers after the per-minute window (LATE_WINDOW past the wrap-up)
    introduced: int = 0  # members who introduced themselves before Q1 (shown introductions)

    @property
    def erased_answers(self) -> int:
        return sum(answers for answers, _ in self.erased.values())

    def summary_lines(self) -> list[str]:
        """Short lines for a Discord embed or the terminal; no member is named."""
        people = plural(self.participants, "member")
        lines = [f"{plural(self.answers, 'answer')} from {people}"
                 + (f", {self.first_time_participants} taking part for the first time"
                    if self.first_time_participants else "")]
        if self.introduced:
            lines.append(f"{plural(self.introduced, 'member')} introduced themselves before Q1")
        if self.answers_per_question:
            lines.append(" · ".join(
                f"Q{q}: {n} from {self.participants_per_question.get(q, 0)}"
                for q, n in self.answers_per_question.items()))
        lines.append(f"{plural(self.replies, 'reply', 'replies')} between members")
        if self.busiest_minute:
            minute, count = self.busiest_minute
            lines.append(f"Busiest minute: {minute:%H:%M} {minute.tzname()} "
                         f"({plural(count, 'answer')})")
        if self.later_answers:
            lines.append(f"{plural(self.later_answers, 'answer')} came more than "
                         f"{LATE_WINDOW.seconds // 3600} hours after the wrap-up")
        hidden = []
        if self.erased_answers:
            hidden.append(f"{plural(self.erased_answers, 'answer')} since deleted")
        if self.withheld:
            hidden.append(f"{plural(self.withheld, 'answer')} left out at their "
                          "authors' request")
        if hidden:
            lines.append("Plus " + " and ".join(hidden) + " (not counted above)")
        return lines


def chat_stats(store: Store, guild_id: int, chat_id: int) -> ChatStats:
    """The statistics of a chat of a server (a StoreError if it is not there).

    The window of `per_minute` runs from the intro to the later of the wrap-up and the
    last answer, but at most LATE_WINDOW past the wrap-up; later answers are counted in
    `later_answers` (and in every other figure).
    """
    chat = store.chat(guild_id, chat_id)
    zone = ZoneInfo(chat.timezone)
    totals = store.chat_totals(guild_id, chat_id)
    by_question = {q: (n, people) for q, n, people in store.shown_counts_by_question(guild_id, chat_id)}
    numbers = [q.number for q in chat.definition.questions]
    numbers += sorted(set(by_question) - set(numbers))

    steps = store.steps(guild_id, chat_id)
    opened = next((s.posted_at or s.due_at for s in steps if s.kind is StepKind.INTRO),
                  chat.start_at)
    wrap_up = next((s.posted_at or s.due_at for s in steps if s.kind is StepKind.WRAP_UP),
                   opened)
    question_times = {s.question: s.posted_at.astimezone(zone) for s in steps
                      if s.kind is StepKind.QUESTION and s.posted_at}

    minutes = store.shown_counts_by_minute(guild_id, chat_id)
    first = _minute_floor(opened)
    last_in_window = max((m for m, _ in minutes if m <= wrap_up + LATE_WINDOW), default=wrap_up)
    end = _minute_floor(max(wrap_up, last_in_window))
    counted = {m: n for m, n in minutes if m <= end}
    per_minute = []
    moment = first
    while moment <= end:
        per_minute.append((moment.astimezone(zone), counted.get(moment, 0)))
        moment += MINUTE
    busiest = max(minutes, key=lambda mn: (mn[1], -mn[0].timestamp()), default=None)

    return ChatStats(
        chat_id=chat.id, title=chat.title, timezone=chat.timezone,
        participants=totals["participants"],
        first_time_participants=totals["first_time_participants"],
        answers=totals["answers"],
        answers_per_question={q: by_question.get(q, (0, 0))[0] for q in numbers},
        participants_per_question={q: by_question.get(q, (0, 0))[1] for q in numbers},
        replies=totals["replies"],
        busiest_minute=(busiest[0].astimezone(zone), busiest[1]) if busiest else None,
        per_minute=per_minute, question_times=question_times,
        erased={q: tally for q, tally in store.erased_tallies(guild_id, chat_id).items() if q},
        withheld=totals["withheld"], later_answers=sum(n for m, n in minutes if m > end),
        introduced=store.introduction_counts(guild_id, chat_id)[1],
    )


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def top_contributors(store: Store, guild_id: int, chat_id: int, limit: int = 5) -> list[tuple[str, int]]:
    """(display name, answers) of the members who answered most, most first. Only for a
    moderator who explicitly asks for a ranking: never part of the default summary."""
    return store.top_authors(guild_id, chat_id, limit)


def render_chart(stats: ChatStats) -> bytes:
    """Answers per minute as a PNG: bars, a labelled marker at each question's time, the
    x axis in the chat's local time, on a transparent background that reads on Discord's
    dark and light themes."""
    # Imported here: matplotlib takes a while to import, and only charts need it.
    from matplotlib import dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    zone = ZoneInfo(stats.timezone)
    style = {"color": CHART_TEXT, "fontsize": 13, "parse_math": False}
    fig = Figure(figsize=(10, 4.2), dpi=120)
    FigureCanvasAgg(fig)  # no pyplot: no global state, safe in a worker thread
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("bottom", "left"):
        ax.spines[side].set_color(CHART_TEXT)
    ax.tick_params(colors=CHART_TEXT, labelsize=12)

    times = [m for m, _ in stats.per_minute]
    counts = [n for _, n in stats.per_minute]
    if times:
        ax.bar(times, counts, width=MINUTE * 0.85, align="edge", color=CHART_BARS, linewidth=0)
        ax.set_xlim(times[0], times[-1] + MINUTE)
    peak = max(counts, default=0)
    ax.set_ylim(0, max(peak, 1) * 1.25)
    window = (times[-1] + MINUTE - times[0]) if times else MINUTE
    last_label: list[datetime | None] = [None, None, None]  # per row of labels
    for number, moment in sorted(stats.question_times.items()):
        ax.axvline(moment, color=CHART_MARKERS, linewidth=1.6, linestyle=(0, (4, 3)))
        # Questions closer than ~4% of the width apart get their labels on the next row.
        row = next((r for r, seen in enumerate(last_label)
                    if seen is None or moment - seen > window * 0.04), 0)
        last_label[row] = moment
        ax.annotate(f"Q{number}", (moment, 1), xycoords=("data", "axes fraction"),
                    xytext=(3, -2 - 15 * row), textcoords="offset points", va="top", ha="left",
                    color=CHART_MARKERS, fontsize=12, fontweight="bold", annotation_clip=False)
    if not stats.answers:
        ax.text(0.5, 0.5, "No answers", transform=ax.transAxes, ha="center", va="center", **style)

    # Ticks on whole minutes only (a compressed rehearsal is shorter than a minute).
    minutes = max(1, int(window.total_seconds() // 60))
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 240) if minutes / s <= 10), 480)
    ax.xaxis.set_major_locator(mdates.MinuteLocator(byminute=range(0, 60, step), tz=zone)
                               if step < 60 else mdates.HourLocator(interval=step // 60, tz=zone))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", color=CHART_TEXT, alpha=0.25, linewidth=0.8)
    ax.set_axisbelow(True)
    start = times[0] if times else None
    ax.set_title("Answers per minute", loc="left", fontweight="bold", pad=14, **style)
    if start is not None:
        ax.set_xlabel(f"{start:%a %d %b %Y}, {stats.timezone} time", **style)
    fig.tight_layout()

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", transparent=True, metadata={"Software": None})
    return buffer.getvalue()

