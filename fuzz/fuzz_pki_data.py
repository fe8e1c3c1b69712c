"""Fuzz harness for ``estcodec.cmc.parse_pki_data`` (Full PKI Request: SignedData/AuthenticatedData-wrapped,
ContentInfo-wrapped or bare PKIData), without and with ``verify_self_signed=True``.

INVARIANT: every input either gives a ``PKIData`` or raises ``estcodec.DecodeError`` (a subclass is fine, e.g.
``CmcContentError`` for well-formed CMS of another content type); nothing else, no other ``estcodec.Error``
either, nothing slow. With ``verify_self_signed=True`` a failed check may also raise ``SignatureError``, or
``CmcError`` for a request that is not signed. In addition: whatever is accepted with
``verify_self_signed=True`` is accepted without it, with ``self_signature_verified`` True; every accessor
(controls, transaction id, nonces, identification, requests, body part ids, certificates) returns or raises an
``estcodec.Error``; a bare PKIData accepted gives back exactly its input bytes.

Run: ``python fuzz/fuzz_pki_data.py fuzz/corpus/pki_data -max_len=65536`` (see fuzz/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, own, seeds_for, timed  # noqa: E402

from estcodec.cmc import CmcError, PKIData, parse_pki_data  # noqa: E402
from estcodec.pkcs10 import SignatureError  # noqa: E402

NAME = "pki_data"
GROUP = "models"
SEED_EXTENSIONS = (".der",)
MAX_MUTATION_INPUT = 1 << 15


def read_all(pki: PKIData) -> None:
    for name in ("control_sequence", "req_sequence", "cms_sequence", "other_msg_sequence", "transaction_id",
                 "sender_nonce", "recipient_nonce", "identification", "certification_requests", "certificates",
                 "signature_verified", "self_signature_verified"):
        own(getattr, pki, name)
    own(pki.body_part_ids)
    own(pki.controls) if callable(getattr(pki, "controls", None)) else None
    own(pki.to_der)


@timed
def check_one(data: bytes) -> None:
    pki = decoded(parse_pki_data, data)
    if pki is not None:
        assert isinstance(pki, PKIData)
        read_all(pki)
        bare = decoded(PKIData.from_der, data)
        if bare is not None:
            assert bare.to_der() == data, "bare PKIData does not re-encode identically"
    verified = decoded(parse_pki_data, data, verify_self_signed=True, allow=(SignatureError, CmcError))
    if verified is not None:
        assert pki is not None, "accepted with verify_self_signed=True but not without"
        assert verified.self_signature_verified is True


def _accepts(blob: bytes) -> bool:
    parse_pki_data(blob)
    return True


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, name=NAME)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
