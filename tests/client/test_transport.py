"""EstClient / AsyncEstClient against a real loopback HTTPS server (tests/client/loopback.py): TLS versions,
server authorization (RFC 7030 §3.6), redirects, body cap, 401 handling, 202 polling, channel binding."""
from __future__ import annotations

import base64
import ssl

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from estclient.client import AsyncEstClient, EstClient
from estclient.config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import (
    AuthenticationRequired,
    BootstrapVerificationError,
    NotSupported,
    PendingTimeout,
    ProtocolError,
    ServerError,
    TlsConfigError,
    TransportError,
)

from loopback import PKCS7, TEXT, LoopbackServer, issue, make_ca


def cfg(server: LoopbackServer, **kw) -> EstClientConfig:
    kw.setdefault("trust", TrustAnchors.from_pem(server.ca.cert_pem))
    kw.setdefault("timeout", 10.0)
    return EstClientConfig(server.url, **kw)


def text(status: int, msg: str, extra=()) -> tuple:
    return status, TEXT + list(extra), msg.encode()


# ----------------------------------------------------------------------------- TLS and server authorization


def test_untrusted_server_is_refused():
    with LoopbackServer(lambda r, s: text(500, "should not get here")) as srv:
        other = make_ca("Someone Else")
        with EstClient(EstClientConfig(srv.url, trust=TrustAnchors.from_pem(other.cert_pem))) as c:
            with pytest.raises(TlsConfigError):
                c.get_ca_certs()
        # the system store does not know the throwaway CA either
        with EstClient(EstClientConfig(srv.url, timeout=10)) as c:
            with pytest.raises(TlsConfigError):
                c.get_ca_certs()
        assert srv.requests == []


def test_explicit_anchor_host_name_mismatch_refused_unless_cmc_ra():
    ca = make_ca()
    wrong_name = issue(ca, "elsewhere", dns=["elsewhere.example"])
    with LoopbackServer(lambda r, s: text(500, "reached"), ca=ca, server_pki=wrong_name) as srv:
        with EstClient(cfg(srv)) as c:
            with pytest.raises(TlsConfigError, match="not authorized"):
                c.get_ca_certs()
        assert srv.requests == []  # refused inside the handshake: no request byte was sent
    # (OpenSSL's purpose check still wants serverAuth next to cmcRA when the EKU extension is present)
    ra = issue(ca, "ra", dns=["elsewhere.example"],
               eku=[x509.ObjectIdentifier("1.3.6.1.5.5.7.3.28"), ExtendedKeyUsageOID.SERVER_AUTH])
    with LoopbackServer(lambda r, s: text(500, "reached"), ca=ca, server_pki=ra) as srv:
        with EstClient(cfg(srv)) as c:
            with pytest.raises(ServerError, match="reached"):
                c.get_ca_certs()


async def test_async_host_name_mismatch_refused():
    ca = make_ca()
    wrong_name = issue(ca, "elsewhere", dns=["elsewhere.example"])
    with LoopbackServer(lambda r, s: text(500, "reached"), ca=ca, server_pki=wrong_name) as srv:
        async with AsyncEstClient(cfg(srv)) as c:
            with pytest.raises(TlsConfigError):
                await c.get_ca_certs()
    assert srv.requests == []


def test_connection_refused_is_transport_error():
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with EstClient(EstClientConfig(f"https://127.0.0.1:{port}", trust=TrustAnchors.from_pem(make_ca().cert_pem), timeout=5)) as c:
        with pytest.raises(TransportError):
            c.get_ca_certs()


def test_client_certificate_presented():
    client_ca = make_ca("Client CA")
    ident = issue(client_ca, "client-1")
    seen = {}

    def handler(req, srv):
        seen["cert"] = req.client_cert
        seen["version"] = req.tls_version
        return text(404, "nope")

    with LoopbackServer(handler, client_ca=client_ca) as srv:
        c = cfg(srv, client_identity=ClientIdentity(ident.cert_pem, ident.key_pem))
        with EstClient(c) as cl:
            with pytest.raises(NotSupported):
                cl.full_cmc(b"\x30\x00")
        assert x509.load_der_x509_certificate(seen["cert"]).subject == ident.cert.subject
        assert seen["version"] in ("TLSv1.2", "TLSv1.3")


# ----------------------------------------------------------------------------- redirects and limits


def test_same_origin_redirect_followed_other_origin_refused():
    def handler(req, srv):
        if req.path == "/.well-known/est/cacerts":
            return 307, [("Location", "/moved/cacerts")], b""
        if req.path == "/moved/cacerts":
            return text(500, "moved ok")
        if req.path == "/.well-known/est/csrattrs":
            return 302, [("Location", "https://example.invalid/.well-known/est/csrattrs")], b""
        if req.path == "/.well-known/est/fullcmc":
            return 301, [("Location", f"https://localhost:{srv.port}/x")], b""  # other host: other origin
        return text(404, "?")

    with LoopbackServer(handler) as srv, EstClient(cfg(srv, http_auth=HttpAuth("u", "p"))) as c:
        with pytest.raises(ServerError, match="moved ok"):
            c.get_ca_certs()
        with pytest.raises(ProtocolError, match="another origin"):
            c.get_csr_attributes()
        with pytest.raises(ProtocolError, match="another origin"):
            c.full_cmc(b"\x30\x00")
        assert all("authorization" not in r.headers for r in srv.requests)


def test_redirect_loop_bounded():
    with LoopbackServer(lambda r, s: (302, [("Location", r.path)], b"")) as srv:
        with EstClient(cfg(srv, max_redirects=3)) as c:
            with pytest.raises(ProtocolError, match="redirects"):
                c.get_ca_certs()
        assert len(srv.requests) == 4


@pytest.mark.parametrize("declared", [True, False])
def test_body_cap(declared):
    big = b"A" * 300_000
    headers = PKCS7 if declared else PKCS7 + [("X-No-Length", "1"), ("Connection", "close")]
    with LoopbackServer(lambda r, s: (200, headers, big)) as srv:
        with EstClient(cfg(srv, max_body_size=100_000)) as c:
            with pytest.raises(ProtocolError, match="exceeds"):
                c.get_ca_certs()


# ----------------------------------------------------------------------------- authentication


def basic_handler(user="estuser", password="estpwd", close_on_401=True):
    good = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def handler(req, srv):
        if req.path.endswith("/cacerts"):  # /cacerts needs no authentication (RFC 7030 §4.1.1)
            return 200, PKCS7, srv.cacerts_body()
        if req.headers.get("authorization") != good:
            extra = [("WWW-Authenticate", 'Basic realm="estrealm"')]
            if close_on_401:
                extra.append(("Connection", "close"))
            return text(401, "Unauthorized", extra)
        if req.path.endswith("/simpleenroll"):
            if req.challenge_password() is not None and not req.binding_ok():
                return text(401, "channel binding mismatch", [("Connection", "close")])
            return 200, PKCS7, srv.issue_for(req)
        return text(500, "authorized")

    return handler


def test_basic_auth_after_challenge_and_preemptive_afterwards():
    with LoopbackServer(basic_handler()) as srv, EstClient(cfg(srv, http_auth=HttpAuth("estuser", "estpwd"))) as c:
        with pytest.raises(ServerError, match="authorized"):
            c.full_cmc(b"\x30\x00")
        assert [("authorization" in r.headers) for r in srv.requests] == [False, True]
        with pytest.raises(ServerError, match="authorized"):
            c.full_cmc(b"\x30\x00")
        assert len(srv.requests) == 3 and "authorization" in srv.requests[2].headers


def test_wrong_password_and_no_credentials():
    with LoopbackServer(basic_handler()) as srv:
        with EstClient(cfg(srv, http_auth=HttpAuth("estuser", "wrong"))) as c:
            with pytest.raises(AuthenticationRequired) as ei:
                c.full_cmc(b"\x30\x00")
            assert "wrong" not in str(ei.value)
            assert ei.value.challenge == 'Basic realm="estrealm"'
        assert len(srv.requests) == 2  # exactly one retry
        with EstClient(cfg(srv)) as c:
            with pytest.raises(AuthenticationRequired):
                c.full_cmc(b"\x30\x00")


async def test_async_basic_auth():
    with LoopbackServer(basic_handler()) as srv:
        async with AsyncEstClient(cfg(srv, http_auth=HttpAuth("estuser", "estpwd"))) as c:
            with pytest.raises(ServerError, match="authorized"):
                await c.full_cmc(b"\x30\x00")
        async with AsyncEstClient(cfg(srv, http_auth=HttpAuth("estuser", "bad"))) as c:
            with pytest.raises(AuthenticationRequired):
                await c.full_cmc(b"\x30\x00")


def test_credentials_never_sent_on_unverified_bootstrap_connection():
    def handler(req, srv):
        return text(401, "auth please", [("WWW-Authenticate", 'Basic realm="x"')])

    with LoopbackServer(handler) as srv:
        c = EstClientConfig(srv.url, trust=TrustAnchors.bootstrap("00" * 32), http_auth=HttpAuth("u", "secret"))
        with EstClient(c) as cl:
            with pytest.raises(BootstrapVerificationError):
                cl.get_ca_certs()
        assert len(srv.requests) == 1 and "authorization" not in srv.requests[0].headers
        assert srv.requests[0].client_cert is None


def test_bootstrap_wrong_fingerprint():
    with LoopbackServer(lambda r, s: (200, PKCS7, s.cacerts_body())) as srv:
        with EstClient(EstClientConfig(srv.url, trust=TrustAnchors.bootstrap("ab" * 32))) as c:
            with pytest.raises(BootstrapVerificationError, match="fingerprint"):
                c.get_ca_certs()
        with EstClient(EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(confirm=lambda cert: False))) as c:
            with pytest.raises(BootstrapVerificationError):
                c.get_ca_certs()


def test_bootstrap_right_fingerprint_then_verified_session():
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding

    with LoopbackServer(lambda r, s: (200, PKCS7, s.cacerts_body())) as srv:
        fp = hashlib.sha256(srv.ca.cert.public_bytes(Encoding.DER)).hexdigest()
        with EstClient(EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(fp.upper()))) as c:
            cas = c.get_ca_certs()
            assert len(cas) == 1
        # unverified fetch, then a new (verified) session: two handshakes
        assert len(srv.requests) == 2 and srv.handshakes == 2


# ----------------------------------------------------------------------------- 202 polling


def pending_handler(times: int, retry_after: str = "1"):
    state = {"n": 0}

    def handler(req, srv):
        state["n"] += 1
        if state["n"] <= times:
            return 202, [("Retry-After", retry_after), ("Connection", "close")], b""
        return 200, PKCS7, srv.issue_for(req)

    return handler


def test_enroll_and_wait_polls_then_issues():
    with LoopbackServer(pending_handler(1)) as srv, EstClient(cfg(srv, channel_binding="off")) as c:
        b = CsrBuilder().common_name("poll")
        issued = c.enroll_and_wait(b, max_wait=10)
        assert issued.certificate.to_cryptography().public_key().public_numbers() == b.private_key.public_key().public_numbers()
        assert len(srv.requests) == 2 and srv.requests[0].body == srv.requests[1].body  # the same request repeated


def test_enroll_and_wait_gives_up_after_max_wait():
    with LoopbackServer(pending_handler(100, "2")) as srv, EstClient(cfg(srv)) as c:
        der, _ = CsrBuilder().common_name("poll").build()
        with pytest.raises(PendingTimeout) as ei:
            c.enroll_and_wait(der, max_wait=3)
        assert ei.value.retry_after == 2.0
        assert len(srv.requests) == 2


async def test_async_simple_enroll_pending():
    with LoopbackServer(pending_handler(1, "7")) as srv:
        async with AsyncEstClient(cfg(srv)) as c:
            der, _ = CsrBuilder().common_name("p").build()
            res = await c.simple_enroll(der)
            assert res.retry_after == 7.0


# ----------------------------------------------------------------------------- channel binding


def binding_handler(req, srv):
    if req.path.endswith("/cacerts"):
        return 200, PKCS7, srv.cacerts_body()
    if req.path.endswith("/simpleenroll"):
        if not req.binding_ok():
            return text(401, "channel binding mismatch", [("Connection", "close")])
        return 200, PKCS7, srv.issue_for(req)
    return text(404, "?")


def test_channel_binding_on_tls12():
    with LoopbackServer(binding_handler, max_version=ssl.TLSVersion.TLSv1_2) as srv:
        with EstClient(cfg(srv, channel_binding="require")) as c:
            b = CsrBuilder().common_name("bound")
            issued = c.simple_enroll(b)
        posts = [r for r in srv.requests if r.method == "POST"]
        assert len(posts) == 1 and posts[0].binding_ok() and posts[0].tls_version == "TLSv1.2"
        assert issued.certificate.subject.rfc4514_string() == "CN=issued"


def test_channel_binding_auto_binds_on_tls12_not_on_der_csr():
    with LoopbackServer(binding_handler, max_version=ssl.TLSVersion.TLSv1_2) as srv:
        with EstClient(cfg(srv)) as c:
            c.simple_enroll(CsrBuilder().common_name("auto"))
            der, _ = CsrBuilder().common_name("der").build()
            with pytest.raises(AuthenticationRequired):
                c.simple_enroll(der)  # sent as given: no challengePassword, the server refuses
        posts = [r for r in srv.requests if r.method == "POST"]
        assert posts[0].binding_ok() and posts[1].challenge_password() is None


def test_channel_binding_resigned_after_server_closed_connection():
    """A server that answers 401 + Connection: close (as libest does): Basic credentials go with the bound
    request from the start, so no 401 costs the connection; when the connection is lost anyway (the server
    closes the kept-alive one), the CSR is signed again with the same key for the new connection."""
    with LoopbackServer(basic_handler(), max_version=ssl.TLSVersion.TLSv1_2) as srv:
        with EstClient(cfg(srv, http_auth=HttpAuth("estuser", "estpwd"), channel_binding="require")) as c:
            b = CsrBuilder().common_name("rebind")
            issued = c.simple_enroll(b)
            first = [r for r in srv.requests if r.method == "POST"]
            assert len(first) == 1 and first[0].binding_ok() and "authorization" in first[0].headers
            # as if the kept-alive connection had been replaced: the CSR signed for it arrives on another one
            from estclient.tls import ConnectionInfo

            c._state.bound = (True, ConnectionInfo("TLSv1.2", b"a connection that is gone"))
            c.simple_enroll(b)
        posts = [r for r in srv.requests if r.method == "POST"]
        assert posts[-1].binding_ok() and "authorization" in posts[-1].headers
        # the stale signature refused (401 and close), then re-signed for the new connection
        assert len(posts) == 3 and not posts[1].binding_ok() and posts[2].tls_unique != posts[1].tls_unique
        keys = {p.csr().public_key().public_numbers() for p in posts}
        assert keys == {b.private_key.public_key().public_numbers()}
        assert issued.certificate.to_cryptography().public_key().public_numbers() in keys


def test_channel_binding_required_but_server_only_tls13():
    with LoopbackServer(binding_handler, min_version=ssl.TLSVersion.TLSv1_3) as srv:
        with EstClient(cfg(srv, channel_binding="require")) as c:
            with pytest.raises(TlsConfigError, match="TLS"):
                c.simple_enroll(CsrBuilder().common_name("x"))
        assert srv.requests == []


def test_auto_mode_on_tls13_does_not_bind():
    def handler(req, srv):
        if req.path.endswith("/simpleenroll"):
            assert req.tls_version == "TLSv1.3"
            return text(500, f"cp={req.challenge_password()}")
        return 200, PKCS7, srv.cacerts_body()

    with LoopbackServer(handler) as srv, EstClient(cfg(srv)) as c:
        with pytest.raises(ServerError, match="cp=None"):
            c.simple_enroll(CsrBuilder().common_name("t13"))


async def test_async_channel_binding_concurrent():
    import asyncio

    with LoopbackServer(binding_handler, max_version=ssl.TLSVersion.TLSv1_2) as srv:
        async with AsyncEstClient(cfg(srv, channel_binding="require")) as c:
            builders = [CsrBuilder().common_name(f"c{i}") for i in range(8)]
            results = await asyncio.gather(*(c.simple_enroll(b) for b in builders))
        assert len(results) == 8
        posts = [r for r in srv.requests if r.method == "POST"]
        assert len(posts) == 8 and all(p.binding_ok() for p in posts)


def test_async_tls13_only_binding_required():
    import asyncio

    async def go():
        with LoopbackServer(binding_handler, min_version=ssl.TLSVersion.TLSv1_3) as srv:
            async with AsyncEstClient(cfg(srv, channel_binding="require")) as c:
                with pytest.raises(TlsConfigError):
                    await c.simple_enroll(CsrBuilder().common_name("x"))

    asyncio.run(go())


def test_server_closing_kept_alive_connection_silently():
    """The server drops the connection after each answer without saying so: the next request goes out on a fresh
    connection (at most one retry when the stale one fails)."""
    def handler(req, srv):
        return 500, TEXT + [("X-Close-Silently", "1")], b"answer"

    with LoopbackServer(handler) as srv, EstClient(cfg(srv)) as c:
        for _ in range(4):
            with pytest.raises(ServerError, match="answer"):
                c.get_ca_certs()
        assert len(srv.requests) == 4 and len({r.connection_id for r in srv.requests}) >= 2


def test_read_timeout_is_transport_error():
    import time

    def handler(req, srv):
        time.sleep(2.5)
        return text(500, "late")

    with LoopbackServer(handler) as srv, EstClient(cfg(srv, timeout=0.5)) as c:
        with pytest.raises(TransportError, match="timed out"):
            c.get_ca_certs()


async def test_async_body_cap_and_redirect_refusal():
    def handler(req, srv):
        if req.path.endswith("/cacerts"):
            return 200, PKCS7, b"A" * 200_000
        return 302, [("Location", "https://127.0.0.2/")], b""

    with LoopbackServer(handler) as srv:
        async with AsyncEstClient(cfg(srv, max_body_size=50_000)) as c:
            with pytest.raises(ProtocolError, match="exceeds"):
                await c.get_ca_certs()
            with pytest.raises(ProtocolError, match="another origin"):
                await c.get_csr_attributes()
