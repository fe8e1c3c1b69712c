"""``EstTestServer``: a real HTTPS EST (RFC 7030) server on loopback, for tests and demos.

It is a reference peer, not a mock, built on ``estcodec``: it reads and verifies PKCS#10 requests
(``estcodec.pkcs10``) and Full PKI Requests (``estcodec.cmc``), and writes certs-only responses
(``estcodec.cms``), CSR attributes (``estcodec.csrattrs``), CA-signed PKIResponses
(``estcodec.cmc.PkiResponseBuilder``) and encrypted server-generated keys
(``estcodec.enveloped.wrap_server_generated_key``). A throwaway CA made with ``cryptography`` issues
real certificates, TLS is real (stdlib ``ssl``), HTTP is real (``http.server`` handlers, served by a
bounded pool of worker threads). Because client and server then share the codec, the server's own tests check
what it sends and reads with independent tools: ``openssl cms``, pyasn1-modules and ``cryptography``.

Behaviour, in the terms of RFC 7030 (and where it imitates Cisco libest's ``estserver``):

* Paths: ``/.well-known/est/<op>`` always (RFC 7030 §3.2.2: "MUST provide services regardless of
  whether the additional path segment is present"; ``serve_unlabelled=False`` turns that off), and
  ``/.well-known/est/<label>/<op>`` for each configured ``ca_label``. Every path is served by the
  same CA. An unknown label or operation gets 404, a wrong method 405.
* Bodies: base64 on one line (RFC 4648 §3.1), ended by one LF, with ``Content-Transfer-Encoding: base64`` for the
  clients that look at it (RFC 8951 §3.2.2 has recipients ignore it; requests are always read as base64,
  with any whitespace, or as raw DER). Request bodies come with Content-Length or chunked (RFC 9112 §7.1),
  both capped at 1 MiB. HEAD is answered on the GET operations.
* ``/cacerts`` (GET): certs-only, base64, ``application/pkcs7-mime``; never asks for authentication.
* ``/csrattrs`` (GET): ``application/csrattrs`` base64; 204 when configured empty; lists
  challengePassword when ``require_channel_binding`` is on; never asks for authentication.
* ``/simpleenroll``, ``/simplereenroll``, ``/serverkeygen``, ``/fullcmc`` (POST) authenticate the
  client first. A TLS client certificate that chains to the server's trust (its own CA, plus
  ``client_trust_pem``) authenticates in every mode; otherwise ``auth="basic"`` / ``"digest"``
  want HTTP credentials (401 with a challenge and an empty body, the reason in the status line),
  ``auth="cert"`` answers 403 (no HTTP challenge applies; libest sends 401 without a challenge
  there), ``auth=None`` lets everyone in. Every 401 carries WWW-Authenticate (RFC 9110 §15.5.2).
* ``/simplereenroll`` needs (else 403) the TLS client certificate being renewed, issued by this CA, whose
  subject and subjectAltName equal the CSR's, unless the CSR carries changeSubjectName
  (RFC 7030 §4.2.2; then the CSR's names are used).
* Every CSR signature is verified (400 otherwise), except on /serverkeygen, where RFC 7030 §4.4.1
  says the server MUST ignore the CSR's public key and signature (``verify_serverkeygen_signature``
  turns the check on there too). A challengePassword, when present (and always when
  ``require_channel_binding``), must be base64(tls-unique) of the connection the CSR arrived
  on (RFC 7030 §3.5); a mismatch gets 403 "Proof of Possession Mismatch" (libest sends that text
  with 401; re-authenticating cannot help, so 403 here). tls-unique
  exists only up to TLS 1.2: ``require_channel_binding`` caps the server at TLS 1.2, and a
  challengePassword arriving over TLS 1.3 is refused.
* ``pending_retry_after``: the first ``pending_repeats`` requests of an operation for a given
  public key get 202 with ``Retry-After`` (seconds, or the string given); the next one is served.
* ``/serverkeygen`` ignores the CSR's key (RFC 7030 §4.4.1), generates one of the same family, and
  answers ``multipart/mixed`` with an ``application/pkcs8`` part and a certs-only part. When the CSR
  carries DecryptKeyIdentifier (a KEK in ``server_keygen_keks``) or AsymmetricDecryptKeyIdentifier
  (the SKI of a certificate this CA issued), the key part becomes ``application/pkcs7-mime;
  smime-type=server-generated-key``: EnvelopedData(SignedData(AsymmetricKeyPackage)) signed by
  the CA (RFC 7030 §4.4.2). An unknown key identifier gets 400.
* ``/fullcmc`` reads a Full PKI Request (SignedData(PKIData), DER or BER, signature checked, each PKCS#10
  verified) and answers a CA-signed PKIResponse with statusInfoV2 (or certs-only with
  ``fullcmc_response="certs-only"``); failures are 400 with a CMC error response body. Only
  PKCS#10 requests (tcr) are served (a CRMF request fails with badRequest); ``pending_retry_after``
  and ``require_channel_binding`` do not apply to /fullcmc (CMC has its own pending status and
  identity/POP linking).
* ``close_after_error`` (default on, like libest): after any 202, 4xx or 5xx the server sends
  ``Connection: close`` and closes the connection.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from estcodec import Error as CodecError
from estcodec import oids as _oids
from estcodec.cmc import CmcFailInfo, PKIData, PkiResponseBuilder, parse_pki_data
from estcodec.cmc import oid as cmc_oid
from estcodec.cms import ContentInfo, SignedData, build_certs_only, verify_signer_info
from estcodec.csrattrs import CsrAttrsBuilder
from estcodec.csrattrs import oid as csrattrs_oid
from estcodec.enveloped import (
    EncryptionAlgorithm, KEKRecipient, KeyAgreeRecipient, KeyTransRecipient, Recipient, wrap_server_generated_key,
)
from estcodec.x509 import Certificate

from ._keygen import apply_capabilities
from ._ca import TestCa, generate_key, key_type_of
from ._revocation import RevocationService
from ._csr import CsrError, CsrInfo, certificate_san_der, from_request, parse_csr
from ._digest import DigestVerifier

__all__ = ["EstTestServer", "RequestRecord", "OPERATIONS", "SERVER_KEY_TYPES"]

OPERATIONS = ("cacerts", "csrattrs", "simpleenroll", "simplereenroll", "serverkeygen", "fullcmc")
_GET_OPS = ("cacerts", "csrattrs")
_PREFIX = "/.well-known/est/"
_MAX_BODY = 1 << 20
_MAX_CHUNK_LINE = 1024  # a chunk-size line (with extensions) or a trailer line longer than this is refused
_MAX_TRAILERS = 32
SERVER_KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519")  # server_keygen_key_type choices
_OID_SHA256 = _oids.ID_SHA256  # what /csrattrs lists by default (RFC 7030 A.2 style)
# SMIMECapabilities the server acts on (RFC 8551 §2.5.2), and the key-agreement algorithms it uses
_AES_CBC = {a.value for a in (EncryptionAlgorithm.AES128_CBC, EncryptionAlgorithm.AES192_CBC,
                              EncryptionAlgorithm.AES256_CBC)}
_OID_RSA_ENCRYPTION = _oids.RSA_ENCRYPTION  # PKCS#1 v1.5 key transport
_OID_RSAES_OAEP = _oids.ID_RSAES_OAEP
_OID_ECDH_STD_SHA256_KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA256KDF_SCHEME  # dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753)
_OID_ECDH_STD_SHA384_KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA384KDF_SCHEME
_OID_AES128_WRAP = _oids.ID_AES128_WRAP
_OID_AES256_WRAP = _oids.ID_AES256_WRAP

_TLS_VERSIONS = {
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def _tls_version(value: Any) -> ssl.TLSVersion | None:
    if value is None or isinstance(value, ssl.TLSVersion):
        return value
    try:
        return _TLS_VERSIONS[str(value)]
    except KeyError:
        raise ValueError(f"TLS version must be '1.2' or '1.3' (or an ssl.TLSVersion), not {value!r}") from None


@dataclass(frozen=True)
class RequestRecord:
    """What the server saw and answered, one entry per HTTP request (for test assertions)."""

    connection_id: int
    method: str
    path: str
    operation: str | None
    label: str | None
    status: int
    tls_version: str | None
    authenticated_by: str | None  # "certificate", "basic", "digest", "none" or None (not authenticated)
    client_certificate_subject: str | None


class _HttpError(Exception):
    def __init__(
        self, status: int, message: str = "", *, headers: Mapping[str, str] | None = None,
        body: bytes | None = None, content_type: str | None = None, reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.body = body
        self.content_type = content_type
        self.reason = reason


def _unauthorized(challenge: str, reason: str) -> _HttpError:
    """401 with its challenge (RFC 9110 §15.5.2) and an empty body: the reason travels in the status line.

    Some clients (Bouncy Castle's EST client) close a 401 without reading its body and then fail on the
    unread bytes; an empty body serves them and costs the others nothing.
    """
    return _HttpError(401, reason, headers={"WWW-Authenticate": challenge}, body=b"", reason=f"Unauthorized ({reason})")


class _Server(HTTPServer):
    """The listening socket plus a bounded pool of worker threads, one connection per worker at a time.

    The accept loop (``serve_forever``) only queues accepted sockets; the TLS handshake and the requests run in
    a worker. Workers are started as connections arrive, up to ``max_workers``; past that, connections wait in
    a FIFO queue (and, before ``accept``, in a listen backlog of ``request_queue_size``) until a worker is free,
    so a burst of thousands of clients costs a queue entry each, not a thread each. A keep-alive connection
    holds its worker until the client closes it or stays idle for ``idle_timeout``: the server serves
    ``max_workers`` connections at the same time.
    """

    allow_reuse_address = False
    request_queue_size = 1024
    max_workers = 64

    def __init__(self, address: tuple[str, int], est: EstTestServer) -> None:
        self.est = est
        super().__init__(address, _Handler)
        self._pool_cond = threading.Condition()
        self._queued: deque[tuple[Any, Any]] = deque()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._closing = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pool_cond:
            if self._closing:
                self.shutdown_request(request)
                return
            self._queued.append((request, client_address))
            if len(self._queued) > self._idle and len(self._workers) < self.max_workers:
                worker = threading.Thread(target=self._work, name=f"EstTestServer-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
            self._pool_cond.notify()

    def _work(self) -> None:
        while True:
            with self._pool_cond:
                self._idle += 1
                while not self._queued and not self._closing:
                    self._pool_cond.wait()
                self._idle -= 1
                if self._closing:
                    return
                request, client_address = self._queued.popleft()
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._pool_cond:
            self._closing = True
            queued, self._queued = list(self._queued), deque()
            self._pool_cond.notify_all()
        for request, _ in queued:  # accepted but never served
            self.shutdown_request(request)

    @property
    def worker_count(self) -> int:
        return len(self._workers)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        # connection resets and the like are part of life for a test server: no tracebacks on stderr
        self.est._note_error()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    server_version = "EstTestServer"
    sys_version = ""
    server: _Server

    # ---------------------------------------------------------------------------------- connection

    def setup(self) -> None:
        est = self.server.est
        self.est = est
        self.timeout = est.idle_timeout  # type: ignore[misc]  # per connection, read by StreamRequestHandler
        self.tls_ok = False
        self.connection_id = est._new_connection(self.request)
        self.peer_cert: x509.Certificate | None = None
        self.tls_unique: bytes | None = None
        self.tls_version_name: str | None = None
        try:
            self.request.settimeout(est.idle_timeout)
            self.request.do_handshake()
            self.tls_ok = True
            self.tls_version_name = self.request.version()
            if self.tls_version_name in ("TLSv1.2", "TLSv1.1", "TLSv1"):
                self.tls_unique = self.request.get_channel_binding("tls-unique")
            der = self.request.getpeercert(binary_form=True)
            if der:
                self.peer_cert = x509.load_der_x509_certificate(der)
        except (OSError, ssl.SSLError, ValueError):
            est._note_tls_failure()
        super().setup()

    def handle(self) -> None:
        if self.tls_ok:
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.est._end_connection(self.request)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # ---------------------------------------------------------------------------------- dispatch

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        started = time.perf_counter()
        self._auth_by: str | None = None
        op: str | None = None
        label: str | None = None
        headers: dict[str, str]
        reason: str | None = None
        body = b""
        try:
            body = self._read_body()
            op, label = self._route()
            if op in _GET_OPS and method not in ("GET", "HEAD") or op not in _GET_OPS and method != "POST":
                raise _HttpError(405, "Method Not Allowed",
                                 headers={"Allow": "GET, HEAD" if op in _GET_OPS else "POST"})
            if op not in _GET_OPS or self.est.auth_csrattrs and op == "csrattrs":
                self._authenticate(method)
            handler = getattr(self, "_op_" + op)
            status, headers, payload = handler(body)
        except _HttpError as err:
            status = err.status
            reason = err.reason
            headers = dict(err.headers)
            maybe = err.body
            if maybe is None:
                payload = (f"Error {err.status}: {err.message}\n" if err.message else "").encode()
                if payload:
                    headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            else:
                payload = maybe
                if err.content_type:
                    headers["Content-Type"] = err.content_type
        except Exception as exc:  # a bug in the test server must not hang the client
            status = 500
            headers = {"Content-Type": "text/plain; charset=utf-8"}
            payload = f"Error 500: internal error ({exc.__class__.__name__})\n".encode()
        # record before answering, so that a client that has its answer also finds the record
        subject = self.peer_cert.subject.rfc4514_string() if self.peer_cert is not None else None
        self.est._record(RequestRecord(
            self.connection_id, method, self.path, op, label, status, self.tls_version_name,
            self._auth_by, subject,
        ))
        self._send(status, headers, payload, reason)
        if self.est.verbose:
            ms = (time.perf_counter() - started) * 1000
            path = "".join(c if c.isprintable() and c != " " else "?" for c in self.path[:300])  # one line per request
            self.est._log(f"{method} {path} {status} auth={self._auth_by or '-'} "
                          f"in={len(body)} out={0 if method == 'HEAD' else len(payload)} {ms:.1f}ms")

    def _read_body(self) -> bytes:
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            # RFC 9112 §6.1/§7.1: a recipient must parse chunked; Transfer-Encoding overrides Content-Length
            # (§6.3), and such a message ends the connection afterwards
            if coding.strip().lower() != "chunked":
                raise _HttpError(501, "only the chunked transfer coding is implemented", headers={"Connection": "close"})
            return self._read_chunked()
        raw = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(raw)
        except ValueError:
            raise _HttpError(400, "bad Content-Length", headers={"Connection": "close"}) from None
        if length < 0 or length > _MAX_BODY:
            raise _HttpError(413, "request body too large", headers={"Connection": "close"})
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        """A chunked body (RFC 9112 §7.1) under the same cap as a Content-Length one; extensions and trailer
        fields are read and ignored. Every loop is bounded by the cap or by the trailer count."""
        bad = {"Connection": "close"}
        out = bytearray()
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if len(line) > _MAX_CHUNK_LINE or not line.endswith(b"\n"):
                raise _HttpError(400, "malformed chunk-size line", headers=bad)
            size_text = line.split(b";", 1)[0].strip()
            try:
                if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
                    raise ValueError
                size = int(size_text, 16)
            except ValueError:
                raise _HttpError(400, "malformed chunk size", headers=bad) from None
            if size == 0:
                break
            if len(out) + size > _MAX_BODY:
                raise _HttpError(413, "request body too large", headers=bad)
            data = self.rfile.read(size)
            if len(data) != size or self.rfile.read(2) != b"\r\n":
                raise _HttpError(400, "truncated or malformed chunk", headers=bad)
            out += data
        for _ in range(_MAX_TRAILERS):
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if len(line) > _MAX_CHUNK_LINE or not line.endswith(b"\n"):
                raise _HttpError(400, "malformed trailer section", headers=bad)
            if line in (b"\r\n", b"\n"):
                return bytes(out)
        raise _HttpError(400, "too many trailer fields", headers=bad)

    def _route(self) -> tuple[str, str | None]:
        path = urlsplit(self.path).path
        if not path.startswith(_PREFIX):
            raise _HttpError(404, "Not Found")
        segments = path[len(_PREFIX):].split("/")
        if len(segments) == 1:
            if not self.est.serve_unlabelled:
                raise _HttpError(404, "this server needs a CA label in the path")
            label, op = None, segments[0]
        elif len(segments) == 2:
            label, op = segments
            if label not in self.est.ca_labels:
                raise _HttpError(404, f"unknown CA label")
        else:
            raise _HttpError(404, "Not Found")
        if op not in OPERATIONS:
            raise _HttpError(404, "unknown EST operation")
        return op, label

    def _send(self, status: int, headers: Mapping[str, str], payload: bytes, reason: str | None = None) -> None:
        close = self.est.close_after_error and (status == 202 or status >= 400)
        close = close or headers.get("Connection", "").lower() == "close"
        close = close or self.headers.get("Transfer-Encoding") is not None
        self.send_response(status, reason)
        for name, value in headers.items():
            if name.lower() not in ("connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()

    # ---------------------------------------------------------------------------------- auth

    def _authenticate(self, method: str) -> None:
        est = self.est
        if self.peer_cert is not None:
            self._auth_by = "certificate"
            return
        if est.auth is None:
            self._auth_by = "none"
            return
        header = self.headers.get("Authorization", "")
        if est.auth == "basic":
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() == "basic" and token:
                try:
                    user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    user, password = "", ""
                ok_user = hmac.compare_digest(user.encode(), est.username.encode())
                ok_pass = hmac.compare_digest(password.encode(), est.password.encode())
                if ok_user and ok_pass:
                    self._auth_by = "basic"
                    return
            raise _unauthorized(f'Basic realm="{est.realm}"', "credentials refused" if header else "credentials required")
        if est.auth == "digest":
            assert est._digest is not None
            ok, stale = est._digest.verify(header, method, self.path) if header else (False, False)
            if ok:
                self._auth_by = "digest"
                return
            why = "nonce expired" if stale else "credentials refused" if header else "credentials required"
            raise _unauthorized(est._digest.challenge(stale=stale), why)
        # auth == "cert" and no client certificate: no HTTP challenge can help, so not 401 (which must carry
        # one, RFC 9110 §15.5.2) but 403; libest answers 401 without a challenge here
        raise _HttpError(403, "Forbidden: a TLS client certificate issued by this CA is required")

    # ---------------------------------------------------------------------------------- helpers

    def _b64_response(self, content_type: str, der: bytes) -> tuple[int, dict[str, str], bytes]:
        return 200, _b64_headers(content_type), _b64(der)

    def _decode_b64_body(self, body: bytes) -> bytes:
        """Base64 with any whitespace (RFC 8951); raw DER is tolerated as well."""
        compact = b"".join(body.split())
        try:
            return base64.b64decode(compact, validate=True)
        except binascii.Error:
            if body[:1] == b"\x30":
                return body
            raise _HttpError(400, "the body is neither base64 nor DER") from None

    def _check_media_type(self, expected: str) -> None:
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";", 1)[0].strip().lower() != expected:
            raise _HttpError(415, f"Content-Type must be {expected}")

    def _read_csr(self, body: bytes, *, verify: bool = True) -> CsrInfo:
        self._check_media_type("application/pkcs10")
        try:
            return parse_csr(self._decode_b64_body(body), verify=verify)
        except CsrError as exc:
            raise _HttpError(400, f"bad certification request: {exc}") from None

    def _check_channel_binding(self, info: CsrInfo) -> None:
        try:
            password = info.challenge_password
        except CsrError as exc:
            raise _HttpError(400, str(exc)) from None
        if password is None:
            if self.est.require_channel_binding:
                raise _HttpError(403, "Proof of Possession Mismatch: this server requires the CSR "
                                      "to carry base64(tls-unique) as challengePassword (RFC 7030 section 3.5).")
            return
        if self.tls_unique is None:
            raise _HttpError(400, "challengePassword carries tls-unique, which does not exist on TLS 1.3")
        expected = base64.b64encode(self.tls_unique).decode("ascii")
        if not hmac.compare_digest(password.encode(), expected.encode()):
            raise _HttpError(403, "Proof of Possession Mismatch: challengePassword is not "
                                  "the tls-unique value of this TLS connection.")

    def _check_pending(self, op: str, info: CsrInfo) -> None:
        est = self.est
        if est.pending_retry_after is None:
            return
        key = (op, info.spki_der)
        with est._lock:
            seen = est._pending.get(key, 0)
            if seen >= est.pending_repeats:
                return
            est._pending[key] = seen + 1
        retry = est.pending_retry_after
        value = retry if isinstance(retry, str) else str(int(retry))
        raise _HttpError(202, "", headers={"Retry-After": value}, body=b"")

    def _issue(self, info: CsrInfo, public_key: object = None) -> x509.Certificate:
        try:
            return self.est.ca.issue(
                info.subject, public_key if public_key is not None else info.public_key, info.extensions,
                lifetime=self.est.cert_lifetime,
            )
        except (ValueError, TypeError) as exc:  # e.g. a key type or extension the CA cannot certify
            raise _HttpError(400, f"cannot issue a certificate for this request: {exc}") from None

    # ---------------------------------------------------------------------------------- operations

    def _op_cacerts(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        est = self.est
        return self._b64_response("application/pkcs7-mime", _certs_only([*est.ca.ca_certificates, *est.extra_ca_certificates]))

    def _op_csrattrs(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        der = self.est.csr_attrs_der()
        if der is None:
            raise _HttpError(404, "CSR attributes are not offered by this server")
        if not der:
            return 204, {}, b""
        return self._b64_response("application/csrattrs", der)

    def _op_simpleenroll(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        info = self._read_csr(body)
        self._check_channel_binding(info)
        self._check_pending("simpleenroll", info)
        cert = self._issue(info)
        return self._b64_response("application/pkcs7-mime; smime-type=certs-only", self.est._issued_certs_only(cert))

    def _op_simplereenroll(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        info = self._read_csr(body)
        current = self.peer_cert
        if current is None or not self.est.ca.issued_this(current):
            raise _HttpError(403, "Forbidden: re-enrollment needs the TLS client certificate being "
                                  "renewed, issued by this CA")
        self._check_channel_binding(info)
        if not info.has_change_subject_name:
            if info.subject != current.subject:
                raise _HttpError(400, "the CSR subject differs from the certificate being renewed "
                                      "(RFC 7030 section 4.2.2) and no changeSubjectName is present")
            try:
                same_san = info.subject_alt_name_der == certificate_san_der(current)
            except CsrError as exc:
                raise _HttpError(400, str(exc)) from None
            if not same_san:
                raise _HttpError(400, "the CSR subjectAltName differs from the certificate being renewed "
                                      "(RFC 7030 section 4.2.2) and no changeSubjectName is present")
        self._check_pending("simplereenroll", info)
        cert = self._issue(info)
        return self._b64_response("application/pkcs7-mime; smime-type=certs-only", self.est._issued_certs_only(cert))

    def _op_serverkeygen(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        est = self.est
        if not est.server_keygen:
            raise _HttpError(501, "server-side key generation is not offered by this server")
        # RFC 7030 §4.4.1: the server MUST ignore the CSR's public key and signature
        info = self._read_csr(body, verify=est.verify_serverkeygen_signature)
        self._check_channel_binding(info)
        # find the decryption key first: an unknown one ends the request (RFC 7030 §4.4.1.1/2)
        try:
            kek_id = info.decrypt_key_identifier
            ski = info.asymmetric_decrypt_key_identifier
            caps = info.smime_capabilities
        except CsrError as exc:
            raise _HttpError(400, str(exc)) from None
        recipient: Recipient | None = None
        content_alg = EncryptionAlgorithm.AES256_CBC
        if kek_id is not None:
            kek = est.server_keygen_keks.get(kek_id)
            if kek is None:
                raise _HttpError(400, "DecryptKeyIdentifier names a key this server does not hold")
            recipient = KEKRecipient(kek=kek, kek_id=kek_id)
        elif ski is not None:
            recipient_cert = est.ca.find_by_ski(ski)
            if recipient_cert is None:
                raise _HttpError(400, "AsymmetricDecryptKeyIdentifier names no certificate this CA issued")
            _check_encryption_usage(recipient_cert)
            padding = est.rsa_key_transport
            if _OID_RSAES_OAEP in caps:
                padding = "oaep"
            elif _OID_RSA_ENCRYPTION in caps:
                padding = "pkcs1v15"
            recipient = _certificate_recipient(recipient_cert, padding)
            recipient = apply_capabilities(recipient, caps)  # key wrap / ECDH scheme from SMIMECapabilities
        if recipient is not None:
            # the client's first AES-CBC capability (RFC 8551 §2.5.2: in order of preference)
            content_alg = next((EncryptionAlgorithm(c) for c in caps if c in _AES_CBC), content_alg)
        self._check_pending("serverkeygen", info)
        key = generate_key(est.server_keygen_key_type or key_type_of(info.public_key))
        cert = self._issue(info, key.public_key())  # type: ignore[attr-defined]
        if recipient is not None:
            # RFC 7030 §4.4.2: EnvelopedData(SignedData(AsymmetricKeyPackage)), signed by the issuing CA
            enveloped = wrap_server_generated_key(
                key, [recipient], signer_key=est.ca.issuer_key, signer_certificate=est.ca.issuer_certificate,
                algorithm=content_alg,
            )
            key_part = ("application/pkcs7-mime; smime-type=server-generated-key", enveloped)
        else:
            pkcs8 = key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.DER, est._key_format(key), serialization.NoEncryption()
            )
            key_part = ("application/pkcs8", pkcs8)
        boundary = "est-" + secrets.token_hex(12)
        nl = est.multipart_line_ending
        parts = [key_part, ("application/pkcs7-mime; smime-type=certs-only", est._issued_certs_only(cert))]
        out = []
        for ctype, der in parts:
            b64 = base64.b64encode(der).decode("ascii")
            out.append(f"--{boundary}{nl}Content-Type: {ctype}{nl}Content-Transfer-Encoding: base64{nl}{nl}{b64}{nl}")
        payload = ("".join(out) + f"--{boundary}--{nl}").encode("ascii")
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, payload

    def _op_fullcmc(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        est = self.est
        if not est.fullcmc:
            raise _HttpError(501, "Full CMC is not offered by this server")
        self._check_media_type("application/pkcs7-mime")
        try:
            raw = self._decode_b64_body(body)
        except _HttpError:
            return self._cmc_error(None, "the body is neither base64 nor DER", CmcFailInfo.BAD_REQUEST)
        try:
            req, signed = _parse_full_pki_request(raw)
        except _CmcRequestError as exc:
            return self._cmc_error(None, str(exc), exc.fail_info)
        # verify every PKCS#10 before looking at the outer signature, whose key may be one of them
        results: list[tuple[int, CsrInfo | None, str, CmcFailInfo]] = []
        requests: list[Any] = list(req.req_sequence)
        for tr in requests:
            if tr.name != "tcr":
                results.append((tr.body_part_id, None, "only PKCS#10 requests (tcr) are supported",
                                CmcFailInfo.BAD_REQUEST))
                continue
            try:
                results.append((tr.body_part_id, from_request(tr.value.certification_request), "",
                                CmcFailInfo.BAD_REQUEST))
            except CsrError as exc:
                results.append((tr.body_part_id, None, str(exc), CmcFailInfo.POP_FAILED))
        if not requests:
            return self._cmc_error(req, "the PKIData holds no certification request", CmcFailInfo.BAD_REQUEST)
        if not _verify_full_pki_signature(signed, [i for _, i, _, _ in results if i is not None]):
            return self._cmc_error(req, "the Full PKI Request signature does not verify",
                                   CmcFailInfo.BAD_MESSAGE_CHECK)
        issued: list[x509.Certificate] = []
        ok_ids: list[int] = []
        failed: list[tuple[int, str, CmcFailInfo]] = []
        for bpid, info, problem, fail in results:
            if info is None:
                failed.append((bpid, problem, fail))
                continue
            issued.append(self._issue(info))
            ok_ids.append(bpid)
        if issued and est.fullcmc_response == "certs-only" and not failed:
            return self._b64_response("application/pkcs7-mime; smime-type=certs-only", _certs_only(issued))
        response = PkiResponseBuilder()
        if ok_ids:
            response.success(ok_ids)
        for bpid, problem, fail in failed:
            response.failed(fail, [bpid], status_string=problem)
        der = est._sign_pki_response(response, req, issued)
        if not issued:
            raise _HttpError(400, body=_b64(der),
                             headers=_b64_headers("application/pkcs7-mime; smime-type=CMC-response"))
        return self._b64_response("application/pkcs7-mime; smime-type=CMC-response", der)

    def _cmc_error(self, req: PKIData | None, message: str, fail: CmcFailInfo) -> tuple[int, dict[str, str], bytes]:
        der = self.est._sign_pki_response(PkiResponseBuilder().failed(fail, [0], status_string=message), req, [])
        raise _HttpError(400, body=_b64(der),
                         headers=_b64_headers("application/pkcs7-mime; smime-type=CMC-response"))

def _b64(der: bytes) -> bytes:
    """A base64 body: one line (RFC 4648 §3.1: no line feeds inside; strongSwan's decoder stops at the first),
    ended by a single LF, without which libest's client cannot read /cacerts (OpenSSL's base64 BIO waits for the
    end of the line)."""
    return base64.b64encode(der) + b"\n"


def _b64_headers(content_type: str) -> dict[str, str]:
    """Headers of a base64 body. RFC 8951 §3.2.2: EST bodies are always base64 (RFC 4648, here without line
    breaks) whatever Content-Transfer-Encoding says, and a recipient ignores that field; it is still sent
    with the value "base64", because older clients (RFC 7030 as first published, Bouncy Castle) look at it.
    Requests are decoded as base64 whatever they say in it."""
    return {"Content-Type": content_type, "Content-Transfer-Encoding": "base64"}


def _certs_only(certs: list[x509.Certificate]) -> bytes:
    """A certs-only Simple PKI Response (RFC 5272 §4.1), certificates in DER SET OF order."""
    return build_certs_only(certs, canonical=True)


def _certificate_recipient(cert: x509.Certificate, rsa_padding: str) -> Recipient:
    """The recipient for a certificate this CA issued, named by subject key identifier: RSA key transport
    (RSAES-OAEP with SHA-256, or PKCS#1 v1.5), or EC key agreement (ephemeral-static ECDH, RFC 5753: X9.63
    KDF with SHA-256 and AES-128 key wrap up to 256-bit curves, SHA-384 and AES-256 wrap above)."""
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyTransRecipient(certificate=cert, oaep=rsa_padding == "oaep", identify_by_ski=True)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        big = public_key.curve.key_size > 256
        return KeyAgreeRecipient(
            certificate=cert, identify_by_ski=True,
            scheme=_OID_ECDH_STD_SHA384_KDF if big else _OID_ECDH_STD_SHA256_KDF,
            wrap=_OID_AES256_WRAP if big else _OID_AES128_WRAP,
        )
    raise _HttpError(400, "the certificate named by AsymmetricDecryptKeyIdentifier has a key that can neither "
                          "transport nor agree keys")


def _check_encryption_usage(cert: x509.Certificate) -> None:
    """RFC 7030 §4.4.1.2: the key must allow keyTransport / keyAgreement, or be unrestricted."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and ku.key_encipherment:
        return
    if isinstance(key, ec.EllipticCurvePublicKey) and ku.key_agreement:
        return
    raise _HttpError(400, "the certificate named by AsymmetricDecryptKeyIdentifier may not be used for "
                          "key transport or key agreement")


class _CmcRequestError(Exception):
    """A body that cannot be read as a Full PKI Request, with the failInfo to answer with."""

    def __init__(self, message: str, fail_info: CmcFailInfo) -> None:
        super().__init__(message)
        self.fail_info = fail_info


def _parse_full_pki_request(raw: bytes) -> tuple[PKIData, SignedData]:
    """ContentInfo(SignedData(PKIData)), strict DER; the signature is checked by the caller."""
    try:
        ci = ContentInfo.from_der(raw)
    except CodecError:
        # CMS is BER (RFC 5652 §1.1.1): Bouncy Castle, for one, sends indefinite lengths. BER is normalised to
        # DER structure; the eContent octets and the signed attributes, which the signature covers, are the
        # octets as sent, so the signature is checked over what the client signed.
        try:
            ci = ContentInfo.from_der(raw, ber=True)
        except CodecError as exc:
            raise _CmcRequestError(f"not a Full PKI Request: {exc}", CmcFailInfo.BAD_MESSAGE_CHECK) from None
        raw = ci.to_der()
    try:
        signed = ci.signed_data()
    except CodecError as exc:
        raise _CmcRequestError(f"not a Full PKI Request: {exc}", CmcFailInfo.BAD_MESSAGE_CHECK) from None
    if signed.econtent_type != cmc_oid.PKI_DATA:
        raise _CmcRequestError("the SignedData does not carry id-cct-PKIData", CmcFailInfo.BAD_REQUEST)
    try:
        return parse_pki_data(raw), signed
    except CodecError as exc:
        raise _CmcRequestError(f"malformed PKIData: {exc}", CmcFailInfo.BAD_REQUEST) from None


def _names_signer(cert: Certificate, sid: Any) -> bool:
    if sid.name == "issuer_and_serial_number":
        ias = sid.value
        return bool(cert.serial_number == ias.serial_number and cert.issuer.to_der() == ias.issuer.to_der())
    return bool(cert.subject_key_identifier == sid.value)


def _signer_verifies(signed: SignedData, signer: Any, key: Any) -> bool:
    try:
        verify_signer_info(signed, signer, key)
    except CodecError:
        return False
    return True


def _verify_full_pki_signature(signed: SignedData, csrs: list[CsrInfo]) -> bool:
    """Every signer must verify, with a certificate it names or, by SKI, with a requested key.

    The certificate need not chain to anything: a Full PKI Request signed with an existing
    certificate (RFC 5272 §3.2.1.3.1) only proves possession here; who may enroll is HTTP/TLS auth.
    """
    if not signed.signer_infos:
        return False
    certs = signed.certificate_list
    for signer in signed.signer_infos:
        cert = next((c for c in certs if _names_signer(c, signer.sid)), None)
        if cert is not None:
            keys = [cert.public_key_info]
        elif signer.sid.name == "subject_key_identifier":
            keys = [i.request.public_key_info for i in csrs]
        else:
            keys = []
        if not any(_signer_verifies(signed, signer, key) for key in keys):
            return False
    return True

class EstTestServer:
    """A real HTTPS EST server on 127.0.0.1 with a throwaway CA. Use it as a context manager::

        with EstTestServer(auth="basic", ca_label="arbitraryLabel1") as srv:
            srv.url                # "https://127.0.0.1:PORT" (the origin; EST paths hang below it)
            srv.trust_anchor_pem   # PEM of the CA that signed the TLS certificate (and issues)
            srv.username, srv.password

    Options (all keyword-only):

    ``ca_label``: a label or a list of labels served as ``/.well-known/est/<label>/<op>``;
    ``serve_unlabelled`` (default True, as RFC 7030 §3.2.2 requires): also serve the bare paths.
    ``auth``: ``"basic"`` (default), ``"digest"``, ``"cert"`` or ``None``; ``username``,
    ``password`` (random when not given), ``realm``, ``digest_algorithm`` (``"SHA-256"`` default,
    ``"MD5"``, or a ``-sess`` variant); ``auth_csrattrs`` (default False) puts /csrattrs behind auth.
    ``pending_retry_after``: None (default), seconds, or a string sent verbatim as Retry-After
    (e.g. an HTTP-date); ``pending_repeats`` (default 1) 202s per operation and public key.
    ``server_keygen_keks``: ``{kek_id: kek}`` AES keys of 16/24/32 bytes.
    ``server_keygen`` / ``fullcmc`` (default True): False makes the operation answer 501.
    ``server_keygen_key_type``: force a key type (``"ec-p256"``, ``"rsa-2048"``...); default: the
    CSR key's family (libest's client refuses keys under 256 bytes of DER: choose an RSA type for it).
    ``server_keygen_key_format``: ``"pkcs8"`` (default) or ``"traditional"``
    (PKCS#1/SEC1, as libest sends under the pkcs8 label) for the unencrypted key part; an encrypted
    key is always a OneAsymmetricKey in an AsymmetricKeyPackage (RFC 7030 §4.4.2, RFC 5958).
    ``verify_serverkeygen_signature`` (default False: RFC 7030 §4.4.1 says the server MUST ignore the CSR's key and signature).
    ``rsa_key_transport``: ``"oaep"``
    (default, SHA-256) or ``"pkcs1v15"`` when the CSR's SMIMECapabilities do not choose.
    ``require_channel_binding``: caps TLS at 1.2 and requires base64(tls-unique) as challengePassword.
    ``tls_min_version`` / ``tls_max_version``: ``"1.2"``/``"1.3"`` or ``ssl.TLSVersion``.
    ``cert_lifetime``: seconds of validity of issued certificates (default 30 days).
    ``close_after_error`` (default True): close the connection after 202/4xx/5xx, as libest does.
    ``verbose``: one line per request (method, path, status, authentication used, bytes in and out,
    milliseconds) on ``log_stream`` (default ``sys.stderr``).
    ``csr_attrs``: None (default set), DER bytes (served as given; ``b""`` gives 204), a list of
    dotted OIDs, or False (404). ``fullcmc_response``: ``"pki-response"`` (default) or ``"certs-only"``.
    ``client_trust_pem``: extra PEM trust anchors for TLS client certificates (third-party certs).
    ``extra_ca_certificates``: more certificates for /cacerts (e.g. rollover certificates).
    ``ca_key_type``: the CA's key (default ``"ec-p256"``). ``ca_intermediate``: issue (and serve TLS)
    from an intermediate CA below the root; /cacerts then holds both. ``ca_rollover``: add the RFC 4210
    §4.4 root key-update certificates (NewWithNew, OldWithNew, NewWithOld) to /cacerts, as RFC 7030
    §4.1.3 suggests. ``enroll_response_chain``: put the CA chain next to the issued certificate in
    enrollment responses (RFC 7030 §4.2.3 says "only the certificate that was issued"; real servers
    differ, and certificates in a certs-only response have no defined order). ``tls_cmc_ra``: put id-kp-cmcRA into
    the TLS certificate. ``tls_hostname_in_cert`` (default True): False leaves the TLS certificate
    without any SAN for 127.0.0.1/localhost (to test server-authorization failures).
    """

    def __init__(
        self,
        *,
        ca_label: str | Iterable[str] | None = None,
        serve_unlabelled: bool = True,
        auth: str | None = "basic",
        username: str = "estuser",
        password: str | None = None,
        realm: str = "estrealm",
        digest_algorithm: str = "SHA-256",
        auth_csrattrs: bool = False,
        pending_retry_after: float | str | None = None,
        pending_repeats: int = 1,
        server_keygen_keks: Mapping[bytes, bytes] | None = None,
        server_keygen: bool = True,
        server_keygen_key_type: str | None = None,
        server_keygen_key_format: str = "pkcs8",
        verify_serverkeygen_signature: bool = False,
        rsa_key_transport: str = "oaep",
        fullcmc: bool = True,
        fullcmc_response: str = "pki-response",
        require_channel_binding: bool = False,
        tls_min_version: str | ssl.TLSVersion | None = None,
        tls_max_version: str | ssl.TLSVersion | None = None,
        cert_lifetime: float = 30 * 86400,
        close_after_error: bool = True,
        csr_attrs: bytes | list[str] | bool | None = None,
        client_trust_pem: bytes | None = None,
        extra_ca_certificates: Iterable[x509.Certificate] = (),
        ca_key_type: str = "ec-p256",
        ca_intermediate: bool = False,
        ca_rollover: bool = False,
        enroll_response_chain: bool = False,
        tls_cmc_ra: bool = False,
        tls_hostname_in_cert: bool = True,
        revocation: bool = False,
        revocation_port: int = 0,
        ocsp_signer: str = "ca",
        ca_name_constraints: x509.NameConstraints | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout: float = 15.0,
        verbose: bool = False,
        log_stream: Any = None,
    ) -> None:
        if auth not in ("basic", "digest", "cert", None):
            raise ValueError("auth must be 'basic', 'digest', 'cert' or None")
        labels = [ca_label] if isinstance(ca_label, str) else list(ca_label or [])
        for label in labels:
            if not label or "/" in label or label in OPERATIONS:
                raise ValueError(f"invalid CA label {label!r} (RFC 7030 section 3.2.2)")
        if fullcmc_response not in ("pki-response", "certs-only"):
            raise ValueError("fullcmc_response must be 'pki-response' or 'certs-only'")
        if server_keygen_key_format not in ("pkcs8", "traditional"):
            raise ValueError("server_keygen_key_format must be 'pkcs8' or 'traditional'")
        if ca_key_type not in ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072"):
            raise ValueError("ca_key_type must be 'ec-p256', 'ec-p384', 'rsa-2048' or 'rsa-3072'")
        if server_keygen_key_type is not None and server_keygen_key_type not in SERVER_KEY_TYPES:
            raise ValueError(f"server_keygen_key_type must be one of {', '.join(SERVER_KEY_TYPES)}")
        if rsa_key_transport not in ("oaep", "pkcs1v15"):
            raise ValueError("rsa_key_transport must be 'oaep' or 'pkcs1v15'")
        keks = dict(server_keygen_keks or {})
        for kek_id, kek in keks.items():
            if not isinstance(kek_id, bytes) or not isinstance(kek, bytes) or len(kek) not in (16, 24, 32):
                raise ValueError("server_keygen_keks maps bytes key ids to AES keys of 16, 24 or 32 bytes")
        self.tls_min_version = _tls_version(tls_min_version) or ssl.TLSVersion.TLSv1_2
        self.tls_max_version = _tls_version(tls_max_version)
        if require_channel_binding:
            if self.tls_min_version > ssl.TLSVersion.TLSv1_2:
                raise ValueError("channel binding (tls-unique) needs TLS 1.2; it cannot be required on TLS 1.3")
            self.tls_max_version = ssl.TLSVersion.TLSv1_2
        self.ca_labels = tuple(labels)
        self.ca_label = labels[0] if labels else None
        self.serve_unlabelled = serve_unlabelled
        self.auth = auth
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(12)
        self.realm = realm
        self.auth_csrattrs = auth_csrattrs
        self._digest = (
            DigestVerifier(self.username, self.password, realm=realm, algorithm=digest_algorithm)
            if auth == "digest" else None
        )
        self.pending_retry_after = pending_retry_after
        self.pending_repeats = pending_repeats
        self.server_keygen_keks = keks
        self.server_keygen = server_keygen
        self.server_keygen_key_type = server_keygen_key_type
        self.server_keygen_key_format = server_keygen_key_format
        self.verify_serverkeygen_signature = verify_serverkeygen_signature
        self.rsa_key_transport = rsa_key_transport
        self.fullcmc = fullcmc
        self.fullcmc_response = fullcmc_response
        self.require_channel_binding = require_channel_binding
        self.cert_lifetime = float(cert_lifetime)
        self.close_after_error = close_after_error
        self.csr_attrs = csr_attrs
        self.client_trust_pem = client_trust_pem
        self.extra_ca_certificates = list(extra_ca_certificates)
        self.multipart_line_ending = "\r\n"
        self.host = host
        self.idle_timeout = idle_timeout
        self.verbose = verbose
        self._log_stream = log_stream
        self.enroll_response_chain = enroll_response_chain
        self.ca = TestCa(
            key_type=ca_key_type, tls_cmc_ra=tls_cmc_ra, tls_include_hostname=tls_hostname_in_cert,
            intermediate=ca_intermediate, rollover=ca_rollover, name_constraints=ca_name_constraints,
        )
        self.revocation = (RevocationService(self.ca, host=host, port=revocation_port, ocsp_signer=ocsp_signer)
                           if revocation else None)
        self.requests: list[RequestRecord] = []
        self.connections_opened = 0
        self.tls_failures = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, bytes], int] = {}
        self._open: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._requested_port = port

    # ---------------------------------------------------------------------------------- lifecycle

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = self.tls_min_version
        if self.tls_max_version is not None:
            ctx.maximum_version = self.tls_max_version
        with tempfile.TemporaryDirectory(prefix="est-test-server-") as tmp:
            cert_path = os.path.join(tmp, "server.pem")
            key_path = os.path.join(tmp, "server.key")
            with open(cert_path, "wb") as fh:
                fh.write(self.ca.tls_chain_pem())
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.ca.tls_key_pem())
            ctx.load_cert_chain(cert_path, key_path)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        # the intermediate joins the trust store so that clients presenting just their leaf verify
        trust = "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in [self.ca.certificate, *self.ca.intermediates]
        ) + (self.client_trust_pem or b"").decode()
        ctx.load_verify_locations(cadata=trust)
        return ctx

    def start(self) -> EstTestServer:
        if self._httpd is not None:
            return self
        ctx = self._ssl_context()
        if self.revocation is not None:  # first, so that a port in use leaves nothing running
            self.revocation.start()
        try:
            httpd = _Server((self.host, self._requested_port), self)
        except BaseException:
            if self.revocation is not None:
                self.revocation.stop()
            raise
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="EstTestServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        if self.revocation is not None:
            self.revocation.stop()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            open_socks = list(self._open)
        for sock in open_socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EstTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------------- public data

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The origin, ``https://127.0.0.1:PORT``; operations live under ``/.well-known/est/``."""
        return f"https://{self.host}:{self.port}"

    def operation_url(self, operation: str, *, label: str | None = None) -> str:
        """Full URL of an operation, with ``label`` (or none) between ``/.well-known/est/`` and it."""
        return f"{self.url}{_PREFIX}{label + '/' if label else ''}{operation}"

    @property
    def trust_anchor_pem(self) -> bytes:
        return self.ca.certificate_pem

    @property
    def ca_certificate(self) -> x509.Certificate:
        return self.ca.certificate

    @property
    def ca_key(self) -> object:
        return self.ca.key

    @property
    def issuer_certificate(self) -> x509.Certificate:
        """The CA certificate that signs issued certificates (the root unless ``ca_intermediate``)."""
        return self.ca.issuer_certificate

    @property
    def ca_fingerprint_sha256(self) -> bytes:
        """SHA-256 over the CA certificate's DER (what an RFC 7030 §4.1.1 bootstrap compares)."""
        from cryptography.hazmat.primitives import hashes

        return self.ca.certificate.fingerprint(hashes.SHA256())

    @property
    def tls_certificate(self) -> x509.Certificate:
        return self.ca.tls_certificate

    @property
    def issued_certificates(self) -> list[x509.Certificate]:
        with self.ca._lock:
            return list(self.ca.issued.values())

    def issue_client_identity(
        self,
        common_name: str,
        *,
        key_type: str = "ec-p256",
        lifetime: float | None = None,
        san_dns: Iterable[str] = (),
        key_usage: x509.KeyUsage | None = None,
    ) -> tuple[bytes, bytes]:
        """Issue a TLS client certificate from this CA: returns (cert_pem, key_pem PKCS#8)."""
        key = generate_key(key_type)
        requested: list[x509.Extension[x509.ExtensionType]] = []
        sans = [x509.DNSName(d) for d in san_dns]
        if sans:
            requested.append(x509.Extension(x509.SubjectAlternativeName.oid, False, x509.SubjectAlternativeName(sans)))
        if key_usage is not None:
            requested.append(x509.Extension(x509.KeyUsage.oid, True, key_usage))
        cert = self.ca.issue(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
            key.public_key(),  # type: ignore[attr-defined]
            requested,
            lifetime=self.cert_lifetime if lifetime is None else lifetime,
            extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        key_pem = key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def client_ssl_context(
        self,
        identity: tuple[bytes, bytes] | None = None,
        *,
        max_version: str | ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` for a plain HTTP client (httpx, urllib) that trusts this server.

        ``identity`` is a (cert_pem, key_pem) pair such as :meth:`issue_client_identity` returns,
        presented as the TLS client certificate; ``max_version`` caps the client's TLS version.
        """
        ctx = ssl.create_default_context(cadata=self.trust_anchor_pem.decode("ascii"))
        cap = _tls_version(max_version)
        if cap is not None:
            ctx.maximum_version = cap
        if identity is not None:
            with tempfile.TemporaryDirectory(prefix="est-test-client-") as tmp:
                cert_path = os.path.join(tmp, "client.pem")
                key_path = os.path.join(tmp, "client.key")
                with open(cert_path, "wb") as fh:
                    fh.write(identity[0])
                fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(identity[1])
                ctx.load_cert_chain(cert_path, key_path)
        return ctx

    def revoke(self, certificate: Any, *, reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise) -> None:
        """Revoke a certificate this server issued (``cryptography`` or ``estcodec`` certificate, or a serial):
        the CRL lists it and the OCSP responder answers "revoked" from now on."""
        if isinstance(certificate, Certificate):
            certificate = x509.load_der_x509_certificate(certificate.to_der())
        self.ca.revoke(certificate, reason=reason)

    def reset_pending(self) -> None:
        """Forget which requests were already answered 202."""
        with self._lock:
            self._pending.clear()

    def csr_attrs_der(self) -> bytes | None:
        """The /csrattrs body (DER) as configured; b"" means 204, None means 404."""
        value = self.csr_attrs
        if value is False:
            return None
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        oids = list(value) if isinstance(value, list) else [_OID_SHA256]
        if self.require_channel_binding and csrattrs_oid.CHALLENGE_PASSWORD not in oids:
            oids.insert(0, csrattrs_oid.CHALLENGE_PASSWORD)
        builder = CsrAttrsBuilder()
        for attr_oid in oids:
            builder = builder.oid(attr_oid)
        return builder.build().to_der()

    # ---------------------------------------------------------------------------------- internals

    def _sign_pki_response(
        self, response: PkiResponseBuilder, request: PKIData | None, certificates: list[x509.Certificate]
    ) -> bytes:
        """ContentInfo(SignedData(PKIResponse)) signed by the issuing CA: after the statuses, the
        transactionId echoed and the client's senderNonce returned as recipientNonce (RFC 5272 §6.6), then a
        fresh senderNonce; the issued certificates ride in the SignedData certificates field."""
        if request is not None:
            response.reply_to(request)
        response.random_sender_nonce()
        for cert in certificates:
            response.add_certificate(cert)
        return response.sign(self.ca.issuer_key, self.ca.issuer_certificate, canonical=True)  # DER SET OF order

    def _issued_certs_only(self, cert: x509.Certificate) -> bytes:
        chain = [*self.ca.intermediates, self.ca.certificate] if self.enroll_response_chain else []
        return _certs_only([*chain, cert])

    def _key_format(self, key: object) -> serialization.PrivateFormat:
        if self.server_keygen_key_format == "traditional" and isinstance(
            key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)
        ):
            return serialization.PrivateFormat.TraditionalOpenSSL
        return serialization.PrivateFormat.PKCS8

    def _new_connection(self, sock: socket.socket) -> int:
        with self._lock:
            self.connections_opened += 1
            self._open.add(sock)
            return self.connections_opened

    def _end_connection(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _note_tls_failure(self) -> None:
        with self._lock:
            self.tls_failures += 1

    def _log(self, line: str) -> None:
        stream = self._log_stream if self._log_stream is not None else sys.stderr
        with self._lock:
            print(line, file=stream, flush=True)

    def _note_error(self) -> None:
        with self._lock:
            self.errors += 1

    def __repr__(self) -> str:
        state = f"{self.url}" if self._httpd is not None else "stopped"
        return f"<EstTestServer {state} auth={self.auth!r} labels={list(self.ca_labels)}>"

