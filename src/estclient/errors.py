"""Exceptions raised by :mod:`estclient`.

Every error the client raises derives from :class:`EstError`. Messages never carry secrets: no passwords,
no private key bytes, no authorization headers.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "EstError",
    "AuthenticationRequired",
    "ServerError",
    "NotSupported",
    "TlsConfigError",
    "ProtocolError",
    "BootstrapVerificationError",
    "TransportError",
    "ConfigError",
    "PendingTimeout",
    "ChainValidationError",
    "RevocationError",
    "RevocationFetchError",
]


class EstError(Exception):
    """Root of every exception raised by :mod:`estclient`."""


class AuthenticationRequired(EstError):
    """The server answered 401: credentials are missing or were refused.

    ``challenge`` is the ``WWW-Authenticate`` header value (or ``None`` when the server sent none).
    ``server_message`` is the reason the server wrote in the body, when it wrote one beyond "Unauthorized"
    (libest explains a channel-binding failure this way: "Proof of Possession Mismatch"); the message then
    reports that reason rather than missing or wrong credentials.
    """

    def __init__(self, message: str, *, challenge: str | None = None, server_message: str | None = None) -> None:
        super().__init__(message)
        self.challenge = challenge
        self.server_message = server_message


class ServerError(EstError):
    """The server refused the request.

    ``status`` is the HTTP status, ``message`` the server's text (``text/plain`` body, decoded leniently,
    truncated), or a description of the CMC failure. When the error body (or a 200 Full PKI Response) is a CMC
    PKIResponse, ``pki_response`` holds it and ``fail_info`` its failInfo code (``estcodec.cmc.CmcFailInfo`` or
    a plain int for private codes).
    """

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        pki_response: Any = None,
        fail_info: Any = None,
    ) -> None:
        text = f"EST server answered {status}"
        if message:
            text += f": {message}"
        super().__init__(text)
        self.status = status
        self.message = message
        self.pki_response = pki_response
        self.fail_info = fail_info


class NotSupported(EstError):
    """The server does not implement an optional operation (404 or 501)."""

    def __init__(self, operation: str, message: str = "") -> None:
        super().__init__(f"EST server does not support {operation!r}" + (f": {message}" if message else ""))
        self.operation = operation


class TlsConfigError(EstError):
    """TLS could not be set up as required: bad trust anchors or client identity, an untrusted or
    unauthorized server certificate, or channel binding required on a connection that negotiated TLS 1.3."""


class ProtocolError(EstError):
    """The server's answer does not follow RFC 7030 (undecodable body, wrong media type, oversized body,
    a redirect to another origin, ...)."""


class BootstrapVerificationError(EstError):
    """Bootstrap (RFC 7030 §4.1.1): the CA certificates fetched without verification were not accepted."""


class TransportError(EstError):
    """Network failure: connection refused or reset, timeout."""


class ConfigError(EstError, ValueError):
    """A configuration value is invalid (URL, CA label, trust anchors, client identity, credentials)."""


class PendingTimeout(EstError, TimeoutError):
    """``enroll_and_wait``: the server still answered 202 when waiting longer would exceed ``max_wait``.
    ``retry_after`` is the server's last Retry-After (seconds, or None)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChainValidationError(EstError):
    """A certificate (or a ``/cacerts`` set) does not validate as a chain to the trust anchors in use (RFC 5280
    path validation: signatures, validity, basicConstraints, keyUsage, name constraints)."""


class RevocationError(EstError):
    """The revocation status of a certificate could not be established: the CRL or OCSP response is malformed,
    signed by the wrong key, stale, for another certificate or issuer, or the responder refused to answer. Never
    read as "good"."""


class RevocationFetchError(RevocationError, TransportError):
    """A CRL or OCSP response could not be fetched: network failure, timeout, an HTTP status other than 200, a
    body over the size limit, or a URL scheme not allowed."""


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
