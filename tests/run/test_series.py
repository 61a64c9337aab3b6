"""Series: repeat rules, occurrences across clock changes, and the series kept topped up
in the ledger (fake clock, real store, real dispatcher)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.chat.recurrence import RepeatError, occurrences, parse_repeat
from bot.run.control import ChatControl, ChatStateError, InputError
from bot.run.dispatcher import Dispatcher
from bot.run.series import HORIZON, SeriesControl
from bot.store import ChatState, SeriesState, Store
from fakes import FakeChannel, FakeClock

GUILD, CHANNEL, MOD = 111, 222, 333
LONDON, SYDNEY = ZoneInfo("Europe/London"), ZoneInfo("Australia/Sydney")


# -- repeat rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("weekly", "weekly"), ("Weekly", "weekly"), ("every week", "weekly"),
    ("fortnightly", "every-2-weeks"), ("every-2-weeks", "every-2-weeks"),
    ("every 3 weeks", "every-3-weeks"), ("monthly-2nd-monday", "monthly-2nd-monday"),
    ("second Monday", "monthly-2nd-monday"), ("monthly-last-friday", "monthly-last-friday"),
    ("the 1st Tuesday of the month", "monthly-1st-tuesday"),
])
def test_repeat_rules_as_people_write_them(text, value):
    assert parse_repeat(text).value == value
    assert parse_repeat(parse_repeat(text).value).value == value  # canonical reads back


@pytest.mark.parametrize("text, says", [
    ("biweekly", "every-2-weeks"), ("monthly", "which weekday"), ("daily", "weekly"),
    ("every 20 weeks", "1 to 12"), ("5th monday", "weekly"),
])
def test_unreadable_repeats_say_what_would_work(text, says):
    with pytest.raises(RepeatError, match=says):
        parse_repeat(text)


def local_hours(occs, zone):
    return {o.start.astimezone(zone).strftime("%H:%M") for o in occs}


def test_weekly_in_london_keeps_8pm_across_both_clock_changes():
    # 2027: clocks go forward on 28 March and back on 31 October.
    occs = list(occurrences(parse_repeat("weekly"), datetime(2027, 3, 12, 20, 0), LONDON, count=36))
    assert local_hours(occs, LONDON) == {"20:00"}
    utc_hours = [o.start.hour for o in occs]
    assert utc_hours[0] == 20 and utc_hours[3] == 19 and utc_hours[-1] == 20  # GMT, BST, GMT
    assert all(b.local - a.local == timedelta(days=7) for a, b in zip(occs, occs[1:]))


def test_weekly_in_sydney_keeps_its_hour_across_both_clock_changes():
    # 2027: clocks go back on 4 April and forward on 3 October.
    occs = list(occurrences(parse_repeat("weekly"), datetime(2027, 3, 18, 19, 30), SYDNEY, count=32))
    assert local_hours(occs, SYDNEY) == {"19:30"}
    offsets = {o.start.astimezone(SYDNEY).utcoffset() for o in occs}
    assert offsets == {timedelta(hours=11), timedelta(hours=10)}


def test_a_time_inside_the_skipped_hour_runs_an_hour_later_and_says_so():
    occs = list(occurrences(parse_repeat("weekly"), datetime(2027, 3, 21, 1, 30), LONDON, count=2))
    assert occs[1].start.astimezone(LONDON).strftime("%H:%M") == "02:30"
    assert "does not exist" in occs[1].note and not occs[0].note


def test_monthly_by_weekday_and_an_end_date():
    occs = list(occurrences(parse_repeat("monthly-2nd-monday"), datetime(2027, 1, 1, 20, 0), LONDON,
                            until=datetime(2027, 4, 30).date()))
    assert [o.local.date().isoformat() for o in occs] == [
        "2027-01-11", "2027-02-08", "2027-03-08", "2027-04-12"]


# -- the series in the ledger ---------------------------------------------------------------

@pytest.fixture
def clock():
    return FakeClock(datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def series_control(store, clock):
    return SeriesControl(store, clock.now)


def create(series_control, seed, **options):
    options = {"repeat": "weekly", "when": "2027-03-12 20:00", "tz": "Europe/London", **options}
    preview = series_control.preview(seed, options.pop("repeat"), options.pop("when"),
                                     options.pop("tz"), **options)
    return series_control.create(GUILD, CHANNEL, preview, actor_id=MOD)


def scheduled(store, series_id):
    return [c for c in store.series_occurrence_chats(GUILD, series_id)
            if c.state is ChatState.SCHEDULED]


def test_creating_a_series_schedules_its_next_occurrences_each_with_an_event_action(
        series_control, store, seed):
    outcome = create(series_control, seed, interval_minutes=12)
    chats = scheduled(store, outcome.series.id)
    assert len(chats) == HORIZON == len(outcome.scheduled)
    assert [c.occurrence for c in chats] == [0, 1, 2]
    assert [c.start_at.astimezone(LONDON).strftime("%a %H:%M") for c in chats] == ["Fri 20:00"] * 3
    for chat in chats:
        assert [a.kind.value for a in store.chat_actions(GUILD, chat.id)] == ["announce"]
        steps = {s.label if hasattr(s, "label") else s.kind.value + str(s.question or ""): s
                 for s in store.steps(GUILD, chat.id)}
        assert steps["question2"].due_at - steps["question1"].due_at == timedelta(minutes=12)
        assert steps["intro"].due_at - steps["reminder"].due_at == timedelta(minutes=30)


def test_topping_up_twice_or_from_a_second_process_schedules_nothing_twice(
        series_control, store, db_path, clock, seed):
    series = create(series_control, seed).series
    assert series_control.top_up(GUILD, series.id) == []
    other = Store(db_path)  # a restarted (or second) process on the same database
    try:
        assert SeriesControl(other, clock.now).top_up_all() == 0
    finally:
        other.close()
    assert len(store.series_occurrence_chats(GUILD, series.id)) == HORIZON


def test_bad_series_input_is_refused_and_nothing_is_written(series_control, store, seed):
    with pytest.raises(RepeatError):
        create(series_control, seed, repeat="daily")
    with pytest.raises(InputError, match="before its first chat"):
        create(series_control, seed, until="2027-03-01")
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        create(series_control, seed, until="next June")
    with pytest.raises(InputError, match="1 to 520"):
        create(series_control, seed, count=0)
    assert store.series_list(GUILD) == []


async def run_until(store, clock, dispatcher, at):
    while clock.now() < at:
        clock.set(min(clock.now() + timedelta(minutes=1), at))
        await dispatcher.tick()


async def test_occurrences_run_in_turn_the_wrap_up_names_the_next_and_the_series_tops_up(
        series_control, store, clock, seed):
    series = create(series_control, seed, interval_minutes=1).series
    channel = FakeChannel(clock)
    dispatcher = Dispatcher(store, channel, clock, series=series_control)
    first = scheduled(store, series.id)[0]
    await run_until(store, clock, dispatcher, first.start_at + timedelta(minutes=30))
    assert store.chat(GUILD, first.id).state is ChatState.FINISHED
    wrap_up = next(m for m in channel.messages if m.post.embed["title"].startswith("Thank you"))
    nxt = next(f for f in wrap_up.post.embed["fields"] if f["name"] == "Next chat")
    second_start = int((first.start_at + timedelta(days=7)).timestamp())
    assert f"<t:{second_start}:F>" in nxt["value"]
    # The finished one is replaced: still three waiting, the newest four weeks on.
    waiting = scheduled(store, series.id)
    assert [c.occurrence for c in waiting] == [1, 2, 3]
    assert len([m for m in channel.messages if m.post.embed["title"].startswith("Q1")]) == 1


def test_skip_swap_and_queue_order(series_control, store, clock, seed):
    other = dataclasses.replace(seed, title="Special: consent and photos")
    series = create(series_control, seed).series
    skipped = series_control.skip(GUILD, series.id, 1, actor_id=MOD)
    assert [c.occurrence for c in skipped.cancelled] == [1]
    assert [c.occurrence for c in scheduled(store, series.id)] == [0, 2, 3]  # topped up
    swapped = series_control.swap(GUILD, series.id, 2, other, actor_id=MOD)
    assert swapped.cancelled[0].occurrence == 2 and swapped.scheduled[0].title == other.title
    by_occurrence = {c.occurrence: c.title for c in scheduled(store, series.id)}
    assert by_occurrence == {0: seed.title, 2: other.title, 3: seed.title}
    upcoming = series_control.upcoming(GUILD, series.id)
    assert [u.status for u in upcoming[:2]] == ["scheduled as chat #1", "skipped"]
    with pytest.raises(ChatStateError, match="same chat every time"):
        series_control.add(GUILD, series.id, other, actor_id=MOD)
    with pytest.raises(InputError, match="no occurrence number"):
        series_control.skip(GUILD, series.id, 500, actor_id=MOD)


def test_a_queue_takes_its_chats_in_order_and_waits_when_it_runs_out(series_control, store, seed):
    second = dataclasses.replace(seed, title="Chat two")
    series = create(series_control, seed, mode="queue").series
    assert [c.title for c in scheduled(store, series.id)] == [seed.title]
    series_control.skip(GUILD, series.id, 1, actor_id=MOD)
    series_control.add(GUILD, series.id, second, actor_id=MOD)
    # The skipped date did not use up "Chat two": it runs on the date after.
    assert {c.occurrence: c.title for c in scheduled(store, series.id)} == {0: seed.title, 2: "Chat two"}
    assert "add a chat" in series_control.upcoming(GUILD, series.id)[3].status


def test_cancelling_an_occurrence_skips_it_and_the_series_carries_on(store, clock, seed):
    series_control = SeriesControl(store, clock.now)
    control = ChatControl(store, clock.now, chat_over=series_control.top_up_after)
    series = create(series_control, seed).series
    first = scheduled(store, series.id)[0]
    outcome = control.cancel(GUILD, first.id, actor_id=MOD)
    assert "series carries on" in outcome.message
    assert [c.occurrence for c in scheduled(store, series.id)] == [1, 2, 3]
    assert store.series_changes(GUILD, series.id)[0].skipped


def test_ending_a_series_cancels_what_has_not_started(series_control, store, seed):
    series = create(series_control, seed).series
    outcome = series_control.end(GUILD, series.id, actor_id=MOD)
    assert len(outcome.cancelled) == HORIZON and scheduled(store, series.id) == []
    assert store.series(GUILD, series.id).state is SeriesState.ENDED
    assert series_control.top_up(GUILD, series.id) == []
    with pytest.raises(ChatStateError, match="has ended"):
        series_control.skip(GUILD, series.id, 1, actor_id=MOD)


async def test_a_counted_series_finishes_after_its_last_chat(series_control, store, clock, seed):
    series = create(series_control, seed, count=2, interval_minutes=1).series
    dispatcher = Dispatcher(store, FakeChannel(clock), clock, series=series_control)
    chats = scheduled(store, series.id)
    assert len(chats) == 2
    await run_until(store, clock, dispatcher, chats[1].start_at + timedelta(minutes=30))
    assert store.series(GUILD, series.id).state is SeriesState.FINISHED
    assert [store.chat(GUILD, c.id).state for c in chats] == [ChatState.FINISHED] * 2
