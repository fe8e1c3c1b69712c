"""``-v`` and ``--debug``: what the ``est`` command decided and what went over the wire, on stderr.

``-v`` prints the settings that were decided (server, trust mode, client identity, authentication, channel
binding, proxy), then for each exchange the request line, the response line, the TLS version and cipher and the
server's certificate (subject, issuer, SHA-256 fingerprint; the whole verified chain where Python offers it).
``--debug`` adds the headers of each exchange. Credentials are never printed: ``Authorization``,
``Proxy-Authorization`` and cookie values are replaced by ``<redacted>`` (the scheme is kept), and a proxy URL
loses its user information.
"""
from __future__ import annotations

import hashlib
import sys
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

__all__ = ["tracing_client_class", "redact_headers", "redact_url", "describe_settings", "emit"]

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def emit(text: str) -> None:
    """One diagnostics line on stderr (``est: * ...``)."""
    print(f"est: * {text}", file=sys.stderr, flush=True)


def redact_url(url: str) -> str:
    """``url`` without its user information (a proxy's user name and password)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="<redacted>@" + parts.netloc.rpartition("@")[2]))


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[str]:
    """``Name: value`` lines with the values of credential headers replaced (the auth scheme stays visible)."""
    lines = []
    for name, value in headers:
        if name.lower() in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value and name.lower().endswith("authorization") else ""
            value = f"{scheme} <redacted>".strip()
        lines.append(f"{name}: {value}")
    return lines


def describe_settings(config: Any) -> list[str]:
    """What was decided from flags, environment and file, one line each (no secret)."""
    trust = config.trust
    mode = getattr(trust, "kind", None) or type(trust).__name__
    lines = [f"server {config.server_url}" + (f", CA label {config.ca_label}" if config.ca_label else ""),
             f"trust: {mode}" + {"explicit": " (the --trust file)", "system": " (the system store)",
                                 "bootstrap": " (accept the CA whose fingerprint was given)"}.get(str(mode), "")]
    ident = config.client_identity
    if ident is not None:
        lines.append(f"client certificate: {ident.certificate.subject.rfc4514_string()}")
    auth = config.http_auth
    lines.append(f"HTTP authentication: {auth.scheme} as {auth.username!r}" if auth is not None
                 else "HTTP authentication: none")
    binding = {"auto": "auto (CSRs are bound to the TLS connection when it is TLS 1.2)",
               "require": "require (TLS capped at 1.2, every CSR bound)", "off": "off"}
    lines.append(f"channel binding: {binding.get(config.channel_binding, config.channel_binding)}")
    lines.append(f"proxy: {redact_url(config.proxy)} (CONNECT)" if config.proxy else "proxy: none (direct)")
    for name, _ in config.headers:
        lines.append(f"extra header: {name}")
    return lines


def _peer_lines(ssl_object: Any) -> list[str]:
    """TLS version and cipher, then the server's certificate chain as the handshake gave it."""
    from cryptography import x509

    version = ssl_object.version()
    cipher = ssl_object.cipher()
    lines = [f"TLS {version}, cipher {cipher[0] if cipher else '?'}"]
    chain_der: list[bytes] = []
    get_chain = getattr(ssl_object, "get_verified_chain", None)  # Python 3.13+
    if get_chain is not None:
        try:
            import _ssl

            chain_der = [bytes(c.public_bytes(_ssl.ENCODING_DER)) for c in get_chain()]
        except (ValueError, TypeError, AttributeError):
            chain_der = []
    if not chain_der:
        leaf = ssl_object.getpeercert(binary_form=True)
        chain_der = [leaf] if leaf else []
    for i, der in enumerate(chain_der):
        try:
            cert = x509.load_der_x509_certificate(der)
            lines.append(f"server certificate [{i}]: {cert.subject.rfc4514_string()} (issuer "
                         f"{cert.issuer.rfc4514_string()}), SHA-256 {hashlib.sha256(der).hexdigest()}")
        except ValueError:
            lines.append(f"server certificate [{i}]: unreadable, SHA-256 {hashlib.sha256(der).hexdigest()}")
    return lines


def _binding_line(version: str | None, mode: str) -> str:
    """What channel binding (RFC 7030 §3.5) does on a connection of this TLS version."""
    if mode == "off":
        return "channel binding: off (--channel-binding off)"
    if version == "TLSv1.3":
        return "channel binding: not on this connection (TLS 1.3 has no tls-unique); CSRs sent here are not bound"
    return "channel binding: CSRs the client builds and sends on this connection carry its tls-unique"


def _hooks(debug: bool, binding: str) -> dict[str, list[Callable[[Any], None]]]:
    seen: set[int] = set()  # TLS details once per connection

    def on_request(request: Any) -> None:
        emit(f"> {request.method} {request.url}")
        if debug:
            for line in redact_headers(request.headers.multi_items()):
                emit(f">   {line}")

    def on_response(response: Any) -> None:
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        if ssl_object is not None and id(ssl_object) not in seen:
            seen.add(id(ssl_object))
            for line in _peer_lines(ssl_object):
                emit(line)
            emit(_binding_line(ssl_object.version(), binding))
        reason = response.reason_phrase or ""
        emit(f"< {response.http_version} {response.status_code} {reason}".rstrip())
        if debug:
            for line in redact_headers(response.headers.multi_items()):
                emit(f"<   {line}")

    return {"request": [on_request], "response": [on_response]}


def tracing_client_class(debug: bool) -> Any:
    """An :class:`estclient.EstClient` subclass whose httpx clients report each exchange through :func:`emit`
    (request and response lines, TLS details; with ``debug`` the headers, credentials redacted)."""
    from ..client import EstClient, _default_transport

    class TracingEstClient(EstClient):
        def __init__(self, config: Any) -> None:
            hooks = _hooks(debug, config.channel_binding)
            super().__init__(config, transport=_default_transport(config, "sync", hooks))
            for line in describe_settings(config):
                emit(line)

    return TracingEstClient
