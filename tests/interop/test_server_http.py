"""HTTP-level behaviour of the reference server that peers rely on, on raw TLS sockets: chunked request bodies
(RFC 9112 §7.1) under the same cap as Content-Length ones, other transfer codings refused with 501, every 401
with a challenge, and the ``verbose`` request log. The requests of globalsign/est's client are replayed byte for
byte from ``tests/vectors/globalsign-captures``."""
from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from estcodec.cms import parse_certs_only
from estclient.testing import EstTestServer

EST = "/.well-known/est/"
GLOBALSIGN = Path(__file__).resolve().parents[1] / "vectors" / "globalsign-captures"


def _csr_b64() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "raw")])).sign(key, hashes.SHA256())
    from cryptography.hazmat.primitives.serialization import Encoding

    return base64.b64encode(csr.public_bytes(Encoding.DER))


def _exchange(srv: EstTestServer, head: bytes, body: bytes = b"", *,
              ctx: ssl.SSLContext | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send one raw request; read the response until the server closes or Content-Length is met."""
    ctx = ctx or srv.client_ssl_context()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(head + body)
        data = b""
        for _ in range(1000):  # bounded read loop
            try:
                chunk = tls.recv(65536)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            data += chunk
            top, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                fields = dict(ln.split(": ", 1) for ln in top.decode().split("\r\n")[1:])
                length = int({k.lower(): v for k, v in fields.items()}.get("content-length", "0"))
                if len(rest) >= length:
                    break
    top, _, rest = data.partition(b"\r\n\r\n")
    lines = top.decode().split("\r\n")
    headers = {k.lower(): v for k, v in (ln.split(": ", 1) for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def _post_head(srv: EstTestServer, extra: str) -> bytes:
    auth = base64.b64encode(f"{srv.username}:{srv.password}".encode()).decode()
    return (f"POST {EST}simpleenroll HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: application/pkcs10\r\n{extra}\r\n").encode()


def _chunked(body: bytes, size: int) -> bytes:
    out = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size))
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


def test_chunked_bodies() -> None:
    with EstTestServer() as srv:
        csr = _csr_b64()
        status, headers, body = _exchange(srv, _post_head(srv, "Transfer-Encoding: chunked\r\n"), _chunked(csr, 7))
        assert status == 200 and headers["connection"] == "close"
        assert body.endswith(b"\n") and b"\n" not in body[:-1]
        assert base64.b64decode(body[:-1], validate=True)[:1] == b"\x30"
        # Transfer-Encoding wins over a (wrong) Content-Length (RFC 9112 §6.3)
        head = _post_head(srv, "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n")
        assert _exchange(srv, head, _chunked(csr, 100))[0] == 200
        # the same 1 MiB cap as Content-Length bodies, checked before the chunk is read
        big = b"%x\r\n" % ((1 << 20) + 1)
        assert _exchange(srv, _post_head(srv, "Transfer-Encoding: chunked\r\n"), big)[0] == 413
        many = _chunked(b"A" * 1024, 1024)[:-len(b"0\r\nX-Trailer: yes\r\n\r\n")] * 1025
        assert _exchange(srv, _post_head(srv, "Transfer-Encoding: chunked\r\n"), many)[0] == 413
        for bad in (b"zz\r\n", b"-1\r\n", b"5\r\nABCDEFG\r\n0\r\n\r\n", b"x" * 2000 + b"\r\n"):
            assert _exchange(srv, _post_head(srv, "Transfer-Encoding: chunked\r\n"), bad)[0] == 400, bad
        assert _exchange(srv, _post_head(srv, "Transfer-Encoding: gzip, chunked\r\n"), b"0\r\n\r\n")[0] == 501
        assert len(srv.issued_certificates) == 2


def test_every_401_carries_a_challenge_and_no_body() -> None:
    for auth, algorithm in (("basic", "SHA-256"), ("digest", "MD5"), ("digest", "SHA-256")):
        with EstTestServer(auth=auth, digest_algorithm=algorithm) as srv:
            head = (f"POST {EST}simpleenroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkcs10\r\n"
                    f"Content-Length: 4\r\n\r\n").encode()
            status, headers, body = _exchange(srv, head, b"AAAA")
            assert status == 401 and body == b"" and headers["content-length"] == "0"
            challenge = headers["www-authenticate"]
            assert challenge.lower().startswith(auth)
            if algorithm == "MD5":  # every parameter quoted (RFC 7616 §3.3 lets MD5 go unnamed)
                params = [p.strip() for p in challenge.split(" ", 1)[1].split(",")]
                assert all(p.split("=", 1)[1].startswith('"') for p in params), challenge
    with EstTestServer(auth="cert") as srv:
        head = (f"POST {EST}simpleenroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkcs10\r\n"
                f"Content-Length: 4\r\n\r\n").encode()
        status, headers, body = _exchange(srv, head, b"AAAA")
        assert status == 403 and "www-authenticate" not in headers and b"client certificate" in body


def test_verbose_log_one_line_per_request() -> None:
    log = io.StringIO()
    with EstTestServer(verbose=True, log_stream=log, password="do-not-log-me") as srv:
        _exchange(srv, f"GET {EST}cacerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        _exchange(srv, _post_head(srv, "Transfer-Encoding: chunked\r\n"), _chunked(_csr_b64(), 50))
        _exchange(srv, f"HEAD {EST}csrattrs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        _exchange(srv, f"GET {EST}x\x1b[2Jy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    lines = log.getvalue().splitlines()
    assert len(lines) == 4 and lines[3].startswith(f"GET {EST}x?[2Jy 404 ")  # control characters masked
    assert lines[0].startswith(f"GET {EST}cacerts 200 auth=- in=0 out=") and lines[0].endswith("ms")
    assert lines[1].startswith(f"POST {EST}simpleenroll 200 auth=basic in=")
    assert lines[2].startswith(f"HEAD {EST}csrattrs 200 auth=- in=0 out=0 ")
    assert "do-not-log-me" not in log.getvalue()


def test_content_transfer_encoding_of_requests_is_ignored() -> None:
    """RFC 8951 §3.2.2: the body is base64 whatever Content-Transfer-Encoding says (or if it is absent)."""
    with EstTestServer() as srv:
        csr = _csr_b64()
        for cte in ("", "Content-Transfer-Encoding: binary\r\n", "Content-Transfer-Encoding: base64\r\n"):
            status, headers, body = _exchange(srv, _post_head(srv, f"{cte}Content-Length: {len(csr)}\r\n"), csr)
            assert status == 200 and headers["content-transfer-encoding"] == "base64", cte
        assert len(srv.issued_certificates) == 3


def _go_base64(body: bytes) -> bytes:
    """Decode as globalsign's client does (Go's base64.StdEncoding skips CR and LF, nothing else)."""
    return base64.b64decode(body.replace(b"\r", b"").replace(b"\n", b""), validate=True)


def test_globalsign_client_requests_replayed() -> None:
    """globalsign/est's estclient (v1.0.6-30-ga0d54bb, recorded on loopback) sends every POST chunked, in one
    chunk of 76-column base64 lines each ending in CRLF, with ``Content-Transfer-Encoding: base64`` and
    ``Accept-Encoding: gzip``; the same bytes replayed here must enroll, re-enroll with the issued certificate
    and get a server-generated key, answered in forms its client reads."""
    reqs = {op: (GLOBALSIGN / f"client-{op}.req").read_bytes()
            for op in ("cacerts", "simpleenroll", "simplereenroll", "serverkeygen")}
    for op in ("simpleenroll", "simplereenroll", "serverkeygen"):  # what the capture shows, so the replay means it
        head = reqs[op].split(b"\r\n\r\n", 1)[0]
        assert b"\r\nTransfer-Encoding: chunked\r\n" in head and b"Content-Length" not in head, op
        assert reqs[op].endswith(b"\r\n\r\n0\r\n\r\n") and reqs[op].count(b"\r\n") > 12, op
    key = serialization.load_pem_private_key((GLOBALSIGN / "client-key.pem").read_bytes(), None)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with EstTestServer(username="estuser", password="estpwd") as srv:  # the credentials in the capture
        status, headers, body = _exchange(srv, reqs["cacerts"])
        assert status == 200 and headers["content-type"].startswith("application/pkcs7-mime")
        assert parse_certs_only(_go_base64(body))

        status, headers, body = _exchange(srv, reqs["simpleenroll"])
        assert status == 200, body
        assert headers["content-type"].startswith("application/pkcs7-mime")
        (issued,) = parse_certs_only(_go_base64(body))
        cert = x509.load_der_x509_certificate(issued.to_der())
        assert cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo) == spki

        # re-enrollment: the recorded request carries no Authorization; the issued certificate authenticates
        identity = (cert.public_bytes(serialization.Encoding.PEM), (GLOBALSIGN / "client-key.pem").read_bytes())
        status, headers, body = _exchange(srv, reqs["simplereenroll"], ctx=srv.client_ssl_context(identity))
        assert status == 200, body
        (renewed,) = parse_certs_only(_go_base64(body))
        assert renewed.to_der() != issued.to_der()

        status, headers, body = _exchange(srv, reqs["serverkeygen"])
        assert status == 200, body
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body)
        parts = {p.get_content_type(): p.get_payload(decode=False).encode() for p in msg.iter_parts()}
        assert set(parts) == {"application/pkcs8", "application/pkcs7-mime"}
        generated = serialization.load_der_private_key(_go_base64(parts["application/pkcs8"]), None)
        (skg_cert,) = parse_certs_only(_go_base64(parts["application/pkcs7-mime"]))
        assert x509.load_der_x509_certificate(skg_cert.to_der()).public_key() == generated.public_key()

        seen = [(r.operation, r.status, r.authenticated_by) for r in srv.requests]
        assert seen == [("cacerts", 200, None), ("simpleenroll", 200, "basic"),
                        ("simplereenroll", 200, "certificate"), ("serverkeygen", 200, "basic")], seen
