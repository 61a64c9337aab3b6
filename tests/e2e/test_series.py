"""A weekly series, as moderators reach it: `/tweetchat series create` with its preview and
Confirm, then upcoming, skip, swap and end through the slash commands; and a series left
alone that runs one occurrence on its own timer, survives a restart of the bot between
occurrences, and runs the next one once (the bot's clock runs fast and is moved on a
week; Discord's side, the sandbox, keeps real time)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.run.dispatcher import ScaledClock
from bot.sandbox import CommandRefused
from bot.run.series import HORIZON
from bot.store import ChatState, SeriesState
from e2e.conftest import CROWD, eventually, running_bot
from e2e.test_commands import SEED, modal_values, text_of, tomorrow

EVENT_SCHEDULED, EVENT_ACTIVE, EVENT_COMPLETED, EVENT_CANCELLED = 1, 2, 3, 4


async def create_series(sb, member=None, **options):
    member = member or sb.moderator
    values = {"chat": SEED, "channel": sb.channel_id, "repeat": "weekly",
              "when": f"{tomorrow()} 20:00", "timezone": "Europe/London", **options}
    handle = await member.invoke("tweetchat series create", values)
    return handle, await handle.message()


def series_chats(bot, sb, series_id, state=ChatState.SCHEDULED):
    return [c for c in bot.store.series_occurrence_chats(sb.guild_id, series_id)
            if state is None or c.state is state]


def with_events(bot, sb, series_id):
    """The scheduled chats of a series once every one has its Discord Event."""
    chats = series_chats(bot, sb, series_id)
    return chats if chats and all(c.scheduled_event_id for c in chats) else None


async def test_series_create_previews_then_schedules_occurrences_each_with_an_event(sandbox, bot):
    sb = sandbox
    handle, preview = await create_series(sb)
    assert handle.is_ephemeral
    shown = text_of(preview)
    assert "every week at 20:00 Europe/London" in shown and shown.count(":F>") == 8
    assert bot.store.series_list(sb.guild_id) == []  # nothing until Confirm

    confirmed = await sb.moderator.press(preview, "tweetchat:confirm")
    await confirmed.response()
    reply = await handle.message(check=lambda m: "Created series" in (m.content or ""))
    [series] = bot.store.series_list(sb.guild_id)
    assert f"series #{series.id}" in reply.content and reply.content.count(":F>") == HORIZON
    chats = await eventually(lambda: with_events(bot, sb, series.id))
    assert len(chats) == HORIZON
    events = [sb.scheduled_events.get(sb.guild_id, c.scheduled_event_id) for c in chats]
    assert all(e.status == EVENT_SCHEDULED and e.name.startswith("50 shades") for e in events)
    assert len({e.id for e in events}) == HORIZON
    assert all(e.scheduled_start_time == c.start_at for e, c in zip(events, chats))
    starts = [c.start_at for c in chats]
    assert all(b - a in (timedelta(days=7), timedelta(days=7, hours=1), timedelta(days=7, hours=-1))
               for a, b in zip(starts, starts[1:]))
    announcement = [m for m in sb.history(sb.channel_id)
                    if m.embeds and m.embeds[0]["title"].startswith("New series")]
    assert len(announcement) == 1 and text_of(announcement[0]).count(":F>") == HORIZON

    listed = await sb.moderator.invoke("tweetchat series upcoming", {"series": series.id})
    upcoming = text_of(await listed.message())
    assert upcoming.count(":F>") == 8 and f"scheduled as chat #{chats[0].id}" in upcoming
    choices = await sb.moderator.autocomplete("tweetchat series skip", "occurrence", "",
                                              options={"series": series.id})
    assert [c["value"] for c in choices][:3] == [0, 1, 2]


async def test_skip_swap_and_end_through_the_commands_keep_the_events_in_step(sandbox, bot, tmp_path):
    sb = sandbox
    _, preview = await create_series(sb)
    await (await sb.moderator.press(preview, "tweetchat:confirm")).response()
    [series] = await eventually(lambda: bot.store.series_list(sb.guild_id))
    first = await eventually(lambda: with_events(bot, sb, series.id))

    skipped = await sb.moderator.invoke("tweetchat series skip", {"series": series.id, "occurrence": 1})
    assert "Skipped" in (await skipped.message()).content
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, first[1].scheduled_event_id).status
                     == EVENT_CANCELLED)
    topped = await eventually(lambda: (c := with_events(bot, sb, series.id)) and
                              [x.occurrence for x in c] == [0, 2, 3] and c)
    assert topped[-1].scheduled_event_id not in {c.scheduled_event_id for c in first}

    saved = await sb.moderator.invoke("tweetchat new")  # a chat typed in Discord, then swapped in
    typed = modal_values(await saved.modal(), {
        "Title": "Special: consent and photos", "Intro": "Welcome", "Questions": "One?\nTwo?",
        "Minutes": "10", "Wrap-up": "Thanks"})
    await (await sb.moderator.submit_modal(saved, typed)).message()
    [(saved_id, _)] = await eventually(lambda: bot.store.saved_chats(sb.guild_id))
    swapped = await sb.moderator.invoke("tweetchat series swap", {
        "series": series.id, "occurrence": 2, "chat": f"saved:{saved_id}"})
    assert "will be **Special: consent and photos**" in (await swapped.message()).content
    chats = await eventually(lambda: (c := with_events(bot, sb, series.id)) and
                             any(x.title.startswith("Special") for x in c) and c)
    special = next(c for c in chats if c.occurrence == 2)
    assert sb.scheduled_events.get(sb.guild_id, special.scheduled_event_id).name.startswith("Special")
    await eventually(lambda: sb.scheduled_events.get(sb.guild_id, first[2].scheduled_event_id).status
                     == EVENT_CANCELLED)

    ending = await sb.moderator.invoke("tweetchat series end", {"series": series.id})
    prompt = await ending.message()
    await (await sb.moderator.press(prompt, "tweetchat:confirm")).response()
    await ending.message(check=lambda m: "Ended" in (m.content or ""))
    assert bot.store.series(sb.guild_id, series.id).state is SeriesState.ENDED
    assert series_chats(bot, sb, series.id) == []
    await eventually(lambda: all(sb.scheduled_events.get(sb.guild_id, c.scheduled_event_id).status
                                 == EVENT_CANCELLED for c in chats))


async def test_series_input_mistakes_change_nothing_and_members_are_refused(sandbox, bot):
    sb = sandbox
    for options, says in [({"repeat": "daily"}, "every-2-weeks"),
                          ({"repeat": "biweekly"}, "every-2-weeks"),
                          ({"until": "June"}, "YYYY-MM-DD"),
                          ({"timezone": "EST"}, "America/New_York")]:
        handle = await sb.moderator.invoke("tweetchat series create",
                                           {"chat": SEED, "channel": sb.channel_id, "repeat": "weekly",
                                            "when": f"{tomorrow()} 20:00", **options})
        reply = (await handle.message()).content
        assert reply.startswith("⚠️") and says in reply, (options, reply)
    with pytest.raises(CommandRefused, match="default_member_permissions"):  # Discord's own gate
        await sb.member(CROWD[0]).invoke("tweetchat series upcoming", {})
    assert bot.store.series_list(sb.guild_id) == [] and bot.store.chats(sb.guild_id) == []


class JumpClock(ScaledClock):
    """The fast clock, `offset` ahead: a restarted bot "a week later"."""

    def __init__(self, speed: float, offset: timedelta = timedelta(0), origin=None) -> None:
        super().__init__(speed, origin)
        self.offset = offset

    def now(self):
        return super().now() + self.offset


SPEED = 120


def posted_titles(sb, chat_id):
    return [m.embeds[0]["title"] for m in sb.history(sb.channel_id)
            if m.embeds and (m.embeds[0].get("footer") or {}).get("text", "").endswith(
                tuple(f"chat {chat_id} · {label}" for label in
                      ["Intro", "Midway reminder", "Wrap-up"] + [f"Q{n}" for n in range(1, 7)]))]


@pytest.mark.parametrize("answers_per_question", [2])
async def test_a_weekly_series_left_alone_runs_survives_a_restart_and_runs_again(
        sandbox, tmp_path, answers_per_question):
    sb, db = sandbox, tmp_path / "tweetchat.db"
    clock = JumpClock(SPEED)
    async with running_bot(sb, db, clock=clock) as bot:
        start = (bot.now() + timedelta(minutes=3)).replace(second=0, microsecond=0)
        handle = await sb.moderator.invoke("tweetchat series create", {
            "chat": SEED, "channel": sb.channel_id, "repeat": "weekly", "timezone": "UTC",
            "when": start.strftime("%Y-%m-%d %H:%M"), "interval": 0.5})
        await (await sb.moderator.press(await handle.message(), "tweetchat:confirm")).response()
        [series] = await eventually(lambda: bot.store.series_list(sb.guild_id))
        first, second, _ = await eventually(lambda: with_events(bot, sb, series.id))

        # The first occurrence runs on its own timer; members answer in its threads.
        answered = set()
        async def answer():
            while True:
                for step in bot.store.steps(sb.guild_id, first.id):
                    if step.thread_id and step.question not in answered:
                        answered.add(step.question)
                        for name in CROWD[:answers_per_question]:
                            await sb.member(name).send(f"{name} on Q{step.question}",
                                                       channel_id=step.thread_id)
                await asyncio.sleep(0.05)
        answering = asyncio.create_task(answer())
        try:
            await eventually(lambda: bot.store.chat(sb.guild_id, first.id).state is ChatState.FINISHED,
                             timeout=60)
        finally:
            answering.cancel()
        await eventually(lambda: sb.scheduled_events.get(sb.guild_id, first.scheduled_event_id).status
                         == EVENT_COMPLETED, timeout=20)
        wrap_up = [m for m in sb.history(sb.channel_id) if m.embeds
                   and m.embeds[0]["title"].startswith("Thank you")]
        assert len(wrap_up) == 1
        nxt = next(f for f in wrap_up[0].embeds[0]["fields"] if f["name"] == "Next chat")
        assert f"<t:{int(second.start_at.timestamp())}:F>" in nxt["value"]
        # Topped up: three waiting again, the newest with its own Event.
        waiting = await eventually(lambda: (c := with_events(bot, sb, series.id)) and
                                   [x.occurrence for x in c] == [1, 2, 3] and c)
        origin = clock.origin

    # The bot is down for the week; it comes back three minutes before the next chat.
    gap = second.start_at - timedelta(minutes=3) - clock.now()
    async with running_bot(sb, db, clock=JumpClock(SPEED, gap, origin)) as bot:
        await eventually(lambda: bot.store.chat(sb.guild_id, second.id).state is ChatState.FINISHED,
                         timeout=60)
        waiting = await eventually(lambda: (c := with_events(bot, sb, series.id)) and
                                   [x.occurrence for x in c] == [2, 3, 4] and c)
        for chat in (first, second):  # every step posted once, in order
            titles = posted_titles(sb, chat.id)
            assert len(titles) == 9 and titles[0].startswith("50 shades"), titles
            assert [t[:2] for t in titles if t.startswith("Q")] == [f"Q{n}" for n in range(1, 7)]
        stored = bot.store.answers(sb.guild_id, first.id)
        assert len(stored) == 6 * answers_per_question
        assert len({c.scheduled_event_id for c in waiting}) == 3
