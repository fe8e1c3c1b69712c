"""Fuzz harness for ``estcodec.ocsp``: ``OCSPRequest.from_der``, ``OCSPResponse.from_der`` and
``BasicOCSPResponse.from_der`` (strict DER and ``ber=True``), each on every input.

INVARIANT: every input either decodes or raises ``estcodec.DecodeError`` (a subclass is fine; with an int offset
and a ``$``-path), for each of the three decoders; nothing else, no other ``estcodec.Error`` either, nothing slow.
In addition:

* each decoder is held to ``_models.check_strict_and_ber``: a message accepted strictly re-encodes identically,
  is valid schema-less DER and is accepted with ``ber=True``; one accepted with ``ber=True`` re-encodes to the DER
  form of its input (or, where the schema's own DER rules change it further, strict DER that decodes to itself);
  known finding F1 is counted, not raised;
* the BasicOCSPResponse inside an OCSPResponse's responseBytes is what ``BasicOCSPResponse.from_der`` gives on
  its own (strict DER for a strict decode; with ``ber=True``, the same DER form);
* every field returns or raises an ``estcodec.Error``, nothing else: status, responder ID, producedAt, every
  SingleResponse (CertID, status, revocation time and reason, this/next update, extensions and their values),
  nonces, embedded certificates, the request's CertIDs, requestor name and optional signature;
* ``response_for(cert_id)`` of each listed CertID finds a response whose CertID matches it;
* ``verify(responder)`` with each embedded certificate and with the fixed signer (fuzz/seeds/signer-cert.pem)
  returns None or raises ``SignatureError``; ``is_signature_valid`` returns a bool or raises
  ``UnsupportedSignatureAlgorithm``.

Run: ``python fuzz/fuzz_ocsp.py fuzz/corpus/ocsp -max_len=16384`` (see fuzz/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import (  # noqa: E402
    atheris_main, check_strict_and_ber, decoded, own, seeds_for, signer_certificate_pem, timed,
)

from estcodec._sigalgs import SignatureError, UnsupportedSignatureAlgorithm  # noqa: E402
from estcodec.ocsp import (  # noqa: E402
    BasicOCSPResponse, CertID, CertStatus, OCSPRequest, OCSPResponse, ResponseStatus,
)
from estcodec.x509 import Certificate, Extension  # noqa: E402

NAME = "ocsp"
GROUP = "models"
SEED_EXTENSIONS = (".der",)
MAX_MUTATION_INPUT = 1 << 14
MAX_ITEMS = 64  # responses, requests, certificates and extensions read per message


def _read_extensions(exts: Iterable[Extension] | None) -> None:
    for i, ext in enumerate(exts or []):
        if i >= MAX_ITEMS:
            break
        assert isinstance(ext.extn_id, str) and isinstance(ext.critical, bool)
        own(lambda e=ext: e.parsed)


def _read_cert_id(cid: CertID) -> None:
    assert isinstance(cid.hash_algorithm.algorithm, str)
    assert isinstance(cid.issuer_name_hash, bytes) and isinstance(cid.issuer_key_hash, bytes)
    assert isinstance(cid.serial_number, int)
    assert cid.matches(cid)


def _read_certificates(certs: Iterable[Certificate] | None) -> None:
    for i, cert in enumerate(certs or []):
        if i >= MAX_ITEMS:
            break
        own(cert.subject.rfc4514_string)
        own(lambda c=cert: c.public_key_info.algorithm_oid)
        _read_extensions(own(lambda c=cert: c.extensions))


def read_request(req: OCSPRequest) -> None:
    """Every field of an OCSPRequest; estcodec.Error only."""
    tbs = req.tbs_request
    assert isinstance(tbs.version, int)
    name = tbs.requestor_name
    if name is not None:
        assert isinstance(name.name, str)
    for i, cid in enumerate(own(lambda: req.cert_ids) or []):
        if i >= MAX_ITEMS:
            break
        _read_cert_id(cid)
    for i, r in enumerate(tbs.request_list):
        if i >= MAX_ITEMS:
            break
        _read_extensions(r.single_request_extensions)
    _read_extensions(own(lambda: req.extensions))
    nonce = own(lambda: req.nonce)
    assert nonce is None or isinstance(nonce, bytes)
    sig = req.optional_signature
    if sig is not None:
        assert isinstance(sig.signature_algorithm.algorithm, str) and isinstance(sig.signature.data, bytes)
        _read_certificates(sig.certs)
    own(repr, req)


def _responders(basic: BasicOCSPResponse) -> list[object]:
    out: list[object] = list((basic.certs or [])[:4])
    fixed = signer_certificate_pem()
    if fixed is not None:
        out.append(fixed)
    return out


def read_basic(basic: BasicOCSPResponse) -> None:
    """Every field of a BasicOCSPResponse, lookups and signatures; estcodec.Error only (SignatureError to verify)."""
    assert basic.produced_at.tzinfo is not None
    rid = basic.responder_id
    assert rid.name in ("by_name", "by_key")
    if rid.name == "by_name":
        own(rid.value.rfc4514_string)
    else:
        assert isinstance(rid.value, bytes)
    assert isinstance(basic.tbs_response_data.version, int)
    responses = basic.responses
    for i, single in enumerate(responses):
        if i >= MAX_ITEMS:
            break
        _read_cert_id(single.cert_id)
        assert isinstance(single.status, CertStatus)
        when = single.revocation_time
        assert (when is None) == (single.status is not CertStatus.REVOKED)
        reason = single.revocation_reason
        assert reason is None or isinstance(reason, int)
        assert single.this_update.tzinfo is not None
        assert single.next_update is None or single.next_update.tzinfo is not None
        _read_extensions(single.extensions)
        found = basic.response_for(single.cert_id)
        assert found is not None and found.cert_id.matches(single.cert_id), "response_for misses a listed CertID"
    _read_extensions(basic.extensions)
    nonce = own(lambda: basic.nonce)
    assert nonce is None or isinstance(nonce, bytes)
    assert isinstance(basic.tbs_der, bytes) and isinstance(basic.signature_algorithm_oid, str)
    _read_certificates(basic.certs)
    for responder in _responders(basic):
        try:
            basic.verify(responder)
        except SignatureError as err:
            str(err)
        try:
            assert isinstance(basic.is_signature_valid(responder), bool)
        except UnsupportedSignatureAlgorithm:
            pass
    own(repr, basic)


def read_response(resp: OCSPResponse) -> None:
    """Every field of an OCSPResponse, the BasicOCSPResponse inside it included."""
    status = resp.status
    assert isinstance(status, int)
    if not isinstance(status, ResponseStatus):
        assert status == resp.response_status
    rb = resp.response_bytes
    basic = resp.basic
    if rb is not None:
        assert isinstance(rb.response_type, str) and isinstance(rb.response, bytes)
    if basic is not None:
        # (strictly for a strict decode; an OCSPResponse read with ber=True holds the BER it was given)
        inner: bytes = rb.response  # type: ignore[union-attr]
        alone = decoded(BasicOCSPResponse.from_der, inner) or decoded(BasicOCSPResponse.from_der, inner, ber=True)
        assert alone is not None and alone.to_der() == basic.to_der(), (
            "the BasicOCSPResponse in responseBytes is refused on its own")
        if basic.to_der() == inner:  # strict
            assert decoded(BasicOCSPResponse.from_der, inner) is not None, "strict BasicOCSPResponse refused alone"
        read_basic(basic)
    own(repr, resp)


@timed
def check_one(data: bytes) -> None:
    check_strict_and_ber(OCSPRequest.from_der, read_request, data)
    check_strict_and_ber(OCSPResponse.from_der, read_response, data)
    check_strict_and_ber(BasicOCSPResponse.from_der, read_basic, data)


def _accepts(blob: bytes) -> bool:
    for cls in (OCSPResponse, OCSPRequest, BasicOCSPResponse):
        try:
            cls.from_der(blob, ber=True)
            return True
        except Exception:  # noqa: BLE001 - seed selection only
            continue
    return False


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, name=NAME)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
