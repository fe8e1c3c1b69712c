"""The renewal agent (``est agent --config FILE``): keeps one certificate alive.

Each round the agent

1. enrolls (``/simpleenroll``) when no certificate exists yet, from ``[certificate]``: the key and the request are
   saved first (:mod:`estclient.resume`), so a pending (202) enrollment survives a restart and is re-sent;
2. otherwise renews (``/simplereenroll``, through :class:`~estclient.renewal.RenewalScheduler`) when the
   :class:`~estclient.renewal.RenewalPolicy` of ``[renewal]`` says the certificate is due, or at once when the
   optional revocation check reports it revoked; the new pair replaces the old atomically
   (:func:`~estclient.renewal.save_pair`), so a crash at any step leaves a working pair;
3. runs the deploy hooks of ``[hooks]`` after each new pair (paths in the environment, each with a timeout); a
   failing hook is reported and retried later, and never touches the pair;
4. updates the metrics of ``[metrics]`` and sleeps until the next check (or the next retry, with a backoff
   bounded by ``max_retry_delay``).

systemd: READY=1 after the first round, WATCHDOG=1 while it runs (when ``WatchdogSec`` is set), STOPPING=1 at the
end. SIGTERM (and SIGINT) stop it cleanly (a wait is cut short; a request in flight ends within its timeout);
SIGHUP reloads the config file (an invalid file is reported and the running config kept).

Exit status of :meth:`Agent.run`: 0 after a stop, 2 for a configuration error (an unusable file, or a renewal
threshold not shorter than the certificate's lifetime). :meth:`Agent.run_once` does one round (for a timer).
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ._agent_support import configure_logging, run_hook, sd_notify, watchdog_interval
from .config_file import FileConfig, load_config
from .errors import ConfigError, EstError, PendingTimeout

__all__ = ["Agent", "RevocationCheck", "EXIT_STOPPED", "EXIT_CONFIG", "EXIT_FAILED"]

log = logging.getLogger("estclient.agent")

EXIT_STOPPED = 0
EXIT_FAILED = 1  # run_once: the round did not reach a valid certificate with its hooks run
EXIT_CONFIG = 2

#: ``revocation_check(identity) -> bool``: True when the certificate in use is revoked (renewed at once).
RevocationCheck = Callable[[Any], bool]

_MIN_SLEEP = 1.0


def _pem_certificates(data: bytes) -> list[Any]:
    """The certificates of a PEM file, as estcodec models."""
    from estcodec.pem import decode as pem_decode
    from estcodec.x509 import Certificate

    return [Certificate.from_der(der) for label, der in pem_decode(data) if label == "CERTIFICATE"]


class _RevocationHook:
    """The check ``[renewal] check_revocation`` selects: :class:`estclient.revocation.RevocationChecker` (OCSP,
    then the CRL, CRLs cached until nextUpdate) on the certificate in use and on the CA certificates above it
    (:meth:`~estclient.revocation.RevocationChecker.check_chain`), the path built from the chain in the certificate
    file and ``[trust] anchors``: a revoked certificate or intermediate CA renews at once."""

    def __init__(self, cfg: FileConfig) -> None:
        from .revocation import RevocationChecker

        self._checker = RevocationChecker()
        self._anchors = cfg.trust.anchors

    def __call__(self, identity: Any) -> bool:
        from estcodec import Error as CodecError
        from estcodec.pkix import chain_from, issued_by

        leaf, *given = _pem_certificates(identity.cert_pem)
        anchors = []
        if self._anchors:
            try:
                anchors = _pem_certificates(Path(self._anchors).read_bytes())
            except (OSError, CodecError):
                pass
        # the path up from the certificate, each issuer found by name and signature, up to a self-issued one or
        # the last issuer at hand: every certificate of it but the top one is checked against its issuer
        path = chain_from(leaf, [*given, *anchors], match=issued_by)
        if len(path) < 2:
            raise EstError("revocation check: the issuer of the certificate is neither in the certificate file "
                           "nor in [trust] anchors")
        statuses = self._checker.check_chain(path)
        for cert, status in zip(path, statuses):
            what = "certificate" if cert is leaf else f"CA certificate {cert.subject.rfc4514_string()}"
            if status.unknown and cert is leaf:
                log.warning("revocation status unknown: %s", status.describe(), extra={"event": "revocation_unknown"})
            if status.revoked:
                log.warning("%s revoked: %s", what, status.describe(), extra={"event": "revoked"})
        return any(status.revoked for status in statuses)

    def close(self) -> None:
        """Close the checker's HTTP connections."""
        self._checker.close()


class Agent:
    """Keeps the certificate of one config file alive. ``config_path`` (default: the search order of
    :func:`~estclient.config_file.find_config`) or a ready ``config``; ``environ`` serves ``${VAR}``, the search
    and systemd's variables; ``revocation_check`` overrides the one ``check_revocation`` selects;
    ``configure_logs=False`` leaves logging alone (embedding, tests)."""

    def __init__(self, config_path: str | os.PathLike[str] | None = None, *, config: FileConfig | None = None,
                 environ: dict[str, str] | None = None, revocation_check: RevocationCheck | None = None,
                 configure_logs: bool = True) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._path = os.fspath(config_path) if config_path is not None else None
        self._revocation_override = revocation_check
        self._configure_logs = configure_logs
        self._stop = threading.Event()  # set once: stop
        self._wake = threading.Event()  # set on stop and on reload: cuts the sleep between rounds short
        self._reload = threading.Event()
        self._scheduler: Any = None
        self._revocation: RevocationCheck | None = None
        self._client: Any = None
        self.metrics: Any = None
        self.metrics_port: int | None = None
        self.rounds = 0
        self.reloads = 0
        self._failures = 0
        self._hooks_due: str | None = None  # the event whose hooks still have to run ("enrolled", "renewed")
        self._hook_attempts = 0
        self.config = self._check(config) if config is not None else self._read_config()
        self._apply(self.config, first=True)

    # ------------------------------------------------------------------------------------------ control

    def stop(self) -> None:
        """Ask the agent to stop (thread-safe; from a signal handler use :meth:`_on_signal`)."""
        self._stop.set()
        self._wake.set()
        sched = self._scheduler
        if sched is not None:
            sched.stop()

    def request_reload(self) -> None:
        """Ask the agent to re-read its config file before the next round."""
        self._reload.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (or SIGTERM received)."""
        return self._stop.is_set()

    def _on_signal(self, signum: int, frame: Any) -> None:  # noqa: ARG002
        # Event.set takes a lock the interrupted code may hold: hand the work to a thread.
        target = self.request_reload if signum == getattr(signal, "SIGHUP", None) else self.stop
        threading.Thread(target=target, name="estclient-agent-signal", daemon=True).start()

    # ------------------------------------------------------------------------------------------ config

    def _read_config(self) -> FileConfig:
        return self._check(load_config(self._path, environ=self._environ))

    @staticmethod
    def _check(cfg: FileConfig) -> FileConfig:
        if not (cfg.storage.cert and cfg.storage.key):
            raise ConfigError(f"{cfg.path}: the agent needs [storage] cert and key")
        cfg.renewal_policy()  # checked now: fraction/threshold usable
        cfg.csr_builder()  # names and usages checked now
        return cfg

    @property
    def name(self) -> str:
        """The certificate's name: ``[certificate] name``, else the certificate file's stem."""
        return self.config.certificate.name or Path(self.config.storage.cert or "certificate").stem

    def _apply(self, cfg: FileConfig, *, first: bool = False) -> None:
        """Make ``cfg`` the running configuration: logging, metrics, revocation check, a new client."""
        if self._configure_logs:
            configure_logging(cfg.logging.level, cfg.logging.format)
        if cfg.renewal.check_revocation:
            self._close_revocation()
            self._revocation = self._revocation_override or _RevocationHook(cfg)
        else:
            self._close_revocation()
            self._revocation = None
        old_metrics = self.metrics
        wants_metrics = bool(cfg.metrics.listen or cfg.metrics.textfile)
        name = cfg.certificate.name or Path(cfg.storage.cert or "certificate").stem
        same_endpoint = (old_metrics is not None and not first and old_metrics.name == name
                         and cfg.metrics.listen == self.config.metrics.listen)
        if not same_endpoint:
            if old_metrics is not None:
                old_metrics.stop()
            self.metrics, self.metrics_port = None, None
            if wants_metrics:
                from .metrics import AgentMetrics

                self.metrics = AgentMetrics(name)
                if cfg.metrics.listen:
                    self.metrics_port = self.metrics.serve(cfg.metrics.listen)
        if self._client is not None:
            self._client.close()
            self._client = None
        self.config = cfg

    def _do_reload(self) -> None:
        self._reload.clear()
        try:
            cfg = self._read_config()
            self._apply(cfg)
        except (ConfigError, EstError) as exc:
            log.error("config reload failed, keeping the running config: %s", exc, extra={"event": "reload_failed"})
            return
        self.reloads += 1
        self._failures = 0
        log.info("config reloaded from %s", cfg.path, extra={"event": "reloaded"})

    # ------------------------------------------------------------------------------------------ waiting

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` (pinging the watchdog); True when the agent is stopping."""
        end = time.monotonic() + seconds
        ping = watchdog_interval(self._environ)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return self._stop.is_set()
            if self._stop.wait(min(left, ping) if ping else left):
                return True
            if ping:
                sd_notify("WATCHDOG=1", self._environ)

    def _idle(self, seconds: float) -> None:
        """The sleep between rounds: cut short by stop and reload."""
        end = time.monotonic() + seconds
        ping = watchdog_interval(self._environ)
        while not self._wake.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            if self._wake.wait(min(left, ping) if ping else left):
                break
            if ping:
                sd_notify("WATCHDOG=1", self._environ)

    # ------------------------------------------------------------------------------------------ rounds

    def run(self, *, install_signals: bool = True) -> int:
        """Run rounds until :meth:`stop` (or SIGTERM); returns the exit status. Signal handlers are installed
        when called from the main thread (and ``install_signals``)."""
        previous: dict[int, Any] = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
                if sig is not None:
                    previous[sig] = signal.signal(sig, self._on_signal)
        log.info("agent started for %s (config %s)", self.name, self.config.path, extra={"event": "started"})
        status = EXIT_STOPPED
        ready = False
        try:
            while not self._stop.is_set():
                if self._reload.is_set():
                    self._do_reload()
                try:
                    delay = self.round()
                except ConfigError as exc:
                    log.error("stopping: %s", exc, extra={"event": "config_error"})
                    status = EXIT_CONFIG
                    break
                except Exception:  # a bug must not end the agent silently, nor make it spin
                    log.exception("round crashed", extra={"event": "round_crashed"})
                    self._failures += 1
                    delay = self._backoff()
                if not ready:
                    sd_notify("READY=1", self._environ)
                    ready = True
                sd_notify(f"STATUS={self._status_line()}", self._environ)
                if self._stop.is_set():
                    break
                self._wake.clear()
                if self._stop.is_set():
                    break
                self._idle(delay)
        finally:
            sd_notify("STOPPING=1", self._environ)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.close()
            log.info("agent stopped", extra={"event": "stopped"})
        return status

    def run_once(self) -> int:
        """One round (enroll or renew if needed, hooks, metrics) and return: 0 when a valid certificate is in
        place and its hooks ran, 1 otherwise, 2 for a configuration error."""
        try:
            self.round()
        except ConfigError as exc:
            log.error("%s", exc, extra={"event": "config_error"})
            return EXIT_CONFIG
        finally:
            self.close()
        return EXIT_FAILED if self._failures or self._hooks_due else EXIT_STOPPED

    def _close_revocation(self) -> None:
        closer = getattr(self._revocation, "close", None)
        if callable(closer):
            closer()

    def close(self) -> None:
        """Close the client, stop the metrics endpoint, write the textfile one last time."""
        self._close_revocation()
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.metrics is not None:
            self._write_textfile()
            self.metrics.stop()

    def round(self) -> float:
        """One round; returns the seconds until the next. ConfigError ends the agent."""
        from .renewal import RenewalError, load_identity

        self.rounds += 1
        cfg = self.config
        cert_path, key_path = str(cfg.storage.cert), str(cfg.storage.key)
        delay = cfg.renewal.check_interval
        failed = True
        try:
            saved = self._pending_operation()
            if saved == "enroll" or not (os.path.exists(cert_path) or os.path.exists(cert_path + ".prev")):
                self._enroll()
            else:
                load_identity(cert_path, key_path, cert_mode=cfg.storage.cert_mode)  # repairs an interrupted write
                self._renew_if_due(resume=saved == "reenroll")
            self._failures = 0
            failed = False
        except PendingTimeout as exc:
            if self.metrics is not None:
                self.metrics.attempt("pending")
            log.warning("enrollment still pending (%s); resuming at the next round", exc, extra={"event": "pending"})
            self._failures += 1
            delay = min(delay, cfg.renewal.max_pending_wait or delay, self._backoff())
        except ConfigError:
            raise
        except (EstError, RenewalError) as exc:
            self._failures += 1
            delay = min(delay, self._backoff())
            log.warning("round failed (%s); next try in %.1f s", exc, delay, extra={"event": "round_failed"})
        if self._hooks_due and not self._stop.is_set():
            if not self._run_hooks():
                delay = min(delay, cfg.hooks.retry_delay)
        if not failed:  # after a failure the backoff decides, even for a certificate that is overdue
            delay = min(delay, self._until_due())
        self._update_metrics()
        return max(delay, _MIN_SLEEP)

    def _backoff(self) -> float:
        r = self.config.renewal
        return min(r.retry_delay * 2.0 ** max(self._failures - 1, 0), r.max_retry_delay)

    def _client_for(self, identity: Any) -> Any:
        from .client import EstClient

        if self._client is None:
            self._client = EstClient(self.config.client_config(identity))
        elif identity is not None:
            self._client.set_client_identity(identity)
        return self._client

    # ------------------------------------------------------------------------------------------ enroll

    def _pending_dir(self) -> Path:
        from .resume import pending_dir_for

        cfg = self.config
        return Path(cfg.storage.pending_dir) if cfg.storage.pending_dir else pending_dir_for(str(cfg.storage.cert))

    def _pending_operation(self) -> str | None:
        # what a request saved by an earlier round (or process) is for: an enrollment or a renewal to complete
        from .resume import PendingEnrollment

        return PendingEnrollment.operation_in(self._pending_dir())

    def _enroll(self) -> None:
        from .resume import PendingEnrollment, complete_enrollment

        cfg = self.config
        client = self._client_for(None)
        directory = self._pending_dir()
        if PendingEnrollment.exists(directory):
            pending = PendingEnrollment.load(directory)
            log.info("resuming the pending enrollment saved %s", pending.created, extra={"event": "resuming"})
        else:
            builder = cfg.csr_builder()
            if cfg.certificate.use_csrattrs:
                try:
                    builder.with_attributes(client.get_csr_attributes())
                except EstError as exc:
                    log.info("no CSR attributes from the server (%s): using [certificate] as it is", exc)
            pending = PendingEnrollment.start(builder, directory)
            log.info("no certificate at %s: enrolling", cfg.storage.cert, extra={"event": "enrolling"})
        metrics = self.metrics
        try:
            if metrics is not None:
                with metrics.timed("enroll"):
                    identity = complete_enrollment(client, pending, str(cfg.storage.cert), str(cfg.storage.key),
                                                   max_wait=cfg.renewal.max_pending_wait,
                                                   cert_mode=cfg.storage.cert_mode, wait=self._sleep)
            else:
                identity = complete_enrollment(client, pending, str(cfg.storage.cert), str(cfg.storage.key),
                                               max_wait=cfg.renewal.max_pending_wait,
                                               cert_mode=cfg.storage.cert_mode, wait=self._sleep)
        except PendingTimeout:
            raise
        except EstError:
            if metrics is not None:
                metrics.attempt("failure")
            raise
        if metrics is not None:
            metrics.attempt("success")
        cert = identity.certificate
        log.info("enrolled %s: serial %x, valid until %s", cfg.storage.cert, cert.serial_number,
                 cert.not_valid_after_utc.isoformat(), extra={"event": "enrolled", "certificate": self.name})
        self._client_for(identity)
        self._new_pair("enrolled")

    # ------------------------------------------------------------------------------------------ renew

    def _renew_if_due(self, *, resume: bool = False) -> None:
        from .renewal import RenewalConfig, RenewalScheduler, load_identity

        cfg = self.config
        identity = load_identity(str(cfg.storage.cert), str(cfg.storage.key), cert_mode=cfg.storage.cert_mode)
        policy = cfg.renewal_policy()
        policy.check(identity.certificate)  # a threshold that would renew at every round: refused (ConfigError)
        force = False
        if self._revocation is not None:
            try:
                force = bool(self._revocation(identity))
            except EstError as exc:
                log.warning("revocation check failed: %s", exc, extra={"event": "revocation_check_failed"})
            if force:
                log.warning("certificate %s is revoked: renewing now", cfg.storage.cert,
                            extra={"event": "revoked", "certificate": self.name})
        if resume:
            log.info("resuming the renewal saved in %s", self._pending_dir(), extra={"event": "resuming"})
        elif not force and not policy.due(identity.certificate):
            return
        # the new key and request are saved before the first send (pending_dir): a 202 wait cut short, a stop or a
        # restart resumes with the same request (RFC 7030 §4.2.3)
        rconf = RenewalConfig(renewal_threshold=1, check_interval=cfg.renewal.check_interval,
                              max_retries=cfg.renewal.max_retries, initial_retry_delay=cfg.renewal.retry_delay,
                              max_retry_delay=cfg.renewal.max_retry_delay,
                              max_pending_wait=cfg.renewal.max_pending_wait, new_key=cfg.renewal.new_key,
                              cert_mode=cfg.storage.cert_mode, policy=policy, event_callback=self._on_event,
                              pending_dir=str(self._pending_dir()))
        client = self._client_for(identity)
        self._scheduler = RenewalScheduler(client, rconf, str(cfg.storage.cert), str(cfg.storage.key))
        if self._stop.is_set():
            return
        try:
            if self.metrics is not None:
                with self.metrics.timed("reenroll"):
                    cert = self._scheduler.check_now(force=force)
            else:
                cert = self._scheduler.check_now(force=force)
        finally:
            self._scheduler = None
        if cert is not None:
            self._new_pair("renewed")

    def _on_event(self, event: Any) -> None:
        # The renewal module logs each of its events once; the agent only counts them.
        from .renewal import RenewalFailed, RenewalPending, RenewalSucceeded

        if self.metrics is None:
            return
        if isinstance(event, RenewalSucceeded):
            self.metrics.attempt("success")
        elif isinstance(event, RenewalFailed):
            self.metrics.attempt("failure")
        elif isinstance(event, RenewalPending):
            self.metrics.attempt("pending")

    # ------------------------------------------------------------------------------------------ hooks

    def _new_pair(self, event: str) -> None:
        self._hooks_due = event if self.config.hooks.deploy else None
        self._hook_attempts = 0

    def _run_hooks(self) -> bool:
        """Run every deploy command; True when all succeeded. After ``max_attempts`` failed rounds the hooks
        are given up until the next new pair (reported once more)."""
        cfg = self.config
        event = self._hooks_due or "renewed"
        env = {"EST_CERT_PATH": str(cfg.storage.cert), "EST_KEY_PATH": str(cfg.storage.key),
               "EST_CERT_NAME": self.name, "EST_EVENT": event}
        self._hook_attempts += 1
        ok = True
        for argv in cfg.hooks.deploy:
            if self.metrics is not None:
                with self.metrics.timed("hook"):
                    result = run_hook(argv, env, cfg.hooks.timeout)
            else:
                result = run_hook(argv, env, cfg.hooks.timeout)
            if result.ok:
                log.info("deploy hook %s: done", argv[0], extra={"event": "hook_ok"})
                continue
            ok = False
            if self.metrics is not None:
                self.metrics.hook_failed()
            log.error("deploy hook %s failed (%s); attempt %d of %d", argv[0], result.detail, self._hook_attempts,
                      cfg.hooks.max_attempts, extra={"event": "hook_failed"})
        if ok:
            self._hooks_due = None
        elif self._hook_attempts >= cfg.hooks.max_attempts:
            log.error("deploy hooks still failing after %d attempts: giving up until the next new pair; the pair "
                      "is in place", self._hook_attempts, extra={"event": "hooks_given_up"})
            self._hooks_due = None
            self._failures = max(self._failures, 1)
        return ok

    # ------------------------------------------------------------------------------------------ metrics

    def _current_certificate(self) -> Any:
        from cryptography import x509

        try:
            data = Path(str(self.config.storage.cert)).read_bytes()
            return x509.load_pem_x509_certificate(data)
        except (OSError, ValueError):
            return None

    def _until_due(self) -> float:
        cert = self._current_certificate()
        if cert is None:
            return self.config.renewal.check_interval
        renew_at = self.config.renewal_policy().renew_at(cert)
        return max((renew_at - _dt.datetime.now(_dt.timezone.utc)).total_seconds(), _MIN_SLEEP)

    def _update_metrics(self) -> None:
        if self.metrics is None:
            return
        cert = self._current_certificate()
        if cert is not None:
            self.metrics.set_certificate(cert, self.config.renewal_policy().renew_at(cert).timestamp())
        self._write_textfile()

    def _write_textfile(self) -> None:
        if self.metrics is not None and self.config.metrics.textfile:
            try:
                self.metrics.write_textfile(self.config.metrics.textfile)
            except ConfigError as exc:
                log.warning("%s", exc, extra={"event": "metrics_write_failed"})

    def _status_line(self) -> str:
        cert = self._current_certificate()
        if cert is None:
            return "no certificate yet"
        return f"{self.name} valid until {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
