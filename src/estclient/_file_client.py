"""From a checked :class:`~estclient.config_file.FileConfig` to the objects the client uses: the
:class:`~estclient.config.EstClientConfig` and the first enrollment's :class:`~estclient.csr.CsrBuilder`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import ClientIdentity, EstClientConfig
    from .config_file import FileConfig
    from .csr import CsrBuilder

__all__ = ["client_config", "csr_builder", "read_password"]

#: A whole operation may take this many times the per-step timeout (as the command line does).
_OPERATION_TIMEOUT_FACTOR = 4


def read_password(cfg: FileConfig) -> str | None:
    """The HTTP password of ``[auth]``: given inline or read from ``password_file`` (its first line, which may not
    be empty: the rule of every password file, :func:`estclient.keys.read_password`)."""
    from .keys import read_password_text

    if cfg.auth.password is not None:
        return cfg.auth.password
    if cfg.auth.password_file:
        try:
            return read_password_text(cfg.auth.password_file)
        except ConfigError as exc:
            raise ConfigError(f"[auth] password_file: {exc}") from None
    return None


def client_config(cfg: FileConfig, identity: ClientIdentity | None = None) -> EstClientConfig:
    """The client settings of ``cfg``; ``identity`` (optional) is the TLS client certificate to present."""
    from .config import EstClientConfig, HttpAuth, TrustAnchors, resolve_proxy, split_well_known

    if not cfg.server.url:
        raise ConfigError("no EST server: set [server] url")
    url, label = split_well_known(cfg.server.url.strip(), cfg.server.label)
    if cfg.trust.anchors:
        trust = TrustAnchors.from_file(cfg.trust.anchors)
    elif cfg.trust.bootstrap_fingerprint:
        trust = TrustAnchors.bootstrap(cfg.trust.bootstrap_fingerprint)
    else:
        trust = TrustAnchors.system()
    auth = None
    if cfg.auth.user:
        password = read_password(cfg)
        if password is None:
            raise ConfigError("[auth] user needs password or password_file")
        auth = HttpAuth(cfg.auth.user, password, "digest" if cfg.auth.scheme == "digest" else "basic")
    op_timeout = cfg.server.operation_timeout or _OPERATION_TIMEOUT_FACTOR * cfg.server.timeout
    return EstClientConfig(url, ca_label=label, trust=trust, client_identity=identity, http_auth=auth,
                           timeout=cfg.server.timeout, operation_timeout=op_timeout,
                           min_retry_delay=cfg.server.min_retry_delay,
                           channel_binding=cfg.server.channel_binding,  # type: ignore[arg-type]
                           proxy=resolve_proxy(cfg.server.proxy, url), headers=_headers(cfg))


def _headers(cfg: FileConfig) -> tuple[tuple[str, str], ...]:
    """``[server] headers`` ("Name: value" each) and ``host_header`` as request headers."""
    from .config import parse_header_lines

    return parse_header_lines(cfg.server.headers, cfg.server.host_header, what="[server] headers")


def csr_builder(cfg: FileConfig) -> CsrBuilder:
    """A builder for the first enrollment, from ``[certificate]``; every name and usage is checked now."""
    from .csr import CsrBuilder

    c = cfg.certificate
    return CsrBuilder.from_fields(
        common_name=c.common_name, organization=c.organization, organizational_units=c.organizational_unit,
        country=c.country, state=c.state, locality=c.locality, serial_number=c.serial_number,
        san_dns=c.san_dns, san_ip=c.san_ip, san_email=c.san_email, san_uri=c.san_uri, key_usage=c.key_usage,
        extended_key_usage=c.extended_key_usage, key_type=c.key_type)
