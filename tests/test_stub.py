"""The hand-written stub of the compiled core matches the built module (mypy.stubtest)."""
import importlib.machinery
import subprocess
import sys
from pathlib import Path

import pytest

import estcodec._der


def test_core_is_compiled():
    # An extension module, not a pure-Python fallback.
    assert estcodec._der.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_stubtest_matches_module():
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "estcodec._der", "--allowlist", str(Path(__file__).with_name("stubtest_allowlist.txt"))],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
