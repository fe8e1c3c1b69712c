"""The source layout rules of docs/architecture.md: no source file outside the compiled core above 800 lines, no
included part of the core above 1,500, and no import cycle among the modules of the two packages (imports made
when a module loads; an import inside a function, run later, does not make a cycle at load time)."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _load_time_imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue  # for type checkers only
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(tree.body)
    return {m for m in found if m in known and m != name}


def test_no_source_file_is_too_long() -> None:
    long_files = []
    for path in SRC.rglob("*"):
        if path.suffix == ".py":
            limit = 800
        elif path.suffix in (".pxi", ".pyx"):
            limit = 1500
        else:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            long_files.append(f"{path.relative_to(SRC)}: {lines} lines (limit {limit})")
    assert not long_files, long_files


def test_no_import_cycle_at_load_time() -> None:
    mods = _modules()
    graph = {name: _load_time_imports(name, path, set(mods)) for name, path in mods.items()}
    # a package's __init__ importing its own submodule, and that submodule importing the package for a sibling,
    # is how Python packages work; count only cycles between distinct modules that do not pass through their
    # own package's __init__
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name)
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_the_cycle_check_sees_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("import pkg.a\n")
    assert _load_time_imports("pkg.a", tmp_path / "a.py", {"pkg.a", "pkg.b"}) == {"pkg.b"}
    assert _load_time_imports("pkg.b", tmp_path / "b.py", {"pkg.a", "pkg.b"}) == {"pkg.a"}
