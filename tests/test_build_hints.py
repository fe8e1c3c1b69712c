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


def _symbol_addresses() -> dict[str, int]:
    nm = shutil.which("nm")
    if nm is None or SO.suffix not in (".so", ".pyd") or sys.platform == "win32":
        pytest.skip("needs nm and a built core")
    out = subprocess.run([nm, str(SO)], capture_output=True, text=True, check=True).stdout
    addresses = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            addresses[parts[2]] = int(parts[0], 16)
    return addresses


@pytest.mark.skipif("gcc" not in (sysconfig.get_config_var("CC") or ""), reason="the hints are for gcc")
def test_failure_paths_are_compiled_cold():
    addr = _symbol_addresses()
    syms = set(addr)
    # the hinted functions exist under these names (a rename in Cython or in the core shows here) ...
    for name in HINTED:
        assert name in syms or f"{name}.constprop.0" in syms or f"{name}.cold" in syms, name
    # ... and the hot walks have their failure code split off
    for hot in ("__pyx_f_8estcodec_4_der__decode", "__pyx_f_8estcodec_4_der__validate"):
        assert f"{hot}.cold" in syms, f"{hot} has no .cold part"
    # ... and the functions declared cold lie with the cold parts (the linker puts .text.unlikely first), not among
    # the hot functions: a hint whose name no longer matches shows here
    last_cold = max(a for n, a in addr.items() if n.endswith(".cold"))
    first_hot = min(addr[h] for h in ("__pyx_f_8estcodec_4_der__decode", "__pyx_f_8estcodec_4_der__validate",
                                       "__pyx_f_8estcodec_4_der_dec_oid"))
    assert last_cold < first_hot
    for name in HINTED[1:]:
        a = addr.get(name, addr.get(f"{name}.constprop.0"))
        assert a is not None and a <= last_cold, name
