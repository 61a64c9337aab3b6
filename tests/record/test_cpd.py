"""A member's CPD record of the recorded chat (e2e/recorded_chat.py), as the bot builds it
and as `tweetchat cpd` prints it: their own answers as they stand (edits applied,
withdrawn ones left out), nobody else's, and a reflection template."""

from __future__ import annotations

import json

from bot.__main__ import EXIT_INVALID, main
from bot.record.cpd import HCPC, NEUTRAL, build_cpd_record, framework_for, render_cpd


def a_member_with_answers(rec):
    """A member whose shown answers include an edited one, if any, with those answers."""
    by_author: dict[str, list] = {}
    for sent in rec.shown():
        by_author.setdefault(sent.author, []).append(sent)
    author = max(by_author, key=lambda a: (any(s.edits for s in by_author[a]), len(by_author[a])))
    return rec.user_ids[author], by_author[author]


def test_the_record_holds_the_members_own_answers_as_they_stand(recorded_chat, recorded_store):
    rec = recorded_chat
    member, mine = a_member_with_answers(rec)
    record = build_cpd_record(recorded_store, rec.guild_id, rec.chat_id, member)
    assert sorted(a.text for a in record.answers) == sorted(s.content for s in mine)
    others = [s.content for s in rec.shown() if rec.user_ids[s.author] != member]
    md = render_cpd([record], "md").decode()
    assert not [t for t in others if t and t in md and not any(t in s.content for s in mine)]
    assert md.startswith("# CPD record: 50 shades of grey") and "## Reflection" in md
    assert "<script" not in render_cpd([record], "html").decode()  # member text is escaped


def test_the_hcpc_template_is_for_chats_on_uk_time():
    assert framework_for("Europe/London") is HCPC and framework_for("Australia/Sydney") is NEUTRAL
    assert len(HCPC.standards) == 5 and "hcpc-uk.org" in HCPC.source


def test_cli_prints_the_record_and_refuses_a_non_participant(recorded_chat, capsys):
    rec = recorded_chat
    member, mine = a_member_with_answers(rec)
    assert main(["cpd", str(rec.chat_id), "--member", str(member), "--format", "json",
                 "--db", str(rec.db)]) == 0
    [record] = json.loads(capsys.readouterr().out)
    assert record["chat_id"] == rec.chat_id and len(record["answers"]) == len(mine)
    assert main(["cpd", str(rec.chat_id), "--member", "42", "--db", str(rec.db)]) == EXIT_INVALID
    assert "has no answer in chat" in capsys.readouterr().err


def test_cli_nudge_says_whether_and_why(capsys):
    assert main(["nudge", "Mrs Okafor in bed 4 had her new hip today", "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["nudge"] is True and said["entry"] == "patient-identifiable-information"
    assert main(["nudge", "patients often ask about driving after a hip"]) == 0
    assert capsys.readouterr().out.startswith("no nudge")
