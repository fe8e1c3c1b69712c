"""What every response parser shares: HTTP status to :mod:`estclient.errors`, media-type checks, certs-only
bodies and the choice of the issued certificate.

Part of :mod:`estclient.protocol`, which re-exports the public names; import them from there.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from ._protocol_media import CT_PKCS7, CT_TEXT, OPTIONAL_OPERATIONS, decode_body, parse_media_type, parse_retry_after
from ._protocol_types import EstResponse, Pending
from .errors import AuthenticationRequired, EstError, NotSupported, ProtocolError, ServerError

_MAX_ERROR_MESSAGE = 1000


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
