"""Pending (HTTP 202) enrollments that survive the process: save the key and the request, re-send later.

RFC 7030 §4.2.3: a server that answers 202 expects the *same* request again later. When the waiting ends (the
wait budget runs out, Ctrl-C, a reboot) the request is still queued at the CA, and only the key that signed it
can use the certificate it will issue. :class:`PendingEnrollment` keeps both in a directory (the key 0600,
written atomically) before the request is first sent, so any later run can re-send the same CSR and complete
the pair::

    pending = PendingEnrollment.start(builder, "/var/lib/est/device.pending")
    identity = complete_enrollment(client, pending, "device.pem", "device.key", max_wait=600)

    # later, in a new process (est enroll --resume, or the agent at its next start):
    pending = PendingEnrollment.load("/var/lib/est/device.pending")
    identity = complete_enrollment(client, pending, "device.pem", "device.key", max_wait=600)

A channel-bound request (RFC 7030 §3.5) is signed for one TLS connection and cannot be re-sent on another:
resuming needs ``channel_binding`` other than ``"require"``.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import _atomic
from .errors import ConfigError, EstError, PendingTimeout, ProtocolError

__all__ = ["PendingEnrollment", "complete_enrollment", "pending_dir_for"]

_KEY, _CSR, _META = "request.key", "request.csr", "pending.json"


def pending_dir_for(cert_path: str | os.PathLike[str]) -> Path:
    """The default place of a pending enrollment for ``cert_path``: ``<cert_path>.pending/``."""
    return Path(os.fspath(cert_path) + ".pending")


@dataclass(frozen=True, repr=False)
class PendingEnrollment:
    """A request sent (or about to be sent) and its private key, kept in ``directory``."""

    directory: Path
    csr_der: bytes
    key_pem: bytes
    operation: str = "enroll"
    created: str = ""
    key_password: bytes | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"PendingEnrollment(directory={str(self.directory)!r}, operation={self.operation!r}, key=<hidden>)"

    @classmethod
    def start(cls, builder: Any, directory: str | os.PathLike[str], *, operation: str = "enroll",
              key_password: bytes | None = None) -> PendingEnrollment:
        """Build the request of ``builder`` (a :class:`~estclient.csr.CsrBuilder`) and save it with its key in
        ``directory`` (created 0700): the key first (0600), then the request, then ``pending.json``, which marks
        the set complete. Refuses (ConfigError) when ``directory`` already holds a pending enrollment."""
        from cryptography.hazmat.primitives import serialization

        if operation not in ("enroll", "reenroll"):
            raise ConfigError("operation must be 'enroll' or 'reenroll'")
        path = Path(directory)
        if (path / _META).exists():
            raise ConfigError(f"{path} already holds a pending enrollment: resume it or remove the directory")
        if bool(getattr(builder, "channel_binding_required", False)):
            raise ConfigError("a channel-bound request cannot be re-sent on another connection: it cannot resume")
        csr_der, key = builder.build()
        enc: Any = (serialization.BestAvailableEncryption(key_password) if key_password
                    else serialization.NoEncryption())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
        created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            _atomic.write_atomic(path / _KEY, key_pem, 0o600)
            _atomic.write_atomic(path / _CSR, bytes(csr_der), 0o644)
            meta = {"operation": operation, "created": created}
            _atomic.write_atomic(path / _META, json.dumps(meta).encode("ascii"), 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot save the pending enrollment in {path}: {exc.strerror or exc}") from None
        return cls(path, bytes(csr_der), key_pem, operation, created, key_password)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], *, key_password: bytes | None = None) -> PendingEnrollment:
        """The pending enrollment saved in ``directory`` (ConfigError when there is none or it is unreadable)."""
        from cryptography.hazmat.primitives import serialization

        from estcodec.pkcs10 import CertificationRequest

        path = Path(directory)
        meta = _record(path)
        if meta is None:
            raise ConfigError(f"no pending enrollment in {path}")
        try:
            key_pem = (path / _KEY).read_bytes()
            csr_der = (path / _CSR).read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"no pending enrollment in {path}") from None
        except OSError as exc:
            raise _unreadable(path, exc) from None
        try:
            key = serialization.load_pem_private_key(key_pem, password=key_password)
        except (ValueError, TypeError):
            raise ConfigError(f"the key of the pending enrollment in {path} cannot be read") from None
        try:
            csr = CertificationRequest.from_der(csr_der)
            csr_spki = csr.certification_request_info.subject_pk_info.to_der()
        except Exception:
            raise ConfigError(f"the request of the pending enrollment in {path} cannot be read") from None
        ours = key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        if csr_spki != ours:
            raise ConfigError(f"the key and the request of the pending enrollment in {path} do not match")
        return cls(path, csr_der, key_pem, str(meta["operation"]), str(meta.get("created", "")), key_password)

    @staticmethod
    def exists(directory: str | os.PathLike[str]) -> bool:
        """True when ``directory`` holds a (complete) pending enrollment."""
        return (Path(directory) / _META).is_file()

    @staticmethod
    def operation_in(directory: str | os.PathLike[str]) -> str | None:
        """``"enroll"`` or ``"reenroll"``: what the request saved in ``directory`` is for (None: nothing saved;
        ConfigError when the record cannot be read). The key is not read."""
        meta = _record(Path(directory))
        return None if meta is None else str(meta["operation"])

    def discard(self) -> None:
        """Remove the saved files (after the pair is in place): the record first, then the request and key."""
        for name in (_META, _CSR, _KEY):
            try:
                os.unlink(self.directory / name)
            except FileNotFoundError:
                pass
        try:
            self.directory.rmdir()
        except OSError:
            pass

    def private_key(self) -> Any:
        """The request's private key (a ``cryptography`` object)."""
        from cryptography.hazmat.primitives import serialization

        return serialization.load_pem_private_key(self.key_pem, password=self.key_password)

    def send(self, client: Any) -> Any:
        """Send the saved request once through ``client`` (an :class:`~estclient.EstClient`):
        :class:`~estclient.Issued` or :class:`~estclient.Pending`."""
        if getattr(client.config, "channel_binding", "auto") == "require":
            raise ConfigError("channel_binding='require' signs each request for its connection: a saved "
                              "request cannot be re-sent; resume with channel_binding 'auto' or 'off'")
        if self.operation == "reenroll":
            return client.simple_reenroll(self.csr_der)
        return client.simple_enroll(self.csr_der)


def _record(path: Path) -> dict[str, Any] | None:
    """The ``pending.json`` of a saved request in ``path`` (its operation checked), or None when there is none."""
    try:
        meta = json.loads((path / _META).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    if not isinstance(meta, dict) or meta.get("operation") not in ("enroll", "reenroll"):
        raise ConfigError(f"{path / _META} is not a pending enrollment record")
    return meta


def _unreadable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(f"cannot read the pending enrollment in {path}: "
                       f"{getattr(exc, 'strerror', None) or type(exc).__name__}")


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


def complete_enrollment(
    client: Any,
    pending: PendingEnrollment,
    cert_path: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    *,
    max_wait: float,
    cert_mode: int = 0o644,
    wait: Callable[[float], bool] | None = None,
) -> Any:
    """Send ``pending``'s request (again) through ``client`` until it is issued, store the pair with
    :func:`~estclient.renewal.save_pair` and discard the saved request; returns the new
    :class:`~estclient.config.ClientIdentity`.

    202 answers are waited out under the library's 202 policy (``max_wait`` seconds at most); when that budget
    runs out, :class:`~estclient.errors.PendingTimeout` is raised and the saved request stays for a later
    resume. ``wait(seconds)`` sleeps (default ``time.sleep``); returning True means "stop now": the saved
    request stays and PendingTimeout is raised.
    """
    from ._polling import PendingWait
    from .config import ClientIdentity
    from .renewal import save_pair

    sleep = wait or _sleep
    poll = PendingWait(max_wait, min_delay=getattr(client.config, "min_retry_delay", 1.0), what="enrollment")
    while True:
        result = pending.send(client)
        if hasattr(result, "certificate"):
            break
        delay = poll.next_delay(result.retry_after)
        if sleep(delay):
            raise PendingTimeout(f"stopped while the enrollment was pending; resume it from {pending.directory}",
                                 retry_after=result.retry_after)
    issued_spki = result.certificate.public_key_info.to_der()
    from cryptography.hazmat.primitives import serialization

    ours = pending.private_key().public_key().public_bytes(serialization.Encoding.DER,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    if issued_spki != ours:
        raise ProtocolError("the enrollment response holds no certificate for the requested key")
    identity = ClientIdentity(result.to_pem().encode("ascii"), pending.key_pem, pending.key_password)
    try:
        save_pair(cert_path, key_path, identity.cert_pem, identity.key_pem, key_password=pending.key_password,
                  cert_mode=cert_mode)
    except OSError as exc:
        raise EstError(f"cannot write the enrolled pair: {exc.strerror or exc}") from None
    pending.discard()
    return identity
