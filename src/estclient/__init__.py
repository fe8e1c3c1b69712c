"""estclient: an EST (RFC 7030) client built on estcodec."""
from __future__ import annotations

from estcodec import __version__

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
    # estclient.fleet: many identities at once (loaded on first use, like the drivers)
    "enroll_many",
    "reenroll_many",
    "FleetRequest",
    "FleetResult",
    "FleetProgress",
    "FleetRun",
]

_FLEET = ("enroll_many", "reenroll_many", "FleetRequest", "FleetResult", "FleetProgress", "FleetRun")


def __getattr__(name: str):
    # The drivers import httpx and asyncio (about a quarter of a second): load them on first use, so that
    # `est show`, the codec-only paths and `import estclient` stay quick.
    if name in ("EstClient", "AsyncEstClient"):
        from . import client

        return getattr(client, name)
    if name in _FLEET:
        from . import fleet

        return getattr(fleet, name)
    raise AttributeError(f"module 'estclient' has no attribute {name!r}")
