"""``EstTestServer``: a real HTTPS EST (RFC 7030) server on loopback, for tests and demos.

It is a reference peer, not a mock, built on ``estcodec``: it reads and verifies PKCS#10 requests
(``estcodec.pkcs10``) and Full PKI Requests (``estcodec.cmc``), and writes certs-only responses
(``estcodec.cms``), CSR attributes (``estcodec.csrattrs``), CA-signed PKIResponses
(``estcodec.cmc.PkiResponseBuilder``) and encrypted server-generated keys
(``estcodec.enveloped.wrap_server_generated_key``). A throwaway CA made with ``cryptography`` issues
real certificates, TLS is real (stdlib ``ssl``), HTTP is real (``http.server`` handlers, served by a
bounded pool of worker threads). Because client and server then share the codec, the server's own tests check
what it sends and reads with independent tools: ``openssl cms``, pyasn1-modules and ``cryptography``.

Behaviour, in the terms of RFC 7030 (and where it imitates Cisco libest's ``estserver``):

* Paths: ``/.well-known/est/<op>`` always (RFC 7030 §3.2.2: "MUST provide services regardless of
  whether the additional path segment is present"; ``serve_unlabelled=False`` turns that off), and
  ``/.well-known/est/<label>/<op>`` for each configured ``ca_label``. Every path is served by the
  same CA. An unknown label or operation gets 404, a wrong method 405.
* Bodies: base64 on one line (RFC 4648 §3.1), ended by one LF, with ``Content-Transfer-Encoding: base64`` for the
  clients that look at it (RFC 8951 §3.2.2 has recipients ignore it; requests are always read as base64,
  with any whitespace, or as raw DER). Request bodies come with Content-Length or chunked (RFC 9112 §7.1),
  both capped at 1 MiB. HEAD is answered on the GET operations.
* ``/cacerts`` (GET): certs-only, base64, ``application/pkcs7-mime``; never asks for authentication.
* ``/csrattrs`` (GET): ``application/csrattrs`` base64; 204 when configured empty; lists
  challengePassword when ``require_channel_binding`` is on; never asks for authentication.
* ``/simpleenroll``, ``/simplereenroll``, ``/serverkeygen``, ``/fullcmc`` (POST) authenticate the
  client first. A TLS client certificate that chains to the server's trust (its own CA, plus
  ``client_trust_pem``) authenticates in every mode; otherwise ``auth="basic"`` / ``"digest"``
  want HTTP credentials (401 with a challenge and an empty body, the reason in the status line),
  ``auth="cert"`` answers 403 (no HTTP challenge applies; libest sends 401 without a challenge
  there), ``auth=None`` lets everyone in. Every 401 carries WWW-Authenticate (RFC 9110 §15.5.2).
* ``/simplereenroll`` needs (else 403) the TLS client certificate being renewed, issued by this CA, whose
  subject and subjectAltName equal the CSR's, unless the CSR carries changeSubjectName
  (RFC 7030 §4.2.2; then the CSR's names are used). With ``reenroll_with_credentials`` a client
  authenticated by HTTP credentials without a TLS certificate renews the newest unrevoked certificate
  this CA issued to the CSR's subject (a token key cannot be a TLS client key with Python's ssl).
* Every CSR signature is verified (400 otherwise), except on /serverkeygen, where RFC 7030 §4.4.1
  says the server MUST ignore the CSR's public key and signature (``verify_serverkeygen_signature``
  turns the check on there too). A challengePassword, when present (and always when
  ``require_channel_binding``), must be base64(tls-unique) of the connection the CSR arrived
  on (RFC 7030 §3.5); a mismatch gets 403 "Proof of Possession Mismatch" (libest sends that text
  with 401; re-authenticating cannot help, so 403 here). tls-unique
  exists only up to TLS 1.2: ``require_channel_binding`` caps the server at TLS 1.2, and a
  challengePassword arriving over TLS 1.3 is refused.
* ``pending_retry_after``: the first ``pending_repeats`` requests of an operation for a given
  public key get 202 with ``Retry-After`` (seconds, or the string given); the next one is served.
* ``/serverkeygen`` ignores the CSR's key (RFC 7030 §4.4.1), generates one of the same family, and
  answers ``multipart/mixed`` with an ``application/pkcs8`` part and a certs-only part. When the CSR
  carries DecryptKeyIdentifier (a KEK in ``server_keygen_keks``) or AsymmetricDecryptKeyIdentifier
  (the SKI of a certificate this CA issued), the key part becomes ``application/pkcs7-mime;
  smime-type=server-generated-key``: EnvelopedData(SignedData(AsymmetricKeyPackage)) signed by
  the CA (RFC 7030 §4.4.2). An unknown key identifier gets 400.
* ``/fullcmc`` reads a Full PKI Request (SignedData(PKIData), DER or BER, signature checked, each PKCS#10
  verified) and answers a CA-signed PKIResponse with statusInfoV2 (or certs-only with
  ``fullcmc_response="certs-only"``); failures are 400 with a CMC error response body. Only
  PKCS#10 requests (tcr) are served (a CRMF request fails with badRequest); ``pending_retry_after``
  and ``require_channel_binding`` do not apply to /fullcmc (CMC has its own pending status and
  identity/POP linking).
* ``close_after_error`` (default on, like libest): after any 202, 4xx or 5xx the server sends
  ``Connection: close`` and closes the connection.
"""
from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from estcodec.x509 import Certificate

from ._ca import generate_key
from ._handler import _Server
from ._state import OPERATIONS, PREFIX, SERVER_KEY_TYPES, RequestRecord, ServerState, tls_version

__all__ = ["EstTestServer", "RequestRecord", "OPERATIONS", "SERVER_KEY_TYPES"]


def _load_cert_chain(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes, *, prefix: str) -> None:
    """Load a PEM certificate chain and key into ``ctx`` (``ssl`` reads them only from files): through a
    private temporary directory, the key file created 0600, both removed at once."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = os.path.join(tmp, "key.pem")
        with open(cert_path, "wb") as fh:
            fh.write(cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem)
        ctx.load_cert_chain(cert_path, key_path)


class EstTestServer(ServerState):
    """A real HTTPS EST server on 127.0.0.1 with a throwaway CA. Use it as a context manager::

        with EstTestServer(auth="basic", ca_label="arbitraryLabel1") as srv:
            srv.url                # "https://127.0.0.1:PORT" (the origin; EST paths hang below it)
            srv.trust_anchor_pem   # PEM of the CA that signed the TLS certificate (and issues)
            srv.username, srv.password

    Options (all keyword-only):

    ``ca_label``: a label or a list of labels served as ``/.well-known/est/<label>/<op>``;
    ``serve_unlabelled`` (default True, as RFC 7030 §3.2.2 requires): also serve the bare paths.
    ``auth``: ``"basic"`` (default), ``"digest"``, ``"cert"`` or ``None``; ``username``,
    ``password`` (random when not given), ``realm``, ``digest_algorithm`` (``"SHA-256"`` default,
    ``"MD5"``, or a ``-sess`` variant); ``auth_csrattrs`` (default False) puts /csrattrs behind auth.
    ``pending_retry_after``: None (default), seconds, or a string sent verbatim as Retry-After
    (e.g. an HTTP-date); ``pending_repeats`` (default 1) 202s per operation and public key.
    ``server_keygen_keks``: ``{kek_id: kek}`` AES keys of 16/24/32 bytes.
    ``server_keygen`` / ``fullcmc`` (default True): False makes the operation answer 501.
    ``server_keygen_key_type``: force a key type (``"ec-p256"``, ``"rsa-2048"``...); default: the
    CSR key's family (libest's client refuses keys under 256 bytes of DER: choose an RSA type for it).
    ``server_keygen_key_format``: ``"pkcs8"`` (default) or ``"traditional"``
    (PKCS#1/SEC1, as libest sends under the pkcs8 label) for the unencrypted key part; an encrypted
    key is always a OneAsymmetricKey in an AsymmetricKeyPackage (RFC 7030 §4.4.2, RFC 5958).
    ``verify_serverkeygen_signature`` (default False: RFC 7030 §4.4.1 says the server MUST ignore the CSR's key and
    signature).
    ``rsa_key_transport``: ``"oaep"``
    (default, SHA-256) or ``"pkcs1v15"`` when the CSR's SMIMECapabilities do not choose.
    ``require_channel_binding``: caps TLS at 1.2 and requires base64(tls-unique) as challengePassword.
    ``tls_min_version`` / ``tls_max_version``: ``"1.2"``/``"1.3"`` or ``ssl.TLSVersion``.
    ``cert_lifetime``: seconds of validity of issued certificates (default 30 days).
    ``close_after_error`` (default True): close the connection after 202/4xx/5xx, as libest does.
    ``verbose``: one line per request (method, path, status, authentication used, bytes in and out,
    milliseconds) on ``log_stream`` (default ``sys.stderr``).
    ``csr_attrs``: None (default set), DER bytes (served as given; ``b""`` gives 204), a list of
    dotted OIDs, or False (404). ``fullcmc_response``: ``"pki-response"`` (default) or ``"certs-only"``.
    ``client_trust_pem``: extra PEM trust anchors for TLS client certificates (third-party certs).
    ``extra_ca_certificates``: more certificates for /cacerts (e.g. rollover certificates).
    ``ca_key_type``: the CA's key (default ``"ec-p256"``). ``ca_intermediate``: issue (and serve TLS)
    from an intermediate CA below the root; /cacerts then holds both. ``ca_rollover``: add the RFC 4210
    §4.4 root key-update certificates (NewWithNew, OldWithNew, NewWithOld) to /cacerts, as RFC 7030
    §4.1.3 suggests. ``enroll_response_chain``: put the CA chain next to the issued certificate in
    enrollment responses (RFC 7030 §4.2.3 says "only the certificate that was issued"; real servers
    differ, and certificates in a certs-only response have no defined order). ``tls_cmc_ra``: put id-kp-cmcRA into
    the TLS certificate. ``tls_hostname_in_cert`` (default True): False leaves the TLS certificate
    without any SAN for 127.0.0.1/localhost (to test server-authorization failures).
    """

    _httpd: _Server | None = None
    _thread: threading.Thread | None = None

    # ---------------------------------------------------------------------------------- lifecycle

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = self.tls_min_version
        if self.tls_max_version is not None:
            ctx.maximum_version = self.tls_max_version
        _load_cert_chain(ctx, self.ca.tls_chain_pem(), self.ca.tls_key_pem(), prefix="est-test-server-")
        ctx.verify_mode = ssl.CERT_OPTIONAL
        # the intermediate joins the trust store so that clients presenting just their leaf verify
        trust = "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in [self.ca.certificate, *self.ca.intermediates]
        ) + (self.client_trust_pem or b"").decode()
        ctx.load_verify_locations(cadata=trust)
        return ctx

    def start(self) -> EstTestServer:
        """Listen on ``host``:``port`` (0: a free port) and serve in a background thread; returns self.

        Starting a running server does nothing. The revocation service, when configured, starts first."""
        if self._httpd is not None:
            return self
        ctx = self._ssl_context()
        if self.revocation is not None:  # first, so that a port in use leaves nothing running
            self.revocation.start()
        try:
            httpd = _Server((self.host, self._requested_port), self)
        except BaseException:
            if self.revocation is not None:
                self.revocation.stop()
            raise
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="EstTestServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (and the revocation service); idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        if self.revocation is not None:
            self.revocation.stop()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            open_socks = list(self._open)
        for sock in open_socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EstTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------------- public data

    @property
    def port(self) -> int:
        """The TCP port the server listens on; RuntimeError when it is not running."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The origin, ``https://127.0.0.1:PORT``; operations live under ``/.well-known/est/``."""
        return f"https://{self.host}:{self.port}"

    def operation_url(self, operation: str, *, label: str | None = None) -> str:
        """Full URL of an operation, with ``label`` (or none) between ``/.well-known/est/`` and it."""
        return f"{self.url}{PREFIX}{label + '/' if label else ''}{operation}"

    @property
    def trust_anchor_pem(self) -> bytes:
        """PEM of the root CA: the trust anchor for the TLS server certificate and issued certificates."""
        return self.ca.certificate_pem

    @property
    def ca_certificate(self) -> x509.Certificate:
        """The root CA certificate."""
        return self.ca.certificate

    @property
    def ca_key(self) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
        """The root CA's private key."""
        return self.ca.key

    @property
    def issuer_certificate(self) -> x509.Certificate:
        """The CA certificate that signs issued certificates (the root unless ``ca_intermediate``)."""
        return self.ca.issuer_certificate

    @property
    def ca_fingerprint_sha256(self) -> bytes:
        """SHA-256 over the CA certificate's DER (what an RFC 7030 §4.1.1 bootstrap compares)."""

        return self.ca.certificate.fingerprint(hashes.SHA256())

    @property
    def tls_certificate(self) -> x509.Certificate:
        """The server's TLS certificate."""
        return self.ca.tls_certificate

    @property
    def issued_certificates(self) -> list[x509.Certificate]:
        """Every certificate this server's CA has issued so far (a copy)."""
        with self.ca._lock:
            return list(self.ca.issued.values())

    def issue_client_identity(
        self,
        common_name: str,
        *,
        key_type: str = "ec-p256",
        lifetime: float | None = None,
        san_dns: Iterable[str] = (),
        key_usage: x509.KeyUsage | None = None,
    ) -> tuple[bytes, bytes]:
        """Issue a TLS client certificate from this CA: returns (cert_pem, key_pem PKCS#8)."""
        key = generate_key(key_type)
        requested: list[x509.Extension[x509.ExtensionType]] = []
        sans = [x509.DNSName(d) for d in san_dns]
        if sans:
            requested.append(x509.Extension(x509.SubjectAlternativeName.oid, False, x509.SubjectAlternativeName(sans)))
        if key_usage is not None:
            requested.append(x509.Extension(x509.KeyUsage.oid, True, key_usage))
        cert = self.ca.issue(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
            key.public_key(),
            requested,
            lifetime=self.cert_lifetime if lifetime is None else lifetime,
            extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem

    def client_ssl_context(
        self,
        identity: tuple[bytes, bytes] | None = None,
        *,
        max_version: str | ssl.TLSVersion | None = None,
    ) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` for a plain HTTP client (httpx, urllib) that trusts this server.

        ``identity`` is a (cert_pem, key_pem) pair such as :meth:`issue_client_identity` returns,
        presented as the TLS client certificate; ``max_version`` caps the client's TLS version.
        """
        ctx = ssl.create_default_context(cadata=self.trust_anchor_pem.decode("ascii"))
        cap = tls_version(max_version)
        if cap is not None:
            ctx.maximum_version = cap
        if identity is not None:
            _load_cert_chain(ctx, identity[0], identity[1], prefix="est-test-client-")
        return ctx

    def revoke(
        self, certificate: x509.Certificate | Certificate | int, *,
        reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
    ) -> None:
        """Revoke a certificate this server issued (``cryptography`` or ``estcodec`` certificate, or a serial):
        the CRL lists it and the OCSP responder answers "revoked" from now on."""
        if isinstance(certificate, Certificate):
            certificate = x509.load_der_x509_certificate(certificate.to_der())
        self.ca.revoke(certificate, reason=reason)

    def __repr__(self) -> str:
        state = f"{self.url}" if self._httpd is not None else "stopped"
        return f"<EstTestServer {state} auth={self.auth!r} labels={list(self.ca_labels)}>"

