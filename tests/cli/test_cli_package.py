"""The ``est`` command as a package (issue 17): one module per command group, no import cycle, none too long,
errors in one format."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(importlib.import_module("estclient.cli").__file__).resolve().parent
MODULES = sorted("estclient.cli" + ("" if p.stem == "__init__" else "." + p.stem) for p in PACKAGE.glob("*.py")
                 if p.stem != "__main__")
COMMAND_MODULES = {"_enroll", "_fullcmc", "_cacerts", "_show", "_renew", "_batch", "_demo", "_testserver",
                   "_check", "_export", "_generate"}


def _module_level_imports(name: str) -> set[str]:
    """The estclient.cli modules that ``name`` imports when it is imported (not those imported inside
    functions, which is how commands stay lazy)."""
    path = PACKAGE / ("__init__.py" if name == "estclient.cli" else name.rsplit(".", 1)[1] + ".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = "estclient.cli"
    found: set[str] = set()
    for node in tree.body:  # top-level statements only
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                targets = ([f"{package}.{node.module}"] if node.module
                           else [f"{package}.{a.name}" for a in node.names])
            elif node.level == 0 and node.module and node.module.startswith(package):
                targets = [node.module]
            else:
                continue
            found.update(t for t in targets if t in MODULES)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
    found.discard(name)
    return found


def test_the_package_has_one_module_per_command_group():
    assert {m.rsplit(".", 1)[1] for m in MODULES} >= COMMAND_MODULES


def test_the_cli_modules_import_each_other_without_a_cycle():
    graph = {m: _module_level_imports(m) for m in MODULES}
    for m, deps in graph.items():  # no module imports the package's __init__ back
        assert "estclient.cli" not in deps, m
    # the package imports no command module when it is imported: each command is imported when it runs
    assert not {d.rsplit(".", 1)[1] for d in graph["estclient.cli"]} & COMMAND_MODULES
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(m: str, trail: list[str]) -> None:
        assert state.get(m) != 1, f"import cycle: {' -> '.join([*trail, m])}"
        if state.get(m) == 2:
            return
        state[m] = 1
        for d in sorted(graph[m]):
            visit(d, [*trail, m])
        state[m] = 2

    for m in MODULES:
        visit(m, [])


@pytest.mark.parametrize("module", [*MODULES, "estclient._cli_files"])
def test_each_cli_module_imports_alone(module):
    out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_no_cli_module_is_longer_than_800_lines():
    lengths = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(lengths.values()) <= 800, lengths


def test_the_old_import_paths_still_work():
    from estclient._cli_files import KEY_MODE, OutputExists, write_file  # noqa: F401
    from estclient.cli import EXIT_CODES, _describe, exit_code_for, main  # noqa: F401

    assert EXIT_CODES["file"] == 9 and callable(main) and KEY_MODE == 0o600


def test_show_and_the_other_commands_print_errors_in_one_format(tmp_path):
    from est_cli_helpers import run_est

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x30\x03\x02\x01\x05")
    r = run_est("show", str(junk))
    assert r.returncode == 1 and r.stderr.startswith(f"est show: error: {junk}: "), r.stderr
    r = run_est("enroll", "--server", "https://127.0.0.1:9", "--cn", "x", "--out", str(tmp_path / "c"),
                "--key-out", str(tmp_path / "k"), "--trust", str(tmp_path / "missing.pem"))
    assert r.returncode != 0 and r.stderr.startswith("est enroll: error: "), r.stderr
