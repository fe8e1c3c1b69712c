"""Fuzz harness for ``estcodec.pkcs10.CertificationRequest.from_der`` (strict DER and ``ber=True``).

INVARIANT: every input either decodes or raises ``estcodec.DecodeError`` (a subclass is fine); nothing else, no
other ``estcodec.Error`` either, nothing slow. In addition:
a request accepted strictly gives back exactly its input bytes, is valid schema-less DER and is accepted with
``ber=True``; one accepted with ``ber=True`` re-encodes to the DER form of its input (``der.parse(data,
ber=True).to_der()``, or, where the schema's own DER rules change it further, strict DER that decodes to
itself); known findings F1 and F4 (fuzz/_models.py) are counted, not raised; every accessor (subject, key info, attributes, extensions, challengePassword,
tbs_der) and ``verify()`` returns or raises an ``estcodec.Error`` (``SignatureError`` for a bad or
unsupported signature), nothing else.

Run: ``python fuzz/fuzz_pkcs10.py fuzz/corpus/pkcs10 -max_len=16384`` (see fuzz/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, check_strict_and_ber, name_hits_f4, own, seeds_for, timed  # noqa: E402

from estcodec.pkcs10 import CertificationRequest  # noqa: E402

NAME = "pkcs10"
GROUP = "models"
SEED_EXTENSIONS = (".der", ".csr", ".p10", ".pem")
MAX_MUTATION_INPUT = 1 << 14


def read_all(csr: CertificationRequest) -> None:
    f4 = name_hits_f4(csr.subject)
    if not f4:
        own(csr.subject.rfc4514_string)
    own(lambda: csr.public_key_info.algorithm_oid)
    attrs = own(lambda: csr.attributes) or []
    assert isinstance(attrs, list)
    exts = own(lambda: csr.extensions) or []
    for ext in exts:
        assert isinstance(ext.oid, str) and isinstance(ext.critical, bool) and isinstance(ext.value, bytes)
    pw = own(lambda: csr.challenge_password)
    assert pw is None or isinstance(pw, str)
    assert isinstance(csr.tbs_der, bytes) and isinstance(csr.signature, bytes)
    own(csr.verify)
    assert isinstance(csr.is_signature_valid, bool)
    if not f4:
        repr(csr)


@timed
def check_one(data: bytes) -> None:
    check_strict_and_ber(CertificationRequest.from_der, read_all, data)


def _accepts(blob: bytes) -> bool:
    CertificationRequest.from_der(blob, ber=True)
    return True


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
