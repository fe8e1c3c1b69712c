"""The reference server's revocation service: a CRL and an OCSP responder (RFC 5280 §5, RFC 6960) for its CA.

They are served over plain HTTP on their own loopback port (CRLs and OCSP responses are signed objects; RFC 5280
§4.2.1.13 and RFC 6960 Appendix A use ``http``), next to the HTTPS EST service:

* ``GET /crl/issuing-ca.crl``: the issuing CA's current CRL, DER (``application/pkix-crl``), built for each
  request with :class:`estcodec.crl.CertificateListBuilder` (CRL number, authorityKeyIdentifier, one entry with
  reasonCode per revoked certificate) and signed by the issuing CA's key.
* ``POST /ocsp`` (``application/ocsp-request`` body) and ``GET /ocsp/<base64 of the request>`` (RFC 6960
  Appendix A.1): the request is read with :mod:`estcodec.ocsp`; the answer is written by ``cryptography``'s
  ``OCSPResponseBuilder``, signed by the issuing CA itself or (``ocsp_signer="delegated"``) by a responder
  certificate it issued with id-kp-OCSPSigning (RFC 6960 §4.2.2.2). The request's nonce is echoed (RFC 8954).
* ``POST /admin/revoke`` (a certificate, PEM or DER; ``?reason=keyCompromise``): revokes it, for people who run
  ``python -m estclient.testing --revocation`` and want to try their client's revocation checks.

``faults`` makes the service misbehave on purpose, so that clients can be shown to refuse what they must:
``"crl-bad-signature"`` (the CRL is signed by another key), ``"crl-stale"`` (nextUpdate in the past),
``"ocsp-bad-signature"``, ``"ocsp-stale"`` (nextUpdate in the past), ``"ocsp-wrong-nonce"`` and
``"ocsp-unauthorized-signer"`` (signed by a certificate without id-kp-OCSPSigning).
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from estcodec import oids as _oids
from estcodec import Error as CodecError
from estcodec.crl import CertificateListBuilder, CRLReason
from estcodec.ocsp import OCSPRequest
from estcodec.x509 import Name, SubjectPublicKeyInfo

from ._ca import GeneratedKey, TestCa, _sign_hash, generate_key

__all__ = ["RevocationService", "FAULTS", "CRL_PATH"]

FAULTS = frozenset({"crl-bad-signature", "crl-stale", "ocsp-bad-signature", "ocsp-stale", "ocsp-wrong-nonce",
                    "ocsp-unauthorized-signer"})
CRL_PATH = "/crl/issuing-ca.crl"
_MAX_BODY = 64 * 1024
_MAX_REQUESTS_PER_OCSP = 16
_OCSP_NO_CHECK = x509.ObjectIdentifier(_oids.ID_PKIX_OCSP_NOCHECK)  # id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1)
# the CertID hash algorithms the responder answers for (dotted OID -> cryptography hash)
_CERT_ID_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    _oids.ID_SHA1: hashes.SHA1, _oids.ID_SHA256: hashes.SHA256,
    _oids.ID_SHA384: hashes.SHA384, _oids.ID_SHA512: hashes.SHA512,
}


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


class RevocationService:
    """CRL and OCSP for ``ca``'s issuing CA, on ``http://host:port`` once :meth:`start` ran.

    ``crl_validity`` / ``ocsp_validity``: seconds between thisUpdate and nextUpdate. ``ocsp_signer``: ``"ca"``
    or ``"delegated"``. ``faults``: a set of :data:`FAULTS` names, read at each request (tests change it).
    ``crl_requests`` and ``ocsp_requests`` count what was served."""

    def __init__(self, ca: TestCa, *, host: str = "127.0.0.1", port: int = 0, crl_validity: float = 3600.0,
                 ocsp_validity: float = 3600.0, ocsp_signer: str = "ca") -> None:
        if ocsp_signer not in ("ca", "delegated"):
            raise ValueError("ocsp_signer must be 'ca' or 'delegated'")
        self.ca = ca
        self.host = host
        self.crl_validity = float(crl_validity)
        self.ocsp_validity = float(ocsp_validity)
        self.ocsp_signer = ocsp_signer
        self.faults: set[str] = set()
        self.crl_requests = 0
        self.ocsp_requests = 0
        self._crl_number = 0
        self._lock = threading.Lock()
        self._requested_port = port
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._responder: tuple[GeneratedKey, x509.Certificate] | None = None
        self._unauthorized: tuple[GeneratedKey, x509.Certificate] | None = None

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> RevocationService:
        """Bind and serve in a thread; from then on the CA puts the CRL and OCSP URLs into what it issues."""
        if self._httpd is not None:
            return self
        httpd = _Listener((self.host, self._requested_port), _Handler)
        httpd.service = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="EstTestServer-revocation", daemon=True)
        self._thread.start()
        self.ca.crl_url = self.url + CRL_PATH
        self.ca.ocsp_url = self.url + "/ocsp"
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._httpd is None:
            raise RuntimeError("the revocation service is not running")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    @property
    def crl_url(self) -> str:
        """Where the CRL is served (DER, ``application/pkix-crl``)."""
        return self.url + CRL_PATH

    @property
    def ocsp_url(self) -> str:
        """The OCSP responder (RFC 6960, GET and POST)."""
        return self.url + "/ocsp"

    # ------------------------------------------------------------------------------------------ CRL

    def crl_der(self) -> bytes:
        """The issuing CA's CRL now (DER), with every revoked certificate."""
        ca = self.ca
        now = _now()
        with self._lock:
            self._crl_number += 1
            number = self._crl_number
        with ca._lock:
            revoked = sorted(ca.revoked.items())
        next_update = now + _dt.timedelta(seconds=self.crl_validity)
        this_update = now - _dt.timedelta(minutes=1)
        if "crl-stale" in self.faults:
            this_update, next_update = now - _dt.timedelta(days=2), now - _dt.timedelta(days=1)
        ski = ca.issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        builder = (CertificateListBuilder()
                   .issuer(Name.from_der(ca.issuer_certificate.subject.public_bytes()))
                   .this_update(this_update).next_update(next_update)
                   .crl_number(number).authority_key_identifier(ski))
        for serial, (when, reason) in revoked:
            code = None if reason is None else CRLReason[reason.name.upper()]  # same names, as RFC 5280 spells them
            builder = builder.add_revoked(serial, when, reason=code)
        key = generate_key("ec-p256") if "crl-bad-signature" in self.faults else ca.issuer_key
        return builder.sign(key).to_der()

    # ------------------------------------------------------------------------------------------ OCSP

    def _delegated(self, *, authorized: bool) -> tuple[GeneratedKey, x509.Certificate]:
        """A responder key and certificate issued by the issuing CA (with id-kp-OCSPSigning when ``authorized``)."""
        with self._lock:
            have = self._responder if authorized else self._unauthorized
            if have is not None:
                return have
            key = generate_key("ec-p256")
            now = _now()
            eku = [ExtendedKeyUsageOID.OCSP_SIGNING if authorized else ExtendedKeyUsageOID.CLIENT_AUTH]
            cert = (
                x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EstTestServer OCSP responder")]))
                .issuer_name(self.ca.issuer_certificate.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(minutes=5))
                .not_valid_after(now + _dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
                .add_extension(x509.UnrecognizedExtension(_OCSP_NO_CHECK, b"\x05\x00"), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.ca.issuer_key.public_key()), critical=False)
                .sign(self.ca.issuer_key, _sign_hash(self.ca.issuer_key))
            )
            pair = (key, cert)
            if authorized:
                self._responder = pair
            else:
                self._unauthorized = pair
            return pair

    def ocsp_response_der(self, request_der: bytes) -> bytes:
        """The DER OCSPResponse for a DER OCSPRequest (malformedRequest when it cannot be read)."""
        try:
            request = OCSPRequest.from_der(request_der)
            cert_ids = request.cert_ids
            nonce = request.nonce
        except CodecError:
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if not 1 <= len(cert_ids) <= _MAX_REQUESTS_PER_OCSP:
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        ca = self.ca
        issuer = ca.issuer_certificate
        name_der = issuer.subject.public_bytes()
        spki = SubjectPublicKeyInfo.from_der(issuer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
        key_bits = spki.subject_public_key.data
        now = _now()
        this_update, next_update = now - _dt.timedelta(minutes=1), now + _dt.timedelta(seconds=self.ocsp_validity)
        if "ocsp-stale" in self.faults:
            this_update, next_update = now - _dt.timedelta(days=2), now - _dt.timedelta(days=1)
        builder = ocsp.OCSPResponseBuilder()
        for cid in cert_ids:
            algorithm_class = _CERT_ID_HASHES.get(cid.hash_algorithm.algorithm)
            if algorithm_class is None:
                return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
            algorithm = algorithm_class()
            name = hashlib.new(algorithm.name, name_der).digest()
            key = hashlib.new(algorithm.name, key_bits).digest()
            if (bytes(cid.issuer_name_hash), bytes(cid.issuer_key_hash)) != (name, key):
                return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)  # not a certificate of this CA
            serial = int(cid.serial_number)
            revoked = ca.revocation_of(serial)
            with ca._lock:
                known = serial in ca.issued
            status = (ocsp.OCSPCertStatus.REVOKED if revoked is not None
                      else ocsp.OCSPCertStatus.GOOD if known else ocsp.OCSPCertStatus.UNKNOWN)
            builder = builder.add_response_by_hash(
                name, key, serial, algorithm, status, this_update, next_update,
                revoked[0] if revoked else None, revoked[1] if revoked else None,
            )
        if nonce is not None:
            echoed = bytes(reversed(nonce)) + b"x" if "ocsp-wrong-nonce" in self.faults else nonce
            builder = builder.add_extension(x509.OCSPNonce(echoed), critical=False)
        signer_key: GeneratedKey = ca.issuer_key
        signer_cert = issuer
        if "ocsp-unauthorized-signer" in self.faults:
            signer_key, signer_cert = self._delegated(authorized=False)
            builder = builder.certificates([signer_cert])
        elif self.ocsp_signer == "delegated":
            signer_key, signer_cert = self._delegated(authorized=True)
            builder = builder.certificates([signer_cert])
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        response = builder.sign(signer_key, _sign_hash(signer_key))
        der = response.public_bytes(serialization.Encoding.DER)
        if "ocsp-bad-signature" in self.faults:  # one bit of the signature flipped (its last octet: still DER)
            sig = response.signature
            der = der.replace(sig, sig[:-1] + bytes([sig[-1] ^ 1]))
        return der

    # ------------------------------------------------------------------------------------------ admin

    def revoke_from_request(self, body: bytes, query: str) -> str:
        """``POST /admin/revoke``: revoke the certificate in ``body`` (PEM or DER), issued by this CA."""
        try:
            cert = (x509.load_pem_x509_certificate(body) if body.lstrip().startswith(b"-----")
                    else x509.load_der_x509_certificate(body))
        except ValueError:
            raise _Refused(400, "the body is not a certificate (PEM or DER)") from None
        if not self.ca.issued_this(cert):
            raise _Refused(404, "this CA did not issue that certificate")
        names = parse_qs(query).get("reason", ["keyCompromise"])
        reason = next((r for r in x509.ReasonFlags if r.value == names[0]), None)
        if reason is None:
            raise _Refused(400, "unknown reason (use an RFC 5280 name such as keyCompromise)")
        self.ca.revoke(cert, reason=reason)
        return f"revoked serial {cert.serial_number:x} ({reason.value})\n"


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Listener(HTTPServer):
    allow_reuse_address = False

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        pass  # a reset connection or a client that stalled: no traceback on stderr


class _Handler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0), served by the listener's one thread; a client that stalls is
    dropped after ``timeout`` seconds."""

    timeout = 5.0
    server_version = "EstTestServer-revocation"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    @property
    def service(self) -> RevocationService:
        return self.server.service  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == CRL_PATH:
            with self.service._lock:
                self.service.crl_requests += 1
            self._answer(200, "application/pkix-crl", self.service.crl_der())
        elif path.startswith("/ocsp/"):
            try:
                der = base64.b64decode(unquote(path[len("/ocsp/"):]), validate=True)
            except (binascii.Error, ValueError):
                self._answer(400, "text/plain", b"not base64\n")
                return
            self._ocsp(der)
        else:
            self._answer(404, "text/plain", b"not found\n")

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length", "0") or "0")
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._answer(413, "text/plain", b"request body too large or without Content-Length\n")
            return
        body = self.rfile.read(length)
        if parts.path == "/ocsp":
            self._ocsp(body)
        elif parts.path == "/admin/revoke":
            try:
                text = self.service.revoke_from_request(body, parts.query)
            except _Refused as exc:
                self._answer(exc.status, "text/plain", f"{exc}\n".encode())
                return
            self._answer(200, "text/plain", text.encode())
        else:
            self._answer(404, "text/plain", b"not found\n")

    def _ocsp(self, der: bytes) -> None:
        with self.service._lock:
            self.service.ocsp_requests += 1
        self._answer(200, "application/ocsp-response", self.service.ocsp_response_der(der))

    def _answer(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
