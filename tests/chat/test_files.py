"""Chat definition files: the seed chat, and every kind of mistake a moderator makes."""

from __future__ import annotations

import pytest

from bot.chat import CatchUp, ChatDefinition, ChatFileError, load_chat_file, parse_chat
from bot.chat.posts import question_post, thread_name

MINIMAL = """\
title = "A chat"
intro = "Hello"
wrap_up = "Bye"

[[questions]]
number = 1
text = "First?"

[[questions]]
number = 2
text = "Second?"
"""


def problems(text: str) -> list:
    with pytest.raises(ChatFileError) as info:
        parse_chat(text, "chat.toml")
    return info.value.problems


def only(text: str):
    found = problems(text)
    assert len(found) == 1, [p.format("chat.toml") for p in found]
    return found[0]


def test_seed_chat_has_the_six_questions_of_the_seed_document(seed):
    assert seed.title == "50 shades of grey: professionalism and social media"
    assert seed.hashtag == "#physiotalk"
    assert [q.number for q in seed.questions] == [1, 2, 3, 4, 5, 6]
    assert seed.questions[0].text.startswith("What does professionalism look and feel like")
    assert "mudslinging" in seed.questions[4].text
    assert seed.schedule.start.strftime("%H:%M") == "20:00"
    assert seed.schedule.timezone == "Europe/London"
    assert seed.schedule.interval_minutes == 10
    assert seed.midway is not None and seed.midway.after_question == 3
    assert any("hcpc-uk.org" in r.url for r in seed.reading)


def test_definition_round_trips_through_its_snapshot(seed):
    assert ChatDefinition.from_dict(seed.to_dict()) == seed


def test_minimal_file_gets_defaults():
    chat = parse_chat(MINIMAL)
    assert chat.schedule.interval_minutes == 10
    assert chat.schedule.catch_up is CatchUp.POST_LATE
    assert chat.midway is None


def test_invalid_toml_reports_the_line():
    p = only(MINIMAL + "\nthis is not toml\n")
    assert p.line == 13
    assert "not valid TOML" in p.message


def test_unknown_key_suggests_the_right_one_with_its_line():
    p = only(MINIMAL.replace('text = "Second?"', 'text = "Second?"\ntxet = "typo"'))
    assert p.field == "questions[1].txet"
    assert "did you mean 'text'" in p.message
    assert p.line == 12
    assert p.format("chat.toml").startswith("chat.toml:12: questions[1].txet:")


def test_unknown_top_level_and_schedule_keys():
    found = problems('colour = "red"\n' + MINIMAL + '[schedule]\nintervall_minutes = 5\n')
    fields = {p.field for p in found}
    assert fields == {"colour", "schedule.intervall_minutes"}
    sched = next(p for p in found if p.field == "schedule.intervall_minutes")
    assert "interval_minutes" in sched.message and sched.line == 14


def test_missing_required_fields_are_all_reported_at_once():
    found = problems('hashtag = "#x"\n[[questions]]\nnumber = 1\n')
    fields = {p.field for p in found}
    assert {"title", "intro", "wrap_up", "questions[0].text"} <= fields


def test_missing_questions():
    p = only('title = "t"\nintro = "i"\nwrap_up = "w"\n')
    assert p.field == "questions"
    assert "[[questions]]" in p.message


def test_duplicate_question_numbers_name_the_first_one():
    p = only(MINIMAL.replace("number = 2", "number = 1"))
    assert p.field == "questions[1].number"
    assert "duplicate" in p.message and "questions[0]" in p.message
    assert p.line == 10


def test_gap_in_question_numbers():
    p = only(MINIMAL.replace("number = 2", "number = 3"))
    assert p.field == "questions"
    assert "Q2" in p.message


def test_question_numbers_must_be_whole_and_positive():
    p = only(MINIMAL.replace("number = 2", "number = 0"))
    assert p.field == "questions[1].number"
    p = only(MINIMAL.replace("number = 2", 'number = "2"'))
    assert "whole number" in p.message


def test_negative_and_zero_intervals_are_refused():
    p = only(MINIMAL + "[schedule]\ninterval_minutes = -10\n")
    assert p.field == "schedule.interval_minutes"
    assert "between 0.5 and 240" in p.message
    assert p.line == 13
    p = only(MINIMAL + "[schedule]\ninterval_minutes = 0\n")
    assert p.field == "schedule.interval_minutes"


def test_question_too_long_for_a_discord_post():
    p = only(MINIMAL.replace('"Second?"', '"' + "x" * 5000 + '"'))
    assert p.field == "questions[1].text"
    assert "5000 characters" in p.message and "Discord" in p.message


def test_thread_title_that_would_exceed_discords_100_characters():
    p = only(MINIMAL.replace('text = "First?"', 'text = "First?"\nthread = "' + "t" * 96 + '"'))
    assert p.field == "questions[0].thread"
    assert "101 characters" in p.message and "keep the thread title to 95" in p.message


def test_long_question_gets_a_shortened_thread_name_within_limits():
    text = "How do we build a culture of discussion " * 10
    name = thread_name(5, text)
    assert name.startswith("Q5 · How do we build")
    assert len(name) <= 100 and name.endswith("…")


def test_explicit_offsets_must_increase():
    text = MINIMAL.replace('text = "Second?"', 'text = "Second?"\nat_minutes = 2')
    text = text.replace('text = "First?"', 'text = "First?"\nat_minutes = 5')
    p = only(text)
    assert p.field == "questions[1].at_minutes"
    assert "not after Q1" in p.message


def test_bad_schedule_values():
    found = problems(MINIMAL + '[schedule]\nstart = "8pm"\ntimezone = "Europe/Londn"\n'
                               'catch_up = "later"\n')
    by_field = {p.field: p.message for p in found}
    assert '"20:00"' in by_field["schedule.start"]
    assert "Europe/London" in by_field["schedule.timezone"]
    assert "'post-late'" in by_field["schedule.catch_up"]


def test_reading_needs_web_addresses():
    p = only(MINIMAL + '[[reading]]\ntitle = "Guide"\nurl = "ftp://example.org/x"\n')
    assert p.field == "reading[0].url"
    assert "https://" in p.message


def test_bad_hashtag():
    p = only('hashtag = "physio talk"\n' + MINIMAL)
    assert p.field == "hashtag"


def test_midway_must_come_before_the_last_question():
    p = only(MINIMAL + '[midway]\nafter_question = 2\ntext = "halfway"\n')
    assert p.field == "midway.after_question"


def test_unreadable_file(tmp_path):
    with pytest.raises(ChatFileError) as info:
        load_chat_file(tmp_path / "missing.toml")
    assert "cannot read" in str(info.value)


def test_validation_limits_match_what_is_posted(seed):
    # The longest question the validator accepts must render within Discord's limits.
    from bot.chat import posts

    longest = "y" * posts.QUESTION_MAX
    chat = parse_chat(MINIMAL.replace('"Second?"', f'"{longest}"'))
    post = question_post(chat, chat.questions[1], "chat 1 · Q2")
    assert len(post.embed["description"]) <= 4096
    assert post.size() <= 6000
