"""The compiler hints of the core (``_der.pyx``): its failure paths are declared cold, so gcc moves the code that
builds error messages and tracebacks out of the hot functions into parts of their own (``<name>.cold``). The hints
name functions Cython generates; a renamed one would silently lose its hint, which this test catches by reading
the symbol table of the built module (``nm``, from binutils, which a build with gcc has)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from estcodec import _der

SO = Path(_der.__file__)
HINTED = ("__Pyx_AddTraceback", "__pyx_f_8estcodec_4_der__fail", "__pyx_f_8estcodec_4_der__unexpected")


def _symbols() -> set[str]:
    nm = shutil.which("nm")
    if nm is None or SO.suffix not in (".so", ".pyd") or sys.platform == "win32":
        pytest.skip("needs nm and a built core")
    out = subprocess.run([nm, str(SO)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.skipif("gcc" not in (sysconfig.get_config_var("CC") or ""), reason="the hints are for gcc")
def test_failure_paths_are_compiled_cold():
    syms = _symbols()
    # the hinted functions exist under these names (a rename in Cython or in the core shows here) ...
    for name in HINTED:
        assert name in syms or f"{name}.constprop.0" in syms or f"{name}.cold" in syms, name
    # ... and the hot walks have their failure code split off
    for hot in ("__pyx_f_8estcodec_4_der__decode", "__pyx_f_8estcodec_4_der__validate"):
        assert f"{hot}.cold" in syms, f"{hot} has no .cold part"
