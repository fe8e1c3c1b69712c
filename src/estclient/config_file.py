"""The TOML configuration file of ``est`` and ``est agent``: sections, ``${VAR}`` expansion, search order.

A file has the sections ``[server]``, ``[trust]``, ``[auth]``, ``[certificate]``, ``[renewal]``, ``[storage]``,
``[hooks]``, ``[metrics]`` and ``[logging]`` (each optional). Every key is checked: an unknown key, or a value of
the wrong type, is refused with its location (``est.toml: [renewal] unknown key 'treshold'``). Strings may hold
``${VAR}`` or ``${VAR:-default}`` (``$$`` is a literal ``$``); a variable that is not set and has no default is
refused. Relative paths are relative to the file's directory.

The flat files of earlier versions (``server = "https://..."``, ``trust = "ca.pem"``, ... at the top level or in
an ``[est]`` table) stay valid: their keys are read into the sections above.

Where the file is found (:func:`find_config`): ``$EST_CONFIG``, ``./est.toml``, the user's config directory
(``$XDG_CONFIG_HOME/est/est.toml``, by default ``~/.config/est/est.toml``), ``/etc/est/est.toml``.

Python 3.11+ reads TOML with ``tomllib``; Python 3.10 with ``tomli`` (installed there as a dependency).
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from .errors import ConfigError

if TYPE_CHECKING:
    from ._renewal_policy import RenewalPolicy
    from .config import EstClientConfig
    from .csr import CsrBuilder

__all__ = [
    "FileConfig",
    "ServerSection",
    "TrustSection",
    "AuthSection",
    "CertificateSection",
    "RenewalSection",
    "StorageSection",
    "HooksSection",
    "MetricsSection",
    "LoggingSection",
    "load_config",
    "parse_config",
    "find_config",
    "search_paths",
    "parse_duration",
    "LEGACY_KEYS",
]

# ----------------------------------------------------------------------------------------------- values

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*")


def parse_duration(value: Any, what: str = "duration") -> float:
    """Seconds from a number or a string such as ``"90"``, ``"90s"``, ``"15m"``, ``"12h"``, ``"30d"``,
    ``"1w"``; ConfigError when it is not one or not positive."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: not a duration: {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION_RE.fullmatch(value.lower())
        if not m:
            raise ConfigError(f"{what}: not a duration (e.g. 90s, 15m, 12h, 30d): {value[:40]!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ConfigError(f"{what}: not a duration: {type(value).__name__}")
    if not 0 < seconds < 1e12:
        raise ConfigError(f"{what} must be positive")
    return seconds


_VAR_RE = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})")


def _expand(text: str, environ: Mapping[str, str], where: str) -> str:
    """``${VAR}`` and ``${VAR:-default}`` from ``environ``; ``$$`` is ``$``; any other ``${`` is refused."""
    def replace(m: re.Match[str]) -> str:
        if m.group(1) == "$":
            return "$"
        name, default = m.group(2), m.group(3)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise ConfigError(f"{where}: ${{{name}}} is not set (give ${{{name}:-default}} for a default)")
            return default
        return value

    out = _VAR_RE.sub(replace, text)
    # a "${" the pattern did not take is a typo, not text to pass on (after the swap, "$$" became "$" safely)
    if "${" in _VAR_RE.sub("", text):
        raise ConfigError(f"{where}: malformed ${{...}} reference")
    return out


# ----------------------------------------------------------------------------------------------- sections

# field metadata "kind": how a value is checked and converted. Paths are made absolute against the file's
# directory; "secret" values never appear in repr() or `est config show`.
_K = "kind"


def _f(kind: str, default: Any = None, **extra: Any) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={_K: kind, **extra})
    return field(default=default, metadata={_K: kind, **extra}, repr=kind != "secret")


@dataclass(frozen=True)
class ServerSection:
    """``[server]``: where the EST server is and how to talk to it."""

    url: str | None = _f("str")
    label: str | None = _f("str")
    timeout: float = _f("duration", 30.0)
    operation_timeout: float | None = _f("duration")
    min_retry_delay: float = _f("duration", 1.0)
    channel_binding: str = _f("choice", "auto", choices=("auto", "require", "off"))
    proxy: str | None = _f("secret")  # http://[user:password@]host:port, or "env"; may hold credentials
    headers: list[str] = _f("strlist", [])  # extra request headers, "Name: value"
    host_header: str | None = _f("str")


@dataclass(frozen=True)
class TrustSection:
    """``[trust]``: the server's trust anchors: a PEM file, a bootstrap fingerprint, or the system store."""

    anchors: str | None = _f("path")
    bootstrap_fingerprint: str | None = _f("str")
    system: bool = _f("bool", False)


@dataclass(frozen=True)
class AuthSection:
    """``[auth]``: HTTP credentials (sent only over verified TLS)."""

    user: str | None = _f("str")
    password: str | None = _f("secret")
    password_file: str | None = _f("path")
    scheme: str = _f("choice", "basic", choices=("basic", "digest"))


@dataclass(frozen=True)
class CertificateSection:
    """``[certificate]``: what the first enrollment asks for (renewals copy the current certificate)."""

    name: str | None = _f("str")
    common_name: str | None = _f("str")
    organization: str | None = _f("str")
    organizational_unit: list[str] = _f("strlist", [])
    country: str | None = _f("str")
    state: str | None = _f("str")
    locality: str | None = _f("str")
    serial_number: str | None = _f("str")
    san_dns: list[str] = _f("strlist", [])
    san_ip: list[str] = _f("strlist", [])
    san_email: list[str] = _f("strlist", [])
    san_uri: list[str] = _f("strlist", [])
    key_type: str = _f("str", "ec-p256")
    key_usage: list[str] = _f("strlist", [])
    extended_key_usage: list[str] = _f("strlist", [])
    use_csrattrs: bool = _f("bool", True)


@dataclass(frozen=True)
class RenewalSection:
    """``[renewal]``: when to renew (a fraction of the lifetime and/or a threshold) and how to retry."""

    fraction: float | None = _f("fraction", 1 / 3)
    threshold: float | None = _f("duration")
    check_interval: float = _f("duration", 3600.0)
    max_retries: int = _f("int", 3)
    retry_delay: float = _f("duration", 5.0)
    max_retry_delay: float = _f("duration", 300.0)
    max_pending_wait: float = _f("duration", 600.0)
    new_key: bool = _f("bool", True)
    check_revocation: bool = _f("bool", False)


@dataclass(frozen=True)
class StorageSection:
    """``[storage]``: where the pair lives (the key 0600), and where a pending enrollment is kept."""

    cert: str | None = _f("path")
    key: str | None = _f("path")
    pending_dir: str | None = _f("path")
    cert_mode: int = _f("mode", 0o644)


@dataclass(frozen=True)
class HooksSection:
    """``[hooks]``: commands run after each new pair (argv lists, or strings split like a shell would)."""

    deploy: list[list[str]] = _f("commands", [])
    timeout: float = _f("duration", 60.0)
    max_attempts: int = _f("int", 5)
    retry_delay: float = _f("duration", 30.0)


@dataclass(frozen=True)
class MetricsSection:
    """``[metrics]``: a Prometheus HTTP endpoint (``listen = "127.0.0.1:9469"``) and/or a textfile."""

    listen: str | None = _f("str")
    textfile: str | None = _f("path")


@dataclass(frozen=True)
class LoggingSection:
    """``[logging]``: level and format (``text`` or ``json``: one JSON object a line)."""

    level: str = _f("choice", "info", choices=("debug", "info", "warning", "error"))
    format: str = _f("choice", "text", choices=("text", "json"))


_SECTIONS: dict[str, type] = {
    "server": ServerSection, "trust": TrustSection, "auth": AuthSection, "certificate": CertificateSection,
    "renewal": RenewalSection, "storage": StorageSection, "hooks": HooksSection, "metrics": MetricsSection,
    "logging": LoggingSection,
}

#: The keys of the flat files of earlier versions and where each now lives.
LEGACY_KEYS: dict[str, tuple[str, str]] = {
    "server": ("server", "url"), "label": ("server", "label"), "trust": ("trust", "anchors"),
    "bootstrap_fingerprint": ("trust", "bootstrap_fingerprint"), "cert": ("storage", "cert"),
    "key": ("storage", "key"), "user": ("auth", "user"), "password": ("auth", "password"),
    "password_file": ("auth", "password_file"), "digest": ("auth", "scheme"), "timeout": ("server", "timeout"),
    "min_retry_delay": ("server", "min_retry_delay"), "channel_binding": ("server", "channel_binding"),
    "proxy": ("server", "proxy"), "header": ("server", "headers"), "host_header": ("server", "host_header"),
}


@dataclass(frozen=True)
class FileConfig:
    """A whole configuration file, checked. ``path`` is where it was read from (None when parsed from text)."""

    server: ServerSection = field(default_factory=ServerSection)
    trust: TrustSection = field(default_factory=TrustSection)
    auth: AuthSection = field(default_factory=AuthSection)
    certificate: CertificateSection = field(default_factory=CertificateSection)
    renewal: RenewalSection = field(default_factory=RenewalSection)
    storage: StorageSection = field(default_factory=StorageSection)
    hooks: HooksSection = field(default_factory=HooksSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    path: str | None = None

    def to_dict(self, *, hide_secrets: bool = True) -> dict[str, dict[str, Any]]:
        """The settings as plain values, section by section (secrets shown as ``"<hidden>"``)."""
        out: dict[str, dict[str, Any]] = {}
        for name in _SECTIONS:
            section = getattr(self, name)
            values: dict[str, Any] = {}
            for f in dataclasses.fields(section):
                value = getattr(section, f.name)
                if value is None:
                    continue
                if f.metadata[_K] == "secret" and hide_secrets:
                    value = "<hidden>"
                values[f.name] = value
            out[name] = values
        return out

    def connection_settings(self) -> dict[str, Any]:
        """The settings of the flat (legacy) form that are set, keyed as ``est``'s flags (``server``, ``trust``,
        ``cert``, ...), for the command line's settings merge."""
        out: dict[str, Any] = {}
        for key, (section, name) in LEGACY_KEYS.items():
            value = getattr(getattr(self, section), name)
            if key == "digest":
                if value == "digest":
                    out[key] = True
                continue
            default = next(f.default for f in dataclasses.fields(_SECTIONS[section]) if f.name == name)
            if value is not None and value != default and value != []:
                out[key] = value
        return out

    def client_config(self, identity: Any = None) -> "EstClientConfig":
        """An :class:`~estclient.config.EstClientConfig` from ``[server]``, ``[trust]`` and ``[auth]``;
        ``identity`` (a :class:`~estclient.config.ClientIdentity`, optional) is the TLS client certificate."""
        from ._file_client import client_config

        return client_config(self, identity)

    def renewal_policy(self) -> "RenewalPolicy":
        """The :class:`~estclient.renewal.RenewalPolicy` of ``[renewal]``."""
        from ._renewal_policy import RenewalPolicy

        return RenewalPolicy(fraction=self.renewal.fraction, threshold=self.renewal.threshold)

    def csr_builder(self) -> "CsrBuilder":
        """A :class:`~estclient.csr.CsrBuilder` for the first enrollment, from ``[certificate]`` (the key is
        made when first needed)."""
        from ._file_client import csr_builder

        return csr_builder(self)


# ----------------------------------------------------------------------------------------------- checking


def _check_value(kind: str, value: Any, where: str, meta: Mapping[str, Any], base: Path,
                 environ: Mapping[str, str]) -> Any:
    def text(v: Any, w: str = where) -> str:
        if not isinstance(v, str):
            raise ConfigError(f"{w}: expected a string, got {_toml_type(v)}")
        return _expand(v, environ, w)

    if kind in ("str", "secret"):
        return text(value)
    if kind == "path":
        return str(base / Path(text(value)).expanduser())
    if kind == "choice":
        v = text(value).lower()
        if v not in meta["choices"]:
            raise ConfigError(f"{where}: must be one of {', '.join(meta['choices'])}, got {v[:40]!r}")
        return v
    if kind == "bool":
        if isinstance(value, str):
            value = _expand(value, environ, where).strip().lower()
            if value in ("1", "true", "yes", "on"):
                return True
            if value in ("0", "false", "no", "off"):
                return False
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {_toml_type(value)}")
        return value
    if kind == "int":
        if isinstance(value, str):
            value = _expand(value, environ, where).strip()
            value = int(value) if value.isdigit() else value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}: expected a whole number >= 0")
        return value
    if kind == "mode":
        if isinstance(value, str):
            v = _expand(value, environ, where).strip()
            if not re.fullmatch(r"0?o?[0-7]{3}", v):
                raise ConfigError(f"{where}: expected a file mode such as \"0644\"")
            value = int(v.replace("o", ""), 8)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
            raise ConfigError(f"{where}: expected a file mode such as \"0644\"")
        return value
    if kind == "duration":
        if isinstance(value, str):
            value = _expand(value, environ, where)
        return parse_duration(value, where)
    if kind == "fraction":
        if isinstance(value, str) and value.strip().lower() in ("none", "off", ""):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ConfigError(f"{where}: expected a number between 0 and 1 (e.g. 0.33), or \"off\"")
        return float(value)
    if kind == "strlist":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list of strings, got {_toml_type(value)}")
        return [text(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if kind == "commands":
        return _commands(value, where, environ)
    raise AssertionError(kind)  # pragma: no cover


def _commands(value: Any, where: str, environ: Mapping[str, str]) -> list[list[str]]:
    """One command (a string, split as a shell would, without running a shell) or a list of commands, each a
    string or an argv list of strings."""
    import shlex

    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a command or a list of commands, got {_toml_type(value)}")
    out: list[list[str]] = []
    for i, cmd in enumerate(value):
        w = f"{where}[{i}]"
        if isinstance(cmd, str):
            try:
                argv = shlex.split(_expand(cmd, environ, w))
            except ValueError as exc:
                raise ConfigError(f"{w}: {exc}") from None
        elif isinstance(cmd, list) and all(isinstance(a, str) for a in cmd):
            argv = [_expand(a, environ, f"{w}[{j}]") for j, a in enumerate(cmd)]
        else:
            raise ConfigError(f"{w}: a command is a string or a list of strings")
        if not argv:
            raise ConfigError(f"{w}: empty command")
        out.append(argv)
    return out


def _toml_type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


def _section(cls: type, table: Any, where: str, base: Path, environ: Mapping[str, str]) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {_toml_type(table)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        f = fields.get(key)
        if f is None:
            raise ConfigError(f"{where} unknown key {raw_key!r} (known: {', '.join(fields)})")
        values[key] = _check_value(f.metadata[_K], value, f"{where} {raw_key}", f.metadata, base, environ)
    return cls(**values)


def parse_config(data: Mapping[str, Any], *, path: str | None = None,
                 environ: Mapping[str, str] | None = None) -> FileConfig:
    """Check a decoded TOML document and return its :class:`FileConfig` (ConfigError with the location of the
    first problem). ``environ`` (default ``os.environ``) serves ``${VAR}``."""
    env = os.environ if environ is None else environ
    label = os.path.basename(path) if path else "config"
    base = Path(path).resolve().parent if path else Path.cwd()
    tables: dict[str, dict[str, Any]] = {}
    flat: dict[str, Any] = {}
    doc = dict(data)
    est = doc.pop("est", None)
    if est is not None:
        if not isinstance(est, dict):
            raise ConfigError(f"{label}: [est] must be a table")
        for k, v in est.items():
            if k.replace("-", "_") not in LEGACY_KEYS:
                raise ConfigError(f"{label}: [est] unknown key {k!r}")
            flat[k.replace("-", "_")] = v
    for raw_key, value in doc.items():
        key = raw_key.replace("-", "_")
        if key in _SECTIONS and isinstance(value, dict):
            tables[key] = dict(value)
        elif key in LEGACY_KEYS and not isinstance(value, dict):
            flat[key] = value
        else:
            raise ConfigError(f"{label}: unknown key {raw_key!r} (sections: {', '.join(_SECTIONS)})")
    for key, value in flat.items():  # the flat form of earlier versions
        section, name = LEGACY_KEYS[key]
        if key == "digest":
            on = value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
            value = "digest" if on else "basic"
        table = tables.setdefault(section, {})
        if name in table:
            raise ConfigError(f"{label}: {key!r} is given twice (top level and [{section}] {name})")
        table[name] = value
    sections = {name: _section(cls, tables.get(name, {}), f"{label}: [{name}]", base, env)
                for name, cls in _SECTIONS.items()}
    cfg = FileConfig(**sections, path=path)
    _check_whole(cfg, label)
    return cfg


def _check_whole(cfg: FileConfig, label: str) -> None:
    from .config import validate_ca_label

    if cfg.trust.anchors and cfg.trust.bootstrap_fingerprint:
        raise ConfigError(f"{label}: [trust] give anchors or bootstrap_fingerprint, not both")
    if cfg.trust.system and (cfg.trust.anchors or cfg.trust.bootstrap_fingerprint):
        raise ConfigError(f"{label}: [trust] system = true takes no anchors or fingerprint")
    if cfg.auth.password and cfg.auth.password_file:
        raise ConfigError(f"{label}: [auth] give password or password_file, not both")
    if cfg.server.label is not None:
        try:
            validate_ca_label(cfg.server.label)
        except ConfigError as exc:
            raise ConfigError(f"{label}: [server] label: {exc}") from None
    if cfg.renewal.fraction is None and cfg.renewal.threshold is None:
        raise ConfigError(f"{label}: [renewal] needs a fraction, a threshold or both")
    if bool(cfg.storage.cert) != bool(cfg.storage.key):
        raise ConfigError(f"{label}: [storage] cert and key go together")


# ----------------------------------------------------------------------------------------------- files


def _toml_loads(data: bytes, where: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib as toml
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as toml
        except ImportError:
            raise ConfigError("reading a config file on Python 3.10 needs the 'tomli' package") from None
    try:
        return toml.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text") from None
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from None


def load_config(path: str | os.PathLike[str] | None = None, *,
                environ: Mapping[str, str] | None = None) -> FileConfig:
    """Read and check the file at ``path`` (default: the first of :func:`search_paths` that exists;
    ConfigError when there is none)."""
    env = os.environ if environ is None else environ
    if path is None:
        found = find_config(env)
        if found is None:
            raise ConfigError("no config file: give one (--config FILE, EST_CONFIG) or create ./est.toml "
                              "(est config init)")
        path = found
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return parse_config(_toml_loads(data, f"config file {path}"), path=path, environ=env)


def search_paths(environ: Mapping[str, str] | None = None, *, cwd: str | os.PathLike[str] | None = None,
                 system_dir: str | os.PathLike[str] = "/etc/est") -> list[Path]:
    """Where a config file is looked for, in order: ``$EST_CONFIG``, ``./est.toml``, the user's config directory
    (``$XDG_CONFIG_HOME`` or ``~/.config``, then ``est/est.toml``), ``/etc/est/est.toml``."""
    env = os.environ if environ is None else environ
    out: list[Path] = []
    if env.get("EST_CONFIG"):
        out.append(Path(env["EST_CONFIG"]))
    out.append(Path(cwd if cwd is not None else os.getcwd()) / "est.toml")
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        out.append(Path(xdg) / "est" / "est.toml")
    elif env.get("HOME"):
        out.append(Path(env["HOME"]) / ".config" / "est" / "est.toml")
    out.append(Path(system_dir) / "est.toml")
    return out


def find_config(environ: Mapping[str, str] | None = None, *, cwd: str | os.PathLike[str] | None = None,
                system_dir: str | os.PathLike[str] = "/etc/est") -> Path | None:
    """The first of :func:`search_paths` that exists; ``$EST_CONFIG`` is returned even when missing (reading
    it then says so), as it names the file the user wants."""
    env = os.environ if environ is None else environ
    paths = search_paths(env, cwd=cwd, system_dir=system_dir)
    if env.get("EST_CONFIG"):
        return paths[0]
    for p in paths:
        if p.is_file():
            return p
    return None
