"""The flow engine: the one driver loop of :class:`~estclient.EstClient` and :class:`~estclient.AsyncEstClient`.

A flow (:mod:`estclient.flows`) yields commands; :meth:`FlowEngine._engine_run` carries them out, written once
for both clients, the way httpx runs one ``auth_flow`` for its sync and async clients. Everything the clients
decide lives here: which connection a request takes (the shared pool, or one of the operation's own for channel
binding), the refusal of an unverified connection once anchors are trusted, credentials over verified TLS only,
the operation's total deadline (from its first request, a new one after each wait), the one retry after a
dropped kept-alive connection, the release of the operation's queue slot while it waits, what the bootstrap and
an identity change close, and which connections an operation leaves open.

``_engine_run`` is itself a generator: where it needs I/O it yields one of the small requests below (take a
slot, transmit on a channel, pause, close channels, call a function), and a thin adapter executes it,
:meth:`FlowEngine._drive_sync` with blocking calls and :meth:`FlowEngine._drive_async` with ``await``. A failure
of such a request is thrown back into the engine at the point that asked for it, so cleanup is also written once.
Requests go through the transport seam (:mod:`estclient.transport`); nothing here imports httpx.
"""
from __future__ import annotations

import inspect
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator, Generic, TypeVar, Union, cast

from . import flows as F
from ._deadline import Deadline, expired
from ._limits import AsyncSlots, ThreadSlots
from .config import EstClientConfig
from .errors import TlsConfigError
from .protocol import EstRequest
from .tls import create_ssl_context
from .transport import AsyncChannel, AsyncTransport, Channel, Received, StaleConnection, Transport

if TYPE_CHECKING:
    import asyncio

    from .config import ClientIdentity, HttpAuth

__all__ = ["FlowEngine", "Stopped"]

T = TypeVar("T")
C = TypeVar("C", Channel, AsyncChannel)
#: What stops an interruptible wait (a renewal scheduler's stop event): ``threading.Event`` for the sync client,
#: ``asyncio.Event`` for the async one.
StopEvent = Union[threading.Event, "asyncio.Event"]


class Stopped(Exception):
    """Thrown into a flow that asks for an operation after its run was asked to stop."""


# ---------------------------------------------------------------------------------- what the adapters execute


@dataclass(frozen=True)
class _Acquire:
    """Take a place in the client's queue of operations (see _limits)."""


@dataclass(frozen=True)
class _Transmit(Generic[C]):
    channel: C
    request: EstRequest
    credentials: HttpAuth | None
    deadline: Deadline


@dataclass(frozen=True)
class _Pause:
    seconds: float
    stop: StopEvent | None  # result: True when ``stop`` was set (the wait ended early)


@dataclass(frozen=True)
class _Close(Generic[C]):
    channels: tuple[C, ...]


@dataclass(frozen=True)
class _Invoke:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    blocking: bool


_Io = Union[_Acquire, _Transmit[Any], _Pause, _Close[Any], _Invoke]
_Run = Generator[_Io, Any, T]
_ACQUIRE = _Acquire()


class FlowEngine(Generic[C]):
    """What both clients share: the configuration, the state flows learn, TLS contexts, the main channel, and
    the driver loop. The subclasses add the connection bookkeeping of their kind (``_pinned_of``, ``_begin``,
    ``_end``, ``_drop_all``) and their public operations."""

    _transport: Transport | AsyncTransport
    _client: C | None
    _slots: ThreadSlots | AsyncSlots  # the client's queue of operations (see _limits)

    def __init__(self, config: EstClientConfig) -> None:
        if not isinstance(config, EstClientConfig):
            raise TypeError("config must be an EstClientConfig")
        self.config = config
        self._state = F.FlowState()
        self._contexts: dict[tuple[bool, bool], ssl.SSLContext] = {}
        self._client = None  # the main channel (the shared pool), opened on first use
        self._retired: list[C] = []  # main channels of earlier identities, closed with the client
        self._stale: list[C] = []  # channels to close at the next operation (they could not be closed then)

    def set_client_identity(self, identity: ClientIdentity | None) -> None:
        """Use another TLS client identity from the next operation on (automatic renewal does this after a
        re-enrollment): later operations open new connections with it. Requests already under way finish on
        their old connections, which are closed with the client."""
        import dataclasses

        self.config = dataclasses.replace(self.config, client_identity=identity)
        self._contexts.clear()
        if self._client is not None:  # made with the old identity's context; others may still be using it
            self._retired.append(self._client)
            self._client = None

    # ------------------------------------------------------------------------------------------- contexts
    def _verified(self) -> bool:
        assert self.config.trust is not None
        return self.config.trust.verified or self._state.anchors_pem is not None

    def _context(self, *, tls12_only: bool = False, verify: bool = True) -> ssl.SSLContext:
        if verify and not self._verified():
            raise TlsConfigError("no verified trust anchors yet: the bootstrap has not completed")
        key = (tls12_only, verify)
        ctx = self._contexts.get(key)
        if ctx is None:
            if verify:
                ctx = create_ssl_context(
                    self.config.trust, self.config.client_identity, max_tls12=tls12_only,
                    anchors_pem=self._state.anchors_pem,
                )
            else:  # bootstrap /cacerts: unverified, and carrying nothing (no client certificate)
                ctx = create_ssl_context(self.config.trust, None, max_tls12=tls12_only)
            self._contexts[key] = ctx
        return ctx

    def _open(self, context: ssl.SSLContext, max_connections: int) -> C:
        return self._transport.open(context, max_connections)  # type: ignore[return-value]

    def _main(self) -> C:
        if self._client is None:
            ctx = self._context(tls12_only=self.config.channel_binding == "require")
            self._client = self._open(ctx, self.config.max_connections)
        return self._client

    def _credentials(self, send: F.Send) -> HttpAuth | None:
        cfg = self.config
        if not send.auth or cfg.http_auth is None or not send.verify or not self._verified():
            return None  # credentials only over verified TLS (RFC 7030 §3.2.3, §3.6)
        return cfg.http_auth

    # ----------------------------------------------------------------- connection bookkeeping (subclasses)
    def _new_op(self) -> F.FlowState | None:
        """The state an operation's flow is made with, when it differs from the client's (async)."""
        return None

    def _pinned_of(self, op: F.FlowState | None) -> dict[tuple[bool, bool], C]:
        raise NotImplementedError  # pragma: no cover

    def _begin(self, op: F.FlowState | None) -> None:
        """The operation got its slot; its flow starts next."""

    def _end(self, op: F.FlowState | None, pinned: dict[tuple[bool, bool], C], ok: bool) -> list[C]:
        """The operation ended (``ok``: with a result): the channels to close now."""
        raise NotImplementedError  # pragma: no cover

    def _drop_all(self) -> list[C]:
        """Forget every channel (bootstrap done, identity changed, client closed): the ones to close."""
        channels = [c for c in (self._client,) if c is not None] + self._retired + self._stale
        self._client = None
        self._retired = []
        self._stale = []
        return channels

    # ---------------------------------------------------------------------------------------- the loop
    def _engine_run(self, flow: F.Flow, op: F.FlowState | None = None,
                    stop: StopEvent | None = None) -> _Run[Any]:
        """Carry out ``flow`` (made with ``op``, its own state, or the client's) and return its result."""
        pinned = self._pinned_of(op)
        ok = closing = held = False
        deadline: Deadline | None = None  # operation_timeout: from the first request, new after each wait
        result: Any = None
        error: BaseException | None = None
        if self._stale:
            stale, self._stale = self._stale, []
            yield _Close(tuple(stale))
        yield _ACQUIRE  # a place in the client's own FIFO queue, before the flow reads any state
        held = True
        try:
            self._begin(op)
            while True:
                try:
                    command = flow.throw(error) if error is not None else flow.send(result)
                except StopIteration as done:
                    ok = True
                    return done.value
                result, error = None, None
                if isinstance(command, F.Send):
                    if not held:  # after a call or a nested operation
                        yield _ACQUIRE
                        held = True
                    if deadline is None:
                        deadline = Deadline(self.config.operation_timeout)
                    result = yield from self._send(command, pinned, deadline)
                    continue
                if isinstance(command, F.UseAnchors):
                    # the next request opens a new, verified session: every connection made so far is closed
                    self._contexts.clear()
                    channels = list(pinned.values())
                    pinned.clear()
                    channels += self._drop_all()
                    if op is not None:
                        op.bound = None
                    yield _Close(tuple(channels))
                    continue
                if held:  # no slot is held while waiting, working or running a nested operation
                    self._release()
                    held = False
                deadline = None
                if isinstance(command, F.Sleep):
                    result = yield _Pause(max(0.0, command.seconds), stop)
                    yield _ACQUIRE  # the flow goes on holding a slot again
                    held = True
                elif isinstance(command, F.UseIdentity):
                    self.set_client_identity(command.identity)
                    yield _Close(tuple(self._drop_all()))
                elif isinstance(command, F.Call):
                    try:
                        result = yield _Invoke(command.fn, command.args, command.blocking)
                    except Exception as exc:
                        error = exc
                elif isinstance(command, F.Operation):
                    if stop is not None and stop.is_set():
                        error = Stopped()
                        continue
                    sub = self._new_op()
                    try:
                        result = yield from self._engine_run(command.make(self.config, sub or self._state), sub, stop)
                    except Exception as exc:
                        error = exc
                else:  # pragma: no cover
                    raise AssertionError(f"unknown flow command {command!r}")
        except GeneratorExit:  # the adapter was abandoned: nothing more can be awaited
            closing = True
            raise
        finally:
            if held:
                self._release()
            flow.close()
            channels = self._end(op, pinned, ok)  # after a failure, every connection of the operation is closed
            if channels:
                if closing:
                    self._stale.extend(channels)
                else:
                    yield _Close(tuple(channels))

    def _send(self, send: F.Send, pinned: dict[tuple[bool, bool], C], deadline: Deadline) -> _Run[Received]:
        if not send.verify and self._verified():  # never unverified once anchors are trusted
            raise TlsConfigError("refused: an unverified connection after the bootstrap completed")
        if send.pinned or not send.verify:
            key = (send.tls12_only, send.verify)
            channel = pinned.get(key)
            if channel is None:
                channel = pinned[key] = self._open(self._context(tls12_only=send.tls12_only, verify=send.verify), 1)
        else:
            channel = self._main()
        credentials = self._credentials(send)
        for attempt in (0, 1):
            if deadline.left() <= 0:
                deadline.hit = True
                raise expired(deadline)
            try:
                received: Received = yield _Transmit(channel, send.request, credentials, deadline)
                return received
            except StaleConnection as exc:
                if attempt == 0 and not deadline.hit:
                    continue  # the server had closed the pooled connection: once more on a fresh one
                raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _release(self) -> None:
        self._slots.release()

    # ------------------------------------------------------------------------------------- the adapters
    def _send_on(self, channel: Channel, transmit: _Transmit[Channel]) -> Received:
        """Where every request of the sync client goes out (``transmit.request`` is the EstRequest); a subclass
        may look at what comes back (the CLI keeps the Full PKI Response for ``--response-out``)."""
        return channel.send(transmit.request, transmit.credentials, transmit.deadline)

    async def _asend_on(self, channel: AsyncChannel, transmit: _Transmit[AsyncChannel]) -> Received:
        """As :meth:`_send_on`, for the async client."""
        return await channel.send(transmit.request, transmit.credentials, transmit.deadline)

    def _drive_sync(self, run: _Run[T]) -> T:
        """Execute ``run`` with blocking calls."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                io = run.throw(error) if error is not None else run.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(io, _Transmit):
                    value = self._send_on(io.channel, io)
                elif isinstance(io, _Acquire):
                    cast(ThreadSlots, self._slots).acquire()
                elif isinstance(io, _Pause):
                    if io.stop is None:
                        time.sleep(io.seconds)
                        value = False
                    else:
                        value = cast(threading.Event, io.stop).wait(io.seconds)
                elif isinstance(io, _Close):
                    for channel in io.channels:
                        channel.close()
                elif isinstance(io, _Invoke):
                    value = io.fn(*io.args)
                    if inspect.isawaitable(value):
                        raise TypeError("a coroutine function needs the asynchronous client")
            except BaseException as exc:  # thrown back into the engine, where it was asked for
                error = exc

    async def _drive_async(self, run: _Run[T]) -> T:
        """Execute ``run`` with ``await``."""
        import asyncio  # loaded only by the async client (always loaded by then: a loop runs)

        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                io = run.throw(error) if error is not None else run.send(value)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(io, _Transmit):
                    value = await self._asend_on(io.channel, io)
                elif isinstance(io, _Acquire):
                    await cast(AsyncSlots, self._slots).acquire()
                elif isinstance(io, _Pause):
                    if io.stop is None:
                        await asyncio.sleep(io.seconds)
                        value = False
                    else:
                        try:
                            await asyncio.wait_for(cast(asyncio.Event, io.stop).wait(), io.seconds)
                            value = True
                        except asyncio.TimeoutError:
                            value = False
                elif isinstance(io, _Close):
                    for channel in io.channels:
                        await channel.aclose()
                elif isinstance(io, _Invoke):
                    if io.blocking:
                        value = await asyncio.to_thread(io.fn, *io.args)
                    else:
                        value = io.fn(*io.args)
                        if inspect.isawaitable(value):
                            value = await value
            except BaseException as exc:  # thrown back into the engine, where it was asked for
                error = exc
