"""EstTestServer driven over real TLS with plain httpx + ssl (no estclient client code).

Covers /cacerts, /csrattrs, /simpleenroll, /simplereenroll, each auth mode, CA labels, pending
(202 + Retry-After), channel binding on TLS 1.2, TLS version options and the libest-like
close-after-error behaviour.
"""
from __future__ import annotations

import base64
import ssl
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import AttributeOID, NameOID

from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import univ
from pyasn1_modules import rfc2986

from estclient.testing import EstTestServer

EST = "/.well-known/est"


# ------------------------------------------------------------------------------------------ helpers


def make_csr(
    key: object | None = None,
    cn: str = "device-1",
    *,
    san_dns: tuple[str, ...] = (),
    challenge: str | None = None,
    octet_attributes: dict[str, bytes] | None = None,
) -> tuple[bytes, object]:
    key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    if san_dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in san_dns]), False)
    if challenge is not None:
        builder = builder.add_attribute(AttributeOID.CHALLENGE_PASSWORD, challenge.encode())
    for oid, value in (octet_attributes or {}).items():
        builder = builder.add_attribute(x509.ObjectIdentifier(oid), value, _tag=_ASN1Type.OctetString)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    csr = builder.sign(key, algorithm)  # type: ignore[arg-type]
    return csr.public_bytes(serialization.Encoding.DER), key


def post_csr(client: httpx.Client, url: str, der: bytes, **kwargs: object) -> httpx.Response:
    return client.post(
        url, content=base64.encodebytes(der), headers={"Content-Type": "application/pkcs10"}, **kwargs
    )


def certs_of(response: httpx.Response) -> list[x509.Certificate]:
    return pkcs7.load_der_pkcs7_certificates(base64.b64decode(response.content))


def spki(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cert_spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def srv():
    with EstTestServer() as server:
        yield server


# ------------------------------------------------------------------------------------------ TLS + cacerts


def test_cacerts_is_certs_only_with_the_ca(srv: EstTestServer) -> None:
    with httpx.Client(verify=srv.client_ssl_context()) as c:
        r = c.get(srv.url + EST + "/cacerts")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pkcs7-mime"
    assert r.headers["content-transfer-encoding"] == "base64"
    certs = certs_of(r)
    assert certs == [srv.ca_certificate]
    assert srv.ca_certificate.public_bytes(serialization.Encoding.PEM) == srv.trust_anchor_pem
    bc = srv.ca_certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is True
    assert srv.url == f"https://127.0.0.1:{srv.port}"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_certificate_verifies_for_loopback_names(srv: EstTestServer, host: str) -> None:
    ctx = srv.client_ssl_context()
    with httpx.Client(verify=ctx) as c:
        r = c.get(f"https://{host}:{srv.port}{EST}/cacerts")
    assert r.status_code == 200


def test_untrusted_client_refuses_server(srv: EstTestServer) -> None:
    other = EstTestServer()  # a different CA, never started
    ctx = ssl.create_default_context(cadata=other.trust_anchor_pem.decode())
    with httpx.Client(verify=ctx) as c, pytest.raises(httpx.ConnectError):
        c.get(srv.url + EST + "/cacerts")


def test_extra_ca_certificates_are_served() -> None:
    other = EstTestServer()
    with EstTestServer(extra_ca_certificates=[other.ca_certificate]) as srv:
        with httpx.Client(verify=srv.client_ssl_context()) as c:
            certs = certs_of(c.get(srv.url + EST + "/cacerts"))
    assert sorted(c.serial_number for c in certs) == sorted([srv.ca_certificate.serial_number, other.ca_certificate.serial_number])


# ------------------------------------------------------------------------------------------ csrattrs


def _csrattrs_oids(body: bytes) -> list[str]:
    """The bare OIDs of a CsrAttrs body, read by pyasn1 (an independent decoder)."""
    decoded, rest = der_decoder.decode(base64.b64decode(body))
    assert not rest
    return [str(el) for el in decoded]


def _seq(*ders: bytes) -> bytes:
    """SEQUENCE of already-encoded elements (pyasn1's DER encoder)."""
    seq = univ.SequenceOf(componentType=univ.Any())
    seq.clear()
    for der in ders:
        seq.append(univ.Any(der))
    return der_encoder.encode(seq)


def test_csrattrs_default(srv: EstTestServer) -> None:
    with httpx.Client(verify=srv.client_ssl_context()) as c:
        r = c.get(srv.url + EST + "/csrattrs")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/csrattrs"
    assert _csrattrs_oids(r.content) == ["2.16.840.1.101.3.4.2.1"]


def test_csrattrs_lists_challenge_password_when_binding_required() -> None:
    with EstTestServer(require_channel_binding=True) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        oids = _csrattrs_oids(c.get(srv.url + EST + "/csrattrs").content)
    assert oids[0] == "1.2.840.113549.1.9.7"


def test_csrattrs_configured_values() -> None:
    rfc_example = (Path(__file__).resolve().parents[1] / "vectors" / "rfc7030"
                   / "A.2_csrattrs_response.der")
    der = rfc_example.read_bytes() if rfc_example.exists() else _seq(der_encoder.encode(univ.ObjectIdentifier("1.2.840.113549.1.9.1")))
    with EstTestServer(csr_attrs=der) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        r = c.get(srv.url + EST + "/csrattrs")
        assert base64.b64decode(r.content) == der
    with EstTestServer(csr_attrs=["1.3.132.0.34", "1.2.840.113549.1.9.1"]) as srv, \
            httpx.Client(verify=srv.client_ssl_context()) as c:
        assert _csrattrs_oids(c.get(srv.url + EST + "/csrattrs").content) == ["1.3.132.0.34", "1.2.840.113549.1.9.1"]
    with EstTestServer(csr_attrs=b"") as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        r = c.get(srv.url + EST + "/csrattrs")
        assert r.status_code == 204 and r.content == b""
    with EstTestServer(csr_attrs=False) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        assert c.get(srv.url + EST + "/csrattrs").status_code == 404


# ------------------------------------------------------------------------------------------ simpleenroll


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(lambda: ec.generate_private_key(ec.SECP256R1()), id="ec-p256"),
        pytest.param(lambda: ec.generate_private_key(ec.SECP384R1()), id="ec-p384"),
        pytest.param(lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), id="rsa-2048"),
        pytest.param(lambda: ed25519.Ed25519PrivateKey.generate(), id="ed25519"),
    ],
)
def test_simpleenroll_issues_a_real_certificate(srv: EstTestServer, key) -> None:  # type: ignore[no-untyped-def]
    csr, k = make_csr(key(), "device-42", san_dns=("device-42.example",))
    with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
        r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pkcs7-mime; smime-type=certs-only"
    [cert] = certs_of(r)
    assert cert_spki(cert) == spki(k)
    assert cert.subject.rfc4514_string() == "CN=device-42"
    assert cert.issuer == srv.ca_certificate.subject
    cert.verify_directly_issued_by(srv.ca_certificate)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["device-42.example"]
    assert cert in srv.issued_certificates
    assert srv.requests[-1].authenticated_by == "basic"


def test_raw_der_body_is_tolerated(srv: EstTestServer) -> None:
    csr, _ = make_csr()
    with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
        r = c.post(srv.url + EST + "/simpleenroll", content=csr, headers={"Content-Type": "application/pkcs10"})
    assert r.status_code == 200


def test_cert_lifetime_option() -> None:
    with EstTestServer(cert_lifetime=30, auth=None) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        [cert] = certs_of(post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0]))
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() == 30


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        pytest.param(lambda der: der[:-3] + bytes([der[-3] ^ 1]) + der[-2:], 400, id="bad-signature"),
        pytest.param(lambda der: b"not a csr at all!!", 400, id="garbage"),
        pytest.param(lambda der: der + b"\x00", 400, id="trailing-byte"),
        pytest.param(lambda der: der[:40], 400, id="truncated"),
    ],
)
def test_simpleenroll_rejects_bad_csrs(srv: EstTestServer, mutate, status: int) -> None:  # type: ignore[no-untyped-def]
    csr, _ = make_csr(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
        r = post_csr(c, srv.url + EST + "/simpleenroll", mutate(csr))
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["connection"] == "close"
    assert not srv.issued_certificates


def test_http_errors(srv: EstTestServer) -> None:
    csr, _ = make_csr()
    with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
        bad_type = c.post(srv.url + EST + "/simpleenroll", content=base64.encodebytes(csr),
                          headers={"Content-Type": "text/plain"})
        assert bad_type.status_code == 415
        assert c.get(srv.url + EST + "/simpleenroll").status_code == 405
        assert c.post(srv.url + EST + "/cacerts").status_code == 405
        assert c.get(srv.url + EST + "/nosuchop").status_code == 404
        assert c.get(srv.url + "/elsewhere").status_code == 404
        assert c.get(srv.url + EST + "/a/b/cacerts").status_code == 404


# ------------------------------------------------------------------------------------------ auth modes


def test_basic_auth_challenge_and_wrong_password(srv: EstTestServer) -> None:
    csr, _ = make_csr()
    with httpx.Client(verify=srv.client_ssl_context()) as c:
        r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Basic realm="estrealm"'
        assert r.headers["connection"] == "close"
        r = post_csr(c, srv.url + EST + "/simpleenroll", csr, auth=(srv.username, srv.password + "x"))
        assert r.status_code == 401
        r = post_csr(c, srv.url + EST + "/simpleenroll", csr, auth=("someoneelse", srv.password))
        assert r.status_code == 401
        r = post_csr(c, srv.url + EST + "/simpleenroll", csr, auth=(srv.username, srv.password))
        assert r.status_code == 200
    # every 401 closed its connection (libest behaviour): four requests, four connections
    assert [rec.status for rec in srv.requests] == [401, 401, 401, 200]
    assert len({rec.connection_id for rec in srv.requests}) == 4
    # /cacerts and /csrattrs never ask for credentials
    with httpx.Client(verify=srv.client_ssl_context()) as c:
        assert c.get(srv.url + EST + "/cacerts").status_code == 200
        assert c.get(srv.url + EST + "/csrattrs").status_code == 200


def test_keep_alive_without_errors(srv: EstTestServer) -> None:
    with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
        for _ in range(3):
            assert post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0]).status_code == 200
    assert len({rec.connection_id for rec in srv.requests}) == 1


def test_close_after_error_can_be_turned_off() -> None:
    with EstTestServer(close_after_error=False) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        r = post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0])
        assert r.status_code == 401 and "connection" not in r.headers
        r = post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0], auth=(srv.username, srv.password))
        assert r.status_code == 200
    assert len({rec.connection_id for rec in srv.requests}) == 1


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5", "SHA-256-sess", "MD5-sess"])
def test_digest_auth(algorithm: str) -> None:
    with EstTestServer(auth="digest", digest_algorithm=algorithm) as srv:
        csr, _ = make_csr()
        with httpx.Client(verify=srv.client_ssl_context()) as c:
            r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
            assert r.status_code == 401
            challenge = r.headers["www-authenticate"]
            assert challenge.startswith("Digest ")
            assert 'qop="auth"' in challenge and "nonce=" in challenge
            # MD5 is the default when algorithm is absent (RFC 7616 §3.3): left out, so every parameter of the
            # challenge is quoted (the form Bouncy Castle accepts); other algorithms are named, unquoted
            assert (f"algorithm={algorithm}" in challenge) == (algorithm != "MD5")
            # Basic is not accepted by a Digest server
            assert post_csr(c, srv.url + EST + "/simpleenroll", csr, auth=(srv.username, srv.password)).status_code == 401
            wrong = post_csr(c, srv.url + EST + "/simpleenroll", csr, auth=httpx.DigestAuth(srv.username, "nope"))
            assert wrong.status_code == 401
        with httpx.Client(verify=srv.client_ssl_context(), auth=httpx.DigestAuth(srv.username, srv.password)) as c:
            r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
            assert r.status_code == 200, r.text
            # httpx re-uses the nonce with a higher nc: accepted
            assert post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0]).status_code == 200
        assert srv.requests[-1].authenticated_by == "digest"


def test_cert_auth() -> None:
    with EstTestServer(auth="cert") as srv:
        csr, _ = make_csr()
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
            assert r.status_code == 403
            assert "www-authenticate" not in r.headers  # no HTTP challenge can help: 403, not a 401 without one
        identity = srv.issue_client_identity("bootstrap-device")
        with httpx.Client(verify=srv.client_ssl_context(identity)) as c:
            r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
            assert r.status_code == 200
        assert srv.requests[-1].authenticated_by == "certificate"
        assert srv.requests[-1].client_certificate_subject == "CN=bootstrap-device"


def test_client_certificate_from_an_unknown_ca_fails_the_handshake() -> None:
    other = EstTestServer()
    identity = other.issue_client_identity("stranger")
    with EstTestServer(auth="cert") as srv:
        with httpx.Client(verify=srv.client_ssl_context(identity)) as c:
            with pytest.raises(httpx.TransportError):
                post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0])
        deadline = time.monotonic() + 5  # the server counts the failure in its own thread
        while srv.tls_failures < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.tls_failures >= 1
        assert not srv.issued_certificates


def test_third_party_client_certificate_with_client_trust() -> None:
    other = EstTestServer()
    identity = other.issue_client_identity("manufacturer-idevid")
    with EstTestServer(auth="cert", client_trust_pem=other.trust_anchor_pem) as srv:
        with httpx.Client(verify=srv.client_ssl_context(identity)) as c:
            assert post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0]).status_code == 200
            # but re-enrollment needs a certificate this CA issued
            csr, _ = make_csr(cn="manufacturer-idevid")
            assert post_csr(c, srv.url + EST + "/simplereenroll", csr).status_code == 403


def test_no_auth() -> None:
    with EstTestServer(auth=None) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        assert post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0]).status_code == 200
        assert srv.requests[-1].authenticated_by == "none"


def test_auth_csrattrs_option() -> None:
    with EstTestServer(auth_csrattrs=True) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        assert c.get(srv.url + EST + "/csrattrs").status_code == 401
        assert c.get(srv.url + EST + "/csrattrs", auth=(srv.username, srv.password)).status_code == 200
        assert c.get(srv.url + EST + "/cacerts").status_code == 200


def test_bad_options() -> None:
    with pytest.raises(ValueError):
        EstTestServer(auth="bearer")
    with pytest.raises(ValueError):
        EstTestServer(ca_label="simpleenroll")
    with pytest.raises(ValueError):
        EstTestServer(ca_label="a/b")
    with pytest.raises(ValueError):
        EstTestServer(require_channel_binding=True, tls_min_version="1.3")
    with pytest.raises(ValueError):
        EstTestServer(server_keygen_keks={b"id": b"short"})
    with pytest.raises(ValueError):
        EstTestServer(tls_max_version="1.1")


# ------------------------------------------------------------------------------------------ labels


def test_ca_label_paths() -> None:
    with EstTestServer(ca_label="arbitraryLabel1") as srv:
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            assert c.get(srv.url + EST + "/arbitraryLabel1/cacerts").status_code == 200
            assert c.get(srv.url + EST + "/cacerts").status_code == 200  # RFC 7030 §3.2.2: also unlabelled
            assert c.get(srv.url + EST + "/otherLabel/cacerts").status_code == 404
            r = post_csr(c, srv.operation_url("simpleenroll", label="arbitraryLabel1"), make_csr()[0])
            assert r.status_code == 200
        assert srv.requests[-1].label == "arbitraryLabel1"
        assert srv.requests[-1].operation == "simpleenroll"
        assert srv.operation_url("cacerts", label="x") == srv.url + EST + "/x/cacerts"


def test_label_required_and_several_labels() -> None:
    with EstTestServer(ca_label=["one", "two"], serve_unlabelled=False) as srv:
        with httpx.Client(verify=srv.client_ssl_context()) as c:
            assert c.get(srv.url + EST + "/cacerts").status_code == 404
            assert c.get(srv.url + EST + "/one/cacerts").status_code == 200
            assert c.get(srv.url + EST + "/two/csrattrs").status_code == 200


# ------------------------------------------------------------------------------------------ pending


def test_pending_then_issued() -> None:
    with EstTestServer(pending_retry_after=0) as srv:
        csr, key = make_csr()
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
            assert r.status_code == 202
            assert r.headers["retry-after"] == "0"
            assert r.headers["connection"] == "close"
            assert r.content == b""
            r = post_csr(c, srv.url + EST + "/simpleenroll", csr)
            assert r.status_code == 200
            assert cert_spki(certs_of(r)[0]) == spki(key)
            # a request for another key is pending again; the same key stays issued
            assert post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0]).status_code == 202
            assert post_csr(c, srv.url + EST + "/simpleenroll", csr).status_code == 200
            srv.reset_pending()
            assert post_csr(c, srv.url + EST + "/simpleenroll", csr).status_code == 202


def test_pending_repeats_and_http_date() -> None:
    date = "Fri, 27 Nov 2026 16:00:00 GMT"
    with EstTestServer(pending_retry_after=date, pending_repeats=2) as srv:
        csr, _ = make_csr()
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            statuses = [post_csr(c, srv.url + EST + "/simpleenroll", csr) for _ in range(3)]
        assert [r.status_code for r in statuses] == [202, 202, 200]
        assert statuses[0].headers["retry-after"] == date


def test_pending_comes_after_authentication() -> None:
    with EstTestServer(pending_retry_after=5) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        assert post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0]).status_code == 401


# ------------------------------------------------------------------------------------------ re-enrollment


def _reenroll(srv: EstTestServer, identity: tuple[bytes, bytes] | None, csr: bytes) -> httpx.Response:
    with httpx.Client(verify=srv.client_ssl_context(identity)) as c:
        return post_csr(c, srv.url + EST + "/simplereenroll", csr)


def test_simplereenroll_renew_and_rekey(srv: EstTestServer) -> None:
    identity = srv.issue_client_identity("device-7", san_dns=("device-7.example",))
    old = x509.load_pem_x509_certificate(identity[0])
    old_key = serialization.load_pem_private_key(identity[1], None)
    # renew: same key
    csr, _ = make_csr(old_key, "device-7", san_dns=("device-7.example",))
    r = _reenroll(srv, identity, csr)
    assert r.status_code == 200, r.text
    [new] = certs_of(r)
    assert new.subject == old.subject and cert_spki(new) == cert_spki(old) and new.serial_number != old.serial_number
    # rekey: new key
    csr, key = make_csr(None, "device-7", san_dns=("device-7.example",))
    r = _reenroll(srv, identity, csr)
    assert r.status_code == 200
    assert cert_spki(certs_of(r)[0]) == spki(key)


def test_simplereenroll_rules(srv: EstTestServer) -> None:
    identity = srv.issue_client_identity("device-8", san_dns=("device-8.example",))
    good, _ = make_csr(None, "device-8", san_dns=("device-8.example",))
    # no client certificate, even with a password: 403
    with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
        assert post_csr(c, srv.url + EST + "/simplereenroll", good).status_code == 403
    # subject differs
    assert _reenroll(srv, identity, make_csr(None, "device-9", san_dns=("device-8.example",))[0]).status_code == 400
    # SAN differs / missing
    assert _reenroll(srv, identity, make_csr(None, "device-8", san_dns=("other.example",))[0]).status_code == 400
    assert _reenroll(srv, identity, make_csr(None, "device-8")[0]).status_code == 400
    assert _reenroll(srv, identity, good).status_code == 200


def _csr_with_change_subject_name(key: ec.EllipticCurvePrivateKey, new_cn: str, old_name: x509.Name) -> bytes:
    """A CSR for a new name carrying the RFC 6402 changeSubjectName attribute (built with pyasn1-modules)."""
    info = rfc2986.CertificationRequestInfo()
    info["version"] = 0
    info["subject"] = der_decoder.decode(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, new_cn)]).public_bytes(), asn1Spec=rfc2986.Name()
    )[0]
    info["subjectPKInfo"] = der_decoder.decode(spki(key), asn1Spec=rfc2986.SubjectPublicKeyInfo())[0]
    attr = rfc2986.Attribute()
    attr["type"] = univ.ObjectIdentifier("1.3.6.1.5.5.7.7.36")  # id-cmc-changeSubjectName
    attr["values"].append(univ.Any(_seq(old_name.public_bytes())))  # ChangeSubjectName { subject }
    info["attributes"].append(attr)
    req = rfc2986.CertificationRequest()
    req["certificationRequestInfo"] = info
    req["signatureAlgorithm"]["algorithm"] = univ.ObjectIdentifier("1.2.840.10045.4.3.2")  # ecdsa-with-SHA256
    req["signature"] = univ.BitString.fromOctetString(key.sign(der_encoder.encode(info), ec.ECDSA(hashes.SHA256())))
    return der_encoder.encode(req)


def test_simplereenroll_change_subject_name(srv: EstTestServer) -> None:
    identity = srv.issue_client_identity("old-name")
    old = x509.load_pem_x509_certificate(identity[0])
    key = ec.generate_private_key(ec.SECP256R1())
    r = _reenroll(srv, identity, _csr_with_change_subject_name(key, "new-name", old.subject))
    assert r.status_code == 200, r.text
    assert certs_of(r)[0].subject.rfc4514_string() == "CN=new-name"


def test_reenroll_with_an_expired_lifetime_identity_is_refused_by_tls() -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("short", lifetime=-60)
        with pytest.raises(httpx.TransportError):
            _reenroll(srv, identity, make_csr(None, "short")[0])


# ------------------------------------------------------------------------------------------ channel binding


def _tls_unique_and_post(srv: EstTestServer, make, *, tls_max: ssl.TLSVersion | None = None):  # type: ignore[no-untyped-def]
    """Open one connection, read its tls-unique, POST the CSR ``make(tls_unique)`` on it."""
    with httpx.Client(verify=srv.client_ssl_context(max_version=tls_max), auth=(srv.username, srv.password)) as c:
        first = c.get(srv.url + EST + "/csrattrs")
        ssl_object = first.extensions["network_stream"].get_extra_info("ssl_object")
        version = ssl_object.version()
        unique = ssl_object.get_channel_binding("tls-unique")
        response = post_csr(c, srv.url + EST + "/simpleenroll", make(unique))
    return version, response


def test_channel_binding_required_and_satisfied() -> None:
    with EstTestServer(require_channel_binding=True) as srv:
        version, r = _tls_unique_and_post(srv, lambda u: make_csr(challenge=base64.b64encode(u).decode())[0])
        assert version == "TLSv1.2"  # the server caps TLS at 1.2 although the client offers 1.3
        assert r.status_code == 200, r.text
        assert srv.requests[-1].connection_id == srv.requests[-2].connection_id  # same connection
        assert srv.requests[-1].tls_version == "TLSv1.2"


def test_channel_binding_missing_or_wrong() -> None:
    with EstTestServer(require_channel_binding=True) as srv:
        _, r = _tls_unique_and_post(srv, lambda u: make_csr()[0])
        assert r.status_code == 403 and "Proof of Possession" in r.text
        _, r = _tls_unique_and_post(srv, lambda u: make_csr(challenge=base64.b64encode(bytes(12)).decode())[0])
        assert r.status_code == 403
        # tls-unique of an earlier connection does not count on a new one
        stale: list[bytes] = []
        _tls_unique_and_post(srv, lambda u: stale.append(u) or make_csr()[0])
        _, r = _tls_unique_and_post(srv, lambda u: make_csr(challenge=base64.b64encode(stale[0]).decode())[0])
        assert r.status_code == 403
        assert not srv.issued_certificates


def test_voluntary_channel_binding_is_verified_on_tls12() -> None:
    with EstTestServer(tls_max_version="1.2") as srv:
        _, r = _tls_unique_and_post(srv, lambda u: make_csr(challenge=base64.b64encode(u).decode())[0])
        assert r.status_code == 200
        _, r = _tls_unique_and_post(srv, lambda u: make_csr(challenge="not-the-binding")[0])
        assert r.status_code == 403


def test_challenge_password_over_tls13_is_refused() -> None:
    with EstTestServer() as srv:
        version, r = _tls_unique_and_post(srv, lambda u: make_csr(challenge=base64.b64encode(u or b"").decode())[0])
        assert version == "TLSv1.3"
        assert r.status_code == 400
        assert "TLS 1.3" in r.text


def test_tls13_only_server() -> None:
    with EstTestServer(tls_min_version="1.3") as srv:
        with httpx.Client(verify=srv.client_ssl_context(max_version="1.2")) as c:
            with pytest.raises(httpx.ConnectError):
                c.get(srv.url + EST + "/cacerts")
        with httpx.Client(verify=srv.client_ssl_context()) as c:
            r = c.get(srv.url + EST + "/cacerts")
            assert r.extensions["network_stream"].get_extra_info("ssl_object").version() == "TLSv1.3"


def test_server_without_loopback_names_fails_hostname_check() -> None:
    with EstTestServer(tls_hostname_in_cert=False) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        with pytest.raises(httpx.ConnectError):
            c.get(srv.url + EST + "/cacerts")


def test_cmc_ra_eku_option() -> None:
    with EstTestServer(tls_cmc_ra=True) as srv:
        eku = srv.tls_certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.28") in eku


def test_stop_closes_idle_connections() -> None:
    srv = EstTestServer().start()
    client = httpx.Client(verify=srv.client_ssl_context())
    try:
        assert client.get(srv.url + EST + "/cacerts").status_code == 200
        port = srv.port
        srv.stop()
        with pytest.raises(httpx.TransportError):
            client.get(f"https://127.0.0.1:{port}{EST}/cacerts")
    finally:
        client.close()
        srv.stop()


def test_command_line_runner(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    ca_out = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "estclient.testing", "--label", "demo", "--auth", "none", "--ca-out", str(ca_out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("EST server   https://127.0.0.1:")
        base = first.split()[2]
        ctx = ssl.create_default_context(cafile=str(ca_out))
        with httpx.Client(verify=ctx) as c:
            assert c.get(base + "demo/cacerts").status_code == 200
            assert post_csr(c, base + "simpleenroll", make_csr()[0]).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


# ------------------------------------------------------------------------------------------ CA shapes


def test_intermediate_ca() -> None:
    with EstTestServer(ca_intermediate=True) as srv:
        assert srv.issuer_certificate != srv.ca_certificate
        srv.issuer_certificate.verify_directly_issued_by(srv.ca_certificate)
        # the server sends its intermediate in the TLS handshake: the root alone is enough to trust it
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            cacerts = certs_of(c.get(srv.url + EST + "/cacerts"))
            r = post_csr(c, srv.url + EST + "/simpleenroll", make_csr()[0])
        assert {x.serial_number for x in cacerts} == {srv.ca_certificate.serial_number,
                                                      srv.issuer_certificate.serial_number}
        [cert] = certs_of(r)
        cert.verify_directly_issued_by(srv.issuer_certificate)
        srv.tls_certificate.verify_directly_issued_by(srv.issuer_certificate)


def test_reenroll_with_an_identity_from_the_intermediate() -> None:
    with EstTestServer(ca_intermediate=True, auth="cert") as srv:
        identity = srv.issue_client_identity("sub-issued")
        x509.load_pem_x509_certificate(identity[0]).verify_directly_issued_by(srv.issuer_certificate)
        key = serialization.load_pem_private_key(identity[1], None)
        r = _reenroll(srv, identity, make_csr(key, "sub-issued")[0])
        assert r.status_code == 200, r.text


def test_enroll_response_chain_option() -> None:
    with EstTestServer(ca_intermediate=True, enroll_response_chain=True, auth=None) as srv:
        csr, key = make_csr()
        with httpx.Client(verify=srv.client_ssl_context()) as c:
            certs = certs_of(post_csr(c, srv.url + EST + "/simpleenroll", csr))
        assert len(certs) == 3
        assert [x for x in certs if cert_spki(x) == spki(key)][0].issuer == srv.issuer_certificate.subject


def test_root_key_rollover_certificates() -> None:
    with EstTestServer(ca_rollover=True) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        certs = certs_of(c.get(srv.url + EST + "/cacerts"))
    assert len(certs) == 4  # OldWithOld, NewWithNew, OldWithNew, NewWithOld (as in RFC 7030 A.1)
    old = srv.ca_certificate
    assert all(x.subject == old.subject for x in certs)
    new_with_new = [x for x in certs if cert_spki(x) != cert_spki(old) and x.issuer == x.subject
                    and _signed_by(x, x)]
    assert len(new_with_new) == 1
    new = new_with_new[0]
    old_with_new = [x for x in certs if cert_spki(x) == cert_spki(old) and x != old]
    new_with_old = [x for x in certs if cert_spki(x) == cert_spki(new) and x != new]
    assert len(old_with_new) == 1 and _signed_by(old_with_new[0], new)
    assert len(new_with_old) == 1 and _signed_by(new_with_old[0], old)
    assert new.not_valid_after_utc > old.not_valid_after_utc


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:
        return False
