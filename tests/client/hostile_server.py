"""A scriptable, misbehaving HTTPS server on 127.0.0.1 for hostile-server tests of the EST client.

Real TLS (a test CA and a server certificate for ``127.0.0.1``/``localhost``, made here with ``cryptography``),
raw sockets, HTTP/1.1 with keep-alive. Each request is answered by a *script*: a :class:`Reply`, a list of
replies (used in order; the last one repeats) or a callable ``(Request) -> Reply``. A reply can

- answer normally (``status``, ``headers``, ``body``; Content-Length is added unless a header sets it),
- drip its bytes one at a time (``drip`` seconds apart) until done, the client goes away or the server stops,
- send ``raw`` bytes instead of a built response, and/or close the connection afterwards (``close``).

``stall_handshake=True`` accepts connections and never answers the TLS handshake.

What the server saw is counted, so tests can bound the client by counts instead of time: ``requests`` (every
request read), ``connections`` (TCP connections accepted), ``closed_by_client`` (connections whose peer closed
or reset them), ``bytes_dripped`` (bytes a dripping reply managed to send). Every loop in here ends: sockets
have timeouts, dripping stops at the end of the reply or when the server stops, and :meth:`HostileServer.stop`
joins every thread it started (with a timeout).

Usage::

    with HostileServer(Reply(202, [("Retry-After", "0")])) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem))
        ...
        assert len(srv.requests) <= 5
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["Reply", "Request", "HostileServer", "make_test_pki"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 8 * 1024 * 1024
_SOCKET_TIMEOUT = 10.0  # TLS handshake and sends
_POLL = 0.2  # reads wake this often to see whether the server is stopping


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    drip: float | None = None  # seconds between single bytes of the whole response (head and body)
    close: bool = False  # close the connection after this reply
    raw: bytes | None = None  # send exactly these bytes instead of a built response

    def to_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        head = [f"HTTP/1.1 {self.status} Hostile"]
        names = {k.lower() for k, _ in self.headers}
        head += [f"{k}: {v}" for k, v in self.headers]
        if "content-length" not in names and "transfer-encoding" not in names:
            head.append(f"Content-Length: {len(self.body)}")
        if self.close and "connection" not in names:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names; the last value of a repeated header
    body: bytes
    connection: int  # 1-based number of the TCP connection it came on


Script = Union[Reply, list, Callable[[Request], Reply]]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_test_pki() -> tuple[bytes, bytes, bytes]:
    """(CA certificate PEM, server certificate PEM, server key PEM): a fresh P-256 CA and a server certificate
    for 127.0.0.1 and localhost, valid from five minutes ago for two days."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Hostile Test CA")).issuer_name(_name("Hostile Test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        ca.public_bytes(pem),
        leaf.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


class HostileServer:
    """Threaded TLS server on 127.0.0.1 answering by ``script``; see the module docstring."""

    def __init__(self, script: Script, *, max_tls12: bool = False, stall_handshake: bool = False) -> None:
        self.script = script
        self.stall_handshake = stall_handshake  # accept TCP, then never answer the TLS handshake
        self.ca_pem, cert_pem, key_pem = make_test_pki()
        self.requests: list[Request] = []
        self.connections = 0
        self.closed_by_client = 0
        self.bytes_dripped = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if max_tls12:
            self._ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with tempfile.TemporaryDirectory() as tmp:
            cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            with open(cert_path, "wb") as fh:
                fh.write(cert_pem)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(key_pem)
            self._ctx.load_cert_chain(cert_path, key_path)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"

    # -- lifecycle
    def start(self) -> HostileServer:
        t = threading.Thread(target=self._accept_loop, name="hostile-accept", daemon=True)
        self._threads.append(t)
        t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in list(self._threads):
            t.join(_SOCKET_TIMEOUT + 2)
        self._sock.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def wait_for(self, predicate: Callable[[], bool], *, polls: int = 100, interval: float = 0.05) -> bool:
        """Poll ``predicate`` at most ``polls`` times (a bounded wait for a server-side count to settle)."""
        for _ in range(polls):
            if predicate():
                return True
            time.sleep(interval)
        return predicate()

    # -- script
    def _reply_for(self, req: Request, index: int) -> Reply:
        s = self.script
        if isinstance(s, Reply):
            return s
        if isinstance(s, list):
            return s[min(index, len(s) - 1)]
        return s(req)

    # -- connection handling
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                number = self.connections
            t = threading.Thread(target=self._serve, args=(conn, number), name=f"hostile-conn-{number}", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, raw: socket.socket, number: int) -> None:
        if self.stall_handshake:
            self._stall(raw)
            return
        raw.settimeout(_SOCKET_TIMEOUT)
        try:
            conn = self._ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            with self._lock:
                self.closed_by_client += 1
            return
        peer_closed = False
        try:
            buf = b""
            while not self._stop.is_set():
                req, buf, peer_closed = self._read_request(conn, buf, number)
                if req is None:
                    break
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(req)
                reply = self._reply_for(req, index)
                if not self._send(conn, reply):
                    peer_closed = True
                    break
                if reply.close:
                    break
        finally:
            if peer_closed:
                with self._lock:
                    self.closed_by_client += 1
            try:
                conn.close()
            except OSError:
                pass

    def _stall(self, raw: socket.socket) -> None:
        """Read and drop what the client sends (its ClientHello) until it goes away or the server stops."""
        raw.settimeout(_POLL)
        try:
            while not self._stop.is_set():
                try:
                    if not raw.recv(65536):
                        with self._lock:
                            self.closed_by_client += 1
                        return
                except TimeoutError:
                    continue
        except OSError:
            with self._lock:
                self.closed_by_client += 1
        finally:
            raw.close()

    def _read_request(self, conn: ssl.SSLSocket, buf: bytes, number: int) -> tuple[Request | None, bytes, bool]:
        """(request or None, leftover bytes, peer closed)."""
        while b"\r\n\r\n" not in buf:
            if len(buf) > _MAX_HEAD or self._stop.is_set():
                return None, b"", False
            chunk = self._recv(conn)
            if chunk is None:
                continue
            if not chunk:
                return None, b"", True
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = (lines[0].split(" ") + ["", ""])[:2]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0") or 0)
        if length > _MAX_BODY:
            return None, b"", False
        while len(buf) < length:
            if self._stop.is_set():
                return None, b"", False
            chunk = self._recv(conn)
            if chunk is None:
                continue
            if not chunk:
                return None, b"", True
            buf += chunk
        return Request(method, path, headers, buf[:length], number), buf[length:], False

    def _recv(self, conn: ssl.SSLSocket) -> bytes | None:
        """Bytes, b"" when the peer closed or reset, None after a quiet poll interval (the caller re-checks
        whether the server is stopping, so an idle keep-alive connection is not mistaken for a closed one)."""
        try:
            conn.settimeout(_POLL)
            return conn.recv(65536)
        except TimeoutError:
            return None
        except (ssl.SSLError, OSError):
            return b""

    def _send(self, conn: ssl.SSLSocket, reply: Reply) -> bool:
        data = reply.to_bytes()
        try:
            conn.settimeout(_SOCKET_TIMEOUT)
            if reply.drip is None:
                conn.sendall(data)
                return True
            for i in range(len(data)):
                if self._stop.is_set():
                    return True
                conn.sendall(data[i:i + 1])
                with self._lock:
                    self.bytes_dripped += 1
                time.sleep(reply.drip)
            return True
        except (ssl.SSLError, OSError):
            return False
