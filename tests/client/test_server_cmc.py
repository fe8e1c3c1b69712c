"""EstTestServer /fullcmc over real TLS.

Full PKI Requests are signed with the ``openssl cms`` command line (an independent CMS
implementation) around a PKIData that pyasn1-modules (RFC 6402 module) must read back; responses
are checked with pyasn1-modules and ``openssl cms -verify``.
"""
from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import char, namedtype, tag, univ
from pyasn1_modules import rfc5652, rfc6402

from estclient.testing import EstTestServer

EST = "/.well-known/est"
CMC_REQUEST = "application/pkcs7-mime; smime-type=CMC-request"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command line not available")


def make_csr(cn: str, key: ec.EllipticCurvePrivateKey | None = None) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER), key


def _elements(kind: type, ders: tuple[bytes, ...], implicit: int | None = None) -> bytes:
    """SEQUENCE OF / SET OF already-encoded elements, by pyasn1's DER encoder (which sorts a SET OF);
    ``implicit``: a constructed [n] IMPLICIT tag instead of the universal one."""
    value = kind(componentType=univ.Any())
    if implicit is not None:
        value = value.subtype(implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, implicit))
    value.clear()
    for der in ders:
        value.append(univ.Any(der))
    return der_encoder.encode(value)


def _seq(*ders: bytes) -> bytes:
    return _elements(univ.SequenceOf, ders)


def _set(*ders: bytes) -> bytes:
    return _elements(univ.SetOf, ders)


def _enc(value: object) -> bytes:
    return der_encoder.encode(value)


def pki_data(csrs: list[tuple[int, bytes]], transaction_id: int, sender_nonce: bytes) -> bytes:
    """PKIData with transactionId, senderNonce and PKCS#10 requests, built with pyasn1."""
    controls = [
        _seq(_enc(univ.Integer(100)), _enc(univ.ObjectIdentifier("1.3.6.1.5.5.7.7.5")),
             _set(_enc(univ.Integer(transaction_id)))),
        _seq(_enc(univ.Integer(101)), _enc(univ.ObjectIdentifier("1.3.6.1.5.5.7.7.6")),
             _set(_enc(univ.OctetString(sender_nonce)))),
    ]
    # tcr [0] IMPLICIT TaggedCertificationRequest { bodyPartID, certificationRequest }
    requests = [_elements(univ.SequenceOf, (_enc(univ.Integer(bpid)), der), implicit=0) for bpid, der in csrs]
    der = _seq(_seq(*controls), _seq(*requests), _seq(), _seq())
    decoded, rest = der_decoder.decode(der, asn1Spec=rfc6402.PKIData())  # an independent reader agrees
    assert not rest and len(decoded["reqSequence"]) == len(csrs)
    return der


def _openssl(*args: str, stdin: bytes | None = None) -> bytes:
    assert OPENSSL is not None
    proc = subprocess.run([OPENSSL, *args], input=stdin, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def sign_with_openssl(content: bytes, cert_pem: bytes, key_pem: bytes, tmp: Path, *, by_key_id: bool) -> bytes:
    (tmp / "content.der").write_bytes(content)
    (tmp / "signer.pem").write_bytes(cert_pem)
    (tmp / "signer.key").write_bytes(key_pem)
    args = ["cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", str(tmp / "content.der"),
            "-econtent_type", "1.3.6.1.5.5.7.12.2", "-signer", str(tmp / "signer.pem"),
            "-inkey", str(tmp / "signer.key"), "-md", "sha256"]
    if by_key_id:
        args += ["-keyid", "-nocerts"]
    return _openssl(*args)


def self_signed(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pop-signer")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def post_cmc(srv: EstTestServer, body: bytes, *, content_type: str = CMC_REQUEST, auth: bool = True) -> httpx.Response:
    with httpx.Client(verify=srv.client_ssl_context()) as c:
        return c.post(srv.url + EST + "/fullcmc", content=base64.encodebytes(body),
                      headers={"Content-Type": content_type},
                      auth=(srv.username, srv.password) if auth else None)


def read_response(srv: EstTestServer, response: httpx.Response, tmp: Path) -> tuple[rfc6402.PKIResponse, list]:
    """Verify the SignedData with openssl against the CA; decode the PKIResponse with pyasn1."""
    der = base64.b64decode(response.content)
    ci, _ = der_decoder.decode(der, asn1Spec=rfc5652.ContentInfo())
    sd, _ = der_decoder.decode(ci["content"], asn1Spec=rfc5652.SignedData())
    assert sd["encapContentInfo"]["eContentType"] == rfc6402.id_cct_PKIResponse
    (tmp / "resp.der").write_bytes(der)
    (tmp / "ca.pem").write_bytes(srv.trust_anchor_pem)
    content = _openssl("cms", "-verify", "-inform", "DER", "-in", str(tmp / "resp.der"),
                       "-CAfile", str(tmp / "ca.pem"), "-purpose", "any", "-binary")
    resp, rest = der_decoder.decode(content, asn1Spec=rfc6402.PKIResponse())
    assert not rest
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cryptography warns when the certificates SET is not in DER order
        certs = pkcs7.load_der_pkcs7_certificates(der)
    return resp, certs


def controls(resp: rfc6402.PKIResponse) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for ta in resp["controlSequence"]:
        out.setdefault(str(ta["attrType"]), []).extend(bytes(v) for v in ta["attrValues"])
    return out


class StatusInfoV2WithFailInfo(univ.Sequence):
    """CMCStatusInfoV2 with otherInfo narrowed to failInfo: pyasn1-modules' OtherStatusInfo CHOICE
    has two untagged SEQUENCE alternatives (pendInfo, extendedFailInfo) and cannot be decoded."""


StatusInfoV2WithFailInfo.componentType = namedtype.NamedTypes(
    namedtype.NamedType("cMCStatus", rfc6402.CMCStatus()),
    namedtype.NamedType("bodyList", univ.SequenceOf(componentType=rfc6402.BodyPartReference())),
    namedtype.OptionalNamedType("statusString", char.UTF8String()),
    namedtype.OptionalNamedType("failInfo", rfc6402.CMCFailInfo()),
)


def status_infos(resp: rfc6402.PKIResponse) -> list[StatusInfoV2WithFailInfo]:
    infos = []
    for raw in controls(resp).get(str(rfc6402.id_cmc_statusInfoV2), []):
        info, rest = der_decoder.decode(raw, asn1Spec=StatusInfoV2WithFailInfo())
        assert not rest
        infos.append(info)
    return infos


@needs_openssl
@pytest.mark.parametrize("intermediate", [False, True], ids=["root-issues", "intermediate-issues"])
@pytest.mark.parametrize("signer", ["client-certificate", "key-being-certified"])
def test_fullcmc_signed_pki_response(tmp_path: Path, signer: str, intermediate: bool) -> None:
    with EstTestServer(ca_intermediate=intermediate) as srv:
        csr, key = make_csr("cmc-device")
        nonce = os.urandom(16)
        content = pki_data([(1, csr)], 4242, nonce)
        if signer == "client-certificate":
            identity = srv.issue_client_identity("cmc-operator")
            request = sign_with_openssl(content, identity[0], identity[1], tmp_path, by_key_id=False)
        else:
            request = sign_with_openssl(content, self_signed(key), key_pem(key), tmp_path, by_key_id=True)
        r = post_cmc(srv, request)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pkcs7-mime; smime-type=CMC-response"
        resp, certs = read_response(srv, r, tmp_path)
        [status] = status_infos(resp)
        assert int(status["cMCStatus"]) == 0  # success
        assert [int(b["bodyPartID"]) for b in status["bodyList"]] == [1]
        ctl = controls(resp)
        assert der_decoder.decode(ctl[str(rfc6402.id_cmc_transactionId)][0])[0] == 4242
        assert bytes(der_decoder.decode(ctl[str(rfc6402.id_cmc_recipientNonce)][0])[0]) == nonce
        assert str(rfc6402.id_cmc_senderNonce) in ctl
        issued = [c for c in certs if c.subject.rfc4514_string() == "CN=cmc-device"]
        assert len(issued) == 1
        issued[0].verify_directly_issued_by(srv.issuer_certificate)
        assert issued[0].public_key() == key.public_key()


@needs_openssl
def test_fullcmc_two_requests_and_certs_only(tmp_path: Path) -> None:
    with EstTestServer(fullcmc_response="certs-only") as srv:
        identity = srv.issue_client_identity("cmc-operator")
        (csr1, _k1), (csr2, _k2) = make_csr("one"), make_csr("two")
        request = sign_with_openssl(pki_data([(1, csr1), (2, csr2)], 1, b"n"), identity[0], identity[1],
                                    tmp_path, by_key_id=False)
        r = post_cmc(srv, request)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pkcs7-mime; smime-type=certs-only"
        certs = pkcs7.load_der_pkcs7_certificates(base64.b64decode(r.content))
        assert {c.subject.rfc4514_string() for c in certs} == {"CN=one", "CN=two"}


@needs_openssl
def test_fullcmc_partial_failure(tmp_path: Path) -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("cmc-operator")
        good, _ = make_csr("good")
        bad, _ = make_csr("bad")
        bad = bad[:-3] + bytes([bad[-3] ^ 1]) + bad[-2:]  # broken CSR signature
        request = sign_with_openssl(pki_data([(1, good), (2, bad)], 7, b"n"), identity[0], identity[1],
                                    tmp_path, by_key_id=False)
        r = post_cmc(srv, request)
        assert r.status_code == 200
        resp, _ = read_response(srv, r, tmp_path)
        by_status = {int(s["cMCStatus"]): s for s in status_infos(resp)}
        assert [int(b["bodyPartID"]) for b in by_status[0]["bodyList"]] == [1]
        failed = by_status[2]
        assert [int(b["bodyPartID"]) for b in failed["bodyList"]] == [2]
        assert int(failed["failInfo"]) == 9  # popFailed


@needs_openssl
def test_fullcmc_all_failed_is_400_with_cmc_body(tmp_path: Path) -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("cmc-operator")
        bad, _ = make_csr("bad")
        bad = bad[:-3] + bytes([bad[-3] ^ 1]) + bad[-2:]
        request = sign_with_openssl(pki_data([(5, bad)], 7, b"n"), identity[0], identity[1], tmp_path, by_key_id=False)
        r = post_cmc(srv, request)
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/pkcs7-mime; smime-type=CMC-response"
        resp, _ = read_response(srv, r, tmp_path)
        [status] = status_infos(resp)
        assert int(status["cMCStatus"]) == 2
        assert [c.subject.rfc4514_string() for c in srv.issued_certificates] == ["CN=cmc-operator"]


@needs_openssl
def test_fullcmc_wrong_signature_is_bad_message_check(tmp_path: Path) -> None:
    with EstTestServer() as srv:
        csr, _ = make_csr("x")
        stranger = ec.generate_private_key(ec.SECP256R1())  # signs, but is neither a CSR key nor named by a cert
        request = sign_with_openssl(pki_data([(1, csr)], 1, b"n"), self_signed(stranger), key_pem(stranger),
                                    tmp_path, by_key_id=True)
        r = post_cmc(srv, request)
        assert r.status_code == 400
        resp, _ = read_response(srv, r, tmp_path)
        [status] = status_infos(resp)
        assert int(status["cMCStatus"]) == 2
        assert int(status["failInfo"]) == 1  # badMessageCheck
        assert not srv.issued_certificates


@needs_openssl
@pytest.mark.parametrize("body", [b"AAAA", b"\x30\x03\x02\x01\x00", b"not base64 and not DER"])
def test_fullcmc_garbage_gets_a_cmc_error(tmp_path: Path, body: bytes) -> None:
    with EstTestServer() as srv:
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            r = c.post(srv.url + EST + "/fullcmc", content=body, headers={"Content-Type": CMC_REQUEST})
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/pkcs7-mime; smime-type=CMC-response"
        resp, _ = read_response(srv, r, tmp_path)
        [status] = status_infos(resp)
        assert int(status["cMCStatus"]) == 2
        assert [int(b["bodyPartID"]) for b in status["bodyList"]] == [0]


@needs_openssl
def test_fullcmc_requests_that_are_not_signed_pki_data(tmp_path: Path) -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("cmc-operator")
        csr, _ = make_csr("not-issued")
        content = pki_data([(1, csr)], 31, b"n")
        # a PKIData in a ContentInfo, unsigned: not a Full PKI Request at all
        ci = rfc5652.ContentInfo()
        ci["contentType"] = rfc6402.id_cct_PKIData
        ci["content"] = univ.Any(content)
        r = post_cmc(srv, der_encoder.encode(ci))
        assert r.status_code == 400
        [status] = status_infos(read_response(srv, r, tmp_path)[0])
        assert (int(status["cMCStatus"]), int(status["failInfo"])) == (2, 1)  # failed, badMessageCheck
        # signed, but the content type is id-data
        (tmp_path / "content.der").write_bytes(content)
        (tmp_path / "signer.pem").write_bytes(identity[0])
        (tmp_path / "signer.key").write_bytes(identity[1])
        as_data = _openssl("cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", str(tmp_path / "content.der"),
                           "-signer", str(tmp_path / "signer.pem"), "-inkey", str(tmp_path / "signer.key"))
        r = post_cmc(srv, as_data)
        assert r.status_code == 400
        [status] = status_infos(read_response(srv, r, tmp_path)[0])
        assert (int(status["cMCStatus"]), int(status["failInfo"])) == (2, 2)  # failed, badRequest
        # a signed PKIData without any request: badRequest, and the transactionId is still echoed
        tid = _seq(_enc(univ.Integer(1)), _enc(univ.ObjectIdentifier("1.3.6.1.5.5.7.7.5")), _set(_enc(univ.Integer(99))))
        empty = _seq(_seq(tid), _seq(), _seq(), _seq())
        r = post_cmc(srv, sign_with_openssl(empty, identity[0], identity[1], tmp_path, by_key_id=False))
        assert r.status_code == 400
        resp, _ = read_response(srv, r, tmp_path)
        [status] = status_infos(resp)
        assert (int(status["cMCStatus"]), int(status["failInfo"])) == (2, 2)
        assert der_decoder.decode(controls(resp)[str(rfc6402.id_cmc_transactionId)][0])[0] == 99
        assert [c.subject.rfc4514_string() for c in srv.issued_certificates] == ["CN=cmc-operator"]


def test_fullcmc_http_level_checks() -> None:
    with EstTestServer() as srv:
        assert post_cmc(srv, b"x", auth=False).status_code == 401
        assert post_cmc(srv, b"x", content_type="application/pkcs10").status_code == 415
    with EstTestServer(fullcmc=False) as srv:
        assert post_cmc(srv, b"x").status_code == 501


@needs_openssl
def test_mutated_requests_never_cause_a_server_error(tmp_path: Path) -> None:
    """Flip, drop and insert bytes in a valid Full PKI Request and a valid CSR: every answer is a
    deliberate 2xx/4xx, never a 500 (the server's own bugs surface as 500)."""
    import random

    rng = random.Random(7030)
    with EstTestServer(auth=None) as srv:
        csr, key = make_csr("fuzz")
        request = sign_with_openssl(pki_data([(1, csr)], 1, b"n"), self_signed(key), key_pem(key), tmp_path,
                                    by_key_id=True)
        statuses = set()
        with httpx.Client(verify=srv.client_ssl_context()) as c:
            for i in range(300):
                base, path, ctype = (request, "/fullcmc", CMC_REQUEST) if i % 2 else (csr, "/simpleenroll", "application/pkcs10")
                data = bytearray(base)
                for _ in range(rng.randint(1, 3)):
                    pos = rng.randrange(len(data))
                    action = rng.random()
                    if action < 0.6:
                        data[pos] ^= 1 << rng.randrange(8)
                    elif action < 0.8:
                        del data[pos]
                    else:
                        data.insert(pos, rng.randrange(256))
                r = c.post(srv.url + EST + path, content=base64.encodebytes(bytes(data)),
                           headers={"Content-Type": ctype})
                statuses.add(r.status_code)
                assert r.status_code < 500, (i, r.text)
        assert 400 in statuses
