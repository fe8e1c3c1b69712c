"""The reference server's configuration and shared state: options checked once, counters and records kept
under one lock, and the answers that depend only on configuration (the /csrattrs body, certs-only and CMC
responses). The request handler (``_handler``) and the operations read it; ``server.EstTestServer`` adds the
lifecycle and the public accessors on top."""
from __future__ import annotations

import ssl
import sys
import secrets
import socket
import threading
from dataclasses import dataclass
from typing import Iterable, Mapping, TextIO

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from estcodec import oids as _oids
from estcodec.cmc import PKIData, PkiResponseBuilder
from estcodec.cms import build_certs_only
from estcodec.csrattrs import CsrAttrsBuilder
from estcodec.csrattrs import oid as csrattrs_oid

from ._ca import TestCa
from ._digest import DigestVerifier
from ._revocation import RevocationService

OPERATIONS = ("cacerts", "csrattrs", "simpleenroll", "simplereenroll", "serverkeygen", "fullcmc")
SERVER_KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519")  # server_keygen_key_type choices
PREFIX = "/.well-known/est/"
_OID_SHA256 = _oids.ID_SHA256  # what /csrattrs lists by default (RFC 7030 A.2 style)

_TLS_VERSIONS = {
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def tls_version(value: str | ssl.TLSVersion | None) -> ssl.TLSVersion | None:
    """``"1.2"``/``"1.3"`` (or ``"TLSv1.x"``, or an ``ssl.TLSVersion``) as an ``ssl.TLSVersion``; None stays None."""
    if value is None or isinstance(value, ssl.TLSVersion):
        return value
    try:
        return _TLS_VERSIONS[str(value)]
    except KeyError:
        raise ValueError(f"TLS version must be '1.2' or '1.3' (or an ssl.TLSVersion), not {value!r}") from None


def certs_only(certs: list[x509.Certificate]) -> bytes:
    """A certs-only Simple PKI Response (RFC 5272 §4.1), certificates in DER SET OF order."""
    return build_certs_only(certs, canonical=True)


@dataclass(frozen=True)
class RequestRecord:
    """What the server saw and answered, one entry per HTTP request (for test assertions)."""

    connection_id: int
    method: str
    path: str
    operation: str | None
    label: str | None
    status: int
    tls_version: str | None
    authenticated_by: str | None  # "certificate", "basic", "digest", "none" or None (not authenticated)
    client_certificate_subject: str | None


class ServerState:
    """The options of an :class:`~estclient.testing.EstTestServer` (validated), its CA, and what it counts
    and records. The options are documented on ``EstTestServer``."""

    def __init__(
        self,
        *,
        ca_label: str | Iterable[str] | None = None,
        serve_unlabelled: bool = True,
        auth: str | None = "basic",
        username: str = "estuser",
        password: str | None = None,
        realm: str = "estrealm",
        digest_algorithm: str = "SHA-256",
        auth_csrattrs: bool = False,
        pending_retry_after: float | str | None = None,
        pending_repeats: int = 1,
        server_keygen_keks: Mapping[bytes, bytes] | None = None,
        server_keygen: bool = True,
        server_keygen_key_type: str | None = None,
        server_keygen_key_format: str = "pkcs8",
        verify_serverkeygen_signature: bool = False,
        rsa_key_transport: str = "oaep",
        fullcmc: bool = True,
        fullcmc_response: str = "pki-response",
        require_channel_binding: bool = False,
        tls_min_version: str | ssl.TLSVersion | None = None,
        tls_max_version: str | ssl.TLSVersion | None = None,
        cert_lifetime: float = 30 * 86400,
        close_after_error: bool = True,
        csr_attrs: bytes | list[str] | bool | None = None,
        client_trust_pem: bytes | None = None,
        extra_ca_certificates: Iterable[x509.Certificate] = (),
        ca_key_type: str = "ec-p256",
        ca_intermediate: bool = False,
        ca_rollover: bool = False,
        enroll_response_chain: bool = False,
        tls_cmc_ra: bool = False,
        tls_hostname_in_cert: bool = True,
        revocation: bool = False,
        revocation_port: int = 0,
        ocsp_signer: str = "ca",
        reenroll_with_credentials: bool = False,
        ca_name_constraints: x509.NameConstraints | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout: float = 15.0,
        verbose: bool = False,
        log_stream: TextIO | None = None,
    ) -> None:
        if auth not in ("basic", "digest", "cert", None):
            raise ValueError("auth must be 'basic', 'digest', 'cert' or None")
        labels = [ca_label] if isinstance(ca_label, str) else list(ca_label or [])
        for label in labels:
            if not label or "/" in label or label in OPERATIONS:
                raise ValueError(f"invalid CA label {label!r} (RFC 7030 section 3.2.2)")
        if fullcmc_response not in ("pki-response", "certs-only"):
            raise ValueError("fullcmc_response must be 'pki-response' or 'certs-only'")
        if server_keygen_key_format not in ("pkcs8", "traditional"):
            raise ValueError("server_keygen_key_format must be 'pkcs8' or 'traditional'")
        if ca_key_type not in ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072"):
            raise ValueError("ca_key_type must be 'ec-p256', 'ec-p384', 'rsa-2048' or 'rsa-3072'")
        if server_keygen_key_type is not None and server_keygen_key_type not in SERVER_KEY_TYPES:
            raise ValueError(f"server_keygen_key_type must be one of {', '.join(SERVER_KEY_TYPES)}")
        if rsa_key_transport not in ("oaep", "pkcs1v15"):
            raise ValueError("rsa_key_transport must be 'oaep' or 'pkcs1v15'")
        keks = dict(server_keygen_keks or {})
        for kek_id, kek in keks.items():
            if not isinstance(kek_id, bytes) or not isinstance(kek, bytes) or len(kek) not in (16, 24, 32):
                raise ValueError("server_keygen_keks maps bytes key ids to AES keys of 16, 24 or 32 bytes")
        self.tls_min_version = tls_version(tls_min_version) or ssl.TLSVersion.TLSv1_2
        self.tls_max_version = tls_version(tls_max_version)
        if require_channel_binding:
            if self.tls_min_version > ssl.TLSVersion.TLSv1_2:
                raise ValueError("channel binding (tls-unique) needs TLS 1.2; it cannot be required on TLS 1.3")
            self.tls_max_version = ssl.TLSVersion.TLSv1_2
        self.ca_labels = tuple(labels)
        self.ca_label = labels[0] if labels else None
        self.serve_unlabelled = serve_unlabelled
        self.auth = auth
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(12)
        self.realm = realm
        self.auth_csrattrs = auth_csrattrs
        self._digest = (
            DigestVerifier(self.username, self.password, realm=realm, algorithm=digest_algorithm)
            if auth == "digest" else None
        )
        self.pending_retry_after = pending_retry_after
        self.pending_repeats = pending_repeats
        self.server_keygen_keks = keks
        self.server_keygen = server_keygen
        self.server_keygen_key_type = server_keygen_key_type
        self.server_keygen_key_format = server_keygen_key_format
        self.verify_serverkeygen_signature = verify_serverkeygen_signature
        self.rsa_key_transport = rsa_key_transport
        self.fullcmc = fullcmc
        self.fullcmc_response = fullcmc_response
        self.require_channel_binding = require_channel_binding
        self.cert_lifetime = float(cert_lifetime)
        self.close_after_error = close_after_error
        self.csr_attrs = csr_attrs
        self.client_trust_pem = client_trust_pem
        self.extra_ca_certificates = list(extra_ca_certificates)
        self.multipart_line_ending = "\r\n"
        self.host = host
        self.idle_timeout = idle_timeout
        self.verbose = verbose
        self._log_stream = log_stream
        self.enroll_response_chain = enroll_response_chain
        self.ca = TestCa(
            key_type=ca_key_type, tls_cmc_ra=tls_cmc_ra, tls_include_hostname=tls_hostname_in_cert,
            intermediate=ca_intermediate, rollover=ca_rollover, name_constraints=ca_name_constraints,
        )
        self.revocation = (RevocationService(self.ca, host=host, port=revocation_port, ocsp_signer=ocsp_signer)
                           if revocation else None)
        self.reenroll_with_credentials = reenroll_with_credentials
        self.requests: list[RequestRecord] = []
        self.connections_opened = 0
        self.tls_failures = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, bytes], int] = {}
        self._open: set[socket.socket] = set()
        self._requested_port = port

    def reset_pending(self) -> None:
        """Forget which requests were already answered 202."""
        with self._lock:
            self._pending.clear()

    def csr_attrs_der(self) -> bytes | None:
        """The /csrattrs body (DER) as configured; b"" means 204, None means 404."""
        value = self.csr_attrs
        if value is False:
            return None
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        oids = list(value) if isinstance(value, list) else [_OID_SHA256]
        if self.require_channel_binding and csrattrs_oid.CHALLENGE_PASSWORD not in oids:
            oids.insert(0, csrattrs_oid.CHALLENGE_PASSWORD)
        builder = CsrAttrsBuilder()
        for attr_oid in oids:
            builder = builder.oid(attr_oid)
        return builder.build().to_der()

    # ---------------------------------------------------------------------------------- internals

    def _sign_pki_response(
        self, response: PkiResponseBuilder, request: PKIData | None, certificates: list[x509.Certificate]
    ) -> bytes:
        """ContentInfo(SignedData(PKIResponse)) signed by the issuing CA: after the statuses, the
        transactionId echoed and the client's senderNonce returned as recipientNonce (RFC 5272 §6.6), then a
        fresh senderNonce; the issued certificates ride in the SignedData certificates field."""
        if request is not None:
            response.reply_to(request)
        response.random_sender_nonce()
        for cert in certificates:
            response.add_certificate(cert)
        return response.sign(self.ca.issuer_key, self.ca.issuer_certificate, canonical=True)  # DER SET OF order

    def _issued_certs_only(self, cert: x509.Certificate) -> bytes:
        chain = [*self.ca.intermediates, self.ca.certificate] if self.enroll_response_chain else []
        return certs_only([*chain, cert])

    def _key_format(self, key: object) -> serialization.PrivateFormat:
        if self.server_keygen_key_format == "traditional" and isinstance(
            key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)
        ):
            return serialization.PrivateFormat.TraditionalOpenSSL
        return serialization.PrivateFormat.PKCS8

    def _new_connection(self, sock: socket.socket) -> int:
        with self._lock:
            self.connections_opened += 1
            self._open.add(sock)
            return self.connections_opened

    def _end_connection(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _note_tls_failure(self) -> None:
        with self._lock:
            self.tls_failures += 1

    def _log(self, line: str) -> None:
        stream = self._log_stream if self._log_stream is not None else sys.stderr
        with self._lock:
            print(line, file=stream, flush=True)

    def _note_error(self) -> None:
        with self._lock:
            self.errors += 1

