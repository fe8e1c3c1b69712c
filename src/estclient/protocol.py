"""Sans-IO EST protocol (RFC 7030 as updated by RFC 8951 and RFC 9908).

This module builds requests for the six EST operations and parses responses into typed results or
:mod:`estclient.errors` exceptions. It performs no I/O and never imports httpx: requests are
:class:`EstRequest` values, responses are :class:`EstResponse` values built by whoever did the I/O.

Tolerance (RFC 8951 and real servers, see ``tests/vectors/libest-captures``):

- bodies are base64 with CR, LF, space or tab anywhere, may end with NUL bytes (libest's csrattrs), may be
  PEM-armoured, or raw DER when they are not base64; ``Content-Transfer-Encoding`` is ignored;
- media types are compared on type/subtype only, case-insensitively, with spaces tolerated around ``;``;
- PKCS#7 certs-only bodies may be BER;
- ``text/plain`` (or untyped) error bodies become :attr:`ServerError.message`.
"""
from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .config import OPERATIONS, validate_ca_label
from .errors import AuthenticationRequired, ConfigError, EstError, NotSupported, ProtocolError, ServerError

__all__ = [
    "EstRequest",
    "EstResponse",
    "Issued",
    "Pending",
    "CaCertificates",
    "ServerKeygenResponse",
    "CmcResponse",
    "CmcRequest",
    "WELL_KNOWN",
    "operation_path",
    "build_cacerts_request",
    "build_csrattrs_request",
    "build_simpleenroll_request",
    "build_simplereenroll_request",
    "build_serverkeygen_request",
    "build_fullcmc_request",
    "parse_cacerts_response",
    "parse_csrattrs_response",
    "parse_enroll_response",
    "parse_serverkeygen_response",
    "parse_fullcmc_response",
    "decode_body",
    "encode_body",
    "parse_media_type",
    "parse_retry_after",
    "select_issued_certificate",
    "spki_of",
]

WELL_KNOWN = "/.well-known/est"

CT_PKCS10 = "application/pkcs10"
CT_PKCS7 = "application/pkcs7-mime"
CT_CSRATTRS = "application/csrattrs"
CT_PKCS8 = "application/pkcs8"
CT_MULTIPART = "multipart/mixed"
CT_TEXT = "text/plain"

#: Operations a server may leave out (RFC 7030 §4): 404/501 there mean "not supported".
OPTIONAL_OPERATIONS = ("csrattrs", "serverkeygen", "fullcmc")

_MAX_ERROR_MESSAGE = 1000
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_WHITESPACE = b" \t\r\n\x0b\x0c"


# --------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class EstRequest:
    """One HTTP request to send. ``path`` is relative to the server URL; ``url``, when set, is an absolute
    same-origin URL that replaces it (a followed redirect)."""

    method: str
    path: str
    operation: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    url: str | None = None

    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


class _Headers(Mapping[str, str]):
    """Case-insensitive, read-only header view; repeated headers are joined with ", "."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> None:
        data: dict[str, str] = {}
        if items is None:
            pairs: Iterable[tuple[str, str]] = ()
        elif isinstance(items, Mapping):
            pairs = items.items()
        else:
            pairs = items
        for k, v in pairs:
            if isinstance(k, bytes):
                k = k.decode("latin-1")
            if isinstance(v, bytes):
                v = v.decode("latin-1")
            key = k.lower()
            data[key] = f"{data[key]}, {v}" if key in data else v
        self._data = data

    def __getitem__(self, key: str) -> str:
        return self._data[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        shown = {k: ("<hidden>" if k in ("authorization", "set-cookie") else v) for k, v in self._data.items()}
        return f"Headers({shown!r})"


class EstResponse:
    """An HTTP response as received: status, headers (case-insensitive) and the complete body."""

    __slots__ = ("status", "headers", "body")

    def __init__(
        self, status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None, body: bytes = b""
    ) -> None:
        self.status = int(status)
        self.headers: Mapping[str, str] = _Headers(headers)
        self.body = bytes(body or b"")

    @property
    def media_type(self) -> str | None:
        ct = self.headers.get("content-type")
        return parse_media_type(ct)[0] if ct else None

    def __repr__(self) -> str:
        return f"EstResponse(status={self.status}, media_type={self.media_type!r}, body={len(self.body)} bytes)"


# --------------------------------------------------------------------------------------------- results


def _pem(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


class CaCertificates(Sequence[Any]):
    """The CA certificates of a ``/cacerts`` response (RFC 7030 §4.1.3), in the order the server sent them.

    Items are :class:`estcodec.x509.Certificate` models. ``len()``, iteration, indexing, :meth:`to_pem`.
    """

    def __init__(self, certificates: Iterable[Any]) -> None:
        self._certs = list(certificates)

    def __len__(self) -> int:
        return len(self._certs)

    def __getitem__(self, index: Any) -> Any:
        return self._certs[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._certs)

    @property
    def certificates(self) -> list[Any]:
        return list(self._certs)

    def to_pem(self) -> str:
        """All certificates as concatenated PEM ``CERTIFICATE`` blocks."""
        return "".join(_pem("CERTIFICATE", c.to_der()) for c in self._certs)

    def fingerprints_sha256(self) -> list[str]:
        return [hashlib.sha256(c.to_der()).hexdigest() for c in self._certs]

    def __repr__(self) -> str:
        return f"CaCertificates({len(self._certs)} certificates)"


@dataclass(frozen=True)
class Issued:
    """A certificate was issued. ``certificate`` is the one whose public key is the requester's; ``chain``
    holds the other certificates of the response (often empty), in the server's order."""

    certificate: Any
    chain: tuple[Any, ...] = ()

    def to_pem(self) -> str:
        return _pem("CERTIFICATE", self.certificate.to_der()) + "".join(
            _pem("CERTIFICATE", c.to_der()) for c in self.chain
        )


@dataclass(frozen=True)
class Pending:
    """202 Accepted: the request is queued; repeat the same request after ``retry_after`` seconds
    (``None`` when the server gave no usable Retry-After)."""

    retry_after: float | None


@dataclass(frozen=True, repr=False)
class ServerKeygenResponse:
    """``/serverkeygen`` result (RFC 7030 §4.4.2).

    ``private_key`` is the PKCS#8 DER of the generated key, or ``None`` when it arrived encrypted and the caller
    gave no key to decrypt it; ``encrypted_key`` then holds the CMS bytes as received (never the plaintext
    key). ``key_encrypted`` says whether the server encrypted the key.
    """

    certificate: Any
    private_key: bytes | None
    encrypted_key: bytes | None = None
    key_encrypted: bool = False
    chain: tuple[Any, ...] = ()

    def private_key_object(self) -> Any:
        """The key as a ``cryptography`` private key object (raises ProtocolError if it is not available)."""
        if self.private_key is None:
            raise ProtocolError("the server-generated key was not decrypted")
        return _key_object(self.private_key)

    def __repr__(self) -> str:
        return (
            f"ServerKeygenResponse(certificate={self.certificate!r}, private_key="
            f"{'<hidden>' if self.private_key else None}, key_encrypted={self.key_encrypted})"
        )


@dataclass(frozen=True)
class CmcResponse:
    """``/fullcmc`` result. ``pki_response`` is the :class:`estcodec.cmc.PKIResponse` (``None`` when the server
    answered with a bare certs-only message), ``certificates`` the certificates it carries."""

    pki_response: Any
    certificates: tuple[Any, ...] = ()

    def is_pending(self) -> bool:
        return self.pki_response is not None and bool(self.pki_response.is_pending())


@dataclass(frozen=True, repr=False)
class CmcRequest:
    """A Full PKI Request to sign: a :class:`estcodec.cmc.PKIData` (or a PKCS#10 CSR to wrap into one) and the
    signer's key (and certificate, if it has one; without it the signer is named by subject key identifier,
    RFC 5272 §3.2)."""

    pki_data: Any
    private_key: Any
    certificate: Any = None

    @classmethod
    def for_csr(
        cls, csr_der: bytes, private_key: Any, *, certificate: Any = None, transaction_id: int | None = None
    ) -> CmcRequest:
        from estcodec.cmc import PkiDataBuilder

        b = PkiDataBuilder()
        if transaction_id is not None:
            b = b.transaction_id(transaction_id) or b
        b = b.random_sender_nonce() or b
        b = b.add_certification_request(csr_der) or b
        return cls(b.build(), private_key, certificate)

    def to_der(self) -> bytes:
        from estcodec.cmc import sign_pki_data

        return sign_pki_data(self.pki_data, self.private_key, self.certificate)

    def __repr__(self) -> str:
        return "CmcRequest(pki_data=..., private_key=<hidden>)"


# --------------------------------------------------------------------------------------------- helpers


def operation_path(operation: str, ca_label: str | None = None) -> str:
    """``/.well-known/est/[label/]operation`` (RFC 7030 §3.2.2)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown EST operation {operation!r}")
    if ca_label is None:
        return f"{WELL_KNOWN}/{operation}"
    return f"{WELL_KNOWN}/{validate_ca_label(ca_label)}/{operation}"


def encode_body(der: bytes) -> bytes:
    """base64 with a line break every 64 characters (RFC 7030 §4 / RFC 8951)."""
    b64 = base64.b64encode(der)
    return b"\r\n".join(b64[i : i + 64] for i in range(0, len(b64), 64)) + b"\r\n"


def decode_body(body: bytes, what: str = "body") -> bytes:
    """Decode an EST body to DER: base64 with whitespace anywhere and trailing NULs, PEM armour, or raw DER.

    Raises ProtocolError when the body is neither.
    """
    raw = bytes(body)
    data = raw.rstrip(b"\x00" + _WHITESPACE).lstrip(_WHITESPACE)
    if not data:
        raise ProtocolError(f"{what} is empty")
    if data.startswith(b"-----BEGIN"):
        lines = [ln for ln in re.split(rb"\r\n|\n|\r", data) if ln and not ln.startswith(b"-----")]
        data = b"".join(ln for ln in lines if b":" not in ln)
    compact = data.translate(None, _WHITESPACE)
    if compact and all(c in _B64_ALPHABET for c in compact):
        text = compact.replace(b"-", b"+").replace(b"_", b"/").rstrip(b"=")
        text += b"=" * (-len(text) % 4)
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded:
            return decoded
    if raw[:1] == b"\x30":
        # raw DER/BER (RFC 8951 §3.2 tolerance): returned exactly as received; trailing bytes are the
        # decoder's business (a DER SET OF may legitimately end in 0x00)
        return raw
    raise ProtocolError(f"{what} is neither base64 nor DER")


def parse_media_type(value: str | None) -> tuple[str, dict[str, str]]:
    """``'Application/PKCS7-MIME ; smime-type="certs-only"'`` -> ``('application/pkcs7-mime',
    {'smime-type': 'certs-only'})``. Parameter names are lower-cased, values unquoted."""
    if not value:
        return "", {}
    parts = _split_params(value)
    mtype = re.sub(r"\s+", "", parts[0]).lower()
    params: dict[str, str] = {}
    for p in parts[1:]:
        if "=" not in p:
            continue
        k, v = p.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1].replace('\\"', '"')
        params[k.strip().lower()] = v
    return mtype, params


def _split_params(value: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); ``None`` when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        # delay-seconds; an absurdly long number is as unreadable as garbage (int() refuses > 4300 digits)
        return float(int(text)) if len(text) <= 12 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def spki_of(key_or_csr: Any) -> bytes | None:
    """SubjectPublicKeyInfo DER of a ``cryptography`` private/public key, a PKCS#10 DER CSR or SPKI bytes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if key_or_csr is None:
        return None
    pub: Any
    if isinstance(key_or_csr, (bytes, bytearray)):
        try:
            csr = x509.load_der_x509_csr(bytes(key_or_csr))
            pub = csr.public_key()
        except ValueError:
            try:
                pub = serialization.load_der_public_key(bytes(key_or_csr))
            except (ValueError, TypeError):
                return None
    elif hasattr(key_or_csr, "public_key"):
        pub = key_or_csr.public_key()
    else:
        pub = key_or_csr
    try:
        return bytes(pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    except (AttributeError, TypeError, ValueError):
        return None


def select_issued_certificate(certs: Sequence[Any], our_spki: bytes | None) -> tuple[Any, tuple[Any, ...]]:
    """Pick the certificate issued to us: the one whose SubjectPublicKeyInfo is ours (RFC 7030 §4.2.3 does not
    define an order). Without a key to compare: the only certificate, else the only non-CA one that issues
    none of the others. Returns ``(certificate, others)``; raises ProtocolError when none fits."""
    from estcodec.pkix import SelectionError, select_issued

    try:
        i = select_issued(certs, our_spki)
    except SelectionError as e:
        raise ProtocolError(str(e)) from None
    return certs[i], tuple(x for j, x in enumerate(certs) if j != i)


# --------------------------------------------------------------------------------------------- requests


def _accept(*types: str) -> tuple[str, str]:
    return ("Accept", ", ".join(types + ("text/plain;q=0.1",)))


def build_cacerts_request(ca_label: str | None = None) -> EstRequest:
    return EstRequest("GET", operation_path("cacerts", ca_label), "cacerts", (_accept(CT_PKCS7),))


def build_csrattrs_request(ca_label: str | None = None) -> EstRequest:
    return EstRequest("GET", operation_path("csrattrs", ca_label), "csrattrs", (_accept(CT_CSRATTRS),))


def _csr_request(operation: str, csr_der: bytes, ca_label: str | None) -> EstRequest:
    if not isinstance(csr_der, (bytes, bytearray)) or not csr_der:
        raise ValueError("csr must be non-empty DER bytes")
    accept = (CT_MULTIPART,) if operation == "serverkeygen" else (CT_PKCS7,)
    return EstRequest(
        "POST",
        operation_path(operation, ca_label),
        operation,
        (
            ("Content-Type", CT_PKCS10),
            ("Content-Transfer-Encoding", "base64"),
            _accept(*accept),
        ),
        encode_body(bytes(csr_der)),
    )


def build_simpleenroll_request(csr_der: bytes, ca_label: str | None = None) -> EstRequest:
    return _csr_request("simpleenroll", csr_der, ca_label)


def build_simplereenroll_request(csr_der: bytes, ca_label: str | None = None) -> EstRequest:
    return _csr_request("simplereenroll", csr_der, ca_label)


def build_serverkeygen_request(csr_der: bytes, ca_label: str | None = None) -> EstRequest:
    return _csr_request("serverkeygen", csr_der, ca_label)


def build_fullcmc_request(full_pki_request: bytes, ca_label: str | None = None) -> EstRequest:
    if not isinstance(full_pki_request, (bytes, bytearray)) or not full_pki_request:
        raise ValueError("the Full PKI Request must be non-empty DER bytes")
    return EstRequest(
        "POST",
        operation_path("fullcmc", ca_label),
        "fullcmc",
        (
            ("Content-Type", f"{CT_PKCS7}; smime-type=CMC-request"),
            ("Content-Transfer-Encoding", "base64"),
            _accept(CT_PKCS7),
        ),
        encode_body(bytes(full_pki_request)),
    )


# --------------------------------------------------------------------------------------------- responses


def _error_message(resp: EstResponse) -> str:
    mtype = resp.media_type
    if mtype not in (None, "", CT_TEXT, "text/html") or not resp.body:
        return ""
    text = resp.body[: _MAX_ERROR_MESSAGE * 2].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text).strip()
    text = re.sub(r"\s*\n\s*", " | ", text)
    return text[:_MAX_ERROR_MESSAGE]


def _cmc_error(resp: EstResponse) -> tuple[Any, Any]:
    mtype, params = parse_media_type(resp.headers.get("content-type"))
    if mtype != CT_PKCS7 or not resp.body:
        return None, None
    try:
        der = decode_body(resp.body, "CMC error body")
        from estcodec.cmc import parse_pki_response

        pr = parse_pki_response(der, signer_trust=None)
        return pr, pr.fail_info()
    except (EstError, ValueError, ImportError):
        return None, None
    except Exception:  # a broken error body must not hide the HTTP status
        return None, None


# what a 401 body says when it says nothing beyond the status (libest's generic wording included)
_BARE_401 = re.compile(
    r"^(error\s*401\s*:?\s*)?(unauthori[sz]ed\.?|the server was unable to authorize the request\.?)?$", re.IGNORECASE
)


def authentication_failure(resp: EstResponse, operation: str, *, tried_credentials: bool) -> AuthenticationRequired:
    """The error for a 401. When the body says more than "Unauthorized" (libest: "Proof of Possession
    Mismatch."), that reason is the message: the credentials may well have been right."""
    challenge = resp.headers.get("www-authenticate")
    text = _error_message(resp)
    parts = [p for p in text.split(" | ") if not _BARE_401.match(p.strip())]
    reason = " | ".join(parts).strip()
    if reason:
        return AuthenticationRequired(f"EST server refused {operation}: {reason}", challenge=challenge,
                                      server_message=reason)
    msg = (f"EST server refused the credentials for {operation}" if tried_credentials
           else f"EST server requires authentication for {operation}")
    return AuthenticationRequired(msg, challenge=challenge)


def _raise_for_status(resp: EstResponse, operation: str) -> None:
    status = resp.status
    if 200 <= status < 300:
        return
    if status == 401:
        raise authentication_failure(resp, operation, tried_credentials=False)
    message = _error_message(resp)
    if status in (404, 501) and operation in OPTIONAL_OPERATIONS:
        raise NotSupported(operation, message)
    pki_response, fail_info = _cmc_error(resp)
    if pki_response is not None and not message:
        try:
            desc = fail_info.description() if hasattr(fail_info, "description") else None
        except Exception:
            desc = None
        name = getattr(fail_info, "name", None) or str(fail_info)
        message = f"CMC failure {name}" + (f" ({desc})" if desc else "") if fail_info is not None else "CMC failure"
    raise ServerError(status, message, pki_response=pki_response, fail_info=fail_info)


def _check_media_type(resp: EstResponse, expected: str, what: str) -> dict[str, str]:
    mtype, params = parse_media_type(resp.headers.get("content-type"))
    if mtype and mtype != expected:
        raise ProtocolError(f"{what}: expected {expected}, got {mtype[:80]!r}")
    return params


def _parse_certs(der: bytes, what: str) -> list[Any]:
    from estcodec import Error as CodecError
    from estcodec.cms import parse_certs_only

    try:
        return list(parse_certs_only(der))
    except CodecError as exc:
        raise ProtocolError(f"{what} is not a readable certs-only PKCS#7: {exc}") from exc


def _pending(resp: EstResponse, now: float | None) -> Pending:
    return Pending(parse_retry_after(resp.headers.get("retry-after"), now=now))


def parse_cacerts_response(resp: EstResponse) -> CaCertificates:
    """``/cacerts`` (RFC 7030 §4.1.3): 200 with a certs-only PKCS#7."""
    _raise_for_status(resp, "cacerts")
    if resp.status != 200:
        raise ProtocolError(f"cacerts: unexpected status {resp.status}")
    _check_media_type(resp, CT_PKCS7, "cacerts")
    certs = _parse_certs(decode_body(resp.body, "cacerts response"), "cacerts response")
    if not certs:
        raise ProtocolError("cacerts response holds no certificate")
    return CaCertificates(certs)


def _empty_csrattrs() -> Any:
    from estcodec.csrattrs import CsrAttrs

    return CsrAttrs.from_der(b"\x30\x00")


def parse_csrattrs_response(resp: EstResponse) -> Any:
    """``/csrattrs`` (RFC 7030 §4.5.2, RFC 8951 §4, RFC 9908): a :class:`estcodec.csrattrs.CsrAttrs`;
    204 and 404 mean no attributes."""
    if resp.status in (204, 404):
        return _empty_csrattrs()
    _raise_for_status(resp, "csrattrs")
    if resp.status != 200:
        raise ProtocolError(f"csrattrs: unexpected status {resp.status}")
    _check_media_type(resp, CT_CSRATTRS, "csrattrs")
    if not resp.body.strip(b"\x00" + _WHITESPACE):
        return _empty_csrattrs()
    der = decode_body(resp.body, "csrattrs")
    from estcodec import Error as CodecError
    from estcodec.csrattrs import CsrAttrs

    try:
        return CsrAttrs.from_der(der)
    except CodecError as exc:
        raise ProtocolError(f"csrattrs response is not a readable CsrAttrs: {exc}") from exc


def parse_enroll_response(
    resp: EstResponse, our_spki: bytes | None = None, *, operation: str = "simpleenroll", now: float | None = None
) -> Issued | Pending:
    """``/simpleenroll`` and ``/simplereenroll`` (RFC 7030 §4.2.3): 200 certs-only -> :class:`Issued`,
    202 -> :class:`Pending`. ``our_spki`` (the CSR's SubjectPublicKeyInfo DER) selects the certificate."""
    if resp.status == 202:
        return _pending(resp, now)
    _raise_for_status(resp, operation)
    if resp.status != 200:
        raise ProtocolError(f"{operation}: unexpected status {resp.status}")
    _check_media_type(resp, CT_PKCS7, operation)
    certs = _parse_certs(decode_body(resp.body, f"{operation} response"), f"{operation} response")
    cert, others = select_issued_certificate(certs, our_spki)
    return Issued(cert, others)


def _multipart_parts(resp: EstResponse) -> list[tuple[str, dict[str, str], bytes]]:
    ct = resp.headers.get("content-type", "")
    mtype, params = parse_media_type(ct)
    boundary = params.get("boundary")
    if mtype != CT_MULTIPART or not boundary:
        got = repr(mtype[:80]) if mtype else "no type"  # server text, shown escaped
        raise ProtocolError(f"serverkeygen: expected multipart/mixed with a boundary, got {got}")
    if not boundary.isascii() or any(ch in boundary for ch in '"\r\n\\') or len(boundary) > 70:
        # RFC 2046 §5.1.1: 1-70 characters from a small ASCII set
        raise ProtocolError("serverkeygen: the multipart boundary is not a valid RFC 2046 boundary")
    head = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\nMIME-Version: 1.0\r\n\r\n'.encode("ascii")
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + resp.body)
    except Exception as exc:  # the email package should not raise, but never let it leak
        raise ProtocolError("serverkeygen: unreadable multipart body") from exc
    if not msg.is_multipart():
        raise ProtocolError("serverkeygen: multipart body has no parts")
    parts = []
    for part in msg.get_payload():
        if isinstance(part, str):  # pragma: no cover - is_multipart() guarantees Message parts
            raise ProtocolError("serverkeygen: unreadable multipart body")
        part_ct = part.get("Content-Type")
        if part_ct is not None and not isinstance(part_ct, str):
            # the email package hands back an email.header.Header for a header with non-ASCII bytes
            raise ProtocolError("serverkeygen: a multipart part has an unreadable Content-Type")
        ptype, pparams = parse_media_type(part_ct)
        # Message.get_payload() would replace non-ASCII bytes (decode=False) or apply the
        # Content-Transfer-Encoding (decode=True), which RFC 8951 says to ignore: read the stored payload
        payload = getattr(part, "_payload", None)
        if payload is None:  # pragma: no cover - other email implementations
            payload = part.get_payload(decode=False)
        if isinstance(payload, list):
            raise ProtocolError("serverkeygen: nested multipart is not expected")
        # the email package reads bytes as ASCII with surrogateescape: undo it to get the exact bytes back
        # (a part may be raw DER, RFC 8951 §3.2); Content-Transfer-Encoding is ignored (RFC 8951)
        raw = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else bytes(payload or b"")
        parts.append((ptype, pparams, raw))
    return parts


def parse_serverkeygen_response(
    resp: EstResponse,
    *,
    private_key: Any = None,
    certificate: Any = None,
    kek: bytes | None = None,
    kek_id: bytes | None = None,
    signer_trust: Any = None,
    verify_signer: bool = True,
    now: float | None = None,
) -> ServerKeygenResponse | Pending:
    """``/serverkeygen`` (RFC 7030 §4.4.2): multipart/mixed holding the key (``application/pkcs8``, PKCS#1
    accepted leniently, or ``application/pkcs7-mime; smime-type=server-generated-key``) and a certs-only part.

    An encrypted key is decrypted with ``private_key``/``certificate`` or ``kek``/``kek_id`` and its
    SignedData signature verified against ``signer_trust`` (both via :mod:`estcodec.enveloped`). Without any
    decryption key the result carries ``encrypted_key`` and ``private_key=None``.
    """
    if resp.status == 202:
        return _pending(resp, now)
    _raise_for_status(resp, "serverkeygen")
    if resp.status != 200:
        raise ProtocolError(f"serverkeygen: unexpected status {resp.status}")
    key_der: bytes | None = None
    encrypted: bytes | None = None
    certs: list[Any] | None = None
    for ptype, pparams, raw in _multipart_parts(resp):
        smime = pparams.get("smime-type", "").lower()
        if ptype == CT_PKCS8:
            if key_der is not None or encrypted is not None:
                raise ProtocolError("serverkeygen: more than one key part")
            key_der = _read_private_key(decode_body(raw, "serverkeygen key part"))
        elif ptype == CT_PKCS7 and smime == "server-generated-key":
            if key_der is not None or encrypted is not None:
                raise ProtocolError("serverkeygen: more than one key part")
            encrypted = decode_body(raw, "serverkeygen encrypted key part")
        elif ptype == CT_PKCS7 and smime in ("certs-only", ""):
            if certs is not None:
                raise ProtocolError("serverkeygen: more than one certificate part")
            certs = _parse_certs(decode_body(raw, "serverkeygen certificate part"), "serverkeygen certificate part")
        else:
            raise ProtocolError(f"serverkeygen: unexpected part {repr(ptype[:80]) if ptype else 'without type'}")
    if certs is None:
        raise ProtocolError("serverkeygen: no certificate part")
    if key_der is None and encrypted is None:
        raise ProtocolError("serverkeygen: no key part")
    if key_der is not None and any(x is not None for x in (private_key, kek)):
        # the caller asked for an encrypted, signed key (RFC 7030 §4.4.1.2): no silent downgrade to a clear one
        raise ProtocolError("serverkeygen: the key came unencrypted although a decryption key was given (the "
                            "request must carry DecryptKeyIdentifier or AsymmetricDecryptKeyIdentifier)")
    if encrypted is not None and any(x is not None for x in (private_key, kek)):
        key_der = _unwrap_key(
            encrypted,
            private_key=private_key,
            certificate=certificate,
            kek=kek,
            kek_id=kek_id,
            signer_trust=signer_trust,
            verify_signer=verify_signer,
        )
    issued_spki = spki_of(_key_object(key_der)) if key_der is not None else None
    cert, others = select_issued_certificate(certs, issued_spki)
    return ServerKeygenResponse(
        certificate=cert,
        private_key=key_der,
        encrypted_key=encrypted,
        key_encrypted=encrypted is not None,
        chain=others,
    )


def _key_object(pkcs8_der: bytes) -> Any:
    from cryptography.exceptions import InternalError, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        return load_der_private_key(pkcs8_der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, InternalError):
        # an algorithm cryptography does not know (the fuzzer sent an unknown key OID) is as unusable as a
        # malformed key; the message names neither the key bytes nor cryptography's text
        raise ProtocolError("serverkeygen: the private key part is not a usable key") from None


def _read_private_key(der: bytes) -> bytes:
    """PKCS#8 DER (or PKCS#1 / SEC1, leniently) -> PKCS#8 DER."""
    from estcodec import Error as CodecError
    from estcodec.pkcs8 import parse_private_key

    try:
        info = parse_private_key(der)
    except CodecError:
        raise ProtocolError("serverkeygen: the key part is neither PKCS#8 nor PKCS#1/SEC1") from None
    return info.to_der()


def _unwrap_key(encrypted: bytes, *, signer_trust: Any, verify_signer: bool, **keys: Any) -> bytes:
    from estcodec import Error as CodecError
    from estcodec.enveloped import unwrap_server_generated_key

    kw = {k: v for k, v in keys.items() if v is not None}
    if verify_signer and signer_trust is None:  # estcodec says so with a bare ValueError
        raise ConfigError("serverkeygen: give signer_trust (the EST CA certificates) to verify the encrypted key's "
                          "signer, or verify_signer=False")
    try:
        info = unwrap_server_generated_key(encrypted, signer_trust=signer_trust, verify_signer=verify_signer, **kw)
    except CodecError as exc:
        hint = "" if signer_trust is not None else " (no signer_trust: give the EST CA certificates to verify it)"
        raise ProtocolError(
            f"serverkeygen: the encrypted key could not be unwrapped: {type(exc).__name__}: {str(exc)[:200]}{hint}"
        ) from exc
    return bytes(info.to_der())


def _is_certs_only(der: bytes) -> bool:
    """True when ``der`` is a certs-only Simple PKI Response (RFC 5272 §4.1): a SignedData with no signer and
    no encapsulated content. A signed PKIResponse (or anything else) is not one, whatever its label says."""
    from estcodec import Error as CodecError
    from estcodec.cms import OID_DATA, parse_signed_data

    try:
        sd = parse_signed_data(der)
    except CodecError:
        return False
    return sd.econtent_type == OID_DATA and sd.econtent is None and not list(sd.signer_infos or ())


def _request_echo(request: Any) -> tuple[int | None, bytes | None]:
    """(transactionId, senderNonce) of the Full PKI Request that was sent: a ``PKIData``, a ``CmcRequest`` or its
    DER. ``(None, None)`` when the request carries neither (or its DER cannot be read: the caller's own bytes)."""
    if request is None:
        return None, None
    pki = getattr(request, "pki_data", request)
    if isinstance(pki, (bytes, bytearray, memoryview)):
        from estcodec import Error as CodecError
        from estcodec.cmc import parse_pki_data

        try:
            pki = parse_pki_data(bytes(pki))
        except CodecError:
            return None, None
    return getattr(pki, "transaction_id", None), getattr(pki, "sender_nonce", None)


def _check_echo(pr: Any, request: Any) -> None:
    """RFC 5272 §6.6/§6.7: the response repeats the request's transactionId and returns its senderNonce as
    recipientNonce. Any difference (or an omission) is a ProtocolError: a replayed or misdirected response."""
    transaction_id, sender_nonce = _request_echo(request)
    if transaction_id is not None and pr.transaction_id != transaction_id:
        got = "none" if pr.transaction_id is None else "another one"
        raise ProtocolError(f"fullcmc response transactionId does not match the request's ({got} in the response)")
    if sender_nonce is not None:
        if pr.recipient_nonce is None:
            raise ProtocolError("fullcmc response carries no recipientNonce (the request sent a senderNonce)")
        if bytes(pr.recipient_nonce) != bytes(sender_nonce):
            raise ProtocolError("fullcmc response recipientNonce is not the senderNonce of the request")


def parse_fullcmc_response(
    resp: EstResponse, *, signer_trust: Any = None, now: float | None = None, request: Any = None
) -> CmcResponse | Pending:
    """``/fullcmc`` (RFC 7030 §4.3.2): 200 with a Full PKI Response or a certs-only Simple PKI Response.

    A Full PKI Response is a success only when its SignedData verifies to a signer that is, or chains to, one of
    ``signer_trust`` (RFC 5272 §3.2.1.3.4: the EST trust anchors or the CA certificates), it carries a status
    and every status says success. Without ``signer_trust`` a Full PKI Response is refused (ProtocolError):
    verification is never skipped. With ``request`` (the ``CmcRequest``, ``PKIData`` or DER that was sent) the
    response must echo its transactionId and return its senderNonce as recipientNonce (RFC 5272 §6.6, §6.7).
    What the label calls certs-only must be one (no signer, no content); an unlabelled body is read by its
    structure, never "certs-only because the signature failed". A CMC failure status raises ServerError
    carrying the PKIResponse and its failInfo."""
    if resp.status == 202:
        return _pending(resp, now)
    _raise_for_status(resp, "fullcmc")
    if resp.status != 200:
        raise ProtocolError(f"fullcmc: unexpected status {resp.status}")
    mtype, params = parse_media_type(resp.headers.get("content-type"))
    if mtype and mtype != CT_PKCS7:
        raise ProtocolError(f"fullcmc: expected {CT_PKCS7}, got {mtype[:80]!r}")
    der = decode_body(resp.body, "fullcmc response")
    smime = params.get("smime-type", "").lower()
    if smime not in ("", "certs-only", "cmc-response"):
        raise ProtocolError(f"fullcmc: unexpected smime-type {smime!r}")
    if smime in ("certs-only", ""):
        if _is_certs_only(der):
            return CmcResponse(None, tuple(_parse_certs(der, "fullcmc response")))
        if smime == "certs-only":
            raise ProtocolError("fullcmc response labelled certs-only is a signed or non-empty SignedData")
    if signer_trust is None:
        raise ProtocolError(
            "fullcmc response is a Full PKI Response but there is nothing to verify its signer against "
            "(give signer_trust, or use trust anchors or the /cacerts set)"
        )
    from estcodec import Error as CodecError
    from estcodec.cmc import parse_pki_response

    try:
        pr = parse_pki_response(der, signer_trust=signer_trust)
    except CodecError as exc:
        raise ProtocolError(f"fullcmc response is not a verifiable Full PKI Response: {exc}") from exc
    except (TypeError, ValueError) as exc:  # unreadable trust given by the caller
        raise ProtocolError(f"fullcmc: the signer trust is unusable: {type(exc).__name__}") from exc
    if not getattr(pr, "signature_verified", False):
        raise ProtocolError("fullcmc response signature was not verified against the EST trust anchors")
    _check_echo(pr, request)
    if not pr.statuses:
        raise ProtocolError("fullcmc response carries no CMCStatusInfo: it does not say the request succeeded")
    if not pr.is_success() and not pr.is_pending():
        fi = pr.fail_info()
        try:
            desc = fi.description() if fi is not None and hasattr(fi, "description") else str(fi)
        except Exception:
            desc = str(fi)
        raise ServerError(200, f"CMC failure: {desc}", pki_response=pr, fail_info=fi)
    return CmcResponse(pr, tuple(pr.certificates or ()))


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
