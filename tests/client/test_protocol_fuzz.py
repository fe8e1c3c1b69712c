"""Invariant: whatever a server sends, the protocol layer returns a typed result or raises an EstError subclass
(never IndexError, UnicodeDecodeError, a codec-internal error, ...). Fed with Hypothesis bodies and headers, with
every truncated prefix of real responses, and with libest's unit-test CsrAttrs blobs (two of them corrupt)."""
from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estclient import protocol as p
from estclient.errors import EstError

from client_vectors import RFC7030, VECTORS, capture

PARSERS = [
    p.parse_cacerts_response,
    p.parse_csrattrs_response,
    p.parse_enroll_response,
    p.parse_serverkeygen_response,
    p.parse_fullcmc_response,
]
TYPES = [
    None, "", "application/pkcs7-mime", "application/pkcs7-mime; smime-type=certs-only",
    "application/pkcs7-mime; smime-type=CMC-response", "application/csrattrs", "text/plain; charset=utf-8",
    "multipart/mixed; boundary=b", "multipart/mixed", "application/pkcs8", "image/png; x=\"",
]


def check(resp: p.EstResponse) -> None:
    for parse in PARSERS:
        try:
            parse(resp)
        except EstError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.sampled_from([200, 202, 204, 301, 400, 401, 404, 500, 501]),
    ctype=st.sampled_from(TYPES),
    body=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(base64.encodebytes),
        st.binary(max_size=200).map(lambda b: b"\x30" + bytes([len(b) & 0x7F]) + b),
    ),
    retry=st.one_of(st.none(), st.text(max_size=40)),
)
def test_random_responses(status, ctype, body, retry):
    headers = []
    if ctype is not None:
        headers.append(("Content-Type", ctype))
    if retry is not None:
        headers.append(("Retry-After", retry))
    check(p.EstResponse(status, headers, body))


@pytest.mark.parametrize("name", ["cacerts", "csrattrs", "simpleenroll", "serverkeygen"])
def test_truncated_captures(name):
    (resp,) = capture(name)
    ct = resp.headers.get("content-type")
    raw = base64.b64decode(b"".join(resp.body.rstrip(b"\x00").split())) if name != "serverkeygen" else resp.body
    for cut in range(0, len(raw), max(1, len(raw) // 150)):
        check(p.EstResponse(200, [("Content-Type", ct)], raw[:cut]))
        if name != "serverkeygen":
            check(p.EstResponse(200, [("Content-Type", ct)], base64.encodebytes(raw[:cut])))


def test_truncated_rfc_multipart():
    body = (RFC7030 / "A.4_serverkeygen_response_multipart.CRLF.txt").read_bytes()
    for cut in range(0, len(body), 37):
        check(p.EstResponse(200, [("Content-Type", "multipart/mixed; boundary=estServerExampleBoundary")], body[:cut]))


@pytest.mark.parametrize("path", sorted((VECTORS / "libest" / "csrattrs").glob("*.der")), ids=lambda x: x.name)
def test_libest_csrattrs_blobs(path):
    data = path.read_bytes()
    resp = p.EstResponse(200, [("Content-Type", "application/csrattrs")], base64.encodebytes(data))
    try:
        attrs = p.parse_csrattrs_response(resp)
    except EstError:
        assert "CORRUPT" in path.name or len(data) < 3, path.name
    else:
        assert "CORRUPT" not in path.name
        assert attrs.to_der() == data
