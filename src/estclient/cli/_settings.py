"""Connection settings of the ``est`` command: flags, then ``EST_*`` environment variables, then a TOML file
(``--config`` or ``EST_CONFIG``); flags win. :func:`make_config` turns them into an
:class:`estclient.EstClientConfig`."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._errors import EXIT_USAGE, CliError

__all__ = ["Settings", "resolve_settings", "make_config", "read_password"]

_SETTING_KEYS = ("server", "label", "trust", "bootstrap_fingerprint", "cert", "key", "user", "password",
                 "password_file", "digest", "timeout", "min_retry_delay", "channel_binding")
_PATH_KEYS = ("trust", "cert", "key", "password_file")


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
    if sys.version_info < (3, 11):
        raise CliError(EXIT_USAGE, "--config needs Python 3.11 or later (tomllib); use flags or EST_* variables")
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(EXIT_USAGE, f"config file {path} is not valid TOML: {exc}") from None
    if isinstance(data.get("est"), dict):  # an optional [est] table
        data = data["est"]
    out: dict[str, Any] = {}
    base = Path(path).resolve().parent
    for k, v in data.items():
        key = k.replace("-", "_")
        if key not in _SETTING_KEYS:
            raise CliError(EXIT_USAGE, f"config file {path}: unknown key {k!r}")
        if key in _PATH_KEYS and isinstance(v, str):
            v = str(base / Path(v).expanduser())
        out[key] = v
    return out


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


def read_password(s: Settings) -> str | None:
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
    from ..config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors

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
        pw = read_password(s)
        if pw is None:
            raise CliError(EXIT_USAGE, "--user needs a password: --password, --password-file or EST_PASSWORD")
        auth = HttpAuth(s.user, pw, "digest" if s.digest else "basic")
    if s.channel_binding not in ("auto", "require", "off"):
        raise CliError(EXIT_USAGE, f"channel binding must be auto, require or off, got {s.channel_binding!r}")
    return EstClientConfig(origin, ca_label=label, trust=trust, client_identity=identity, http_auth=auth,
                           timeout=s.timeout, operation_timeout=_OPERATION_TIMEOUT_FACTOR * s.timeout,
                           min_retry_delay=s.min_retry_delay,
                           channel_binding=s.channel_binding)  # type: ignore[arg-type]

