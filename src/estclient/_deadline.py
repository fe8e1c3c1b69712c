"""A total deadline for one operation's exchanges (``EstClientConfig.operation_timeout``), for every transport.

Per-step timeouts bound each connect, read and write on its own, so a server that sends one byte just before
each read timeout could hold a request for ever. The engine (:mod:`estclient._engine`) gives each operation one
:class:`Deadline`, from its first request (a new one after each 202 wait), and hands it to the transport with
every request; a transport runs the exchange under it (:meth:`Deadline.active` sets a context variable), so that
every socket step gets at most the time left before it. The httpx transport does this by wrapping its
connection pool's network backend (:mod:`estclient._transport_httpx`). Nothing here imports httpx.
"""
from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar
from typing import Iterator

from .errors import TransportError

__all__ = ["Deadline", "current_deadline", "expired"]

_current: ContextVar["Deadline | None"] = ContextVar("estclient_deadline", default=None)


class Deadline:
    """``seconds`` from now on the monotonic clock; ``hit`` turns True when it cut a network step short."""

    __slots__ = ("seconds", "at", "hit")

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.at = time.monotonic() + self.seconds
        self.hit = False

    def left(self) -> float:
        return self.at - time.monotonic()

    @contextlib.contextmanager
    def active(self) -> Iterator["Deadline"]:
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


def current_deadline() -> Deadline | None:
    """The deadline the running exchange is under (None outside one)."""
    return _current.get()


def expired(deadline: Deadline) -> TransportError:
    """The error of an operation whose total deadline was reached."""
    return TransportError(
        f"total deadline reached: the exchange took longer than operation_timeout ({deadline.seconds:g} s)"
    )
