"""strongSwan's ``pki --estca`` / ``pki --est`` (an EST client nobody on this project wrote) against the
reference server: CA certificates, enrollment with --userpass, re-enrollment with the issued certificate and
key, and a pending enrollment that pki polls until it is served.

strongSwan's base64 decoder stops at the first line break, so these tests also hold the server to
RFC 4648 §3.1 (no line feeds in base64 bodies).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from estclient.testing import EstTestServer

from interop_peers import need, run, show



@pytest.fixture
def pki() -> str:
    return need("pki")["pki"]


def _ca_file(srv: EstTestServer, tmp: Path) -> Path:
    ca = tmp / "tls-ca.pem"
    ca.write_bytes(srv.trust_anchor_pem)
    return ca


def _new_request(pki: str, tmp: Path, cn: str, tag: str = "") -> tuple[Path, Path]:
    key, req = tmp / f"{cn}{tag}.key.der", tmp / f"{cn}{tag}.req.der"
    res = run([pki, "--gen", "--type", "ecdsa", "--size", "256", "--outform", "der"])
    assert res.returncode == 0, show(res)
    key.write_bytes(res.stdout)
    res = run([pki, "--req", "--in", str(key), "--type", "ecdsa", "--dn", f"CN={cn}", "--outform", "der"])
    assert res.returncode == 0, show(res)
    req.write_bytes(res.stdout)
    return key, req


def test_estca(pki: str, tmp_path: Path) -> None:
    with EstTestServer(auth="basic") as srv:
        out = tmp_path / "estca.der"
        res = run([pki, "--estca", "--url", srv.url, "--cacert", str(_ca_file(srv, tmp_path)),
                   "--caout", str(out), "--force"])
        assert res.returncode == 0, show(res)
        assert x509.load_der_x509_certificate(out.read_bytes()) == srv.ca_certificate
        assert [(r.method, r.operation, r.status) for r in srv.requests] == [("GET", "cacerts", 200)]


def test_enroll_then_reenroll(pki: str, tmp_path: Path) -> None:
    with EstTestServer(auth="basic", password="sw-secret") as srv:
        ca = _ca_file(srv, tmp_path)
        key, req = _new_request(pki, tmp_path, "strongswan-device")
        res = run([pki, "--est", "--url", srv.url, "--cacert", str(ca), "--in", str(req),
                   "--userpass", f"{srv.username}:{srv.password}"])
        assert res.returncode == 0, show(res)
        cert = x509.load_der_x509_certificate(res.stdout)
        assert cert.subject.rfc4514_string() == "CN=strongswan-device"
        assert cert.issuer == srv.ca_certificate.subject
        # re-enrollment: the issued certificate and its key authenticate the TLS connection
        cert_file = tmp_path / "cert.der"
        cert_file.write_bytes(res.stdout)
        _, req2 = _new_request(pki, tmp_path, "strongswan-device", ".new")  # a new key, as a renewal makes
        res = run([pki, "--est", "--url", srv.url, "--cacert", str(ca), "--in", str(req2),
                   "--cert", str(cert_file), "--key", str(key)])
        assert res.returncode == 0, show(res)
        renewed = x509.load_der_x509_certificate(res.stdout)
        assert renewed.subject == cert.subject and renewed.serial_number != cert.serial_number
        final = [(r.operation, r.status, r.authenticated_by) for r in srv.requests if r.status == 200]
        assert final == [("simpleenroll", 200, "basic"), ("simplereenroll", 200, "certificate")]
        # every refusal on the way was a 401 that carried its challenge
        assert all(r.status in (200, 401) for r in srv.requests)


def test_wrong_password_is_refused(pki: str, tmp_path: Path) -> None:
    with EstTestServer(auth="basic") as srv:
        _, req = _new_request(pki, tmp_path, "intruder")
        res = run([pki, "--est", "--url", srv.url, "--cacert", str(_ca_file(srv, tmp_path)), "--in", str(req),
                   "--userpass", f"{srv.username}:wrong"])
        assert res.returncode != 0 and not res.stdout
        assert not srv.issued_certificates
        assert {r.status for r in srv.requests} == {401}


def test_pending_enrollment_is_polled_to_completion(pki: str, tmp_path: Path) -> None:
    with EstTestServer(auth="basic", pending_retry_after=1, pending_repeats=2) as srv:
        _, req = _new_request(pki, tmp_path, "patient-device")
        res = run([pki, "--est", "--url", srv.url, "--cacert", str(_ca_file(srv, tmp_path)), "--in", str(req),
                   "--userpass", f"{srv.username}:{srv.password}", "--interval", "1", "--maxpolltime", "60"])
        assert res.returncode == 0, show(res)
        assert x509.load_der_x509_certificate(res.stdout).subject.rfc4514_string() == "CN=patient-device"
        statuses = [r.status for r in srv.requests if r.operation == "simpleenroll" and r.status != 401]
        assert statuses == [202, 202, 200]
