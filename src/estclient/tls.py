"""TLS for EST: SSLContext construction, server authorization (RFC 7030 §3.6) and channel binding (§3.5).

- TLS 1.2 is the minimum; :func:`create_ssl_context` with ``max_tls12=True`` caps connections at TLS 1.2,
  which is what channel binding needs (tls-unique does not exist in TLS 1.3).
- Server authorization: with the system store the host name must match (RFC 6125, OpenSSL's check). With
  explicit trust anchors (from PEM or from a bootstrap), the chain must verify to an anchor, and then the host
  name must match **or** the server certificate must carry id-kp-cmcRA (1.3.6.1.5.5.7.3.28). The check runs
  inside the handshake (custom ``sslsocket_class``/``sslobject_class``), before any request byte is sent.
- Channel binding: :func:`connection_info` returns the negotiated version and, on TLS <= 1.2 only, the
  tls-unique value (RFC 5929). CPython's ``get_channel_binding("tls-unique")`` returns a non-standard value
  on TLS 1.3, so it is never called there. tls-exporter (RFC 9266) is not offered: it is not specified for
  EST, and CPython's ``ssl`` module cannot export keying material.
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from estcodec import oids as _oids

from .config import ClientIdentity, TrustAnchors
from .errors import TlsConfigError

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "ID_KP_CMC_RA",
    "ConnectionInfo",
    "create_ssl_context",
    "connection_info",
    "authorize_server_certificate",
    "host_matches",
]

ID_KP_CMC_RA = _oids.ID_KP_CMC_RA
_TLS12_OR_LOWER = ("TLSv1", "TLSv1.1", "TLSv1.2")


@dataclass(frozen=True)
class ConnectionInfo:
    """What the flows need to know about one TLS connection: the negotiated version, the channel-binding value
    (tls-unique, TLS <= 1.2 only) and the peer's certificate chain (DER, leaf first: the verified chain where the
    ``ssl`` module gives it, else the leaf alone; not part of equality)."""

    version: str | None
    tls_unique: bytes | None = None
    peer_chain: tuple[bytes, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_tls13(self) -> bool:
        """True when the connection negotiated TLS 1.3 (which has no tls-unique, RFC 8446 §C.5)."""
        return self.version == "TLSv1.3"

    @property
    def can_bind(self) -> bool:
        """True when a tls-unique value is available, so a CSR can be bound to this connection (RFC 7030 §3.5)."""
        return self.tls_unique is not None


def connection_info(ssl_object: ssl.SSLSocket | ssl.SSLObject | None) -> ConnectionInfo:
    """Version and (TLS <= 1.2 only) tls-unique of an ``ssl.SSLSocket`` / ``ssl.SSLObject``."""
    if ssl_object is None:
        return ConnectionInfo(None, None)
    version = ssl_object.version()
    unique = None
    if version in _TLS12_OR_LOWER:
        # never on TLS 1.3: CPython would return a value no peer computes (a known CPython bug)
        unique = ssl_object.get_channel_binding("tls-unique")
    return ConnectionInfo(version, unique, _peer_chain(ssl_object))


def _peer_chain(ssl_object: Any) -> tuple[bytes, ...]:
    """The peer's chain as DER, leaf first: the verified chain (public in Python 3.13, a method of the low-level
    object before: ``_ssl._SSLSocket`` itself for the sync client, ``ssl.SSLObject._sslobj`` for the async one),
    else the leaf alone."""
    getter = getattr(ssl_object, "get_verified_chain", None) or getattr(
        getattr(ssl_object, "_sslobj", None), "get_verified_chain", None)  # ssl.SSLObject before 3.13
    try:
        if getter is not None:
            chain = [c if isinstance(c, bytes) else c.public_bytes(_ENCODING_DER) for c in getter() or ()]
            if chain:
                return tuple(chain)
        leaf = ssl_object.getpeercert(True)
    except (ssl.SSLError, ValueError, TypeError, AttributeError):
        return ()
    return (leaf,) if leaf else ()


_ENCODING_DER = 2  # _ssl.ENCODING_DER: the DER form of the low-level certificate objects


# ----------------------------------------------------------------------------- server authorization


def host_matches(cert: x509.Certificate, host: str) -> bool:
    """RFC 6125 host name check of a ``cryptography`` certificate: DNS-ID (leftmost-label wildcard allowed) or
    IP-ID; the subject CN is considered only when the certificate has no subjectAltName."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    host = host.strip("[]").rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        if ip is not None:
            return any(a == ip for a in san.get_values_for_type(x509.IPAddress))
        return any(_dns_match(d, host) for d in san.get_values_for_type(x509.DNSName))
    try:
        cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    except Exception:
        cns = []
    for cn in cns:
        if not isinstance(cn, str):
            continue
        if ip is not None:
            try:
                if ipaddress.ip_address(cn.strip()) == ip:
                    return True
            except ValueError:
                continue
        elif _dns_match(cn, host):
            return True
    return False


def _dns_match(pattern: str, host: str) -> bool:
    pattern = pattern.rstrip(".").lower()
    if not pattern or not host:
        return False
    if pattern == host:
        return True
    if pattern.startswith("*.") and "*" not in pattern[2:]:
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and rest.count(".") >= 1
    return False


def _has_cmc_ra(cert: Any) -> bool:
    from cryptography import x509

    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return any(o.dotted_string == ID_KP_CMC_RA for o in eku)


def authorize_server_certificate(cert_der: bytes, host: str, *, explicit: bool) -> None:
    """RFC 7030 §3.6.1. Raises ``ssl.SSLCertVerificationError`` when the server is not authorized."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        raise ssl.SSLCertVerificationError("server certificate unreadable") from None
    if host_matches(cert, host):
        return
    if explicit and _has_cmc_ra(cert):
        return
    raise ssl.SSLCertVerificationError(
        f"server certificate is not authorized for {host!r} (no matching host name"
        + (" and no id-kp-cmcRA" if explicit else "")
        + ", RFC 7030 §3.6.1)"
    )


def _authorize(obj: Any) -> None:
    der = obj.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLCertVerificationError("server sent no certificate")
    authorize_server_certificate(der, obj.server_hostname or "", explicit=True)


class _AuthorizingSSLSocket(ssl.SSLSocket):
    """SSLSocket that applies the explicit-TA authorization rule right after the handshake."""

    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        try:
            _authorize(self)
        except ssl.SSLCertVerificationError:
            self.close()
            raise


class _AuthorizingSSLObject(ssl.SSLObject):
    """SSLObject (asyncio/anyio memory BIO) counterpart of :class:`_AuthorizingSSLSocket`."""

    def do_handshake(self) -> None:
        super().do_handshake()
        _authorize(self)


# ----------------------------------------------------------------------------- contexts


def _load_identity(ctx: ssl.SSLContext, identity: ClientIdentity) -> None:
    """Load the client chain and key. ``ssl`` reads files only: they go to a private directory (0700) as files
    with mode 0600 and are removed at once. Key bytes are never logged or put in messages."""
    tmpdir = tempfile.mkdtemp(prefix="estclient-")
    try:
        cert_path = os.path.join(tmpdir, "cert.pem")
        key_path = os.path.join(tmpdir, "key.pem")
        for path, data in ((cert_path, identity.cert_pem), (key_path, identity.key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        password = identity.password
        try:
            ctx.load_cert_chain(cert_path, key_path, password=password)
        except (ssl.SSLError, OSError, ValueError):
            raise TlsConfigError("the client identity could not be loaded into TLS") from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _load_system_store(ctx: ssl.SSLContext) -> None:
    ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if ctx.cert_store_stats().get("x509_ca", 0) == 0:
        try:
            import certifi
        except ImportError:  # pragma: no cover - certifi is installed with httpx
            return
        ctx.load_verify_locations(cafile=certifi.where())


def create_ssl_context(
    trust: TrustAnchors | None,
    identity: ClientIdentity | None = None,
    *,
    max_tls12: bool = False,
    anchors_pem: bytes | None = None,
) -> ssl.SSLContext:
    """An SSLContext for EST.

    ``trust``: system store, explicit anchors, or bootstrap. A bootstrap context *without* ``anchors_pem``
    does not verify the server at all and must only be used to fetch ``/cacerts`` (RFC 7030 §4.1.1); with
    ``anchors_pem`` (the certificates accepted by the bootstrap) it is an explicit-anchor context.
    ``max_tls12`` caps the protocol at TLS 1.2 (channel binding).
    """
    if trust is None:
        trust = TrustAnchors.system()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if max_tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    pem = anchors_pem if anchors_pem is not None else trust.pem
    try:
        if trust.kind == "system" and anchors_pem is None:
            ctx.check_hostname = True
            ctx.verify_mode = ssl.CERT_REQUIRED
            _load_system_store(ctx)
        elif pem is not None:
            ctx.check_hostname = False  # replaced by the RFC 7030 §3.6.1 rule (host name or id-kp-cmcRA)
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cadata=pem.decode("ascii", "replace"))
            ctx.sslsocket_class = _AuthorizingSSLSocket
            ctx.sslobject_class = _AuthorizingSSLObject
        elif trust.kind == "bootstrap":  # before acceptance: unverified, for /cacerts only
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:  # no other way to an unverified context: TrustAnchors refuses unknown kinds, this is a backstop
            raise TlsConfigError(f"trust anchors of kind {str(trust.kind)[:40]!r} cannot verify the server")
    except ssl.SSLError:
        raise TlsConfigError("the trust anchors could not be loaded into TLS") from None
    if identity is not None:
        _load_identity(ctx, identity)
    return ctx


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
