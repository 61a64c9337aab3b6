"""The timeline: steps at the right instants, across daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.chat.timeline import StartTimeError, StepKind, build_timeline, resolve_start
from bot.chat.zones import UnknownTimeZone, resolve_zone, suggest_zones

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def test_seed_chat_steps_for_a_winter_evening(seed):
    start = resolve_start("2026-12-07 20:00", "Europe/London", now=NOW)
    steps = build_timeline(seed, start.instant)
    assert [s.label for s in steps] == [
        "Intro", "Q1", "Q2", "Q3", "Midway reminder", "Q4", "Q5", "Q6", "Wrap-up"]
    assert [s.due.strftime("%H:%M") for s in steps] == [
        "20:00", "20:05", "20:15", "20:25", "20:30", "20:35", "20:45", "20:55", "21:05"]
    assert all(s.due.tzinfo is timezone.utc for s in steps)
    assert [s.seq for s in steps] == list(range(9))


def test_summer_start_is_an_hour_earlier_in_utc(seed):
    start = resolve_start("2027-06-07 20:00", "Europe/London", now=NOW)
    assert start.instant == datetime(2027, 6, 7, 19, 0, tzinfo=timezone.utc)
    assert build_timeline(seed, start.instant)[1].due == datetime(2027, 6, 7, 19, 5, tzinfo=timezone.utc)


def test_chat_spanning_the_end_of_british_summer_time_keeps_real_spacing(seed):
    # Clocks go back at 02:00 BST on Sun 31 Oct 2027 (01:00 UTC).
    start = resolve_start("2027-10-31 01:20", "Europe/London", now=NOW)
    steps = build_timeline(seed, start.instant)
    gaps = [(b.due - a.due) for a, b in zip(steps, steps[1:])]
    assert gaps == [timedelta(minutes=m) for m in (5, 10, 10, 5, 5, 10, 10, 10)]
    local = [s.due.astimezone(LONDON) for s in steps]
    # The wall clock shows the jump back: Q4 (01:55 BST) then Q5 at 01:05 GMT.
    assert [f"{t:%H:%M %Z}" for t in local] == [
        "01:20 BST", "01:25 BST", "01:35 BST", "01:45 BST", "01:50 BST", "01:55 BST",
        "01:05 GMT", "01:15 GMT", "01:25 GMT"]


def test_start_in_the_repeated_hour_uses_the_first_by_default_and_says_so(seed):
    start = resolve_start("2027-10-31 01:30", "Europe/London", now=NOW)
    assert start.instant == datetime(2027, 10, 31, 0, 30, tzinfo=timezone.utc)
    assert "happens twice" in start.note and "BST" in start.note
    later = resolve_start("2027-10-31 01:30", "Europe/London", now=NOW, occurrence="later")
    assert later.instant == datetime(2027, 10, 31, 1, 30, tzinfo=timezone.utc)
    assert later.instant - start.instant == timedelta(hours=1)
    steps = build_timeline(seed, later.instant)
    assert steps[-1].due.astimezone(LONDON).strftime("%H:%M %Z") == "02:35 GMT"


def test_unambiguous_times_have_no_note():
    assert resolve_start("2027-10-30 01:30", "Europe/London", now=NOW).note == ""


def test_time_in_the_spring_forward_gap_is_refused_with_a_suggestion():
    with pytest.raises(StartTimeError) as info:
        resolve_start("2027-03-28 01:30", "Europe/London", now=NOW)
    message = str(info.value)
    assert "does not exist" in message and "02:30" in message


def test_start_in_the_past_is_refused():
    with pytest.raises(StartTimeError) as info:
        resolve_start("2026-11-25 11:00", "Europe/London", now=NOW)
    assert "in the past" in str(info.value)
    assert resolve_start("2026-11-25 11:00", "Europe/London", now=NOW, allow_past=True)


def test_a_start_that_is_not_a_time_says_what_would_work():
    for typed, expected in [("next blursday", "can't read 'next blursday'"), ("Friday", "no time of day"),
                            ("2026-12-07", "add one, e.g. 2026-12-07 20:00"), ("  ", "say when")]:
        with pytest.raises(StartTimeError) as info:
            resolve_start(typed, "Europe/London", now=NOW)
        assert expected in str(info.value), typed
        assert "8pm Friday" in str(info.value) or "20:00" in str(info.value) or "8pm" in str(info.value)


@pytest.mark.parametrize("typed, local", [
    ("8pm", "{today} 20:00"), ("7 Dec 8pm", "2026-12-07 20:00"), ("tomorrow 7.30pm", "{tomorrow} 19:30"),
    ("20:00 Friday", "{friday} 20:00"), ("next Monday 8pm", "{monday} 20:00"), ("19.30", "{today} 19:30"),
    ("2026-12-07T20:00", "2026-12-07 20:00"),
])
def test_start_times_as_people_type_them(typed, local):
    """Read against the local time now (NOW), preferring the future."""
    zone = ZoneInfo("Europe/London")
    today = NOW.astimezone(zone).date()
    days = {"today": today, "tomorrow": today + timedelta(days=1),
            "friday": today + timedelta(days=(4 - today.weekday()) % 7 or 7),
            "monday": today + timedelta(days=(0 - today.weekday()) % 7 or 7)}
    start = resolve_start(typed, "Europe/London", now=NOW)
    assert start.local.strftime("%Y-%m-%d %H:%M") == local.format(**{k: f"{v:%Y-%m-%d}" for k, v in days.items()})


def test_an_evening_time_already_past_today_is_tomorrows():
    late = NOW.astimezone(ZoneInfo("Europe/London")).replace(hour=21, minute=0)
    start = resolve_start("8pm", "Europe/London", now=late)
    assert start.local.date() == late.date() + timedelta(days=1) and start.local.hour == 20


def test_a_day_alone_takes_the_chat_files_time():
    start = resolve_start("2026-12-07", "Europe/London", now=NOW, default_time=time(20, 0))
    assert start.local.strftime("%Y-%m-%d %H:%M") == "2026-12-07 20:00"


def test_unknown_time_zone_suggests_close_names():
    with pytest.raises(UnknownTimeZone) as info:
        resolve_start("2026-12-07 20:00", "Europe/Londn", now=NOW)
    assert info.value.suggestions[0] == "Europe/London"
    assert "did you mean Europe/London" in str(info.value)


def test_zone_names_are_case_insensitive_and_cities_are_suggested():
    assert resolve_zone("europe/london").key == "Europe/London"
    assert resolve_zone(" America/New York ").key == "America/New_York"
    assert suggest_zones("london")[0] == "Europe/London"
    assert "Australia/Sydney" in suggest_zones("sydny")
    with pytest.raises(UnknownTimeZone):
        resolve_zone("Mars/Olympus")


def test_other_zone_with_different_dst_dates(seed):
    # New York leaves DST a week after London in 2027 (7 Nov); 20:00 EST = 01:00 UTC.
    start = resolve_start("2027-11-08 20:00", "America/New_York", now=NOW)
    assert start.instant == datetime(2027, 11, 9, 1, 0, tzinfo=timezone.utc)
    assert build_timeline(seed, start.instant)[0].kind is StepKind.INTRO


def test_timeline_requires_an_aware_start(seed):
    with pytest.raises(ValueError):
        build_timeline(seed, datetime(2030, 1, 1, 20, 0))


def test_explicit_offsets_and_midway_placement():
    from bot.chat import parse_chat

    chat = parse_chat("""
title = "t"
intro = "i"
wrap_up = "w"
[schedule]
first_question_after_minutes = 2
interval_minutes = 8
wrap_up_after_minutes = 3
[midway]
after_question = 1
text = "halfway"
[[questions]]
number = 1
text = "a"
[[questions]]
number = 2
text = "b"
at_minutes = 20
[[questions]]
number = 3
text = "c"
""")
    start = datetime(2030, 1, 1, 20, 0, tzinfo=timezone.utc)
    minutes = [(s.label, s.offset.total_seconds() / 60) for s in build_timeline(chat, start)]
    assert minutes == [("Intro", 0), ("Q1", 2), ("Midway reminder", 11), ("Q2", 20), ("Q3", 28),
                       ("Wrap-up", 31)]


@pytest.mark.parametrize("typed, zone", [("UK", "Europe/London"), ("london", "Europe/London"),
                                         ("Sydney", "Australia/Sydney"), ("new york", "America/New_York"),
                                         ("Ireland", "Europe/Dublin"), ("utc", "UTC"), ("europe/london", "Europe/London")])
def test_places_people_name_resolve_to_their_zone(typed, zone):
    assert resolve_zone(typed).key == zone


@pytest.mark.parametrize("typed, meant", [("BST", "Europe/London"), ("GMT", "Europe/London"), ("EST", "America/New_York"),
                                          ("PST8PDT", "America/Los_Angeles"), ("AEST", "Australia/Sydney"),
                                          ("Australia", "Australia/Perth")])
def test_clock_abbreviations_are_refused_with_the_zones_meant(typed, meant):
    """Never silently a fixed offset: EST in July would put a New York chat an hour out."""
    with pytest.raises(UnknownTimeZone) as info:
        resolve_zone(typed)
    assert meant in info.value.suggestions and meant in str(info.value)
