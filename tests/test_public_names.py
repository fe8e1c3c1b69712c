"""Public modules show their API only (issue 20): ``dir()`` of each lists ``__all__`` (and dunders), not the
modules and typing names it imports (``estcodec.cmc`` listed ``os``, ``hashlib`` and ``Any`` before)."""
from __future__ import annotations

import importlib
import types

import pytest

PUBLIC_MODULES = [
    *(f"estcodec.{m}" for m in ("asn1", "cmc", "cms", "crl", "csrattrs", "der", "dump", "enveloped", "errors",
                                "ocsp", "pem", "pkcs10", "pkcs8", "schema", "show", "signer", "x509")),
    *(f"estclient.{m}" for m in ("client", "config", "csr", "errors", "fleet", "flows", "protocol", "renewal",
                                 "tls", "testing")),
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_dir_of_a_public_module_is_its_api(name):
    mod = importlib.import_module(name)
    api = set(mod.__all__)
    shown = {n for n in dir(mod) if not (n.startswith("__") and n.endswith("__"))}
    assert shown == api, sorted(shown ^ api)
    for n in api:
        assert hasattr(mod, n), f"{name}.__all__ names {n}, which the module lacks"
    imported_modules = {n for n in shown if isinstance(getattr(mod, n), types.ModuleType)}
    assert not imported_modules - api


def test_cmc_no_longer_shows_what_it_imports():
    import estcodec.cmc

    assert not {"os", "hashlib", "Any", "Optional", "List"} & set(dir(estcodec.cmc))
