"""The layout's rules, checked on the source: no import cycle among emotag's modules (imports inside functions
included), no module over 400 lines, and every timed stage reported."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "emotag"
MAX_LINES = 400


def imported_modules(path: Path) -> set[str]:
    """The emotag modules `path` imports anywhere in it (at the top, in a function, under TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from emotag import batch`
    return {name for name in found if name.startswith("emotag.")}


def import_graph() -> dict[str, set[str]]:
    modules = {f"emotag.{path.stem}": path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    return {name: imported_modules(path) & modules.keys() - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (the first again at the end), or None."""
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        trail.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return trail[trail.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module] = "done"
        trail.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_emotags_modules():
    graph = import_graph()
    assert "emotag.pipeline" in graph["emotag.batch"], "the graph must see the imports"
    assert "emotag.watcher" in graph["emotag.cli"], "and the imports inside functions"
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_no_module_is_over_400_lines():
    sizes = {path.name: len(path.read_text().splitlines()) for path in PACKAGE.glob("*.py")}
    long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not long, long


def test_every_timed_stage_is_reported():
    """A `stage("name")` missing from `timing.STAGES` is timed and then left out of the `-v` log and the benchmarks
    (the eye reading and the close-up search were, until this test)."""
    from emotag.timing import STAGES

    timed = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "stage" and node.args:
                timed.add(ast.literal_eval(node.args[0]))
    assert timed and timed <= set(STAGES), timed - set(STAGES)
