"""A TLS-terminating loopback proxy in front of ``estclient.testing.EstTestServer`` that misbehaves on purpose.

The client under test connects to the proxy (real TLS: the proxy presents a certificate issued by the test
server's CA unless told otherwise); the proxy reads the HTTP/1.1 request, forwards it to the real server over
TLS, reads the whole response and then sends it back through a *fault*:

``passthrough``      the response as received (the control case)
``reset_mid_body``   the headers and half of the body, then a TCP reset (SO_LINGER 0)
``short_body``       the headers (with the real Content-Length) and half of the body, then a clean close
``pad_body``         the body padded with ``pad`` bytes (Content-Length adjusted, or chunked with ``chunked``)
``stall``            read the request and answer nothing for ``stall_seconds``
``replace``          send ``status``/``headers``/``body`` instead, without asking the server

Every request the proxy received is recorded in ``requests`` (method, path, headers, body). ``server_cert``
and ``server_key`` (``cryptography`` objects) replace the presented certificate, e.g. an expired one or one for
another host, made with :func:`issue_tls_certificate`. Used by tests/client/test_faults.py.
"""
from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import socket
import ssl
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Fault:
    kind: str = "passthrough"
    pad: int = 0
    chunked: bool = False
    stall_seconds: float = 5.0
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    paths: tuple[str, ...] | None = None  # only requests to these paths get the fault (others pass through)
    when: Callable[[Seen], bool] | None = None  # and only those this says yes to


def issue_tls_certificate(ca_cert: x509.Certificate, ca_key: Any, *, hosts: list[str],
                          not_before: dt.datetime | None = None, not_after: dt.datetime | None = None):
    """A TLS server certificate for ``hosts`` (DNS names or IP addresses), signed by the test CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(minutes=5))
        .not_valid_after(not_after or now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _context_for(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="faultproxy-") as tmp:
        cp, kp = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        with open(cp, "wb") as fh:
            fh.write(cert_pem)
        fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem)
        ctx.load_cert_chain(cp, kp)
    return ctx


class FaultProxy:
    """``with FaultProxy(est_server, Fault("short_body")) as proxy: proxy.url ...``"""

    def __init__(self, upstream: Any, fault: Fault | None = None, *, server_cert: x509.Certificate | None = None,
                 server_key: Any = None, host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.fault = fault or Fault()
        self.requests: list[Seen] = []
        self.host = host
        if server_cert is not None:
            cert_pem = server_cert.public_bytes(serialization.Encoding.PEM)
            key_pem = server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())
        else:
            cert_pem, key_pem = upstream.ca.tls_chain_pem(), upstream.ca.tls_key_pem()
        self._ctx = _context_for(cert_pem, key_pem)
        self._up_ctx = ssl.create_default_context(cadata=upstream.trust_anchor_pem.decode("ascii"))
        self._up_ctx.check_hostname = False  # the upstream is the test server on 127.0.0.1
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> FaultProxy:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, 0))
        s.listen(32)
        s.settimeout(0.1)
        self._sock = s
        self._thread = threading.Thread(target=self._serve, name="FaultProxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for c in list(self._conns):
            try:
                c.close()
            except OSError:
                pass
        if self._sock is not None:
            self._sock.close()

    @property
    def port(self) -> int:
        assert self._sock is not None
        return self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    # ------------------------------------------------------------------ serving
    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                raw, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._connection, args=(raw,), daemon=True).start()

    def _connection(self, raw: socket.socket) -> None:
        self._conns.append(raw)
        raw.settimeout(10)
        try:
            conn = self._ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        self._conns.append(conn)
        reader = conn.makefile("rb")
        try:
            while not self._stop.is_set():
                req = self._read_request(reader)
                if req is None:
                    return
                self.requests.append(req)
                if not self._answer(conn, req):
                    return
        except (OSError, ssl.SSLError, ValueError):
            return
        finally:
            try:
                reader.close()
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _read_request(reader: Any) -> Seen | None:
        line = reader.readline(65537)
        if not line:
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            h = reader.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0") or 0)
        body = reader.read(n) if n else b""
        return Seen(method, path, headers, body)

    def _forward(self, req: Seen) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.upstream.port, context=self._up_ctx, timeout=10)
        try:
            fwd = {k: v for k, v in req.headers.items() if k not in ("host", "connection", "content-length")}
            conn.request(req.method, req.path, body=req.body or None, headers=fwd)
            resp = conn.getresponse()
            body = resp.read()
            headers = [(k, v) for k, v in resp.getheaders()
                       if k.lower() not in ("content-length", "connection", "transfer-encoding")]
            return resp.status, headers, body
        finally:
            conn.close()

    def _answer(self, conn: ssl.SSLSocket, req: Seen) -> bool:
        """Send the (faulty) response; False when the connection is finished."""
        f = self.fault
        hit = (f.paths is None or req.path in f.paths) and (f.when is None or f.when(req))
        kind = f.kind if hit else "passthrough"
        if kind == "stall":
            self._stop.wait(f.stall_seconds)
            return False
        if kind == "replace":
            status, headers, body = f.status, list(f.headers), f.body
        else:
            status, headers, body = self._forward(req)
        reason = http.client.responses.get(status, "Status")
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        if kind == "pad_body":
            body = body + b"\r\n" * (f.pad // 2)
        if kind == "pad_body" and f.chunked:
            conn.sendall((head + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode("latin-1"))
            for i in range(0, len(body), 4096):
                piece = body[i:i + 4096]
                conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
            return False
        if kind in ("reset_mid_body", "short_body"):
            conn.sendall((head + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body[: len(body) // 2])
            time.sleep(0.05)
            if kind == "reset_mid_body":
                # no TLS close_notify: reset the TCP connection under it
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return False
        conn.sendall((head + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body)
        return True
