"""Automatic certificate renewal: watch a certificate's expiry, re-enroll (RFC 7030 §4.2.2), persist atomically.

:class:`RenewalScheduler` (a background thread, over :class:`~estclient.EstClient`) and
:class:`AsyncRenewalScheduler` (an asyncio task, over :class:`~estclient.AsyncEstClient`) run the same
renewal flow, written once as a flow of the client's engine (:mod:`estclient.flows`): it yields the engine's
commands (call the event callback, do blocking file work in a worker thread, wait, run the re-enrollment as an
operation of its own, switch the client's identity), and the client runs it as it runs its own operations.

Every ``check_interval`` seconds the scheduler loads the certificate and key from ``cert_path`` and
``key_path``. When the certificate expires within ``renewal_threshold`` seconds it builds a CSR with the same
subject and subjectAltName (and keyUsage / extendedKeyUsage) and a new key (or the same key with
``new_key=False``), posts it to ``/simplereenroll`` with the current pair as the TLS client certificate,
retries failures with exponential backoff, writes the new pair to disk (see :func:`save_pair`) and switches the
client's TLS identity to it. When the server cannot be reached the old pair stays in place and the next check
tries again.

Events, in order, go to ``RenewalConfig.event_callback``::

    CheckStarted -> [RenewalNeeded(expires_at) -> RenewalStarted
                     -> (RenewalPending(retry_after) | RenewalFailed(error, attempt, retry_in))*
                     -> RenewalSucceeded(certificate) | RenewalExhausted(last_error)]

On-disk scheme (one writer per pair): see :func:`save_pair` and :func:`load_identity`. A crash (even SIGKILL)
at any moment leaves files from which :func:`load_identity` recovers either the old pair or the new one, never
a certificate with the wrong key and never a partially written file.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, cast

from cryptography.hazmat.primitives import serialization

from estcodec import oids as _oids

from . import _atomic
from . import flows as F
from ._engine import Stopped as _Stopped
from .config import ClientIdentity
from .csr import CsrBuilder
from .keys import KEY_TYPES, key_type_of
from estcodec.signer import as_signer
from ._polling import DEFAULT_MIN_RETRY_DELAY, DEFAULT_RETRY_AFTER, MAX_WAIT_LIMIT, PendingWait
from ._renewal_policy import DuePolicy, RenewalPolicy
from ._renewal_steps import _issue_pair, _refuses_request, resumable, save_request, saved_request
from .errors import ConfigError, EstError

if TYPE_CHECKING:
    from estcodec.signer import SoftwarePrivateKey

__all__ = [
    "RenewalConfig",
    "RenewalScheduler",
    "AsyncRenewalScheduler",
    "RenewalEvent",
    "CheckStarted",
    "RenewalNeeded",
    "RenewalStarted",
    "RenewalPending",
    "RenewalSucceeded",
    "RenewalFailed",
    "RenewalExhausted",
    "RenewalError",
    "write_atomic",
    "save_pair",
    "load_identity",
    "previous_path",
    "renewal_csr",
    "key_type_of",
    "renewal_csr_for",
    "RenewalPolicy",
]

log = logging.getLogger("estclient.renewal")

#: Seconds to wait after a 202 without a usable Retry-After: the client's one 202 policy (estclient._polling).
DEFAULT_PENDING_DELAY = DEFAULT_RETRY_AFTER

_SAN, _KU, _EKU = _oids.ID_CE_SUBJECT_ALT_NAME, _oids.ID_CE_KEY_USAGE, _oids.ID_CE_EXT_KEY_USAGE


class RenewalError(EstError):
    """Renewal could not proceed: no usable certificate/key pair on disk, or the new pair could not be written."""


# ---------------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class RenewalEvent:
    """Base class of every event the schedulers emit."""


@dataclass(frozen=True)
class CheckStarted(RenewalEvent):
    """A check of the certificate's expiry begins."""


@dataclass(frozen=True)
class RenewalNeeded(RenewalEvent):
    """The certificate expires within the threshold (``expires_at``: aware UTC datetime, its notAfter)."""

    expires_at: _dt.datetime


@dataclass(frozen=True)
class RenewalStarted(RenewalEvent):
    """Re-enrollment begins (emitted once per renewal, before the first attempt)."""


@dataclass(frozen=True)
class RenewalPending(RenewalEvent):
    """The server answered 202; the same request is repeated after ``retry_after`` seconds."""

    retry_after: float


@dataclass(frozen=True)
class RenewalSucceeded(RenewalEvent):
    """The new certificate (an :class:`estcodec.x509.Certificate`) is on disk and in use."""

    certificate: Any


@dataclass(frozen=True)
class RenewalFailed(RenewalEvent):
    """Attempt ``attempt`` (1-based) failed with ``error`` (an EstError). ``retry_in``: seconds until the next
    attempt, or None when this was the last one (RenewalExhausted follows)."""

    error: BaseException
    attempt: int
    retry_in: float | None = None


@dataclass(frozen=True)
class RenewalExhausted(RenewalEvent):
    """Every attempt failed; the old pair stays in place and the next check tries again."""

    last_error: BaseException


# ---------------------------------------------------------------------------------------------------- config


def _seconds(value: Any, name: str, *, positive: bool = True) -> float:
    if isinstance(value, _dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number of seconds or a timedelta")
    seconds = float(value)
    if seconds != seconds or (seconds <= 0 if positive else seconds < 0):
        raise ConfigError(f"{name} must be {'positive' if positive else 'zero or more'}")
    return seconds


@dataclass(frozen=True)
class RenewalConfig:
    """When and how to renew.

    ``renewal_threshold``: renew when the certificate expires within this many seconds (or a timedelta).
    ``check_interval``: seconds between checks. ``max_retries``: retries after a failed first attempt (so at
    most ``max_retries + 1`` attempts per renewal); the delay before retry *n* is
    ``initial_retry_delay * retry_backoff ** (n - 1)``, capped at ``max_retry_delay``.
    ``event_callback``: called with each :class:`RenewalEvent` (from the scheduler's thread, or, for the async
    scheduler, in its task; a coroutine function is awaited there). Exceptions it raises are logged and ignored.
    ``new_key``: generate a new key for each renewal (default) or keep the current one. ``key_type``: the new
    key's type (``"ec-p256"``, ``"rsa-2048"``, ... see :data:`estclient.csr.KEY_TYPES`); None: the current
    key's type. ``key_password``: the key files are encrypted with it (PKCS#8, best available encryption) and
    read with it. ``max_pending_wait``: total seconds one attempt may wait out 202 answers.
    ``copy_extensions``: also request the current certificate's keyUsage and extendedKeyUsage (its subject and
    subjectAltName are always requested unchanged, as RFC 7030 §4.2.2 requires). When the server returns the
    new certificate without a chain, the chain that followed the old certificate in ``cert_path`` is kept.
    ``cert_mode``: file mode of the certificate file (the key file is always 0600). ``policy``: when given
    (a :class:`RenewalPolicy`, or any object with ``due(cert, now)``), it decides when the certificate is due
    instead of ``renewal_threshold``. ``pending_dir``: where the new key (0600) and the re-enrollment request are
    saved before the request is first sent (:class:`estclient.resume.PendingEnrollment`), and removed once the new
    pair is in place: a renewal cut short while the server answers 202 (the wait budget, a stop, a restart) is
    resumed by the next check with the same key and request, due or not, as RFC 7030 §4.2.3 wants; a request the
    server refuses (a 4xx answer other than 401, 407, 408 and 429) is removed, and the next due check starts
    afresh. Not with a client that requires channel binding (each request is signed for its connection), nor for
    a key on a token.
    """

    renewal_threshold: float
    check_interval: float
    max_retries: int = 3
    initial_retry_delay: float = 1.0
    event_callback: Callable[[RenewalEvent], Any] | None = None
    new_key: bool = True
    key_type: str | None = None
    key_password: bytes | None = dataclasses.field(default=None, repr=False)
    retry_backoff: float = 2.0
    max_retry_delay: float = 300.0
    max_pending_wait: float = 600.0
    copy_extensions: bool = True
    cert_mode: int = 0o644
    policy: DuePolicy | None = None
    pending_dir: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.pending_dir is not None:
            if not isinstance(self.pending_dir, (str, os.PathLike)) or not os.fspath(self.pending_dir):
                raise ConfigError("pending_dir must be a directory path")
            set_(self, "pending_dir", os.fspath(self.pending_dir))
        set_(self, "renewal_threshold", _seconds(self.renewal_threshold, "renewal_threshold"))
        set_(self, "check_interval", _seconds(self.check_interval, "check_interval"))
        set_(self, "initial_retry_delay", _seconds(self.initial_retry_delay, "initial_retry_delay", positive=False))
        set_(self, "max_retry_delay", _seconds(self.max_retry_delay, "max_retry_delay", positive=False))
        set_(self, "max_pending_wait", _seconds(self.max_pending_wait, "max_pending_wait", positive=False))
        if self.max_pending_wait > MAX_WAIT_LIMIT:  # refused when made, not when the first 202 arrives
            raise ConfigError(f"max_pending_wait must be at most {MAX_WAIT_LIMIT:,.0f} seconds (ten years)")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigError("max_retries must be an int >= 0")
        if isinstance(self.retry_backoff, bool) or not isinstance(self.retry_backoff, (int, float)) \
                or not self.retry_backoff >= 1:
            raise ConfigError("retry_backoff must be a number >= 1")
        if self.event_callback is not None and not callable(self.event_callback):
            raise ConfigError("event_callback must be callable")
        if not isinstance(self.new_key, bool):
            raise ConfigError("new_key must be True or False")
        if self.key_type is not None and self.key_type not in KEY_TYPES:
            raise ConfigError(f"key_type must be one of {', '.join(KEY_TYPES)}")
        if self.key_password is not None:
            if isinstance(self.key_password, str):
                set_(self, "key_password", self.key_password.encode("utf-8"))
            elif not isinstance(self.key_password, (bytes, bytearray)) or not self.key_password:
                raise ConfigError("key_password must be non-empty bytes")
        if not isinstance(self.cert_mode, int) or not 0 <= self.cert_mode <= 0o777:
            raise ConfigError("cert_mode must be a file mode such as 0o644")
        if self.policy is not None and not callable(getattr(self.policy, "due", None)):
            raise ConfigError("policy must be a RenewalPolicy (or have a due(cert, now) method)")

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one."""
        return min(self.initial_retry_delay * self.retry_backoff ** (attempt - 1), self.max_retry_delay)


# ---------------------------------------------------------------------------------------------------- files


def _fault_point(stage: str) -> None:
    """No-op. The crash tests replace it in a child process to SIGKILL it at a given stage of a write."""


# The writing itself lives in _atomic (one implementation for renewal and the CLI); renewal adds its fault points.
_temp_path = _atomic._scratch_name
_fsync_dir = _atomic._sync_folder
_unlink_quiet = _atomic._remove


def _temp_pattern(path: str) -> re.Pattern[str]:
    return re.compile(r"^\." + re.escape(os.path.basename(path)) + r"\.[0-9a-f]{12}\.tmp$")


def _half_written() -> None:
    _fault_point("temp-half-written")  # looked up at call time: the crash tests replace _fault_point


def _write_temp(path: str, data: bytes, mode: int) -> str:
    """Write ``data`` to a new temporary file beside ``path`` with ``mode`` (umask ignored), fsync it, and
    return its name. The file is created with that mode: a key is never readable by others, not even briefly."""
    return _atomic._write_scratch(path, data, mode, _half_written)


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o600, *, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same directory (created with ``mode``,
    whatever the umask), fsync, rename over ``path``, fsync of the directory. Readers see the old content or
    the new, never a partial file. With ``overwrite=False`` an existing ``path`` is left alone and
    :class:`FileExistsError` is raised (the final step is then a hard link, which fails if ``path`` exists).
    Raises :class:`OSError` on I/O errors."""
    _atomic.write_atomic(path, data, mode, overwrite=overwrite, fault=_half_written)


def previous_path(path: str | os.PathLike[str]) -> str:
    """Where :func:`save_pair` keeps the old file while it swaps in the new one: ``<path>.prev``."""
    return os.fspath(path) + ".prev"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _matching_pair(cert_path: str, key_path: str, password: bytes | None) -> ClientIdentity | None:
    cert, key = _read(cert_path), _read(key_path)
    if cert is None or key is None:
        return None
    try:
        return ClientIdentity(cert, key, password)
    except EstError:
        return None


def save_pair(
    cert_path: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    cert_pem: bytes,
    key_pem: bytes,
    *,
    key_password: bytes | None = None,
    cert_mode: int = 0o644,
) -> None:
    """Replace the certificate and key files with a new pair so that a crash at any moment leaves a pair that
    :func:`load_identity` can load: the old one or the new one.

    1. If the current files hold a matching pair, copy them to ``<cert>.prev`` and ``<key>.prev`` (each
       written atomically; the key 0600).
    2. Write the new certificate and key to temporary files beside their targets (key 0600) and fsync them.
    3. Rename the key into place, then the certificate; fsync the directories.
    4. Remove the ``.prev`` files (the old private key does not linger on disk).

    Between the two renames of step 3 the key file holds the new key and the certificate file the old
    certificate: :func:`load_identity` sees the mismatch and restores the ``.prev`` pair. Every file that
    appears under a final name was complete and fsynced before it was renamed there. ``key_password`` is only
    used to check that ``key_pem`` matches ``cert_pem`` (``key_pem`` is written as given).
    """
    cert_path, key_path = os.fspath(cert_path), os.fspath(key_path)
    ClientIdentity(cert_pem, key_pem, key_password)  # never persist a mismatched pair
    current = _matching_pair(cert_path, key_path, key_password)
    if current is not None:
        write_atomic(previous_path(key_path), current.key_pem, 0o600)
        _fault_point("prev-key-written")
        write_atomic(previous_path(cert_path), current.cert_pem, cert_mode)
        _fault_point("prev-written")
    tmp_key = _write_temp(key_path, key_pem, 0o600)
    try:
        tmp_cert = _write_temp(cert_path, cert_pem, cert_mode)
    except BaseException:
        _unlink_quiet(tmp_key)
        raise
    _fault_point("temps-written")
    try:
        os.replace(tmp_key, key_path)
        _fault_point("key-renamed")
        os.replace(tmp_cert, cert_path)
    except BaseException:
        _unlink_quiet(tmp_key)
        _unlink_quiet(tmp_cert)
        raise
    for directory in {os.path.dirname(os.path.abspath(p)) for p in (key_path, cert_path)}:
        _fsync_dir(directory)
    _fault_point("cert-renamed")
    if current is not None:
        _unlink_quiet(previous_path(key_path))
        _unlink_quiet(previous_path(cert_path))
        _fault_point("prev-removed")


def _remove_stale_temps(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    pattern = _temp_pattern(path)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if pattern.match(name):
            _unlink_quiet(os.path.join(directory, name))


def load_identity(
    cert_path: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    *,
    key_password: bytes | None = None,
    cert_mode: int = 0o644,
) -> ClientIdentity:
    """Load the pair written by :func:`save_pair`, repairing what a crash left behind.

    The files at ``cert_path``/``key_path`` are used when the key matches the certificate. Otherwise (a crash
    between the two renames) the ``.prev`` pair is used and written back in place. Temporary files of an
    interrupted write, and ``.prev`` files no longer needed, are removed. Raises :class:`RenewalError` when
    neither pair is usable.
    """
    cert_path, key_path = os.fspath(cert_path), os.fspath(key_path)
    for p in {cert_path, key_path, previous_path(cert_path), previous_path(key_path)}:
        _remove_stale_temps(p)
    identity = _matching_pair(cert_path, key_path, key_password)
    if identity is not None:
        # a .prev pair left by an interrupted write is not needed any more (and holds an old private key)
        _unlink_quiet(previous_path(key_path))
        _unlink_quiet(previous_path(cert_path))
        return identity
    prev = _matching_pair(previous_path(cert_path), previous_path(key_path), key_password)
    if prev is None:
        if _read(cert_path) is None or _read(key_path) is None:
            raise RenewalError(f"cannot read the certificate {cert_path!r} and key {key_path!r}")
        raise RenewalError(f"the key {key_path!r} does not match the certificate {cert_path!r} "
                           "(or cannot be read) and no previous pair is available")
    log.warning("%s and %s do not match: restoring the previous pair (an interrupted renewal)", cert_path, key_path)
    save_pair(cert_path, key_path, prev.cert_pem, prev.key_pem, key_password=key_password, cert_mode=cert_mode)
    _unlink_quiet(previous_path(key_path))
    _unlink_quiet(previous_path(cert_path))
    return prev


# ---------------------------------------------------------------------------------------------------- CSR


class _RenewalCsr(CsrBuilder):
    """A CsrBuilder whose subject is the certificate's Name, byte for byte (RFC 7030 §4.2.2: the Subject and
    subjectAltName of a re-enrollment request must be identical to the certificate being renewed)."""

    def __init__(self, subject: Any) -> None:
        super().__init__()
        self._renewal_subject = subject

    def _subject_name(self) -> Any:
        return self._renewal_subject


def renewal_csr_for(certificate: Any, *, copy_extensions: bool = False) -> CsrBuilder:
    """A CSR builder without a key for re-enrolling ``certificate`` (a ``cryptography`` certificate): its
    subject byte for byte and its subjectAltName (with ``copy_extensions`` also keyUsage and extendedKeyUsage),
    as RFC 7030 §4.2.2 wants. Give it a key with ``key_type`` or ``with_key`` (any signer, a token key too)."""
    from estcodec.x509 import Certificate

    builder = _RenewalCsr(certificate.subject)
    wanted = {_SAN, _KU, _EKU} if copy_extensions else {_SAN}
    for ext in Certificate.from_der(certificate.public_bytes(serialization.Encoding.DER)).extensions:
        if ext.oid in wanted:
            builder.add_extension(ext.oid, bytes(ext.value), critical=bool(ext.critical))
    return builder


def renewal_csr(identity: ClientIdentity, config: RenewalConfig) -> CsrBuilder:
    """A CSR builder for re-enrolling ``identity``: same subject and subjectAltName (and, with
    ``copy_extensions``, keyUsage and extendedKeyUsage), a new key of ``config.key_type`` (default: the current
    key's type) or, with ``new_key=False``, the current key."""
    builder = renewal_csr_for(identity.certificate, copy_extensions=config.copy_extensions)
    # ClientIdentity reads any key cryptography loads; one the CSR builder cannot sign with is refused there
    current_key = cast("SoftwarePrivateKey", identity.private_key())
    if config.new_key:
        builder.key_type(config.key_type or key_type_of(current_key))
        builder.signer  # noqa: B018 - generates the key now (in the caller's worker thread for the async scheduler)
    else:
        builder.with_key(current_key)
    return builder


# ---------------------------------------------------------------------------------------------------- flow

_Flow = Generator[Any, Any, Any]  # a flow of the client's engine (estclient.flows)


class _Core:
    """State and flow shared by both schedulers."""

    def __init__(self, client: Any, config: RenewalConfig, cert_path: Any, key_path: Any) -> None:
        if not isinstance(config, RenewalConfig):
            raise TypeError("config must be a RenewalConfig")
        self.client = client
        self.config = config
        self.cert_path: str = os.fspath(cert_path)
        self.key_path: str = os.fspath(key_path)

    def _load(self) -> ClientIdentity:
        return load_identity(self.cert_path, self.key_path, key_password=self.config.key_password,
                             cert_mode=self.config.cert_mode)

    def _save(self, identity: ClientIdentity) -> None:
        try:
            save_pair(self.cert_path, self.key_path, identity.cert_pem, identity.key_pem,
                      key_password=self.config.key_password, cert_mode=self.config.cert_mode)
        except OSError as exc:
            raise RenewalError(f"cannot write the renewed pair: {exc.strerror or exc}") from None

    def _needs_identity(self, identity: ClientIdentity) -> bool:
        current = self.client.config.client_identity
        return current is None or current.cert_pem != identity.cert_pem or current.key_pem != identity.key_pem

    def _emit(self, event: RenewalEvent) -> _Flow:
        """Give ``event`` to the callback (a coroutine function is awaited by the async client); what it raises
        is logged and ignored."""
        cb = self.config.event_callback
        if cb is None:
            return
        try:
            yield F.Call(cb, (event,))
        except Exception:
            _report_callback_error()

    def flow(self, force: bool) -> _Flow:
        cfg = self.config
        yield from self._emit(CheckStarted())
        identity: ClientIdentity = yield F.Call(self._load, (), blocking=True)
        if self._needs_identity(identity):
            yield F.UseIdentity(identity)
        expires_at = identity.certificate.not_valid_after_utc
        now = _dt.datetime.now(_dt.timezone.utc)
        remaining = (expires_at - now).total_seconds()
        due = remaining <= cfg.renewal_threshold if cfg.policy is None else cfg.policy.due(identity.certificate, now)
        keep = resumable(cfg.pending_dir, self.client)  # where the request waits for a later check, or None
        pending = (yield F.Call(saved_request, (keep, cfg.key_password), blocking=True)) if keep else None
        if not due and not force and pending is None:
            log.debug("certificate %s valid for %.0f s more: no renewal", self.cert_path, remaining)
            return None
        if remaining <= 0:
            log.warning("certificate %s expired %.0f s ago; the server may refuse to re-enroll with it",
                        self.cert_path, -remaining)
        log.info("certificate %s expires at %s: renewing", self.cert_path, expires_at.isoformat())
        yield from self._emit(RenewalNeeded(expires_at))
        yield from self._emit(RenewalStarted())
        if pending is not None:
            log.info("resuming the re-enrollment saved %s in %s", pending.created, pending.directory)
        else:
            builder = yield F.Call(renewal_csr, (identity, cfg), blocking=True)
            if keep and builder.signer.exportable:  # a token key stays on its token: not saved
                pending = yield F.Call(save_request, (keep, builder, cfg.key_password), blocking=True)
        csr: Any = pending.csr_der if pending is not None else builder
        new_key: Any = as_signer(pending.private_key()) if pending is not None else builder.signer

        def reenroll(config: Any, state: F.FlowState) -> F.Flow:  # /simplereenroll, an operation of its own
            return F.enroll(config, state, csr, reenroll=True)

        last_error: BaseException | None = None
        attempts = cfg.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                wait = PendingWait(cfg.max_pending_wait, what="re-enrollment", limit_name="max_pending_wait",
                                   min_delay=getattr(self.client.config, "min_retry_delay", DEFAULT_MIN_RETRY_DELAY))
                result = yield F.Operation(reenroll)
                while not hasattr(result, "certificate"):  # Pending: repeat the same request later
                    delay = wait.next_delay(result.retry_after)
                    log.info("re-enrollment pending: repeating in %.0f s", delay)
                    yield from self._emit(RenewalPending(delay))
                    if (yield F.Sleep(delay)):
                        raise _Stopped
                    result = yield F.Operation(reenroll)
                new_identity = _issue_pair(result, new_key, identity, cfg.key_password)
                yield F.Call(self._save, (new_identity,), blocking=True)
                if pending is not None:
                    yield F.Call(pending.discard, (), blocking=True)  # the new pair is in place
                yield F.UseIdentity(new_identity)
                log.info("renewed %s: serial %x, valid until %s", self.cert_path,
                         result.certificate.serial_number, result.certificate.not_after.isoformat())
                yield from self._emit(RenewalSucceeded(result.certificate))
                return result.certificate
            except EstError as exc:
                last_error = exc
                retry_in = cfg.retry_delay(attempt) if attempt < attempts else None
                if retry_in is None:
                    log.warning("renewal attempt %d/%d failed: %s", attempt, attempts, exc)
                else:
                    log.warning("renewal attempt %d/%d failed: %s; retrying in %.1f s", attempt, attempts, exc,
                                retry_in)
                yield from self._emit(RenewalFailed(exc, attempt, retry_in))
                if retry_in is not None and (yield F.Sleep(retry_in)):
                    raise _Stopped from None
        assert last_error is not None
        if pending is not None and _refuses_request(last_error):
            # the server refused this very request: the next due check starts afresh rather than re-send it
            log.warning("the server refused the saved re-enrollment request; removing it from %s", pending.directory)
            yield F.Call(pending.discard, (), blocking=True)
        log.error("renewal of %s failed after %d attempts; keeping the current pair", self.cert_path, attempts)
        yield from self._emit(RenewalExhausted(last_error))
        raise last_error


def _report_callback_error() -> None:
    log.exception("renewal event callback raised; ignored")


# ---------------------------------------------------------------------------------------------------- sync


class _SchedulerViews:
    """What both schedulers show of their shared core (:class:`_Core`)."""

    _core: _Core

    @property
    def client(self) -> Any:
        """The client the scheduler renews through (an :class:`~estclient.EstClient` for
        :class:`RenewalScheduler`, an :class:`~estclient.AsyncEstClient` for :class:`AsyncRenewalScheduler`),
        switched to each renewed pair."""
        return self._core.client

    @property
    def config(self) -> RenewalConfig:
        """The :class:`RenewalConfig` given."""
        return self._core.config

    @property
    def cert_path(self) -> str:
        """Where the certificate (PEM) is read from and each renewed one written."""
        return self._core.cert_path

    @property
    def key_path(self) -> str:
        """Where the private key (PEM) is read from and each new one written (0600, atomically)."""
        return self._core.key_path


class RenewalScheduler(_SchedulerViews):
    """Renews the pair at ``cert_path``/``key_path`` through ``client`` (an :class:`~estclient.EstClient`) in a
    background thread. :meth:`start` begins checking (the first check runs at once), :meth:`stop` ends it
    promptly (waits are interrupted at once; a request in flight finishes first, bounded by the client's
    timeout). :meth:`check_now` runs one check in the calling thread. A context manager (start/stop).

    The scheduler switches ``client`` to the pair on disk (and to each renewed pair): while it runs, use the
    client from one thread at a time.
    """

    def __init__(self, client: Any, config: RenewalConfig, cert_path: str | Path, key_path: str | Path) -> None:
        self._core = _Core(client, config, cert_path, key_path)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> RenewalScheduler:
        """Start checking in a background daemon thread (the first check runs at once); returns the scheduler.
        Does nothing when it is already running."""
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="estclient-renewal", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the background thread and wait for it (at most ``timeout`` seconds, if given)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if thread is not None and not thread.is_alive():
            self._thread = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` is called (e.g. from a signal handler); True if it was."""
        return self._stop.wait(timeout)

    def __enter__(self) -> RenewalScheduler:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def check_now(self, *, force: bool = False) -> Any:
        """Check once (renewing if needed, or always with ``force``). Returns the new certificate
        (:class:`estcodec.x509.Certificate`), or None when no renewal was needed or the scheduler was stopped
        meanwhile. When every attempt fails, raises the last error (after RenewalExhausted)."""
        if not self.running:
            self._stop.clear()  # a stopped scheduler can still be asked to check once
        with self._lock:
            try:
                return self._core.client._run(self._core.flow(force), stop=self._stop)
            except _Stopped:
                return None

    def _loop(self) -> None:
        log.info("renewal scheduler started for %s (every %.1f s)", self._core.cert_path, self.config.check_interval)
        while not self._stop.is_set():
            try:
                self.check_now()
            except EstError as exc:
                log.warning("renewal check failed: %s", exc)
            except Exception:  # a bug must not end the daemon silently
                log.exception("renewal check crashed")
            if self._stop.wait(self.config.check_interval):
                break
        log.info("renewal scheduler stopped")


# ---------------------------------------------------------------------------------------------------- async


class AsyncRenewalScheduler(_SchedulerViews):
    """The asyncio form of :class:`RenewalScheduler`, over an :class:`~estclient.AsyncEstClient`.

    ``start()`` (inside a running loop) creates the checking task; ``await stop()`` ends it; ``await run()``
    checks until stopped, in the caller's task; ``await check_now()`` checks once. Blocking work (key
    generation, file writes with fsync) runs in worker threads. ``async with`` starts and stops it.
    """

    def __init__(self, client: Any, config: RenewalConfig, cert_path: str | Path, key_path: str | Path) -> None:
        self._core = _Core(client, config, cert_path, key_path)
        self._stop: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None

    def _event(self) -> asyncio.Event:
        if self._stop is None:
            self._stop = asyncio.Event()
        return self._stop

    @property
    def running(self) -> bool:
        """True while the checking task started by :meth:`start` has not finished."""
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Start checking in a new task of the running loop (the first check runs at once)."""
        if self._task is not None and not self._task.done():
            return self._task
        self._event().clear()
        self._task = asyncio.get_running_loop().create_task(self.run(), name="estclient-renewal")
        return self._task

    async def stop(self, timeout: float | None = None) -> None:
        """Stop and wait for the task; after ``timeout`` seconds (if given) it is cancelled."""
        self._event().set()
        task = self._task
        if task is None or task is asyncio.current_task():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except asyncio.TimeoutError:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._task = None

    async def __aenter__(self) -> AsyncRenewalScheduler:
        self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    async def run(self) -> None:
        """Check every ``check_interval`` seconds until :meth:`stop`."""
        stop = self._event()
        log.info("renewal scheduler started for %s (every %.1f s)", self._core.cert_path, self.config.check_interval)
        while not stop.is_set():
            try:
                await self.check_now()
            except EstError as exc:
                log.warning("renewal check failed: %s", exc)
            except Exception:
                log.exception("renewal check crashed")
            if await self._wait(self.config.check_interval):
                break
        log.info("renewal scheduler stopped")

    async def check_now(self, *, force: bool = False) -> Any:
        """As :meth:`RenewalScheduler.check_now`."""
        if not self.running:
            self._event().clear()
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                return await self._core.client._run(self._core.flow(force), stop=self._event())
            except _Stopped:
                return None

    async def _wait(self, seconds: float) -> bool:
        stop = self._event()
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
