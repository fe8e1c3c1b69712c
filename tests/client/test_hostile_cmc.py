"""Hostile servers for /fullcmc (issue #12, finding 2): real TLS on loopback (tests/client/loopback.py), each
scripted answer checked with the sync and the async client.

A Full PKI Response is a success only when its SignedData verifies to a trusted signer, it carries a status and
that status says success, and it echoes the request's transactionId and senderNonce (RFC 5272 §6.6, §6.7).
Before the fix an unlabelled body whose signature failed was re-read as certs-only and returned as a success."""
from __future__ import annotations

import base64
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from estclient.config import EstClientConfig, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import ProtocolError, ServerError
from estclient.protocol import CmcRequest, CmcResponse
from estcodec.cmc import CmcFailInfo, PkiResponseBuilder, parse_pki_data

from loopback import LoopbackServer, Pki, certs_only, issue, make_ca
from test_e2e_operations import call, est, mode  # noqa: F401  (mode is a fixture)

CMC_RESPONSE = "application/pkcs7-mime; smime-type=CMC-response"
UNTYPED = "application/pkcs7-mime"
TRANSACTION_ID = 4242


def _answer(req, srv, *, signer: Pki | None = None, status: str = "success", txid: str = "echo",
            nonce: str = "echo", content_type: str = UNTYPED):
    """A Full PKI Response to the request ``req`` carries, shaped by the keywords; /cacerts serves the CA."""
    if req.path.endswith("/cacerts"):
        return 200, [("Content-Type", "application/pkcs7-mime")], srv.cacerts_body()
    pki = parse_pki_data(base64.b64decode(req.body))
    bpid = pki.req_sequence[0].body_part_id
    csr = x509.load_der_x509_csr(pki.certification_requests[0].to_der())
    b = PkiResponseBuilder()
    if status == "success":
        b.success([bpid])
    elif status == "failed":
        b.failed(CmcFailInfo.BAD_REQUEST, [bpid], status_string="refused")
    if txid == "echo":
        b.transaction_id(pki.transaction_id)
    elif txid == "wrong":
        b.transaction_id(pki.transaction_id + 1)
    if nonce == "echo":
        b.recipient_nonce(pki.sender_nonce)
    elif nonce == "wrong":
        b.recipient_nonce(os.urandom(16))
    b.random_sender_nonce()
    b.add_certificate(issue(srv.ca, "cmc-device", public_key=csr.public_key()).cert)
    signer = signer or srv.ca
    der = b.sign(signer.key, signer.cert)
    return 200, [("Content-Type", content_type)], base64.encodebytes(der)


def _request():
    key = ec.generate_private_key(ec.SECP256R1())
    der, _ = CsrBuilder().common_name("cmc-device").with_key(key).build()
    return CmcRequest.for_csr(der, key, transaction_id=TRANSACTION_ID)


def _conf(srv, **kw):
    kw.setdefault("trust", TrustAnchors.from_pem(srv.ca.cert_pem))
    kw.setdefault("timeout", 10.0)
    return EstClientConfig(srv.url, **kw)


async def _full_cmc(mode, srv, **conf):
    async with est(mode, _conf(srv, **conf)) as c:
        return await call(c.full_cmc(_request()))


def _fullcmc_posts(srv) -> int:
    return sum(1 for r in srv.requests if r.path.endswith("/fullcmc"))


async def test_well_formed_response_is_a_success(mode):
    """The control case: verified, success status, transactionId and nonce echoed."""
    with LoopbackServer(lambda r, s: _answer(r, s)) as srv:
        res = await _full_cmc(mode, srv)
    assert isinstance(res, CmcResponse) and res.pki_response.signature_verified
    assert res.pki_response.transaction_id == TRANSACTION_ID and len(res.certificates) == 2


@pytest.mark.parametrize("content_type", [UNTYPED, CMC_RESPONSE])
async def test_untrusted_signer_is_refused(mode, content_type):
    """(a) signed by a key that does not chain to the anchors; before the fix the untyped body was re-read as
    certs-only and returned as a success."""
    evil = make_ca("Evil CA")
    with LoopbackServer(lambda r, s: _answer(r, s, signer=evil, content_type=content_type)) as srv:
        with pytest.raises(ProtocolError, match="not a verifiable Full PKI Response"):
            await _full_cmc(mode, srv)
        assert _fullcmc_posts(srv) == 1


@pytest.mark.parametrize("content_type", [UNTYPED, CMC_RESPONSE])
async def test_validly_signed_failure_is_not_a_success(mode, content_type):
    """(b) a failed PKIResponse from the trusted CA is a ServerError carrying the failInfo."""
    with LoopbackServer(lambda r, s: _answer(r, s, status="failed", content_type=content_type)) as srv:
        with pytest.raises(ServerError) as ei:
            await _full_cmc(mode, srv)
    assert ei.value.fail_info == CmcFailInfo.BAD_REQUEST and ei.value.pki_response.signature_verified


async def test_signed_response_labelled_certs_only_is_refused(mode):
    """A signed (failed) PKIResponse sent under smime-type=certs-only is not a Simple PKI Response."""
    answer = lambda r, s: _answer(r, s, status="failed", content_type="application/pkcs7-mime; smime-type=certs-only")
    with LoopbackServer(answer) as srv:
        with pytest.raises(ProtocolError, match="labelled certs-only"):
            await _full_cmc(mode, srv)


async def test_response_without_status_is_refused(mode):
    with LoopbackServer(lambda r, s: _answer(r, s, status="none")) as srv:
        with pytest.raises(ProtocolError, match="no CMCStatusInfo"):
            await _full_cmc(mode, srv)


@pytest.mark.parametrize(
    "shape, message",
    [
        (dict(txid="wrong"), "transactionId does not match"),  # (c)
        (dict(txid="none"), "transactionId does not match"),
        (dict(nonce="wrong"), "recipientNonce is not the senderNonce"),  # (d)
        (dict(nonce="none"), "carries no recipientNonce"),  # (e)
    ],
)
async def test_echo_mismatch_is_a_protocol_error(mode, shape, message):
    with LoopbackServer(lambda r, s: _answer(r, s, content_type=CMC_RESPONSE, **shape)) as srv:
        with pytest.raises(ProtocolError, match=message):
            await _full_cmc(mode, srv)
        assert _fullcmc_posts(srv) == 1


# ------------------------------------------------------------------------------------- system trust


@pytest.fixture
def system_store(tmp_path, monkeypatch):
    """Make the loopback CA the whole 'system' store (OpenSSL reads SSL_CERT_FILE when the store is loaded)."""
    ca = make_ca("Loopback System Root")
    path = tmp_path / "system.pem"
    path.write_bytes(ca.cert_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return ca


async def test_system_trust_checks_the_signer_against_the_cacerts_set(mode, system_store):
    """With system trust the signer must chain to the validated /cacerts set: fetched once, before the POST."""
    with LoopbackServer(lambda r, s: _answer(r, s), ca=system_store) as srv:
        res = await _full_cmc(mode, srv, trust=TrustAnchors.system())
        assert res.pki_response.signature_verified
        assert [r.path.rsplit("/", 1)[1] for r in srv.requests] == ["cacerts", "fullcmc"]


async def test_system_trust_refuses_an_untrusted_signer(mode, system_store):
    evil = make_ca("Evil CA")
    with LoopbackServer(lambda r, s: _answer(r, s, signer=evil), ca=system_store) as srv:
        with pytest.raises(ProtocolError, match="not a verifiable Full PKI Response"):
            await _full_cmc(mode, srv, trust=TrustAnchors.system())


async def test_system_trust_refuses_a_cacerts_set_without_root(mode, system_store):
    """The /cacerts set itself is validated in system mode too: an intermediate alone has no anchor."""
    inter_key = ec.generate_private_key(ec.SECP256R1())
    lonely = issue(system_store, "lonely", public_key=inter_key.public_key()).cert

    def answer(req, srv):
        if req.path.endswith("/cacerts"):
            return 200, [("Content-Type", "application/pkcs7-mime")], base64.encodebytes(certs_only(lonely))
        return _answer(req, srv)

    with LoopbackServer(answer, ca=system_store) as srv:
        with pytest.raises(ProtocolError, match="no self-signed CA certificate"):
            await _full_cmc(mode, srv, trust=TrustAnchors.system())
        assert _fullcmc_posts(srv) == 0


# ------------------------------------------------------------------------------- sans-IO (plain bytes)


def _signed_response(ca: Pki, request: CmcRequest, **shape) -> bytes:
    class _Req:
        path = "/.well-known/est/fullcmc"
        body = base64.encodebytes(request.to_der())

    class _Srv:
        pass

    srv = _Srv()
    srv.ca = ca
    return base64.b64decode(_answer(_Req(), srv, **shape)[2])


def test_parser_refuses_a_full_pki_response_without_trust():
    from estclient import protocol as P

    ca, req = make_ca(), _request()
    body = _signed_response(ca, req)
    resp = P.EstResponse(200, [("Content-Type", CMC_RESPONSE)], body)
    with pytest.raises(ProtocolError, match="nothing to verify its signer against"):
        P.parse_fullcmc_response(resp)
    ok = P.parse_fullcmc_response(resp, signer_trust=ca.cert_pem, request=req.to_der())  # request as DER
    assert ok.pki_response.signature_verified
    other = _request()
    with pytest.raises(ProtocolError, match="recipientNonce"):
        P.parse_fullcmc_response(resp, signer_trust=ca.cert_pem, request=other.pki_data)
    odd = P.EstResponse(200, [("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data")], body)
    with pytest.raises(ProtocolError, match="unexpected smime-type"):
        P.parse_fullcmc_response(odd, signer_trust=ca.cert_pem)


def test_unlabelled_certs_only_is_still_accepted():
    """A real certs-only Simple PKI Response (no signer, no content) needs no label."""
    from estclient import protocol as P

    ca = make_ca()
    resp = P.EstResponse(200, [("Content-Type", UNTYPED)], base64.encodebytes(certs_only(ca.cert)))
    res = P.parse_fullcmc_response(resp, signer_trust=ca.cert_pem)
    assert res.pki_response is None and len(res.certificates) == 1
