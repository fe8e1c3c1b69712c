"""estclient: an EST (RFC 7030) client built on estcodec."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from estcodec import __version__

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

# Everything else is imported when first used (PEP 562), so that ``import estclient`` and ``est --help`` stay
# quick: configuration, CSRs and the protocol layer pull in cryptography's X.509 and primitives, the drivers httpx
# and asyncio.
_LAZY = {
    "EstClientConfig": "config", "ClientIdentity": "config", "HttpAuth": "config", "TrustAnchors": "config",
    "CsrBuilder": "csr",
    "CaCertificates": "protocol", "CmcRequest": "protocol", "CmcResponse": "protocol", "Issued": "protocol",
    "Pending": "protocol", "ServerKeygenResponse": "protocol",
    "EstClient": "client", "AsyncEstClient": "client",
    "enroll_many": "fleet", "reenroll_many": "fleet", "FleetRequest": "fleet", "FleetResult": "fleet",
    "FleetProgress": "fleet", "FleetRun": "fleet",
}

if TYPE_CHECKING:  # what type checkers see: the same names, imported eagerly
    from .client import AsyncEstClient, EstClient
    from .config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors
    from .csr import CsrBuilder
    from .fleet import FleetProgress, FleetRequest, FleetResult, FleetRun, enroll_many, reenroll_many
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


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'estclient' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
