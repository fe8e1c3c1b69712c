"""A tiny HTTPS server on 127.0.0.1 for transport-level client tests (redirects, body cap, TLS versions,
server authorization, channel binding, 401/202 handling). Real TLS, real certificates made with
``cryptography``; each test supplies a handler that answers requests. (The full reference EST server is
``estclient.testing.EstTestServer``; this one exists so that transport rules can be tested in isolation.)"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID


@dataclass
class Pki:
    cert: x509.Certificate
    key: Any

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "Loopback Test CA") -> Pki:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Pki(cert, key)


def issue(
    ca: Pki,
    cn: str,
    *,
    public_key: Any = None,
    dns: list[str] | None = None,
    ips: list[str] | None = None,
    eku: list[Any] | None = None,
) -> Pki:
    key = None
    if public_key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        public_key = key.public_key()
    now = dt.datetime.now(dt.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns or []]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips or []]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return Pki(b.sign(ca.key, hashes.SHA256()), key)


def certs_only(*certs: x509.Certificate) -> bytes:
    return pkcs7.serialize_certificates(list(certs), serialization.Encoding.DER)


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    tls_version: str | None
    tls_unique: bytes | None
    connection_id: int
    client_cert: bytes | None = None

    def csr(self) -> x509.CertificateSigningRequest:
        return x509.load_der_x509_csr(base64.b64decode(self.body))

    def challenge_password(self) -> str | None:
        try:
            attr = self.csr().attributes.get_attribute_for_oid(x509.oid.AttributeOID.CHALLENGE_PASSWORD)
        except x509.AttributeNotFound:
            return None
        return attr.value.decode()

    def binding_ok(self) -> bool:
        return self.tls_unique is not None and self.challenge_password() == base64.b64encode(self.tls_unique).decode()


Answer = tuple[int, list[tuple[str, str]], bytes]


class LoopbackServer:
    """HTTPS on 127.0.0.1:ephemeral. ``handler(req: Req, server) -> (status, headers, body)``."""

    def __init__(
        self,
        handler: Callable[[Req, LoopbackServer], Answer],
        *,
        ca: Pki | None = None,
        server_pki: Pki | None = None,
        min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
        max_version: ssl.TLSVersion | None = None,
        client_ca: Pki | None = None,
    ) -> None:
        self.ca = ca or make_ca()
        self.pki = server_pki or issue(self.ca, "127.0.0.1", dns=["localhost"], ips=["127.0.0.1"])
        self.handler = handler
        self.requests: list[Req] = []
        self.handshakes = 0
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
        tmp = tempfile.mkdtemp()
        try:
            cp, kp = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
            with open(cp, "wb") as f:
                f.write(self.pki.cert_pem)
            with open(kp, "wb") as f:
                f.write(self.pki.key_pem)
            ctx.load_cert_chain(cp, kp)
        finally:
            shutil.rmtree(tmp)
        if client_ca is not None:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(cadata=client_ca.cert_pem.decode())
        self.ctx = ctx
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _serve(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                sock = self.connection
                version = sock.version()
                unique = sock.get_channel_binding("tls-unique") if version != "TLSv1.3" else None
                req = Req(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                          version, unique, id(sock), sock.getpeercert(binary_form=True))
                outer.requests.append(req)
                status, headers, payload = outer.handler(req, outer)
                self.send_response(status)
                names = {k.lower() for k, _ in headers}
                for k, v in headers:
                    if k.lower() != "x-close-silently":
                        self.send_header(k, v)
                if "content-length" not in names and "x-no-length" not in names:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload and self.command != "HEAD":
                    self.wfile.write(payload)
                if any(k.lower() == "connection" and v.lower() == "close" or k.lower() == "x-close-silently"
                       for k, v in headers):
                    self.close_connection = True

            do_GET = do_POST = _serve

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                try:
                    tls = outer.ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                outer.handshakes += 1
                try:
                    Handler(tls, client_address, self)
                finally:
                    try:
                        tls.close()
                    except OSError:
                        pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # helpers for handlers
    def issue_for(self, req: Req) -> bytes:
        csr = req.csr()
        assert csr.is_signature_valid
        cert = issue(self.ca, "issued", public_key=csr.public_key())
        return base64.encodebytes(certs_only(cert.cert))

    def cacerts_body(self) -> bytes:
        return base64.encodebytes(certs_only(self.ca.cert))


PKCS7 = [("Content-Type", "application/pkcs7-mime; smime-type=certs-only")]
TEXT = [("Content-Type", "text/plain")]
