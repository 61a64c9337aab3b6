"""The `tweetchat` command line, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

from bot.__main__ import EXIT_INVALID, main
from seed import ROOT, SEED_CHAT

NOW = lambda: datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)  # noqa: E731


def test_help_lists_each_subcommand_with_one_line():
    out = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    for command in ("check", "plan", "rehearse", "settings", "export", "stats"):
        assert any(line.strip().startswith(command + " ") for line in out.splitlines()), command


def test_check_accepts_the_seed_chat(capsys):
    assert main(["check", str(SEED_CHAT)], now=NOW) == 0
    assert "OK" in capsys.readouterr().out


def test_check_reports_each_problem_with_file_and_line_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "t"\nintro = "i"\nwrap_up = "w"\n[schedule]\ninterval_minutes = -1\n'
                   '[[questions]]\nnumber = 2\ntext = "q"\n')
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["check", str(bad)], now=NOW) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"{bad}:5: schedule.interval_minutes: is -1" in err
    assert "Q1" in err  # the missing question
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_plan_prints_local_and_utc_times(capsys):
    assert main(["plan", str(SEED_CHAT), "--start", "2027-06-07 20:00", "--tz", "Europe/London"],
                now=NOW) == 0
    out = capsys.readouterr().out
    assert "Q1               Mon 07 Jun 20:05 BST         Mon 07 Jun 19:05" in out
    assert "Wrap-up" in out


def test_plan_with_only_a_date_uses_the_files_time_and_json(capsys):
    assert main(["plan", str(SEED_CHAT), "--start", "2026-12-07", "--json"], now=NOW) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["timezone"] == "Europe/London"
    assert [s["step"] for s in plan["steps"]][:2] == ["Intro", "Q1"]
    assert plan["steps"][1]["local"] == "2026-12-07T20:05:00+00:00"
    assert plan["steps"][-1]["utc"] == "2026-12-07T21:05:00+00:00"


def test_plan_repeat_weekly_lists_occurrences_seven_local_days_apart(capsys):
    # Across the clock change of 28 March 2027: 8pm GMT, then 8pm BST.
    assert main(["plan", str(SEED_CHAT), "--start", "2027-03-19 20:00", "--repeat", "weekly",
                 "--count", "4", "--json"], now=NOW) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["repeat"] == "weekly" and len(plan["occurrences"]) == 4
    starts = [datetime.fromisoformat(o["start_local"]) for o in plan["occurrences"]]
    assert [s.strftime("%a %H:%M") for s in starts] == ["Fri 20:00"] * 4
    assert all((b.date() - a.date()).days == 7 for a, b in zip(starts, starts[1:]))
    assert [o["start_utc"][11:16] for o in plan["occurrences"]] == ["20:00", "20:00", "19:00", "19:00"]
    assert all(len(o["steps"]) == len(plan["occurrences"][0]["steps"]) for o in plan["occurrences"])
    assert main(["plan", str(SEED_CHAT), "--start", "2027-01-01 20:00", "--repeat",
                 "monthly-2nd-monday", "--count", "2"], now=NOW) == 0
    out = capsys.readouterr().out
    assert "#1 starts Mon 11 Jan 2027 20:00 GMT" in out and "#2 starts Mon 08 Feb 2027" in out
    assert out.count("Wrap-up") == 2  # every occurrence's steps


def test_plan_refuses_an_unreadable_repeat_and_count_alone(capsys):
    assert main(["plan", str(SEED_CHAT), "--start", "2027-03-19 20:00", "--repeat", "daily"],
                now=NOW) == EXIT_INVALID
    assert "every-2-weeks" in capsys.readouterr().err
    assert main(["plan", str(SEED_CHAT), "--start", "2027-03-19 20:00", "--count", "3"],
                now=NOW) == EXIT_INVALID
    assert "--count needs --repeat" in capsys.readouterr().err


def test_plan_refuses_unknown_zones_and_past_times(capsys):
    assert main(["plan", str(SEED_CHAT), "--start", "2026-12-07 20:00", "--tz", "Europe/Londn"],
                now=NOW) == EXIT_INVALID
    assert "did you mean Europe/London" in capsys.readouterr().err
    assert main(["plan", str(SEED_CHAT), "--start", "2016-10-17 20:00"], now=NOW) == EXIT_INVALID
    assert "in the past" in capsys.readouterr().err


def test_rehearse_runs_the_seed_chat_through_the_dispatcher(tmp_path):
    db = tmp_path / "rehearsal.db"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "rehearse", str(SEED_CHAT), "--speed", "3900", "--db", str(db)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "9 of 9 steps posted" in result.stdout
    assert result.stdout.count("Q3 of 6") == 1
    assert "thread opened: “Q6 · Our shared digital responsibility”" in result.stdout


def test_check_validates_the_guidance_file(tmp_path, capsys):
    assert main(["check", str(ROOT / "data" / "guidance.toml")], now=NOW) == 0
    assert "guidance entries" in capsys.readouterr().out
    broken = tmp_path / "guidance.toml"
    broken.write_text('[meta]\ntitle = "t"\n[[entries]]\nid = "Bad Id"\n')
    assert main(["check", str(broken)], now=NOW) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "meta.disclaimer" in err and "entries[0]" in err and ".id:" in err


def test_guidance_json_has_the_documented_shape(capsys):
    assert main(["guidance", "a patient sent me a friend request", "--json", "--top", "2"], now=NOW) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"query", "abstained", "results", "suggestions"}
    assert out["abstained"] is False and 1 <= len(out["results"]) <= 2  # real candidates only
    first = out["results"][0]
    assert {"id", "title", "score", "answer", "points", "sources"} <= set(first)
    assert {"publisher", "title", "year", "url"} <= set(first["sources"][0])


def test_guidance_says_when_it_has_nothing(capsys):
    assert main(["guidance", "recipe for banana bread"], now=NOW) == 0
    assert "No guidance in the file answers that well." in capsys.readouterr().out


def test_export_offers_exactly_the_transcript_formats():
    from bot.__main__ import TRANSCRIPT_FORMATS
    from bot.record.transcript import FORMATS

    assert TRANSCRIPT_FORMATS == tuple(FORMATS)


def test_every_subcommand_is_declared_once_in_the_table(capsys):
    from bot.__main__ import COMMANDS, build_parser

    parser = build_parser()
    choices = next(a for a in parser._subparsers._group_actions).choices
    assert list(choices) == list(COMMANDS)
