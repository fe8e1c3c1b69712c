"""The one 202 wait policy (RFC 7030 §4.2.3): how long to wait before repeating a pending request, and when to
stop. Used by ``enroll_and_wait`` (flows), the CLI's ``--max-wait`` and automatic renewal's 202 waits.

- The server's Retry-After (delay-seconds or an HTTP-date) is honoured. RFC 7030 §4.2.3 requires one with every
  202; a server that sends none gets :data:`DEFAULT_RETRY_AFTER` (30 s: long enough not to hammer a server that
  is waiting for a human, short enough that a budget of a minute still sees a second try). Before this module
  held the policy alone, the client waited 5 s and renewal 60 s.
- The budget counts elapsed time on the monotonic clock from the start, requests included (or the sum of the
  waits handed out, when that is more): a server that answers slowly cannot stretch it.
- Every wait is at least ``min_delay`` (1 s by default): ``Retry-After: 0`` or an HTTP-date in the past
  cannot turn polling into a busy loop.
- A wait that would end after the budget is not started: :class:`~estclient.errors.PendingTimeout` instead.
- ``on_wait(delay, attempt)``, when given, is told of each wait before it starts (the CLI shows its countdown
  there; within a flow it must return at once, since the flow's engine does the waiting).

So with ``max_wait`` M and floor F the request is sent at most ``M / F + 1`` times.
"""
from __future__ import annotations

import math
import time
from typing import Callable

from .errors import ConfigError, PendingTimeout

__all__ = ["DEFAULT_MIN_RETRY_DELAY", "DEFAULT_RETRY_AFTER", "MAX_WAIT_LIMIT", "PendingWait", "WaitHook",
           "check_min_retry_delay"]

#: The least a 202 wait lasts, whatever Retry-After says (seconds).
DEFAULT_MIN_RETRY_DELAY = 1.0
#: The longest budget a polling session takes (seconds): ten years.
MAX_WAIT_LIMIT = 10 * 365 * 86400.0
#: The wait after a 202 without a usable Retry-After (seconds).
DEFAULT_RETRY_AFTER = 30.0
#: ``on_wait(delay, attempt)``: told of each wait (seconds) and of the number of pending answers so far.
WaitHook = Callable[[float, int], None]


def check_min_retry_delay(value: object, what: str = "min_retry_delay") -> float:
    """``value`` as a float if it is a usable floor (a finite number > 0), else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise ConfigError(f"{what} must be a positive number of seconds")
    return float(value)


class PendingWait:
    """One polling session: :meth:`next_delay` after each 202 answer gives the seconds to wait before the
    request is repeated, or raises PendingTimeout when that wait would go past ``max_wait``."""

    def __init__(
        self,
        max_wait: float,
        *,
        min_delay: float = DEFAULT_MIN_RETRY_DELAY,
        default_delay: float = DEFAULT_RETRY_AFTER,
        what: str = "request",
        limit_name: str = "max_wait",
        clock: Callable[[], float] = time.monotonic,
        on_wait: WaitHook | None = None,
    ) -> None:
        if isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)) or not 0 <= max_wait <= MAX_WAIT_LIMIT:
            # finite: a wait is never longer than max_wait, and time.sleep() refuses ~1e10 s (OverflowError)
            raise ConfigError(f"max_wait must be a number of seconds from 0 to {MAX_WAIT_LIMIT:,.0f} (ten years)")
        self.max_wait = float(max_wait)
        self.min_delay = check_min_retry_delay(min_delay)
        self.default_delay = default_delay
        self.what = what
        self.limit_name = limit_name
        self._clock = clock
        self.on_wait = on_wait
        self._start = clock()
        self.attempts = 0  # pending answers seen so far
        self.waited = 0.0  # sum of the delays handed out

    @property
    def elapsed(self) -> float:
        """Seconds since the session started (monotonic clock)."""
        return self._clock() - self._start

    @property
    def left(self) -> float:
        """Seconds of the budget not used yet."""
        return max(0.0, self.max_wait - self.elapsed)

    def next_delay(self, retry_after: float | None) -> float:
        """The wait before the next try, given the server's Retry-After (seconds, or None); ``on_wait`` is
        called with it before it is returned."""
        self.attempts += 1
        delay = self.default_delay if retry_after is None else retry_after
        if not delay >= self.min_delay:  # also NaN
            delay = self.min_delay
        # the clock, or the sum of the waits handed out when that is more (a sleep cut short, a test's fake clock)
        elapsed = max(self.elapsed, self.waited)
        if elapsed + delay > self.max_wait:
            raise PendingTimeout(
                f"{self.what} still pending after {elapsed:.0f}s and {self.attempts} tries: the next try in "
                f"{delay:.0f}s would pass {self.limit_name} ({self.max_wait:g}s)",
                retry_after=retry_after,
            )
        self.waited += delay
        if self.on_wait is not None:
            self.on_wait(delay, self.attempts)
        return delay
