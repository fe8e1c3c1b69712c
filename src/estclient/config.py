"""Client configuration: server URL, CA label, trust anchors, client identity, HTTP credentials, limits.

All classes are immutable. Secrets (passwords, private keys) never appear in ``repr()`` or in error messages.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping
from urllib.parse import urlsplit

from .errors import ConfigError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = [
    "EstClientConfig",
    "resolve_proxy",
    "split_well_known",
    "parse_header_lines",
    "ClientIdentity",
    "HttpAuth",
    "TrustAnchors",
    "OPERATIONS",
    "DEFAULT_MAX_BODY_SIZE",
    "validate_ca_label",
]

#: The six EST operations (RFC 7030 §3.2.2); a CA label may not equal one of them.
OPERATIONS = ("cacerts", "simpleenroll", "simplereenroll", "fullcmc", "serverkeygen", "csrattrs")

DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024

# RFC 3986 segment-nz characters, without "/" (a label is a single path segment).
_TRUST_KINDS = ("system", "explicit", "bootstrap")

_LABEL_RE = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+$")


def validate_ca_label(label: str) -> str:
    """Return ``label`` if it is usable as an EST CA label (RFC 7030 §3.2.2), else raise ConfigError."""
    if not isinstance(label, str) or not label:
        raise ConfigError("CA label must be a non-empty string")
    if not _LABEL_RE.match(label) or label in (".", ".."):
        raise ConfigError("CA label must be a single URI path segment")
    if label.lower() in OPERATIONS:
        raise ConfigError(f"CA label {label!r} equals an EST operation name (RFC 7030 §3.2.2)")
    return label


def _load_certs_pem(pem: bytes, what: str) -> list[x509.Certificate]:
    from cryptography import x509

    if isinstance(pem, str):
        pem = pem.encode("ascii", "replace")
    if not isinstance(pem, (bytes, bytearray)):
        raise ConfigError(f"{what} must be PEM bytes")
    try:
        certs = x509.load_pem_x509_certificates(bytes(pem))
    except ValueError:
        raise ConfigError(f"{what} holds no readable PEM certificate") from None
    if not certs:
        raise ConfigError(f"{what} holds no PEM certificate")
    return certs


@dataclass(frozen=True, repr=False)
class ClientIdentity:
    """A TLS client certificate (PEM, leaf first, optionally followed by its chain) and its private key (PEM).

    Used for TLS client authentication and for re-enrollment (RFC 7030 §3.3.2, §4.2.2).
    """

    cert_pem: bytes
    key_pem: bytes
    password: bytes | None = None

    def __post_init__(self) -> None:
        from cryptography.hazmat.primitives import serialization

        certs = _load_certs_pem(self.cert_pem, "client certificate")
        key_pem = self.key_pem.encode() if isinstance(self.key_pem, str) else self.key_pem
        if not isinstance(key_pem, (bytes, bytearray)):
            raise ConfigError("client key must be PEM bytes")
        try:
            key = serialization.load_pem_private_key(bytes(key_pem), password=self.password)
        except (ValueError, TypeError):
            # the reason may quote key material; keep it out of the message
            raise ConfigError("client private key could not be read (wrong format or password)") from None
        ours = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        theirs = certs[0].public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if ours != theirs:
            raise ConfigError("client private key does not match the client certificate")
        object.__setattr__(self, "key_pem", bytes(key_pem))
        if isinstance(self.cert_pem, str):
            object.__setattr__(self, "cert_pem", self.cert_pem.encode("ascii"))

    @classmethod
    def from_files(cls, cert_path: str | Path, key_path: str | Path, password: bytes | None = None) -> ClientIdentity:
        """Read the certificate (PEM, leaf first) and the private key (PEM) from two files.

        ``password`` decrypts an encrypted key. Raises :class:`~estclient.errors.ConfigError` when a file cannot be
        read, the key cannot be loaded or it does not match the certificate; the message never quotes key material.
        """
        try:
            cert_pem = Path(cert_path).read_bytes()
            key_pem = Path(key_path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read client identity {exc.filename}: {exc.strerror or exc}") from None
        return cls(cert_pem, key_pem, password)

    @property
    def certificate(self) -> x509.Certificate:
        """The leaf certificate as a ``cryptography`` object."""
        return _load_certs_pem(self.cert_pem, "client certificate")[0]

    def private_key(self) -> PrivateKeyTypes:
        """The private key as a ``cryptography`` object."""
        from cryptography.hazmat.primitives import serialization

        return serialization.load_pem_private_key(self.key_pem, password=self.password)

    def __repr__(self) -> str:
        try:
            subject = self.certificate.subject.rfc4514_string()
        except Exception:  # pragma: no cover - validated in __post_init__
            subject = "?"
        return f"ClientIdentity(subject={subject!r}, key=<hidden>)"


@dataclass(frozen=True, repr=False)
class HttpAuth:
    """HTTP credentials, sent only over verified TLS. ``scheme`` is ``"basic"`` or ``"digest"``."""

    username: str
    password: str
    scheme: Literal["basic", "digest"] = "basic"

    def __post_init__(self) -> None:
        if not isinstance(self.username, str) or not isinstance(self.password, str):
            raise ConfigError("username and password must be strings")
        scheme = self.scheme.lower() if isinstance(self.scheme, str) else self.scheme
        if scheme not in ("basic", "digest"):
            raise ConfigError("HTTP auth scheme must be 'basic' or 'digest'")
        if scheme == "basic" and ":" in self.username:
            raise ConfigError("a Basic auth user name cannot contain ':'")
        object.__setattr__(self, "scheme", scheme)

    def __repr__(self) -> str:
        return f"HttpAuth(username={self.username!r}, password=<hidden>, scheme={self.scheme!r})"


def _normalize_fingerprint(value: str | bytes) -> bytes:
    if isinstance(value, (bytes, bytearray)) and len(value) == 32:
        return bytes(value)
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("ascii", "replace")
    if not isinstance(value, str):
        raise ConfigError("fingerprint must be a hex string or 32 bytes")
    text = value.strip()
    if text.lower().startswith("sha256:"):
        text = text[7:]
    text = re.sub(r"[\s:]", "", text)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ConfigError("fingerprint is not hexadecimal") from None
    if len(raw) != 32:
        raise ConfigError("a SHA-256 fingerprint has 32 bytes (64 hex digits)")
    return raw


def _der_certificates_as_pem(data: bytes, where: str) -> bytes:
    """PEM of the certificates of DER ``data``: one X.509 certificate or a certs-only CMS SignedData."""
    from estcodec import Error as CodecError
    from estcodec.cms import parse_certs_only
    from estcodec.x509 import Certificate

    try:
        certs = [Certificate.from_der(data)]
    except CodecError:
        try:
            certs = list(parse_certs_only(data))
        except CodecError:
            raise ConfigError(f"{where}: neither PEM nor a DER certificate or certs-only PKCS#7") from None
    return "".join(c.to_pem() for c in certs).encode("ascii")


@dataclass(frozen=True)
class TrustAnchors:
    """Where the EST server's certificate is anchored (RFC 7030 §3.6.1).

    - :meth:`system` — the system/certifi store; the server's host name must match its certificate.
    - :meth:`from_pem` — explicit anchors (the "Explicit TA database"); the server is authorized when its
      host name matches, or when its certificate carries id-kp-cmcRA.
    - :meth:`bootstrap` — no anchor yet: ``/cacerts`` is fetched once without verification and accepted
      only when a returned CA's SHA-256 fingerprint equals ``fingerprint_sha256`` or ``confirm(cert)``
      returns True (RFC 7030 §4.1.1); everything after runs on a new, verified session.
    """

    kind: Literal["system", "explicit", "bootstrap"]
    pem: bytes | None = None
    fingerprint_sha256: bytes | None = None
    confirm: Callable[[Any], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Every kind is spelled out: a typo (or "insecure") must not fall through to an unverified connection.
        if isinstance(self.pem, str):
            object.__setattr__(self, "pem", self.pem.encode("ascii", "replace"))
        if self.kind not in _TRUST_KINDS:
            raise ConfigError(
                f"unknown trust anchor kind {str(self.kind)[:40]!r}: use TrustAnchors.system(), .from_pem(),"
                " .from_file() or .bootstrap()"
            )
        if self.kind == "explicit":
            if self.pem is None:
                raise ConfigError("explicit trust anchors need PEM certificates (use TrustAnchors.from_pem)")
            _load_certs_pem(self.pem, "trust anchor PEM")
        elif self.pem is not None:
            raise ConfigError(f"{self.kind} trust takes no PEM anchors (use TrustAnchors.from_pem)")
        if self.kind == "bootstrap":
            if self.fingerprint_sha256 is None and self.confirm is None:
                raise ConfigError("bootstrap needs fingerprint_sha256 or a confirm callback")
            if self.fingerprint_sha256 is not None and not (
                    isinstance(self.fingerprint_sha256, bytes) and len(self.fingerprint_sha256) == 32):
                raise ConfigError("fingerprint_sha256 must be the 32 bytes of a SHA-256 digest")
            if self.confirm is not None and not callable(self.confirm):
                raise ConfigError("confirm must be callable")
        elif self.fingerprint_sha256 is not None or self.confirm is not None:
            raise ConfigError("fingerprint_sha256 and confirm belong to TrustAnchors.bootstrap only")

    @classmethod
    def system(cls) -> TrustAnchors:
        """Anchor on the system certificate store (certifi where the platform has none); the server's host
        name must match its certificate (RFC 7030 §3.6.1, implicit TA database).
        """
        return cls("system")

    @classmethod
    def from_pem(cls, pem_bytes: bytes | str) -> TrustAnchors:
        """Anchor on the PEM certificates given (the explicit TA database, RFC 7030 §3.6.1).

        Raises :class:`~estclient.errors.ConfigError` when ``pem_bytes`` holds no readable certificate.
        """
        if isinstance(pem_bytes, str):
            pem_bytes = pem_bytes.encode("ascii", "replace")
        _load_certs_pem(pem_bytes, "trust anchor PEM")
        return cls("explicit", pem=bytes(pem_bytes))

    @classmethod
    def from_file(cls, path: str | Path) -> TrustAnchors:
        """Like :meth:`from_pem`, reading the PEM certificates from ``path``.

        Raises :class:`~estclient.errors.ConfigError` when the file cannot be read or holds no certificate.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read trust anchors {exc.filename}: {exc.strerror or exc}") from None
        if b"-----BEGIN" not in data:  # DER: one certificate, or a certs-only PKCS#7 as /cacerts sends it
            data = _der_certificates_as_pem(data, str(path))
        return cls.from_pem(data)

    @classmethod
    def bootstrap(
        cls,
        fingerprint_sha256: str | bytes | None = None,
        *,
        confirm: Callable[[Any], bool] | None = None,
    ) -> TrustAnchors:
        """No anchor yet: trust the ``/cacerts`` answer once it is confirmed out of band (RFC 7030 §4.1.1).

        :param fingerprint_sha256: the SHA-256 fingerprint of one of the CA certificates, as 32 bytes or hex (colons,
            spaces and a ``sha256:`` prefix allowed).
        :param confirm: called with each returned CA certificate; returning True accepts the set.
        :raises ~estclient.errors.ConfigError: when neither is given, or the fingerprint is not 32 bytes of hex.
        """
        if fingerprint_sha256 is None and confirm is None:
            raise ConfigError("bootstrap needs fingerprint_sha256 or a confirm callback")
        if confirm is not None and not callable(confirm):
            raise ConfigError("confirm must be callable")
        fp = _normalize_fingerprint(fingerprint_sha256) if fingerprint_sha256 is not None else None
        return cls("bootstrap", fingerprint_sha256=fp, confirm=confirm)

    def matches_fingerprint(self, cert_der: bytes) -> bool:
        """True when these are bootstrap anchors with a fingerprint and the SHA-256 of ``cert_der`` equals it."""
        return self.fingerprint_sha256 is not None and hashlib.sha256(cert_der).digest() == self.fingerprint_sha256

    @property
    def verified(self) -> bool:
        """True when connections using these anchors authenticate the server."""
        return self.kind in ("system", "explicit")


@dataclass(frozen=True)
class EstClientConfig:
    """Everything an :class:`~estclient.EstClient` needs.

    ``server_url`` is ``https://host[:port]`` (EST runs over TLS only; ``/.well-known/est`` may be given and is
    dropped, any other path is refused). Every other argument is keyword-only.
    ``channel_binding``: ``"auto"`` binds a CSR the client builds itself when the connection is TLS <= 1.2,
    ``"require"`` caps connections at TLS 1.2 and always binds (TlsConfigError when the server offers only
    TLS 1.3), ``"off"`` never binds. ``max_body_size`` caps every response body (default 10 MiB);
    ``timeout`` (seconds) applies to each connect, read, write and pool wait; ``operation_timeout`` (seconds,
    default 120) is the total deadline of one operation's exchanges (connect, TLS handshake, sending, receiving,
    redirects, the 401 retry), ending in TransportError, and a 202 wait starts a new one; ``min_retry_delay``
    (seconds, default 1) is the least a 202 wait lasts, whatever Retry-After says; ``max_redirects`` bounds
    same-origin redirects (other origins are always refused); ``max_connections`` sizes the connection pool
    (more concurrent operations than connections simply queue).

    ``proxy`` is an ``http://[user:password@]host:port`` proxy that every connection is tunnelled through (HTTP
    CONNECT; TLS stays end to end); proxies from the environment are never used unless given here. ``headers``
    are (name, value) pairs added to every request (a ``Host`` pair replaces the host name sent, for servers
    behind a front end; TLS still verifies the URL's host); the headers EST itself sets and the credential
    headers cannot be given.

    Channel binding uses tls-unique (RFC 5929), the only binding RFC 7030 specifies. tls-exporter (RFC 9266) is
    not offered: it is not specified for EST, and CPython's ``ssl`` module cannot export keying material.
    """

    server_url: str
    _: KW_ONLY
    ca_label: str | None = None
    trust: TrustAnchors | None = None
    client_identity: ClientIdentity | None = None
    http_auth: HttpAuth | None = None
    timeout: float = 30.0
    operation_timeout: float = 120.0
    min_retry_delay: float = 1.0
    channel_binding: Literal["auto", "require", "off"] = "auto"
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    max_redirects: int = 5
    max_connections: int = 20
    user_agent: str = "estclient"
    proxy: str | None = field(default=None, repr=False)  # may hold proxy credentials
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.server_url, str):
            raise ConfigError("server_url must be a string")
        try:
            parts = urlsplit(self.server_url)
            port = parts.port
        except ValueError:
            raise ConfigError("server_url is not a valid URL") from None
        if parts.scheme.lower() != "https":
            raise ConfigError("EST runs over HTTPS only (RFC 7030 §3.3): server_url must start with https://")
        if not parts.hostname:
            raise ConfigError("server_url has no host")
        if parts.username or parts.password:
            raise ConfigError("put credentials in http_auth, not in server_url")
        if parts.path.rstrip("/") not in ("", "/.well-known/est") or parts.query or parts.fragment:
            raise ConfigError("server_url must be https://host[:port] (EST paths are added by the client)")
        host = parts.hostname
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc += f":{port}"
        object.__setattr__(self, "server_url", f"https://{netloc}")
        if self.ca_label is not None:
            validate_ca_label(self.ca_label)
        if self.trust is None:
            object.__setattr__(self, "trust", TrustAnchors.system())
        elif not isinstance(self.trust, TrustAnchors):
            raise ConfigError("trust must be a TrustAnchors")
        if self.client_identity is not None and not isinstance(self.client_identity, ClientIdentity):
            raise ConfigError("client_identity must be a ClientIdentity")
        if self.http_auth is not None and not isinstance(self.http_auth, HttpAuth):
            raise ConfigError("http_auth must be an HttpAuth")
        if self.channel_binding not in ("auto", "require", "off"):
            raise ConfigError("channel_binding must be 'auto', 'require' or 'off'")
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ConfigError("timeout must be a positive number of seconds")
        if isinstance(self.operation_timeout, bool) or not isinstance(self.operation_timeout, (int, float)) \
                or not 0 < self.operation_timeout < float("inf"):
            raise ConfigError("operation_timeout must be a positive number of seconds")
        from ._polling import check_min_retry_delay

        object.__setattr__(self, "min_retry_delay", check_min_retry_delay(self.min_retry_delay))
        if not (isinstance(self.max_body_size, int) and self.max_body_size > 0):
            raise ConfigError("max_body_size must be a positive int")
        if not (isinstance(self.max_redirects, int) and self.max_redirects >= 0):
            raise ConfigError("max_redirects must be >= 0")
        if not (isinstance(self.max_connections, int) and self.max_connections > 0):
            raise ConfigError("max_connections must be > 0")
        if self.proxy is not None:
            object.__setattr__(self, "proxy", _check_proxy(self.proxy))
        object.__setattr__(self, "headers", _check_headers(self.headers))

    @property
    def host(self) -> str:
        """The host name of ``server_url`` (without brackets for an IPv6 literal)."""
        return urlsplit(self.server_url).hostname or ""

    @property
    def port(self) -> int:
        """The port of ``server_url``; 443 when it names none."""
        return urlsplit(self.server_url).port or 443


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED_HEADERS = frozenset({"authorization", "proxy-authorization", "content-type", "content-length",
                               "content-transfer-encoding", "transfer-encoding", "connection", "accept-encoding"})


def split_well_known(url: str, label: str | None = None) -> tuple[str, str | None]:
    """``https://host[:port]/.well-known/est[/label][/]`` (the form ``est testserver`` prints) as the origin and
    the label (``label`` wins when given); any other URL is returned as it is, for :class:`EstClientConfig` to
    check."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if parts.query or parts.fragment or not (path == "/.well-known/est" or path.startswith("/.well-known/est/")):
        return url, label
    rest = path[len("/.well-known/est"):].strip("/")
    return f"{parts.scheme}://{parts.netloc}", label if label is not None or not rest else rest


def resolve_proxy(proxy: str | None, origin: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy a setting names for ``origin``: None for none, a URL as given, and for ``"env"`` the
    environment's choice (``https_proxy``/``HTTPS_PROXY``, else ``all_proxy``/``ALL_PROXY``, unless
    ``no_proxy``/``NO_PROXY`` names the host or is ``*``). The environment is read only when asked for with
    ``"env"``: the client never picks up proxies by accident."""
    if proxy is None or proxy.strip() == "":
        return None
    if proxy.strip().lower() != "env":
        return proxy.strip()
    env = os.environ if environ is None else environ
    host = urlsplit(origin).hostname or ""
    no_proxy = env.get("no_proxy", env.get("NO_PROXY", ""))
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return None
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        if env.get(name):
            return env[name].strip()
    return None


def _check_proxy(proxy: object) -> str:
    """An ``http://[user:password@]host:port`` proxy URL, else ConfigError (which never repeats a password)."""
    if not isinstance(proxy, str):
        raise ConfigError("proxy must be a string URL")
    try:
        parts = urlsplit(proxy)
        port = parts.port
    except ValueError:
        raise ConfigError("proxy is not a valid URL") from None
    if parts.scheme.lower() != "http" or not parts.hostname or port is None:
        raise ConfigError("proxy must be http://host:port (an HTTP proxy that tunnels with CONNECT)")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ConfigError("proxy must be http://host:port, without a path")
    return proxy


def parse_header_lines(lines: list[str] | tuple[str, ...], host: str | None = None,
                       what: str = "header") -> tuple[tuple[str, str], ...]:
    """Request headers from ``"Name: value"`` lines (``Name:value`` too) and, when given, ``host`` as the
    ``Host`` header, for :attr:`EstClientConfig.headers`. ``what`` names the setting in the error message.
    Raises :class:`~estclient.errors.ConfigError` for a line without a name and colon, or Host given twice."""
    out = []
    for item in lines:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"{what} wants NAME:VALUE, got {item!r}")
        out.append((name.strip(), value.strip()))
    if host:
        if any(n.lower() == "host" for n, _ in out):
            raise ConfigError("give the Host header once")
        out.append(("Host", host.strip()))
    return tuple(out)


def _check_headers(headers: object) -> tuple[tuple[str, str], ...]:
    """Extra request headers as (name, value) pairs: valid tokens, no line breaks, none EST or auth sets."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    if not isinstance(headers, (list, tuple)):
        raise ConfigError("headers must be (name, value) pairs")
    out = []
    for item in headers:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise ConfigError("headers must be (name, value) pairs of strings")
        name, value = item[0].strip(), item[1].strip()
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigError(f"not a valid header name: {name!r}")
        if any(c in value for c in "\r\n\0"):
            raise ConfigError(f"header {name}: the value has a line break")
        if name.lower() in _RESERVED_HEADERS:
            raise ConfigError(f"header {name} is set by the client itself and cannot be given")
        out.append((name, value))
    return tuple(out)


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
