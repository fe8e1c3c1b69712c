"""Revocation status by OCSP and CRL (estclient.revocation) against the reference server's CRL and OCSP responder,
over real HTTP on loopback, with certificates enrolled over real EST."""
from __future__ import annotations

import contextlib

import pytest
from cryptography import x509

from estclient.client import EstClient
from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import RevocationError, RevocationFetchError, TransportError
from estclient.revocation import (
    RevocationChecker,
    RevocationState,
    check_revocation,
    crl_urls,
    ocsp_urls,
)
from estclient.testing import EstTestServer


@pytest.fixture(scope="module")
def srv():
    with EstTestServer(revocation=True, ca_intermediate=True) as server:
        yield server


@pytest.fixture(scope="module")
def delegated():
    with EstTestServer(revocation=True, ocsp_signer="delegated") as server:
        yield server


@contextlib.contextmanager
def faults(server, *names):
    server.revocation.faults = set(names)
    try:
        yield
    finally:
        server.revocation.faults = set()


def enroll(server, name="dev"):
    """A certificate enrolled over EST (an estcodec Certificate) and its issuer (cryptography)."""
    config = EstClientConfig(server.url, trust=TrustAnchors.from_pem(server.trust_anchor_pem),
                             http_auth=HttpAuth(server.username, server.password), timeout=15.0)
    with EstClient(config) as client:
        issued = client.simple_enroll(CsrBuilder().common_name(name).san_dns(f"{name}.example"))
    return issued.certificate, server.issuer_certificate


def test_issued_certificates_name_the_servers_crl_and_ocsp(srv):
    cert, _ = enroll(srv)
    assert ocsp_urls(cert) == [srv.revocation.ocsp_url]
    assert crl_urls(cert) == [srv.revocation.crl_url]
    assert srv.revocation.ocsp_url.startswith("http://127.0.0.1:")


def test_good_certificate_is_good_by_ocsp_and_by_crl(srv):
    cert, issuer = enroll(srv, "good")
    with RevocationChecker() as checker:
        by_ocsp = checker.check(cert, issuer, method="ocsp")
        by_crl = checker.check(cert, issuer, method="crl")
        auto = checker.check(cert, issuer)
    assert by_ocsp.good and by_ocsp.method == "ocsp" and by_ocsp.source == srv.revocation.ocsp_url
    assert by_crl.good and by_crl.method == "crl" and by_crl.next_update is not None
    assert auto.good and auto.method == "ocsp"
    assert not by_ocsp.revoked and not by_ocsp.unknown and by_ocsp.describe().startswith("good (ocsp")


def test_revoked_certificate_detected_by_crl(srv):
    cert, issuer = enroll(srv, "revoked-crl")
    srv.revoke(cert, reason=x509.ReasonFlags.superseded)
    status = check_revocation(cert, issuer, method="crl")
    assert status.state is RevocationState.REVOKED and status.method == "crl"
    assert status.reason is x509.ReasonFlags.superseded and status.revocation_time is not None
    assert "superseded" in status.describe()


@pytest.mark.parametrize("which", ["ca", "delegated"])
def test_revoked_certificate_detected_by_ocsp(srv, delegated, which):
    server = srv if which == "ca" else delegated
    cert, issuer = enroll(server, f"revoked-ocsp-{which}")
    assert check_revocation(cert, issuer, method="ocsp").good
    server.revoke(cert)
    status = check_revocation(cert, issuer, method="ocsp")
    assert status.revoked and status.method == "ocsp" and status.reason is x509.ReasonFlags.key_compromise


def test_verified_crl_is_cached_until_next_update(srv):
    cert, issuer = enroll(srv, "cached")
    before = srv.revocation.crl_requests
    with RevocationChecker() as checker:
        for _ in range(3):
            assert checker.check_crl(cert, issuer).good
        assert checker.fetches == 1
        srv.revoke(cert)
        assert checker.check_crl(cert, issuer).good  # the cached CRL is current until its nextUpdate
        checker.clear_cache()
        assert checker.check_crl(cert, issuer).revoked
        assert checker.fetches == 2
    assert srv.revocation.crl_requests - before == 2


def test_crl_with_bad_signature_refused(srv):
    cert, issuer = enroll(srv, "bad-crl")
    with faults(srv, "crl-bad-signature"), pytest.raises(RevocationError, match="signature does not verify"):
        check_revocation(cert, issuer, method="crl")


def test_stale_crl_refused(srv):
    cert, issuer = enroll(srv, "stale-crl")
    with faults(srv, "crl-stale"), pytest.raises(RevocationError, match="stale"):
        check_revocation(cert, issuer, method="crl")


def test_crl_of_another_issuer_refused(srv, delegated):
    cert, _ = enroll(srv, "other-issuer")
    with pytest.raises(RevocationError, match="another CA|does not verify"):
        check_revocation(cert, delegated.issuer_certificate, method="crl")


@pytest.mark.parametrize("fault,match", [
    ("ocsp-stale", "stale"),
    ("ocsp-bad-signature", "signature does not verify"),
    ("ocsp-wrong-nonce", "nonce"),
    ("ocsp-unauthorized-signer", "OCSPSigning"),
])
def test_bad_ocsp_responses_refused(srv, fault, match):
    cert, issuer = enroll(srv, "bad-ocsp")
    with faults(srv, fault), pytest.raises(RevocationError, match=match) as info:
        check_revocation(cert, issuer, method="ocsp")
    assert not isinstance(info.value, RevocationFetchError)


def test_auto_falls_back_to_the_crl_when_ocsp_fails(srv):
    cert, issuer = enroll(srv, "fallback")
    srv.revoke(cert)
    with faults(srv, "ocsp-stale"):
        status = check_revocation(cert, issuer)
    assert status.revoked and status.method == "crl"
    with faults(srv, "ocsp-stale", "crl-stale"), pytest.raises(RevocationError, match="OCSP: .*; CRL: "):
        check_revocation(cert, issuer)


def test_unknown_serial_is_unknown_not_good(srv):
    cert, issuer = enroll(srv, "forgotten")
    with srv.ca._lock:
        del srv.ca.issued[cert.serial_number]
    status = check_revocation(cert, issuer, method="ocsp")
    assert status.unknown and "does not know" in status.why


def test_network_failure_raises_never_good():
    with EstTestServer(revocation=True) as server:
        cert, issuer = enroll(server, "offline")
        server.revocation.stop()
        with pytest.raises(RevocationFetchError) as info:
            check_revocation(cert, issuer, timeout=5)
    assert isinstance(info.value, TransportError)
    assert "OCSP: " in str(info.value) and "CRL: " in str(info.value)


def test_size_limits_apply(srv):
    cert, issuer = enroll(srv, "big")
    with RevocationChecker(max_crl_bytes=50, max_ocsp_bytes=50) as small:
        with pytest.raises(RevocationFetchError, match="larger than 50 bytes"):
            small.check(cert, issuer, method="crl")
        with pytest.raises(RevocationFetchError, match="larger than 50 bytes"):
            small.check(cert, issuer, method="ocsp")


def test_what_is_not_a_crl_is_refused(srv):
    """A distribution point that answers 200 with something else (here: an OCSP response) and one that answers
    404: neither is read as good."""
    import base64
    from urllib.parse import quote

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    cert, issuer = enroll(srv, "not-a-crl")
    req = ocsp.OCSPRequestBuilder().add_certificate(cert.to_cryptography(), issuer, hashes.SHA1()).build()
    b64 = quote(base64.b64encode(req.public_bytes(serialization.Encoding.DER)).decode(), safe="")
    saved = srv.ca.crl_url, srv.ca.ocsp_url
    try:
        srv.ca.ocsp_url = None
        srv.ca.crl_url = srv.revocation.url + "/ocsp/" + b64  # the OCSP GET form: a 200 with a DER OCSP response
        wrong_body, _ = enroll(srv, "not-a-crl")
        srv.ca.crl_url = srv.revocation.url + "/crl/missing.crl"
        missing, _ = enroll(srv, "missing-crl")
    finally:
        srv.ca.crl_url, srv.ca.ocsp_url = saved
    with pytest.raises(RevocationError, match="not a DER CRL"):
        check_revocation(wrong_body, issuer)
    with pytest.raises(RevocationFetchError, match="HTTP 404"):
        check_revocation(missing, issuer)


def test_only_http_urls_unless_allowed():
    with EstTestServer(revocation=True) as server:
        server.ca.crl_url = "https://127.0.0.1:9/crl.crl"
        server.ca.ocsp_url = None
        cert, issuer = enroll(server, "https-only")
    status = check_revocation(cert, issuer)
    assert status.unknown and "allowed scheme" in status.why
    with pytest.raises(RevocationFetchError):  # allowed now, and nothing listens there
        check_revocation(cert, issuer, allow_https=True, timeout=5)


def test_certificate_without_urls_is_unknown():
    with EstTestServer() as server:
        cert, issuer = enroll(server, "no-urls")
    status = check_revocation(cert, issuer)
    assert status.unknown and "names no" in status.why and status.method is None


def test_admin_revoke_endpoint(srv):
    import httpx

    cert, issuer = enroll(srv, "admin")
    url = srv.revocation.url + "/admin/revoke?reason=cessationOfOperation"
    r = httpx.post(url, content=cert.to_der(), trust_env=False)
    assert r.status_code == 200
    status = check_revocation(cert, issuer, method="crl")
    assert status.revoked and status.reason is x509.ReasonFlags.cessation_of_operation
    assert httpx.post(url, content=b"nonsense", trust_env=False).status_code == 400


def test_ocsp_get_form_is_served(srv):
    """RFC 6960 Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}."""
    import base64
    from urllib.parse import quote

    import httpx
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    cert, issuer = enroll(srv, "get-form")
    req = ocsp.OCSPRequestBuilder().add_certificate(cert.to_cryptography(), issuer, hashes.SHA1()).build()
    b64 = base64.b64encode(req.public_bytes(serialization.Encoding.DER)).decode()
    r = httpx.get(f"{srv.revocation.ocsp_url}/{quote(b64, safe='')}", trust_env=False)
    resp = ocsp.load_der_ocsp_response(r.content)
    assert resp.certificate_status is ocsp.OCSPCertStatus.GOOD


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/x.crl", "http://bad host/x.crl"])
def test_malformed_urls_are_fetch_errors(url):
    with EstTestServer(revocation=True) as server:
        server.ca.crl_url, server.ca.ocsp_url = url, None
        cert, issuer = enroll(server, "bad-url")
    with pytest.raises(RevocationFetchError):
        check_revocation(cert, issuer, timeout=5)
