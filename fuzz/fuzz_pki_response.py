"""Fuzz harness for ``estcodec.cmc.parse_pki_response`` (Full PKI Response, SignedData-wrapped or bare),
without a trust anchor and with the fixed one that signed the committed seeds (fuzz/seeds/signer-cert.pem).

INVARIANT: every input either gives a ``PKIResponse`` or raises ``estcodec.DecodeError`` (a subclass is fine,
e.g. ``CmcContentError`` for well-formed CMS of another content type); nothing else, no other
``estcodec.Error`` either, nothing slow. With the trust anchor a failed verification may also raise
``SignatureError``, or ``CmcError`` for a message that is not signed. In addition: whatever verifies against the
trust anchor is accepted without it and has ``signature_verified`` True (False without the anchor); every
accessor (statuses, overall status, success/pending/failed, failInfo and its description, pending info,
status string, certificates, issued certificates, batch responses, published trust anchors) returns or raises
an ``estcodec.Error``; a bare PKIResponse accepted gives back exactly its input bytes.

Run: ``python fuzz/fuzz_pki_response.py fuzz/corpus/pki_response -max_len=65536`` (see fuzz/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, own, seeds_for, signer_certificate_pem, timed  # noqa: E402

from estcodec.cmc import CmcError, PKIResponse, describe_fail_info, parse_pki_response  # noqa: E402
from estcodec.pkcs10 import SignatureError  # noqa: E402

NAME = "pki_response"
GROUP = "models"
SEED_EXTENSIONS = (".der",)
MAX_MUTATION_INPUT = 1 << 15
TRUST = signer_certificate_pem()


def read_all(resp: PKIResponse) -> None:
    statuses = own(getattr, resp, "statuses") or []
    for st in statuses:
        repr(st)
    own(getattr, resp, "status")
    for name in ("is_success", "is_pending", "is_failed", "body_part_ids", "issued_certificates",
                 "published_trust_anchors", "batch_responses"):
        own(getattr(resp, name))
    fi = own(resp.fail_info)
    if fi is not None:
        assert isinstance(own(describe_fail_info, int(fi)) or "", str)
        if hasattr(fi, "description"):
            fi.description()
    for name in ("extended_fail_info", "pending_info", "status_string", "certificates", "signer_certificate",
                 "transaction_id", "sender_nonce", "recipient_nonce", "control_sequence"):
        own(getattr, resp, name)
    own(resp.to_der)


@timed
def check_one(data: bytes) -> None:
    resp = decoded(parse_pki_response, data)
    if resp is not None:
        assert isinstance(resp, PKIResponse)
        assert resp.signature_verified is False
        read_all(resp)
        bare = decoded(PKIResponse.from_der, data)
        if bare is not None:
            assert bare.to_der() == data, "bare PKIResponse does not re-encode identically"
    if TRUST is not None:
        verified = decoded(parse_pki_response, data, signer_trust=TRUST, allow=(SignatureError, CmcError))
        if verified is not None:
            assert resp is not None, "verified with the trust anchor but refused without it"
            assert verified.signature_verified is True


def _accepts(blob: bytes) -> bool:
    parse_pki_response(blob)
    return True


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, name=NAME)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
