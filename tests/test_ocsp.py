"""estcodec.ocsp against cryptography: every OCSP request and response of cryptography_vectors that cryptography
reads is read here with equal values; the request builder writes what cryptography's writes; responses made by
cryptography's OCSPResponseBuilder (a test responder) are read and verified."""
import datetime as dt
import os
from pathlib import Path

import cryptography_vectors
import pytest
from cryptography import x509 as cx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp as co
from cryptography.x509.oid import NameOID

from estcodec import DecodeError
from estcodec._sigalgs import SignatureError
from estcodec.crl import CRLReason
from estcodec.ocsp import (
    BasicOCSPResponse, CertStatus, OCSPRequest, OCSPRequestBuilder, OCSPResponse, ResponseStatus, cert_id_for,
)
from estcodec.x509 import Certificate

VECTORS = Path(os.path.dirname(cryptography_vectors.__file__)) / "x509" / "ocsp"
UTC = dt.timezone.utc
_HASH_OIDS = {"sha1": "1.3.14.3.2.26", "sha256": "2.16.840.1.101.3.4.2.1", "sha384": "2.16.840.1.101.3.4.2.2",
              "sha512": "2.16.840.1.101.3.4.2.3", "sha224": "2.16.840.1.101.3.4.2.4"}
_STATUS = {co.OCSPCertStatus.GOOD: CertStatus.GOOD, co.OCSPCertStatus.REVOKED: CertStatus.REVOKED,
           co.OCSPCertStatus.UNKNOWN: CertStatus.UNKNOWN}


def _files(prefix):
    return sorted(p for p in VECTORS.iterdir() if p.name.startswith(prefix + "-") or p.name.endswith(f"-{prefix}.der"))


def _ext_list(exts):
    return [(e.oid.dotted_string, e.critical) for e in exts]


def test_every_request_cryptography_reads_is_read_with_equal_values():
    compared = 0
    for path in _files("req"):
        der = path.read_bytes()
        try:
            theirs = co.load_der_ocsp_request(der)
        except (ValueError, NotImplementedError):  # invalid version; several requests (cryptography reads one)
            OCSPRequest.from_der(der)  # read here all the same
            continue
        ours = OCSPRequest.from_der(der)
        assert ours.to_der() == der
        (cid,) = ours.cert_ids
        assert cid.serial_number == theirs.serial_number
        assert cid.issuer_name_hash == theirs.issuer_name_hash
        assert cid.issuer_key_hash == theirs.issuer_key_hash
        try:
            alg = theirs.hash_algorithm.name
        except Exception:  # noqa: BLE001 - cryptography refuses an unknown hash when read
            alg = None
        if alg is not None:
            assert cid.hash_algorithm.algorithm == _HASH_OIDS[alg]
        try:
            exts = list(theirs.extensions)
        except Exception:  # noqa: BLE001 - e.g. a duplicate extension, refused by cryptography when read
            exts = None
        if exts is not None:
            assert [(e.oid, e.critical) for e in ours.extensions] == _ext_list(exts), path.name
            nonces = [e.value.nonce for e in exts if isinstance(e.value, cx.OCSPNonce)]
            assert ours.nonce == (nonces[0] if nonces else None), path.name
        compared += 1
    assert compared >= 8


def test_every_response_cryptography_reads_is_read_with_equal_values():
    compared = singles = 0
    for path in _files("resp"):
        der = path.read_bytes()
        try:
            theirs = co.load_der_ocsp_response(der)
        except ValueError:
            continue
        ours = OCSPResponse.from_der(der)
        assert ours.to_der() == der
        assert ours.status == ResponseStatus(theirs.response_status.value), path.name
        if theirs.response_status != co.OCSPResponseStatus.SUCCESSFUL:
            assert ours.basic is None
            compared += 1
            continue
        basic = ours.basic
        assert isinstance(basic, BasicOCSPResponse)
        assert basic.tbs_der == theirs.tbs_response_bytes
        assert basic.signature.data == theirs.signature
        assert basic.signature_algorithm_oid == theirs.signature_algorithm_oid.dotted_string
        assert basic.produced_at == theirs.produced_at_utc
        rid = basic.responder_id
        if theirs.responder_key_hash is not None:
            assert (rid.name, rid.value) == ("by_key", theirs.responder_key_hash)
        else:
            assert rid.name == "by_name" and rid.value.to_der() == theirs.responder_name.public_bytes()
        assert [c.to_der() for c in basic.certs or []] == \
            [c.public_bytes(serialization.Encoding.DER) for c in theirs.certificates]
        try:
            exts = list(theirs.extensions)
        except Exception:  # noqa: BLE001
            exts = None
        if exts is not None:
            assert [(e.oid, e.critical) for e in basic.extensions] == _ext_list(exts), path.name
        mine = basic.responses
        theirs_list = list(theirs.responses)
        assert len(mine) == len(theirs_list)
        for m, t in zip(mine, theirs_list):
            assert m.cert_id.serial_number == t.serial_number
            assert m.cert_id.issuer_key_hash == t.issuer_key_hash
            assert m.cert_id.issuer_name_hash == t.issuer_name_hash
            assert m.status == _STATUS[t.certificate_status]
            assert m.this_update == t.this_update_utc
            assert m.next_update == t.next_update_utc
            assert m.revocation_time == t.revocation_time_utc
            reason = t.revocation_reason
            assert m.revocation_reason == (None if reason is None else getattr(CRLReason, reason.name.upper()))
            singles += 1
        if len(mine) == 1:
            try:
                their_single = _ext_list(theirs.single_extensions)
            except Exception:  # noqa: BLE001 - refused by cryptography when read
                their_single = None
            if their_single is not None:
                assert [(e.oid, e.critical) for e in mine[0].extensions] == their_single, path.name
        compared += 1
    assert compared >= 13 and singles >= 30, (compared, singles)


def test_vector_responses_verify_with_their_embedded_responder():
    checked = 0
    for path in _files("resp"):
        resp = OCSPResponse.from_der(path.read_bytes())
        basic = resp.basic
        if basic is None or not basic.certs:
            continue
        try:
            ok = basic.is_signature_valid(basic.certs[0])
        except SignatureError:  # an algorithm _sigalgs refuses (resp-invalid-signature-oid.der)
            assert "invalid-signature-oid" in path.name
            continue
        if ok:
            checked += 1
    assert checked >= 3


def _ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = cx.Name([cx.NameAttribute(NameOID.COMMON_NAME, "OCSP test CA")])
    now = dt.datetime.now(UTC)
    ca = (cx.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
          .add_extension(cx.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (cx.CertificateBuilder().subject_name(cx.Name([cx.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
            .issuer_name(name).public_key(leaf_key.public_key()).serial_number(0x0123456789)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
            .sign(key, hashes.SHA256()))
    return key, ca, leaf


def test_request_builder_writes_what_cryptography_writes():
    _, ca, leaf = _ca()
    ours = OCSPRequestBuilder().add_certificate(Certificate.from_cryptography(leaf),
                                                Certificate.from_cryptography(ca)).build()
    theirs = co.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA1()).build()
    assert ours.to_der() == theirs.public_bytes(serialization.Encoding.DER)
    nonce = bytes(range(16))
    ours = (OCSPRequestBuilder().add_certificate(Certificate.from_cryptography(leaf), Certificate.from_cryptography(ca))
            .nonce(nonce).build())
    theirs = co.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA1()).add_extension(
        cx.OCSPNonce(nonce), critical=False).build()
    assert ours.to_der() == theirs.public_bytes(serialization.Encoding.DER)
    assert OCSPRequest.from_der(ours.to_der()).nonce == nonce
    assert co.load_der_ocsp_request(ours.to_der()).serial_number == leaf.serial_number
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do: a request needs at least one certificate
        OCSPRequestBuilder().build()


@pytest.mark.parametrize("status", ["good", "revoked", "unknown"])
def test_responses_of_a_test_responder_read_and_verify(status):
    """A test responder: cryptography's OCSPResponseBuilder answers our request."""
    key, ca, leaf = _ca()
    req = OCSPRequestBuilder().add_certificate(Certificate.from_cryptography(leaf),
                                               Certificate.from_cryptography(ca)).nonce(b"n" * 16).build()
    now = dt.datetime.now(UTC).replace(microsecond=0)
    revoked_at = now - dt.timedelta(hours=1)
    b = co.OCSPResponseBuilder().add_response(
        cert=leaf, issuer=ca, algorithm=hashes.SHA1(),
        cert_status={"good": co.OCSPCertStatus.GOOD, "revoked": co.OCSPCertStatus.REVOKED,
                     "unknown": co.OCSPCertStatus.UNKNOWN}[status],
        this_update=now, next_update=now + dt.timedelta(hours=4),
        revocation_time=revoked_at if status == "revoked" else None,
        revocation_reason=cx.ReasonFlags.key_compromise if status == "revoked" else None,
    ).responder_id(co.OCSPResponderEncoding.HASH, ca).add_extension(cx.OCSPNonce(req.nonce), critical=False)
    der = b.certificates([ca]).sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    resp = OCSPResponse.from_der(der)
    assert resp.status == ResponseStatus.SUCCESSFUL
    basic = resp.basic
    basic.verify(Certificate.from_cryptography(ca))
    assert basic.nonce == req.nonce
    single = basic.response_for(req.cert_ids[0])
    assert single is not None and single.status == CertStatus(status)
    assert single.this_update == now and single.next_update == now + dt.timedelta(hours=4)
    if status == "revoked":
        assert (single.revocation_time, single.revocation_reason) == (revoked_at, CRLReason.KEY_COMPROMISE)
    other_key = ec.generate_private_key(ec.SECP256R1())
    assert not basic.is_signature_valid(other_key.public_key())
    # A CertID for another serial is not answered.
    other = cert_id_for(Certificate.from_cryptography(ca), Certificate.from_cryptography(ca))
    assert basic.response_for(other) is None


def test_error_responses_and_bad_input():
    der = co.OCSPResponseBuilder.build_unsuccessful(co.OCSPResponseStatus.TRY_LATER).public_bytes(
        serialization.Encoding.DER)
    resp = OCSPResponse.from_der(der)
    assert resp.status == ResponseStatus.TRY_LATER and resp.basic is None
    good = (VECTORS / "resp-revoked-reason.der").read_bytes()
    for n in range(len(good)):
        with pytest.raises(DecodeError):
            OCSPResponse.from_der(good[:n])
    req = (VECTORS / "req-ext-nonce.der").read_bytes()
    for n in range(len(req)):
        with pytest.raises(DecodeError):
            OCSPRequest.from_der(req[:n])
    # a BasicOCSPResponse inside responseBytes that is not DER is refused with its path
    i = good.index(b"\x18\x0f")  # the first GeneralizedTime (producedAt)
    bad = good[:i + 2] + b"X" + good[i + 3:]
    with pytest.raises(DecodeError) as info:
        OCSPResponse.from_der(bad)
    assert info.value.path.startswith("$.response_bytes.response") and info.value.offset == i
