"""The layout's rules, checked on the source: no import cycles inside `bot/`, Discord
imported only by the Discord layer, and `bot/exts/` holding only loadable extensions
(their private helpers start with `_`)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.app import EXTENSIONS

BOT = Path(__file__).resolve().parents[1] / "bot"
# The Discord layer: the only code that may import discord.
DISCORD_LAYER = ("bot.app", "bot.exts", "bot.demo", "bot.sandbox")


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in BOT.rglob("*.py")}


def _runtime_nodes(tree: ast.AST):
    """Every node, leaving out `if TYPE_CHECKING:` blocks (never run, so no cycle)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(path: Path) -> list[tuple[str, int]]:
    """Every module a file imports when it runs (at any depth: function-level imports
    too), with the line; `from a import b` counts as importing `a.b` when that is a
    module."""
    found = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    return {name: {m for m, _ in imports(path) if m in MODULES and m != name}
            for name, path in MODULES.items()}


def find_cycles(edges: dict[str, set[str]]) -> list[str]:
    """Each import cycle found by a depth-first walk, as "a -> b -> a"."""
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [node, nxt]))
            elif nxt not in state:
                visit(nxt, trail + [node] if node not in trail else trail)
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [])
    return cycles


def test_no_import_cycles_inside_bot():
    cycles = find_cycles(graph())
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_the_discord_layer_imports_discord():
    offenders = [
        f"{path.relative_to(BOT.parent)}:{line}: imports {name}"
        for mod, path in MODULES.items()
        if not any(mod == layer or mod.startswith(layer + ".") for layer in DISCORD_LAYER)
        for name, line in imports(path)
        if name.split(".")[0] == "discord"
    ]
    assert not offenders, "\n".join(offenders)


def test_exts_holds_only_extensions_and_private_helpers():
    public = sorted(m for m in MODULES if m.startswith("bot.exts.") and
                    not m.rpartition(".")[2].startswith("_"))
    assert public == sorted(EXTENSIONS), "every public module in bot/exts/ is a loaded extension"
    for name in public:
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.AsyncFunctionDef) and n.name == "setup" for n in tree.body), \
            f"{name} is in bot/exts/ but has no setup(): make it an extension or a _private helper"


def test_the_checks_can_fail():
    """The cycle finder reports a cycle, and the graph holds the real edges, including
    the ones a function-level import hides."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    edges = graph()
    assert edges["bot.run.dispatcher"] >= {"bot.store", "bot.chat.timeline"}
    assert "bot.sandbox" in edges["bot.demo"]  # imported inside run_demo()
