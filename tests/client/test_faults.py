"""Fault injection: EstClient / AsyncEstClient against the reference EstTestServer through a misbehaving
TLS-terminating loopback proxy (tests/client/_faultproxy.py), and against EstTestServer options.

Each fault must end in the client's own exceptions (estclient.errors.EstError subclasses) with a message that
says what happened: a connection reset or a body cut short (TransportError), a body past the size cap
(ProtocolError), a stalling server (TransportError, within the timeout), 5xx with Retry-After (ServerError),
a redirect to another origin (ProtocolError, and no request, let alone credentials, reaches that origin), an
expired or wrong-host server certificate (TlsConfigError), a TLS 1.3-only server when channel binding is
required (TlsConfigError naming TLS 1.2). Each fault has a passthrough control so that the proxy itself is not
what fails.
"""
from __future__ import annotations

import datetime as dt

import pytest

from estclient.client import AsyncEstClient, EstClient
from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import EstError, ProtocolError, ServerError, TlsConfigError, TransportError
from estclient.protocol import Issued, Pending
from estclient.testing import EstTestServer

from _faultproxy import Fault, FaultProxy, issue_tls_certificate

CACERTS = "/.well-known/est/cacerts"
ENROLL = "/.well-known/est/simpleenroll"


@pytest.fixture(scope="module")
def server():
    with EstTestServer(auth="basic") as srv:
        yield srv


def config(srv, url: str, **kw) -> EstClientConfig:
    kw.setdefault("trust", TrustAnchors.from_pem(srv.trust_anchor_pem))
    kw.setdefault("timeout", 5.0)
    kw.setdefault("http_auth", HttpAuth(srv.username, srv.password))
    return EstClientConfig(url, **kw)


def csr() -> CsrBuilder:
    return CsrBuilder().common_name("fault-injection").key_type("ec-p256")


# ------------------------------------------------------------------ controls: the proxy itself is transparent


def test_passthrough_control(server):
    with FaultProxy(server) as proxy, EstClient(config(server, proxy.url)) as c:
        assert len(c.get_ca_certs()) >= 1
        issued = c.simple_enroll(csr())
        assert isinstance(issued, Issued)
        assert [r.path for r in proxy.requests][:1] == [CACERTS]


def test_valid_proxy_certificate_control(server):
    cert, key = issue_tls_certificate(server.ca_certificate, server.ca_key, hosts=["127.0.0.1"])
    with FaultProxy(server, server_cert=cert, server_key=key) as proxy, EstClient(config(server, proxy.url)) as c:
        assert len(c.get_ca_certs()) >= 1


# ------------------------------------------------------------------ bodies


@pytest.mark.parametrize("kind", ["reset_mid_body", "short_body"])
def test_body_cut_short_is_a_transport_error(server, kind):
    with FaultProxy(server, Fault(kind)) as proxy, EstClient(config(server, proxy.url)) as c:
        with pytest.raises(TransportError) as info:
            c.get_ca_certs()
    msg = str(info.value)
    assert msg and "Error" in msg  # names the httpx failure (e.g. RemoteProtocolError / ReadError)
    assert 1 <= len(proxy.requests) <= 2  # at most one retry on a fresh connection


@pytest.mark.parametrize("kind", ["reset_mid_body", "short_body"])
async def test_async_body_cut_short_is_a_transport_error(server, kind):
    with FaultProxy(server, Fault(kind)) as proxy:
        async with AsyncEstClient(config(server, proxy.url)) as c:
            with pytest.raises(TransportError):
                await c.get_ca_certs()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_past_the_size_cap(server, chunked):
    cap = 64 * 1024
    with FaultProxy(server, Fault("pad_body", pad=cap * 2, chunked=chunked)) as proxy:
        with EstClient(config(server, proxy.url, max_body_size=cap)) as c:
            with pytest.raises(ProtocolError, match="exceeds the limit"):
                c.get_ca_certs()
    # control: the same padding under a larger cap is read (and the padding, whitespace, is tolerated)
    with FaultProxy(server, Fault("pad_body", pad=cap * 2, chunked=chunked)) as proxy:
        with EstClient(config(server, proxy.url, max_body_size=cap * 4)) as c:
            assert len(c.get_ca_certs()) >= 1


async def test_async_body_past_the_size_cap(server):
    with FaultProxy(server, Fault("pad_body", pad=200_000, chunked=True)) as proxy:
        async with AsyncEstClient(config(server, proxy.url, max_body_size=50_000)) as c:
            with pytest.raises(ProtocolError, match="exceeds the limit"):
                await c.get_ca_certs()


# ------------------------------------------------------------------ a stalling server


def test_stalling_server_times_out(server):
    with FaultProxy(server, Fault("stall", stall_seconds=20)) as proxy:
        with EstClient(config(server, proxy.url, timeout=1.0)) as c:
            # the stall (20 s) would end in a normal answer: "timed out" shows the 1 s read timeout ended it
            with pytest.raises(TransportError, match="timed out"):
                c.get_ca_certs()


async def test_async_stalling_server_times_out(server):
    with FaultProxy(server, Fault("stall", stall_seconds=20)) as proxy:
        async with AsyncEstClient(config(server, proxy.url, timeout=1.0)) as c:
            try:
                with pytest.raises(TransportError, match="timed out"):
                    await c.get_ca_certs()
            finally:
                assert [r.path for r in proxy.requests] == [CACERTS]  # the handshake was done, the request sent


# ------------------------------------------------------------------ 5xx and Retry-After


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_with_retry_after_is_a_server_error(server, status):
    fault = Fault("replace", status=status, body=b"try again later", paths=(ENROLL,),
                  headers=[("Content-Type", "text/plain"), ("Retry-After", "120")])
    with FaultProxy(server, fault) as proxy, EstClient(config(server, proxy.url)) as c:
        with pytest.raises(ServerError) as info:
            c.simple_enroll(csr())
    assert info.value.status == status and "try again later" in str(info.value)
    assert [r.path for r in proxy.requests].count(ENROLL) == 1  # no retry loop on a 5xx


def test_202_with_retry_after_is_pending(server):
    fault = Fault("replace", status=202, headers=[("Retry-After", "7")], paths=(ENROLL,))
    with FaultProxy(server, fault) as proxy, EstClient(config(server, proxy.url)) as c:
        result = c.simple_enroll(csr())
    assert isinstance(result, Pending) and result.retry_after == 7.0


@pytest.mark.parametrize("value", ["\u00b2", "9" * 5000], ids=["superscript-two", "5000-digits"])
def test_202_with_unreadable_retry_after(server, value):
    fault = Fault("replace", status=202, headers=[("Retry-After", value)], paths=(ENROLL,))
    with FaultProxy(server, fault) as proxy, EstClient(config(server, proxy.url)) as c:
        try:
            result = c.simple_enroll(csr())
        except EstError:
            return
    assert result.retry_after is None


# ------------------------------------------------------------------ redirects


def test_redirect_to_another_origin_carries_no_credentials(server):
    with FaultProxy(server) as elsewhere:
        # a different port on the same host is another origin; redirect only the authenticated request
        fault = Fault("replace", status=302, paths=(ENROLL,), when=lambda r: "authorization" in r.headers,
                      headers=[("Location", f"https://127.0.0.1:{elsewhere.port}{ENROLL}")])
        with FaultProxy(server, fault) as proxy, EstClient(config(server, proxy.url)) as c:
            with pytest.raises(ProtocolError, match="another origin"):
                c.simple_enroll(csr())
        assert any("authorization" in r.headers for r in proxy.requests)  # credentials were in play
        assert elsewhere.requests == []  # nothing at all went to the other origin


def test_same_origin_redirect_control(server):
    # the same proxy, redirecting to itself: followed, and the enrollment completes
    moved = "/.well-known/est/simpleenroll?moved=1"
    fault = Fault("replace", status=307, paths=(ENROLL,), headers=[("Location", moved)])
    with FaultProxy(server, fault) as proxy, EstClient(config(server, proxy.url)) as c:
        fault.headers = [("Location", f"{proxy.url}{moved}")]
        assert isinstance(c.simple_enroll(csr()), Issued)
        assert moved in [r.path for r in proxy.requests]


# ------------------------------------------------------------------ server certificates


def test_expired_server_certificate_is_refused(server):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
    cert, key = issue_tls_certificate(server.ca_certificate, server.ca_key, hosts=["127.0.0.1"],
                                      not_before=past - dt.timedelta(days=1), not_after=past)
    with FaultProxy(server, server_cert=cert, server_key=key) as proxy, EstClient(config(server, proxy.url)) as c:
        with pytest.raises(TlsConfigError, match="(?i)certificate.*expired"):
            c.get_ca_certs()
    assert proxy.requests == []  # refused during the handshake: no request, no credentials


def test_wrong_host_server_certificate_is_refused(server):
    cert, key = issue_tls_certificate(server.ca_certificate, server.ca_key, hosts=["est.other.example"])
    with FaultProxy(server, server_cert=cert, server_key=key) as proxy, EstClient(config(server, proxy.url)) as c:
        with pytest.raises(TlsConfigError, match="(?i)certificate"):
            c.simple_enroll(csr())
    assert proxy.requests == []


def test_wrong_host_through_the_server_option():
    with EstTestServer(auth="basic", tls_hostname_in_cert=False) as srv:
        with EstClient(config(srv, srv.url)) as c:
            with pytest.raises(TlsConfigError, match="(?i)certificate"):
                c.get_ca_certs()
        assert srv.requests == []


async def test_async_expired_server_certificate_is_refused(server):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
    cert, key = issue_tls_certificate(server.ca_certificate, server.ca_key, hosts=["127.0.0.1"],
                                      not_before=past - dt.timedelta(days=1), not_after=past)
    with FaultProxy(server, server_cert=cert, server_key=key) as proxy:
        async with AsyncEstClient(config(server, proxy.url)) as c:
            with pytest.raises(TlsConfigError, match="(?i)expired"):
                await c.get_ca_certs()


# ------------------------------------------------------------------ TLS 1.3 only, channel binding required


def test_tls13_only_server_when_channel_binding_is_required():
    with EstTestServer(auth="basic", tls_min_version="1.3") as srv:
        with EstClient(config(srv, srv.url, channel_binding="require")) as c:
            with pytest.raises(TlsConfigError) as info:
                c.simple_enroll(csr())
        assert "TLS 1.2" in str(info.value) and "channel binding" in str(info.value)
        assert srv.requests == []
        # control: the same server without the requirement enrolls (auto mode does not bind on TLS 1.3)
        with EstClient(config(srv, srv.url, channel_binding="auto")) as c:
            assert isinstance(c.simple_enroll(csr()), Issued)


async def test_async_tls13_only_server_when_channel_binding_is_required():
    with EstTestServer(auth="basic", tls_min_version="1.3") as srv:
        async with AsyncEstClient(config(srv, srv.url, channel_binding="require")) as c:
            with pytest.raises(TlsConfigError, match="TLS 1.2"):
                await c.simple_enroll(csr())


def test_channel_binding_required_passes_on_tls12_control():
    with EstTestServer(auth="basic", require_channel_binding=True) as srv:
        with EstClient(config(srv, srv.url, channel_binding="require")) as c:
            assert isinstance(c.simple_enroll(csr()), Issued)



# ------------------------------------------------------------------ a malformed multipart serverkeygen body


def test_multipart_part_header_with_a_non_ascii_byte(server):
    body = b"--b\r\nContent-Type: application/pkcs8\x82\r\n\r\nMAA=\r\n--b--\r\n"
    fault = Fault("replace", status=200, body=body, paths=("/.well-known/est/serverkeygen",),
                  headers=[("Content-Type", "multipart/mixed; boundary=b")])
    with FaultProxy(server, fault) as proxy, EstClient(config(server, proxy.url)) as c:
        with pytest.raises(ProtocolError):
            c.server_keygen(csr())


def test_multipart_boundary_outside_latin1(server):
    boundary = "\u04d2".encode("utf-8")
    body = b"--" + boundary + b"\r\nContent-Type: application/pkcs8\r\n\r\nMAA=\r\n--" + boundary + b"--\r\n"
    # the proxy writes header text as latin-1: this puts the UTF-8 bytes d3 92 on the wire
    fault = Fault("replace", status=200, body=body, paths=("/.well-known/est/serverkeygen",),
                  headers=[("Content-Type", "multipart/mixed; boundary=" + boundary.decode("latin-1"))])
    with FaultProxy(server, fault) as proxy, EstClient(config(server, proxy.url)) as c:
        with pytest.raises(ProtocolError):
            c.server_keygen(csr())
