"""Channel binding costs no extra round trips (RFC 7030 §3.5), counted on the reference server: with
``channel_binding="auto"`` on TLS 1.2, a client whose pinned connection is kept alive sends the bound CSR first
try and nothing else; a fresh client makes at most one extra exchange (the request that opens the connection
whose tls-unique the CSR carries)."""
from __future__ import annotations

import asyncio

import pytest

from estclient import AsyncEstClient, EstClient, EstClientConfig, HttpAuth, Issued, TrustAnchors
from estclient.errors import EstError
from estclient.csr import CsrBuilder
from estclient.testing import EstTestServer


def _config(srv: EstTestServer, mode: str = "auto") -> EstClientConfig:
    auth = HttpAuth(srv.username, srv.password) if srv.auth == "basic" else None
    return EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem), http_auth=auth,
                           channel_binding=mode)


@pytest.mark.parametrize("auth,required", [("basic", False), ("basic", True), (None, False)])
def test_bound_enrollment_request_counts(auth: str | None, required: bool) -> None:
    with EstTestServer(auth=auth, tls_max_version="1.2", require_channel_binding=required) as srv:
        with EstClient(_config(srv)) as client:
            first = client.simple_enroll(CsrBuilder().common_name("bound-1"))
            fresh = list(srv.requests)
            # a fresh client: at most one exchange besides the enrollment, no refusal on the way
            assert isinstance(first, Issued)
            assert len(fresh) <= 2 and [r.status for r in fresh] == [200] * len(fresh)
            assert fresh[-1].operation == "simpleenroll"
            for n in range(3):  # kept alive: the enrollment and nothing else, on the same connection
                before = len(srv.requests)
                assert isinstance(client.simple_enroll(CsrBuilder().common_name(f"bound-{n + 2}")), Issued)
                new = srv.requests[before:]
                assert [(r.operation, r.status) for r in new] == [("simpleenroll", 200)]
                assert new[0].connection_id == fresh[-1].connection_id
        # every CSR carried the binding of the connection it arrived on (the server checks when it is present)
        assert len(srv.issued_certificates) == 4


def test_kept_alive_connection_closed_by_the_server_is_re_signed() -> None:
    """The server drops the idle connection: the CSR signed for it goes out on a new one, is refused (403,
    binding mismatch) and is re-signed for the new connection; the enrollment still succeeds."""
    with EstTestServer(auth="basic", tls_max_version="1.2", require_channel_binding=True) as srv:
        with EstClient(_config(srv)) as client:
            client.simple_enroll(CsrBuilder().common_name("first"))
            for sock in list(srv._open):  # the server side closes every open connection
                sock.shutdown(2)
            before = len(srv.requests)
            assert isinstance(client.simple_enroll(CsrBuilder().common_name("second")), Issued)
            statuses = [r.status for r in srv.requests[before:]]
            assert statuses[-1] == 200 and len(statuses) <= 3


def test_binding_off_and_tls13_make_no_probe() -> None:
    with EstTestServer(auth="basic", tls_max_version="1.2") as srv:
        with EstClient(_config(srv, "off")) as client:
            client.simple_enroll(CsrBuilder().common_name("unbound"))
        # Basic waits for the challenge when binding is off: 401, then the enrollment
        assert [(r.operation, r.status) for r in srv.requests] == [("simpleenroll", 401), ("simpleenroll", 200)]


# -- the same for AsyncEstClient: each enrollment takes a kept-alive bound connection for itself while it runs


@pytest.mark.parametrize("auth,required", [("basic", False), ("basic", True), (None, False)])
async def test_async_bound_enrollment_request_counts(auth: str | None, required: bool) -> None:
    with EstTestServer(auth=auth, tls_max_version="1.2", require_channel_binding=required) as srv:
        async with AsyncEstClient(_config(srv)) as client:
            first = await client.simple_enroll(CsrBuilder().common_name("abound-1"))
            fresh = list(srv.requests)
            assert isinstance(first, Issued)
            assert len(fresh) <= 2 and [r.status for r in fresh] == [200] * len(fresh)
            assert fresh[-1].operation == "simpleenroll"
            for n in range(3):
                before = len(srv.requests)
                assert isinstance(await client.simple_enroll(CsrBuilder().common_name(f"abound-{n + 2}")), Issued)
                new = srv.requests[before:]
                assert [(r.operation, r.status) for r in new] == [("simpleenroll", 200)]
                assert new[0].connection_id == fresh[-1].connection_id
            # what an enrollment learns is the client's (the bound connection is the operation's, never shared)
            assert client._state.server_tls_version == "TLSv1.2" and client._state.bound is None
            assert client._state.basic_preemptive is (auth == "basic")
        assert len(srv.issued_certificates) == 4


async def test_async_kept_alive_connection_closed_by_the_server_is_re_signed() -> None:
    with EstTestServer(auth="basic", tls_max_version="1.2", require_channel_binding=True) as srv:
        async with AsyncEstClient(_config(srv)) as client:
            await client.simple_enroll(CsrBuilder().common_name("first"))
            for sock in list(srv._open):
                sock.shutdown(2)
            before = len(srv.requests)
            assert isinstance(await client.simple_enroll(CsrBuilder().common_name("second")), Issued)
            statuses = [r.status for r in srv.requests[before:]]
            assert statuses[-1] == 200 and len(statuses) <= 3


async def test_async_concurrent_enrollments_keep_one_bound_connection_each() -> None:
    """Enrollments in flight at once never share a bound connection; afterwards each kept-alive one serves a
    later enrollment with no probe, so a second round of as many enrollments at once makes only those requests."""
    with EstTestServer(auth="basic", tls_max_version="1.2", require_channel_binding=True) as srv:
        async with AsyncEstClient(_config(srv)) as client:
            first = await asyncio.gather(*(client.simple_enroll(CsrBuilder().common_name(f"r1-{i}"))
                                           for i in range(4)))
            assert all(isinstance(r, Issued) for r in first) and len(srv.requests) <= 8
            before = len(srv.requests)
            second = await asyncio.gather(*(client.simple_enroll(CsrBuilder().common_name(f"r2-{i}"))
                                            for i in range(4)))
            assert all(isinstance(r, Issued) for r in second)
            new = srv.requests[before:]
            assert [(r.operation, r.status) for r in new] == [("simpleenroll", 200)] * 4
            assert len({r.connection_id for r in new}) == 4
        assert len(srv.issued_certificates) == 8


async def test_async_a_non_binding_operation_leaves_the_bound_connection_alone() -> None:
    """A DER CSR (never bound) between two bound enrollments: the second still needs no probe."""
    with EstTestServer(auth="basic", tls_max_version="1.2") as srv:
        async with AsyncEstClient(_config(srv)) as client:
            await client.simple_enroll(CsrBuilder().common_name("b1"))
            bound_conn = srv.requests[-1].connection_id
            der, _key = CsrBuilder().common_name("plain").build()
            before = len(srv.requests)
            await client.simple_enroll(der)
            assert srv.requests[before:][-1].connection_id != bound_conn  # on the shared pool, not the bound one
            before = len(srv.requests)
            await client.simple_enroll(CsrBuilder().common_name("b2"))
            new = srv.requests[before:]
            assert [(r.operation, r.status, r.connection_id) for r in new] == [("simpleenroll", 200, bound_conn)]


async def _open_at_server(srv: EstTestServer, expected: int) -> int:
    """The number of connections the server holds open, once it has seen the client's closes (bounded wait)."""
    for _ in range(300):
        if len(srv._open) == expected:
            break
        await asyncio.sleep(0.01)
    return len(srv._open)


async def test_async_bound_connections_closed_on_identity_change_failure_and_aclose() -> None:
    with EstTestServer(auth="basic", tls_max_version="1.2") as srv:
        client = AsyncEstClient(_config(srv))
        try:
            await client.simple_enroll(CsrBuilder().common_name("c1"))
            assert len(client._idle_bound) == 1 and await _open_at_server(srv, 1) == 1
            client.set_client_identity(None)  # a new identity: the kept-alive connection is not used again
            assert client._idle_bound == [] and len(client._stale) == 1
            before = len(srv.requests)
            await client.simple_enroll(CsrBuilder().common_name("c2"))
            assert client._stale == [] and await _open_at_server(srv, 1) == 1  # the old one closed, a new one kept
            new = srv.requests[before:]
            assert len(new) == 2 and new[0].connection_id != srv.requests[before - 1].connection_id
            # a failure (re-enrollment without the certificate being renewed: 403): nothing is kept
            with pytest.raises(EstError):
                await client.simple_reenroll(CsrBuilder().common_name("c3"), allow_without_identity=True)
            assert client._idle_bound == [] and await _open_at_server(srv, 0) == 0
            await client.simple_enroll(CsrBuilder().common_name("c4"))
            assert len(client._idle_bound) == 1
        finally:
            await client.aclose()
        assert client._idle_bound == [] and client._stale == [] and client._client is None
        assert await _open_at_server(srv, 0) == 0


async def test_async_bootstrap_closes_bound_connections() -> None:
    """The unverified bootstrap connection is never kept; once anchors are accepted, a later bootstrap() returns
    them without going back to the server unverified, so the kept-alive bound connection stays usable."""
    with EstTestServer(auth="basic", tls_max_version="1.2") as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(srv.ca_fingerprint_sha256),
                              http_auth=HttpAuth(srv.username, srv.password))
        async with AsyncEstClient(cfg) as client:
            await client.simple_enroll(CsrBuilder().common_name("boot-1"))  # bootstrap /cacerts first
            assert await _open_at_server(srv, 1) == 1  # the unverified bootstrap connection is not kept
            before = len(srv.requests)
            await client.simple_enroll(CsrBuilder().common_name("boot-2"))
            assert [r.operation for r in srv.requests[before:]] == ["simpleenroll"]
            before = len(srv.requests)
            await client.bootstrap()
            assert srv.requests[before:] == []  # no second, unverified /cacerts
            await client.simple_enroll(CsrBuilder().common_name("boot-3"))
            new = srv.requests[before:]
            assert [(r.operation, r.status) for r in new] == [("simpleenroll", 200)]


async def test_async_serverkeygen_and_enroll_and_wait_use_the_kept_alive_connection() -> None:
    with EstTestServer(auth="basic", tls_max_version="1.2", require_channel_binding=True) as srv:
        async with AsyncEstClient(_config(srv)) as client:
            await client.simple_enroll(CsrBuilder().common_name("k1"))
            conn = srv.requests[-1].connection_id
            before = len(srv.requests)
            await client.server_keygen(CsrBuilder().common_name("k2"))
            await client.enroll_and_wait(CsrBuilder().common_name("k3"), max_wait=30)
            new = srv.requests[before:]
            assert [(r.operation, r.status, r.connection_id) for r in new] == [
                ("serverkeygen", 200, conn), ("simpleenroll", 200, conn)]
