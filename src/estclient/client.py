"""EstClient and AsyncEstClient: thin drivers over httpx that run the flows of :mod:`estclient.flows`.

The drivers do the I/O and the sleeping, nothing else: they send the requests a flow yields (on the shared
connection pool, or on the flow's own pinned connection for channel binding), stream each response body
under the size cap, read the TLS version and tls-unique of the connection a response came on, attach HTTP
credentials only over verified TLS, and map httpx/ssl failures to :mod:`estclient.errors`.
"""
from __future__ import annotations

import ssl
import time
from typing import Any, AsyncIterator, Iterator

import httpx

from . import flows as F
from . import protocol as P
from ._deadline import Deadline, async_transport, current_deadline, sync_transport
from ._limits import AsyncSlots, ThreadSlots
from .config import ClientIdentity, EstClientConfig
from .errors import AuthenticationRequired, ConfigError, EstError, ProtocolError, TlsConfigError, TransportError
from .tls import ConnectionInfo, connection_info, create_ssl_context

__all__ = ["EstClient", "AsyncEstClient"]

_RETRYABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_MAX_401_HEAD = 2048  # bytes of a 401 body kept for its reason (the message keeps at most 1,000 characters)
# TLS alerts a server sends about the client's certificate (OpenSSL reasons end in ALERT_<name>)
_CLIENT_CERT_ALERTS = ("UNKNOWN_CA", "BAD_CERTIFICATE", "ILLEGAL_PARAMETER", "CERTIFICATE_REQUIRED",
                       "UNSUPPORTED_CERTIFICATE", "CERTIFICATE_EXPIRED", "CERTIFICATE_REVOKED")


def _map_error(exc: BaseException, deadline: Deadline | None = None) -> EstError:
    """httpx/ssl failure -> EstError (messages carry no secrets: httpx messages hold no headers)."""
    if deadline is not None and deadline.hit and isinstance(exc, httpx.TimeoutException):
        return TransportError(
            f"total deadline reached: the exchange took longer than operation_timeout ({deadline.seconds:g} s)"
        )
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


_MAX_CHALLENGE_BODY = 64 * 1024


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


def _keygen_error(exc: ValueError, signer_trust: Any) -> EstError:
    """serverkeygen: estcodec.enveloped refuses arguments with ValueError (no signer_trust with system trust, a
    KEK of the wrong size for the server's key wrap, ...); the client raises EstError subclasses only.
    ConfigError is also a ValueError, so callers that caught ValueError still do."""
    if isinstance(exc, EstError):
        return exc
    hint = ""
    if signer_trust is None:
        hint = (" (with system trust the client has no EST CA certificates to verify the key's signer: pass"
                " signer_trust=, e.g. the certificates from get_ca_certs())")
    return ConfigError(f"serverkeygen: the encrypted key cannot be unwrapped: {str(exc)[:200]}{hint}")


class _DriverBase:
    def __init__(self, config: EstClientConfig) -> None:
        if not isinstance(config, EstClientConfig):
            raise TypeError("config must be an EstClientConfig")
        self.config = config
        self._state = F.FlowState()
        self._timeout = httpx.Timeout(config.timeout)
        self._contexts: dict[tuple[bool, bool], ssl.SSLContext] = {}
        self._digest: httpx.DigestAuth | None = None
        self._new_digest()

    def _new_digest(self) -> None:
        """A fresh Digest state (also after a challenge it could not answer: httpx keeps the last challenge)."""
        auth = self.config.http_auth
        if auth is not None and auth.scheme == "digest":
            self._digest = _GuardedDigest(auth.username, auth.password)

    def set_client_identity(self, identity: "ClientIdentity | None") -> None:
        """Use another TLS client identity from the next operation on (automatic renewal does this after a
        re-enrollment): later operations open new connections with it. Requests already under way finish on their
        old connections, which are closed with the client."""
        import dataclasses

        self.config = dataclasses.replace(self.config, client_identity=identity)
        self._contexts.clear()

    # -- contexts
    def _verified(self) -> bool:
        assert self.config.trust is not None
        return self.config.trust.verified or self._state.anchors_pem is not None

    def _context(self, *, tls12_only: bool = False, verify: bool = True) -> ssl.SSLContext:
        if verify and not self._verified():
            raise TlsConfigError("no verified trust anchors yet: the bootstrap has not completed")
        key = (tls12_only, verify)
        ctx = self._contexts.get(key)
        if ctx is None:
            if key[1]:
                ctx = create_ssl_context(
                    self.config.trust, self.config.client_identity, max_tls12=tls12_only,
                    anchors_pem=self._state.anchors_pem,
                )
            else:  # bootstrap /cacerts: unverified, and carrying nothing (no client certificate)
                ctx = create_ssl_context(self.config.trust, None, max_tls12=tls12_only)
            self._contexts[key] = ctx
        return ctx

    def _client_kwargs(self, ctx: ssl.SSLContext, max_connections: int) -> dict[str, Any]:
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return dict(
            base_url=self.config.server_url,
            transport=self._make_transport(ctx, limits),  # sockets obeying operation_timeout (see _deadline)
            timeout=self._timeout,
            follow_redirects=False,
            trust_env=False,  # no proxies, netrc credentials or SSL_* variables from the environment
            # no content codings: a compressed body inflates by up to ~1000x before max_body_size can count it
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "identity", **dict(self.config.headers)},
        )

    def _make_transport(self, ctx: ssl.SSLContext, limits: httpx.Limits) -> Any:
        raise NotImplementedError  # pragma: no cover

    def _httpx_request(self, client: Any, send: F.Send, deadline: Deadline) -> Any:
        req = send.request
        url = req.url or req.path
        left = deadline.left()
        if left <= 0:
            deadline.hit = True
            raise httpx.PoolTimeout("the total deadline of the operation was reached")
        timeout = self._timeout
        if left < self.config.timeout:  # waiting for a pooled connection counts too
            timeout = httpx.Timeout(self.config.timeout, pool=left)
        return client.build_request(req.method, url, headers=dict(req.headers), content=req.body, timeout=timeout)

    def _error(self, exc: BaseException, deadline: Deadline, send: F.Send) -> EstError:
        if isinstance(exc, _UnanswerableChallenge):
            self._new_digest()
            return AuthenticationRequired(
                f"EST server asked for Digest authentication the client cannot answer for {send.request.operation}:"
                f" {exc.reason}",
                challenge=exc.challenge,
            )
        if isinstance(exc, httpx.PoolTimeout) and deadline.left() <= 0:
            deadline.hit = True
        return _map_error(exc, deadline)

    def _received_401(self, response: Any, info: ConnectionInfo, head: bytes = b"") -> F.Received:
        """A 401 that reaches the flow is answered by a new request or ends the operation: either way its
        connection is not reused (RFC 7030 §3.2.3). Only the first chunk of its body is read (``head``, for the
        reason a server may give, e.g. libest's "Proof of Possession Mismatch"; at most _MAX_401_HEAD bytes), so
        closing the response closes the connection instead of returning it to the pool."""
        body = head[:_MAX_401_HEAD]
        return F.Received(P.EstResponse(response.status_code, list(response.headers.multi_items()), body), info, True)

    @staticmethod
    def _401_has_text(response: Any) -> bool:
        # a compressed reason is not read: one small chunk could inflate to megabytes
        return response.headers.get("content-length", "").strip() != "0" and _content_coding(response) is None

    def _auth_for(self, send: F.Send) -> Any:
        cfg = self.config
        if not send.auth or cfg.http_auth is None or not send.verify or not self._verified():
            return None  # credentials only over verified TLS (RFC 7030 §3.2.3, §3.6)
        if cfg.http_auth.scheme == "digest":
            return self._digest
        return httpx.BasicAuth(cfg.http_auth.username, cfg.http_auth.password)

    def _check_length(self, response: Any) -> None:
        coding = _content_coding(response)
        if coding is not None:
            raise ProtocolError(f"response body with content coding {coding[:40]!r}, which the client did not accept")
        cl = response.headers.get("content-length")
        if cl is not None:
            try:
                n = int(cl)
            except ValueError:
                raise ProtocolError("invalid Content-Length") from None
            if n > self.config.max_body_size:
                raise ProtocolError(f"response body of {n} bytes exceeds the limit of {self.config.max_body_size}")

    @staticmethod
    def _conn_info(response: Any) -> ConnectionInfo:
        stream = response.extensions.get("network_stream")
        if stream is None:
            return ConnectionInfo(None, None)
        try:
            return connection_info(stream.get_extra_info("ssl_object"))
        except (ssl.SSLError, OSError, ValueError):
            return ConnectionInfo(None, None)

    @staticmethod
    def _closed(response: Any) -> bool:
        return "close" in response.headers.get("connection", "").lower() or response.http_version == "HTTP/1.0"

    def _received(self, response: Any, info: ConnectionInfo, body: bytes) -> F.Received:
        return F.Received(
            P.EstResponse(response.status_code, list(response.headers.multi_items()), body),
            info,
            self._closed(response),
        )


class EstClient(_DriverBase):
    """Synchronous EST client (RFC 7030). Use as a context manager, or call :meth:`close`.

    Every operation raises :class:`estclient.errors.EstError` subclasses only.
    """

    def __init__(self, config: EstClientConfig) -> None:
        super().__init__(config)
        self._client: httpx.Client | None = None
        self._retired: list[httpx.Client] = []  # main pools of earlier identities, closed with the client
        # the channel-binding connection stays open between operations, so that the next enrollment signs for it
        self._pinned: dict[tuple[bool, bool], httpx.Client] = {}
        self._state.keep_bound = True
        self._slots = ThreadSlots(config.max_connections)  # operations in flight, first come first served

    def set_client_identity(self, identity: "ClientIdentity | None") -> None:
        super().set_client_identity(identity)
        self._close_pinned()
        if self._client is not None:  # its pool was made with the old identity's context; other threads may
            self._retired.append(self._client)  # still be using it, so it is closed with the client
            self._client = None

    def _close_pinned(self) -> None:
        for c in self._pinned.values():
            c.close()
        self._pinned.clear()
        self._state.bound = None

    def _make_transport(self, ctx: ssl.SSLContext, limits: httpx.Limits) -> Any:
        return sync_transport(ctx, limits, self.config.proxy)

    # -- lifecycle
    def __enter__(self) -> "EstClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._close_pinned()
        if self._client is not None:
            self._client.close()
            self._client = None
        while self._retired:
            self._retired.pop().close()

    def _main(self) -> httpx.Client:
        if self._client is None:
            ctx = self._context(tls12_only=self.config.channel_binding == "require")
            self._client = httpx.Client(**self._client_kwargs(ctx, self.config.max_connections))
        return self._client

    # -- driver
    def _send_on(self, client: httpx.Client, send: F.Send) -> F.Received:
        deadline = current_deadline()
        if deadline is None:  # a request outside _run: a deadline of its own
            with Deadline(self.config.operation_timeout).active() as deadline:
                return self._send_now(client, send, deadline)
        return self._send_now(client, send, deadline)

    def _send_now(self, client: httpx.Client, send: F.Send, deadline: Deadline) -> F.Received:
        auth = self._auth_for(send)
        for attempt in (0, 1):
            try:
                request = self._httpx_request(client, send, deadline)
                response = client.send(request, auth=auth, stream=True) if auth else client.send(request, stream=True)
                try:
                    info = self._conn_info(response)
                    if response.status_code == 401:
                        head = b""
                        if self._401_has_text(response):
                            first = response.iter_bytes()
                            try:
                                head = next(first, b"")
                            finally:
                                first.close()
                        return self._received_401(response, info, head)
                    self._check_length(response)
                    chunks, size = [], 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > self.config.max_body_size:
                            raise ProtocolError(f"response body exceeds the limit of {self.config.max_body_size} bytes")
                        chunks.append(chunk)
                    return self._received(response, info, b"".join(chunks))
                finally:
                    response.close()
            except _RETRYABLE as exc:
                if attempt == 0 and not deadline.hit:
                    continue  # the server had closed the pooled connection: once more on a fresh one
                raise self._error(exc, deadline, send) from None
            except (httpx.HTTPError, ssl.SSLError, _UnanswerableChallenge) as exc:
                raise self._error(exc, deadline, send) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, flow: F.Flow) -> Any:
        pinned = self._pinned
        ok = False
        deadline: Deadline | None = None  # operation_timeout: from the first request, new after each 202 wait
        self._slots.acquire()  # a place in the client's own FIFO queue, not in httpx's pool (see _limits)
        held = True
        try:
            result: Any = None
            command = next(flow)
            while True:
                if isinstance(command, F.Send):
                    if not command.verify and self._verified():  # never unverified once anchors are trusted
                        raise TlsConfigError("refused: an unverified connection after the bootstrap completed")
                    if command.pinned or not command.verify:
                        key = (command.tls12_only, command.verify)
                        client = pinned.get(key)
                        if client is None:
                            ctx = self._context(tls12_only=command.tls12_only, verify=command.verify)
                            client = pinned[key] = httpx.Client(**self._client_kwargs(ctx, 1))
                    else:
                        client = self._main()
                    if deadline is None:
                        deadline = Deadline(self.config.operation_timeout)
                    with deadline.active():
                        result = self._send_on(client, command)
                elif isinstance(command, F.Sleep):
                    self._slots.release()  # no slot is held while waiting out a Retry-After
                    held = False
                    time.sleep(max(0.0, command.seconds))
                    deadline = None
                    held = self._slots.acquire()
                    result = None
                elif isinstance(command, F.UseAnchors):
                    self._contexts.clear()
                    self.close()  # the next request opens a new, verified session (pinned ones closed too)
                    result = None
                else:  # pragma: no cover
                    raise AssertionError(f"unknown flow command {command!r}")
                command = flow.send(result)
        except StopIteration as stop:
            ok = True
            return stop.value
        finally:
            if held:
                self._slots.release()
            flow.close()
            if not ok or any(not key[1] for key in pinned):  # after a failure, or unverified: start afresh
                self._close_pinned()

    # -- operations
    def bootstrap(self) -> P.CaCertificates:
        """Run the bootstrap now (it otherwise runs before the first operation). Needs TrustAnchors.bootstrap."""
        assert self.config.trust is not None
        if self.config.trust.kind != "bootstrap":
            raise TlsConfigError("bootstrap needs TrustAnchors.bootstrap(...)")
        return self._run(F.bootstrap(self.config, self._state))

    def get_ca_certs(self) -> P.CaCertificates:
        return self._run(F.get_ca_certs(self.config, self._state))

    def get_csr_attributes(self) -> Any:
        return self._run(F.get_csr_attributes(self.config, self._state))

    def simple_enroll(self, csr: Any) -> P.Issued | P.Pending:
        return self._run(F.enroll(self.config, self._state, csr))

    def simple_reenroll(self, csr: Any, *, allow_without_identity: bool = False) -> P.Issued | P.Pending:
        """/simplereenroll. The CSR's Subject and subjectAltName must equal the client identity's certificate
        (RFC 7030 §4.2.2) and a client identity is required (§3.3.2), else ConfigError; pass
        ``allow_without_identity=True`` when the server authenticates re-enrollment another way."""
        return self._run(F.enroll(self.config, self._state, csr, reenroll=True,
                                  allow_without_identity=allow_without_identity))

    def enroll_and_wait(self, csr: Any, *, max_wait: float, reenroll: bool = False) -> P.Issued:
        return self._run(F.enroll_and_wait(self.config, self._state, csr, max_wait=max_wait, reenroll=reenroll))

    def server_keygen(
        self, csr: Any, *, kek: bytes | None = None, kek_id: bytes | None = None, private_key: Any = None,
        certificate: Any = None, signer_trust: Any = None,
    ) -> P.ServerKeygenResponse | P.Pending:
        try:
            return self._run(F.server_keygen(
                self.config, self._state, csr, kek=kek, kek_id=kek_id, private_key=private_key,
                certificate=certificate, signer_trust=signer_trust,
            ))
        except ValueError as exc:
            raise _keygen_error(exc, signer_trust) from None

    def full_cmc(self, request: Any, *, signer_trust: Any = None) -> P.CmcResponse | P.Pending:
        return self._run(F.full_cmc(self.config, self._state, request, signer_trust=signer_trust))


class _OperationState:
    """The client's :class:`~estclient.flows.FlowState` as one async operation sees it: what the client has
    learnt is shared (reads and writes go to the client's state), but the channel-bound connection (``bound``)
    belongs to this operation while it runs, so that enrollments running at once never sign for the same
    connection. ``pinned`` holds the operation's own connections, by (tls12_only, verify)."""

    __slots__ = ("_shared", "bound", "keep_bound", "pinned", "epoch")

    def __init__(self, shared: F.FlowState) -> None:
        object.__setattr__(self, "_shared", shared)
        object.__setattr__(self, "bound", None)
        object.__setattr__(self, "keep_bound", True)
        object.__setattr__(self, "pinned", {})
        object.__setattr__(self, "epoch", -1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shared, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__slots__:
            object.__setattr__(self, name, value)
        else:
            setattr(self._shared, name, value)

    note_pinned = F.FlowState.note_pinned
    observe = F.FlowState.observe


class AsyncEstClient(_DriverBase):
    """Asynchronous EST client: the same operations as :class:`EstClient`, as coroutines. Safe to use from
    many tasks at once (connections are pooled; channel-bound requests get their own connection)."""

    def __init__(self, config: EstClientConfig) -> None:
        super().__init__(config)
        self._client: httpx.AsyncClient | None = None
        self._retired: list[httpx.AsyncClient] = []  # main pools of earlier identities, closed with the client
        self._anchor_lock: asyncio.Lock | None = None
        self._slots = AsyncSlots(config.max_connections)  # operations in flight, first come first served
        # Channel-bound connections kept open between operations (as EstClient does), each with the connection
        # its next CSR is signed for; an enrollment takes one for itself while it runs and puts it back after
        # a success. _epoch counts the events that make them unusable (identity change, aclose, new anchors):
        # an operation started before one does not put its connection back.
        self._idle_bound: list[tuple[httpx.AsyncClient, tuple[bool, ConnectionInfo]]] = []
        self._stale: list[httpx.AsyncClient] = []  # to be closed at the next await (set_client_identity is sync)
        self._epoch = 0

    def set_client_identity(self, identity: "ClientIdentity | None") -> None:
        super().set_client_identity(identity)
        self._drop_bound()
        if self._client is not None:  # made with the old identity's context; tasks may still be using it
            self._retired.append(self._client)
            self._client = None

    def _drop_bound(self) -> None:
        self._stale.extend(c for c, _ in self._idle_bound)
        self._idle_bound.clear()
        self._epoch += 1

    async def _close_stale(self) -> None:
        while self._stale:
            await self._stale.pop().aclose()

    def _operation(self) -> _OperationState:
        """The state to make the flow of an operation that may post a CSR with (see _checkout)."""
        return _OperationState(self._state)

    def _checkout(self, op: _OperationState) -> None:
        """When the operation starts running (its flow reads ``bound`` later): it takes the most recently used
        kept-alive bound connection, if there is one."""
        op.epoch = self._epoch
        if self._idle_bound:
            client, bound = self._idle_bound.pop()
            op.pinned[(bound[0], True)] = client
            op.bound = bound

    async def _finish(self, op: _OperationState | None, pinned: dict[tuple[bool, bool], httpx.AsyncClient],
                      ok: bool) -> None:
        """After an operation: its bound connection, still open, goes back to the idle ones after a success
        (at most max_connections kept); every other connection of its own is closed."""
        if ok and op is not None and op.bound is not None and op.epoch == self._epoch:
            client = pinned.pop((op.bound[0], True), None)
            if client is not None:
                self._idle_bound.append((client, op.bound))
                while len(self._idle_bound) > max(1, self.config.max_connections):
                    self._stale.append(self._idle_bound.pop(0)[0])
        for c in pinned.values():
            await c.aclose()
        pinned.clear()
        await self._close_stale()

    def _make_transport(self, ctx: ssl.SSLContext, limits: httpx.Limits) -> Any:
        return async_transport(ctx, limits, self.config.proxy)

    async def __aenter__(self) -> "AsyncEstClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._drop_bound()
        await self._close_stale()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        while self._retired:
            await self._retired.pop().aclose()

    def _main(self) -> httpx.AsyncClient:
        if self._client is None:
            ctx = self._context(tls12_only=self.config.channel_binding == "require")
            self._client = httpx.AsyncClient(**self._client_kwargs(ctx, self.config.max_connections))
        return self._client

    async def _send_on(self, client: httpx.AsyncClient, send: F.Send) -> F.Received:
        deadline = current_deadline()
        if deadline is None:  # a request outside _run: a deadline of its own
            with Deadline(self.config.operation_timeout).active() as deadline:
                return await self._send_now(client, send, deadline)
        return await self._send_now(client, send, deadline)

    async def _send_now(self, client: httpx.AsyncClient, send: F.Send, deadline: Deadline) -> F.Received:
        auth = self._auth_for(send)
        for attempt in (0, 1):
            try:
                request = self._httpx_request(client, send, deadline)
                response = await (client.send(request, auth=auth, stream=True) if auth else client.send(request, stream=True))
                try:
                    info = self._conn_info(response)
                    if response.status_code == 401:
                        head = b""
                        if self._401_has_text(response):
                            afirst = response.aiter_bytes()
                            try:
                                head = await afirst.__anext__()
                            except StopAsyncIteration:
                                pass
                            finally:
                                await afirst.aclose()
                        return self._received_401(response, info, head)
                    self._check_length(response)
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.config.max_body_size:
                            raise ProtocolError(f"response body exceeds the limit of {self.config.max_body_size} bytes")
                        chunks.append(chunk)
                    return self._received(response, info, b"".join(chunks))
                finally:
                    await response.aclose()
            except _RETRYABLE as exc:
                if attempt == 0 and not deadline.hit:
                    continue
                raise self._error(exc, deadline, send) from None
            except (httpx.HTTPError, ssl.SSLError, _UnanswerableChallenge) as exc:
                raise self._error(exc, deadline, send) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run(self, flow: F.Flow, op: _OperationState | None = None) -> Any:
        """Drive ``flow``; ``op`` is the state it was made with when it may post a CSR (see _operation)."""
        pinned: dict[tuple[bool, bool], httpx.AsyncClient] = op.pinned if op is not None else {}
        ok = False
        deadline: Deadline | None = None  # see EstClient._run
        await self._close_stale()
        await self._slots.acquire()  # a place in the client's own FIFO queue, not in httpx's pool (see _limits)
        held = True
        try:
            if op is not None:
                self._checkout(op)
            result: Any = None
            command = next(flow)
            while True:
                if isinstance(command, F.Send):
                    if not command.verify and self._verified():  # never unverified once anchors are trusted
                        raise TlsConfigError("refused: an unverified connection after the bootstrap completed")
                    if command.pinned or not command.verify:
                        key = (command.tls12_only, command.verify)
                        client = pinned.get(key)
                        if client is None:
                            ctx = self._context(tls12_only=command.tls12_only, verify=command.verify)
                            client = pinned[key] = httpx.AsyncClient(**self._client_kwargs(ctx, 1))
                    else:
                        client = self._main()
                    if deadline is None:
                        deadline = Deadline(self.config.operation_timeout)
                    with deadline.active():
                        result = await self._send_on(client, command)
                elif isinstance(command, F.Sleep):
                    self._slots.release()  # no slot is held while waiting out a Retry-After
                    held = False
                    import asyncio  # loaded only by the async client (always loaded by then: a loop runs)

                    await asyncio.sleep(max(0.0, command.seconds))
                    deadline = None
                    await self._slots.acquire()
                    held = True
                    result = None
                elif isinstance(command, F.UseAnchors):
                    self._contexts.clear()
                    for c in pinned.values():
                        await c.aclose()
                    pinned.clear()
                    if op is not None:
                        op.bound = None
                    await self.aclose()  # the next request opens a new, verified session (idle bound ones too)
                    result = None
                else:  # pragma: no cover
                    raise AssertionError(f"unknown flow command {command!r}")
                command = flow.send(result)
        except StopIteration as stop:
            ok = True
            return stop.value
        finally:
            if held:
                self._slots.release()
            flow.close()
            await self._finish(op, pinned, ok)  # after a failure, every connection of the operation is closed

    async def _bootstrap_once(self) -> None:
        assert self.config.trust is not None
        if self.config.trust.kind != "bootstrap" or self._state.anchors_pem is not None:
            return
        if self._anchor_lock is None:
            import asyncio

            self._anchor_lock = asyncio.Lock()
        async with self._anchor_lock:  # many concurrent first calls: one bootstrap
            if self._state.anchors_pem is None:
                await self._run(F.bootstrap(self.config, self._state))

    async def bootstrap(self) -> P.CaCertificates:
        assert self.config.trust is not None
        if self.config.trust.kind != "bootstrap":
            raise TlsConfigError("bootstrap needs TrustAnchors.bootstrap(...)")
        await self._bootstrap_once()  # one bootstrap, even when called from many tasks at once
        return await self._run(F.bootstrap(self.config, self._state))

    async def get_ca_certs(self) -> P.CaCertificates:
        await self._bootstrap_once()
        return await self._run(F.get_ca_certs(self.config, self._state))

    async def get_csr_attributes(self) -> Any:
        await self._bootstrap_once()
        return await self._run(F.get_csr_attributes(self.config, self._state))

    async def simple_enroll(self, csr: Any) -> P.Issued | P.Pending:
        await self._bootstrap_once()
        op = self._operation()
        return await self._run(F.enroll(self.config, op, csr), op)  # type: ignore[arg-type]

    async def simple_reenroll(self, csr: Any, *, allow_without_identity: bool = False) -> P.Issued | P.Pending:
        """See :meth:`EstClient.simple_reenroll`."""
        await self._bootstrap_once()
        op = self._operation()
        return await self._run(F.enroll(self.config, op, csr, reenroll=True,  # type: ignore[arg-type]
                                        allow_without_identity=allow_without_identity), op)

    async def enroll_and_wait(self, csr: Any, *, max_wait: float, reenroll: bool = False) -> P.Issued:
        await self._bootstrap_once()
        op = self._operation()
        return await self._run(F.enroll_and_wait(self.config, op, csr, max_wait=max_wait,  # type: ignore[arg-type]
                                                 reenroll=reenroll), op)

    async def server_keygen(
        self, csr: Any, *, kek: bytes | None = None, kek_id: bytes | None = None, private_key: Any = None,
        certificate: Any = None, signer_trust: Any = None,
    ) -> P.ServerKeygenResponse | P.Pending:
        await self._bootstrap_once()
        op = self._operation()
        try:
            return await self._run(F.server_keygen(
                self.config, op, csr, kek=kek, kek_id=kek_id, private_key=private_key,  # type: ignore[arg-type]
                certificate=certificate, signer_trust=signer_trust,
            ), op)
        except ValueError as exc:
            raise _keygen_error(exc, signer_trust) from None

    async def full_cmc(self, request: Any, *, signer_trust: Any = None) -> P.CmcResponse | P.Pending:
        await self._bootstrap_once()
        return await self._run(F.full_cmc(self.config, self._state, request, signer_trust=signer_trust))


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
