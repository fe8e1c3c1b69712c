"""The API reference (docs/reference, Sphinx autodoc) builds without a warning and covers every public name.

Every public module (no underscore in its dotted name) has a page, and every name in a public module's
``__all__`` is described in the built reference: under that module, or under the public module that defines it
(a re-export such as ``estcodec.cms.SignatureError`` is described once).
"""
from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"

pytest.importorskip("sphinx", reason="sphinx is in the test extra; the reference needs it to build")


def _public_modules() -> list[str]:
    names = []
    for pkg_name in ("estcodec", "estclient"):
        pkg = importlib.import_module(pkg_name)
        names.append(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
            if any(part.startswith("_") for part in info.name.split(".")[1:]):
                continue
            names.append(info.name)
    return names


def _inventory(path: Path) -> set[str]:
    raw = path.read_bytes()
    body = raw.split(b"\n", 4)[4]  # four header lines, then the zlib stream
    names = set()
    for line in zlib.decompress(body).decode().splitlines():
        name, role = line.split(" ", 2)[:2]
        if role.startswith("py:"):
            names.add(name)
    return names


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html", str(REFERENCE), str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_every_public_module_has_a_page() -> None:
    pages = {p.stem for p in REFERENCE.glob("*.rst")} - {"index"}
    missing = sorted(set(_public_modules()) - pages)
    assert not missing, f"public modules without a page in docs/reference: {missing}"
    index = (REFERENCE / "index.rst").read_text()
    assert all(f"   {page}\n" in index for page in pages)


def test_reference_builds_without_warnings_and_names_every_export(built: Path) -> None:
    documented = _inventory(built / "objects.inv")
    missing = []
    for mod_name in _public_modules():
        mod = importlib.import_module(mod_name)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            home = getattr(obj, "__module__", None)
            candidates = {f"{mod_name}.{name}"}
            if isinstance(home, str):
                candidates.add(f"{home}.{getattr(obj, '__qualname__', name)}")
            if not candidates & documented:
                missing.append(f"{mod_name}.{name}")
    assert not missing, f"exported but not in the API reference: {missing}"
