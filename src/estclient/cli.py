"""The ``est`` command: an EST (RFC 7030) client on the command line.

``est SUBCOMMAND [options]``; ``est SUBCOMMAND --help`` describes each one. Settings come from flags, then
environment variables (``EST_SERVER``, ``EST_USER``, ...), then a TOML file (``--config`` or ``EST_CONFIG``);
flags win. Output files are written atomically, private keys with mode 0600, and nothing is overwritten
without ``--force``. Each failure class has its own exit status (see ``est --help``).
"""
from __future__ import annotations

import argparse
import gc
import getpass
import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

from . import errors as E
from ._cli_files import KEY_MODE, PUBLIC_MODE, OutputExists, check_writable, write_file

__all__ = ["main", "build_parser", "EXIT_CODES", "Settings", "resolve_settings"]

# ----------------------------------------------------------------------------------------------- exit codes

EXIT_OK = 0
EXIT_ERROR = 1  # anything else: unreadable input file, unexpected failure
EXIT_USAGE = 2  # bad flags or configuration
EXIT_AUTH = 3  # the server refused the credentials or the client certificate (401)
EXIT_TLS = 4  # TLS: untrusted server, bad trust anchors or client identity, bootstrap fingerprint mismatch
EXIT_SERVER = 5  # the server refused the request (4xx/5xx, CMC failure) or does not offer the operation
EXIT_PROTOCOL = 6  # the server's answer does not follow RFC 7030
EXIT_PENDING = 7  # still pending (202) when the wait (--max-wait) ran out
EXIT_NETWORK = 8  # connection refused, reset, timed out
EXIT_FILE = 9  # an output file exists (no --force) or cannot be written

EXIT_CODES = {
    "ok": EXIT_OK, "error": EXIT_ERROR, "usage": EXIT_USAGE, "auth": EXIT_AUTH, "tls": EXIT_TLS,
    "server": EXIT_SERVER, "protocol": EXIT_PROTOCOL, "pending": EXIT_PENDING, "network": EXIT_NETWORK,
    "file": EXIT_FILE,
}

EXAMPLES = """\
examples:
  est demo                                    # every operation against a throwaway local CA
  est testserver --ca-out ca.pem              # a test EST server for other clients (Ctrl-C stops)
  est cacerts -s https://est.example:8443 --bootstrap-fingerprint SHA256HEX --out ca.pem
  est enroll -s https://est.example:8443 --trust ca.pem -u dev1 --password-file pw \\
      --cn dev1 --san-dns dev1.example --out dev1.pem --key-out dev1.key
  est reenroll -s https://est.example:8443 --trust ca.pem --cert dev1.pem --key dev1.key \\
      --out dev1.pem --key-out dev1.key --force
  est batch devices.csv -s https://est.example:8443 --trust ca.pem -u fab --password-file pw -c 50
  est renew --watch -s https://est.example:8443 --trust ca.pem --cert dev1.pem --key dev1.key --threshold 7d
  est show response.der                       # what is in this file? (certificate, CSR, CMC, CMS, key...)

"""

EPILOG = """\
exit status:
  0  success
  1  other error (unreadable input file, unexpected failure)
  2  usage or configuration error
  3  authentication refused (HTTP 401: wrong user/password or client certificate)
  4  TLS error (server not trusted, bad trust anchors or client identity, bootstrap fingerprint mismatch)
  5  the server refused the request (HTTP 4xx/5xx, CMC failure) or does not offer the operation
  6  protocol error (the server's answer does not follow RFC 7030)
  7  still pending: HTTP 202 beyond --max-wait, or a CMC pending status
  8  network error (connection refused, reset, timed out)
  9  output file exists (use --force) or cannot be written

environment (flags win over the environment, the environment over the --config file):
  EST_SERVER EST_LABEL EST_TRUST EST_BOOTSTRAP_FINGERPRINT EST_CERT EST_KEY EST_USER EST_PASSWORD
  EST_PASSWORD_FILE EST_DIGEST EST_TIMEOUT EST_MIN_RETRY_DELAY EST_CHANNEL_BINDING EST_CONFIG

config file (TOML; `est config init` writes a commented one with sections), or keys as the long flags
without dashes, e.g.:
  server = "https://est.example.com:8443"
  label = "arbitraryLabel1"
  trust = "ca.pem"              # relative paths are relative to the config file
  user = "estuser"
  password_file = "est.pass"
"""


class CliError(Exception):
    """A failure with its exit status and a one-line message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(exc: BaseException) -> int:
    """The exit status of a failure class."""
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, E.AuthenticationRequired):
        return EXIT_AUTH
    if isinstance(exc, (E.TlsConfigError, E.BootstrapVerificationError)):
        return EXIT_TLS
    if isinstance(exc, (E.ServerError, E.NotSupported)):
        return EXIT_SERVER
    if isinstance(exc, E.ProtocolError):
        return EXIT_PROTOCOL
    if isinstance(exc, E.PendingTimeout):
        return EXIT_PENDING
    if isinstance(exc, E.TransportError):
        return EXIT_NETWORK
    if isinstance(exc, E.ConfigError):
        return EXIT_USAGE
    if isinstance(exc, (OutputExists, OSError)):
        return EXIT_FILE
    return EXIT_ERROR


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# ----------------------------------------------------------------------------------------------- settings

_SETTING_KEYS = ("server", "label", "trust", "bootstrap_fingerprint", "cert", "key", "user", "password",
                 "password_file", "digest", "timeout", "min_retry_delay", "channel_binding")


@dataclass
class Settings:
    """Connection settings after merging flags, environment and config file."""

    server: str | None = None
    label: str | None = None
    trust: str | None = None
    bootstrap_fingerprint: str | None = None
    cert: str | None = None
    key: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: str | None = None
    digest: bool = False
    timeout: float = 30.0
    min_retry_delay: float = 1.0
    channel_binding: str = "auto"


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _load_toml(path: str) -> dict[str, Any]:
    """The connection settings of a config file (the sectioned form of :mod:`estclient.config_file`, or the flat
    form of earlier versions), keyed as the long flags."""
    from .config_file import load_config

    try:
        return load_config(path).connection_settings()
    except E.ConfigError as exc:
        raise CliError(EXIT_USAGE, str(exc)) from None


def resolve_settings(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    """Merge: defaults < config file < environment < flags."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    config_path = getattr(args, "config", None) or env.get("EST_CONFIG")
    if config_path:
        merged.update(_load_toml(config_path))
    for key in _SETTING_KEYS:
        value = env.get("EST_" + key.upper())
        if value not in (None, ""):
            merged[key] = value
    for key in _SETTING_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            merged[key] = value
    s = Settings()
    for key, value in merged.items():
        if key == "digest":
            s.digest = _truthy(value)
        elif key in ("timeout", "min_retry_delay"):
            try:
                setattr(s, key, float(value))
            except (TypeError, ValueError):
                raise CliError(EXIT_USAGE, f"{key} must be a number of seconds, got {value!r}") from None
        else:
            setattr(s, key, None if value is None else str(value))
    return s


def _normalize_server(server: str, label: str | None) -> tuple[str, str | None]:
    """Accept ``host[:port]``, ``https://host[:port]`` and the ``.../.well-known/est[/label]/`` form that
    ``est testserver`` prints; return (origin, label)."""
    text = server.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    path = parts.path.rstrip("/")
    if path.startswith("/.well-known/est"):
        rest = path[len("/.well-known/est"):].strip("/")
        if rest and label is None:
            label = rest
        path = ""
    if path:
        raise CliError(EXIT_USAGE, f"--server must be https://host[:port] (got a path: {parts.path!r})")
    return f"{parts.scheme}://{parts.netloc}", label


def _password(s: Settings) -> str | None:
    if s.password is not None:
        return s.password
    if s.password_file:
        try:
            return Path(s.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CliError(EXIT_USAGE, f"cannot read password file: {exc.strerror or exc}") from None
    if s.user and sys.stdin.isatty():
        return getpass.getpass(f"EST password for {s.user}: ")
    return None


#: --timeout T bounds each network step by T and a whole operation (connect, TLS, send, receive, redirects,
#: the 401 retry) by this many times T: the library's defaults (30 s and 120 s) keep their ratio.
_OPERATION_TIMEOUT_FACTOR = 4


def make_config(s: Settings) -> Any:
    """An :class:`estclient.EstClientConfig` from settings (ConfigError/CliError on bad values)."""
    from .config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors

    if not s.server:
        raise CliError(EXIT_USAGE, "no EST server: give --server URL (or EST_SERVER, or server in --config)")
    origin, label = _normalize_server(s.server, s.label)
    if s.trust and s.bootstrap_fingerprint:
        raise CliError(EXIT_USAGE, "give --trust or --bootstrap-fingerprint, not both")
    if s.trust:
        trust = TrustAnchors.from_file(s.trust)
    elif s.bootstrap_fingerprint:
        trust = TrustAnchors.bootstrap(s.bootstrap_fingerprint)
    else:
        trust = TrustAnchors.system()
    identity = None
    if bool(s.cert) != bool(s.key):
        raise CliError(EXIT_USAGE, "--cert and --key go together (the TLS client certificate and its key)")
    if s.cert and s.key:
        identity = ClientIdentity.from_files(s.cert, s.key)
    auth = None
    if s.user:
        pw = _password(s)
        if pw is None:
            raise CliError(EXIT_USAGE, "--user needs a password: --password, --password-file or EST_PASSWORD")
        auth = HttpAuth(s.user, pw, "digest" if s.digest else "basic")
    if s.channel_binding not in ("auto", "require", "off"):
        raise CliError(EXIT_USAGE, f"channel binding must be auto, require or off, got {s.channel_binding!r}")
    return EstClientConfig(origin, ca_label=label, trust=trust, client_identity=identity, http_auth=auth,
                           timeout=s.timeout, operation_timeout=_OPERATION_TIMEOUT_FACTOR * s.timeout,
                           min_retry_delay=s.min_retry_delay,
                           channel_binding=s.channel_binding)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------- output


class Output:
    """Where messages go: results to stdout, progress and notes to stderr; ``--json`` makes stdout one JSON
    document and keeps human text on stderr."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.json = bool(getattr(args, "json", False))
        self.quiet = bool(getattr(args, "quiet", False))

    def info(self, text: str = "") -> None:
        if self.quiet:
            return
        print(text, file=sys.stderr if self.json else sys.stdout, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def result(self, doc: Any) -> None:
        if self.json:
            print(json.dumps(doc, indent=2, default=str), flush=True)


def _pem_block(label: str, der: bytes) -> str:
    from estcodec.pem import encode

    return encode(label, der)


def _cert_summary(cert: Any) -> dict[str, Any]:
    from estcodec.show import summarize_certificate

    return summarize_certificate(cert)


def _cert_lines(cert: Any, indent: str = "  ") -> list[str]:
    from estcodec.show import terminal_safe

    s = {k: terminal_safe(v) if isinstance(v, str) else v for k, v in _cert_summary(cert).items()}
    if s.get("subject_alt_names"):
        s["subject_alt_names"] = [terminal_safe(str(x)) for x in s["subject_alt_names"]]
    lines = [
        f"{indent}subject:  {s['subject']}",
        f"{indent}issuer:   {s['issuer']}",
        f"{indent}serial:   {s['serial']}",
        f"{indent}validity: {s['not_before']} .. {s['not_after']} ({s['validity']})",
        f"{indent}key:      {s['key']}",
    ]
    if s.get("subject_alt_names"):
        lines.append(f"{indent}SAN:      {', '.join(s['subject_alt_names'])}")
    return lines


def _key_bytes(key: Any, fmt: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    enc = serialization.Encoding.PEM if fmt == "pem" else serialization.Encoding.DER
    return key.private_bytes(enc, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _cert_bytes(cert: Any, chain: Sequence[Any], fmt: str) -> bytes:
    if fmt == "der":
        return cert.to_der()
    return "".join(_pem_block("CERTIFICATE", c.to_der()) for c in [cert, *chain]).encode("ascii")


def _key_description(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    from estcodec.show import describe_public_key
    from estcodec.x509 import SubjectPublicKeyInfo

    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return describe_public_key(SubjectPublicKeyInfo.from_der(spki))


def _read_private_key(path: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read key {path}: {exc.strerror or exc}") from None
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CliError(EXIT_USAGE, f"{path}: not a readable unencrypted private key") from None


def _read_der(path: str) -> bytes:
    from estcodec.pem import load_any

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}") from None
    return load_any(data)


# ----------------------------------------------------------------------------------------------- waiting


def _sleep_with_progress(out: Output, delay: float, left: float, attempt: int, interrupt: threading.Event) -> None:
    """Wait ``delay`` seconds, showing the countdown to the next try and the time left of --max-wait."""
    tty = sys.stderr.isatty() and not out.quiet
    end = time.monotonic() + delay
    out.note(f"est: pending (HTTP 202), try {attempt}: next try in {delay:.0f}s, {left:.0f}s left of --max-wait")
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        if tty:
            sys.stderr.write(f"\r  waiting: next try in {remaining:4.0f}s, {left - (delay - remaining):5.0f}s left ")
            sys.stderr.flush()
        if interrupt.wait(min(1.0, remaining)):
            raise KeyboardInterrupt
    if tty:
        sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()


def wait_for_result(out: Output, attempt_once: Callable[[], Any], *, max_wait: float,
                    is_pending: Callable[[Any], float | None], min_delay: float = 1.0) -> Any:
    """Call ``attempt_once`` until it returns something that is not pending; ``is_pending(result)`` gives the
    retry delay (seconds) of a pending result or None. The waits follow the library's 202 policy
    (:class:`estclient._polling.PendingWait`: at least ``min_delay`` each, ``max_wait`` counted on the monotonic
    clock); raises CliError(EXIT_PENDING) when the next wait would pass ``max_wait``."""
    from ._polling import PendingWait
    from .errors import PendingTimeout

    interrupt = threading.Event()
    wait = PendingWait(max_wait, min_delay=min_delay, what="request", limit_name="--max-wait",
                       on_wait=lambda delay, attempt: _sleep_with_progress(out, delay, wait.left, attempt, interrupt))
    while True:
        result = attempt_once()
        retry_after = is_pending(result)
        if retry_after is None:
            return result
        try:
            wait.next_delay(retry_after)  # the policy's hook waits, showing the countdown
        except PendingTimeout as exc:
            hint = "" if max_wait else " (give --max-wait SECONDS to wait for it)"
            raise CliError(EXIT_PENDING, f"{exc}{hint}") from None


def _retry_delay(result: Any) -> float | None:
    """Retry delay of an HTTP 202 answer (the same request is repeated, RFC 7030 §4.2.3), else None."""
    from ._polling import DEFAULT_RETRY_AFTER
    from .protocol import Pending

    if isinstance(result, Pending):
        return result.retry_after if result.retry_after is not None else DEFAULT_RETRY_AFTER
    return None


# ----------------------------------------------------------------------------------------------- CSR flags


def _add_subject_flags(p: argparse.ArgumentParser, *, require_subject: bool = False) -> None:
    g = p.add_argument_group("the request (subject, names, key)")
    g.add_argument("--cn", "--common-name", dest="cn", help="subject commonName")
    g.add_argument("--org", help="subject organizationName")
    g.add_argument("--ou", action="append", default=[], help="subject organizationalUnitName (repeatable)")
    g.add_argument("--country", help="subject countryName (two letters)")
    g.add_argument("--state", help="subject stateOrProvinceName")
    g.add_argument("--locality", help="subject localityName")
    g.add_argument("--serial-number", dest="subject_serial", metavar="SERIAL", help="subject serialNumber (e.g. a device id)")
    g.add_argument("--san-dns", action="append", default=[], metavar="NAME", help="subjectAltName dNSName")
    g.add_argument("--san-ip", action="append", default=[], metavar="ADDR", help="subjectAltName iPAddress")
    g.add_argument("--san-email", action="append", default=[], metavar="ADDR", help="subjectAltName rfc822Name")
    g.add_argument("--san-uri", action="append", default=[], metavar="URI", help="subjectAltName URI")
    g.add_argument("--key-type", default=None,
                   help="ec-p256 (default), ec-p384, ec-p521, rsa-2048, rsa-3072, rsa-4096, ed25519, ed448")
    g.add_argument("--key-usage", action="append", default=[], metavar="USAGE",
                   help="keyUsage: digital_signature, key_encipherment, key_agreement, ... (repeatable)")
    g.add_argument("--eku", action="append", default=[], metavar="USAGE",
                   help="extendedKeyUsage: client_auth, server_auth, ... or a dotted OID (repeatable)")
    g.add_argument("--hash", choices=["sha256", "sha384", "sha512"], help="CSR signature hash")
    g.add_argument("--use-key", metavar="FILE", help="an existing private key for the request (default: a new one)")
    g.add_argument("--no-csrattrs", action="store_true",
                   help="do not fetch and apply the server's /csrattrs (key type, extensions, template)")


def _builder_from_flags(args: argparse.Namespace) -> Any:
    from .csr import CsrBuilder

    b = CsrBuilder()
    if args.cn:
        b.common_name(args.cn)
    if args.org:
        b.organization(args.org)
    for ou in args.ou:
        b.organizational_unit(ou)
    if args.country:
        b.country(args.country)
    if args.state:
        b.state(args.state)
    if args.locality:
        b.locality(args.locality)
    if args.subject_serial:
        b.serial_number(args.subject_serial)
    if args.san_dns:
        b.san_dns(*args.san_dns)
    if args.san_ip:
        b.san_ip(*args.san_ip)
    if args.san_email:
        b.san_email(*args.san_email)
    if args.san_uri:
        b.san_uri(*args.san_uri)
    if args.key_type:
        b.key_type(args.key_type)
    if args.key_usage:
        b.key_usage(*args.key_usage)
    if args.eku:
        b.extended_key_usage(*args.eku)
    if args.hash:
        b.signature_hash(args.hash)
    if args.use_key:
        b.with_key(_read_private_key(args.use_key))
    return b


def _has_subject(args: argparse.Namespace) -> bool:
    return any([args.cn, args.org, args.ou, args.country, args.state, args.locality, args.subject_serial,
                args.san_dns, args.san_ip, args.san_email, args.san_uri])


def _apply_csrattrs(out: Output, client: Any, builder: Any, args: argparse.Namespace) -> Any:
    """Fetch /csrattrs and apply it to the builder (unless --no-csrattrs); returns the CsrAttrs or None."""
    if getattr(args, "no_csrattrs", False):
        return None
    try:
        attrs = client.get_csr_attributes()
    except E.NotSupported:
        return None
    except E.ServerError as exc:  # name the step: the request the user asked for was not sent yet
        raise CliError(EXIT_SERVER, f"{exc} (from /csrattrs, asked before the request; --no-csrattrs skips it)") from None
    if not attrs.is_empty():
        builder.with_attributes(attrs)
        out.note(f"est: applied the server's CSR attributes ({len(attrs)} items)")
    return attrs


def _selfcheck_builder(b: Any) -> None:
    """Build once, so that a bad combination of flags fails before anything is sent."""
    try:
        b.build()
    except E.EstError:
        raise
    except (ValueError, TypeError) as exc:
        raise CliError(EXIT_USAGE, f"cannot build the request: {exc}") from None


# ----------------------------------------------------------------------------------------------- commands


def _client(args: argparse.Namespace) -> Any:
    from .client import EstClient

    return EstClient(make_config(resolve_settings(args)))


def _outputs_fmt(args: argparse.Namespace) -> str:
    return getattr(args, "format", None) or "pem"


def cmd_cacerts(args: argparse.Namespace) -> int:
    out = Output(args)
    fmt = _outputs_fmt(args)
    if fmt == "der" and not (args.out or args.out_dir):
        raise CliError(EXIT_USAGE, "--format der needs --out FILE or --out-dir DIR (DER is not printed)")
    check_writable([args.out], force=args.force)
    if args.out_dir and not Path(args.out_dir).is_dir():
        raise CliError(EXIT_FILE, f"--out-dir {args.out_dir}: no such directory")
    with _client(args) as client:
        cas = client.get_ca_certs()
    roles = [_ca_role(c) for c in cas]
    chosen = [(c, r) for c, r in zip(cas, roles) if args.select == "all"
              or (args.select == "roots" and r == "root") or (args.select == "intermediates" and r != "root")]
    if not chosen:
        raise CliError(EXIT_SERVER, f"the server returned no {args.select} among its {len(cas)} CA certificates")
    files: list[str] = []
    if args.out_dir:
        names = []
        for i, (c, r) in enumerate(chosen, 1):
            cn = c.subject.common_name if hasattr(c.subject, "common_name") else None
            slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(cn or "ca")).strip("_")[:40] or "ca"
            names.append(str(Path(args.out_dir) / f"{i:02d}-{r}-{slug}.{'pem' if fmt == 'pem' else 'der'}"))
        check_writable(names, force=args.force)
        for name, (c, _r) in zip(names, chosen):
            data = c.to_der() if fmt == "der" else _pem_block("CERTIFICATE", c.to_der()).encode("ascii")
            write_file(name, data, mode=PUBLIC_MODE, force=args.force)
            files.append(name)
    if args.out:
        if fmt == "der":
            from estcodec.cms import build_certs_only

            data = build_certs_only([c for c, _ in chosen])
        else:
            data = "".join(_pem_block("CERTIFICATE", c.to_der()) for c, _ in chosen).encode("ascii")
        write_file(args.out, data, mode=PUBLIC_MODE, force=args.force)
        files.append(args.out)
    if out.json:
        out.result({"operation": "cacerts", "count": len(chosen), "files": files,
                    "certificates": [dict(_cert_summary(c), role=r) for c, r in chosen]})
    elif not files:
        sys.stdout.write("".join(_pem_block("CERTIFICATE", c.to_der()) for c, _ in chosen))
        sys.stdout.flush()
    if files or out.json:
        out.info(f"{len(chosen)} CA certificate(s) from {len(cas)}:")
        for c, r in chosen:
            out.info(f"  [{r}] {c.subject.rfc4514_string()}  (SHA-256 {c.fingerprint().hex()[:16]}...)")
        for f in files:
            out.info(f"wrote {f}")
    else:
        out.note(f"est: {len(chosen)} CA certificate(s) printed ({', '.join(r for _, r in chosen)})")
    return EXIT_OK


def _ca_role(cert: Any) -> str:
    """``root`` (self-signed), ``key-update`` (self-issued, signed by another key: RFC 4210 rollover
    certificates) or ``intermediate``."""
    from estcodec.pkix import ca_role

    return ca_role(cert)


def cmd_csrattrs(args: argparse.Namespace) -> int:
    from estcodec.show import format_text, summarize_as

    out = Output(args)
    check_writable([args.out], force=args.force)
    with _client(args) as client:
        attrs = client.get_csr_attributes()
    der = attrs.to_der()
    summary = summarize_as("csr-attributes", der)
    if args.out:
        data = der if _outputs_fmt(args) == "der" else _pem_block("CSR ATTRIBUTES", der).encode("ascii")
        write_file(args.out, data, mode=PUBLIC_MODE, force=args.force)
    if out.json:
        out.result(dict(summary, operation="csrattrs", der_base64=__import__("base64").b64encode(der).decode()))
    else:
        if attrs.is_empty():
            out.info("the server asks for no particular CSR attributes")
        else:
            out.info(format_text(summary))
    if args.out:
        out.note(f"est: wrote {args.out}")
    return EXIT_OK


def cmd_csr(args: argparse.Namespace) -> int:
    out = Output(args)
    fmt = _outputs_fmt(args)
    if not args.out:
        raise CliError(EXIT_USAGE, "csr needs --out FILE (the request)")
    if not args.use_key and not args.key_out:
        raise CliError(EXIT_USAGE, "csr makes a new key: give --key-out FILE (or --use-key FILE)")
    check_writable([args.out, args.key_out], force=args.force)
    b = _builder_from_flags(args)
    if args.from_server:
        with _client(args) as client:
            _apply_csrattrs(out, client, b, argparse.Namespace(no_csrattrs=False))
    if not _has_subject(args) and not args.from_server:
        raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
    try:
        der, key = b.build()
    except E.EstError:
        raise
    except (ValueError, TypeError) as exc:
        raise CliError(EXIT_USAGE, f"cannot build the request: {exc}") from None
    if args.key_out:
        write_file(args.key_out, _key_bytes(key, fmt), mode=KEY_MODE, force=args.force)
    write_file(args.out, der if fmt == "der" else _pem_block("CERTIFICATE REQUEST", der).encode("ascii"),
               mode=PUBLIC_MODE, force=args.force)
    from estcodec.show import summarize_as

    s = summarize_as("csr", der)
    if out.json:
        out.result(dict(s, operation="csr", files={"csr": args.out, "key": args.key_out}))
    else:
        out.info(f"wrote request {args.out}: {s['subject'] or '(empty subject)'}, key {s['key']}")
        if args.key_out:
            out.info(f"wrote key {args.key_out} (mode 0600)")
    return EXIT_OK


def _write_issued(out: Output, args: argparse.Namespace, cert: Any, chain: Sequence[Any], key: Any,
                  operation: str, extra: dict[str, Any] | None = None) -> None:
    """Write the key (0600) then the certificate; print the summary."""
    fmt = _outputs_fmt(args)
    files = {}
    if key is not None and args.key_out:
        write_file(args.key_out, _key_bytes(key, fmt), mode=KEY_MODE, force=args.force)
        files["key"] = args.key_out
    cert_data = _cert_bytes(cert, chain, fmt)
    if args.out:
        write_file(args.out, cert_data, mode=PUBLIC_MODE, force=args.force)
        files["certificate"] = args.out
    if out.json:
        doc = {"operation": operation, "certificate": _cert_summary(cert), "files": files}
        if not args.out:
            doc["certificate_pem"] = _cert_bytes(cert, chain, "pem").decode("ascii")
        doc.update(extra or {})
        out.result(doc)
        return
    if not args.out:
        sys.stdout.write(_cert_bytes(cert, chain, "pem").decode("ascii"))
        sys.stdout.flush()
        target = out.note
    else:
        target = out.info
    target(f"{operation}: certificate issued")
    for line in _cert_lines(cert):
        target(line)
    for k, v in (extra or {}).items():
        target(f"  {k.replace('_', ' ')}: {v}")
    for what, path in files.items():
        target(f"wrote {what} {path}" + (" (mode 0600)" if what == "key" else ""))


def _enroll_common(args: argparse.Namespace, *, reenroll: bool) -> int:
    out = Output(args)
    operation = "reenroll" if reenroll else "enroll"
    settings = resolve_settings(args)
    csr_der: bytes | None = None
    builder = None
    if args.csr:
        if _has_subject(args) or args.use_key:
            raise CliError(EXIT_USAGE, "--csr sends a ready request: do not combine it with subject or key flags")
        csr_der = _read_der(args.csr)
    if reenroll:
        if not (settings.cert and settings.key):
            raise CliError(EXIT_USAGE, "reenroll needs the current identity: --cert FILE --key FILE")
    new_key = csr_der is None and not (reenroll and args.same_key) and not args.use_key
    if new_key and not args.key_out:
        raise CliError(EXIT_USAGE, f"{operation} makes a new key: give --key-out FILE (or --use-key FILE)")
    check_writable([args.out, args.key_out if new_key else None], force=args.force)
    config = make_config(settings)
    if csr_der is None:
        if reenroll:
            builder = _reenroll_builder(args, config)
        else:
            if not _has_subject(args) and args.no_csrattrs:
                raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
            builder = _builder_from_flags(args)
    if getattr(args, "resume", False):
        from ._cli_resume import enroll_resume

        return enroll_resume(args, out, config, builder)
    from .client import EstClient
    from .protocol import Issued

    with EstClient(config) as client:
        if builder is not None and not reenroll:
            _apply_csrattrs(out, client, builder, args)
            _selfcheck_builder(builder)
        request: Any = builder if builder is not None else csr_der
        call = client.simple_reenroll if reenroll else client.simple_enroll
        result = wait_for_result(out, lambda: call(request), max_wait=args.max_wait, is_pending=_retry_delay,
                                 min_delay=client.config.min_retry_delay)
    assert isinstance(result, Issued)
    key = builder.private_key if builder is not None and new_key else None
    _write_issued(out, args, result.certificate, result.chain, key, operation)
    return EXIT_OK


def _reenroll_builder(args: argparse.Namespace, config: Any) -> Any:
    """A request with the subject (byte for byte), subjectAltName, keyUsage and extendedKeyUsage of the current
    certificate (RFC 7030 §4.2.2), built by :func:`estclient.renewal.renewal_csr` as the renewal daemon does."""
    from .renewal import RenewalConfig, renewal_csr

    keep = bool(args.same_key or args.use_key)
    rc = RenewalConfig(renewal_threshold=1, check_interval=1, new_key=not keep, key_type=args.key_type)
    b = renewal_csr(config.client_identity, rc)
    if args.use_key:
        b.with_key(_read_private_key(args.use_key))
    if getattr(args, "hash", None):
        b.signature_hash(args.hash)
    return b


def cmd_enroll(args: argparse.Namespace) -> int:
    return _enroll_common(args, reenroll=False)


def cmd_reenroll(args: argparse.Namespace) -> int:
    return _enroll_common(args, reenroll=True)


def cmd_serverkeygen(args: argparse.Namespace) -> int:
    out = Output(args)
    if not args.key_out:
        raise CliError(EXIT_USAGE, "serverkeygen returns a private key: give --key-out FILE")
    if not _has_subject(args) and args.no_csrattrs:
        raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
    kek = kek_id = None
    if args.kek_id or args.kek_file:
        if not (args.kek_id and args.kek_file):
            raise CliError(EXIT_USAGE, "--kek-id and --kek-file go together")
        try:
            kek_id = bytes.fromhex(args.kek_id)
            raw = Path(args.kek_file).read_bytes().strip()
            kek = bytes.fromhex(raw.decode("ascii")) if re.fullmatch(rb"[0-9A-Fa-f]+", raw) else raw
        except (ValueError, OSError) as exc:
            raise CliError(EXIT_USAGE, f"bad KEK: {getattr(exc, 'strerror', None) or exc}") from None
        if len(kek) not in (16, 24, 32):
            raise CliError(EXIT_USAGE, "the KEK must be an AES key of 16, 24 or 32 bytes (raw or hex)")
    settings = resolve_settings(args)
    if args.encrypt_to_cert and not (settings.cert and settings.key):
        raise CliError(EXIT_USAGE, "--encrypt-to-cert uses the TLS client identity: give --cert and --key")
    check_writable([args.out, args.key_out], force=args.force)
    config = make_config(settings)
    builder = _builder_from_flags(args)
    from .client import EstClient
    from .protocol import ServerKeygenResponse

    kw: dict[str, Any] = {}
    how = "unencrypted (over TLS)"
    if kek is not None:
        kw = {"kek": kek, "kek_id": kek_id}
        how = f"encrypted to KEK {args.kek_id}, decrypted locally"
    elif args.encrypt_to_cert:
        ident = config.client_identity
        kw = {"private_key": ident.private_key(), "certificate": ident.certificate}
        how = "encrypted to the client certificate's key, decrypted locally"
    with EstClient(config) as client:
        _apply_csrattrs(out, client, builder, args)
        _selfcheck_builder(builder)
        result = wait_for_result(out, lambda: client.server_keygen(builder, **kw), max_wait=args.max_wait,
                                 is_pending=_retry_delay, min_delay=client.config.min_retry_delay)
    assert isinstance(result, ServerKeygenResponse)
    if result.private_key is None:
        raise CliError(EXIT_PROTOCOL, "the server-generated key arrived encrypted: give --kek-id and --kek-file, "
                                      "or --encrypt-to-cert, to decrypt it")
    key = result.private_key_object()
    _write_issued(out, args, result.certificate, result.chain, key, "serverkeygen",
                  {"private_key": f"{_key_description(key)}, {how}"})
    return EXIT_OK


def cmd_fullcmc(args: argparse.Namespace) -> int:
    out = Output(args)
    if not args.csr and not args.key_out and not args.use_key:
        raise CliError(EXIT_USAGE, "fullcmc makes a new key: give --key-out FILE (or --use-key FILE)")
    if not args.csr and not _has_subject(args):
        raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
    check_writable([args.out, args.key_out, args.response_out], force=args.force)
    config = make_config(resolve_settings(args))
    from .client import EstClient
    from .protocol import CmcRequest, CmcResponse

    builder = None
    if args.csr:
        if not args.use_key:
            raise CliError(EXIT_USAGE, "--csr with fullcmc needs --use-key (the request's key signs the CMC message)")
        csr_der = _read_der(args.csr)
        key = _read_private_key(args.use_key)
    else:
        builder = _builder_from_flags(args)
    class _Recording(EstClient):
        """Keeps the last /fullcmc response, so that --response-out can save the Full PKI Response as sent."""

        last: Any = None

        def _send_on(self, client: Any, send: Any) -> Any:
            rec = super()._send_on(client, send)
            if send.request.operation == "fullcmc":
                self.last = rec.response
            return rec

    def save_response(client: Any) -> None:
        if not args.response_out or client.last is None or not client.last.body:
            return
        try:
            der = P.decode_body(client.last.body, "fullcmc response")
        except E.EstError:
            return
        write_file(args.response_out, der, mode=PUBLIC_MODE, force=args.force)
        out.note(f"est: wrote the Full PKI Response ({client.last.status}) to {args.response_out}")

    from . import protocol as P

    with _Recording(config) as client:
        if builder is not None:
            _apply_csrattrs(out, client, builder, args)
            csr_der, key = builder.build()
        request = CmcRequest.for_csr(csr_der, key)
        try:
            result = wait_for_result(out, lambda: client.full_cmc(request), max_wait=args.max_wait,
                                     is_pending=_retry_delay, min_delay=client.config.min_retry_delay)
        except E.ServerError:
            save_response(client)  # a CMC failure response is worth keeping: `est show` reads it
            raise
        save_response(client)
    assert isinstance(result, CmcResponse)
    if result.is_pending():
        # CMC pending (RFC 5272 §6.1.1): the CA holds the request; it is asked again with queryPending and the
        # pendToken, not by repeating it
        info = result.pki_response.pending_info()
        detail = ""
        if info is not None:
            detail = f"; pendToken {bytes(info.pend_token).hex()}, ask again after {info.pend_time:%Y-%m-%d %H:%M:%S} UTC"
        raise CliError(EXIT_PENDING, "the CA holds the Full PKI Request (CMC status pending)" + detail)
    from cryptography.hazmat.primitives import serialization

    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    mine = [c for c in result.certificates if c.public_key_info.to_der() == spki]
    if not mine:
        raise CliError(EXIT_PROTOCOL, "the Full PKI Response carries no certificate for the requested key")
    cert = mine[0]
    others = [c for c in result.certificates if c is not cert]
    extra: dict[str, Any] = {}
    pr = result.pki_response
    if pr is not None:
        extra["cmc_status"] = getattr(pr.status, "name", str(pr.status)).lower()
        extra["signature_verified"] = "yes" if pr.signature_verified else "no"
    if args.response_out:
        extra["response_file"] = args.response_out
    _write_issued(out, args, cert, others, key if builder is not None else None, "fullcmc", extra)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from estcodec.show import run

    return run(args)


def cmd_renew(args: argparse.Namespace) -> int:
    from ._cli_renew import run_renew

    return run_renew(args)


def cmd_batch(args: argparse.Namespace) -> int:
    from ._cli_batch import run_batch

    return run_batch(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from ._cli_demo import run_demo

    return run_demo(args)


def cmd_testserver(args: argparse.Namespace) -> int:
    from ._cli_demo import run_testserver

    return run_testserver(args)


# ----------------------------------------------------------------------------------------------- parser


def _common_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("server and credentials (also EST_* variables and --config)")
    g.add_argument("--server", "-s", metavar="URL", help="EST server, https://host[:port] (EST_SERVER)")
    g.add_argument("--label", metavar="LABEL", help="CA label (RFC 7030 §3.2.2)")
    g.add_argument("--trust", metavar="PEM", help="trust anchors for the server (default: the system store)")
    g.add_argument("--bootstrap-fingerprint", metavar="SHA256",
                   help="bootstrap: accept the server's CA with this SHA-256 fingerprint (RFC 7030 §4.1.1)")
    g.add_argument("--cert", metavar="PEM", help="TLS client certificate (the current identity)")
    g.add_argument("--key", metavar="PEM", help="private key of --cert")
    g.add_argument("--user", "-u", metavar="NAME", help="HTTP user name")
    g.add_argument("--password", metavar="PW",
                   help="HTTP password (visible to other local users: prefer --password-file or EST_PASSWORD)")
    g.add_argument("--password-file", metavar="FILE", help="read the HTTP password from FILE")
    g.add_argument("--digest", action="store_true", default=None, help="HTTP Digest instead of Basic")
    g.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="network timeout of each step (default 30); a whole exchange gets 4 times as long")
    g.add_argument("--min-retry-delay", type=float, metavar="SECONDS",
                   help="wait at least this long before repeating a request the server answered 202 (default 1)")
    g.add_argument("--channel-binding", choices=["auto", "require", "off"], default=None,
                   help="bind CSRs to the TLS session (RFC 7030 §3.5): auto (default: on TLS 1.2), require, off")
    g.add_argument("--config", metavar="TOML", help="settings file (EST_CONFIG)")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print a JSON document on stdout")
    o.add_argument("--format", choices=["pem", "der"], default=None, help="format of written files (default pem)")
    o.add_argument("--force", action="store_true", help="replace existing output files")
    o.add_argument("--quiet", "-q", action="store_true", help="no progress or summary text")
    return p


def _add_outputs(p: argparse.ArgumentParser, *, key: bool = True) -> None:
    p.add_argument("--out", "-o", metavar="FILE", help="certificate file (default: PEM on stdout)")
    if key:
        p.add_argument("--key-out", metavar="FILE", help="private key file (written mode 0600)")


def _add_wait(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-wait", type=float, default=300.0, metavar="SECONDS",
                   help="how long to keep retrying while the server answers 202 (default 300; 0: do not wait)")


def add_testserver_options(p: argparse.ArgumentParser) -> None:
    """The reference server's options shared by ``est testserver`` and ``python -m estclient.testing`` (each adds
    its own --pending, --ca-out and the rest)."""
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free port)")
    p.add_argument("--auth", choices=["basic", "digest", "cert", "none"], default="basic")
    p.add_argument("--user", default="estuser")
    p.add_argument("--password", default=None, help="default: a random one, printed at start")
    p.add_argument("--label", action="append", default=[], help="CA label (repeatable)")
    p.add_argument("--channel-binding", action="store_true", help="require tls-unique in CSRs (caps TLS at 1.2)")
    p.add_argument("--kek", action="append", default=[], metavar="ID_HEX:KEY_HEX",
                   help="a KEK for encrypted server-side key generation (repeatable)")
    p.add_argument("--cert-lifetime", type=float, default=30 * 86400, metavar="SECONDS")
    p.add_argument("--digest-algorithm", choices=["MD5", "SHA-256"], default="SHA-256",
                   help="HTTP Digest algorithm with --auth digest (libest and Bouncy Castle speak MD5)")
    p.add_argument("--server-key-type", choices=["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519"],
                   default=None, help="key type of server-generated keys (default: the CSR key's family)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="one line per request on stderr: method, path, status, auth, bytes, milliseconds")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``est`` argument parser. Given the command line it is for (``argv``), it leaves out the options of
    ``batch`` and ``show`` (and the modules that declare them) unless that command's name is one of the words:
    every command stays listed in ``est --help``, and ``est batch --help`` still shows its options."""
    words = None if argv is None else set(argv)
    common = _common_parent()
    parser = argparse.ArgumentParser(
        prog="est", description="EST (RFC 7030) client: enroll certificates from an EST server.",
        epilog=EXAMPLES + EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from estcodec import __version__

    parser.add_argument("--version", action="version", version=f"est {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_text: str, func: Callable[[argparse.Namespace], int], *, parents: bool = True,
            description: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=description or help_text,
                           parents=[common] if parents else [], epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    p = add("cacerts", "fetch the CA certificates (/cacerts)", cmd_cacerts,
            description="Fetch the CA certificates (/cacerts). Without --out they are printed as PEM. "
                        "--format der with --out writes a certs-only PKCS#7 (as the server sent); with --out-dir "
                        "one DER certificate per file.")
    p.add_argument("--out", "-o", metavar="FILE", help="write the selected certificates to one file")
    p.add_argument("--out-dir", metavar="DIR", help="write one file per certificate (NN-ROLE-NAME.pem)")
    p.add_argument("--select", choices=["all", "roots", "intermediates"], default="all",
                   help="roots (self-signed) or intermediates (everything else, rollover certificates included)")

    p = add("csrattrs", "show the CSR attributes the server wants (/csrattrs)", cmd_csrattrs)
    p.add_argument("--out", "-o", metavar="FILE", help="also write the CsrAttrs (PEM or DER)")

    p = add("csr", "make a key and a CSR (from flags and, with --from-server, the server's /csrattrs)", cmd_csr)
    _add_subject_flags(p)
    p.add_argument("--out", "-o", metavar="FILE", help="the certification request")
    p.add_argument("--key-out", metavar="FILE", help="the new private key (mode 0600)")
    p.add_argument("--from-server", action="store_true", help="apply the server's /csrattrs")

    for name, func, text in (("enroll", cmd_enroll, "enroll: get a certificate for a new key (/simpleenroll)"),
                             ("reenroll", cmd_reenroll,
                              "renew the current certificate (--cert/--key) with a new key (/simplereenroll)")):
        p = add(name, text, func)
        _add_subject_flags(p)
        _add_outputs(p)
        _add_wait(p)
        p.add_argument("--csr", metavar="FILE", help="send this ready-made request (PEM/DER) instead")
        if name == "reenroll":
            p.add_argument("--same-key", action="store_true", help="keep the current key (default: a new key)")
        else:
            p.set_defaults(same_key=False)
            from ._cli_resume import add_resume_flag

            add_resume_flag(p)

    p = add("serverkeygen", "let the server generate the key (/serverkeygen)", cmd_serverkeygen)
    _add_subject_flags(p)
    _add_outputs(p)
    _add_wait(p)
    p.add_argument("--kek-id", metavar="HEX", help="ask for the key encrypted to this KEK id (RFC 7030 §4.4.1.1)")
    p.add_argument("--kek-file", metavar="FILE", help="the KEK (AES key, raw or hex) to decrypt it locally")
    p.add_argument("--encrypt-to-cert", action="store_true",
                   help="ask for the key encrypted to the key of --cert (RFC 7030 §4.4.1.2), decrypted with --key")

    p = add("fullcmc", "enroll with a Full PKI Request (/fullcmc)", cmd_fullcmc)
    _add_subject_flags(p)
    _add_outputs(p)
    _add_wait(p)
    p.add_argument("--csr", metavar="FILE", help="wrap this ready-made request (needs --use-key)")
    p.add_argument("--response-out", metavar="FILE", help="also write the Full PKI Response (DER)")

    p = add("renew", "renew --cert/--key when they near expiry (once, or --watch as a daemon)", cmd_renew)
    p.add_argument("--threshold", default=None, metavar="DURATION",
                   help="renew when the certificate expires within this (e.g. 30d, 12h, 90s; default: when a "
                        "third of its lifetime is left)")
    p.add_argument("--check-interval", default="1h", metavar="DURATION", help="with --watch: how often to check")
    p.add_argument("--max-retries", type=int, default=3, help="attempts per renewal (default 3)")
    p.add_argument("--retry-delay", default="5s", metavar="DURATION", help="first retry delay (doubles)")
    p.add_argument("--watch", action="store_true", help="keep running and renew whenever needed")
    p.add_argument("--same-key", action="store_true", help="keep the key (default: a new key each time)")

    p = add("batch", "enroll or renew every identity listed in a CSV or JSON-lines file", cmd_batch,
            description="Enroll (or --renew) the identities of a CSV or JSON-lines file, --concurrency at a time, "
                        "with a progress bar and a summary; a rerun skips identities that hold a valid pair.")
    if words is None or "batch" in words:
        from ._cli_batch import add_batch_arguments

        add_batch_arguments(p)

    p = add("demo", "walk through every EST operation against a local test server", cmd_demo, parents=False)
    p.add_argument("--json", action="store_true", help="print a JSON report of the steps")
    p.add_argument("--keep", metavar="DIR", help="also write the CA, certificates and keys into DIR")

    p = add("testserver", "run the reference EST test server in the foreground (Ctrl-C stops)", cmd_testserver,
            parents=False)
    add_testserver_options(p)
    p.add_argument("--pending", type=float, default=None, metavar="SECONDS",
                   help="answer the first request of each key with 202 and this Retry-After")
    p.add_argument("--ca-out", metavar="FILE", help="write the trust anchor (CA certificate PEM) here")
    p.add_argument("--force", action="store_true", help="replace an existing --ca-out file")

    from . import _cli_agent, _cli_config

    _cli_agent.add_parser(sub)
    _cli_config.add_parser(sub)

    p = add("show", "recognise and summarise a PKI file (certificate, CSR, CMC, CMS, CSR attributes, key)",
            cmd_show, parents=False)
    if words is None or "show" in words:
        from estcodec.show import add_arguments

        add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``est`` console script; returns the exit status."""
    if not sys.warnoptions:  # library deprecation warnings are not for the command's user
        import warnings

        warnings.simplefilter("ignore")
    if argv is None and "httpx" not in sys.modules:
        # As the ``est`` program: httpx's own command line (``httpx._main``) imports click, rich and pygments when
        # they are installed (some 20 ms), and nothing in this process calls it. A None entry makes httpx's
        # guarded import of it fail fast, which httpx handles by installing a stub.
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    # A one-shot command allocates mostly objects that live as long as the process (the modules it imports): the
    # cyclic garbage collector would walk them again and again for nothing, and once more when the interpreter
    # exits (about 10 ms CPU of one enrollment). Commands that keep running keep it. Run as the ``est`` program
    # (``argv`` None), the collector stays off when the command returns, as the process is about to end: the
    # interpreter still collects cyclic garbage once while it tears the modules down. Called with an ``argv`` list
    # (from Python), ``main`` puts it back on.
    pause_gc = args.command not in _LONG_RUNNING_COMMANDS and gc.isenabled()
    if pause_gc:
        gc.disable()
    try:
        rc = int(args.func(args))
        sys.stdout.flush()
        return rc
    except KeyboardInterrupt:
        print("est: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_ERROR
    except (CliError, E.EstError, OutputExists, OSError) as exc:
        print(f"est {args.command}: error: {_one_line(_describe(exc))}", file=sys.stderr)
        return exit_code_for(exc)
    except Exception as exc:  # estcodec errors for unreadable input, and anything unexpected
        from estcodec import Error as CodecError

        if isinstance(exc, CodecError):
            print(f"est {args.command}: error: {_one_line(str(exc))}", file=sys.stderr)
            return EXIT_ERROR
        print(f"est {args.command}: unexpected error: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if pause_gc and argv is not None:
            gc.enable()


_LONG_RUNNING_COMMANDS = frozenset({"renew", "testserver", "demo", "batch", "agent"})


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, OutputExists) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, E.AuthenticationRequired):
        if getattr(exc, "server_message", None):
            return str(exc)  # the server said why: not (necessarily) the credentials
        return f"{exc} (check --user/--password or the client certificate)"
    if isinstance(exc, E.TlsConfigError) and "client certificate" in str(exc):
        return f"{exc} (--cert/--key)"
    if isinstance(exc, E.TlsConfigError):
        return f"{exc} (check --trust / --bootstrap-fingerprint)"
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
