"""What each step of a chat looks like on Discord, as plain data.

Every post is an embed in Discord's JSON shape (the Discord layer hands it to
``discord.Embed.from_dict``), so the text composition and its size limits live in one
place that needs no Discord import. Chat-file validation uses the same limits, so a file
that passes `tweetchat check` always fits.

Each post's footer ends with a *marker* ("chat 12 · Q3") that identifies the step, so
that after a crash the bot can recognise a post it made but did not record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from bot import discord_limits as limits
from bot.chat.definition import ChatDefinition, Question

COLOUR = 0x2B7A78  # a teal that reads on Discord's dark and light themes
LATE_COLOUR = 0xC27C0E

# Room kept for the decoration each kind of post adds around the file's text.
LATE_NOTE_MAX = 220
HOW_TO_MAX = 520
TITLE_MAX = 200
QUESTION_MAX = limits.EMBED_DESCRIPTION - LATE_NOTE_MAX - 16
INTRO_MAX = limits.EMBED_DESCRIPTION - LATE_NOTE_MAX - HOW_TO_MAX
MIDWAY_MAX = limits.EMBED_DESCRIPTION - LATE_NOTE_MAX
WRAP_UP_MAX = limits.EMBED_DESCRIPTION - LATE_NOTE_MAX
ELLIPSIS = "…"


@dataclass(frozen=True)
class Post:
    """One message: an embed, and for questions the name of the thread to open from it."""

    embed: dict[str, Any]
    thread_name: str | None = None
    content: str | None = None
    # Buttons under the message: (label, custom_id); the Discord layer gives them meaning.
    buttons: tuple[tuple[str, str], ...] = ()
    # The one role this post may ping (a server's reminder role, named in `content`);
    # nothing else in any post ever pings.
    ping_role: int | None = None

    def size(self) -> int:
        """Characters counted against Discord's 6,000-character embed total."""
        e = self.embed
        total = len(e.get("title", "")) + len(e.get("description", ""))
        total += len(e.get("footer", {}).get("text", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
        return total


@dataclass(frozen=True)
class QuestionCount:
    """Answers and distinct participants for one question (for the wrap-up)."""

    number: int
    answers: int
    participants: int


@dataclass(frozen=True)
class ChatCounts:
    questions: list[QuestionCount] = field(default_factory=list)
    participants: int = 0
    answers: int = 0


def timestamp(moment: datetime, style: str = "F") -> str:
    """A Discord timestamp tag, shown in each reader's own time zone."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def late_note(due: datetime, posted: datetime) -> str:
    """The line a late post starts with."""
    minutes = max(1, round((posted - due).total_seconds() / 60))
    return (
        f"⏰ **Posted {plural(minutes, 'minute')} late.** It was due "
        f"{timestamp(due, 't')} ({timestamp(due, 'R')}) but the bot could not post it then."
    )


def thread_prefix(number: int) -> str:
    return f"Q{number} · "


def thread_name(number: int, text: str, title: str | None = None) -> str:
    """The thread name for a question: "Q3 · <title or the question, shortened>".

    An explicit title is used as it is (validation refuses one that is too long); the
    question text is shortened at a word boundary to fit Discord's 100 characters.
    """
    prefix = thread_prefix(number)
    if title:
        return prefix + title
    return prefix + shorten(" ".join(text.split()), limits.THREAD_NAME - len(prefix))


def plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 answer", "1,204 answers", "2 replies" (with `many`)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def shorten(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def _embed(title: str, description: str, marker: str, hashtag: str, late: bool) -> dict[str, Any]:
    footer = " · ".join(p for p in (hashtag, marker) if p)
    return {
        "title": title,
        "description": description,
        "color": LATE_COLOUR if late else COLOUR,
        "footer": {"text": footer},
    }


def _with_late(text: str, due: datetime | None, posted: datetime | None) -> str:
    return f"{late_note(due, posted)}\n\n{text}" if due and posted else text


def how_to_take_part(definition: ChatDefinition) -> str:
    """The short format explanation the intro and the midway reminder carry."""
    n = len(definition.questions)
    tag = f" Add {definition.hashtag} if you like." if definition.hashtag else ""
    return (
        f"**How to take part**\n"
        f"• {plural(n, 'question')} (Q1–Q{n}) will be posted here, each with its "
        f"own thread. Answer in the question's thread.\n"
        f"• Or answer here in the channel by starting your message with the number, "
        f"e.g. `A1 …` for Q1.{tag}\n"
        f"• Reply to each other in the threads; be kind, and never share anything that "
        f"could identify a patient."
    )


def reading_list(definition: ChatDefinition) -> str:
    """The pre-chat reading as a Markdown list of links ("" when there is none)."""
    return "\n".join(f"• [{r.title}]({r.url})" for r in definition.reading)


def event_url(guild_id: int, event_id: int) -> str:
    """The link that opens a Discord Scheduled Event."""
    return f"https://discord.com/events/{guild_id}/{event_id}"


def reminder_post(definition: ChatDefinition, marker: str, *, starts: datetime,
                  event: str | None = None, role_id: int | None = None) -> Post:
    """The "starting soon" post before a chat, linking its Event; with `role_id`, it
    pings that role (and only it)."""
    description = (f"**{definition.title}** starts {timestamp(starts, 'F')} "
                   f"({timestamp(starts, 'R')}) here.")
    if event:
        description += f" [See the Event]({event})"
    if definition.reading:
        description += "\n\nPre-chat reading:\n" + reading_list(definition)
    return Post(_embed("Starting soon", description, marker, definition.hashtag, False),
                content=f"<@&{role_id}>" if role_id else None, ping_role=role_id)


def reminder_dm(definition: ChatDefinition, *, starts: datetime, channel_url: str,
                event: str | None = None) -> dict[str, Any]:
    """The embed of the DM reminding a member who asked for it."""
    description = (f"**{definition.title}** starts {timestamp(starts, 'F')} "
                   f"({timestamp(starts, 'R')}). [Open the channel]({channel_url})")
    if event:
        description += f" · [the Event]({event})"
    if definition.reading:
        description += "\n\nPre-chat reading:\n" + reading_list(definition)
    embed = {"title": shorten(f"Starting soon: {definition.title}", limits.EMBED_TITLE),
             "description": shorten(description, limits.EMBED_DESCRIPTION), "color": COLOUR,
             "footer": {"text": "You get this because you marked the Event as interested or "
                                "turned reminders on. /reminders off in the server stops them."}}
    return embed


def intro_post(
    definition: ChatDefinition, marker: str, *, starts: datetime | None = None,
    due: datetime | None = None, posted: datetime | None = None,
) -> Post:
    """The opening post: title, intro, how to take part, hosts, guests, pre-chat reading."""
    description = _with_late(
        f"{definition.intro}\n\n{how_to_take_part(definition)}", due, posted
    )
    embed = _embed(definition.title, description, marker, definition.hashtag, bool(due))
    fields = []
    if definition.hosts:
        fields.append({"name": "Hosts", "value": "\n".join(definition.hosts), "inline": True})
    if definition.guests:
        fields.append({"name": "Guests", "value": "\n".join(definition.guests), "inline": True})
    if starts is not None:
        fields.append({"name": "Starts", "value": timestamp(starts), "inline": True})
    if definition.reading:
        fields.append({"name": "Pre-chat reading", "value": reading_list(definition),
                       "inline": False})
    if fields:
        embed["fields"] = fields
    return Post(embed)


RELATED_GUIDANCE = "guidance:entry:"  # the custom_id prefix of a related-guidance button


def question_post(
    definition: ChatDefinition, question: Question, marker: str, *,
    due: datetime | None = None, posted: datetime | None = None,
    related: Sequence[tuple[str, str]] = (),
) -> Post:
    """A question as an embed, with the name of the thread for its answers; `related` are
    (entry id, title) of guidance entries to show with it, each also a button."""
    n = len(definition.questions)
    description = _with_late(f"**Q{question.number}.** {question.text}", due, posted)
    embed = _embed(f"Q{question.number} of {n}", description, marker, definition.hashtag, bool(due))
    embed["footer"]["text"] = (
        f"Answer in the thread, or start a message with A{question.number} · "
        + embed["footer"]["text"]
    )
    buttons: tuple[tuple[str, str], ...] = ()
    if related:
        embed["fields"] = [{"name": "Related guidance", "inline": False, "value": "\n".join(
            f"📚 {title}" for _, title in related) + "\n*Press a button to read it (only you see it).*"}]
        buttons = tuple((shorten(title, limits.BUTTON_LABEL), f"{RELATED_GUIDANCE}{entry_id}")
                        for entry_id, title in related)
    return Post(embed, thread_name=thread_name(question.number, question.text, question.thread),
                buttons=buttons)


def midway_post(
    definition: ChatDefinition, marker: str, *, due: datetime | None = None,
    posted: datetime | None = None,
) -> Post:
    """The midway reminder of the format."""
    assert definition.midway is not None
    description = _with_late(definition.midway.text, due, posted)
    return Post(_embed("Halfway: a reminder of the format", description, marker,
                       definition.hashtag, bool(due)))


@dataclass(frozen=True)
class NextChat:
    """A series' next chat, for the wrap-up; both None when the series has no more."""

    title: str | None
    start: datetime | None


CPD_RECORD = "cpd:record:"  # the wrap-up's button; the CPD extension answers it
CPD_BUTTON_LABEL = "My CPD record"


def wrap_up_post(
    definition: ChatDefinition, marker: str, counts: ChatCounts, *,
    due: datetime | None = None, posted: datetime | None = None,
    following: NextChat | None = None, chat_id: int | None = None,
) -> Post:
    """The closing post: thanks, then answers and participants per question, and for a
    chat of a series, when the next one is."""
    description = _with_late(definition.wrap_up, due, posted)
    title = shorten(f"Thank you for joining: {definition.title}", limits.EMBED_TITLE)
    embed = _embed(title, description, marker, definition.hashtag, bool(due))
    embed["fields"] = [_counts_field(definition, counts)]
    embed["fields"].append({"name": "For your CPD", "inline": False, "value": (
        "Press **My CPD record** for a private record of this chat and your answers by DM, "
        "then `/cpd reflect` to add what you learned. `/cpd on` sends one after every chat.")})
    if following is not None:
        if following.start is None:
            value = "This was the last chat of the series for now."
        else:
            value = shorten(f"**{following.title}**, {timestamp(following.start, 'F')} "
                            f"({timestamp(following.start, 'R')})", limits.EMBED_FIELD_VALUE)
        embed["fields"].append({"name": "Next chat", "value": value, "inline": False})
    return Post(embed, buttons=((CPD_BUTTON_LABEL, f"{CPD_RECORD}{chat_id}"),) if chat_id else ())


def _counts_field(definition: ChatDefinition, counts: ChatCounts) -> dict[str, Any]:
    by_number = {c.number: c for c in counts.questions}
    lines = []
    for q in definition.questions:
        c = by_number.get(q.number, QuestionCount(q.number, 0, 0))
        lines.append(
            f"Q{q.number}: {plural(c.answers, 'answer')} from {plural(c.participants, 'member')}"
        )
    lines.append(
        f"**In all: {plural(counts.answers, 'answer')} from "
        f"{plural(counts.participants, 'member')}**"
    )
    return {"name": "Answers", "value": "\n".join(lines), "inline": False}


def oversize_problems(definition: ChatDefinition) -> list[tuple[tuple, str]]:
    """Posts of a definition that would exceed Discord's limits, in their worst case
    (posted late, the largest counts), as (field path, message) pairs."""
    problems: list[tuple[tuple, str]] = []
    far = datetime(2099, 12, 31, 23, 59)
    due, posted = far, far + timedelta(hours=23)
    marker = "chat 9999999999 · Midway reminder"
    worst = ChatCounts(
        [QuestionCount(q.number, 99999, 99999) for q in definition.questions], 99999, 99999
    )
    candidates: list[tuple[tuple, Post]] = [
        (("intro",), intro_post(definition, marker, starts=far, due=due, posted=posted)),
        (("wrap_up",), wrap_up_post(definition, marker, worst, due=due, posted=posted,
                                    following=NextChat("x" * 200, far))),
    ]
    candidates += [
        (("questions", i, "text"), question_post(definition, q, marker, due=due, posted=posted))
        for i, q in enumerate(definition.questions)
    ]
    if definition.midway:
        candidates.append((("midway", "text"), midway_post(definition, marker, due=due, posted=posted)))
    for path, post in candidates:
        e = post.embed
        if len(e["description"]) > limits.EMBED_DESCRIPTION:
            problems.append((path, f"too long: the post would be {len(e['description'])} "
                                   f"characters; Discord allows {limits.EMBED_DESCRIPTION}"))
        for f in e.get("fields", []):
            if len(f["value"]) > limits.EMBED_FIELD_VALUE:
                where = {"Hosts": ("hosts",), "Guests": ("guests",),
                         "Pre-chat reading": ("reading",)}.get(f["name"], path)
                problems.append((where, f"{f['name']} would take {len(f['value'])} characters; "
                                        f"Discord allows {limits.EMBED_FIELD_VALUE} in one field"))
        if post.size() > limits.EMBED_TOTAL:
            problems.append((path, f"the whole post would be {post.size()} characters; Discord "
                                   f"allows {limits.EMBED_TOTAL} in one embed"))
    return problems
