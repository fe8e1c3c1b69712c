"""Compile the Cython anchors in ``benchmarks/anchors/`` into ``benchmarks/_build/`` and import them.

The anchors are measuring sticks for the benchmark only; they are not part of the package. They are compiled
with the same C flags and Cython directives as ``estcodec._der`` (see setup.py: -O2, no bounds/wraparound
checks at the Cython level; every read is bounds-checked by hand), and rebuilt whenever their source, Cython
or Python changes.
"""
from __future__ import annotations

import hashlib
import importlib
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "anchors"
BUILD = HERE / "_build"
CORE = HERE.parent / "src" / "estcodec"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}


def _stamp(src: Path) -> str:
    import Cython

    h = hashlib.sha256(src.read_bytes())
    for inc in sorted(SOURCES.glob("*.pxi")):  # included parts
        h.update(inc.read_bytes())
    for inc in sorted(CORE.glob("_der*.p*")):  # anchor (b2) compiles a copy of the core
        h.update(inc.read_bytes())
    h.update(f"{Cython.__version__}|{sys.version}|{platform.machine()}".encode())
    return h.hexdigest()


def build(name: str, *, quiet: bool = True) -> Path:
    """Compile ``anchors/<name>.pyx`` unless an up-to-date build is in ``_build``; return the build folder."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    src = SOURCES / f"{name}.pyx"
    BUILD.mkdir(exist_ok=True)
    stamp_file = BUILD / f"{name}.stamp"
    stamp = _stamp(src)
    built = list(BUILD.glob(f"{name}.*.so")) + list(BUILD.glob(f"{name}.*.pyd"))
    if built and stamp_file.exists() and stamp_file.read_text() == stamp:
        return BUILD
    # the core's compiler hints name its functions with the module's prefix (see _der.pyx): this module's own
    ext = Extension(name, [str(src)], extra_compile_args=["-O2"],
                    define_macros=[("ESTCODEC_PFX", f"{len(name)}{name}_")])
    modules = cythonize(
        [ext], build_dir=str(BUILD / "c"), compiler_directives=DIRECTIVES, quiet=quiet, force=True
    )
    dist = Distribution({"name": f"bench-{name}", "ext_modules": modules, "script_args": []})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(BUILD)
    cmd.build_temp = str(BUILD / "tmp")
    cmd.inplace = False
    cmd.force = True
    cmd.ensure_finalized()
    cmd.run()
    stamp_file.write_text(stamp)
    return BUILD


def load(name: str):
    """Build (if needed) and import the anchor module ``name``."""
    build(name)
    if str(BUILD) not in sys.path:
        sys.path.insert(0, str(BUILD))
    return importlib.import_module(name)


if __name__ == "__main__":
    for path in sorted(SOURCES.glob("*.pyx")):
        mod = load(path.stem)
        print(f"built {mod.__name__}: {mod.__file__}")
