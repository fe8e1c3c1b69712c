"""The sources stay clean for the static checkers the project uses: ``mypy --strict`` over ``src`` and ``ruff``
over ``src`` and ``tests`` (their settings are in pyproject.toml). Both run as separate processes on the checkout
this file belongs to; each is skipped, with the reason, only when the tool is not installed."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (it is in the 'test' extra: pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


def test_mypy_strict_src():
    proc = _run("mypy", "--strict", "--cache-dir=/dev/null", "src")
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]


def test_ruff_src_and_tests():
    proc = _run("ruff", "check", "--no-cache", "src", "tests")
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
