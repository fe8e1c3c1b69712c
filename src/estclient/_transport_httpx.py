"""HTTP over httpx behind the transport seam (:mod:`estclient.transport`): :class:`HttpxTransport` and
:class:`AsyncHttpxTransport`, the one place that knows httpx.

Each channel is an ``httpx.Client`` / ``httpx.AsyncClient`` whose connection pool's network backend obeys the
operation's :class:`~estclient._deadline.Deadline` (every TCP connect, TLS handshake, read and write gets at most
the time left before it; when none is left the step fails at once with httpcore's timeout error). A channel
streams each response body under the size cap (a 401's body only up to its first chunk), refuses content codings
the client did not ask for, reads the TLS version, tls-unique and peer chain of the connection a response came
on, answers Digest challenges with httpx's implementation (guarded: a challenge it cannot answer ends in
AuthenticationRequired) and maps httpx and ssl failures to :mod:`estclient.errors`.
"""
from __future__ import annotations

import contextlib
import ssl
from typing import Any, AsyncIterator, Generator, Iterator

import httpcore
import httpx

from . import protocol as P
from ._deadline import Deadline, current_deadline, expired
from .config import HttpAuth
from .errors import AuthenticationRequired, EstError, ProtocolError, TlsConfigError, TransportError
from .tls import ConnectionInfo, connection_info
from .transport import Received, StaleConnection

__all__ = ["HttpxTransport", "AsyncHttpxTransport", "HttpxChannel", "AsyncHttpxChannel"]

# a kept-alive connection the server closed before answering: the engine sends the request once more
_RETRYABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_MAX_401_HEAD = 2048  # bytes of a 401 body kept for its reason (the message keeps at most 1,000 characters)
_MAX_CHALLENGE_BODY = 64 * 1024
# TLS alerts a server sends about the client's certificate (OpenSSL reasons end in ALERT_<name>)
_CLIENT_CERT_ALERTS = ("UNKNOWN_CA", "BAD_CERTIFICATE", "ILLEGAL_PARAMETER", "CERTIFICATE_REQUIRED",
                       "UNSUPPORTED_CERTIFICATE", "CERTIFICATE_EXPIRED", "CERTIFICATE_REVOKED")


def _map_error(exc: BaseException, deadline: Deadline | None = None) -> EstError:
    """httpx/ssl failure -> EstError (messages carry no secrets: httpx messages hold no headers)."""
    if deadline is not None and deadline.hit and isinstance(exc, httpx.TimeoutException):
        return expired(deadline)
    if isinstance(exc, httpx.TimeoutException):
        # A read timeout can carry ssl.SSLWantReadError in its context chain: it is still a timeout, not TLS.
        return TransportError(f"timed out: {type(exc).__name__}")
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (ssl.SSLWantReadError, ssl.SSLWantWriteError)):
            cause = cause.__cause__ or cause.__context__
            continue
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = getattr(cause, "verify_message", None) or (cause.args[0] if cause.args else "") or cause
            return TlsConfigError(f"server certificate rejected: {detail}")
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or str(cause)
            hint = ""
            if "VERSION" in str(reason).upper() or "PROTOCOL" in str(reason).upper():
                hint = " (no TLS version in common; channel binding needs TLS 1.2)"
            elif any(str(reason).upper().endswith("ALERT_" + a) for a in _CLIENT_CERT_ALERTS):
                # an alert the server sent about our certificate: not a matter of trusting the server
                hint = (" (the server refused the TLS client certificate: check the certificate and key, that the "
                        "server trusts their issuer and accepts the key type)")
            return TlsConfigError(f"TLS handshake failed: {reason}{hint}")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return TransportError(f"timed out: {type(exc).__name__}")
    if isinstance(exc, httpx.TransportError):
        return TransportError(f"{type(exc).__name__}: {exc}")
    return TransportError(f"{type(exc).__name__}")


class _UnanswerableChallenge(Exception):
    """httpx's DigestAuth could not answer the server's challenge (``reason`` says what it lacks)."""

    def __init__(self, reason: str, challenge: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.challenge = challenge


def _digest_failure(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return 'qop="auth-int" is not supported (only qop="auth")'
    if isinstance(exc, KeyError):
        algorithm = str(exc.args[0]) if exc.args else "?"
        return f"algorithm {algorithm[:40]!r} is not supported (MD5, SHA, SHA-256, SHA-512 and their -sess forms are)"
    if isinstance(exc, UnicodeError):
        return "the challenge holds non-ASCII text (realm, nonce or opaque) that cannot go into a header"
    if isinstance(exc, httpx.ProtocolError):  # httpx's text: a missing realm or nonce, an unknown qop
        return f"the challenge is malformed or unsupported ({str(exc)[:100]})"
    return f"the challenge is malformed and cannot be read ({type(exc).__name__})"



def _content_coding(response: Any) -> str | None:
    """The response's content coding, or None for an uncoded body (the client asks for ``identity`` only, and a
    coded body can inflate a thousandfold before a size cap counts it)."""
    coding = response.headers.get("content-encoding", "identity").strip().lower()
    return None if coding in ("", "identity") else coding


class _ChallengeBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The body of a 401 challenge that httpx answers itself: httpx reads such a body whole, of any size (and
    decompressed), before sending the answer. It is not needed: it is read (so that the connection can serve
    the answer) only when its Content-Length is small and it is not compressed; otherwise it is not read at all,
    and closing it closes the connection instead of draining it."""

    def __init__(self, response: Any) -> None:
        self._inner = response.stream
        length = response.headers.get("content-length", "").strip()
        self._read = length.isdigit() and int(length) <= _MAX_CHALLENGE_BODY and _content_coding(response) is None

    def __iter__(self) -> Iterator[bytes]:
        if self._read:
            yield from self._inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._read:
            async for chunk in self._inner:
                yield chunk

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()


class _GuardedDigest(httpx.DigestAuth):
    """httpx's Digest implementation, unchanged, except that a challenge it cannot answer (it raises
    NotImplementedError, KeyError, UnicodeEncodeError, ... while reading or answering it) ends the exchange with
    :class:`_UnanswerableChallenge`, which the driver turns into AuthenticationRequired."""

    def auth_flow(self, request: httpx.Request) -> Any:
        flow = super().auth_flow(request)
        challenge = None
        try:
            outgoing = next(flow)
            while True:
                response = yield outgoing
                challenge = response.headers.get("www-authenticate")
                outgoing = flow.send(response)
                response.stream = _ChallengeBody(response)  # answered: its body is read only if small
        except StopIteration:
            return
        except (NotImplementedError, LookupError, UnicodeError, ValueError, TypeError, httpx.ProtocolError) as exc:
            raise _UnanswerableChallenge(_digest_failure(exc), challenge) from None
        finally:
            flow.close()


# ------------------------------------------------------------------------- sockets under the deadline


@contextlib.contextmanager
def _step(timeout: float | None, expired: type[Exception]) -> Iterator[float | None]:
    """The timeout one network step may use under the current deadline (if any)."""
    deadline = current_deadline()
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


def _sync_pool(ctx: Any, limits: httpx.Limits, proxy: str | None = None) -> httpx.HTTPTransport:
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


def _async_pool(ctx: Any, limits: httpx.Limits, proxy: str | None = None) -> httpx.AsyncHTTPTransport:
    """The async counterpart of :func:`_sync_pool`."""
    transport = httpx.AsyncHTTPTransport(verify=ctx, trust_env=False, limits=limits)
    if not hasattr(transport, "_pool"):  # pragma: no cover
        raise RuntimeError("this httpx version is not supported: its transport has no connection pool")
    if proxy is not None:
        transport._pool = httpcore.AsyncHTTPProxy(network_backend=_AsyncBackend(), **_proxy_args(proxy),
                                                  **_pool_args(ctx, limits))
    else:
        transport._pool = httpcore.AsyncConnectionPool(network_backend=_AsyncBackend(), **_pool_args(ctx, limits))
    return transport


# ------------------------------------------------------------------------------------------------ the channels


class _Settings:
    """What every channel of one client shares: the server, timeouts, size cap, headers and the Digest state."""

    def __init__(self, server_url: str, timeout: float, max_body_size: int, user_agent: str,
                 http_auth: HttpAuth | None, proxy: str | None = None,
                 headers: tuple[tuple[str, str], ...] = (), event_hooks: dict[str, list[Any]] | None = None) -> None:
        self.server_url = server_url
        self.proxy = proxy
        self.headers = headers
        self.event_hooks = event_hooks
        self.timeout_seconds = float(timeout)
        self.timeout = httpx.Timeout(timeout)
        self.max_body_size = max_body_size
        self.user_agent = user_agent
        self.http_auth = http_auth
        self.digest: httpx.DigestAuth | None = None
        self.new_digest()

    def new_digest(self) -> None:
        """A fresh Digest state (also after a challenge it could not answer: httpx keeps the last challenge)."""
        auth = self.http_auth
        if auth is not None and auth.scheme == "digest":
            self.digest = _GuardedDigest(auth.username, auth.password)

    def client_kwargs(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport) -> dict[str, Any]:
        extra: dict[str, Any] = {"event_hooks": self.event_hooks} if self.event_hooks else {}
        return dict(
            **extra,
            base_url=self.server_url,
            transport=transport,  # sockets obeying operation_timeout (see _Backend)
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,  # no proxies, netrc credentials or SSL_* variables from the environment
            # no content codings: a compressed body inflates by up to ~1000x before max_body_size can count it
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "identity", **dict(self.headers)},
        )

    def auth(self, credentials: HttpAuth | None) -> httpx.Auth | None:
        if credentials is None:
            return None
        if credentials.scheme == "digest":
            return self.digest
        return httpx.BasicAuth(credentials.username, credentials.password)

    def build(self, client: httpx.Client | httpx.AsyncClient, request: P.EstRequest,
              deadline: Deadline) -> httpx.Request:
        left = deadline.left()
        if left <= 0:
            deadline.hit = True
            raise httpx.PoolTimeout("the total deadline of the operation was reached")
        timeout = self.timeout
        if left < self.timeout_seconds:  # waiting for a pooled connection counts too
            timeout = httpx.Timeout(self.timeout_seconds, pool=left)
        return client.build_request(request.method, request.url or request.path, headers=dict(request.headers),
                                    content=request.body, timeout=timeout)

    def check_length(self, response: httpx.Response) -> None:
        coding = _content_coding(response)
        if coding is not None:
            raise ProtocolError(f"response body with content coding {coding[:40]!r}, which the client did not accept")
        cl = response.headers.get("content-length")
        if cl is not None:
            try:
                n = int(cl)
            except ValueError:
                raise ProtocolError("invalid Content-Length") from None
            if n > self.max_body_size:
                raise ProtocolError(f"response body of {n} bytes exceeds the limit of {self.max_body_size}")

    def too_big(self) -> ProtocolError:
        return ProtocolError(f"response body exceeds the limit of {self.max_body_size} bytes")

    @contextlib.contextmanager
    def errors(self, request: P.EstRequest, deadline: Deadline) -> Generator[None, None, None]:
        """Map what httpx and ssl raise during one exchange (a dropped connection becomes StaleConnection)."""
        try:
            yield
        except _RETRYABLE as exc:
            raise StaleConnection(_map_error(exc, deadline)) from None
        except _UnanswerableChallenge as exc:
            self.new_digest()
            raise AuthenticationRequired(
                f"EST server asked for Digest authentication the client cannot answer for {request.operation}:"
                f" {exc.reason}",
                challenge=exc.challenge,
            ) from None
        except (httpx.HTTPError, ssl.SSLError) as exc:
            if isinstance(exc, httpx.PoolTimeout) and deadline.left() <= 0:
                deadline.hit = True
            raise _map_error(exc, deadline) from None


def _has_text(response: httpx.Response) -> bool:
    # a compressed reason is not read: one small chunk could inflate to megabytes
    return response.headers.get("content-length", "").strip() != "0" and _content_coding(response) is None


def _conn_info(response: httpx.Response) -> ConnectionInfo:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return ConnectionInfo(None, None)
    try:
        return connection_info(stream.get_extra_info("ssl_object"))
    except (ssl.SSLError, OSError, ValueError):
        return ConnectionInfo(None, None)


def _received(response: httpx.Response, info: ConnectionInfo, body: bytes, *, is_401: bool = False) -> Received:
    """A 401 that reaches the flow is answered by a new request or ends the operation: either way its connection
    is not reused (RFC 7030 §3.2.3). Only the first chunk of its body is read (for the reason a server may give,
    e.g. libest's "Proof of Possession Mismatch"; at most _MAX_401_HEAD bytes), so closing the response closes
    the connection instead of returning it to the pool."""
    if is_401:
        return Received(P.EstResponse(response.status_code, list(response.headers.multi_items()),
                                      body[:_MAX_401_HEAD]), info, True)
    closed = "close" in response.headers.get("connection", "").lower() or response.http_version == "HTTP/1.0"
    return Received(P.EstResponse(response.status_code, list(response.headers.multi_items()), body), info, closed)


class HttpxChannel:
    """A :class:`~estclient.transport.Channel` over one ``httpx.Client``."""

    def __init__(self, settings: _Settings, context: ssl.SSLContext, max_connections: int) -> None:
        self._settings = settings
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.Client(**settings.client_kwargs(_sync_pool(context, limits, settings.proxy)))

    def send(self, request: P.EstRequest, credentials: HttpAuth | None, deadline: Deadline) -> Received:
        """Send ``request`` under ``deadline`` and return the complete answer (see the module)."""
        s = self._settings
        with deadline.active(), s.errors(request, deadline):
            auth = s.auth(credentials)
            built = s.build(self._client, request, deadline)
            response = self._client.send(built, auth=auth, stream=True) if auth else self._client.send(built, stream=True)
            try:
                info = _conn_info(response)
                if response.status_code == 401:
                    head = b""
                    if _has_text(response):
                        first = response.iter_bytes()
                        try:
                            head = next(first, b"")
                        finally:
                            first.close()  # type: ignore[attr-defined]
                    return _received(response, info, head, is_401=True)
                s.check_length(response)
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > s.max_body_size:
                        raise s.too_big()
                    chunks.append(chunk)
                return _received(response, info, b"".join(chunks))
            finally:
                response.close()

    def close(self) -> None:
        """Close the channel's connections."""
        self._client.close()


class AsyncHttpxChannel:
    """An :class:`~estclient.transport.AsyncChannel` over one ``httpx.AsyncClient``."""

    def __init__(self, settings: _Settings, context: ssl.SSLContext, max_connections: int) -> None:
        self._settings = settings
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.AsyncClient(**settings.client_kwargs(_async_pool(context, limits, settings.proxy)))

    async def send(self, request: P.EstRequest, credentials: HttpAuth | None, deadline: Deadline) -> Received:
        """As :meth:`HttpxChannel.send`."""
        s = self._settings
        with deadline.active(), s.errors(request, deadline):
            auth = s.auth(credentials)
            built = s.build(self._client, request, deadline)
            response = await (self._client.send(built, auth=auth, stream=True) if auth
                              else self._client.send(built, stream=True))
            try:
                info = _conn_info(response)
                if response.status_code == 401:
                    head = b""
                    if _has_text(response):
                        first = response.aiter_bytes()
                        try:
                            head = await first.__anext__()
                        except StopAsyncIteration:
                            pass
                        finally:
                            await first.aclose()  # type: ignore[attr-defined]
                    return _received(response, info, head, is_401=True)
                s.check_length(response)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > s.max_body_size:
                        raise s.too_big()
                    chunks.append(chunk)
                return _received(response, info, b"".join(chunks))
            finally:
                await response.aclose()

    async def aclose(self) -> None:
        """Close the channel's connections."""
        await self._client.aclose()


class HttpxTransport:
    """The synchronous :class:`~estclient.transport.Transport` over httpx (one per client: it keeps the Digest
    state)."""

    def __init__(self, server_url: str, *, timeout: float, max_body_size: int, user_agent: str,
                 http_auth: HttpAuth | None, proxy: str | None = None,
                 headers: tuple[tuple[str, str], ...] = (), event_hooks: dict[str, list[Any]] | None = None) -> None:
        self._settings = _Settings(server_url, timeout, max_body_size, user_agent, http_auth, proxy, headers,
                                   event_hooks)

    def open(self, context: ssl.SSLContext, max_connections: int) -> HttpxChannel:
        """A new ``httpx.Client`` over ``context`` with at most ``max_connections`` connections."""
        return HttpxChannel(self._settings, context, max_connections)


class AsyncHttpxTransport(HttpxTransport):
    """The asynchronous :class:`~estclient.transport.AsyncTransport` over httpx."""

    def open(self, context: ssl.SSLContext, max_connections: int) -> AsyncHttpxChannel:  # type: ignore[override]
        """A new ``httpx.AsyncClient`` over ``context`` with at most ``max_connections`` connections."""
        return AsyncHttpxChannel(self._settings, context, max_connections)
