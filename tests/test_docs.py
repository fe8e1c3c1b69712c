"""Every ```python block in docs/*.md is executed here, so the documentation cannot drift from the code.

Convention (also stated at the top of docs/index.md): the blocks of one page run in order, in one namespace, in
a fresh temporary working directory, with ``server`` bound to a running
``estclient.testing.EstTestServer(auth="basic")`` (real HTTPS on loopback). Anything else a block needs, it
makes itself. Shell examples (```console blocks) are not run here; the CLI has its own tests in tests/cli.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from estclient.testing import EstTestServer

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")

OPERATION_PAGES = ["cacerts.md", "csrattrs.md", "simpleenroll.md", "simplereenroll.md", "serverkeygen.md",
                   "fullcmc.md"]
REQUIRED_PAGES = ["index.md", *OPERATION_PAGES, "configuration.md", "security.md", "cli.md", "renewal.md"]


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(first line number, code) of each ```python block of a page."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        if m.group(1) == "python":
            first_line = text.count("\n", 0, m.start(2)) + 1
            out.append((first_line, m.group(2)))
    return out


def pages_with_code() -> list[Path]:
    return [p for p in sorted(DOCS.glob("*.md")) if python_blocks(p)]


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
    monkeypatch.chdir(tmp_path)
    with EstTestServer(auth="basic") as server:
        namespace = {"__name__": f"docs_{page.stem}", "server": server}
        for first_line, code in python_blocks(page):
            # pad so that tracebacks point at the Markdown line
            source = "\n" * (first_line - 1) + code
            exec(compile(source, str(page), "exec"), namespace)
