"""Chain validation of issued certificates and /cacerts sets (estclient.validation) with certificates from the
reference server, enrolled over real EST."""
from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from estclient.client import EstClient
from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import ChainValidationError
from estclient.testing import EstTestServer
from estclient.validation import anchors_in_use, validate_ca_certificates, validate_chain


def enroll(server, dns):
    """(issued estcodec certificate, the /cacerts set) over EST."""
    config = EstClientConfig(server.url, trust=TrustAnchors.from_pem(server.trust_anchor_pem),
                             http_auth=HttpAuth(server.username, server.password), timeout=15.0)
    with EstClient(config) as client:
        cacerts = list(client.get_ca_certs())
        issued = client.simple_enroll(CsrBuilder().common_name("node").san_dns(dns))
    return issued.certificate, cacerts


@pytest.fixture(scope="module")
def srv():
    with EstTestServer(ca_intermediate=True) as server:
        yield server


def test_issued_certificate_validates_through_cacerts(srv):
    cert, cacerts = enroll(srv, "node.example")
    assert len(validate_ca_certificates([srv.ca_certificate], cacerts)) == 2
    path = validate_chain(cert, [srv.ca_certificate], cacerts)
    assert [c.subject for c in path] == [cert.to_cryptography().subject, srv.issuer_certificate.subject,
                                         srv.ca_certificate.subject]


def test_without_the_intermediate_the_chain_does_not_validate(srv):
    cert, _ = enroll(srv, "node.example")
    with pytest.raises(ChainValidationError, match="does not validate"):
        validate_chain(cert, [srv.ca_certificate])


def test_wrong_anchor_refused(srv):
    cert, cacerts = enroll(srv, "node.example")
    with EstTestServer() as other:
        with pytest.raises(ChainValidationError):
            validate_chain(cert, [other.ca_certificate], cacerts)
        with pytest.raises(ChainValidationError, match="does not chain"):
            validate_ca_certificates([other.ca_certificate], cacerts)


def test_expired_certificate_refused(srv):
    cert_pem, _ = srv.issue_client_identity("old", lifetime=-3600)
    with pytest.raises(ChainValidationError, match="expired"):
        validate_chain(x509.load_pem_x509_certificate(cert_pem), [srv.ca_certificate], srv.ca.ca_certificates)


def test_extended_key_usage_checked_when_asked(srv):
    cert = x509.load_pem_x509_certificate(srv.issue_client_identity("client")[0])  # id-kp-clientAuth
    assert validate_chain(cert, [srv.ca_certificate], srv.ca.intermediates,
                          extended_key_usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    with pytest.raises(ChainValidationError, match="extendedKeyUsage"):
        validate_chain(cert, [srv.ca_certificate], srv.ca.intermediates,
                       extended_key_usage=ExtendedKeyUsageOID.SERVER_AUTH)


def test_name_constraints_violated_refused():
    permitted = [x509.DNSName("example.com"), x509.DNSName("localhost"),
                 x509.IPAddress(ipaddress.ip_network("127.0.0.0/8")), x509.IPAddress(ipaddress.ip_network("::1/128"))]
    constraints = x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None)
    with EstTestServer(ca_intermediate=True, ca_name_constraints=constraints) as server:
        inside, cacerts = enroll(server, "node.example.com")
        outside, _ = enroll(server, "node.example.org")  # the test CA issues it anyway
        anchors = [server.ca_certificate]
        assert validate_chain(inside, anchors, cacerts)
        with pytest.raises(ChainValidationError, match="name constraint"):
            validate_chain(outside, anchors, cacerts)


def test_unreadable_input_is_a_chain_validation_error(srv):
    with pytest.raises(ChainValidationError, match="cannot be read"):
        validate_chain(b"\x30\x03\x02\x01\x01", [srv.ca_certificate])
    with pytest.raises(ChainValidationError, match="no trust anchor"):
        validate_chain(srv.tls_certificate, [])


def test_anchors_in_use_follow_the_trust_configuration(srv):
    cert, cacerts = enroll(srv, "node.example")
    explicit = anchors_in_use(TrustAnchors.from_pem(srv.trust_anchor_pem))
    assert explicit == [srv.ca_certificate]
    assert anchors_in_use(TrustAnchors.system(), cacerts) == [srv.ca_certificate]  # the set's current root
    assert validate_chain(cert, anchors_in_use(TrustAnchors.system(), cacerts), cacerts)
    with pytest.raises(ChainValidationError, match="no trust anchor in use"):
        anchors_in_use(TrustAnchors.system(), srv.ca.intermediates)
