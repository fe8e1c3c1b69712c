"""End to end: EstClient and AsyncEstClient against estclient.testing.EstTestServer over real TLS on loopback.

Every test runs twice, with the sync and with the async client (the ``mode`` fixture); both drive the same
flows, so a difference between them is a driver bug."""
from __future__ import annotations

import contextlib
import inspect
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from estclient.client import AsyncEstClient, EstClient
from estclient.config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import (
    AuthenticationRequired,
    BootstrapVerificationError,
    ConfigError,
    EstError,
    NotSupported,
    ServerError,
    TlsConfigError,
)
from estclient.protocol import CaCertificates, CmcRequest, CmcResponse, Issued, Pending, ServerKeygenResponse
from estclient.testing import EstTestServer


@pytest.fixture(params=["sync", "async"])
def mode(request):
    return request.param


@contextlib.asynccontextmanager
async def est(mode, config):
    if mode == "sync":
        with EstClient(config) as c:
            yield c
    else:
        async with AsyncEstClient(config) as c:
            yield c


async def call(result):
    return await result if inspect.isawaitable(result) else result


def conf(srv, **kw):
    kw.setdefault("trust", TrustAnchors.from_pem(srv.trust_anchor_pem))
    kw.setdefault("timeout", 15.0)
    return EstClientConfig(srv.url, **kw)


def basic(srv):
    return HttpAuth(srv.username, srv.password)


def pem_identity(cert, key) -> ClientIdentity:
    c = cert.to_cryptography() if hasattr(cert, "to_cryptography") else cert
    return ClientIdentity(
        c.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def records(srv, pred, n=1, timeout=3.0):
    """The server's request records matching ``pred`` (the server appends a record after it has answered, so
    the client can be faster than the bookkeeping: wait briefly for ``n`` matches)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in list(srv.requests) if pred(r)]
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def same_key(cert, key) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.to_cryptography().public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


# ----------------------------------------------------------------------------- every operation


async def test_cacerts_and_csrattrs(mode):
    with EstTestServer(auth="basic") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            cas = await call(c.get_ca_certs())
            assert isinstance(cas, CaCertificates) and len(cas) == 1
            assert cas[0].to_der() == srv.ca_certificate.public_bytes(serialization.Encoding.DER)
            assert x509.load_pem_x509_certificate(cas.to_pem().encode()) == srv.ca_certificate
            attrs = await call(c.get_csr_attributes())
            assert attrs.to_der() == srv.csr_attrs_der()


@pytest.mark.parametrize("key_type", ["ec-p256", "ec-p384", "rsa-2048", "ed25519"])
async def test_simpleenroll_key_types(mode, key_type):
    with EstTestServer(auth="basic") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            b = CsrBuilder().common_name(f"dev-{key_type}").san_dns("dev.example").key_type(key_type)
            res = await call(c.simple_enroll(b))
            assert isinstance(res, Issued)
            assert res.certificate.subject.rfc4514_string() == f"CN=dev-{key_type}"
            assert same_key(res.certificate, b.private_key)
            # a CSR given as DER bytes is sent as given
            der, key = CsrBuilder().common_name("as-der").build()
            res = await call(c.simple_enroll(der))
            assert same_key(res.certificate, key)


async def test_simplereenroll_with_issued_identity(mode):
    with EstTestServer(auth="basic") as srv:
        b = CsrBuilder().common_name("renew-me").san_dns("renew.example")
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            first = await call(c.simple_enroll(b))
        ident = pem_identity(first.certificate, b.private_key)
        async with est(mode, conf(srv, client_identity=ident)) as c:
            nb = CsrBuilder().common_name("renew-me").san_dns("renew.example")
            res = await call(c.simple_reenroll(nb))
            assert same_key(res.certificate, nb.private_key)
            assert res.certificate.subject.rfc4514_string() == "CN=renew-me"
        (re,) = records(srv, lambda r: r.operation == "simplereenroll")
        assert re.authenticated_by == "certificate" and re.client_certificate_subject == "CN=renew-me"


async def test_simplereenroll_subject_mismatch_refused(mode):
    with EstTestServer(auth="basic") as srv:
        b = CsrBuilder().common_name("one")
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            first = await call(c.simple_enroll(b))
        async with est(mode, conf(srv, client_identity=pem_identity(first.certificate, b.private_key))) as c:
            # the client refuses before sending (RFC 7030 §4.2.2) ...
            with pytest.raises(ConfigError, match="Subject differs"):
                await call(c.simple_reenroll(CsrBuilder().common_name("another")))
            assert not [r for r in srv.requests if r.operation == "simplereenroll"]
        # without an identity the caller must opt in; this server then wants the certificate being renewed (a
        # refusal no HTTP challenge can lift: 403, not 401)
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            with pytest.raises(ConfigError, match="allow_without_identity"):
                await call(c.simple_reenroll(CsrBuilder().common_name("another")))
            with pytest.raises(ServerError, match="TLS client certificate being renewed") as info:
                await call(c.simple_reenroll(CsrBuilder().common_name("another"), allow_without_identity=True))
            assert info.value.status == 403


async def test_serverkeygen_plain(mode):
    with EstTestServer(auth="basic") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            res = await call(c.server_keygen(CsrBuilder().common_name("kg")))
            assert isinstance(res, ServerKeygenResponse) and not res.key_encrypted and res.encrypted_key is None
            key = res.private_key_object()
            assert same_key(res.certificate, key)
            assert res.certificate.subject.rfc4514_string() == "CN=kg"


async def test_serverkeygen_encrypted_to_kek(mode):
    kek = os.urandom(32)
    with EstTestServer(auth="basic", server_keygen_keks={b"kek-1": kek}) as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            res = await call(c.server_keygen(CsrBuilder().common_name("kg-kek"), kek=kek, kek_id=b"kek-1"))
            assert res.key_encrypted and res.encrypted_key
            assert same_key(res.certificate, res.private_key_object())
            assert res.private_key not in res.encrypted_key  # the ciphertext is not the key
            # without the KEK in hand, the caller gets the ciphertext only
            res2 = await call(c.server_keygen(CsrBuilder().common_name("kg-kek2"), kek_id=b"kek-1"))
            assert res2.key_encrypted and res2.private_key is None and res2.encrypted_key
            # a KEK the server does not hold: refused
            with pytest.raises(ServerError):
                await call(c.server_keygen(CsrBuilder().common_name("kg-x"), kek=os.urandom(32), kek_id=b"nope"))


@pytest.mark.parametrize("key_type", ["ec-p256", "rsa-2048"])
async def test_serverkeygen_encrypted_to_certificate_key(mode, key_type):
    with EstTestServer(auth="basic") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            usage = "key_agreement" if key_type.startswith("ec") else "key_encipherment"
            holder = CsrBuilder().common_name("holder").key_type(key_type).key_usage("digital_signature", usage)
            mine = await call(c.simple_enroll(holder))
            res = await call(c.server_keygen(
                CsrBuilder().common_name("kg-cert"), private_key=holder.private_key, certificate=mine.certificate
            ))
            assert res.key_encrypted
            assert same_key(res.certificate, res.private_key_object())
            assert not same_key(res.certificate, holder.private_key)


@pytest.mark.parametrize("response_kind", ["pki-response", "certs-only"])
async def test_fullcmc(mode, response_kind):
    with EstTestServer(auth="basic", fullcmc_response=response_kind) as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            der, key = CsrBuilder().common_name("cmc").build()
            res = await call(c.full_cmc(CmcRequest.for_csr(der, key)))
            assert isinstance(res, CmcResponse)
            leaf = [x for x in res.certificates if same_key(x, key)]
            assert len(leaf) == 1 and leaf[0].subject.rfc4514_string() == "CN=cmc"
            if response_kind == "pki-response":
                assert res.pki_response.is_success() and res.pki_response.signature_verified


async def test_optional_operations_disabled(mode):
    with EstTestServer(auth=None, server_keygen=False, fullcmc=False, csr_attrs=False) as srv:
        async with est(mode, conf(srv)) as c:
            with pytest.raises(NotSupported):
                await call(c.server_keygen(CsrBuilder().common_name("x")))
            with pytest.raises(NotSupported):
                der, key = CsrBuilder().common_name("x").build()
                await call(c.full_cmc(CmcRequest.for_csr(der, key)))
            assert (await call(c.get_csr_attributes())).is_empty()  # 404 on csrattrs: no attributes


# ----------------------------------------------------------------------------- auth modes, labels


@pytest.mark.parametrize("auth", ["basic", "digest", "cert", None])
async def test_auth_modes(mode, auth):
    with EstTestServer(auth=auth) as srv:
        kw = {}
        if auth in ("basic", "digest"):
            kw["http_auth"] = HttpAuth(srv.username, srv.password, auth)
        if auth == "cert":
            kw["client_identity"] = ClientIdentity(*srv.issue_client_identity("tls-client"))
        async with est(mode, conf(srv, **kw)) as c:
            b = CsrBuilder().common_name("tls-client" if auth == "cert" else "authn")
            res = await call(c.simple_enroll(b))
            assert same_key(res.certificate, b.private_key)
        posts = records(srv, lambda r: r.method == "POST" and r.status == 200)
        expected = {"basic": "basic", "digest": "digest", "cert": "certificate", None: "none"}[auth]
        assert posts[-1].authenticated_by == expected


@pytest.mark.parametrize("auth", ["basic", "digest"])
async def test_wrong_password(mode, auth):
    with EstTestServer(auth=auth) as srv:
        async with est(mode, conf(srv, http_auth=HttpAuth(srv.username, "wrong-" + srv.password, auth))) as c:
            with pytest.raises(AuthenticationRequired) as ei:
                await call(c.simple_enroll(CsrBuilder().common_name("x")))
            assert "wrong-" not in str(ei.value)


async def test_no_credentials(mode):
    with EstTestServer(auth="basic") as srv:
        async with est(mode, conf(srv)) as c:
            with pytest.raises(AuthenticationRequired) as ei:
                await call(c.simple_enroll(CsrBuilder().common_name("x")))
            assert ei.value.challenge and ei.value.challenge.lower().startswith("basic")


async def test_ca_label(mode):
    with EstTestServer(auth="basic", ca_label="arbitraryLabel1", serve_unlabelled=False) as srv:
        async with est(mode, conf(srv, http_auth=basic(srv), ca_label="arbitraryLabel1")) as c:
            assert len(await call(c.get_ca_certs())) == 1
            res = await call(c.simple_enroll(CsrBuilder().common_name("labelled")))
            assert isinstance(res, Issued)
        records(srv, lambda r: r.operation == "simpleenroll" and r.status == 200)
        assert {r.label for r in srv.requests} == {"arbitraryLabel1"}
        assert all(r.path.startswith("/.well-known/est/arbitraryLabel1/") for r in srv.requests)


# ----------------------------------------------------------------------------- 202, bootstrap, trust


async def test_pending_then_issued(mode):
    with EstTestServer(auth="basic", pending_retry_after=1) as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            b = CsrBuilder().common_name("later")
            first = await call(c.simple_enroll(b))
            assert first == Pending(1.0)
            srv.reset_pending()
            res = await call(c.enroll_and_wait(b, max_wait=10))
            assert isinstance(res, Issued) and same_key(res.certificate, b.private_key)
        assert [r.status for r in records(srv, lambda r: r.operation == "simpleenroll", 3)][-2:] == [202, 200]


async def test_bootstrap_right_fingerprint(mode):
    with EstTestServer(auth="basic") as srv:
        trust = TrustAnchors.bootstrap(srv.ca_fingerprint_sha256)
        async with est(mode, EstClientConfig(srv.url, trust=trust, http_auth=basic(srv))) as c:
            cas = await call(c.get_ca_certs())
            assert cas[0].to_der() == srv.ca_certificate.public_bytes(serialization.Encoding.DER)
            res = await call(c.simple_enroll(CsrBuilder().common_name("booted")))
            assert isinstance(res, Issued)
        # first /cacerts unauthenticated on its own connection; the rest on new, verified connections
        records(srv, lambda r: r.operation == "simpleenroll" and r.status == 200)
        first = srv.requests[0]
        assert first.operation == "cacerts" and first.authenticated_by is None
        assert all(r.connection_id != first.connection_id for r in srv.requests[1:])


async def test_bootstrap_confirm_callback(mode):
    seen = []
    with EstTestServer(auth=None) as srv:
        def confirm(cert):
            seen.append(cert.subject.rfc4514_string())
            return True

        async with est(mode, EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(confirm=confirm))) as c:
            assert len(await call(c.get_ca_certs())) == 1
    assert seen == [srv.ca_certificate.subject.rfc4514_string()]


async def test_bootstrap_wrong_fingerprint(mode):
    with EstTestServer(auth="basic") as srv:
        trust = TrustAnchors.bootstrap(bytes(32))
        async with est(mode, EstClientConfig(srv.url, trust=trust, http_auth=basic(srv))) as c:
            with pytest.raises(BootstrapVerificationError):
                await call(c.simple_enroll(CsrBuilder().common_name("x")))
        assert [r.operation for r in records(srv, lambda r: True)] == ["cacerts"]
        assert srv.requests[0].authenticated_by is None


async def test_server_outside_trust_anchors(mode):
    with EstTestServer(auth="basic") as srv, EstTestServer(auth=None) as other:
        async with est(mode, conf(srv, trust=TrustAnchors.from_pem(other.trust_anchor_pem), http_auth=basic(srv))) as c:
            with pytest.raises(EstError):
                await call(c.get_ca_certs())
            with pytest.raises(TlsConfigError):
                await call(c.simple_enroll(CsrBuilder().common_name("x")))
        assert srv.requests == []


async def test_server_without_host_name_needs_cmc_ra(mode):
    with EstTestServer(auth=None, tls_hostname_in_cert=False) as srv:
        async with est(mode, conf(srv)) as c:
            with pytest.raises(TlsConfigError):
                await call(c.get_ca_certs())
    with EstTestServer(auth=None, tls_hostname_in_cert=False, tls_cmc_ra=True) as srv:
        async with est(mode, conf(srv)) as c:
            assert len(await call(c.get_ca_certs())) == 1


# ----------------------------------------------------------------------------- channel binding


async def test_channel_binding_required_by_server(mode):
    with EstTestServer(auth="basic", require_channel_binding=True) as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            attrs = await call(c.get_csr_attributes())
            b = CsrBuilder().common_name("bound").with_attributes(attrs)
            assert b.channel_binding_required
            res = await call(c.simple_enroll(b))
            assert same_key(res.certificate, b.private_key)
        ok = records(srv, lambda r: r.operation == "simpleenroll" and r.status == 200)
        assert ok and ok[-1].tls_version == "TLSv1.2"


async def test_channel_binding_required_by_config_with_digest(mode):
    with EstTestServer(auth="digest", require_channel_binding=True) as srv:
        cfg = conf(srv, http_auth=HttpAuth(srv.username, srv.password, "digest"), channel_binding="require")
        async with est(mode, cfg) as c:
            b = CsrBuilder().common_name("bound-digest")
            res = await call(c.simple_enroll(b))
            assert same_key(res.certificate, b.private_key)


async def test_channel_binding_impossible_on_tls13_only_server(mode):
    with EstTestServer(auth="basic", tls_min_version="1.3") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv), channel_binding="require")) as c:
            with pytest.raises(TlsConfigError, match="TLS"):
                await call(c.simple_enroll(CsrBuilder().common_name("x")))
        assert not any(r.operation == "simpleenroll" for r in srv.requests)


async def test_auto_binding_on_tls12_server(mode):
    with EstTestServer(auth="basic", tls_max_version="1.2") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            b = CsrBuilder().common_name("auto12")
            res = await call(c.simple_enroll(b))  # the server checks any challengePassword it gets
            assert isinstance(res, Issued)


async def test_fullcmc_error_bodies_carry_fail_info(mode):
    from estcodec.cmc import CmcFailInfo, PkiDataBuilder

    with EstTestServer(auth="basic") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            with pytest.raises(ServerError) as ei:
                await call(c.full_cmc(b"\x30\x03\x02\x01\x00"))  # not a Full PKI Request
            assert ei.value.status == 400 and ei.value.pki_response is not None
            assert isinstance(ei.value.fail_info, CmcFailInfo)  # which one is the server's choice
            # signed with a key that is neither the requested one nor certified: badMessageCheck
            der, _key = CsrBuilder().common_name("cmc").build()
            other = ec.generate_private_key(ec.SECP256R1())
            pki = PkiDataBuilder().random_sender_nonce().add_certification_request(der).build()
            with pytest.raises(ServerError) as ei:
                await call(c.full_cmc(CmcRequest(pki, other)))
            assert ei.value.fail_info == CmcFailInfo.BAD_MESSAGE_CHECK
            assert "badMessageCheck" in str(ei.value) or "BAD_MESSAGE_CHECK" in str(ei.value)
