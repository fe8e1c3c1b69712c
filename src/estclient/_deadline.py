"""A total deadline for one operation's exchanges (``EstClientConfig.operation_timeout``), for both drivers.

httpx's timeouts bound each connect, read and write on its own, so a server that sends one byte just before
each read timeout could hold a request for ever. Here the drivers run every exchange under a
:class:`Deadline` (a context variable), and the connection pool's network backend is wrapped so that every
socket step (TCP connect, TLS handshake, each read and write) gets at most the time left before it; when none
is left the step fails at once with httpcore's timeout error, and the driver reports the deadline. The same
wrapper serves the sync (:class:`httpcore.NetworkBackend`) and async (:class:`httpcore.AsyncNetworkBackend`)
pools; connections made before a deadline was set (pooled ones) obey the deadline of the exchange using them.
"""
from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar
from typing import Any, Iterator

import httpcore
import httpx

__all__ = ["Deadline", "current_deadline", "sync_transport", "async_transport"]

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


@contextlib.contextmanager
def _step(timeout: float | None, expired: type[Exception]) -> Iterator[float | None]:
    """The timeout one network step may use under the current deadline (if any)."""
    deadline = _current.get()
    if deadline is None:
        yield timeout
        return
    left = deadline.left()
    if left <= 0:
        deadline.hit = True
        raise expired("the total deadline of the operation was reached")
    if timeout is not None and timeout <= left:
        yield timeout
        return
    try:
        yield left
    except httpcore.TimeoutException:
        deadline.hit = True  # this step's timeout was the deadline's
        raise


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _step(timeout, httpcore.ReadTimeout) as t:
            return self._inner.read(max_bytes, t)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _step(timeout, httpcore.WriteTimeout) as t:
            self._inner.write(buffer, t)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        with _step(timeout, httpcore.ConnectTimeout) as t:
            return _Stream(self._inner.start_tls(ssl_context, server_hostname, t))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        with _step(timeout, httpcore.ConnectTimeout) as t:
            return _Stream(self._inner.connect_tcp(host, port, t, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:  # pragma: no cover - unused
        with _step(timeout, httpcore.ConnectTimeout) as t:
            return _Stream(self._inner.connect_unix_socket(path, t, socket_options))

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore sleeps only between its retries (off)
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _step(timeout, httpcore.ReadTimeout) as t:
            return await self._inner.read(max_bytes, t)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _step(timeout, httpcore.WriteTimeout) as t:
            await self._inner.write(buffer, t)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        with _step(timeout, httpcore.ConnectTimeout) as t:
            return _AsyncStream(await self._inner.start_tls(ssl_context, server_hostname, t))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()  # the async client runs on asyncio (anyio serves it)

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        with _step(timeout, httpcore.ConnectTimeout) as t:
            return _AsyncStream(await self._inner.connect_tcp(host, port, t, local_address, socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:  # pragma: no cover
        with _step(timeout, httpcore.ConnectTimeout) as t:
            return _AsyncStream(await self._inner.connect_unix_socket(path, t, socket_options))

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - see _Backend.sleep
        await self._inner.sleep(seconds)


def _pool_args(ctx: Any, limits: httpx.Limits) -> dict[str, Any]:
    return dict(ssl_context=ctx, max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry)


def _proxy_args(proxy: str) -> dict[str, Any]:
    """httpcore's HTTPProxy arguments for an ``http://[user:password@]host:port`` proxy URL (credentials go in
    ``proxy_auth``, never in the URL httpcore keeps)."""
    url = httpx.URL(proxy)
    auth = (url.username, url.password) if url.username else None
    return dict(proxy_url=f"{url.scheme}://{url.netloc.decode('ascii').rpartition('@')[2]}", proxy_auth=auth)


def sync_transport(ctx: Any, limits: httpx.Limits, proxy: str | None = None) -> httpx.HTTPTransport:
    """httpx's HTTP/1.1 transport over a connection pool whose sockets obey the current :class:`Deadline`.
    (httpx offers no argument for the pool's network backend, so its pool is replaced by an equal one that
    has it.) With ``proxy`` the pool tunnels each connection through that HTTP proxy (CONNECT)."""
    transport = httpx.HTTPTransport(verify=ctx, trust_env=False, limits=limits)
    if not hasattr(transport, "_pool"):  # pragma: no cover - an httpx that changed its inside
        raise RuntimeError("this httpx version is not supported: its transport has no connection pool")
    if proxy is not None:
        transport._pool = httpcore.HTTPProxy(network_backend=_Backend(), **_proxy_args(proxy),
                                             **_pool_args(ctx, limits))
    else:
        transport._pool = httpcore.ConnectionPool(network_backend=_Backend(), **_pool_args(ctx, limits))
    return transport


def async_transport(ctx: Any, limits: httpx.Limits, proxy: str | None = None) -> httpx.AsyncHTTPTransport:
    """The async counterpart of :func:`sync_transport`."""
    transport = httpx.AsyncHTTPTransport(verify=ctx, trust_env=False, limits=limits)
    if not hasattr(transport, "_pool"):  # pragma: no cover
        raise RuntimeError("this httpx version is not supported: its transport has no connection pool")
    if proxy is not None:
        transport._pool = httpcore.AsyncHTTPProxy(network_backend=_AsyncBackend(), **_proxy_args(proxy),
                                                  **_pool_args(ctx, limits))
    else:
        transport._pool = httpcore.AsyncConnectionPool(network_backend=_AsyncBackend(), **_pool_args(ctx, limits))
    return transport
