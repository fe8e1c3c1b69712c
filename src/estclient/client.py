"""EstClient and AsyncEstClient: the EST operations (RFC 7030) over the flow engine.

Each operation is a flow of :mod:`estclient.flows`, run by the one driver loop of :mod:`estclient._engine`
(blocking for :class:`EstClient`, with ``await`` for :class:`AsyncEstClient`) over the transport seam of
:mod:`estclient.transport`, HTTP over httpx by default (:mod:`estclient._transport_httpx`). What differs between
the two clients is only which connections they keep between operations: the synchronous client keeps its
channel-bound connection (one thread enrolls at a time), the asynchronous one lends its kept-alive bound
connections to one operation at a time.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, TypeVar, Union, cast

from . import flows as F
from . import protocol as P
from ._engine import FlowEngine, StopEvent
from ._limits import AsyncSlots, ThreadSlots
from .config import ClientIdentity, EstClientConfig
from .errors import ConfigError, EstError, TlsConfigError
from .tls import ConnectionInfo
from .transport import AsyncChannel, AsyncTransport, Channel, Transport

if TYPE_CHECKING:
    import asyncio
    from typing import TypeAlias

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from estcodec.csrattrs import CsrAttrs
    from estcodec.pkcs10 import CertificationRequest
    from estcodec.x509 import Certificate

    from .csr import CsrBuilder

    #: A request to enroll with: a :class:`~estclient.csr.CsrBuilder` (signed per connection, so channel binding
    #: works), or a finished CSR (DER bytes, an estcodec ``CertificationRequest`` or a ``cryptography`` CSR).
    CsrInput: TypeAlias = Union[bytes, bytearray, memoryview, CsrBuilder, CertificationRequest,
                                x509.CertificateSigningRequest]
    #: A certificate: an estcodec or ``cryptography`` certificate, or its DER.
    CertificateInput: TypeAlias = Union[Certificate, x509.Certificate, bytes]
    #: Whom a signed server answer must chain to: PEM (bytes or str), one certificate, or several.
    SignerTrust: TypeAlias = Union[bytes, str, Certificate, x509.Certificate, Iterable[CertificateInput]]

__all__ = ["EstClient", "AsyncEstClient"]

T = TypeVar("T")


def _default_transport(config: EstClientConfig, kind: str, event_hooks: Any = None) -> Any:
    """HTTP over httpx for ``config`` (``event_hooks``: httpx's per-request callbacks, for ``est -v``)."""
    from ._transport_httpx import AsyncHttpxTransport, HttpxTransport

    cls = AsyncHttpxTransport if kind == "async" else HttpxTransport
    return cls(config.server_url, timeout=config.timeout, max_body_size=config.max_body_size,
               user_agent=config.user_agent, http_auth=config.http_auth, proxy=config.proxy,
               headers=config.headers, event_hooks=event_hooks)


def _keygen_error(exc: ValueError, signer_trust: object) -> EstError:
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


class EstClient(FlowEngine[Channel]):
    """Synchronous EST client (RFC 7030). Use as a context manager, or call :meth:`close`.

    ``transport`` replaces HTTP over httpx (a :class:`~estclient.transport.Transport`). Every operation raises
    :class:`estclient.errors.EstError` subclasses only. Several threads may share one client (at most
    ``max_connections`` operations run at a time, the others queue first come first served).
    """

    def __init__(self, config: EstClientConfig, *, transport: Transport | None = None) -> None:
        super().__init__(config)
        self._transport = transport if transport is not None else _default_transport(config, "sync")
        # the channel-binding connection stays open between operations, so that the next enrollment signs for it
        self._pinned: dict[tuple[bool, bool], Channel] = {}
        self._state.keep_bound = True
        self._slots = ThreadSlots(config.max_connections)  # operations in flight, first come first served

    def set_client_identity(self, identity: ClientIdentity | None) -> None:
        """Use another TLS client identity from the next operation on (automatic renewal does this after a
        re-enrollment): later operations open new connections with it. Requests already under way finish on their
        old connections, which are closed with the client."""
        super().set_client_identity(identity)
        for channel in self._take_pinned():
            channel.close()

    def _take_pinned(self) -> list[Channel]:
        channels = list(self._pinned.values())
        self._pinned.clear()
        self._state.bound = None
        return channels

    # -- the engine's bookkeeping: one set of pinned connections for the client, kept after a success
    def _pinned_of(self, op: F.FlowState | None) -> dict[tuple[bool, bool], Channel]:
        return self._pinned

    def _end(self, op: F.FlowState | None, pinned: dict[tuple[bool, bool], Channel], ok: bool) -> list[Channel]:
        if not ok or any(not key[1] for key in pinned):  # after a failure, or unverified: start afresh
            return self._take_pinned()
        return []

    def _drop_all(self) -> list[Channel]:
        return self._take_pinned() + super()._drop_all()

    def _run(self, flow: F.Flow, stop: StopEvent | None = None) -> Any:
        """Run ``flow`` to its end (``stop``: a ``threading.Event`` that cuts its waits short)."""
        return self._drive_sync(self._engine_run(flow, None, stop))

    # -- lifecycle
    def __enter__(self) -> EstClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection (the client can still be used: later operations open new ones)."""
        for channel in self._drop_all():
            channel.close()

    # -- operations
    def bootstrap(self) -> P.CaCertificates:
        """Run the bootstrap now (it otherwise runs before the first operation): RFC 7030 §4.1.1, ``/cacerts``
        over an unverified connection, accepted by fingerprint or callback, the rest path-validated. Returns the
        accepted CA certificates. Needs :meth:`TrustAnchors.bootstrap <estclient.config.TrustAnchors.bootstrap>`,
        else TlsConfigError."""
        assert self.config.trust is not None
        if self.config.trust.kind != "bootstrap":
            raise TlsConfigError("bootstrap needs TrustAnchors.bootstrap(...)")
        return cast(P.CaCertificates, self._run(F.bootstrap(self.config, self._state)))

    def get_ca_certs(self) -> P.CaCertificates:
        """``/cacerts`` (RFC 7030 §4.1): the current CA certificates, each path-validated against the trust in
        use (§4.1.3)."""
        return cast(P.CaCertificates, self._run(F.get_ca_certs(self.config, self._state)))

    def get_csr_attributes(self) -> CsrAttrs:
        """``/csrattrs`` (RFC 7030 §4.5, RFC 9908): what the CA wants in a CSR (empty when it says nothing)."""
        return cast("CsrAttrs", self._run(F.get_csr_attributes(self.config, self._state)))

    def simple_enroll(self, csr: CsrInput) -> P.Issued | P.Pending:
        """``/simpleenroll`` (RFC 7030 §4.2.1): a certificate for ``csr``, or :class:`~estclient.protocol.Pending`
        when the server answered 202 (repeat the same request after ``retry_after``; see :meth:`enroll_and_wait`).
        A :class:`~estclient.csr.CsrBuilder` is signed for the connection it travels on (channel binding)."""
        return cast("P.Issued | P.Pending", self._run(F.enroll(self.config, self._state, csr)))

    def simple_reenroll(self, csr: CsrInput, *, allow_without_identity: bool = False) -> P.Issued | P.Pending:
        """``/simplereenroll`` (RFC 7030 §4.2.2). The CSR's Subject and subjectAltName must equal the client
        identity's certificate (RFC 7030 §4.2.2) and a client identity is required (§3.3.2), else ConfigError;
        pass ``allow_without_identity=True`` when the server authenticates re-enrollment another way."""
        return cast("P.Issued | P.Pending", self._run(F.enroll(
            self.config, self._state, csr, reenroll=True, allow_without_identity=allow_without_identity)))

    def enroll_and_wait(self, csr: CsrInput, *, max_wait: float, reenroll: bool = False) -> P.Issued:
        """Enroll (or re-enroll), waiting out 202 answers: the same request is repeated after each Retry-After (at
        least ``min_retry_delay``) until issued; PendingTimeout when the next wait would pass ``max_wait``
        seconds (monotonic, from the call)."""
        return cast(P.Issued, self._run(F.enroll_and_wait(self.config, self._state, csr, max_wait=max_wait,
                                                          reenroll=reenroll)))

    def server_keygen(
        self, csr: CsrInput, *, kek: bytes | None = None, kek_id: bytes | None = None,
        private_key: PrivateKeyTypes | None = None, certificate: CertificateInput | None = None,
        signer_trust: SignerTrust | None = None,
    ) -> P.ServerKeygenResponse | P.Pending:
        """``/serverkeygen`` (RFC 7030 §4.4): a certificate and a key the server generated. With ``kek`` /
        ``kek_id`` (symmetric) or ``private_key`` / ``certificate`` (asymmetric) the key comes encrypted
        (§4.4.1) and is decrypted here, its signer checked against ``signer_trust`` (default: the EST trust
        anchors, or the validated ``/cacerts`` set with system trust)."""
        try:
            return cast("P.ServerKeygenResponse | P.Pending", self._run(F.server_keygen(
                self.config, self._state, csr, kek=kek, kek_id=kek_id, private_key=private_key,
                certificate=certificate, signer_trust=signer_trust,
            )))
        except ValueError as exc:
            raise _keygen_error(exc, signer_trust) from None

    def full_cmc(self, request: P.CmcRequest | bytes, *,
                 signer_trust: SignerTrust | None = None) -> P.CmcResponse | P.Pending:
        """``/fullcmc`` (RFC 7030 §4.3): send a Full PKI Request; the response's signature is checked against
        ``signer_trust`` (default as for :meth:`server_keygen`) and it must echo the request's transactionId and
        senderNonce."""
        return cast("P.CmcResponse | P.Pending", self._run(F.full_cmc(self.config, self._state, request,
                                                                     signer_trust=signer_trust)))


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


class AsyncEstClient(FlowEngine[AsyncChannel]):
    """Asynchronous EST client: the same operations as :class:`EstClient`, as coroutines, run by the same flow
    engine. Safe to use from many tasks at once (connections are pooled; channel-bound requests get their own
    connection). ``transport`` replaces HTTP over httpx (an :class:`~estclient.transport.AsyncTransport`)."""

    def __init__(self, config: EstClientConfig, *, transport: AsyncTransport | None = None) -> None:
        super().__init__(config)
        self._transport = transport if transport is not None else _default_transport(config, "async")
        self._anchor_lock: asyncio.Lock | None = None
        self._slots = AsyncSlots(config.max_connections)  # operations in flight, first come first served
        # Channel-bound connections kept open between operations (as EstClient does), each with the connection
        # its next CSR is signed for; an enrollment takes one for itself while it runs and puts it back after
        # a success. _epoch counts the events that make them unusable (identity change, aclose, new anchors):
        # an operation started before one does not put its connection back.
        self._idle_bound: list[tuple[AsyncChannel, tuple[bool, ConnectionInfo]]] = []
        self._epoch = 0

    def set_client_identity(self, identity: ClientIdentity | None) -> None:
        """As :meth:`EstClient.set_client_identity` (the old connections are closed at the next operation)."""
        super().set_client_identity(identity)
        self._drop_bound()

    def _drop_bound(self) -> None:
        self._stale.extend(c for c, _ in self._idle_bound)
        self._idle_bound.clear()
        self._epoch += 1

    # -- the engine's bookkeeping: each operation has its own pinned connections and borrows a bound one
    def _new_op(self) -> F.FlowState:
        """The state to make the flow of an operation that may post a CSR with."""
        return cast(F.FlowState, _OperationState(self._state))

    def _pinned_of(self, op: F.FlowState | None) -> dict[tuple[bool, bool], AsyncChannel]:
        return cast(_OperationState, op).pinned if op is not None else {}

    def _begin(self, op: F.FlowState | None) -> None:
        """When the operation starts running (its flow reads ``bound`` later): it takes the most recently used
        kept-alive bound connection, if there is one."""
        if op is None:
            return
        state = cast(_OperationState, op)
        state.epoch = self._epoch
        if self._idle_bound:
            channel, bound = self._idle_bound.pop()
            state.pinned[(bound[0], True)] = channel
            state.bound = bound

    def _end(self, op: F.FlowState | None, pinned: dict[tuple[bool, bool], AsyncChannel],
             ok: bool) -> list[AsyncChannel]:
        """After an operation: its bound connection, still open, goes back to the idle ones after a success
        (at most max_connections kept); every other connection of its own is closed."""
        state = cast("_OperationState | None", op)
        if ok and state is not None and state.bound is not None and state.epoch == self._epoch:
            channel = pinned.pop((state.bound[0], True), None)
            if channel is not None:
                self._idle_bound.append((channel, state.bound))
                while len(self._idle_bound) > max(1, self.config.max_connections):
                    self._stale.append(self._idle_bound.pop(0)[0])
        channels = list(pinned.values()) + self._stale
        pinned.clear()
        self._stale = []
        return channels

    def _drop_all(self) -> list[AsyncChannel]:
        self._drop_bound()
        return super()._drop_all()

    async def _run(self, flow: F.Flow, op: F.FlowState | None = None, stop: StopEvent | None = None) -> Any:
        """Run ``flow``; ``op`` is the state it was made with when it may post a CSR (see _new_op); ``stop``: an
        ``asyncio.Event`` that cuts its waits short."""
        return await self._drive_async(self._engine_run(flow, op, stop))

    # -- lifecycle
    async def __aenter__(self) -> AsyncEstClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection (the client can still be used: later operations open new ones)."""
        for channel in self._drop_all():
            await channel.aclose()

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

    # -- operations
    async def bootstrap(self) -> P.CaCertificates:
        """See :meth:`EstClient.bootstrap` (one bootstrap, even when called from many tasks at once)."""
        assert self.config.trust is not None
        if self.config.trust.kind != "bootstrap":
            raise TlsConfigError("bootstrap needs TrustAnchors.bootstrap(...)")
        await self._bootstrap_once()
        return cast(P.CaCertificates, await self._run(F.bootstrap(self.config, self._state)))

    async def get_ca_certs(self) -> P.CaCertificates:
        """See :meth:`EstClient.get_ca_certs`."""
        await self._bootstrap_once()
        return cast(P.CaCertificates, await self._run(F.get_ca_certs(self.config, self._state)))

    async def get_csr_attributes(self) -> CsrAttrs:
        """See :meth:`EstClient.get_csr_attributes`."""
        await self._bootstrap_once()
        return cast("CsrAttrs", await self._run(F.get_csr_attributes(self.config, self._state)))

    async def simple_enroll(self, csr: CsrInput) -> P.Issued | P.Pending:
        """See :meth:`EstClient.simple_enroll`."""
        await self._bootstrap_once()
        op = self._new_op()
        return cast("P.Issued | P.Pending", await self._run(F.enroll(self.config, op, csr), op))

    async def simple_reenroll(self, csr: CsrInput, *, allow_without_identity: bool = False) -> P.Issued | P.Pending:
        """See :meth:`EstClient.simple_reenroll`."""
        await self._bootstrap_once()
        op = self._new_op()
        return cast("P.Issued | P.Pending", await self._run(F.enroll(
            self.config, op, csr, reenroll=True, allow_without_identity=allow_without_identity), op))

    async def enroll_and_wait(self, csr: CsrInput, *, max_wait: float, reenroll: bool = False) -> P.Issued:
        """See :meth:`EstClient.enroll_and_wait`."""
        await self._bootstrap_once()
        op = self._new_op()
        return cast(P.Issued, await self._run(F.enroll_and_wait(self.config, op, csr, max_wait=max_wait,
                                                                reenroll=reenroll), op))

    async def server_keygen(
        self, csr: CsrInput, *, kek: bytes | None = None, kek_id: bytes | None = None,
        private_key: PrivateKeyTypes | None = None, certificate: CertificateInput | None = None,
        signer_trust: SignerTrust | None = None,
    ) -> P.ServerKeygenResponse | P.Pending:
        """See :meth:`EstClient.server_keygen`."""
        await self._bootstrap_once()
        op = self._new_op()
        try:
            return cast("P.ServerKeygenResponse | P.Pending", await self._run(F.server_keygen(
                self.config, op, csr, kek=kek, kek_id=kek_id, private_key=private_key,
                certificate=certificate, signer_trust=signer_trust,
            ), op))
        except ValueError as exc:
            raise _keygen_error(exc, signer_trust) from None

    async def full_cmc(self, request: P.CmcRequest | bytes, *,
                       signer_trust: SignerTrust | None = None) -> P.CmcResponse | P.Pending:
        """See :meth:`EstClient.full_cmc`."""
        await self._bootstrap_once()
        return cast("P.CmcResponse | P.Pending", await self._run(F.full_cmc(self.config, self._state, request,
                                                                           signer_trust=signer_trust)))


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
