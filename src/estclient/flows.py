"""EST operations as generator flows, carried out by the flow engine (:mod:`estclient._engine`), the pattern of
httpx's auth flows.

A flow yields *commands* and receives their results:

- :class:`Send` -> :class:`Received`: send one request. ``pinned=True`` sends it on the flow's own connection
  (channel binding needs the CSR to be signed for the connection it travels on); ``tls12_only`` caps that
  connection at TLS 1.2; ``verify=False`` is used once, for the bootstrap ``/cacerts``; ``auth`` asks the
  engine to attach the configured HTTP credentials (which it does over verified TLS only).
- :class:`Sleep` -> ``bool``: wait (202 polling, renewal's backoff); True when the wait was cut short by a stop.
- :class:`UseAnchors` -> ``None``: bootstrap accepted these CA certificates; every later request runs on a new,
  verified session anchored on them.
- :class:`Operation` -> its result: run another flow as an operation of its own (its own queue slot, deadline
  and connections), e.g. the re-enrollment inside automatic renewal; its EstError is thrown into this flow.
- :class:`Call` -> ``fn(*args)``: ordinary work (``blocking``: run in a worker thread by the async client;
  otherwise a coroutine function's result is awaited there); an exception is thrown into this flow.
- :class:`UseIdentity` -> ``None``: the client switches its TLS client identity (and closes its connections).

The flow's ``return`` value is the operation's result. Flows never sleep, never touch sockets and never
import httpx, so the sync and async clients share every rule written here: 401 handling (one retry with
credentials, RFC 7030 §3.2.3), same-origin redirects, 202 polling bounded by ``max_wait``, channel binding
(sign per connection, re-sign with the same key when the request had to go out on a new connection,
RFC 7030 §3.5), and bootstrap (RFC 7030 §4.1.1).
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Generator
from urllib.parse import urljoin, urlsplit

from . import protocol as P
from ._polling import DEFAULT_RETRY_AFTER, PendingWait, WaitHook  # noqa: F401 (DEFAULT_RETRY_AFTER: re-exported)
from .config import EstClientConfig
from .errors import (
    AuthenticationRequired,
    BootstrapVerificationError,
    EstError,
    ProtocolError,
    TlsConfigError,
)
from .tls import ConnectionInfo
from .transport import Received

if TYPE_CHECKING:
    from .config import ClientIdentity

__all__ = [
    "Send",
    "Received",
    "Sleep",
    "UseAnchors",
    "Operation",
    "Call",
    "UseIdentity",
    "FlowState",
    "Flow",
    "get_ca_certs",
    "get_csr_attributes",
    "enroll",
    "server_keygen",
    "full_cmc",
    "enroll_and_wait",
    "bootstrap",
    "validate_ca_set",
]

_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_BIND_ATTEMPTS = 4


@dataclass(frozen=True)
class Send:
    """Send ``request``; the result is its :class:`Received` (see the module for the options)."""

    request: P.EstRequest
    auth: bool = False
    pinned: bool = False
    tls12_only: bool = False
    verify: bool = True


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds``; the result is True when the wait was cut short by a stop request."""

    seconds: float


@dataclass(frozen=True)
class UseAnchors:
    """The bootstrap accepted these anchors (PEM): later requests go over new, verified sessions."""

    pem: bytes


@dataclass(frozen=True)
class Operation:
    """Run ``make(config, state)`` as an operation of its own; the result is its result."""

    make: Callable[[EstClientConfig, FlowState], Flow]


@dataclass(frozen=True)
class Call:
    """Call ``fn(*args)``; with ``blocking`` the async client runs it in a worker thread, without it a coroutine
    function's result is awaited."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    blocking: bool = False


@dataclass(frozen=True)
class UseIdentity:
    """Switch the client's TLS client identity to ``identity`` (and close its connections)."""

    identity: ClientIdentity


Command = Send | Sleep | UseAnchors | Operation | Call | UseIdentity
#: A flow: yields commands, receives their results, returns the operation's result.
Flow = Generator[Any, Any, Any]


@dataclass
class FlowState:
    """What one client learns across operations (kept by the driver, read and updated by flows)."""

    anchors_pem: bytes | None = None  # set by bootstrap
    cacerts_pem: bytes | None = None  # the last /cacerts set that passed validation (RFC 7030 §4.1.3)
    server_tls_version: str | None = None
    basic_preemptive: bool = False
    # Channel binding on a kept-alive connection: a driver that keeps its pinned connection open between
    # operations sets keep_bound; ``bound`` is then (tls12_only, that connection) while it stays open, so the
    # next enrollment signs for it and sends at once, with no probe.
    keep_bound: bool = False
    bound: tuple[bool, ConnectionInfo] | None = None
    anchors: Any = None  # the CaCertificates the bootstrap accepted (what a repeated bootstrap() returns)

    def note_pinned(self, tls12_only: bool, rec: Received) -> None:
        """Remember the connection an enrollment was pinned to, for channel binding (RFC 7030 §3.5).

        With ``keep_bound`` set, ``bound`` becomes ``(tls12_only, rec.connection)`` while that connection is still
        open and has a tls-unique value, so the next enrollment can sign for it at once; otherwise it is cleared.
        """
        if self.keep_bound:
            open_ = not rec.closed and rec.connection.tls_unique is not None
            self.bound = (tls12_only, rec.connection) if open_ else None

    def observe(self, rec: Received) -> None:
        """Record what an exchange showed about the server: the TLS version it negotiated."""
        if rec.connection.version:
            self.server_tls_version = rec.connection.version


def _trust_pem(cfg: EstClientConfig, state: FlowState) -> bytes | None:
    if state.anchors_pem is not None:
        return state.anchors_pem
    assert cfg.trust is not None
    return cfg.trust.pem


# ----------------------------------------------------------------------------- single exchanges


def _same_origin_target(cfg: EstClientConfig, current: str, location: str | None) -> str:
    if not location:
        raise ProtocolError("redirect without a Location header")
    target = urljoin(current, location.strip())
    base, t = urlsplit(cfg.server_url), urlsplit(target)
    try:
        same = (t.scheme.lower(), (t.hostname or "").lower(), t.port or 443) == (
            base.scheme.lower(), (base.hostname or "").lower(), base.port or 443)
    except ValueError:
        same = False
    if not same or t.username or t.password:
        raise ProtocolError("redirect to another origin refused (RFC 7030 §3.2.1)")
    return target


def _exchange(cfg: EstClientConfig, state: FlowState, send: Send) -> Flow:
    """One request, following same-origin redirects (at most ``cfg.max_redirects``)."""
    for _ in range(cfg.max_redirects + 1):
        rec: Received = yield send
        state.observe(rec)
        if rec.response.status not in _REDIRECTS:
            return rec
        req = send.request
        current = req.url or (cfg.server_url + req.path)
        target = _same_origin_target(cfg, current, rec.response.headers.get("location"))
        if rec.response.status == 303:
            req = replace(req, method="GET", body=None,
                          headers=tuple(h for h in req.headers
                                        if h[0].lower() not in ("content-type", "content-transfer-encoding")))
        send = replace(send, request=replace(req, url=target))
    raise ProtocolError(f"more than {cfg.max_redirects} redirects")


def _auth_from_start(cfg: EstClientConfig, state: FlowState) -> bool:
    if cfg.http_auth is None:
        return False
    # Digest: httpx's DigestAuth answers the challenge itself; Basic: only after a challenge (RFC 7030 §3.2.3),
    # then preemptively for later requests to the same server.
    return cfg.http_auth.scheme == "digest" or state.basic_preemptive


def _challenge_allows(cfg: EstClientConfig, challenge: str | None) -> bool:
    if cfg.http_auth is None:
        return False
    if not challenge:
        return True
    schemes = {part.strip().split(" ", 1)[0].lower() for part in challenge.split(",") if part.strip()}
    return cfg.http_auth.scheme in schemes or not ({"basic", "digest"} & schemes)


def _auth_failure(resp: P.EstResponse, operation: str, tried_credentials: bool) -> AuthenticationRequired:
    return P.authentication_failure(resp, operation, tried_credentials=tried_credentials)


def _simple(cfg: EstClientConfig, state: FlowState, request: P.EstRequest) -> Flow:
    """Send ``request`` with the 401 rule; return the final :class:`Received`."""
    auth = _auth_from_start(cfg, state)
    retried = False
    while True:
        rec = yield from _exchange(cfg, state, Send(request, auth=auth))
        if rec.response.status != 401:
            if auth and cfg.http_auth is not None and cfg.http_auth.scheme == "basic":
                state.basic_preemptive = True
            return rec
        challenge = rec.response.headers.get("www-authenticate")
        if retried or cfg.http_auth is None or not _challenge_allows(cfg, challenge):
            raise _auth_failure(rec.response, request.operation, auth)
        retried, auth = True, True


# ----------------------------------------------------------------------------- bootstrap


def validate_ca_set(accepted: Any, others: list[Any], *, at: Any = None) -> list[Any]:
    """Validate ``others`` from the certificate a bootstrap ``accepted`` (RFC 7030 §4.1.3): each must be a CA
    certificate (validity, basicConstraints cA, keyUsage keyCertSign) with a path to it, root key-update
    certificates included (:func:`estclient._cacerts.validate_ca_set`). Returns the set, accepted first; raises
    BootstrapVerificationError naming the certificates that fail."""
    from ._cacerts import validate_ca_set as _validate

    return _validate([accepted], [accepted, *others], at=at, error=BootstrapVerificationError)


def _validated_ca_set(cfg: EstClientConfig, state: FlowState, cas: P.CaCertificates) -> P.CaCertificates:
    """A /cacerts set validated against the anchor in use (RFC 7030 §4.1.3): the explicit or bootstrapped
    anchors; with system trust (the set came over a connection the system store authenticated), the set's most
    recent self-signed CA certificate. Remembered in ``state.cacerts_pem`` (the signer trust for Full CMC
    responses when there are no explicit anchors)."""
    from cryptography import x509

    from ._cacerts import most_recent_root, validate_ca_set as _validate

    pem = _trust_pem(cfg, state)
    if pem is not None:
        anchors: list[Any] = list(x509.load_pem_x509_certificates(pem))
    else:
        root = most_recent_root(cas)
        if root is None:
            raise ProtocolError("the /cacerts set holds no self-signed CA certificate (RFC 7030 §4.1.3 requires "
                                "the current root)")
        anchors = [root]
    good = P.CaCertificates(_validate(anchors, list(cas)))
    state.cacerts_pem = good.to_pem().encode("ascii")
    return good


def bootstrap(cfg: EstClientConfig, state: FlowState) -> Flow:
    """RFC 7030 §4.1.1: unverified ``/cacerts`` (no credentials, no client certificate), accepted by
    fingerprint or callback, the rest path-validated; then a new verified session (:class:`UseAnchors`)."""
    trust = cfg.trust
    assert trust is not None and trust.kind == "bootstrap"
    if state.anchors_pem is not None and state.anchors is not None:
        # done already: never again over an unverified connection once the client trusts its anchors
        return state.anchors
    rec = yield from _exchange(cfg, state, Send(P.build_cacerts_request(cfg.ca_label), auth=False, verify=False))
    if rec.response.status == 401:
        raise BootstrapVerificationError("the server asked for authentication on the unverified bootstrap connection")
    try:
        cas = P.parse_cacerts_response(rec.response)
    except EstError as exc:
        raise BootstrapVerificationError(f"bootstrap /cacerts failed: {exc}") from exc
    accepted = None
    for c in cas:
        if trust.matches_fingerprint(c.to_der()):
            accepted = c
            break
    if accepted is None and trust.confirm is not None:
        for c in cas:
            try:
                ok = bool(trust.confirm(c))
            except Exception as exc:
                raise BootstrapVerificationError("the bootstrap confirm callback failed") from exc
            if ok:
                accepted = c
                break
    if accepted is None:
        raise BootstrapVerificationError(
            "no CA certificate returned by the server matches the expected SHA-256 fingerprint"
            if trust.fingerprint_sha256 is not None else "the CA certificates were not confirmed"
        )
    good = validate_ca_set(accepted, list(cas))
    pem = P.CaCertificates(good).to_pem().encode("ascii")
    state.anchors_pem = pem
    state.cacerts_pem = pem
    state.anchors = P.CaCertificates(good)
    yield UseAnchors(pem)
    return state.anchors


def _ensure_bootstrapped(cfg: EstClientConfig, state: FlowState) -> Flow:
    if cfg.trust is not None and cfg.trust.kind == "bootstrap" and state.anchors_pem is None:
        yield from bootstrap(cfg, state)


# ----------------------------------------------------------------------------- operations


def get_ca_certs(cfg: EstClientConfig, state: FlowState) -> Flow:
    """``/cacerts`` (RFC 7030 §4.1) -> :class:`~estclient.protocol.CaCertificates`.

    Bootstraps first when the trust is a bootstrap; the returned set is validated against the anchor in use
    (RFC 7030 §4.1.3) and remembered in ``state.cacerts_pem``.
    """
    yield from _ensure_bootstrapped(cfg, state)
    rec = yield from _simple(cfg, state, P.build_cacerts_request(cfg.ca_label))
    return _validated_ca_set(cfg, state, P.parse_cacerts_response(rec.response))


def get_csr_attributes(cfg: EstClientConfig, state: FlowState) -> Flow:
    """``/csrattrs`` (RFC 7030 §4.5) -> :class:`estcodec.csrattrs.CsrAttrs` (empty when the server has none).

    Bootstraps first when the trust is a bootstrap.
    """
    yield from _ensure_bootstrapped(cfg, state)
    rec = yield from _simple(cfg, state, P.build_csrattrs_request(cfg.ca_label))
    return P.parse_csrattrs_response(rec.response)


_BUILDERS: dict[str, Callable[[bytes, str | None], P.EstRequest]] = {
    "simpleenroll": P.build_simpleenroll_request,
    "simplereenroll": P.build_simplereenroll_request,
    "serverkeygen": P.build_serverkeygen_request,
}


def _is_builder(csr: Any) -> bool:
    return hasattr(csr, "build_for_connection") and hasattr(csr, "channel_binding_required")


def _normalize_csr(csr: Any) -> Any:
    """A CsrBuilder as is; DER bytes, an ``estcodec.pkcs10.CertificationRequest`` or a ``cryptography``
    CertificateSigningRequest as DER bytes (sent as given)."""
    if _is_builder(csr):
        return csr
    if isinstance(csr, (bytes, bytearray, memoryview)):
        return bytes(csr)
    if hasattr(csr, "to_der"):
        return bytes(csr.to_der())
    if hasattr(csr, "public_bytes") and hasattr(csr, "is_signature_valid"):
        from cryptography.hazmat.primitives.serialization import Encoding

        return csr.public_bytes(Encoding.DER)
    raise TypeError("csr must be DER bytes, a CertificationRequest or a CsrBuilder")


def _post_csr(cfg: EstClientConfig, state: FlowState, operation: str, csr: Any) -> Flow:
    """POST a CSR (DER bytes as given, or a CsrBuilder signed per connection). Returns the final Received."""
    build = _BUILDERS[operation]
    csr = _normalize_csr(csr)
    if not _is_builder(csr):
        rec = yield from _simple(cfg, state, build(csr, cfg.ca_label))
        return rec
    mode = cfg.channel_binding
    required = mode == "require" or (mode != "off" and bool(csr.channel_binding_required))
    wants = required or (mode == "auto" and state.server_tls_version not in ("TLSv1.3",))
    if not wants:
        rec = yield from _simple(cfg, state, build(csr.build_for_connection(None), cfg.ca_label))
        return rec
    # Channel binding (RFC 7030 §3.5): sign for the connection the CSR travels on.
    # Basic credentials go with the bound request from the start: a 401 there costs the connection at servers
    # that close after it (libest, the reference server), hence a new probe and a new signature.
    auth = _auth_from_start(cfg, state) or (cfg.http_auth is not None and cfg.http_auth.scheme == "basic")
    retried_auth = False
    info: ConnectionInfo | None = None
    if state.bound is not None and state.bound[0] == required:
        info = state.bound[1]  # the kept-alive pinned connection: no probe
    last: Received | None = None
    for _ in range(_MAX_BIND_ATTEMPTS):
        for _probe in range(3):
            if info is not None:
                break
            # open the pinned connection with a harmless request (with credentials once they are known to be
            # wanted: servers like libest close the connection after every 401)
            probe = yield from _exchange(
                cfg, state,
                Send(P.build_cacerts_request(cfg.ca_label), auth=auth, pinned=True, tls12_only=required),
            )
            state.note_pinned(required, probe)
            if probe.response.status == 401 and cfg.http_auth is not None and not auth:
                auth = True
                continue
            if not probe.closed or _probe == 2:
                info = probe.connection
        assert info is not None
        if info.tls_unique is None:
            if required:
                raise TlsConfigError(
                    f"channel binding is required but the connection negotiated {info.version or 'an unknown version'}"
                    " (tls-unique exists only up to TLS 1.2)"
                )
            # auto mode on TLS 1.3: no binding
            rec = yield from _simple(cfg, state, build(csr.build_for_connection(None), cfg.ca_label))
            return rec
        der = csr.build_for_connection(base64.b64encode(info.tls_unique).decode("ascii"))
        rec = yield from _exchange(
            cfg, state, Send(build(der, cfg.ca_label), auth=auth, pinned=True, tls12_only=required)
        )
        state.note_pinned(required, rec)
        last = rec
        resp = rec.response
        moved = rec.connection.tls_unique != info.tls_unique
        if resp.status >= 400 and moved:
            # it went out on another connection (the server had closed ours): re-sign with the same key
            info = None if rec.closed or rec.connection.tls_unique is None else rec.connection
            if resp.status == 401 and cfg.http_auth is not None:
                auth = True
            continue
        if resp.status == 401:
            challenge = resp.headers.get("www-authenticate")
            if retried_auth or cfg.http_auth is None or not _challenge_allows(cfg, challenge):
                raise _auth_failure(resp, operation, auth)
            retried_auth, auth = True, True
            info = None if rec.closed else rec.connection
            continue
        if auth and cfg.http_auth is not None and cfg.http_auth.scheme == "basic" and resp.status < 400:
            state.basic_preemptive = True
        return rec
    assert last is not None
    if last.response.status == 401:
        raise _auth_failure(last.response, operation, auth)
    return last


def _check_reenroll(cfg: EstClientConfig, csr: Any, allow_without_identity: bool) -> None:
    """RFC 7030 §3.3.2 and §4.2.2: a re-enrollment is authenticated by the certificate being renewed, and the
    request's Subject and subjectAltName are identical to it (unless the request carries ChangeSubjectName).
    Without a client identity the caller must say ``allow_without_identity=True`` (the server authenticates
    re-enrollment in another way)."""
    from cryptography import x509
    from estcodec.cmc import oid as cmc_oid

    from .errors import ConfigError

    identity = cfg.client_identity
    if identity is None:
        if allow_without_identity:
            return
        raise ConfigError(
            "simple_reenroll needs the client identity being renewed (RFC 7030 §3.3.2); pass "
            "allow_without_identity=True if the server authenticates re-enrollment another way"
        )
    der = csr.build_for_connection(None) if _is_builder(csr) else csr
    try:
        req = x509.load_der_x509_csr(der)
        attrs = {a.oid.dotted_string for a in req.attributes}
    except (ValueError, TypeError):
        raise ConfigError("the re-enrollment request is not a readable PKCS#10 CSR") from None
    if cmc_oid.CHANGE_SUBJECT_NAME in attrs:
        return  # RFC 7030 §4.2.2: the request asks for a new name explicitly
    current = identity.certificate
    if req.subject.public_bytes() != current.subject.public_bytes():
        raise ConfigError("the re-enrollment request's Subject differs from the certificate being renewed "
                          "(RFC 7030 §4.2.2)")

    def sans(ext_holder: Any) -> Any:
        try:
            return ext_holder.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return None
        except ValueError:
            raise ConfigError("a subjectAltName extension cannot be read") from None

    if sans(req) != sans(current):
        raise ConfigError("the re-enrollment request's subjectAltName differs from the certificate being renewed "
                          "(RFC 7030 §4.2.2)")


def enroll(
    cfg: EstClientConfig, state: FlowState, csr: Any, *, reenroll: bool = False, allow_without_identity: bool = False
) -> Flow:
    """simpleenroll / simplereenroll -> Issued | Pending. A re-enrollment is checked by :func:`_check_reenroll`
    before anything is sent."""
    csr = _normalize_csr(csr)
    if reenroll:
        _check_reenroll(cfg, csr, allow_without_identity)
    yield from _ensure_bootstrapped(cfg, state)
    op = "simplereenroll" if reenroll else "simpleenroll"
    spki = csr.public_key_spki() if _is_builder(csr) else P.spki_of(csr)
    rec = yield from _post_csr(cfg, state, op, csr)
    return P.parse_enroll_response(rec.response, spki, operation=op)


def enroll_and_wait(
    cfg: EstClientConfig, state: FlowState, csr: Any, *, max_wait: float, reenroll: bool = False,
    on_wait: WaitHook | None = None,
) -> Flow:
    """Enroll, repeating the same request after each wait of the 202 policy (:class:`~estclient._polling.
    PendingWait`: the Retry-After, at least ``cfg.min_retry_delay``) until issued; stops with PendingTimeout
    before ``max_wait`` seconds (monotonic, from the call) pass. ``on_wait(delay, attempt)`` is told of each
    wait before it starts."""
    wait = PendingWait(max_wait, min_delay=cfg.min_retry_delay, what="enrollment", on_wait=on_wait)
    while True:
        result = yield from enroll(cfg, state, csr, reenroll=reenroll)
        if isinstance(result, P.Issued):
            return result
        yield Sleep(wait.next_delay(result.retry_after))


def server_keygen(
    cfg: EstClientConfig,
    state: FlowState,
    csr: Any,
    *,
    kek: bytes | None = None,
    kek_id: bytes | None = None,
    private_key: Any = None,
    certificate: Any = None,
    signer_trust: Any = None,
) -> Flow:
    """serverkeygen -> ServerKeygenResponse | Pending. With a CsrBuilder and ``kek_id`` or ``certificate`` the
    RFC 7030 §4.4.1 decryption-key attribute is added to the request."""
    csr = _normalize_csr(csr)
    yield from _ensure_bootstrapped(cfg, state)
    if _is_builder(csr):
        b = csr.copy()
        if kek_id is not None and not b.has_decrypt_key_request():
            b.decrypt_key_identifier(kek_id)
        elif certificate is not None and not b.has_decrypt_key_request():
            b.asymmetric_decrypt_key_identifier(_subject_key_identifier(certificate))
        csr = b
    # the signer of an encrypted key is checked like a Full CMC response's (system trust: the /cacerts set)
    decrypting = kek is not None or private_key is not None
    trust = (yield from _signer_trust(cfg, state, signer_trust)) if decrypting else signer_trust
    rec = yield from _post_csr(cfg, state, "serverkeygen", csr)
    # a key sent in the clear although the request asked for it encrypted is refused by the parser (given a
    # decryption key, it expects the encrypted form: RFC 7030 §4.4.1.1/§4.4.1.2)
    return P.parse_serverkeygen_response(
        rec.response,
        private_key=private_key,
        certificate=certificate,
        kek=kek,
        kek_id=kek_id,
        signer_trust=trust,
    )


def _subject_key_identifier(certificate: Any) -> bytes:
    from estcodec.pkix import certificate_key_identifier

    return certificate_key_identifier(certificate)


def _signer_trust(cfg: EstClientConfig, state: FlowState, signer_trust: Any) -> Flow:
    """Whom a signed server answer must chain to: ``signer_trust``, else the explicit or bootstrapped anchors,
    else (system trust) the validated /cacerts set, fetched once. Never nothing: verification is not skipped."""
    if signer_trust is not None:
        return signer_trust
    trust = _trust_pem(cfg, state)
    if trust is None:
        if state.cacerts_pem is None:
            yield from get_ca_certs(cfg, state)
        trust = state.cacerts_pem
    return trust


def full_cmc(cfg: EstClientConfig, state: FlowState, request: Any, *, signer_trust: Any = None) -> Flow:
    """fullcmc -> CmcResponse | Pending; the Full PKI Response signature is checked against ``signer_trust``, else
    the EST trust anchors (explicit or bootstrapped), else (system trust) the validated /cacerts set; the
    response must echo the request's transactionId and senderNonce (RFC 5272 §6.6, §6.7)."""
    yield from _ensure_bootstrapped(cfg, state)
    der = request.to_der() if hasattr(request, "to_der") else request
    if not isinstance(der, (bytes, bytearray)):
        raise TypeError("request must be a CmcRequest or DER bytes")
    trust = yield from _signer_trust(cfg, state, signer_trust)
    rec = yield from _simple(cfg, state, P.build_fullcmc_request(bytes(der), cfg.ca_label))
    return P.parse_fullcmc_response(rec.response, signer_trust=trust, request=request)


def fingerprint(cert: Any) -> str:
    """Hex SHA-256 fingerprint of a certificate model (what :meth:`TrustAnchors.bootstrap` compares)."""
    return hashlib.sha256(cert.to_der()).hexdigest()


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
