"""When a certificate is due for renewal, relative to its lifetime (re-exported by :mod:`estclient.renewal`).

A :class:`RenewalPolicy` renews when the time left falls below a fraction of the certificate's whole lifetime
(default one third) or below an absolute threshold, whichever comes first. A threshold that is not shorter than
the lifetime would make a certificate due the moment it is issued (and renewed at every check): the policy
refuses it with :class:`~estclient.errors.ConfigError` instead of renewing in a loop.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import ConfigError

__all__ = ["RenewalPolicy", "DuePolicy", "format_duration"]


def format_duration(seconds: float) -> str:
    """``2592000`` -> ``"30d"``, ``5400`` -> ``"1h30m"``, ``59.5`` -> ``"59.5s"`` (for messages)."""
    if seconds < 60:
        return f"{seconds:g}s"
    parts = []
    rest = int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts[:2])


def _lifetime(cert: Any) -> tuple[_dt.datetime, _dt.datetime]:
    """(notBefore, notAfter) of a ``cryptography`` or ``estcodec`` certificate, as aware UTC datetimes."""
    before = getattr(cert, "not_valid_before_utc", None)
    after = getattr(cert, "not_valid_after_utc", None)
    if before is None or after is None:  # an estcodec.x509.Certificate
        before, after = cert.not_before, cert.not_after
    return before, after


class DuePolicy(Protocol):
    """What :class:`~estclient.renewal.RenewalConfig` asks of a policy."""

    def due(self, cert: Any, now: _dt.datetime) -> bool:
        """True when ``cert`` should be renewed at ``now``."""
        ...


@dataclass(frozen=True)
class RenewalPolicy:
    """Renew when the remaining lifetime is at most ``fraction`` of the whole (notAfter - notBefore) or at most
    ``threshold`` seconds, whichever comes first. ``fraction`` is in (0, 1) or None (threshold only);
    ``threshold`` is positive seconds (or a timedelta) or None (fraction only); at least one is given.

    :meth:`check` refuses (ConfigError) a threshold that is not shorter than a certificate's lifetime;
    :meth:`due` applies that check first, so such a certificate is never renewed in a loop.
    """

    fraction: float | None = 1 / 3
    threshold: float | None = None

    def __post_init__(self) -> None:
        fraction, threshold = self.fraction, self.threshold
        if fraction is not None:
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
                raise ConfigError("renewal fraction must be a number between 0 and 1 (e.g. 0.33)")
            object.__setattr__(self, "fraction", float(fraction))
        if isinstance(threshold, _dt.timedelta):
            threshold = threshold.total_seconds()
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1e12:
                raise ConfigError("renewal threshold must be a positive number of seconds")
            object.__setattr__(self, "threshold", float(threshold))
        if self.fraction is None and self.threshold is None:
            raise ConfigError("a renewal policy needs a fraction of the lifetime, a threshold, or both")

    def check(self, cert: Any) -> None:
        """Raise ConfigError when the threshold would make ``cert`` due right after its issuance."""
        before, after = _lifetime(cert)
        lifetime = (after - before).total_seconds()
        if self.threshold is not None and self.threshold >= lifetime:
            raise ConfigError(
                f"renewal threshold {format_duration(self.threshold)} is not shorter than the certificate's "
                f"lifetime ({format_duration(max(lifetime, 0))}): it would be renewed right after every issuance; "
                "use a shorter threshold or a fraction of the lifetime"
            )

    def margin(self, cert: Any) -> float:
        """Seconds before notAfter at which ``cert`` becomes due."""
        before, after = _lifetime(cert)
        lifetime = max((after - before).total_seconds(), 0.0)
        by_fraction = lifetime * self.fraction if self.fraction is not None else 0.0
        return max(by_fraction, self.threshold or 0.0)

    def renew_at(self, cert: Any) -> _dt.datetime:
        """The moment ``cert`` becomes due (aware UTC)."""
        return _lifetime(cert)[1] - _dt.timedelta(seconds=self.margin(cert))

    def due(self, cert: Any, now: _dt.datetime | None = None) -> bool:
        """True when ``cert`` should be renewed at ``now`` (default: the current time). Raises ConfigError as
        :meth:`check` does."""
        self.check(cert)
        now = now or _dt.datetime.now(_dt.timezone.utc)
        return now >= self.renew_at(cert)
