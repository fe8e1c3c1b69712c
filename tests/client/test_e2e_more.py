"""More end-to-end cases against EstTestServer: Digest variants, Retry-After as an HTTP-date, several CA labels,
csrattrs behind authentication, certificate auth without a certificate, libest-style PKCS#1 key parts."""
from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest

from estclient import (
    AuthenticationRequired,
    CsrBuilder,
    EstClientConfig,
    HttpAuth,
    Issued,
    Pending,
    TrustAnchors,
)
from estclient.testing import EstTestServer

from test_e2e_operations import call, conf, est, mode, same_key  # noqa: F401  (mode is a fixture)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-256-sess"])
async def test_digest_algorithms(mode, algorithm):
    with EstTestServer(auth="digest", digest_algorithm=algorithm) as srv:
        async with est(mode, conf(srv, http_auth=HttpAuth(srv.username, srv.password, "digest"))) as c:
            b = CsrBuilder().common_name(f"digest-{algorithm}")
            assert same_key((await call(c.simple_enroll(b))).certificate, b.private_key)
            b2 = CsrBuilder().common_name("second")  # the challenge is reused for the next request
            assert same_key((await call(c.simple_enroll(b2))).certificate, b2.private_key)


async def test_retry_after_http_date(mode):
    when = format_datetime(dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2), usegmt=True)
    with EstTestServer(auth=None, pending_retry_after=when) as srv:
        async with est(mode, conf(srv)) as c:
            b = CsrBuilder().common_name("dated")
            res = await call(c.enroll_and_wait(b, max_wait=10))
            assert isinstance(res, Issued) and same_key(res.certificate, b.private_key)


async def test_pending_serverkeygen(mode):
    with EstTestServer(auth="basic", pending_retry_after=5) as srv:
        async with est(mode, conf(srv, http_auth=HttpAuth(srv.username, srv.password))) as c:
            assert await call(c.server_keygen(CsrBuilder().common_name("kg"))) == Pending(5.0)


async def test_several_ca_labels(mode):
    with EstTestServer(auth=None, ca_label=["tenantA", "tenantB"]) as srv:
        for label in ("tenantA", "tenantB"):
            async with est(mode, conf(srv, ca_label=label)) as c:
                assert len(await call(c.get_ca_certs())) == 1
                assert isinstance(await call(c.simple_enroll(CsrBuilder().common_name(label))), Issued)
        labels = {r.label for r in list(srv.requests)}
        assert {"tenantA", "tenantB"} <= labels


async def test_csrattrs_behind_auth(mode):
    with EstTestServer(auth="basic", auth_csrattrs=True) as srv:
        async with est(mode, conf(srv)) as c:
            with pytest.raises(AuthenticationRequired):
                await call(c.get_csr_attributes())
        async with est(mode, conf(srv, http_auth=HttpAuth(srv.username, srv.password))) as c:
            attrs = await call(c.get_csr_attributes())
            assert attrs.to_der() == srv.csr_attrs_der()


async def test_cert_auth_without_certificate(mode):
    from estclient.errors import ServerError

    with EstTestServer(auth="cert") as srv:
        async with est(mode, conf(srv)) as c:
            # no HTTP challenge can help: the server answers 403 (a 401 must carry WWW-Authenticate)
            with pytest.raises(ServerError) as ei:
                await call(c.simple_enroll(CsrBuilder().common_name("anon")))
            assert ei.value.status == 403 and "client certificate" in str(ei.value)


async def test_traditional_key_format_and_rsa(mode):
    with EstTestServer(auth=None, server_keygen_key_format="traditional", server_keygen_key_type="rsa-2048") as srv:
        async with est(mode, conf(srv)) as c:
            res = await call(c.server_keygen(CsrBuilder().common_name("trad")))
            assert same_key(res.certificate, res.private_key_object())


async def test_rollover_certificates_and_bootstrap_validation(mode):
    """/cacerts with extra certificates: in every trust mode, those not verifiable from the anchor in use fail
    (RFC 7030 §4.1.3); root key-update certificates pass."""
    from loopback import make_ca

    from estclient import ProtocolError

    stranger = make_ca("Unrelated CA").cert
    with EstTestServer(auth=None, ca_rollover=True, ca_intermediate=True) as srv:
        async with est(mode, conf(srv)) as c:
            assert len(await call(c.get_ca_certs())) == 5
    with EstTestServer(auth=None, extra_ca_certificates=[stranger]) as srv:
        async with est(mode, conf(srv)) as c:
            with pytest.raises(ProtocolError, match="Unrelated CA: does not chain"):
                await call(c.get_ca_certs())
        from estclient import BootstrapVerificationError

        async with est(mode, EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(srv.ca_fingerprint_sha256))) as c:
            with pytest.raises(BootstrapVerificationError, match="Unrelated"):
                await call(c.get_ca_certs())


def test_set_client_identity_switches_the_tls_identity():
    """A client given a new identity presents it on its next connection (what renewal relies on)."""
    from estclient import ClientIdentity, EstClient, EstClientConfig, TrustAnchors
    from estclient.testing import EstTestServer

    with EstTestServer(auth="cert") as srv:
        cert_pem, key_pem = srv.issue_client_identity("first-device")
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem))
        from estclient.csr import CsrBuilder
        from estclient.errors import ServerError

        with EstClient(cfg) as client:
            assert client.config.client_identity is None
            with pytest.raises(ServerError, match="403"):
                client.simple_enroll(CsrBuilder().common_name("second-device").key_type("ec-p256"))
            client.set_client_identity(ClientIdentity(cert_pem, key_pem))
            client.close()
            issued = client.simple_enroll(CsrBuilder().common_name("second-device").key_type("ec-p256"))
            assert issued.certificate.subject.common_name == "second-device"
