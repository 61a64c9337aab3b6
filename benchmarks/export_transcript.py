"""How long a transcript export takes for a big chat, in each format, and the statistics
with their chart.

A store holds one finished chat of ``--answers`` answers (default 10,000), written
directly through the store API: the seed chat's 6 questions over its real hour, about
300 members, 20% of answers replying to an earlier answer of the same question, 10%
edited once, 2% withdrawn, answers arriving in a burst after each question. Then, each
``--runs`` times (default 5), we time ``build_transcript`` + ``render`` per format and
``chat_stats`` + ``render_chart``, and print the median, the spread and the output size.

    .venv/bin/python benchmarks/export_transcript.py
    .venv/bin/python benchmarks/export_transcript.py --answers 50000 --runs 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.chat import load_chat_file  # noqa: E402
from bot.demo import SEED_NAME, data_dir  # noqa: E402
from bot.record.stats import chat_stats, render_chart  # noqa: E402
from bot.store import ChatState, Store  # noqa: E402
from bot.chat.timeline import StepKind, build_timeline  # noqa: E402
from bot.record.transcript import FORMATS, build_transcript, render  # noqa: E402

SEED = data_dir() / "chats" / f"{SEED_NAME}.toml"

GUILD, CHANNEL = 1001, 2002
START = datetime(2016, 10, 17, 19, 0, tzinfo=timezone.utc)  # 20:00 in London (BST)
WORDS = ("professional", "online", "values", "patients", "debate", "respect", "guidance",
         "students", "context", "trust", "evidence", "kind", "platform", "**really**",
         "<think>", "|", "a, b", "@everyone", "😀")


def build_store(path: Path, answers: int, members: int = 300, seed: int = 6) -> tuple[Store, int]:
    """A store with one finished chat of `answers` answers; returns it and the chat id."""
    rng = random.Random(seed)
    store = Store(path)
    definition = load_chat_file(SEED)
    chat = store.create_chat(guild_id=GUILD, channel_id=CHANNEL, definition=definition,
                             start_at=START, timezone_name="Europe/London",
                             steps=build_timeline(definition, START), created_by=None, now=START)
    thread_of = {}
    for step in store.steps(GUILD, chat.id):
        store.claim_step(GUILD, step.id, step.due_at)
        store.mark_posted(GUILD, step.id, message_id=10_000 + step.seq, posted_at=step.due_at,
                            late_seconds=None, needs_thread=False)
        if step.kind is StepKind.QUESTION:
            thread_of[step.question] = 20_000 + step.seq
            store.set_thread(GUILD, step.id, thread_of[step.question])
    store.set_chat_state(GUILD, chat.id, ChatState.FINISHED,
                         ended_at=store.steps(GUILD, chat.id)[-1].due_at)
    question_at = {s.question: s.due_at for s in store.steps(GUILD, chat.id) if s.question}
    people = [(900_000 + i, f"Member {i:03d}") for i in range(members)]
    posted: dict[int, list[int]] = {q: [] for q in question_at}
    message_id = 1_000_000
    with store.transaction():
        for n in range(answers):
            question = 1 + n * len(question_at) // answers
            # A burst after the question, tailing off over its ten minutes.
            at = question_at[question] + timedelta(seconds=min(599, rng.expovariate(1 / 150)))
            author_id, name = rng.choice(people)
            message_id += 1
            reply_to = (rng.choice(posted[question]) if posted[question] and rng.random() < 0.2
                        else None)
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
            store.add_answer(guild_id=GUILD, chat_id=chat.id, question=question,
                             message_id=message_id, channel_id=thread_of[question], via="thread",
                             author_id=author_id, author_name=name,
                             content=f"A{question} {text}", created_at=at, reply_to=reply_to,
                             attachments=[], recorded_at=at)
            posted[question].append(message_id)
            if rng.random() < 0.10:
                store.edit_answer(GUILD, message_id, content=f"A{question} {text} (edited)",
                                  edited_at=at + timedelta(seconds=30), recorded_at=at)
            if rng.random() < 0.02:
                store.withdraw_answer(GUILD, message_id, at + timedelta(seconds=60))
    return store, chat.id


def timed(runs: int, job) -> tuple[list[float], int]:
    seconds, size = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        size = len(job())
        seconds.append(time.perf_counter() - began)
    return seconds, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="tweetchat-bench-")) / "export.db"
    began = time.perf_counter()
    store, chat_id = build_store(path, args.answers)
    print(f"store with {args.answers:,} answers built in {time.perf_counter() - began:.1f} s ({path})")
    import matplotlib  # noqa: F401  (imported once up front, as in a running bot)

    jobs = {fmt: (lambda fmt=fmt: render(build_transcript(store, GUILD, chat_id), fmt))
            for fmt in FORMATS}
    jobs["stats+chart"] = lambda: render_chart(chat_stats(store, GUILD, chat_id))
    jobs["stats only"] = lambda: chat_stats(store, GUILD, chat_id).summary_lines()
    shown = build_transcript(store, GUILD, chat_id).answer_count
    print(f"{shown:,} answers shown; median of {args.runs} runs:")
    print(f"  {'job':<12} {'median':>9} {'min':>9} {'max':>9} {'output':>10}")
    for name, job in jobs.items():
        seconds, size = timed(args.runs, job)
        size_text = f"{size / 1024:,.0f} KiB" if name != "stats only" else f"{size} lines"
        print(f"  {name:<12} {statistics.median(seconds) * 1000:7.0f} ms "
              f"{min(seconds) * 1000:7.0f} ms {max(seconds) * 1000:7.0f} ms {size_text:>10}")
    store.close()


if __name__ == "__main__":
    main()
