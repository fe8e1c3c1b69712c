"""The transport seam: how the flow engine gets one EST request across and its answer back.

The engine (:mod:`estclient._engine`) decides everything that is EST: which connection a request needs (the
shared pool, or a connection of the operation's own for channel binding), whether credentials go with it
(verified TLS only), the operation's total deadline, the one retry after a dropped kept-alive connection. A
transport only moves bytes:

- :class:`Transport` / :class:`AsyncTransport` open a :class:`Channel` / :class:`AsyncChannel` for a TLS
  context: a pool of up to ``max_connections`` connections to the EST server (one for a pinned connection).
- :meth:`Channel.send` sends one :class:`~estclient.protocol.EstRequest` under a
  :class:`~estclient._deadline.Deadline` and returns :class:`Received`: the status, headers and body (read
  under the client's size cap), and the :class:`~estclient.tls.ConnectionInfo` of the connection it came on
  (TLS version, the ``tls-unique`` channel-binding value, the peer's certificate chain). It raises
  :class:`~estclient.errors.EstError` subclasses only, or :class:`StaleConnection` when the request may be
  sent once more on a fresh connection.

HTTP over httpx is the one implementation today (:mod:`estclient._transport_httpx`); nothing above this module
imports httpx. A new transport (EST over CoAP, RFC 9148; a test transport) is one class of each kind.
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .errors import EstError
from .protocol import EstRequest, EstResponse
from .tls import ConnectionInfo

if TYPE_CHECKING:
    from ._deadline import Deadline
    from .config import HttpAuth

__all__ = ["Received", "StaleConnection", "Channel", "AsyncChannel", "Transport", "AsyncTransport"]


@dataclass(frozen=True)
class Received:
    """One response as the flows see it: the response, the connection it came on, and whether the server closed
    (or announced closing) that connection."""

    response: EstResponse
    connection: ConnectionInfo = field(default_factory=lambda: ConnectionInfo(None, None))
    closed: bool = False


class StaleConnection(Exception):
    """The request failed before any answer because the connection had been dropped (a kept-alive connection
    the server closed meanwhile): the engine sends it once more on a fresh connection, unless the deadline was
    reached; ``error`` is what the caller gets when it does not."""

    def __init__(self, error: EstError) -> None:
        super().__init__(str(error))
        self.error = error


class Channel(Protocol):
    """Connections to the EST server made with one TLS context (synchronous)."""

    def send(self, request: EstRequest, credentials: HttpAuth | None, deadline: Deadline) -> Received:
        """Send ``request`` (attaching ``credentials`` when given) and return the complete answer."""
        ...

    def close(self) -> None:
        """Close every connection of the channel."""
        ...


class AsyncChannel(Protocol):
    """The asynchronous form of :class:`Channel`."""

    async def send(self, request: EstRequest, credentials: HttpAuth | None, deadline: Deadline) -> Received:
        """As :meth:`Channel.send`."""
        ...

    async def aclose(self) -> None:
        """Close every connection of the channel."""
        ...


class Transport(Protocol):
    """Opens channels to one EST server (synchronous)."""

    def open(self, context: ssl.SSLContext, max_connections: int) -> Channel:
        """A new channel over TLS with ``context``, holding at most ``max_connections`` connections."""
        ...


class AsyncTransport(Protocol):
    """Opens channels to one EST server (asynchronous)."""

    def open(self, context: ssl.SSLContext, max_connections: int) -> AsyncChannel:
        """As :meth:`Transport.open` (opening makes no connection yet, so it is not a coroutine)."""
        ...
