"""Connection settings of the ``est`` command: flags, then ``EST_*`` environment variables, then a TOML file
(``--config`` or ``EST_CONFIG``); flags win. :func:`make_config` turns them into an
:class:`estclient.EstClientConfig`."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from .._keyspec import is_pkcs11_uri
from ._errors import EXIT_USAGE, CliError

__all__ = ["Settings", "resolve_settings", "make_config", "read_password", "headers_of", "proxy_for"]

_SETTING_KEYS = ("server", "label", "trust", "bootstrap_fingerprint", "cert", "key", "user", "password",
                 "password_file", "digest", "timeout", "min_retry_delay", "channel_binding", "proxy", "header",
                 "host_header")


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
    proxy: str | None = field(default=None, repr=False)  # may hold the proxy's credentials
    header: list[str] = field(default_factory=list)
    host_header: str | None = None
    key_password_file: str | None = None  # --key-password-file (a flag only)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _load_toml(path: str) -> dict[str, Any]:
    """The connection settings of a config file (the sectioned form of :mod:`estclient.config_file`, or the flat
    form of earlier versions), keyed as the long flags."""
    from ..config_file import load_config
    from ..errors import ConfigError

    try:
        return load_config(path).connection_settings()
    except ConfigError as exc:
        raise CliError(EXIT_USAGE, str(exc)) from None


def _header_list(value: Any) -> list[str]:
    """``header`` from a flag (a list), the environment (one string) or the file (a string or a list)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise CliError(EXIT_USAGE, "header must be \"Name: value\" or a list of them")


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
        if value is not None and value != []:  # --header not given keeps the file's
            merged[key] = value
    s = Settings()
    for key, value in merged.items():
        if key == "digest":
            s.digest = _truthy(value)
        elif key == "header":
            s.header = _header_list(value)
        elif key in ("timeout", "min_retry_delay"):
            try:
                setattr(s, key, float(value))
            except (TypeError, ValueError):
                raise CliError(EXIT_USAGE, f"{key} must be a number of seconds, got {value!r}") from None
        else:
            setattr(s, key, None if value is None else str(value))
    s.key_password_file = getattr(args, "key_password_file", None)
    return s


def _normalize_server(server: str, label: str | None) -> tuple[str, str | None]:
    """Accept ``host[:port]``, ``https://host[:port]`` and the ``.../.well-known/est[/label]/`` form that
    ``est testserver`` prints; return (origin, label)."""
    from ..config import split_well_known

    text = server.strip()
    if "://" not in text:
        text = "https://" + text
    text, label = split_well_known(text, label)
    parts = urlsplit(text)
    if parts.path.rstrip("/"):
        raise CliError(EXIT_USAGE, f"--server must be https://host[:port] (got a path: {parts.path!r})")
    return f"{parts.scheme}://{parts.netloc}", label


def read_password(s: Settings) -> str | None:
    if s.password is not None:
        return s.password
    if s.password_file:
        # the rule of every password file (estclient.keys.read_password): its first line, which may not be empty
        from ..errors import ConfigError
        from ..keys import read_password_text

        try:
            return read_password_text(s.password_file)
        except ConfigError as exc:
            raise CliError(EXIT_USAGE, f"cannot use password file {s.password_file}: {exc}") from None
    if s.user and sys.stdin.isatty():
        return getpass.getpass(f"EST password for {s.user}: ")
    return None


#: --timeout T bounds each network step by T and a whole operation (connect, TLS, send, receive, redirects,
#: the 401 retry) by this many times T: the library's defaults (30 s and 120 s) keep their ratio.
_OPERATION_TIMEOUT_FACTOR = 4


def make_config(s: Settings, *, token_identity: bool = False) -> Any:
    """An :class:`estclient.EstClientConfig` from settings (ConfigError/CliError on bad values). An encrypted
    --key is opened with --key-password-file or EST_KEY_PASSWORD. A ``pkcs11:`` --key cannot be a TLS client key:
    with ``token_identity`` (reenroll and renew, which handle it themselves) the configuration has no client
    identity, otherwise it is refused with the routes that work."""
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
    if s.cert and is_pkcs11_uri(s.key):
        if not token_identity:
            from ._keys import TLS_TOKEN_KEY

            raise CliError(EXIT_USAGE, TLS_TOKEN_KEY)
    elif s.cert and s.key:
        from ..keys import KEY_PASSWORD_ENV, read_password as read_key_password

        identity = ClientIdentity.from_files(
            s.cert, s.key, read_key_password(None, password_file=s.key_password_file, env=KEY_PASSWORD_ENV))
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
                           channel_binding=s.channel_binding,  # type: ignore[arg-type]
                           proxy=proxy_for(s.proxy, origin), headers=headers_of(s))


def headers_of(s: Settings) -> tuple[tuple[str, str], ...]:
    """The extra request headers: each ``--header "Name: value"`` (also ``Name:value``), then ``--host-header``
    as ``Host`` (:func:`estclient.config.parse_header_lines`)."""
    from ..config import parse_header_lines
    from ..errors import ConfigError

    try:
        return parse_header_lines(s.header, s.host_header, what="--header")
    except ConfigError as exc:
        raise CliError(EXIT_USAGE, str(exc)) from None


def proxy_for(proxy: str | None, origin: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy to tunnel through: ``--proxy URL``, or with ``--proxy env`` the environment's choice for
    ``origin`` (:func:`estclient.config.resolve_proxy`). Without ``--proxy`` the environment is not looked at:
    the client deliberately ignores it."""
    from ..config import resolve_proxy

    return resolve_proxy(proxy, origin, environ)

