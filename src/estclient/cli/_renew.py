"""``est renew``: renew the TLS client identity (--cert/--key) once, or watch it (--watch), through
:class:`estclient.renewal.RenewalScheduler`."""
from __future__ import annotations

import argparse
import logging
import re
import threading
from pathlib import Path
from typing import Any

from .. import errors as E
from .._stop import stop_on_sigterm, wait_for_stop
from ._errors import EXIT_OK, EXIT_USAGE, CliError, exit_code_for
from ._output import Output, cert_lines
from ._request import make_client
from ._settings import make_config, resolve_settings

__all__ = ["cmd_renew", "parse_duration"]

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, what: str) -> float:
    """``"90"``, ``"90s"``, ``"15m"``, ``"12h"``, ``"30d"``, ``"1w"`` -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text).lower())
    if not m:
        raise CliError(EXIT_USAGE, f"{what}: not a duration (e.g. 90s, 15m, 12h, 30d): {text!r}")
    value = float(m.group(1)) * _UNITS[m.group(2)]
    if value <= 0:
        raise CliError(EXIT_USAGE, f"{what} must be positive")
    return value


class _CliPolicy:
    """``est renew``'s renewal policy: ``--threshold`` alone when given (as before), else a third of the
    lifetime (:class:`estclient.renewal.RenewalPolicy`). A threshold not shorter than a certificate's lifetime
    would renew it at every check: that is said once per certificate, and a certificate this run issued itself
    is then renewed by the fraction instead, so ``--watch`` does not renew in a loop."""

    def __init__(self, threshold: float | None, text: str | None, out: Output) -> None:
        from ..renewal import RenewalPolicy

        self.policy = RenewalPolicy(threshold=threshold, fraction=None) if threshold else RenewalPolicy()
        self.fallback = RenewalPolicy()
        self.text = text
        self.out = out
        self.issued_here: set[int] = set()
        self._warned: set[int] = set()

    def due(self, cert: Any, now: Any) -> bool:
        from ..errors import ConfigError

        try:
            return self.policy.due(cert, now)
        except ConfigError as exc:
            serial = cert.serial_number
            mine = serial in self.issued_here
            if serial not in self._warned:
                self._warned.add(serial)
                then = ("renewing the certificate this run issued when a third of its lifetime is left instead"
                        if mine else "every run renews it")
                self.out.note(f"est renew: warning: --threshold {self.text}: {exc}; {then}")
            return self.fallback.due(cert, now) if mine else True


def cmd_renew(args: argparse.Namespace) -> int:
    """Renew --cert/--key once when they near expiry, or keep watching them (--watch)."""
    from ..resume import pending_dir_for
    from ..renewal import (
        CheckStarted,
        RenewalConfig,
        RenewalExhausted,
        RenewalFailed,
        RenewalNeeded,
        RenewalPending,
        RenewalScheduler,
        RenewalStarted,
        RenewalSucceeded,
    )

    out = Output(args)
    settings = resolve_settings(args)
    if not (settings.cert and settings.key):
        raise CliError(EXIT_USAGE, "renew needs the identity to renew: --cert FILE --key FILE")
    threshold = parse_duration(args.threshold, "--threshold") if args.threshold else None
    interval = parse_duration(args.check_interval, "--check-interval")
    first_delay = parse_duration(args.retry_delay, "--retry-delay")
    if args.max_retries < 0:
        raise CliError(EXIT_USAGE, "--max-retries must be 0 or more")
    from .._keyspec import is_pkcs11_uri
    from ._keys import key_password

    if is_pkcs11_uri(settings.key):
        return _renew_on_token(args, out, settings, threshold)
    events: list[dict[str, Any]] = []

    def on_event(ev: Any) -> None:
        if isinstance(ev, CheckStarted):
            text = f"checking {settings.cert}"
        elif isinstance(ev, RenewalNeeded):
            text = f"renewal needed: the certificate expires at {ev.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        elif isinstance(ev, RenewalStarted):
            text = "re-enrolling (/simplereenroll) with the current identity"
        elif isinstance(ev, RenewalPending):
            text = f"pending (HTTP 202): next try in {ev.retry_after:.0f}s"
        elif isinstance(ev, RenewalFailed):
            nxt = f"; next try in {ev.retry_in:.1f}s" if ev.retry_in is not None else "; no tries left"
            text = f"attempt {ev.attempt} failed: {' '.join(str(ev.error).split())}{nxt}"
        elif isinstance(ev, RenewalSucceeded):
            text = (f"renewed: serial {format(ev.certificate.serial_number, 'x')}, valid until "
                    f"{ev.certificate.not_after:%Y-%m-%d %H:%M:%S} UTC; written to {settings.cert} and {settings.key}")
        elif isinstance(ev, RenewalExhausted):
            events.append({"event": type(ev).__name__, "message": "every attempt failed"})
            return  # said once, by the error line
        else:
            text = type(ev).__name__
        events.append({"event": type(ev).__name__, "message": text})
        out.note(f"est renew: {text}")

    policy = _CliPolicy(threshold, args.threshold, out)

    def on_event_and_policy(ev: Any) -> None:
        if isinstance(ev, RenewalSucceeded):
            policy.issued_here.add(ev.certificate.serial_number)
        on_event(ev)

    config = make_config(settings)
    rconf = RenewalConfig(renewal_threshold=threshold or 1, check_interval=interval, max_retries=args.max_retries,
                          initial_retry_delay=first_delay, event_callback=on_event_and_policy,
                          new_key=not args.same_key, policy=policy,
                          key_password=key_password(args),  # an encrypted key file stays encrypted
                          # the new key and request wait in <cert>.pending/ until issued: a renewal the server
                          # holds pending (202) past the wait is completed by the next est renew, same request
                          pending_dir=str(pending_dir_for(settings.cert)))
    # each event is printed once, above: the renewal module's own log lines would repeat them (without a handler
    # of its own, Python's last-resort handler prints its warnings on stderr)
    logging.getLogger("estclient.renewal").addHandler(logging.NullHandler())
    with make_client(args, config) as client:
        scheduler = RenewalScheduler(client, rconf, settings.cert, settings.key)
        if not args.watch:
            try:
                cert = scheduler.check_now()
            except E.EstError as exc:
                if any(e["event"] == "RenewalExhausted" for e in events):  # each failure was printed already
                    raise CliError(exit_code_for(exc), f"all {args.max_retries + 1} attempts failed (see above): "
                                                       "keeping the current certificate and key") from None
                raise
            if cert is None:
                current = config.client_identity.certificate
                rule = f"threshold {args.threshold}" if threshold else "a third of its lifetime"
                out.info(f"no renewal needed: {settings.cert} is valid until "
                         f"{current.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC (renewal at {rule} left)")
            else:
                out.info("renewed:")
                for line in cert_lines(cert):
                    out.info(line)
            out.result({"operation": "renew", "renewed": cert is not None, "events": events})
            return EXIT_OK
        rule = args.threshold if threshold else "a third of the lifetime"
        with stop_on_sigterm() as stop:
            out.note(f"est renew: watching {settings.cert} every {args.check_interval} "
                     f"(renew {rule} before expiry); Ctrl-C stops")
            scheduler.start()
            try:
                wait_for_stop(stop)
            finally:
                scheduler.stop()
        out.note("est renew: stopped")
        return EXIT_OK


def _renew_on_token(args: argparse.Namespace, out: Output, settings: Any, threshold: float | None) -> int:
    """``est renew --key pkcs11:...``: renew the token key's certificate when it is due (once, or with --watch
    at every --check-interval), through :func:`estclient.pkcs11.renew_on_token`: the new key made on the token
    under the same label, the old pair removed only after the new certificate is stored there and written to
    --cert. A token key cannot be the TLS client key, so the re-enrollment is authenticated by HTTP credentials
    (docs/hardware-keys.md). A failed attempt is retried --max-retries times after --retry-delay (doubling)."""
    from ._keys import TLS_TOKEN_KEY, load_signer

    if not settings.user:
        raise CliError(EXIT_USAGE, TLS_TOKEN_KEY)
    if args.same_key:
        raise CliError(EXIT_USAGE, "a renewal on a token always makes a new key there: drop --same-key")
    interval = parse_duration(args.check_interval, "--check-interval")
    first_delay = parse_duration(args.retry_delay, "--retry-delay")
    renewer = _TokenRenewer(args, out, settings, load_signer(args, settings.key), _CliPolicy(threshold,
                                                                                             args.threshold, out))
    rule = f"threshold {args.threshold}" if threshold else "a third of its lifetime"
    if not args.watch:
        renewed = renewer.with_retries(first_delay, threading.Event())   # nothing stops a single attempt
        if renewed is None:
            failure = renewer.error if renewer.error is not None else E.EstError("renewal failed")
            raise CliError(exit_code_for(failure), f"all {args.max_retries + 1} attempts failed (see above): "
                                                         "keeping the current certificate and key")
        if renewed is False:
            out.info(f"no renewal needed: the token key's certificate is valid until "
                     f"{renewer.current.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC (renewal at {rule} left)")
        out.result({"operation": "renew", "renewed": renewed, "token_key": renewer.signer.uri, "events": []})
        return EXIT_OK
    with stop_on_sigterm() as stop:
        out.note(f"est renew: watching the token key {renewer.signer.uri} every {args.check_interval} "
                 f"(renew at {rule} left); Ctrl-C stops")
        try:
            while not stop.is_set():
                renewer.with_retries(first_delay, stop)
                if stop.wait(interval):
                    break
        except KeyboardInterrupt:
            pass
    out.note("est renew: stopped")
    return EXIT_OK


class _TokenRenewer:
    """The state of ``est renew --key pkcs11:...``: the current token signer and certificate, one renewal
    attempt at a time."""

    def __init__(self, args: argparse.Namespace, out: Output, settings: Any, signer: Any, policy: _CliPolicy) -> None:
        self.args, self.out, self.settings, self.signer, self.policy = args, out, settings, signer, policy
        self.current: Any = None
        self.error: BaseException | None = None

    def _current(self) -> Any:
        """The certificate beside the key on the token, else that of --cert (which must be the key's)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert = self.signer.certificate()
        if cert is not None:
            return cert
        try:
            cert = x509.load_pem_x509_certificates(Path(self.settings.cert).read_bytes())[0]
        except (OSError, ValueError, IndexError):
            raise CliError(EXIT_USAGE, f"{self.settings.cert}: cannot read the current certificate (PEM)") from None
        der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if cert.public_key().public_bytes(der, spki) != self.signer.public_key().public_bytes(der, spki):
            raise CliError(EXIT_USAGE, f"{self.settings.key} is not the key of the certificate in {self.settings.cert}")
        return cert

    def attempt(self) -> bool:
        """Renew when due; True when renewed, False when not due."""
        import datetime as dt

        from cryptography.hazmat.primitives import serialization
        from estcodec.x509 import Certificate

        from ..pkcs11 import renew_on_token

        self.current = self._current()
        if not self.policy.due(self.current, dt.datetime.now(dt.timezone.utc)):
            return False
        if self.signer.certificate() is None:  # renew_on_token reads the certificate beside the key
            self.signer.store_certificate(self.current)
            self.out.note(f"est renew: stored the certificate of {self.settings.cert} on the token beside its key")
        self.out.note("est renew: re-enrolling (/simplereenroll) with a new key on the token, authenticated by "
                      "HTTP credentials (a token key cannot be the TLS client key)")
        config = make_config(self.settings, token_identity=True)
        with make_client(self.args, config) as client:
            new = renew_on_token(client, self.signer, cert_path=self.settings.cert, allow_without_identity=True)
        self.args.opened_token_keys.append(new)
        self.signer = new
        self.current = cert = new.certificate()
        assert cert is not None  # renew_on_token stored it
        self.policy.issued_here.add(cert.serial_number)
        say = self.out.note if self.args.watch else self.out.info
        say("est renew: renewed (the new key is on the token, the old pair removed):")
        for line in cert_lines(Certificate.from_der(cert.public_bytes(serialization.Encoding.DER))):
            say(line)
        return True

    def with_retries(self, first_delay: float, stop: threading.Event) -> bool | None:
        """:meth:`attempt`, retried ``--max-retries`` times after a failure (the delay doubling); None when every
        attempt failed (each failure printed, the last kept in :attr:`error`) or ``stop`` was set."""
        delay = first_delay
        for n in range(self.args.max_retries + 1):
            try:
                return self.attempt()
            except CliError:
                raise
            except E.EstError as exc:
                self.error = exc
                last = n == self.args.max_retries
                nxt = "; no tries left" if last else f"; next try in {delay:.1f}s"
                self.out.note(f"est renew: attempt {n + 1} failed: {' '.join(str(exc).split())}{nxt}")
                if last or stop.wait(delay):
                    return None
                delay *= 2
        return None
