"""``est check``: walk the way to an EST server one step at a time and say what failed and what to do.

The steps: the settings (flags, environment, file), TCP connectivity (to the proxy when there is one), the TLS
handshake and the server's authorization (RFC 7030 §3.6: its certificate chains to the trust anchors and names
the host, or carries id-kp-cmcRA), ``/cacerts`` (with ``--bootstrap-fingerprint``: the CA's fingerprint),
``/csrattrs``, and the credentials. Credentials are checked with one deliberately empty request to
``/simpleenroll``: a CA cannot issue anything for it (it holds no key), so an answer other than 401 means the
credentials were accepted; ``--no-credentials-probe`` leaves it out.

Each outcome has a stable code; :data:`OUTCOMES` holds its meaning and what to do, and
:func:`troubleshooting_markdown` renders them as ``docs/troubleshooting.md`` (a test keeps the two equal).
"""
from __future__ import annotations

import argparse
import socket
import ssl
import sys
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from .. import errors as E
from ._errors import EXIT_AUTH, EXIT_NETWORK, EXIT_OK, EXIT_PROTOCOL, EXIT_SERVER, EXIT_TLS, EXIT_USAGE, CliError
from ._errors import describe, one_line
from ._output import Output

__all__ = ["cmd_check", "OUTCOMES", "Outcome", "troubleshooting_markdown"]


@dataclass(frozen=True)
class Outcome:
    """A failure ``est check`` can report: the step it belongs to, what it means, what to do, its exit status."""

    code: str
    step: str
    title: str
    fix: str
    exit_status: int


OUTCOMES: dict[str, Outcome] = {o.code: o for o in (
    Outcome("bad-settings", "settings", "The settings cannot be used",
            "Read the message: a missing --server, a file that cannot be read (it is named), --cert without --key, "
            "--trust together with --bootstrap-fingerprint. `est COMMAND --help` lists the flags; EST_* variables "
            "and the --config file give the same settings.", EXIT_USAGE),
    Outcome("dns", "connectivity", "The host name does not resolve",
            "Check the spelling of --server and the DNS (or /etc/hosts) of this machine; behind a proxy, give "
            "--proxy so that the proxy resolves it.", EXIT_NETWORK),
    Outcome("connect-refused", "connectivity", "Nothing accepts connections on that port",
            "The server is down or listens on another port: check the port in --server (EST usually runs on 443 or "
            "8443) and that the server runs. A firewall that rejects connections looks the same.", EXIT_NETWORK),
    Outcome("connect-timeout", "connectivity", "The connection attempt timed out",
            "A firewall drops the packets, or the host is unreachable from here. If this network needs a proxy, "
            "give --proxy http://proxy:port (or --proxy env for the environment's https_proxy).", EXIT_NETWORK),
    Outcome("proxy-refused", "connectivity", "The proxy refused to open the tunnel",
            "A 407 means the proxy wants credentials: put them in the proxy URL "
            "(http://user:password@proxy:port). A 403 means the proxy does not allow this destination.",
            EXIT_NETWORK),
    Outcome("tls-version", "tls", "No TLS version in common",
            "EST needs TLS 1.2 or later. With --channel-binding require the client offers only TLS 1.2: a server "
            "that speaks only TLS 1.3 cannot do channel binding; use --channel-binding auto.", EXIT_TLS),
    Outcome("server-untrusted", "tls", "The server's certificate does not chain to the trust anchors",
            "Give the CA that issued the server's certificate with --trust FILE (PEM or DER). Without one, get it "
            "with `est cacerts --bootstrap-fingerprint SHA256 --out ca.pem`, the fingerprint obtained out of band.",
            EXIT_TLS),
    Outcome("server-cert-expired", "tls", "The server's certificate has expired (or is not valid yet)",
            "The server must renew its certificate; check also this machine's clock.", EXIT_TLS),
    Outcome("server-name-mismatch", "authorization", "The server's certificate does not name the host",
            "RFC 7030 §3.6.1: the certificate must name the host of --server (or carry id-kp-cmcRA). Use the name "
            "the certificate carries in --server; --host-header changes only the HTTP Host header, not this check.",
            EXIT_TLS),
    Outcome("client-cert-refused", "tls", "The server refused the TLS client certificate",
            "Check that --cert and --key belong together, that the certificate is valid now, and that the server "
            "trusts its issuer and accepts its key type.", EXIT_TLS),
    Outcome("fingerprint-mismatch", "cacerts", "No CA certificate has the bootstrap fingerprint",
            "The fingerprint must be the SHA-256 of the CA certificate, obtained out of band. Do not trust this "
            "server until it matches: it may not be the server you meant.", EXIT_TLS),
    Outcome("cacerts-refused", "cacerts", "The server does not answer /cacerts",
            "Check the CA label (--label) and the path: the server may expect /.well-known/est/LABEL/. An HTTP "
            "error status is shown with the server's reason.", EXIT_SERVER),
    Outcome("bad-response", "cacerts", "The server's answer does not follow RFC 7030",
            "Run the command with --debug to see the exchange; the message says what was wrong with the answer. "
            "This is a server problem (or a proxy that rewrites answers).", EXIT_PROTOCOL),
    Outcome("csrattrs-refused", "csrattrs", "The server refuses /csrattrs",
            "Enrollment can go on without it: give --no-csrattrs to enroll and the other commands.", EXIT_SERVER),
    Outcome("credentials-refused", "credentials", "The server refused the credentials",
            "Check --user and the password (--password-file, EST_PASSWORD), --digest if the server wants HTTP "
            "Digest, or the client certificate (--cert/--key) the server expects.", EXIT_AUTH),
    Outcome("network", "connectivity", "The connection broke during the exchange",
            "Retry; if it persists, run with -v to see where it stops, and check --timeout.", EXIT_NETWORK),
)}

_STEPS = ("settings", "connectivity", "tls", "authorization", "cacerts", "csrattrs", "credentials")


class _Failed(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def troubleshooting_markdown() -> str:
    """The body of docs/troubleshooting.md: every outcome of ``est check`` by step, with what to do."""
    lines = []
    for step in _STEPS:
        outcomes = [o for o in OUTCOMES.values() if o.step == step]
        if not outcomes:
            continue
        lines.append(f"### {step}\n")
        for o in outcomes:
            lines.append(f"**`{o.code}`: {o.title}** (exit status {o.exit_status}). {o.fix}\n")
    return "\n".join(lines)


def _classify_ssl(exc: BaseException) -> str:
    text = str(exc).lower()
    if "not authorized" in text or "cmcra" in text:  # RFC 7030 §3.6.1, checked by estclient.tls
        return "server-name-mismatch"
    if isinstance(exc, ssl.SSLCertVerificationError):
        if "expired" in text or "not yet valid" in text:
            return "server-cert-expired"
        if "hostname" in text or "ip address mismatch" in text:
            return "server-name-mismatch"
        return "server-untrusted"
    if "authoriz" in text or "does not name" in text or "cmcra" in text:
        return "server-name-mismatch"
    if "version" in text or "protocol" in text:
        return "tls-version"
    if "certificate" in text and ("alert" in text or "refused" in text):
        return "client-cert-refused"
    return "server-untrusted"


def _classify_est_error(exc: BaseException, step: str) -> str:
    if isinstance(exc, E.BootstrapVerificationError):
        return "fingerprint-mismatch"
    if isinstance(exc, E.AuthenticationRequired):
        return "credentials-refused"
    if isinstance(exc, E.TlsConfigError):
        return _classify_ssl(exc)
    if isinstance(exc, E.TransportError):
        return "proxy-refused" if "proxy" in str(exc).lower() else "network"
    if isinstance(exc, E.ProtocolError):
        return "bad-response"
    return "csrattrs-refused" if step == "csrattrs" else "cacerts-refused"


class _Report:
    def __init__(self, out: Output) -> None:
        self.out = out
        self.results: list[dict[str, Any]] = []

    def add(self, step: str, status: str, detail: str, code: str | None = None) -> None:
        entry: dict[str, Any] = {"step": step, "status": status, "detail": detail}
        mark = {"ok": "ok  ", "skip": "skip", "fail": "FAIL", "note": "note"}[status]
        self.out.info(f"[{mark}] {step}: {detail}")
        if code is not None:
            o = OUTCOMES[code]
            entry.update(outcome=code, title=o.title, fix=o.fix)
            self.out.info(f"       {o.title} ({code}). What to do: {o.fix}")
        self.results.append(entry)


def _connect(config: Any, timeout: float) -> str:
    """TCP to the server (or its proxy); the address reached."""
    if config.proxy:
        p = urlsplit(config.proxy)
        host, port = p.hostname or "", p.port or 8080
    else:
        host, port = config.host, config.port
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as exc:
        raise _Failed("dns", f"{host}: {exc.strerror or exc}") from None
    except ConnectionRefusedError:
        raise _Failed("connect-refused", f"{host}:{port} refused the connection") from None
    except (socket.timeout, TimeoutError):
        raise _Failed("connect-timeout", f"{host}:{port}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise _Failed("connect-refused", f"{host}:{port}: {exc.strerror or exc}") from None
    return f"{host}:{port}" + (" (the proxy)" if config.proxy else "")


def _handshake(config: Any, timeout: float) -> list[str]:
    """A TLS handshake as the client makes it (trust anchors, server authorization, client certificate)."""
    import hashlib

    from ..tls import create_ssl_context

    ctx = create_ssl_context(config.trust, config.client_identity, max_tls12=config.channel_binding == "require")
    try:
        with socket.create_connection((config.host, config.port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=config.host) as tls:
                version, cipher, der = tls.version(), tls.cipher(), tls.getpeercert(binary_form=True)
    except (ssl.SSLError, E.EstError, ValueError) as exc:
        detail = getattr(exc, "verify_message", None) or (exc.args[0] if exc.args and isinstance(exc.args[0], str)
                                                           else exc)
        raise _Failed(_classify_ssl(exc), one_line(detail)) from None
    except OSError as exc:
        raise _Failed("network", one_line(exc)) from None
    from cryptography import x509

    lines = [f"TLS {version}, cipher {cipher[0] if cipher else '?'}"]
    if der:
        cert = x509.load_der_x509_certificate(der)
        lines.append(f"server certificate {cert.subject.rfc4514_string()}, valid until "
                     f"{cert.not_valid_after_utc:%Y-%m-%d}, SHA-256 {hashlib.sha256(der).hexdigest()[:16]}...")
    return lines


def _run_steps(args: argparse.Namespace, report: _Report) -> None:
    from ._request import make_client
    from ._settings import make_config, resolve_settings

    step = "settings"
    try:
        config = make_config(resolve_settings(args))
    except (CliError, E.EstError, OSError) as exc:
        raise _Failed("bad-settings", describe(exc)) from None
    report.add(step, "ok", f"server {config.server_url}, trust {config.trust.kind}"
                           + (f", proxy {urlsplit(config.proxy).hostname}" if config.proxy else ""))
    step = "connectivity"
    report.add(step, "ok", f"{_connect(config, config.timeout)} accepts connections")
    bootstrap = config.trust.kind == "bootstrap"
    if bootstrap or config.proxy:
        report.add("tls", "skip", "checked through /cacerts below" + (
            " (bootstrap: the server is accepted by the CA fingerprint)" if bootstrap else " (through the proxy)"))
    else:
        lines = _handshake(config, config.timeout)
        report.add("tls", "ok", lines[0])
        report.add("authorization", "ok", (lines[1] if len(lines) > 1 else "server certificate accepted")
                   + "; chains to the trust anchors and names the host")
    with make_client(args, config) as client:
        _server_steps(args, client, bootstrap, report)


def _server_steps(args: argparse.Namespace, client: Any, bootstrap: bool, report: _Report) -> None:
    attempts: list[tuple[str, Callable[[], str]]] = [
        ("cacerts", lambda: _cacerts(client, bootstrap)),
        ("csrattrs", lambda: _csrattrs(client)),
        ("credentials", lambda: _credentials(args, client)),
    ]
    for step, run in attempts:
        try:
            detail = run()
        except E.EstError as exc:
            raise _Failed(_classify_est_error(exc, step), describe(exc)) from None
        report.add(step, "skip" if detail.startswith("not checked") else "ok", detail)


def _cacerts(client: Any, bootstrap: bool) -> str:
    cas = client.bootstrap() if bootstrap else client.get_ca_certs()
    names = ", ".join(c.subject.rfc4514_string() for c in list(cas)[:3])
    return f"{len(cas)} CA certificate(s): {names}" + (" (fingerprint matched)" if bootstrap else "")


def _csrattrs(client: Any) -> str:
    try:
        attrs = client.get_csr_attributes()
    except E.NotSupported:
        return "not offered by the server (enrollment works without it)"
    return "the server asks for nothing in particular" if attrs.is_empty() else f"{len(attrs)} item(s) asked for"


def _credentials(args: argparse.Namespace, client: Any) -> str:
    config = client.config
    if config.http_auth is None and config.client_identity is None:
        return "not checked: no --user and no --cert given"
    if getattr(args, "no_credentials_probe", False):
        return "not checked (--no-credentials-probe)"
    how = (f"HTTP {config.http_auth.scheme} as {config.http_auth.username!r}" if config.http_auth is not None
           else "the TLS client certificate")
    try:
        client.simple_enroll(b"\x30\x00")  # an empty SEQUENCE: authenticated first, then refused as no request
    except (E.ServerError, E.ProtocolError, E.NotSupported):
        return f"{how} accepted (the server then refused the empty probe request, as it should)"
    return f"{how} accepted"


def cmd_check(args: argparse.Namespace) -> int:
    """Check each step to the server in turn; print what works, and for the first failure what to do."""
    out = Output(args)
    report = _Report(out)
    failed: Outcome | None = None
    try:
        _run_steps(args, report)
    except _Failed as f:
        failed = OUTCOMES[f.code]
        report.add(failed.step, "fail", str(f), f.code)
    if out.json:
        out.result({"operation": "check", "ok": failed is None, "steps": report.results})
    if failed is None:
        out.info("all checks passed")
        return EXIT_OK
    print(f"est check: error: {failed.step}: {failed.title} ({failed.code})", file=sys.stderr)
    return failed.exit_status
