"""Bouncy Castle (Java, Debian's libbcpkix-java 1.72) against the reference server: BC's own EST client
(org.bouncycastle.est) enrolls with Basic and with Digest (MD5, BC's default), re-enrolls with the issued
certificate, and gets a server-generated key; a Full PKI Request built by BC's CMS generator (BER, as BC
encodes it) is served by /fullcmc and the PKIResponse is verified by BC.

The Java programs in ``java/`` are ours; they are compiled at test time with ``javac`` against the jars in
/usr/share/java. Without java/javac or the jars these tests skip (fail under EST_REQUIRE_PEERS).
"""
from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from estclient.testing import EstTestServer

from interop_peers import need, need_files, run, show

JARS = [f"/usr/share/java/{name}.jar" for name in ("bcprov", "bcpkix", "bcutil")]
SOURCES = Path(__file__).parent / "java"


@pytest.fixture(scope="module")
def java(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tools = need("java", "javac")
    need_files(*JARS)
    classes = tmp_path_factory.mktemp("bc-classes")
    cp = ":".join(JARS)
    res = run([tools["javac"], "-d", str(classes), "-cp", cp, *map(str, sorted(SOURCES.glob("*.java")))], timeout=300)
    assert res.returncode == 0, show(res)
    return [tools["java"], "-cp", f"{classes}:{cp}"]


def _ca(srv: EstTestServer, tmp: Path) -> str:
    path = tmp / "ca.pem"
    path.write_bytes(srv.trust_anchor_pem)
    return str(path)


def _est(java: list[str], srv: EstTestServer, tmp: Path, step: str) -> list[str]:
    res = run([*java, "EstPeer", f"127.0.0.1:{srv.port}", _ca(srv, tmp), step, srv.username, srv.password])
    assert res.returncode == 0, show(res)
    return [line for line in res.stdout.decode().splitlines() if line.startswith("OK ")]


def test_cacerts(java: list[str], tmp_path: Path) -> None:
    with EstTestServer() as srv:
        assert _est(java, srv, tmp_path, "cacerts") == ["OK cacerts 1 CN=estclient EstTestServer CA"]


@pytest.mark.parametrize("auth,algorithm", [("basic", None), ("digest", "MD5")])
def test_enroll_reenroll_serverkeygen(java: list[str], tmp_path: Path, auth: str, algorithm: str | None) -> None:
    with EstTestServer(auth=auth, digest_algorithm=algorithm or "SHA-256") as srv:
        lines = _est(java, srv, tmp_path, "reenroll-" + auth)
        assert [line.split()[:3] for line in lines] == [["OK", "enroll", "CN=bc-device"],
                                                        ["OK", "reenroll", "CN=bc-device"]]
        lines = _est(java, srv, tmp_path, "serverkeygen-" + auth)
        assert lines == ["OK serverkeygen CN=bc-keygen EC"]
        served = [(r.operation, r.authenticated_by) for r in srv.requests if r.status == 200]
        assert served == [("simpleenroll", auth), ("simplereenroll", "certificate"), ("serverkeygen", auth)]
        # BC met a 401 first each time (it does not send credentials before a challenge) and carried on
        assert [r.status for r in srv.requests if r.operation == "simpleenroll"] == [401, 200]
        assert len(srv.issued_certificates) == 3


def test_fullcmc_ber_request_built_by_bc(java: list[str], tmp_path: Path) -> None:
    request = tmp_path / "request.ber"
    res = run([*java, "CmcPeer", "request", str(request)])
    assert res.returncode == 0, show(res)
    body = request.read_bytes()
    assert body[1] == 0x80  # BC's default: indefinite lengths (BER), which the server must accept
    with EstTestServer() as srv:
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as client:
            r = client.post(srv.operation_url("fullcmc"), content=base64.b64encode(body),
                            headers={"Content-Type": "application/pkcs7-mime; smime-type=CMC-request"})
        assert r.status_code == 200, r.text
        response = tmp_path / "response.der"
        response.write_bytes(base64.b64decode(r.content.removesuffix(b"\n"), validate=True))
        res = run([*java, "CmcPeer", "response", str(response), _ca(srv, tmp_path)])
        assert res.returncode == 0, show(res)
        assert res.stdout.decode().split()[:4] == ["OK", "status=0", "transactionId=4242", "recipientNonce=bc-nonce"]
        assert [c.subject.rfc4514_string() for c in srv.issued_certificates] == ["CN=bc-cmc"]
        # the same request with one byte of the signed content changed is refused
        tampered = bytearray(body)
        tampered[body.find(b"CN=bc-cmc"[3:])] ^= 1
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as client:
            r = client.post(srv.operation_url("fullcmc"), content=base64.b64encode(bytes(tampered)),
                            headers={"Content-Type": "application/pkcs7-mime"})
        assert r.status_code == 400
