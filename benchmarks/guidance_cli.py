"""Cold start of `tweetchat guidance "…"`: a fresh process answering one question.

Anchors measured in the same run, interleaved with the CLI so that the machine's noise
falls on all alike: `python -c pass` (the interpreter alone) and `python -c "import numpy"`
(the one library the search cannot start without). Three questions: a short one whose
words the guidance uses, one with typos and words the guidance never uses (these reach the
typo table and the English dictionary), and a long one. Then the first run on a machine,
with nothing kept (`data/lexicon.sqlite` and the dequantised weights moved aside while it
runs, and put back), and where the time goes inside one warm process.

    .venv/bin/python benchmarks/guidance_cli.py [--runs 15] [--compare 4a96074]

``--compare REV`` adds the same questions answered by an earlier commit (checked out in a
temporary git worktree, run with this environment), interleaved with the rest.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = {
    "short": "can I accept a friend request from a patient",
    "typos": "a pt of mine wants to add me on fb, is that allowd? my managr says its fine",
    "long": ("I had a patient yesterday who was really pleased with their rehab and asked if "
             "they could follow me on instagram, my manager says it is up to me but I am not "
             "sure where I stand with the HCPC, can I say yes?"),
}


# As installed: pip writes bytecode for a package it installs, and the bot's own modules
# are compiled below; this workplace's shell sets PYTHONDONTWRITEBYTECODE=1, which would
# otherwise have every run compile the bot from source (about 30 ms).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def phases() -> list[tuple[str, float]]:
    """Where one cold answer's time goes, measured inside a fresh process."""
    code = r"""
import time; T = time.perf_counter; t = [T()]
import numpy; t.append(T())
import bot.__main__; t.append(T())
from bot.guidance import GuidanceIndex, load_knowledge, vectors_for
from bot.guidance._semantic import shared_encoder
t.append(T())
from bot.config import load_settings
path = load_settings().guidance_file
kb = load_knowledge(path); t.append(T())
shared_encoder(); t.append(T())
index = GuidanceIndex(kb, vectors_for(path)); t.append(T())
index.search(%r); t.append(T())
print(" ".join(f"{b - a:.6f}" for a, b in zip(t, t[1:])))
""" % QUESTIONS["typos"]
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO,
                         env={**ENV, "OPENBLAS_NUM_THREADS": "1"})  # as cmd_guidance sets it
    names = ["NumPy", "the CLI's own imports", "the search's modules", "knowledge file",
             "sentence model (tokenizer, weights)", "index (vectors, FTS5)", "first question"]
    return list(zip(names, map(float, out.stdout.split())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--compare", metavar="REV", help="also time this earlier commit")
    args = parser.parse_args()
    py = sys.executable
    commands = {"python -c pass": [py, "-c", "pass"], "python -c 'import numpy'": [py, "-c", "import numpy"]}
    commands |= {f"guidance, {k}": [py, "-m", "bot", "guidance", q] for k, q in QUESTIONS.items()}
    worktree = None
    if args.compare:
        worktree = Path(tempfile.mkdtemp(prefix="guidance-cli-rev-")) / "tree"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(worktree), args.compare],
                       check=True, cwd=REPO)
        subprocess.run([py, "-m", "compileall", "-q", str(worktree / "bot")], check=True, env=ENV)
        # -c with sys.path first: the earlier commit's code and data, not this checkout's
        commands |= {f"{args.compare}, {k}": [py, "-c", f"import sys; sys.path.insert(0, {str(worktree)!r}); "
                                               f"sys.argv = ['tweetchat', 'guidance', {q!r}]; "
                                               "from bot.__main__ import main; sys.exit(main())"]
                     for k, q in QUESTIONS.items()}
    try:
        measure(commands, args.runs)
    finally:
        if worktree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO)


def measure(commands: dict[str, list[str]], runs: int) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "bot")], check=True, env=ENV)
    for command in commands.values():  # warm the page cache and build anything kept
        run(command)
    walls: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(runs):
        for name, command in commands.items():
            wall, cpu = run(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    anchor = statistics.median(walls["python -c pass"])
    print(f"median of {runs} interleaved runs; CPU is user + system of the process")
    print("| command | wall | × `python -c pass` | CPU |")
    print("|---|---|---|---|")
    for name in commands:
        wall = statistics.median(walls[name])
        print(f"| {name} | {wall * 1e3:.0f} ms | {wall / anchor:.1f} | {statistics.median(cpus[name]) * 1e3:.0f} ms |")

    kept = [REPO / "data" / "lexicon.sqlite", REPO / "data" / "minilm-l6-f32.safetensors"]
    aside = Path(tempfile.mkdtemp(prefix="guidance-cli-"))
    try:
        for path in kept:
            for part in path.parent.glob(path.name + "*"):
                shutil.move(str(part), aside / part.name)
        first, _ = run(commands["guidance, typos"])
        again, _ = run(commands["guidance, typos"])
    finally:
        for part in aside.iterdir():
            target = REPO / "data" / part.name
            if target.exists():
                os.unlink(target)
            shutil.move(str(part), target)
        shutil.rmtree(aside, ignore_errors=True)
    print(f"first run with nothing kept: {first * 1e3:.0f} ms (builds the English table, the typo "
          f"table and the float32 weights), the next: {again * 1e3:.0f} ms")
    print("inside one cold process: " + ", ".join(f"{n} {s * 1e3:.0f} ms" for n, s in phases()))


if __name__ == "__main__":
    main()
