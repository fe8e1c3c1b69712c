"""estclient: an EST (RFC 7030) client built on estcodec."""
from __future__ import annotations

from estcodec import __version__

from .client import AsyncEstClient, EstClient
from .config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors
from .csr import CsrBuilder
from .errors import (
    AuthenticationRequired,
    BootstrapVerificationError,
    ConfigError,
    EstError,
    NotSupported,
    PendingTimeout,
    ProtocolError,
    ServerError,
    TlsConfigError,
    TransportError,
)
from .protocol import CaCertificates, CmcRequest, CmcResponse, Issued, Pending, ServerKeygenResponse

__all__ = [
    "__version__",
    "EstClient",
    "AsyncEstClient",
    "EstClientConfig",
    "ClientIdentity",
    "HttpAuth",
    "TrustAnchors",
    "CsrBuilder",
    "CaCertificates",
    "Issued",
    "Pending",
    "ServerKeygenResponse",
    "CmcRequest",
    "CmcResponse",
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
]
