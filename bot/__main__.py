"""The `tweetchat` command line (also `python -m bot`).

Each subcommand is a thin wrapper over the core, so anything a moderator can check from
Discord can be checked from the shell too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, NoReturn, Sequence

# Each command imports what it needs itself, so that a one-off command (`tweetchat
# guidance`) starts without loading the chat parser, the store or discord.py.
from bot.argtypes import number
from bot.chat.timeline import START_FORMAT
from bot.config import ConfigError, load_settings

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2

Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- check -------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, now: Now) -> int:
    """Validate chat files and the guidance knowledge file; exit 2 if any is invalid.
    Writes nothing."""
    from bot.chat import ChatFileError, load_chat_file
    from bot.chat.posts import plural
    from bot.chat.timeline import build_timeline
    from bot.guidance import KnowledgeFileError, load_knowledge, looks_like_knowledge

    status = EXIT_OK
    for path in args.files:
        if looks_like_knowledge(path):
            try:
                kb = load_knowledge(path)
            except KnowledgeFileError as exc:
                print(f"{path}: INVALID", file=sys.stderr)
                print(str(exc), file=sys.stderr)
                status = EXIT_INVALID
                continue
            print(f"{path}: OK: {len(kb.entries)} guidance entries, "
                  f"{sum(len(e.sources) for e in kb.entries)} sources")
            continue
        try:
            definition = load_chat_file(path)
        except ChatFileError as exc:
            print(f"{path}: INVALID ({plural(len(exc.problems), 'problem')})", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem.format(str(path))}", file=sys.stderr)
            status = EXIT_INVALID
            continue
        unknown = _unknown_guidance(definition)
        if unknown:
            print(f"{path}: INVALID ({plural(len(unknown), 'problem')})", file=sys.stderr)
            for question, entry_id in unknown:
                print(f"  Q{question}.guidance: {entry_id!r} is not an entry of the guidance file "
                      "(/guidance-topics on Discord lists the entries; their ids are in the guidance file)", file=sys.stderr)
            status = EXIT_INVALID
            continue
        steps = build_timeline(definition, now())
        print(f"{path}: OK: {definition.title!r}, {len(definition.questions)} questions, "
              f"{len(steps)} steps over {steps[-1].offset.total_seconds() / 60:g} minutes")
    return status


def _unknown_guidance(definition) -> list[tuple[int, str]]:
    """(question, id) for each related-guidance id the knowledge file in force lacks."""
    named = [(q.number, i) for q in definition.questions for i in q.guidance]
    if not named:
        return []
    from bot.guidance import KnowledgeFileError, load_knowledge

    try:
        kb = load_knowledge(load_settings().guidance_file)
    except (KnowledgeFileError, ConfigError, OSError):
        return []  # the knowledge file is checked on its own
    return [(n, i) for n, i in named if kb.entry(i) is None]


# -- operations ---------------------------------------------------------------------------


def writable(path: Path) -> str | None:
    """None if a write transaction on the database can be taken now (and is given back at
    once, so the bot's writes wait at most a moment), else what stopped it."""
    import sqlite3

    try:
        connection = sqlite3.connect(path, timeout=2)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return str(exc)
    return None


def cmd_health(args: argparse.Namespace, now: Now) -> int:
    """Exit 0 if the running bot is healthy: the database writable, and the bot's heartbeat
    recent with its gateway connected and its dispatcher alive; else say what is wrong
    and exit 1 (the Docker image's health check)."""
    from bot.store import Store

    path = _database(args)
    if path is None:
        return EXIT_INVALID
    problems = []
    locked = writable(path)
    if locked:
        problems.append(f"the database cannot be written: {locked}")
    # Read-only for the rest: a health check never checkpoints or waits on the bot.
    store = Store(path, read_only=True)
    try:
        beat = store.latest_heartbeat()
    finally:
        store.close()
    moment = now()
    limit = timedelta(seconds=args.max_age)
    if beat is None:
        problems.append("the bot has never recorded a heartbeat here: is `tweetchat run` using this database?")
    else:
        if moment - beat.at > limit:
            problems.append(f"the bot's last heartbeat was {(moment - beat.at).total_seconds():.0f} s ago "
                            f"(pid {beat.pid} on {beat.host}): it is not running, or stuck")
        if not beat.gateway_ok:
            since = f"since {beat.gateway_at:%H:%M:%S} UTC" if beat.gateway_at else "since it started"
            problems.append(f"the gateway (Discord's live connection) is down {since}")
        if not beat.dispatcher_alive:
            problems.append("the step dispatcher is not running (it restarts itself; see the log)")
    if problems:
        for problem in problems:
            print(f"unhealthy: {problem}")
        return 1
    print(f"healthy: heartbeat {(moment - beat.at).total_seconds():.0f} s ago, gateway connected, "
          f"dispatcher alive ({beat.dispatcher_restarts} restarts), database writable")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, now: Now) -> int:
    """Write a consistent copy of the database to PATH, safe while the bot runs (SQLite's
    online backup); restore by stopping the bot and putting the copy in its place."""
    import sqlite3

    path = _database(args)
    if path is None:
        return EXIT_INVALID
    target = Path(args.path)
    if target.exists():
        print(f"error: {target} already exists; give a new file name (nothing was overwritten)",
              file=sys.stderr)
        return EXIT_INVALID
    if not target.parent.is_dir():
        print(f"error: the folder {target.parent} does not exist", file=sys.stderr)
        return EXIT_INVALID
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
    copy = sqlite3.connect(partial)
    try:
        # Page by page, letting the bot write between steps; the copy is of one moment.
        source.backup(copy, pages=256, sleep=0.005)
        copy.execute("PRAGMA journal_mode=DELETE")
        ok = copy.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as exc:
        copy.close()
        partial.unlink(missing_ok=True)
        print(f"error: the backup failed: {exc}; nothing was written", file=sys.stderr)
        return 1
    finally:
        source.close()
    copy.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        print(f"error: the copy failed its integrity check ({ok}); nothing was written", file=sys.stderr)
        return 1
    partial.replace(target)
    print(f"backed up {path} to {target} ({target.stat().st_size / 1e6:.1f} MB); to restore, "
          f"stop the bot and copy it over {path}")
    return EXIT_OK


# -- the operator's commands: the slash commands, from a shell ----------------------------


def _writable_store(args: argparse.Namespace):
    """The live database opened for writing beside the running bot (WAL: the two take
    turns), or None after saying why not."""
    from bot.store import Store

    path = _database(args)
    return Store(path, beside_bot=True) if path is not None else None


def _read(args: argparse.Namespace, read: Callable) -> tuple[bool, object]:
    """(True, read(store)) on the live database opened read-only (never in the bot's way),
    or (False, None) after saying why there is no database."""
    from bot.store import Store

    path = _database(args)
    if path is None:
        return False, None
    store = Store(path, read_only=True)
    try:
        return True, read(store)
    finally:
        store.close()


def cmd_chats(args: argparse.Namespace, now: Now) -> int:
    """List chats, newest first: id, server, channel, start (UTC), state and title."""
    found, chats = _read(args, lambda store: store.all_chats(limit=args.limit))
    if not found:
        return EXIT_INVALID
    chats = [c for c in chats if args.guild is None or c.guild_id == args.guild]
    if not chats:
        print("no chats" + (f" in server {args.guild}" if args.guild else ""))
        return EXIT_OK
    for c in chats:
        print(f"{c.id:>5}  server {c.guild_id}  channel {c.channel_id}  "
              f"{c.start_at:%Y-%m-%d %H:%M} UTC  {c.state.value:<9}  {c.title}")
    return EXIT_OK


CHAT_ACTIONS = ("pause", "resume", "skip", "stop", "cancel")


def cmd_chat(args: argparse.Namespace, now: Now) -> int:
    """Pause, resume, skip to the next question, stop (wrap up now) or cancel a chat, as a
    moderator's slash command would; the running bot picks the change up within seconds."""
    from bot.run.control import ChatControl, ChatStateError, InputError

    store = _writable_store(args)
    if store is None:
        return EXIT_INVALID
    try:
        chat = store.find_chat(args.chat)
        if chat is None:
            print(f"error: there is no chat {args.chat} (tweetchat chats lists them)", file=sys.stderr)
            return EXIT_INVALID
        control = ChatControl(store, now)
        act = {"pause": control.pause, "resume": control.resume, "skip": control.skip_to_next_question,
               "stop": control.stop, "cancel": control.cancel}[args.action]
        try:
            outcome = act(chat.guild_id, chat.id, actor_id=None)
        except (ChatStateError, InputError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
        store.bump_ledger_version()
    finally:
        store.close()
    print(outcome.message.replace("**", ""))
    return EXIT_OK


def cmd_audit(args: argparse.Namespace, now: Now) -> int:
    """The latest audit-log lines of a server (who did what; deleted content never)."""
    found, rows = _read(args, lambda store: store.audit_log(args.guild, limit=args.limit))
    if not found:
        return EXIT_INVALID
    if not rows:
        print(f"the audit log of server {args.guild} is empty")
    for r in rows:
        who = f"user {r['actor_id']}" if r["actor_id"] else "the bot or an operator"
        chat = f" · chat #{r['chat_id']}" if r["chat_id"] else ""
        detail = f": {r['detail']}" if r["detail"] else ""
        print(f"{r['at']}  {who} · {r['action']}{chat}{detail}")
    return EXIT_OK


def cmd_member(args: argparse.Namespace, now: Now) -> int:
    """A member's data in one server: export it as JSON (what /mydata export gives them) or
    erase it (what /mydata delete does), on request made to the operator."""
    from bot.record.privacy import erase_member, export_member

    if args.action == "export" and args.output:
        problem = _output_problem(Path(args.output))
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_INVALID
    store = _writable_store(args)
    if store is None:
        return EXIT_INVALID
    try:
        if args.action == "erase":
            erased = erase_member(store, args.guild, args.user, now())
            store.bump_ledger_version()
            print(erased.sentence().replace("about you", f"about member {args.user}"))
            return EXIT_OK
        data = export_member(store, args.guild, args.user, now())
    finally:
        store.close()
    return _deliver(data + b"\n", args.output)


def cmd_purge(args: argparse.Namespace, now: Now) -> int:
    """Run the retention purge now (the bot runs it daily): in each server with a
    retention period, remove answers older than it."""
    from bot.chat.posts import plural
    from bot.record.privacy import purge_expired

    store = _writable_store(args)
    if store is None:
        return EXIT_INVALID
    try:
        purged = purge_expired(store, now())
    finally:
        store.close()
    if not purged:
        print("nothing to purge: no server has answers older than its retention period")
    for guild, answers in sorted(purged.items()):
        print(f"server {guild}: removed {plural(answers, 'answer')}")
    return EXIT_OK


# -- plan --------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace, now: Now) -> int:
    """Print every step of a chat for a given start, in local time and UTC; with
    --repeat, every step of each of the series' first --count occurrences."""
    from bot.chat import ChatFileError, load_chat_file
    from bot.chat.posts import plural
    from bot.chat.timeline import StartTimeError, build_timeline, resolve_start
    from bot.chat.zones import UnknownTimeZone
    from bot.chat.recurrence import REPEAT_EXAMPLES, RepeatError, occurrences, parse_repeat

    try:
        definition = load_chat_file(args.file)
    except ChatFileError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    tz = args.tz or definition.schedule.timezone
    if not tz:
        print("give --tz (the chat file has no [schedule] timezone), e.g. --tz Europe/London",
              file=sys.stderr)
        return EXIT_INVALID
    if args.count is not None and not args.repeat:
        print(f"--count needs --repeat, e.g. --repeat weekly --count {args.count} "
              f"(rules: {REPEAT_EXAMPLES})", file=sys.stderr)
        return EXIT_INVALID
    try:
        start = resolve_start(args.start, tz, now=now(), occurrence=args.occurrence,
                              default_time=definition.schedule.start)
        rule = parse_repeat(args.repeat) if args.repeat else None
    except (UnknownTimeZone, StartTimeError, RepeatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    zone = start.zone
    if rule is None:
        starts = [(start.instant, start.note)]
    else:
        starts = [(o.start, o.note or (start.note if o.number == 0 else ""))
                  for o in occurrences(rule, start.local.replace(tzinfo=None), zone,
                                       count=args.count or 4)]

    def steps_json(instant: datetime) -> list[dict]:
        return [{"seq": s.seq, "step": s.label, "kind": s.kind.value, "question": s.question,
                 "offset_minutes": s.offset.total_seconds() / 60,
                 "local": s.due.astimezone(zone).isoformat(), "utc": s.due.isoformat()}
                for s in build_timeline(definition, instant)]

    if args.json:
        if rule is None:
            out = {"title": definition.title, "timezone": zone.key,
                   "start_local": start.local.isoformat(), "start_utc": start.instant.isoformat(),
                   "note": start.note or None, "steps": steps_json(start.instant)}
        else:
            out = {"title": definition.title, "timezone": zone.key, "repeat": rule.value,
                   "repeat_description": rule.describe(),
                   "occurrences": [
                       {"number": n, "start_local": instant.astimezone(zone).isoformat(),
                        "start_utc": instant.isoformat(), "note": note or None,
                        "steps": steps_json(instant)}
                       for n, (instant, note) in enumerate(starts)]}
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(definition.title if rule is None else
          f"{definition.title}: {rule.describe()}, {plural(len(starts), 'occurrence')} shown")
    for n, (instant, note) in enumerate(starts):
        local = instant.astimezone(zone)
        print()
        heading = "Starts" if rule is None else f"#{n + 1} starts"
        print(f"{heading} {local:%a %d %b %Y %H:%M} {local.tzname()} ({zone.key}) "
              f"= {instant:%H:%M} UTC")
        if note:
            print(f"Note: {note}")
        print()
        print(f"  {'step':<16} {'local (' + zone.key + ')':<28} {'UTC':<17} offset")
        for s in build_timeline(definition, instant):
            step_local = s.due.astimezone(zone)
            print(f"  {s.label:<16} {step_local:%a %d %b %H:%M} {step_local.tzname():<11} "
                  f"{s.due:%a %d %b %H:%M}  +{s.offset.total_seconds() / 60:g} min")
    return EXIT_OK


# -- guidance ----------------------------------------------------------------------------


def cmd_guidance(args: argparse.Namespace, now: Now) -> int:
    """Answer a question from the guidance knowledge file, with sources."""
    # One question is a few small matrix products: BLAS threads only cost their start-up.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from bot.guidance import JURISDICTIONS, GuidanceIndex, KnowledgeFileError, load_knowledge, vectors_for

    if args.jurisdiction and args.jurisdiction.upper() not in JURISDICTIONS:
        print(f"error: --jurisdiction must be one of {', '.join(JURISDICTIONS)}", file=sys.stderr)
        return EXIT_INVALID
    try:
        path = Path(args.file) if args.file else load_settings().guidance_file
        index = GuidanceIndex(load_knowledge(path), vectors_for(path))
    except KnowledgeFileError as exc:
        if len(exc.problems) == 1:
            print(f"error: {exc.source}: {exc.problems[0]}", file=sys.stderr)
        else:
            print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    result = index.search(args.query, top=args.top,
                          jurisdiction=args.jurisdiction.upper() if args.jurisdiction else None)
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return EXIT_OK
    if result.abstained:
        print("No guidance in the file answers that well.")
        if result.suggestions:
            print("Did you mean:")
            for hit in result.suggestions:
                print(f"  - {hit.entry.title}")
        return EXIT_OK
    for rank, hit in enumerate(result.results, 1):
        e = hit.entry
        print(f"{rank}. {e.title}  (score {hit.score:.2f}; {', '.join(e.jurisdictions)})")
        print(f"   {e.answer}")
        for point in e.do:
            print(f"   ✓ {point}")
        for point in e.dont:
            print(f"   ✗ {point}")
        if e.differences:
            print(f"   Where sources differ: {e.differences}")
        for src in e.sources:
            print(f"   Source: {src.publisher}, {src.document} ({src.year}) {src.url}")
        print()
    print(index.kb.disclaimer)
    return EXIT_OK


# -- export and stats --------------------------------------------------------------------


def _database(args: argparse.Namespace) -> Path | None:
    """The database an operator means (--db, else the settings'), or None after saying
    why there is none."""
    if args.db:
        path = Path(args.db)
    else:
        try:
            path = load_settings().database
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return None
    if not path.is_file():
        print(f"error: there is no database at {path} (give --db PATH or set "
              "TWEETCHAT_DATABASE)", file=sys.stderr)
        return None
    return path


def _open_chat(args: argparse.Namespace):
    """(store, chat) for the chat an operator named, or an exit code after saying why."""
    from bot.store import Store

    path = _database(args)
    if path is None:
        return None, EXIT_INVALID
    # Read-only: an export beside the running bot never blocks or breaks its writes.
    store = Store(path, read_only=True)
    chat = store.find_chat(args.chat)
    if chat is None:
        known = store.all_chats(limit=5)
        listing = "; ".join(f"#{c.id} {c.title[:40]} ({c.start_at:%Y-%m-%d}, {c.state.value})"
                            for c in known) or "none yet"
        print(f"error: there is no chat {args.chat} in {path}; its newest chats: {listing}",
              file=sys.stderr)
        store.close()
        return None, EXIT_INVALID
    return store, chat


def _deliver(data: bytes, output: str | None) -> int:
    """Write `data` to the -o file (saying so on standard error) or to standard output."""
    if output:
        Path(output).write_bytes(data)
        print(f"wrote {output} ({len(data):,} bytes)", file=sys.stderr)
    else:
        _write_out(data)
    return EXIT_OK


def _write_out(data: bytes) -> None:
    """Bytes to standard output (as text where it is not a real stream, as in tests)."""
    sys.stdout.flush()
    if hasattr(sys.stdout, "buffer"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data.decode("utf-8"))


def _output_problem(path: Path) -> str | None:
    """Why a file cannot be written where asked, before any work is done (None if it can)."""
    if path.is_dir():
        return f"{path} is a folder; give a file name in it"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist; create it or write elsewhere"
    return None


def cmd_export(args: argparse.Namespace, now: Now) -> int:
    """Write a chat's transcript, grouped by question, as Markdown, HTML, CSV or JSON
    (to standard output, or to -o FILE). Withdrawn answers and answers by members who
    opted out are left out."""
    from bot.record.transcript import build_transcript, render

    fmt = args.format
    if args.output:
        out = Path(args.output)
        ext = out.suffix.lower().lstrip(".")
        if ext in TRANSCRIPT_FORMATS and fmt and fmt != ext:
            print(f"error: -o {out.name} says .{ext} but --format is {fmt}; give one of them, or "
                  f"a name ending .{fmt}", file=sys.stderr)
            return EXIT_INVALID
        fmt = fmt or (ext if ext in TRANSCRIPT_FORMATS else None)
        problem = _output_problem(out)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_INVALID
    fmt = fmt or "md"
    store, chat = _open_chat(args)
    if store is None:
        return chat
    try:
        data = render(build_transcript(store, chat.guild_id, chat.id, now=now()), fmt)
    finally:
        store.close()
    return _deliver(data, args.output)


def cmd_cpd(args: argparse.Namespace, now: Now) -> int:
    """Print a member's CPD record of a chat (their answers, the chat, their reflection),
    as the member would get it by DM or from /cpd export."""
    from bot.record.cpd import build_cpd_record, render_cpd

    store, chat = _open_chat(args)
    if store is None:
        return chat
    try:
        record = build_cpd_record(store, chat.guild_id, chat.id, args.member)
    finally:
        store.close()
    if record is None:
        print(f"error: member {args.member} has no answer in chat {chat.id}, so there is no "
              "record; `tweetchat export CHAT --format csv` lists who answered", file=sys.stderr)
        return EXIT_INVALID
    return _deliver(render_cpd([record], args.format), args.output)


def cmd_nudge(args: argparse.Namespace, now: Now) -> int:
    """Say whether an answer would get the confidentiality nudge, and which guidance entry
    the private note would point to."""
    from bot.nudge import assess

    verdict = assess(args.text, tuple(args.attachment or ()))
    if args.json:
        print(json.dumps({"nudge": verdict.nudge, "entry": verdict.entry, "why": verdict.why}))
    elif verdict.nudge:
        print(f"nudge: {verdict.why}; the note points to /guidance entry {verdict.entry}")
    else:
        print(f"no nudge: {verdict.why}")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, now: Now) -> int:
    """Print a chat's statistics (participants, answers per question, replies, the
    busiest minute) and optionally write the answers-per-minute chart as a PNG."""
    from bot.record.stats import chat_stats, render_chart, top_contributors

    if args.chart:
        chart = Path(args.chart)
        problem = _output_problem(chart)
        if chart.suffix.lower() != ".png":
            problem = f"the chart is a PNG image: give a file name ending .png, not {chart.name}"
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_INVALID
    store, chat = _open_chat(args)
    if store is None:
        return chat
    try:
        stats = chat_stats(store, chat.guild_id, chat.id)
        top = top_contributors(store, chat.guild_id, chat.id, args.top) if args.top else []
    finally:
        store.close()
    print(f"{chat.title} (chat {chat.id}, {stats.timezone})")
    for line in stats.summary_lines():
        print(f"  {line}")
    if top:
        print(f"Most answers (asked for with --top {args.top}):")
        for name, answers in top:
            print(f"  {answers:>5}  {name}")
    if args.chart:
        png = render_chart(stats)
        Path(args.chart).write_bytes(png)
        print(f"chart: {args.chart} ({len(png):,} bytes)")
    return EXIT_OK


# -- rehearse ----------------------------------------------------------------------------


def cmd_rehearse(args: argparse.Namespace, now: Now) -> int:
    """Run a chat's run of show in the terminal, timings compressed, through the real
    dispatcher and a SQLite ledger."""
    import asyncio
    import tempfile

    from bot.chat import ChatFileError, load_chat_file
    from bot.chat.timeline import build_timeline, compressed
    from bot.run.dispatcher import Dispatcher, SystemClock
    from bot.run.rehearsal import TerminalPoster
    from bot.store import Store

    try:
        definition = load_chat_file(args.file)
    except ChatFileError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    db_path = Path(args.db) if args.db else Path(tempfile.mkdtemp(prefix="tweetchat-")) / "rehearsal.db"
    store = Store(db_path)
    clock = SystemClock()
    start = clock.now() + timedelta(seconds=2)
    definition = compressed(definition, args.speed)
    steps = build_timeline(definition, start)
    chat = store.create_chat(guild_id=0, channel_id=0, definition=definition, start_at=start,
                             timezone_name=definition.schedule.timezone or "UTC", steps=steps,
                             created_by=None, now=clock.now())
    total = steps[-1].offset.total_seconds()
    print(f"Rehearsing {definition.title!r}: {len(steps)} steps in {total:.0f} s "
          f"(speed x{args.speed:g}). Ctrl-C to stop.\n")
    poster = TerminalPoster(now=clock.now)
    dispatcher = Dispatcher(store, poster, clock)

    async def rehearse() -> None:
        task = asyncio.create_task(dispatcher.run())
        while chat.id not in poster.finished:
            await asyncio.sleep(0.1)
        await dispatcher.stop()
        await task

    try:
        asyncio.run(rehearse())
    except KeyboardInterrupt:
        print("\nstopped.")
    ledger = store.steps(0, chat.id)
    posted = sum(1 for s in ledger if s.state.value == "posted")
    print(f"\n{posted} of {len(ledger)} steps posted, each once; ledger in {db_path} "
          f"(open it with: sqlite-utils rows {db_path} steps)")
    store.close()
    return EXIT_OK


# -- run and demo ------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, now: Now) -> int:
    """Run the bot on Discord with the token from the environment or .env."""
    import asyncio

    import logging
    import signal

    from bot.app import TweetchatBot, point_at
    from bot.config import configure_logging

    try:
        settings = load_settings()
        token = settings.require_token()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    configure_logging(settings)
    point_at(settings)

    async def run() -> None:
        bot = TweetchatBot(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
        async with bot:
            await bot.start(token)

    try:
        asyncio.run(run())
    except Exception as exc:  # login refused, network down...: say so without a trace
        logging.getLogger("bot").error("the bot stopped: %s", exc)
        return EXIT_ERROR
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, now: Now) -> int:
    """Run the seed chat on the local sandbox with the real bot and scripted members."""
    import asyncio

    import logging

    from bot.demo import run_demo

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print("Starting the local Discord sandbox, the bot and 24 scripted members "
          "(no token needed)...")
    total = asyncio.run(run_demo(speed=args.speed, db_path=Path(args.db) if args.db else None))
    return EXIT_OK if total else EXIT_ERROR


def cmd_room(args: argparse.Namespace, now: Now) -> int:
    """Run the rehearsal room (the sandbox as a web page, with the bot) until Ctrl-C."""
    import asyncio
    import logging

    from bot.room import run_room

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print("Starting the local Discord sandbox, its rehearsal room and the bot (no token needed)...",
          flush=True)
    try:
        asyncio.run(run_room(speed=args.speed, port=args.port, db_path=Path(args.db) if args.db else None))
    except KeyboardInterrupt:
        print("Room closed.")
    except OSError as exc:
        print(f"error: could not open the room on 127.0.0.1:{args.port}: {exc.strerror or exc}; "
              "try another --port, or leave it out for a free one", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


# -- config ------------------------------------------------------------------------------


def cmd_sandbox(args: argparse.Namespace, now: Now) -> int:
    """Run the local Discord-compatible sandbox until Ctrl-C."""
    from bot.sandbox import cli

    return cli.run(args)


def cmd_settings(args: argparse.Namespace, now: Now) -> int:
    """Show the settings the bot would use (the token is never shown)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    for name, value in vars(settings).items():
        if name == "token":
            value = "(set; never shown)" if value else "(not set)"
        print(f"{name:<18} {value}")
    return EXIT_OK


# -- parser ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One subcommand: what runs, its one-line help and its options.

    :param run: the function; its docstring is the subcommand's description.
    :param help: the line in ``tweetchat --help``.
    :param options: ``(flags, argparse keyword arguments)`` pairs.
    :param more: adds options declared elsewhere (the sandbox's own), imported only then.
    """

    run: Callable[[argparse.Namespace, Now], int]
    help: str
    options: tuple[tuple[tuple[str, ...], dict], ...] = ()
    more: Callable[[argparse.ArgumentParser], None] | None = None


def option(*flags: str, **kwargs) -> tuple[tuple[str, ...], dict]:
    return flags, kwargs


def _sandbox_options(parser: argparse.ArgumentParser) -> None:
    from bot.sandbox import cli as sandbox_cli

    sandbox_cli.add_arguments(parser)


DB_OPTION = option("--db", help="SQLite file (default: TWEETCHAT_DATABASE)")


TRANSCRIPT_FORMATS = ("md", "html", "csv", "json")  # bot.record.transcript.FORMATS; a test keeps them equal

# The one table of subcommands: the parser and `--help` are built from it.
COMMANDS: dict[str, Command] = {
    "run": Command(cmd_run, "run the bot on Discord (needs DISCORD_TOKEN)"),
    "demo": Command(cmd_demo, "run the seed chat on the local sandbox with scripted members, no token", (
        option("--speed", type=number(float, 1, 1000, "65"), default=65.0,
               help="how many times faster than real time (default 65: about a minute)"),
        option("--db", help="SQLite file (default: a new temporary one)"),
    )),
    "room": Command(cmd_room, "rehearse a chat in the browser: the sandbox and the bot, as a web page", (
        option("--speed", type=number(float, 1, 1000, "20"), default=1.0,
               help="run the bot's clock this many times faster (default 1: real time)"),
        option("--port", type=number(int, 0, 65535, "8765"), default=0,
               help="the port on 127.0.0.1 (default: a free one)"),
        option("--db", help="SQLite file (default: a new temporary one)"),
    )),
    "health": Command(cmd_health, "exit 0 if the running bot is healthy (the image's health check)", (
        DB_OPTION,
        option("--max-age", type=number(float, 0.1, 86400, "120"), default=120.0,
               help="seconds a heartbeat may be old (default 120)"),
    )),
    "backup": Command(cmd_backup, "copy the live database safely to PATH", (
        option("path", metavar="PATH", help="the new backup file"),
        DB_OPTION,
    )),
    "chats": Command(cmd_chats, "list chats, newest first", (
        option("--guild", type=int, help="only this server's (its id)"),
        option("--limit", type=number(int, 1, 1000, "50"), default=50, help="at most this many (default 50)"),
        DB_OPTION,
    )),
    "chat": Command(cmd_chat, "pause, resume, skip, stop or cancel a chat (as the slash commands do)", (
        option("action", choices=CHAT_ACTIONS, help=", ".join(CHAT_ACTIONS)),
        option("chat", type=int, metavar="ID", help="the chat's id (tweetchat chats)"),
        DB_OPTION,
    )),
    "audit": Command(cmd_audit, "a server's latest audit-log lines", (
        option("guild", type=int, metavar="GUILD", help="the server's id"),
        option("--limit", type=number(int, 1, 1000, "20"), default=20, help="how many lines (default 20)"),
        DB_OPTION,
    )),
    "member": Command(cmd_member, "export or erase a member's data in a server (as /mydata does)", (
        option("action", choices=("export", "erase"), help="export or erase"),
        option("guild", type=int, metavar="GUILD", help="the server's id"),
        option("user", type=int, metavar="USER", help="the member's user id"),
        option("-o", "--output", metavar="FILE", help="export: write here, not to standard output"),
        DB_OPTION,
    )),
    "purge": Command(cmd_purge, "run the retention purge now (the bot runs it daily)", (
        DB_OPTION,
    )),
    "check": Command(cmd_check, "validate chat files (exit 2 if invalid)", (
        option("files", nargs="+", metavar="FILE",
               help="chat file(s) or the guidance knowledge file to check"),
    )),
    "guidance": Command(cmd_guidance, "answer a question from the guidance knowledge file, with sources", (
        option("query", help="the question, in your own words"),
        option("--top", type=number(int, 1, 10, "3"), default=3, help="at most how many entries, 1-10 (default 3)"),
        option("--jurisdiction", help="UK, IE, AU, NZ, US, CA or INTL"),
        option("--json", action="store_true", help="print JSON"),
        option("--file", help="knowledge file (default: guidance.toml in the data folder)"),
    )),
    "plan": Command(cmd_plan, "print a chat's steps for a start time, local and UTC", (
        option("file", metavar="FILE", help="chat file"),
        option("--start", required=True,
               help=f'local start: "{START_FORMAT}", "8pm Friday", "tomorrow 7.30pm"... (a day alone takes the file\'s time)'),
        option("--tz", help="IANA time zone (default: the file's), e.g. Europe/London"),
        option("--occurrence", choices=("earlier", "later"), default="earlier",
               help="for a time that happens twice when clocks go back"),
        option("--repeat", metavar="RULE",
               help="plan a series: weekly, every-2-weeks (fortnightly), every-N-weeks, "
                    "monthly-2nd-monday, monthly-last-friday..."),
        option("--count", type=number(int, 1, 520, "4"), default=None,
               help="with --repeat: how many occurrences (default 4)"),
        option("--json", action="store_true", help="print JSON"),
    )),
    "export": Command(cmd_export, "write a chat's transcript as Markdown, HTML, CSV or JSON", (
        option("chat", type=int, metavar="CHAT", help="the chat's id"),
        option("--format", choices=TRANSCRIPT_FORMATS, default=None,
               help="md (default, or the -o file's extension), html, csv or json"),
        option("-o", "--output", metavar="FILE", help="write here, not to standard output"),
        DB_OPTION,
    )),
    "cpd": Command(cmd_cpd, "print a member's CPD record of a chat (Markdown, HTML or JSON)", (
        option("chat", type=int, metavar="CHAT", help="the chat's id"),
        option("--member", type=number(int, 1, 2 ** 64 - 1, "123456789012345678"), required=True,
               metavar="ID", help="the member's Discord id"),
        option("--format", choices=("md", "html", "json"), default="md", help="md (default), html or json"),
        option("-o", "--output", metavar="FILE", help="write here, not to standard output"),
        DB_OPTION,
    )),
    "nudge": Command(cmd_nudge, "would this answer get the private confidentiality nudge?", (
        option("text", help="the answer's text"),
        option("--attachment", action="append", metavar="FILE",
               help="an attached file's name (repeatable)"),
        option("--json", action="store_true", help='print {"nudge": ..., "entry": ..., "why": ...}'),
    )),
    "stats": Command(cmd_stats, "print a chat's statistics; --chart FILE writes the PNG chart", (
        option("chat", type=int, metavar="CHAT", help="the chat's id"),
        option("--chart", metavar="FILE", help="write the answers-per-minute chart (PNG)"),
        option("--top", type=number(int, 0, 100, "5"), default=0, metavar="N",
               help="also list the N members with most answers (off by default)"),
        DB_OPTION,
    )),
    "rehearse": Command(cmd_rehearse, "run a chat's run of show in the terminal, timings compressed", (
        option("file", metavar="FILE", help="chat file"),
        option("--speed", type=number(float, 0.01, 100_000, "60"), default=60.0,
               help="how many times faster than real time (default 60)"),
        option("--db", help="SQLite file for the ledger (default: a temporary one)"),
    )),
    "sandbox": Command(cmd_sandbox, "run a local Discord-compatible API server for testing (Ctrl-C to stop)",
                       more=_sandbox_options),
    "settings": Command(cmd_settings, "show the settings read from the environment and .env"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line gets one line (what is wrong, where to look)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, built from :data:`COMMANDS`."""
    parser = _Parser(prog="tweetchat", description="Run structured tweetchats on Discord.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.run.__doc__)
        for flags, kwargs in command.options:
            child.add_argument(*flags, **kwargs)
        if command.more is not None:
            command.more(child)
    return parser


def main(argv: Sequence[str] | None = None, now: Now = _utcnow) -> int:
    """Entry point of the `tweetchat` console script."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command].run(args, now)
    except BrokenPipeError:
        # The reader went away (`tweetchat plan ... | head`): not an error of ours.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
