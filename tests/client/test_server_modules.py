"""The reference server's layout (issue 17): ``estclient.testing`` split into modules of at most 600 lines,
none importing another in a cycle, each importable alone, every public function documented, the public
names where they were, and ``mypy --strict`` clean over the package."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import estclient.testing
import estclient.testing.server

PACKAGE = Path(estclient.testing.__file__).resolve().parent
ROOT = PACKAGE.parent.parent.parent
NAME = "estclient.testing"
MODULES = sorted(NAME + ("" if p.stem == "__init__" else "." + p.stem) for p in PACKAGE.glob("*.py"))


def _path(module: str) -> Path:
    return PACKAGE / ("__init__.py" if module == NAME else module.rsplit(".", 1)[1] + ".py")


def _imports(module: str) -> set[str]:
    """The estclient.testing modules ``module`` imports anywhere in its text (functions and
    ``TYPE_CHECKING`` blocks included: a cycle hidden there is still a cycle)."""
    package = module if module == NAME else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(_path(module).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = package + ("." + node.module if node.module else "")
                targets = [base] if node.module else [f"{package}.{a.name}" for a in node.names]
            elif node.level == 0 and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in MODULES)
    found.discard(module)
    return found


def test_the_server_is_split_into_modules() -> None:
    for part in ("_state", "_http", "_auth", "_operations", "_fullcmc", "_handler", "server"):
        assert f"{NAME}.{part}" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_no_module_of_the_package_is_long(module: str) -> None:
    lines = _path(module).read_text(encoding="utf-8").count("\n")
    assert lines <= 600, f"{module} has {lines} lines"


def test_the_modules_import_each_other_without_a_cycle() -> None:
    graph = {m: _imports(m) for m in MODULES}
    # only the package itself (and the command-line entry point) import the public server module
    assert {m for m, deps in graph.items() if f"{NAME}.server" in deps} <= {NAME, f"{NAME}.__main__"}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(m: str, trail: list[str]) -> None:
        assert state.get(m) != 1, f"import cycle: {' -> '.join(trail + [m])}"
        if state.get(m) == 2:
            return
        state[m] = 1
        for dep in sorted(graph[m]):
            visit(dep, trail + [m])
        state[m] = 2

    for m in MODULES:
        visit(m, [])


@pytest.mark.parametrize("module", [m for m in MODULES if not m.endswith("__main__")])
def test_each_module_imports_alone(module: str) -> None:
    out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_the_public_names_stay_where_they_were() -> None:
    server = estclient.testing.server
    assert server.__all__ == ["EstTestServer", "RequestRecord", "OPERATIONS", "SERVER_KEY_TYPES"]
    for name in server.__all__:
        assert getattr(estclient.testing, name) is getattr(server, name)
    assert server.OPERATIONS == ("cacerts", "csrattrs", "simpleenroll", "simplereenroll", "serverkeygen", "fullcmc")
    assert server.EstTestServer.__module__ == "estclient.testing.server"


def test_every_public_function_and_method_has_a_docstring() -> None:
    missing = []
    for module in MODULES:
        tree = ast.parse(_path(module).read_text(encoding="utf-8"))
        todo: list[tuple[ast.AST, str]] = [(tree, "")]
        while todo:
            node, prefix = todo.pop()
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                if child.name.startswith("_"):
                    continue  # private, and so is everything inside a private class
                if ast.get_docstring(child) is None:
                    missing.append(f"{module}:{prefix}{child.name}")
                if isinstance(child, ast.ClassDef):
                    todo.append((child, f"{prefix}{child.name}."))
    assert not missing, missing


# mypy --strict over all of src (the reference server included) is tests/test_static_checks.py's job
