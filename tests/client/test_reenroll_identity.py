"""simple_reenroll (RFC 7030 §3.3.2, §4.2.2; issue #12): the request's Subject and subjectAltName equal the
certificate being renewed, and a client identity is required unless the caller says
``allow_without_identity=True``. Checked before anything is sent. Real TLS on loopback, sync and async."""
from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from estclient.csr import CsrBuilder
from estclient.errors import ConfigError
from estclient.protocol import Issued
from estclient.renewal import RenewalConfig, renewal_csr
from estclient.testing import EstTestServer

from test_e2e_operations import basic, call, conf, est, mode, pem_identity  # noqa: F401  (mode is a fixture)


def _reenroll_posts(srv) -> int:
    return sum(1 for r in srv.requests if r.operation == "simplereenroll")


async def test_subject_alt_name_must_match(mode):
    with EstTestServer(auth="basic") as srv:
        first_b = CsrBuilder().common_name("dev").san_dns("a.example")
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            first = await call(c.simple_enroll(first_b))
        ident = pem_identity(first.certificate, first_b.private_key)
        async with est(mode, conf(srv, client_identity=ident)) as c:
            for other in (CsrBuilder().common_name("dev").san_dns("b.example"),
                          CsrBuilder().common_name("dev"),
                          CsrBuilder().common_name("dev").san_dns("a.example", "b.example")):
                with pytest.raises(ConfigError, match="subjectAltName differs"):
                    await call(c.simple_reenroll(other))
            with pytest.raises(ConfigError, match="Subject differs"):
                await call(c.simple_reenroll(CsrBuilder().common_name("Dev").san_dns("a.example")))
            assert _reenroll_posts(srv) == 0
            # the same names (a new key) are re-enrolled, and so is what renewal builds
            same = await call(c.simple_reenroll(CsrBuilder().common_name("dev").san_dns("a.example")))
            renewed = await call(c.simple_reenroll(renewal_csr(ident, RenewalConfig(renewal_threshold=1,
                                                                                   check_interval=1))))
            assert isinstance(same, Issued) and isinstance(renewed, Issued)
            assert renewed.certificate.subject.rfc4514_string() == "CN=dev"
            assert _reenroll_posts(srv) == 2


async def test_der_csr_is_checked_too(mode):
    with EstTestServer(auth="basic") as srv:
        b = CsrBuilder().common_name("der-dev")
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            first = await call(c.simple_enroll(b))
        async with est(mode, conf(srv, client_identity=pem_identity(first.certificate, b.private_key))) as c:
            other, _ = CsrBuilder().common_name("someone-else").build()
            with pytest.raises(ConfigError, match="Subject differs"):
                await call(c.simple_reenroll(other))
            with pytest.raises(ConfigError, match="not a readable PKCS#10"):
                await call(c.simple_reenroll(b"\x30\x03\x02\x01\x00"))
            same, _ = CsrBuilder().common_name("der-dev").build()
            assert isinstance(await call(c.simple_reenroll(same)), Issued)


def test_change_subject_name_request_may_differ():
    """RFC 7030 §4.2.2: a request that carries ChangeSubjectName (RFC 6402) may ask for other names; it is
    sent (sans-IO: the flow yields it)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from estclient import flows as F
    from estclient.config import ClientIdentity, EstClientConfig, TrustAnchors
    from estcodec.cmc import oid as cmc_oid

    from loopback import issue, make_ca

    ca = make_ca()
    me = issue(ca, "old-name")
    cfg = EstClientConfig("https://est.example", trust=TrustAnchors.from_pem(ca.cert_pem),
                          client_identity=ClientIdentity(me.cert_pem, me.key_pem))
    key = ec.generate_private_key(ec.SECP256R1())
    base = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "new-name")]))
    plain = base.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    with pytest.raises(ConfigError, match="Subject differs"):
        next(F.enroll(cfg, F.FlowState(), plain, reenroll=True))
    changing = base.add_attribute(x509.ObjectIdentifier(cmc_oid.CHANGE_SUBJECT_NAME), b"new-name").sign(
        key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    sent = next(F.enroll(cfg, F.FlowState(), changing, reenroll=True))
    assert sent.request.operation == "simplereenroll"
