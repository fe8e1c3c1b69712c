"""Sphinx configuration for the API reference (built from the docstrings and signatures of the packages).

Build: ``sphinx-build -W -b html docs/reference build/reference`` (tests/test_api_reference.py does it with
warnings as errors). The guides beside it (docs/*.md) are plain Markdown and are not part of this build.
"""
project = "estclient and estcodec"
author = "the estclient authors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.intersphinx"]
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
# A model class's ASN.1 fields are listed by the class itself; the engine's internals are not API.
autodoc_inherit_docstrings = True
intersphinx_mapping: dict = {}
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list = []
suppress_warnings = ["ref.python"]
nitpicky = False

# Documented modules, in the order of the index: a name exported by several of them (re-exports such as
# SignatureError) is described once, under the module that defines it, or else under the first that exports it.
_DOCUMENTED: list = []


def _module_of(obj: object) -> str:
    return getattr(obj, "__module__", "") or ""


def _skip_member(app, what, name, obj, skip, options):  # noqa: ANN001 - Sphinx's callback signature
    import sys

    if what != "module":
        return None
    current = app.env.temp_data.get("autodoc:module") or app.env.ref_context.get("py:module")
    module = sys.modules.get(current or "")
    if module is None or name not in getattr(module, "__all__", ()):
        return None
    if _is_data(obj):
        return True  # constants get their own autodata entry (see _add_data_members)
    home = _module_of(obj)
    if home != current and home in _DOCUMENTED:
        return True  # described where it is defined
    if home != current:
        for mod_name in _DOCUMENTED:
            mod = sys.modules.get(mod_name)
            if mod is not None and name in getattr(mod, "__all__", ()) and getattr(mod, name, None) is obj:
                if mod_name != current:
                    return True  # described under the first public module exporting the same object
                break
    return False  # exported here: described here, with or without a docstring


def _field_docstring(app, what, name, obj, options, lines):  # noqa: ANN001 - Sphinx's callback signature
    from estcodec._der import FieldPath

    if isinstance(obj, FieldPath):
        lines[:] = ["A decoded field of the model (read-only)."]
    elif what == "data" and getattr(type(obj), "__doc__", None) and "\n".join(lines).strip() == " ".join(
            type(obj).__doc__.split()).strip() or (what == "data" and lines and type(obj).__module__ == "builtins"):
        lines[:] = []  # a constant's type describes the type, not the constant


def _is_data(obj: object) -> bool:
    import inspect

    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))


def _add_data_members(app, docname, source):  # noqa: ANN001 - Sphinx's callback signature
    """autodoc describes module constants only when they carry a doc comment; the reference names every
    exported constant (OIDs, tables, spec aliases), so its page gets one ``autodata`` entry per constant."""
    import importlib

    if docname not in _DOCUMENTED:
        return
    module = importlib.import_module(docname)
    lines = []
    for name in getattr(module, "__all__", ()):
        if _is_data(getattr(module, name)):
            lines.append(f".. autodata:: {docname}.{name}\n   :no-value:\n")
    if lines:
        source[0] += "\nConstants\n---------\n\n" + "\n".join(lines)


def setup(app):  # noqa: ANN001, ANN201 - Sphinx's entry point
    import pathlib

    here = pathlib.Path(__file__).parent
    _DOCUMENTED[:] = [p.stem for p in sorted(here.glob("*.rst")) if p.stem != "index"]
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("source-read", _add_data_members)
    app.connect("autodoc-process-docstring", _field_docstring)
