"""Every public name has a docstring (issue 17): each function, class, method and property that a public module
of the package exports through ``__all__`` says what it is, so the API reference (docs/reference, built from the
docstrings) has no empty entries and ``help()`` answers.

A public module is the package itself or a submodule without a leading underscore in its dotted name. For a class
defined in the package, the class and every non-underscore function, classmethod, staticmethod and property in its
own ``__dict__`` count; model fields are left out (the schema engine describes them, see ``FieldPath``) and so
are inherited members (they are checked where they are defined). Names re-exported from other packages are
not ours to document.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

# The packages whose public names are checked (the lead adds "estclient" once its docstrings are complete).
PACKAGES = ("estcodec", "estclient")


def _public_modules(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    names = [package] + [
        info.name for info in pkgutil.walk_packages(root.__path__, package + ".")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
    ]
    return [importlib.import_module(name) for name in names]


def _has_doc(obj: object) -> bool:
    return bool((getattr(obj, "__doc__", None) or "").strip())


def _undocumented_members(cls: type) -> list[str]:
    missing = []
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, property):
            target: object = attr.fget
        elif isinstance(attr, (classmethod, staticmethod)):
            target = attr.__func__
        elif inspect.isfunction(attr):
            target = attr
        else:
            continue  # fields, constants, nested enum members
        if not _has_doc(target):
            missing.append(name)
    return missing


def _undocumented(package: str) -> list[str]:
    missing: set[str] = set()
    for module in _public_modules(package):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            where = f"{module.__name__}.{name}"
            if inspect.isroutine(obj):
                if not _has_doc(obj):
                    missing.add(where)
            elif inspect.isclass(obj) and (obj.__module__ or "").split(".")[0] in PACKAGES + (package,):
                if not _has_doc(obj):
                    missing.add(f"{where} (class)")
                missing.update(f"{where}.{member}" for member in _undocumented_members(obj))
    return sorted(missing)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_docstring(package: str) -> None:
    missing = _undocumented(package)
    assert missing == [], f"{len(missing)} public names without a docstring: {missing}"


def test_the_check_finds_a_missing_docstring(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule is not vacuous: a method, a property and a class without a docstring are each reported."""
    from estcodec import x509

    cert = x509.Certificate
    monkeypatch.setattr(cert.to_pem, "__doc__", None)
    monkeypatch.setattr(cert.__dict__["is_ca"].fget, "__doc__", None)
    monkeypatch.setattr(x509.Validity, "__doc__", None)
    missing = _undocumented("estcodec")
    assert "estcodec.x509.Certificate.to_pem" in missing
    assert "estcodec.x509.Certificate.is_ca" in missing
    assert "estcodec.x509.Validity (class)" in missing
