"""Channel binding costs no extra round trips (RFC 7030 §3.5), counted on the reference server: with
``channel_binding="auto"`` on TLS 1.2, a client whose pinned connection is kept alive sends the bound CSR first
try and nothing else; a fresh client makes at most one extra exchange (the request that opens the connection
whose tls-unique the CSR carries)."""
from __future__ import annotations

import pytest

from estclient import EstClient, EstClientConfig, HttpAuth, Issued, TrustAnchors
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
