"""estclient.protocol: request building and response parsing, fed with plain bytes.

Recorded responses come from tests/vectors/libest-captures (a real Cisco libest 3.2 estserver) and
tests/vectors/rfc7030 (RFC 7030 Appendix A); see the README beside them for provenance."""
from __future__ import annotations

import base64
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from estclient import protocol as p
from estclient.errors import (
    AuthenticationRequired,
    ConfigError,
    EstError,
    NotSupported,
    ProtocolError,
    ServerError,
)

from client_vectors import RFC7030, capture

# ----------------------------------------------------------------------------- requests


def test_operation_paths():
    assert p.operation_path("cacerts") == "/.well-known/est/cacerts"
    assert p.operation_path("simpleenroll", "arbitraryLabel1") == "/.well-known/est/arbitraryLabel1/simpleenroll"
    with pytest.raises(ConfigError):
        p.operation_path("cacerts", "simpleenroll")  # RFC 7030 §3.2.2: a label may not be an operation name
    with pytest.raises(ConfigError):
        p.operation_path("cacerts", "a/b")
    with pytest.raises(ValueError):
        p.operation_path("bogus")


@pytest.mark.parametrize(
    "builder, op, method, ctype",
    [
        (p.build_simpleenroll_request, "simpleenroll", "POST", "application/pkcs10"),
        (p.build_simplereenroll_request, "simplereenroll", "POST", "application/pkcs10"),
        (p.build_serverkeygen_request, "serverkeygen", "POST", "application/pkcs10"),
        (p.build_fullcmc_request, "fullcmc", "POST", "application/pkcs7-mime; smime-type=CMC-request"),
    ],
)
def test_post_requests_carry_base64_with_line_breaks(builder, op, method, ctype):
    der = (RFC7030 / "A.3_simpleenroll_request_pkcs10.der").read_bytes()
    req = builder(der, "lbl")
    assert req.method == method and req.operation == op
    assert req.path == f"/.well-known/est/lbl/{op}"
    assert req.header_dict()["Content-Type"] == ctype
    lines = req.body.split(b"\r\n")
    assert all(len(ln) <= 64 for ln in lines) and len(lines) > 2
    assert base64.b64decode(b"".join(lines)) == der
    with pytest.raises(ValueError):
        builder(b"")


def test_get_requests():
    for build, op in ((p.build_cacerts_request, "cacerts"), (p.build_csrattrs_request, "csrattrs")):
        req = build()
        assert (req.method, req.path, req.body) == ("GET", f"/.well-known/est/{op}", None)


# ----------------------------------------------------------------------------- body decoding

DER = (RFC7030 / "A.1_cacerts_response.der").read_bytes()
B64 = base64.b64encode(DER)


@pytest.mark.parametrize(
    "body",
    [
        B64,
        base64.encodebytes(DER),  # LF every 76
        b"\r\n".join(B64[i : i + 64] for i in range(0, len(B64), 64)) + b"\r\n",
        b" \t".join(B64[i : i + 10] for i in range(0, len(B64), 10)),  # spaces and tabs anywhere
        B64 + b"\x00",  # libest's trailing NUL
        B64 + b"\r\n\x00\x00",
        B64.rstrip(b"="),  # missing padding
        b"-----BEGIN PKCS7-----\n" + base64.encodebytes(DER) + b"-----END PKCS7-----\n",
        DER,  # raw DER (RFC 8951 tolerance)
    ],
)
def test_decode_body_tolerance(body):
    assert p.decode_body(body) == DER


def test_decode_body_keeps_raw_der_byte_exact():
    der = bytes.fromhex("3003310100") + b""  # ends in 0x00 like a certs-only's empty SET: never stripped
    assert p.decode_body(bytes.fromhex("30023100")) == bytes.fromhex("30023100")
    assert p.decode_body(der) == der


@pytest.mark.parametrize("body", [b"", b"\x00\r\n", b"\x01\x02garbage\xff", b"not base64 !!!"])
def test_decode_body_rejects(body):
    with pytest.raises(ProtocolError):
        p.decode_body(body)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("application/pkcs7-mime", ("application/pkcs7-mime", {})),
        ("Application/PKCS7-MIME; smime-type=certs-only", ("application/pkcs7-mime", {"smime-type": "certs-only"})),
        ("multipart/mixed ; boundary=estServerExampleBoundary", ("multipart/mixed", {"boundary": "estServerExampleBoundary"})),
        ('multipart/mixed;boundary="a;b"', ("multipart/mixed", {"boundary": "a;b"})),
        ("application/csrattrs ;", ("application/csrattrs", {})),
        ("", ("", {})),
        (None, ("", {})),
    ],
)
def test_parse_media_type(value, expected):
    assert p.parse_media_type(value) == expected


def test_retry_after():
    now = 1_800_000_000.0
    assert p.parse_retry_after("60") == 60.0
    assert p.parse_retry_after(" 0 ") == 0.0
    date = format_datetime(datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=90), usegmt=True)
    assert p.parse_retry_after(date, now=now) == pytest.approx(90.0)
    past = format_datetime(datetime.fromtimestamp(now, timezone.utc) - timedelta(days=1), usegmt=True)
    assert p.parse_retry_after(past, now=now) == 0.0
    for bad in (None, "", "soon", "-5", "1.5", "Mon, 99 Foo 2020"):
        assert p.parse_retry_after(bad) is None


# ----------------------------------------------------------------------------- statuses and errors


@pytest.mark.parametrize(
    "name, challenge",
    [
        ("simpleenroll-401-noauth", 'Basic realm="estrealm"'),
        ("simpleenroll-digest-401-challenge", 'Digest qop="auth", realm="estrealm", nonce="1795793327"'),
        ("simpleenroll-token-401-challenge", 'Bearer realm="estrealm"'),
        ("simpleenroll-401-badpass", None),
        ("simpleenroll-401-challengepw-mismatch", None),
    ],
)
def test_401_is_authentication_required(name, challenge):
    (resp,) = capture(name)
    with pytest.raises(AuthenticationRequired) as ei:
        p.parse_enroll_response(resp)
    assert ei.value.challenge == challenge


@pytest.mark.parametrize(
    "name, op, text",
    [
        ("simpleenroll-400-garbage", "simpleenroll", "Invalid or corrupted pkcs10 request."),
        ("simpleenroll-400-badct", "simpleenroll", "Error 400: Bad Request"),
        ("simpleenroll-400-get", "simpleenroll", "Error 400: Bad Request"),
        ("fullcmc-400", "fullcmc", "Error 400: Bad Request"),
    ],
)
def test_400_text_becomes_server_error_message(name, op, text):
    (resp,) = capture(name)
    parse = p.parse_fullcmc_response if op == "fullcmc" else p.parse_enroll_response
    with pytest.raises(ServerError) as ei:
        parse(resp)
    assert ei.value.status == 400
    assert text in ei.value.message
    assert ei.value.pki_response is None


@pytest.mark.parametrize("status", [404, 501])
def test_optional_operations_not_supported(status):
    resp = p.EstResponse(status, {"Content-Type": "text/plain"}, b"nope")
    with pytest.raises(NotSupported) as ei:
        p.parse_serverkeygen_response(resp)
    assert ei.value.operation == "serverkeygen"
    with pytest.raises(NotSupported) as ei:
        p.parse_fullcmc_response(resp)
    assert ei.value.operation == "fullcmc"
    # simpleenroll is mandatory: a 404 there is a server error, not "unsupported"
    with pytest.raises(ServerError) as se:
        p.parse_enroll_response(resp)
    assert se.value.status == status and se.value.message == "nope"


def test_error_message_is_sanitised_and_bounded():
    resp = p.EstResponse(500, [("content-type", "text/plain; charset=utf-8")], b"boom\x1b[31m\r\n" + b"x" * 5000)
    with pytest.raises(ServerError) as ei:
        p.parse_cacerts_response(resp)
    assert "\x1b" not in ei.value.message and len(ei.value.message) <= 1000
    # binary error bodies of other types are not echoed
    resp = p.EstResponse(500, [("content-type", "application/octet-stream")], b"\x00\x01secret")
    with pytest.raises(ServerError) as ei:
        p.parse_cacerts_response(resp)
    assert ei.value.message == ""


@pytest.mark.parametrize("name", ["simpleenroll-202-first", "simplereenroll-202-first", "serverkeygen-202-first"])
def test_202_is_pending(name):
    (resp,) = capture(name)
    parse = p.parse_serverkeygen_response if name.startswith("serverkeygen") else p.parse_enroll_response
    assert parse(resp) == p.Pending(60.0)


def test_202_without_retry_after():
    assert p.parse_enroll_response(p.EstResponse(202, {}, b"")) == p.Pending(None)


def test_wrong_media_type_is_protocol_error():
    resp = p.EstResponse(200, {"Content-Type": "text/html"}, B64)
    with pytest.raises(ProtocolError):
        p.parse_cacerts_response(resp)
    with pytest.raises(ProtocolError):
        p.parse_enroll_response(resp)


def test_headers_case_insensitive_and_hide_authorization():
    resp = p.EstResponse(200, [("Retry-After", "5"), ("AUTHORIZATION", "Basic c2VjcmV0")], b"")
    assert resp.headers["retry-after"] == "5"
    assert "c2VjcmV0" not in repr(resp.headers)


# ----------------------------------------------------------------------------- multipart (no codec needed)

A4_CT = "multipart/mixed ; boundary=estServerExampleBoundary"


@pytest.mark.parametrize("fname", ["A.4_serverkeygen_response_multipart.LF.txt", "A.4_serverkeygen_response_multipart.CRLF.txt"])
def test_multipart_split_lf_and_crlf(fname):
    body = (RFC7030 / fname).read_bytes()
    parts = p._multipart_parts(p.EstResponse(200, {"Content-Type": A4_CT}, body))
    assert [(t, prm.get("smime-type")) for t, prm, _ in parts] == [
        ("application/pkcs8", None),
        ("application/pkcs7-mime", "certs-only"),
    ]
    assert p.decode_body(parts[0][2]) == (RFC7030 / "A.4_serverkeygen_response_part1_pkcs8.der").read_bytes()
    assert p.decode_body(parts[1][2]) == (RFC7030 / "A.4_serverkeygen_response_part2_certs-only.der").read_bytes()


def test_multipart_requires_boundary():
    with pytest.raises(ProtocolError):
        p.parse_serverkeygen_response(p.EstResponse(200, {"Content-Type": "multipart/mixed"}, b"--x\r\n"))
    with pytest.raises(ProtocolError):
        p.parse_serverkeygen_response(p.EstResponse(200, {"Content-Type": "application/pkcs8"}, b"MIIB"))


def test_libest_multipart_capture_split():
    (resp,) = capture("serverkeygen")
    parts = p._multipart_parts(resp)
    assert [t for t, _, _ in parts] == ["application/pkcs8", "application/pkcs7-mime"]


# ----------------------------------------------------------------------------- with the codec models


def _spki(cert):
    return cert.public_key_info.to_der()


@pytest.mark.parametrize("name", ["cacerts", "cacerts-label", "cacerts-srp"])
def test_libest_cacerts(name):
    (resp,) = capture(name)
    cas = p.parse_cacerts_response(resp)
    assert len(cas) == 1
    assert cas[0].subject.rfc4514_string() == "CN=estExampleCA"
    assert list(cas) == [cas[0]]
    pem = cas.to_pem()
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n") and pem.count("BEGIN") == 1
    from cryptography import x509

    assert x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string() == "CN=estExampleCA"


def test_rfc7030_a1_cacerts_rollover_set():
    body = (RFC7030 / "A.1_cacerts_response.b64").read_bytes()
    cas = p.parse_cacerts_response(p.EstResponse(200, {"Content-Type": "application/pkcs7-mime"}, body))
    assert [c.subject.rfc4514_string() for c in cas] == [
        "CN=estExampleCA OwO", "CN=estExampleCA NwO", "CN=estExampleCA OwN", "CN=estExampleCA NwN"
    ]
    # BER/raw DER body, no content type at all
    assert len(p.parse_cacerts_response(p.EstResponse(200, {}, DER))) == 4


@pytest.mark.parametrize(
    "name, cn",
    [
        ("simpleenroll", "CN=capture-enroll"),
        ("simpleenroll-202-retry-200", None),
        ("simpleenroll-label", None),
        ("simpleenroll-srp", None),
        ("simpleenroll-token-b64", None),
        ("simpleenroll-n-cert", None),
        ("simpleenroll-o-extcert", None),
        ("simplereenroll", None),
        ("simplereenroll-basic-nocert", None),
        ("simplereenroll-cert-emptybasic", None),
        ("simplereenroll-o-certonly", None),
    ],
)
def test_libest_enroll_responses(name, cn):
    resp = capture(name)[-1]
    result = p.parse_enroll_response(resp, operation="simplereenroll" if "reenroll" in name else "simpleenroll")
    assert isinstance(result, p.Issued)
    assert result.chain == ()
    assert result.certificate.issuer.rfc4514_string() == "CN=estExampleCA"
    if cn:
        assert result.certificate.subject.rfc4514_string() == cn
    # selecting by our key finds the same certificate; a foreign key is refused
    assert p.parse_enroll_response(resp, _spki(result.certificate)).certificate == result.certificate
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(ProtocolError):
        p.parse_enroll_response(resp, p.spki_of(ec.generate_private_key(ec.SECP256R1())))


def test_libest_digest_exchange_second_response_issues():
    first, second = capture("simpleenroll-digest")
    with pytest.raises(AuthenticationRequired):
        p.parse_enroll_response(first)
    assert p.parse_enroll_response(second).certificate.subject.rfc4514_string() == "CN=capture-digest"


def test_rfc7030_a3_enroll_selects_by_csr_key():
    csr = (RFC7030 / "A.3_simpleenroll_request_pkcs10.der").read_bytes()
    body = (RFC7030 / "A.3_simpleenroll_response_certs-only.b64").read_bytes()
    resp = p.EstResponse(200, {"Content-Type": "application/pkcs7-mime; smime-type=certs-only"}, body)
    issued = p.parse_enroll_response(resp, p.spki_of(csr))
    assert issued.certificate.subject.rfc4514_string() == "CN=demostep4 1368141352"


def test_selection_among_several_certificates():
    """Certificates have no defined order: the issued one is found wherever it is."""
    from estcodec.cms import parse_certs_only

    leaf = parse_certs_only((RFC7030 / "A.3_simpleenroll_response_certs-only.der").read_bytes())
    cas = parse_certs_only(DER)
    mixed = [cas[0], cas[1], leaf[0], cas[3]]
    cert, others = p.select_issued_certificate(mixed, _spki(leaf[0]))
    assert cert == leaf[0] and len(others) == 3
    cert, others = p.select_issued_certificate(mixed, None)  # no key: the non-CA certificate
    assert cert == leaf[0]
    with pytest.raises(ProtocolError):
        p.select_issued_certificate([], None)


@pytest.mark.parametrize("name", ["csrattrs", "csrattrs-label", "csrattrs-pop", "csrattrs-custom"])
def test_libest_csrattrs(name):
    (resp,) = capture(name)
    attrs = p.parse_csrattrs_response(resp)
    assert len(attrs) > 0 and not attrs.is_empty()
    # challengePassword (the server wants channel binding) is listed by the -pop and custom configurations only
    assert attrs.contains_oid("1.2.840.113549.1.9.7") == (name in ("csrattrs-pop", "csrattrs-custom"))


def test_libest_csrattrs_trailing_nul_decodes_exactly():
    (resp,) = capture("csrattrs")
    assert resp.body.endswith(b"\x00")
    attrs = p.parse_csrattrs_response(resp)
    assert attrs.to_der() == base64.b64decode(resp.body.rstrip(b"\x00"))


def test_csrattrs_204_and_404_are_empty():
    (resp,) = capture("csrattrs-204-empty")
    assert p.parse_csrattrs_response(resp).is_empty()
    assert len(p.parse_csrattrs_response(p.EstResponse(404, {}, b"not found"))) == 0
    assert p.parse_csrattrs_response(p.EstResponse(200, {"Content-Type": "application/csrattrs"}, b"")).is_empty()


@pytest.mark.parametrize("fname", ["A.2_csrattrs_response.b64", "sec4.5.2_csrattrs_example.b64"])
def test_rfc7030_csrattrs(fname):
    body = (RFC7030 / fname).read_bytes()
    attrs = p.parse_csrattrs_response(p.EstResponse(200, {"Content-Type": "application/csrattrs"}, body))
    assert attrs.to_der() == (RFC7030 / fname.replace(".b64", ".der")).read_bytes()
    assert attrs.contains_oid("1.2.840.113549.1.9.7")  # challengePassword


def test_csrattrs_garbage_is_protocol_error():
    with pytest.raises(ProtocolError):
        p.parse_csrattrs_response(p.EstResponse(200, {"Content-Type": "application/csrattrs"}, b"MIIBAAAA"))


@pytest.mark.parametrize("fname", ["A.4_serverkeygen_response_multipart.LF.txt", "A.4_serverkeygen_response_multipart.CRLF.txt"])
def test_rfc7030_a4_serverkeygen(fname):
    body = (RFC7030 / fname).read_bytes()
    res = p.parse_serverkeygen_response(p.EstResponse(200, {"Content-Type": A4_CT}, body))
    assert isinstance(res, p.ServerKeygenResponse)
    assert res.key_encrypted is False and res.encrypted_key is None
    assert res.private_key == (RFC7030 / "A.4_serverkeygen_response_part1_pkcs8.der").read_bytes()
    assert res.certificate.subject.rfc4514_string() == "CN=serverside key generated response"
    assert "<hidden>" in repr(res) and "MII" not in repr(res)


def test_libest_serverkeygen_pkcs1_labelled_pkcs8():
    (resp,) = capture("serverkeygen")
    res = p.parse_serverkeygen_response(resp)
    key = res.private_key_object()
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    assert load_der_private_key(res.private_key, None).private_numbers() == key.private_numbers()
    assert p.spki_of(key) == _spki(res.certificate)  # the certificate selected is the one for this key


def test_serverkeygen_encrypted_without_keys_hands_out_ciphertext_only():
    from cryptography.hazmat.primitives.asymmetric import rsa

    parts = p._multipart_parts(
        p.EstResponse(200, {"Content-Type": A4_CT}, (RFC7030 / "A.4_serverkeygen_response_multipart.LF.txt").read_bytes())
    )
    certs_b64 = parts[1][2]
    fake_cms = base64.encodebytes(b"\x30\x03\x02\x01\x00")
    body = (
        b"--b\r\nContent-Type: application/pkcs7-mime; smime-type=server-generated-key\r\n\r\n" + fake_cms +
        b"\r\n--b\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n\r\n" + certs_b64 +
        b"\r\n--b--\r\n"
    )
    res = p.parse_serverkeygen_response(p.EstResponse(200, {"Content-Type": "multipart/mixed; boundary=b"}, body))
    assert res.key_encrypted and res.private_key is None and res.encrypted_key == b"\x30\x03\x02\x01\x00"
    with pytest.raises(ProtocolError):
        res.private_key_object()
    # with a key given, garbage ciphertext is an error, never a "key"
    with pytest.raises(EstError):
        p.parse_serverkeygen_response(
            p.EstResponse(200, {"Content-Type": "multipart/mixed; boundary=b"}, body),
            private_key=rsa.generate_private_key(65537, 2048),
            signer_trust=b"",
        )


def test_fullcmc_certs_only_success():
    body = (RFC7030 / "A.3_simpleenroll_response_certs-only.b64").read_bytes()
    res = p.parse_fullcmc_response(p.EstResponse(200, {"Content-Type": "application/pkcs7-mime; smime-type=certs-only"}, body))
    assert res.pki_response is None and len(res.certificates) == 1


def test_multipart_parts_keep_raw_der_bytes_exactly():
    """A part may carry raw DER (RFC 8951 §3.2): bytes above 0x7f survive the email parser untouched."""
    key = (RFC7030 / "A.4_serverkeygen_response_part1_pkcs8.der").read_bytes()
    certs = (RFC7030 / "A.4_serverkeygen_response_part2_certs-only.der").read_bytes()
    assert any(b > 0x7F for b in key)
    body = (
        b"--xyz\r\nContent-Type: application/pkcs8\r\nContent-Transfer-Encoding: binary\r\n\r\n" + key
        + b"\r\n--xyz\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n\r\n" + certs
        + b"\r\n--xyz--\r\n"
    )
    resp = p.EstResponse(200, {"Content-Type": 'multipart/mixed; boundary="xyz"'}, body)
    parts = p._multipart_parts(resp)
    assert p.decode_body(parts[0][2]) == key and p.decode_body(parts[1][2]) == certs
    res = p.parse_serverkeygen_response(resp)
    assert res.private_key == key


def test_libest_unit_test_serverkeygen_parts_with_lf():
    """libest's own serverkeygen output (test/UT): PKCS#1 RSA key labelled application/pkcs8, LF line ends."""
    from client_vectors import VECTORS

    d = VECTORS / "libest" / "serverkeygen"
    key_b64, cert_b64 = (d / "tc2-new-key.keyb64").read_bytes(), (d / "tc2-new-cert.pkcs7b64").read_bytes()
    body = (
        b"--est-server-boundary\nContent-Type: application/pkcs8\nContent-Transfer-Encoding: base64\n\n" + key_b64
        + b"\n--est-server-boundary\nContent-Type: application/pkcs7-mime; smime-type=certs-only\n"
        b"Content-Transfer-Encoding: base64\n\n" + cert_b64 + b"\n--est-server-boundary--\n"
    )
    res = p.parse_serverkeygen_response(p.EstResponse(200, [("Content-Type", "multipart/mixed; boundary=est-server-boundary")], body))
    assert res.certificate.subject.rfc4514_string() == "CN=US4752-TC5"
    assert p.spki_of(res.private_key_object()) == _spki(res.certificate)
    assert res.private_key[:1] == b"\x30" and res.private_key != base64.b64decode(key_b64)  # PKCS#1 -> PKCS#8


def test_serverkeygen_key_of_an_unknown_algorithm_is_a_protocol_error():
    # found by the protocol fuzz harness (1,000,000 inputs): a PKCS#8 key part whose algorithm cryptography does
    # not know escaped as cryptography's UnsupportedAlgorithm
    unknown = bytes.fromhex("300e" "020100" "3007" "06032a0304" "0500" "0400")  # OID 1.2.3.4, empty key
    parts = p._multipart_parts(
        p.EstResponse(200, {"Content-Type": A4_CT}, (RFC7030 / "A.4_serverkeygen_response_multipart.LF.txt").read_bytes())
    )
    certs_b64 = parts[1][2]
    body = (
        b"--b\r\nContent-Type: application/pkcs8\r\n\r\n" + base64.b64encode(unknown) +
        b"\r\n--b\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n\r\n" + certs_b64 +
        b"\r\n--b--\r\n"
    )
    with pytest.raises(ProtocolError, match="not a usable key"):
        p.parse_serverkeygen_response(p.EstResponse(200, {"Content-Type": "multipart/mixed; boundary=b"}, body))
