"""Build script for the compiled core ``estcodec._der``.

Switches read from the environment:

* ``ESTCODEC_TRACE=1``  -- build with Cython line tracing (``CYTHON_TRACE``) for coverage and profiling.
* ``ESTCODEC_ASAN=1``   -- build with AddressSanitizer (``-fsanitize=address``), used by ``fuzz/``.
* ``ESTCODEC_DEBUG=1``  -- no optimisation, debug symbols, C asserts on.
"""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


trace = _flag("ESTCODEC_TRACE")
asan = _flag("ESTCODEC_ASAN")
debug = _flag("ESTCODEC_DEBUG")

compile_args = ["-O2"] if not (debug or asan) else ["-O1", "-g"]
link_args = []
macros = []
directives = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
}
if asan:
    compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer"]
    macros.append(("ESTCODEC_NO_FREELIST", "1"))
    link_args += ["-fsanitize=address"]
if debug:
    compile_args.append("-UNDEBUG")
if trace:
    directives["linetrace"] = True
    directives["binding"] = True
    macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]

extensions = [
    Extension(
        "estcodec._der",
        ["src/estcodec/_der.pyx"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=macros,
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives, quiet=True))
