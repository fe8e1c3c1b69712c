"""Review of the merged client branches (hostile-client, hostile-cmc, interop): how they interact. Real TLS on
127.0.0.1 (tests/client/hostile_server.py), the sync and the async client each time; bounded by counts the server
saw (requests, connections, dripped bytes), never by time.

- credentials go only over verified connections to the configured origin, also with Basic sent from the start on
  channel-bound requests, after a bootstrap, across a client identity change and on a redirect;
- a repeated ``bootstrap()`` never opens an unverified connection again (sync raised AssertionError, async
  fetched /cacerts unverified once more);
- the reason a 401 body gives reaches ``AuthenticationRequired.server_message`` over a real connection (the
  drivers dropped the body), sanitised and bounded, and the connection still closes;
- server text quoted in messages (media types) is escaped;
- the total deadline covers the pinned (channel-binding) connection.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
from typing import Any, Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from estclient import AsyncEstClient, EstClient
from estclient.config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import AuthenticationRequired, EstError, ProtocolError, TransportError
from hostile_server import HostileServer, Reply, Request

MODES = ["sync", "async"]
PKCS7 = ("Content-Type", "application/pkcs7-mime; smime-type=certs-only")
SECRET = "s3cret-pw"
BASIC = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()


def run(mode: str, config: EstClientConfig, op: Callable[[Any], Any]) -> Any:
    """``op(client)`` on a fresh sync client, or awaited on a fresh async client (``op`` returns a coroutine)."""
    if mode == "sync":
        with EstClient(config) as client:
            return op(client)

    async def main() -> Any:
        async with AsyncEstClient(config) as client:
            return await op(client)

    return asyncio.run(main())


def _cert_der(public_key: Any, cn: str) -> tuple[bytes, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(public_key or key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER), key


def certs_only_body(*certs: x509.Certificate) -> bytes:
    return base64.b64encode(pkcs7.serialize_certificates(list(certs), serialization.Encoding.DER))


def issued_for(req: Request) -> Reply:
    """200 with a certificate for the CSR's key (the client checks the key, not who issued it)."""
    csr = x509.load_der_x509_csr(base64.b64decode(req.body))
    der, _ = _cert_der(csr.public_key(), "issued")
    return Reply(200, [PKCS7], certs_only_body(x509.load_der_x509_certificate(der)))


def fingerprint(srv: HostileServer) -> bytes:
    return hashlib.sha256(x509.load_pem_x509_certificate(srv.ca_pem).public_bytes(serialization.Encoding.DER)).digest()


def est_script(srv_box: list[HostileServer], enroll: Callable[[Request], Reply] = issued_for) -> Callable[[Request], Reply]:
    def script(req: Request) -> Reply:
        if req.path.endswith("/cacerts"):
            return Reply(200, [PKCS7], certs_only_body(x509.load_pem_x509_certificate(srv_box[0].ca_pem)))
        if req.path.endswith("/simpleenroll"):
            return enroll(req)
        return Reply(404)
    return script


def identity() -> ClientIdentity:
    der, key = _cert_der(None, "next-device")
    cert_pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return ClientIdentity(cert_pem, key_pem)


# ------------------------------------------------------------------------ credentials and the pinned connection


@pytest.mark.parametrize("mode", MODES)
def test_bound_basic_after_bootstrap_and_identity_change_only_on_verified_connections(mode: str) -> None:
    """Bootstrap (unverified /cacerts), then channel-bound enrollments with Basic sent from the start, a new
    client identity, one more enrollment: the unverified connection carries no credentials and nothing after
    it; the identity change puts the next enrollment on a new connection."""
    box: list[HostileServer] = []
    with HostileServer(est_script(box), max_tls12=True) as srv:
        box.append(srv)
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(fingerprint(srv)), http_auth=HttpAuth("user", SECRET),
                              operation_timeout=20)
        if mode == "sync":
            def op(c: Any) -> None:
                c.simple_enroll(CsrBuilder().common_name("a"))
                c.simple_enroll(CsrBuilder().common_name("b"))
                c.set_client_identity(identity())
                c.simple_enroll(CsrBuilder().common_name("c"))
        else:
            async def op(c: Any) -> None:  # type: ignore[misc]
                await c.simple_enroll(CsrBuilder().common_name("a"))
                await c.simple_enroll(CsrBuilder().common_name("b"))
                c.set_client_identity(identity())
                await c.simple_enroll(CsrBuilder().common_name("c"))
        run(mode, cfg, op)
        reqs = srv.requests
        first = reqs[0]
        assert first.path.endswith("/cacerts") and first.connection == 1 and "authorization" not in first.headers
        assert all(r.connection > 1 for r in reqs[1:])  # the unverified connection is never used again
        enrolls = [r for r in reqs if r.path.endswith("/simpleenroll")]
        assert len(enrolls) == 3
        assert all(r.headers.get("authorization") == BASIC for r in enrolls)  # Basic from the start when bound
        assert all(r.headers.get("authorization") in (None, BASIC) for r in reqs)
        # the identity change: the last enrollment (and a probe before it, if any) on a connection of its own
        before = reqs[: reqs.index(enrolls[1]) + 1]
        assert enrolls[2].connection not in {r.connection for r in before}
        if mode == "sync":  # the kept-alive pinned connection: the second enrollment needs no probe
            assert enrolls[1].connection == enrolls[0].connection
        assert len(reqs) <= 7


@pytest.mark.parametrize("mode", MODES)
def test_redirect_of_a_bound_request_to_another_origin_carries_nothing(mode: str) -> None:
    with HostileServer(Reply(200)) as other:
        box: list[HostileServer] = []
        moved = lambda req: Reply(307, [("Location", other.url + "/.well-known/est/simpleenroll")])  # noqa: E731
        with HostileServer(est_script(box, moved), max_tls12=True) as srv:
            box.append(srv)
            cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), http_auth=HttpAuth("user", SECRET))
            with pytest.raises(ProtocolError, match="another origin"):
                run(mode, cfg, lambda c: c.simple_enroll(CsrBuilder().common_name("r")))
            assert any(r.path.endswith("/simpleenroll") for r in srv.requests)
        assert other.connections == 0 and other.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_repeated_bootstrap_never_connects_unverified_again(mode: str) -> None:
    box: list[HostileServer] = []
    with HostileServer(est_script(box)) as srv:
        box.append(srv)
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(fingerprint(srv)), http_auth=HttpAuth("user", SECRET))
        if mode == "sync":
            def op(c: Any) -> list[Any]:
                return [c.bootstrap(), c.bootstrap()]
        else:
            async def op(c: Any) -> list[Any]:  # type: ignore[misc]
                together = await asyncio.gather(c.bootstrap(), c.bootstrap())  # concurrent: one bootstrap
                return [*together, await c.bootstrap()]
        sets = run(mode, cfg, op)
        assert all(s.to_pem() == sets[0].to_pem() for s in sets) and len(sets[0]) == 1
        assert len(srv.requests) == 1 and srv.connections == 1


# ------------------------------------------------------------------------ what the server says, in messages


@pytest.mark.parametrize("mode", MODES)
def test_401_reason_reaches_the_error_sanitised_and_bounded(mode: str) -> None:
    body = b"Proof of Possession Mismatch\x1b[2J\xc2\x9b31m" + b"x" * 100_000
    reply = Reply(401, [("WWW-Authenticate", 'Basic realm="est"'), ("Content-Type", "text/plain")], body)
    with HostileServer(reply) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), http_auth=HttpAuth("user", SECRET),
                              channel_binding="off")
        seen: dict[str, Any] = {}

        def check(exc: AuthenticationRequired) -> None:
            seen["exc"] = exc
            seen["closed"] = srv.wait_for(lambda: srv.closed_by_client == srv.connections)

        if mode == "sync":
            def op(c: Any) -> None:
                with pytest.raises(AuthenticationRequired) as ei:
                    c.simple_enroll(CsrBuilder().common_name("p"))
                check(ei.value)
        else:
            async def op(c: Any) -> None:  # type: ignore[misc]
                with pytest.raises(AuthenticationRequired) as ei:
                    await c.simple_enroll(CsrBuilder().common_name("p"))
                check(ei.value)
        run(mode, cfg, op)
        exc = seen["exc"]
        assert exc.server_message is not None and exc.server_message.startswith("Proof of Possession Mismatch")
        assert "credentials" not in str(exc)  # not reported as bad credentials
        text = str(exc) + exc.server_message
        assert all(ch.isprintable() for ch in text) and len(str(exc)) < 1_100
        assert seen["closed"]  # RFC 7030 §3.2.3: not back into the pool, body read or not
        assert len(srv.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_media_types_quoted_in_messages_are_escaped(mode: str) -> None:
    c1 = "text/x\u009b2J"  # a C1 control (CSI) as UTF-8 in a header value: h11 lets it through
    replies = [
        (Reply(200, [("Content-Type", c1.encode().decode("latin-1"))], b"AAAA"), lambda c: c.get_ca_certs()),
        (Reply(200, [("Content-Type", "multipart/mixed; boundary=b")],
               b"--b\r\nContent-Type: text/\x1b[2Jevil\r\n\r\nAAAA\r\n--b--\r\n"),
         lambda c: c.server_keygen(CsrBuilder().common_name("k"))),
    ]
    for reply, op in replies:
        with HostileServer(reply) as srv:
            cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), channel_binding="off")
            with pytest.raises(ProtocolError) as ei:
                run(mode, cfg, op)
            assert all(ch.isprintable() for ch in str(ei.value)), str(ei.value)


# ------------------------------------------------------------------------ the deadline on the pinned connection


@pytest.mark.parametrize("mode", MODES)
def test_total_deadline_covers_the_pinned_connection(mode: str) -> None:
    box: list[HostileServer] = []
    drip = lambda req: Reply(200, [PKCS7], b"A" * 400, drip=0.2)  # noqa: E731
    with HostileServer(est_script(box, drip), max_tls12=True) as srv:
        box.append(srv)
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), timeout=30, operation_timeout=1.5)
        with pytest.raises(TransportError, match="total deadline"):
            run(mode, cfg, lambda c: c.simple_enroll(CsrBuilder().common_name("d")))
        enrolls = [r for r in srv.requests if r.path.endswith("/simpleenroll")]
        assert len(enrolls) == 1 and enrolls[0].connection == srv.requests[0].connection  # the bound one
        assert srv.wait_for(lambda: srv.closed_by_client >= 1)
        assert srv.bytes_dripped <= 60  # the reply is over 440 bytes; about 7 fit in 1.5 s


def test_only_est_errors_from_odd_bodies() -> None:
    """A few odd answers through the sync client: each ends in an EstError subclass."""
    odd = [
        Reply(200, [("Content-Type", "multipart/mixed; boundary=" + "a" * 5000)], b"garbage"),
        Reply(200, [("X-Big", "a" * 200_000)]),
        Reply(302, [("Location", "//[::1")]),
        Reply(200, [("Content-Length", "1e9999")]),
    ]
    for reply in odd:
        with HostileServer(reply) as srv:
            cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), channel_binding="off")
            with pytest.raises(EstError):
                run("sync", cfg, lambda c: c.server_keygen(CsrBuilder().common_name("o")))


@pytest.mark.parametrize("mode", MODES)
def test_certificate_names_in_cacerts_errors_are_escaped(mode: str) -> None:
    """A /cacerts certificate that fails validation is named in the error: its subject is server text."""
    der, _ = _cert_der(None, "Stranger\x1b]0;owned\x07\u009b2J\u202e")
    stranger = x509.load_der_x509_certificate(der)
    with HostileServer(Reply(200)) as srv:
        srv.script = Reply(200, [PKCS7], certs_only_body(x509.load_pem_x509_certificate(srv.ca_pem), stranger))
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem))
        with pytest.raises(ProtocolError, match="Stranger") as ei:
            run(mode, cfg, lambda c: c.get_ca_certs())
        assert all(ch.isprintable() for ch in str(ei.value)), str(ei.value)


@pytest.mark.parametrize("mode", MODES)
def test_serverkeygen_refuses_a_clear_key_when_an_encrypted_one_was_asked_for(mode: str) -> None:
    """With kek/kek_id the request asks for an encrypted key whose signer is verified (RFC 7030 §4.4.1.2); a
    server answering with the key in the clear skips that check: refused, not accepted silently."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert_der, _ = _cert_der(key.public_key(), "keygen")
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    b = "estboundary"
    body = (f"--{b}\r\nContent-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
            + base64.b64encode(pkcs8)
            + f"\r\n--{b}\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + certs_only_body(x509.load_der_x509_certificate(cert_der)) + f"\r\n--{b}--\r\n".encode())
    with HostileServer(Reply(200, [("Content-Type", f'multipart/mixed; boundary="{b}"')], body)) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), channel_binding="off")
        # without a decryption key the clear key is what was asked for
        plain = run(mode, cfg, lambda c: c.server_keygen(CsrBuilder().common_name("k")))
        assert plain.private_key is not None and not plain.key_encrypted
        with pytest.raises(ProtocolError, match="unencrypted"):
            run(mode, cfg, lambda c: c.server_keygen(CsrBuilder().common_name("k"), kek=bytes(16), kek_id=b"kid"))


# ------------------------------------------------------------------------ bounded: the Digest challenge httpx reads

DIGEST = ("WWW-Authenticate", 'Digest realm="est", nonce="abc", qop="auth", algorithm=SHA-256')


@pytest.mark.parametrize("mode", MODES)
def test_digest_challenge_body_is_not_inflated(mode: str) -> None:
    """httpx reads the body of a challenge it answers whole and decompressed, outside max_body_size: 48 KB of
    gzip made 50 MB (a 150 MB tracemalloc peak). Such a body is no longer read."""
    import gzip
    import tracemalloc

    bomb = gzip.compress(b"\0" * 50_000_000, 9)
    reply = Reply(401, [DIGEST, ("Content-Type", "text/plain"), ("Content-Encoding", "gzip")], bomb)
    with HostileServer(reply) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), max_body_size=100_000,
                              http_auth=HttpAuth("user", SECRET, "digest"))
        tracemalloc.start()
        try:
            with pytest.raises(AuthenticationRequired):
                run(mode, cfg, lambda c: c.get_ca_certs())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 20_000_000, peak
        assert len(srv.requests) <= 4  # httpx's answer, then the flow's one retry with credentials (§3.2.3)


@pytest.mark.parametrize("mode", MODES)
def test_small_digest_challenge_keeps_its_connection(mode: str) -> None:
    """A plain, short challenge body is still read, so the answer goes on the same connection."""
    replies = [Reply(401, [DIGEST, ("Content-Type", "text/plain")], b"Unauthorized"), Reply(500)]
    with HostileServer(replies) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem),
                              http_auth=HttpAuth("user", SECRET, "digest"))
        with pytest.raises(EstError):
            run(mode, cfg, lambda c: c.get_ca_certs())
        assert [r.connection for r in srv.requests[:2]] == [1, 1]
        assert srv.requests[1].headers.get("authorization", "").startswith("Digest ")


@pytest.mark.parametrize("mode", MODES)
def test_unbounded_max_wait_is_refused_before_sending(mode: str) -> None:
    """max_wait=inf let a Retry-After of 999999999999 s through: time.sleep() raised OverflowError (sync) while
    asyncio slept for ever (async). max_wait is finite (at most ten years) or ConfigError, before any request."""
    from estclient.errors import ConfigError

    with HostileServer(Reply(202, [("Retry-After", "999999999999")])) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), channel_binding="off")
        for max_wait in (float("inf"), 1e10):
            with pytest.raises(ConfigError, match="max_wait"):
                run(mode, cfg, lambda c, m=max_wait: c.enroll_and_wait(CsrBuilder().common_name("w"), max_wait=m))
        assert srv.requests == []
        # the longest allowed budget: the huge Retry-After ends in PendingTimeout after one request
        from estclient.errors import PendingTimeout

        with pytest.raises(PendingTimeout):
            run(mode, cfg, lambda c: c.enroll_and_wait(CsrBuilder().common_name("w"), max_wait=10 * 365 * 86400.0))
        assert len(srv.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_compressed_body_is_refused_not_inflated(mode: str) -> None:
    """max_body_size counted decoded chunks: one 48 KB gzip chunk became 50 MB before the count (a 48 MB peak
    for a 100 KB limit). The client asks for no content coding and refuses one it did not ask for."""
    import gzip
    import tracemalloc

    bomb = gzip.compress(b"\0" * 50_000_000, 9)
    with HostileServer(Reply(200, [PKCS7, ("Content-Encoding", "gzip")], bomb)) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), max_body_size=100_000)
        tracemalloc.start()
        try:
            with pytest.raises(ProtocolError, match="content coding"):
                run(mode, cfg, lambda c: c.get_ca_certs())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 20_000_000, peak
        assert srv.requests[0].headers.get("accept-encoding") == "identity"


@pytest.mark.parametrize("mode", MODES)
def test_set_client_identity_takes_effect_on_the_next_operation(mode: str) -> None:
    # the main pool was made with the old identity's SSLContext: without retiring it, new connections (and the
    # kept-alive one) went on presenting the old certificate until the client was closed
    from estclient.testing import EstTestServer

    with EstTestServer(auth="cert") as srv:
        first = ClientIdentity(*srv.issue_client_identity("device-old"))
        second = ClientIdentity(*srv.issue_client_identity("device-new"))
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem), client_identity=first)

        def seen() -> list[str | None]:
            return [r.client_certificate_subject for r in srv.requests if r.operation == "csrattrs"]

        if mode == "sync":
            with EstClient(cfg) as client:
                client.get_csr_attributes()
                client.set_client_identity(second)
                client.get_csr_attributes()
        else:
            async def main() -> None:
                async with AsyncEstClient(cfg) as client:
                    await client.get_csr_attributes()
                    client.set_client_identity(second)
                    await client.get_csr_attributes()

            asyncio.run(main())
        assert seen() == ["CN=device-old", "CN=device-new"]
