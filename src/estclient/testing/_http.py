"""HTTP for the reference server: request bodies (Content-Length or chunked, capped), routing of
``/.well-known/est/[<label>/]<op>``, the error raised to answer with a status, and base64 bodies."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from email.message import Message
from io import BufferedIOBase
from typing import Mapping
from urllib.parse import urlsplit

from cryptography import x509

from ._state import OPERATIONS, PREFIX, ServerState

GET_OPS = ("cacerts", "csrattrs")
MAX_BODY = 1 << 20
_MAX_CHUNK_LINE = 1024  # a chunk-size line (with extensions) or a trailer line longer than this is refused
_MAX_TRAILERS = 32
_CLOSE = {"Connection": "close"}

Reply = tuple[int, dict[str, str], bytes]  # status, headers, body


class HttpError(Exception):
    """Ends a request with ``status``: ``message`` becomes a text/plain body unless ``body`` is given;
    ``reason`` replaces the status line's reason phrase."""

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

    def reply(self) -> tuple[Reply, str | None]:
        """The answer this error stands for, and its reason phrase (None: the standard one)."""
        headers = dict(self.headers)
        if self.body is None:
            payload = (f"Error {self.status}: {self.message}\n" if self.message else "").encode()
            if payload:
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = self.body
            if self.content_type:
                headers["Content-Type"] = self.content_type
        return (self.status, headers, payload), self.reason


def unauthorized(challenge: str, reason: str) -> HttpError:
    """401 with its challenge (RFC 9110 §15.5.2) and an empty body: the reason travels in the status line.

    Some clients (Bouncy Castle's EST client) close a 401 without reading its body and then fail on the
    unread bytes; an empty body serves them and costs the others nothing.
    """
    return HttpError(401, reason, headers={"WWW-Authenticate": challenge}, body=b"", reason=f"Unauthorized ({reason})")


@dataclass(frozen=True)
class Exchange:
    """One request as the operations see it: the server, the request line and headers, and what the TLS
    connection it arrived on proved (client certificate, tls-unique)."""

    est: ServerState
    method: str
    path: str
    headers: Message
    peer_cert: x509.Certificate | None
    tls_unique: bytes | None

    def check_media_type(self, expected: str) -> None:
        """415 unless the request's Content-Type (parameters aside) is ``expected``."""
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";", 1)[0].strip().lower() != expected:
            raise HttpError(415, f"Content-Type must be {expected}")


def b64(der: bytes) -> bytes:
    """A base64 body: one line (RFC 4648 §3.1: no line feeds inside; strongSwan's decoder stops at the first),
    ended by a single LF, without which libest's client cannot read /cacerts (OpenSSL's base64 BIO waits for the
    end of the line)."""
    return base64.b64encode(der) + b"\n"


def b64_headers(content_type: str) -> dict[str, str]:
    """Headers of a base64 body. RFC 8951 §3.2.2: EST bodies are always base64 (RFC 4648, here without line
    breaks) whatever Content-Transfer-Encoding says, and a recipient ignores that field; it is still sent
    with the value "base64", because older clients (RFC 7030 as first published, Bouncy Castle) look at it.
    Requests are decoded as base64 whatever they say in it."""
    return {"Content-Type": content_type, "Content-Transfer-Encoding": "base64"}


def b64_reply(content_type: str, der: bytes, *, status: int = 200) -> Reply:
    """``der`` as a base64 body of ``content_type``."""
    return status, b64_headers(content_type), b64(der)


def decode_b64_body(body: bytes) -> bytes:
    """Base64 with any whitespace (RFC 8951); raw DER is tolerated as well."""
    compact = b"".join(body.split())
    try:
        return base64.b64decode(compact, validate=True)
    except binascii.Error:
        if body[:1] == b"\x30":
            return body
        raise HttpError(400, "the body is neither base64 nor DER") from None


def read_body(rfile: BufferedIOBase, headers: Message) -> bytes:
    """The request body, by Content-Length or chunked, at most 1 MiB."""
    coding = headers.get("Transfer-Encoding")
    if coding is not None:
        # RFC 9112 §6.1/§7.1: a recipient must parse chunked; Transfer-Encoding overrides Content-Length
        # (§6.3), and such a message ends the connection afterwards
        if coding.strip().lower() != "chunked":
            raise HttpError(501, "only the chunked transfer coding is implemented", headers=_CLOSE)
        return _read_chunked(rfile)
    raw = headers.get("Content-Length", "0") or "0"
    try:
        length = int(raw)
    except ValueError:
        raise HttpError(400, "bad Content-Length", headers=_CLOSE) from None
    if length < 0 or length > MAX_BODY:
        raise HttpError(413, "request body too large", headers=_CLOSE)
    return rfile.read(length) if length else b""


def _read_chunked(rfile: BufferedIOBase) -> bytes:
    """A chunked body (RFC 9112 §7.1) under the same cap as a Content-Length one; extensions and trailer
    fields are read and ignored. Every loop is bounded by the cap or by the trailer count."""
    out = bytearray()
    while True:
        line = rfile.readline(_MAX_CHUNK_LINE + 1)
        if len(line) > _MAX_CHUNK_LINE or not line.endswith(b"\n"):
            raise HttpError(400, "malformed chunk-size line", headers=_CLOSE)
        size_text = line.split(b";", 1)[0].strip()
        try:
            if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
                raise ValueError
            size = int(size_text, 16)
        except ValueError:
            raise HttpError(400, "malformed chunk size", headers=_CLOSE) from None
        if size == 0:
            break
        if len(out) + size > MAX_BODY:
            raise HttpError(413, "request body too large", headers=_CLOSE)
        data = rfile.read(size)
        if len(data) != size or rfile.read(2) != b"\r\n":
            raise HttpError(400, "truncated or malformed chunk", headers=_CLOSE)
        out += data
    for _ in range(_MAX_TRAILERS):
        line = rfile.readline(_MAX_CHUNK_LINE + 1)
        if len(line) > _MAX_CHUNK_LINE or not line.endswith(b"\n"):
            raise HttpError(400, "malformed trailer section", headers=_CLOSE)
        if line in (b"\r\n", b"\n"):
            return bytes(out)
    raise HttpError(400, "too many trailer fields", headers=_CLOSE)


def route(target: str, est: ServerState) -> tuple[str, str | None]:
    """(operation, CA label or None) of a request target; 404 for anything this server does not serve."""
    path = urlsplit(target).path
    if not path.startswith(PREFIX):
        raise HttpError(404, "Not Found")
    segments = path[len(PREFIX):].split("/")
    if len(segments) == 1:
        if not est.serve_unlabelled:
            raise HttpError(404, "this server needs a CA label in the path")
        label, op = None, segments[0]
    elif len(segments) == 2:
        label, op = segments
        if label not in est.ca_labels:
            raise HttpError(404, "unknown CA label")
    else:
        raise HttpError(404, "Not Found")
    if op not in OPERATIONS:
        raise HttpError(404, "unknown EST operation")
    return op, label


def check_method(op: str, method: str) -> None:
    """405 (with Allow) unless ``method`` fits ``op``: GET or HEAD for the GET operations, POST for the others."""
    if op in GET_OPS and method not in ("GET", "HEAD") or op not in GET_OPS and method != "POST":
        raise HttpError(405, "Method Not Allowed", headers={"Allow": "GET, HEAD" if op in GET_OPS else "POST"})
