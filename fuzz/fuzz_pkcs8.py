"""Fuzz harness for ``estcodec.pkcs8.parse_private_key`` (PKCS#8/OneAsymmetricKey, PKCS#1 RSA, SEC1 EC; DER,
PEM or base64), ``OneAsymmetricKey.from_der`` and ``parse_asymmetric_key_package`` (RFC 5958, bare or in its
ContentInfo).

INVARIANT: every input either gives a ``OneAsymmetricKey`` or raises ``estcodec.DecodeError`` (a subclass is
fine); nothing else, no other ``estcodec.Error`` either, nothing slow. In addition: the key's ``to_der()`` decodes again (``OneAsymmetricKey.from_der``) to the same
bytes; a PKCS#8 input accepted by ``from_der`` gives back exactly its input bytes; accessors and
``to_cryptography()`` (for 1/8 of the inputs, chosen by hash: cryptography's RSA checks are slow) return or
raise an ``estcodec.Error`` (documented: ``DecodeError`` when
``cryptography`` refuses the key); the ``repr`` shows no private key bytes; what ``from_der`` accepts,
``parse_private_key`` accepts (known finding F1, fuzz/_models.py, counted instead).

Run: ``python fuzz/fuzz_pkcs8.py fuzz/corpus/pkcs8 -max_len=16384`` (see fuzz/README.md).
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, fixed_keys, schema_less_gap, own, schema_less, seeds_for, timed  # noqa: E402

from estcodec.pkcs8 import OneAsymmetricKey, parse_asymmetric_key_package, parse_private_key  # noqa: E402

NAME = "pkcs8"
GROUP = "models"
SEED_EXTENSIONS = (".der", ".pem", ".key", ".pri")
MAX_MUTATION_INPUT = 1 << 14


def read_all(key: OneAsymmetricKey) -> None:
    assert isinstance(key.algorithm_oid, str)
    own(getattr, key, "algorithm_parameters")
    own(getattr, key, "public_key_bytes")
    own(getattr, key, "attributes")
    text = repr(key)
    secret = bytes(key.private_key)
    if len(secret) >= 8:
        assert secret.hex() not in text and secret.hex().upper() not in text and repr(secret) not in text, \
            "repr shows the private key"
    # cryptography checks RSA keys (primality: ~0.15 s at 2048 bits, ~0.7 s at 4096): only for a
    # deterministic 1/8 of the small inputs, so that the mutation rate stays useful
    if len(secret) <= 1300 and hashlib.sha1(secret).digest()[0] < 32:
        own(key.to_cryptography)
    own(key.to_pem)


@timed
def check_one(data: bytes) -> None:
    key = decoded(parse_private_key, data)
    if key is not None:
        assert isinstance(key, OneAsymmetricKey)
        out = key.to_der()
        again = decoded(OneAsymmetricKey.from_der, out)
        assert again is not None and again.to_der() == out, "a parsed key does not re-decode from its DER"
        read_all(key)
    package = decoded(parse_asymmetric_key_package, data)
    if package is not None:
        assert isinstance(package, list) and all(isinstance(k, OneAsymmetricKey) for k in package)
        for k in package:
            out = k.to_der()
            again = decoded(OneAsymmetricKey.from_der, out)
            assert again is not None and again.to_der() == out, "a packaged key does not re-decode from its DER"
    direct = decoded(OneAsymmetricKey.from_der, data)
    if direct is not None:
        assert direct.to_der() == data, "from_der does not give back its input bytes"
        if key is None and schema_less(data) is None:
            schema_less_gap(data)  # parse_private_key reads the shape schema-less first
            return
        assert key is not None, "OneAsymmetricKey.from_der accepts what parse_private_key refuses"


def _accepts(blob: bytes) -> bool:
    parse_private_key(blob)
    return True


def _key_packages() -> dict[str, bytes]:
    """AsymmetricKeyPackages of the fixed RSA key (RFC 4134 Bob's), bare and in a ContentInfo."""
    from estcodec.enveloped import ID_CT_KP_A_KEY_PACKAGE, ContentInfo
    from estcodec.pkcs8 import build_asymmetric_key_package

    key = fixed_keys()["private_key"]
    if key is None:
        return {}
    bare = build_asymmetric_key_package([key, key])
    wrapped = ContentInfo(content_type=ID_CT_KP_A_KEY_PACKAGE, content=bare).to_der()
    return {"key-package": bare, "key-package-content-info": wrapped}


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, extra=_key_packages(), name=NAME)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
