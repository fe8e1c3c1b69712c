"""The layout of estcodec stays as issue 17 left it: no Python source file above 800 lines (the compiled core, the
.pyx/.pxi parts, has its own limit), and no import cycle among its modules' top-level imports (an import inside a
function, done when it runs, is not part of the graph; neither is an ``if TYPE_CHECKING:`` block)."""
from __future__ import annotations

import ast
from pathlib import Path

import estcodec

PACKAGE = Path(estcodec.__file__).parent
MAX_LINES = 800


def test_no_source_file_above_800_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in sorted(PACKAGE.glob("*.py"))}
    assert sizes, "no sources found"
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert too_long == {}


def _top_level_imports(tree: ast.Module) -> set[str]:
    """The sibling modules a module imports when it is loaded (``from . import x``, ``from .x import y``)."""
    out: set[str] = set()
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If):
            test = node.test
            if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                stack.extend(node.orelse)
                continue
            stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                stack.extend(handler.body)
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (as the list of modules around it), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        state[start] = 1
        iters = [iter(sorted(graph[start]))]
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            if nxt not in graph or state.get(nxt) == 2:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            state[nxt] = 1
            path.append(nxt)
            iters.append(iter(sorted(graph[nxt])))
    return []


def test_no_import_cycle_between_estcodec_modules() -> None:
    graph = {p.stem: _top_level_imports(ast.parse(p.read_text(encoding="utf-8")))
             for p in sorted(PACKAGE.glob("*.py"))}
    assert "cmc" in graph and "_cmc_model" in graph["cmc"]
    assert _cycle(graph) == []


def test_the_cycle_check_sees_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
