"""What the client reports when a server refuses it: the reason a 401 body gives (libest's "Proof of
Possession Mismatch"), TLS alerts about the client's certificate, and renewal of every key type CsrBuilder
makes (brainpool included)."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from estclient import ClientIdentity, EstClient, EstClientConfig, TrustAnchors
from estclient.cli import _describe
from estclient.csr import KEY_TYPES, CsrBuilder
from estclient.errors import AuthenticationRequired, TlsConfigError
from estclient.protocol import EstResponse, parse_enroll_response
from estclient.renewal import RenewalConfig, key_type_of, renewal_csr
from estclient.testing import EstTestServer

from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[1] / "vectors" / "libest-captures"


def _capture(name: str) -> EstResponse:
    """A recorded libest response (status line, headers, Content-Length body)."""
    raw = (CAPTURES / f"{name}.resp.bin").read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
    length = int(dict((k.lower(), v) for k, v in headers).get("content-length", len(body)))
    return EstResponse(int(lines[0].split()[1]), headers, body[:length])


def test_401_with_a_reason_reports_the_reason() -> None:
    with pytest.raises(AuthenticationRequired) as ei:
        parse_enroll_response(_capture("simpleenroll-401-challengepw-mismatch"))
    assert ei.value.server_message == "Proof of Possession Mismatch."
    assert str(ei.value) == "EST server refused simpleenroll: Proof of Possession Mismatch."
    assert "check --user" not in _describe(ei.value) and "Proof of Possession" in _describe(ei.value)


@pytest.mark.parametrize("name", ["simpleenroll-401-badpass", "simpleenroll-401-noauth"])
def test_401_without_a_reason_is_about_credentials(name: str) -> None:
    with pytest.raises(AuthenticationRequired) as ei:
        parse_enroll_response(_capture(name))
    assert ei.value.server_message is None
    assert "requires authentication" in str(ei.value) and "check --user/--password" in _describe(ei.value)


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_server_alert_about_the_client_certificate_hints_at_it(tls: str) -> None:
    """A client certificate from a CA the server does not trust: the server's unknown_ca alert gives a hint
    about the client certificate, not about --trust (which is fine: the server's certificate verified)."""
    stranger = EstTestServer()
    identity = ClientIdentity(*stranger.issue_client_identity("outsider"))
    with EstTestServer(auth="cert", tls_max_version=tls) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem), client_identity=identity)
        with EstClient(cfg) as client, pytest.raises(TlsConfigError) as ei:
            client.simple_enroll(CsrBuilder().common_name("outsider"))
    message = _describe(ei.value)
    assert "UNKNOWN_CA" in message and "client certificate" in message and "--trust" not in message
    assert srv.tls_failures >= 1 and not srv.issued_certificates


def test_server_certificate_problems_still_point_at_trust() -> None:
    with EstTestServer() as srv:
        other = EstTestServer()
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(other.trust_anchor_pem))
        with EstClient(cfg) as client, pytest.raises(TlsConfigError) as ei:
            client.get_ca_certs()
    assert "--trust" in _describe(ei.value) and "client certificate" not in str(ei.value)


@pytest.mark.parametrize("key_type", [k for k in KEY_TYPES if k != "rsa-4096"])
def test_every_key_type_can_be_renewed(key_type: str) -> None:
    """est reenroll (and the renewal scheduler) make the new key of the current key's type: every type
    CsrBuilder makes, brainpool curves included, is recognised and re-made."""
    with EstTestServer(auth=None) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem))
        builder = CsrBuilder().common_name("renew-me").key_type(key_type)
        with EstClient(cfg) as client:
            issued = client.simple_enroll(builder)
        _, key = builder.build()
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        cert_pem = issued.certificate.to_cryptography().public_bytes(serialization.Encoding.PEM)
        assert key_type_of(key) == key_type
        renewal = renewal_csr(ClientIdentity(cert_pem, key_pem), RenewalConfig(renewal_threshold=86400, check_interval=3600))
        csr_der, new_key = renewal.build()
        assert key_type_of(new_key) == key_type
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        assert new_key.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki)
