"""Every ```python block in docs/*.md is executed here, so the documentation cannot drift from the code.

Convention (also stated at the top of docs/index.md): the blocks of one page run in order, in one namespace, in
a fresh temporary working directory, with ``server`` bound to a running
``estclient.testing.EstTestServer(auth="basic")`` (real HTTPS on loopback). Anything else a block needs, it
makes itself.

On docs/cli.md the ```console blocks run too: each ``$ `` line (a trailing backslash continues it) is run by
bash in that working directory, with ``est`` on the PATH and ``EST_SERVER``, ``EST_USER``, ``EST_PASSWORD``
and ``CA_FINGERPRINT`` (hex SHA-256 of the server's CA certificate) set for that server; variables exported by
one block stay set for the next ones. A command must exit 0, or the status named by a trailing ``# exits N``
comment. (Installation commands elsewhere, such as ``pip install .``, are not run.)
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from estclient.testing import EstTestServer

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")

OPERATION_PAGES = ["cacerts.md", "csrattrs.md", "simpleenroll.md", "simplereenroll.md", "serverkeygen.md",
                   "fullcmc.md"]
REQUIRED_PAGES = ["index.md", *OPERATION_PAGES, "configuration.md", "security.md", "cli.md", "renewal.md", "codec.md",
                  "architecture.md"]


CONSOLE_PAGES = ["cli.md"]  # pages whose ```console blocks are run
_EXITS = re.compile(r"#\s*exits\s+(\d+)\s*$")


def blocks(page: Path, kinds: tuple[str, ...] = ("python",)) -> list[tuple[str, int, str]]:
    """(kind, first line number, code) of each fenced block of the given kinds, in page order."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        if m.group(1) in kinds:
            first_line = text.count("\n", 0, m.start(2)) + 1
            out.append((m.group(1), first_line, m.group(2)))
    return out


def python_blocks(page: Path) -> list[tuple[int, str]]:
    return [(line, code) for _, line, code in blocks(page)]


def console_commands(code: str, first_line: int) -> list[tuple[int, str, int]]:
    """(line number, command, expected exit status) of each ``$ `` line of a console block."""
    out: list[tuple[int, str, int]] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            lineno = first_line + i
            command = line[2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            m = _EXITS.search(command)
            out.append((lineno, command, int(m.group(1)) if m else 0))
        i += 1
    return out


def pages_with_code() -> list[Path]:
    return [p for p in sorted(DOCS.glob("*.md"))
            if blocks(p, ("python", "console") if p.name in CONSOLE_PAGES else ("python",))]


def run_console_block(page: Path, first_line: int, code: str, cwd: Path, env: dict[str, str], env_file: Path):
    script = ["set -u", f"[ -f {shlex.quote(str(env_file))} ] && . {shlex.quote(str(env_file))}"]
    for lineno, command, expected in console_commands(code, first_line):
        script.append(command)
        script.append(f'rc=$?; if [ "$rc" != {expected} ]; then echo "{page.name}:{lineno}: exit status $rc, '
                      f'expected {expected}: "{shlex.quote(command)} >&2; exit 99; fi')
    script.append(f"export -p > {shlex.quote(str(env_file))}")
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, (
        f"{page.name}:{first_line}: console block failed\n--- stdout\n{proc.stdout.decode(errors='replace')}"
        f"\n--- stderr\n{proc.stderr.decode(errors='replace')}"
    )


def test_required_pages_exist_and_are_linked_from_the_index():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    for name in REQUIRED_PAGES:
        assert (DOCS / name).is_file(), name
        if name != "index.md":
            assert f"({name})" in index or f"({name}#" in index, f"index.md does not link {name}"


def test_relative_links_resolve():
    for page in sorted(DOCS.glob("*.md")):
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            path = target.split("#", 1)[0]
            assert (page.parent / path).exists(), f"{page.name}: broken link {target}"


@pytest.mark.parametrize("name", OPERATION_PAGES)
def test_operation_pages_show_sync_and_async(name):
    code = "\n".join(c for _, c in python_blocks(DOCS / name))
    assert "EstClient(" in code and "with EstClient" in code, f"{name}: no sync example"
    assert "AsyncEstClient(" in code and "asyncio.run(" in code, f"{name}: no async example"


def test_the_convention_is_documented():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert "tests/test_docs.py" in index and "`server`" in index


@pytest.mark.parametrize("page", pages_with_code(), ids=lambda p: p.name)
def test_examples_run(page, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    kinds = ("python", "console") if page.name in CONSOLE_PAGES else ("python",)
    with EstTestServer(auth="basic") as server:
        namespace = {"__name__": f"docs_{page.stem}", "server": server}
        env = {k: v for k, v in os.environ.items() if not k.startswith("EST_")}
        env.update(
            PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
            EST_SERVER=server.url, EST_USER=server.username, EST_PASSWORD=server.password,
            CA_FINGERPRINT=server.ca_fingerprint_sha256.hex(),
        )
        for kind, first_line, code in blocks(page, kinds):
            if kind == "python":
                # pad so that tracebacks point at the Markdown line
                source = "\n" * (first_line - 1) + code
                exec(compile(source, str(page), "exec", dont_inherit=True), namespace)
            else:
                run_console_block(page, first_line, code, work, env, tmp_path / "shell-env.sh")


def test_console_command_parsing():
    code = "$ est enroll --cn a \\\n    --out a.pem   # exits 9\nsome output\n$ est show a.pem\n"
    assert console_commands(code, 10) == [
        (10, "est enroll --cn a  --out a.pem   # exits 9", 9),
        (13, "est show a.pem", 0),
    ]


def test_nothing_refers_outside_the_repository():
    # a clone is self-contained: no source, test, doc, fuzz or benchmark file reads or links a folder beside it
    repo = DOCS.parent
    needle = "../" + "shared"
    hits = []
    for top in ("src", "tests", "docs", "fuzz", "benchmarks", "README.md", ".ci", "pyproject.toml", "setup.py"):
        base = repo / top
        files = [base] if base.is_file() else [f for f in base.rglob("*") if f.is_file()]
        for f in files:
            if f.suffix in {".so", ".c", ".png", ".der", ".bin", ".pyc"} or "vectors" in f.parts or any(
                    part.endswith(".egg-info") or part in {"build", "__pycache__", "corpus"} for part in f.parts):
                continue
            try:
                text = f.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            if needle in text:
                hits.append(str(f.relative_to(repo)))
    assert not hits, hits
