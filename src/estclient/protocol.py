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

from typing import Any

from ._protocol_checks import _check_media_type, _parse_certs, _pending, _raise_for_status
from ._protocol_checks import authentication_failure as authentication_failure
from ._protocol_checks import select_issued_certificate, spki_of
from ._protocol_cmc import parse_fullcmc_response
from ._protocol_keygen import _multipart_parts as _multipart_parts
from ._protocol_keygen import parse_serverkeygen_response
from ._protocol_media import CT_CSRATTRS as CT_CSRATTRS
from ._protocol_media import CT_MULTIPART as CT_MULTIPART
from ._protocol_media import CT_PKCS7 as CT_PKCS7
from ._protocol_media import CT_PKCS8 as CT_PKCS8
from ._protocol_media import CT_PKCS10 as CT_PKCS10
from ._protocol_media import CT_TEXT as CT_TEXT
from ._protocol_media import OPTIONAL_OPERATIONS as OPTIONAL_OPERATIONS
from ._protocol_media import _WHITESPACE, WELL_KNOWN, decode_body, encode_body, operation_path, parse_media_type
from ._protocol_media import parse_retry_after
from ._protocol_types import CaCertificates, CmcRequest, CmcResponse, EstRequest, EstResponse, Issued, Pending
from ._protocol_types import ServerKeygenResponse
from .errors import ProtocolError

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


# --------------------------------------------------------------------------------------------- requests


def _accept(*types: str) -> tuple[str, str]:
    return ("Accept", ", ".join(types + ("text/plain;q=0.1",)))


def build_cacerts_request(ca_label: str | None = None) -> EstRequest:
    """The ``GET /cacerts`` request (RFC 7030 §4.1.2) for the CA named by ``ca_label`` (or the default CA).

    Raises :class:`~estclient.errors.ConfigError` (a :class:`ValueError`) when ``ca_label`` is not a valid CA
    label (RFC 7030 §3.2.2).
    """
    return EstRequest("GET", operation_path("cacerts", ca_label), "cacerts", (_accept(CT_PKCS7),))


def build_csrattrs_request(ca_label: str | None = None) -> EstRequest:
    """The ``GET /csrattrs`` request (RFC 7030 §4.5.1) for the CA named by ``ca_label`` (or the default CA)."""
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
    """The ``POST /simpleenroll`` request (RFC 7030 §4.2.1): the PKCS#10 CSR ``csr_der`` as a base64
    ``application/pkcs10`` body. Raises :class:`ValueError` when ``csr_der`` is not non-empty bytes."""
    return _csr_request("simpleenroll", csr_der, ca_label)


def build_simplereenroll_request(csr_der: bytes, ca_label: str | None = None) -> EstRequest:
    """The ``POST /simplereenroll`` request (RFC 7030 §4.2.2): like :func:`build_simpleenroll_request`; the
    CSR's subject and subjectAltName should match the certificate being renewed."""
    return _csr_request("simplereenroll", csr_der, ca_label)


def build_serverkeygen_request(csr_der: bytes, ca_label: str | None = None) -> EstRequest:
    """The ``POST /serverkeygen`` request (RFC 7030 §4.4.1): the CSR as a base64 ``application/pkcs10`` body,
    accepting ``multipart/mixed``. Raises :class:`ValueError` when ``csr_der`` is not non-empty bytes."""
    return _csr_request("serverkeygen", csr_der, ca_label)


def build_fullcmc_request(full_pki_request: bytes, ca_label: str | None = None) -> EstRequest:
    """The ``POST /fullcmc`` request (RFC 7030 §4.3.1): a signed Full PKI Request (for instance
    :meth:`CmcRequest.to_der`) as a base64 ``application/pkcs7-mime; smime-type=CMC-request`` body.

    Raises :class:`ValueError` when ``full_pki_request`` is not non-empty bytes.
    """
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


# The parts live in private modules (_protocol_media, _protocol_types, _protocol_checks, _protocol_keygen,
# _protocol_cmc); their public names belong to this module: reprs, pickles and the API reference say so.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("estclient._protocol_"):
        _obj.__module__ = __name__
del _name, _obj


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
