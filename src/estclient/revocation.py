"""Revocation status of a certificate, by OCSP (RFC 6960) and by CRL (RFC 5280 §5), fetched from the URLs the
certificate names.

::

    from estclient.revocation import RevocationChecker, check_revocation

    status = check_revocation(cert, issuer)            # one-shot: RevocationStatus
    with RevocationChecker(timeout=10) as checker:     # keeps its CRL cache and HTTP connections
        status = checker.check(cert, issuer)           # OCSP first, CRL when OCSP cannot answer
        if status.revoked:
            print(status.reason, status.revocation_time)
        statuses = checker.check_chain(path)           # every certificate of a path but its trust anchor

Results are a :class:`RevocationStatus`: ``good``, ``revoked`` (with reason and time) or ``unknown`` (with why:
the certificate names no responder or distribution point, or the responder does not know the certificate).
Anything that prevents an answer raises: :class:`~estclient.errors.RevocationFetchError` (network, HTTP status,
size limit; also a :class:`~estclient.errors.TransportError`) or :class:`~estclient.errors.RevocationError`
(malformed, badly signed, stale, for another certificate). Nothing is ever read as good by default.

What is checked:

* OCSP: the request is built with ``cryptography`` (CertID with SHA-1, as RFC 5019 responders expect, and a
  16-byte nonce, RFC 8954) and POSTed to each OCSP URL of authorityInfoAccess in turn; the response is read with
  ``cryptography``. It must be successful and signed by the issuer itself or by a responder certificate the issuer
  signed that carries id-kp-OCSPSigning and is valid now (RFC 6960 §4.2.2.2); the signature is checked with
  ``estcodec.ocsp``. The single response must be for this certificate, its nonce (when present; always with
  ``require_nonce``) must be the one sent, thisUpdate must not lie in the future and nextUpdate not in the past
  (``clock_skew`` either way; without nextUpdate, thisUpdate must be younger than ``max_age``).
* CRL: each URI of cRLDistributionPoints in turn (distribution points with reasons or a cRLIssuer are skipped).
  The CRL, read with ``cryptography``, must be issued by the certificate's issuer (name and signature, keyUsage
  cRLSign when the issuer has keyUsage), be a complete CRL (no deltaCRLIndicator; an issuingDistributionPoint must
  cover the certificate: not indirect, not limited to some reasons or to the other kind of certificate), carry no
  unknown critical extension, and be current (thisUpdate not in the future, nextUpdate not past). A verified CRL is
  cached, per URL and issuer, until its nextUpdate (at most ``cache_size`` CRLs).
* Fetching: only ``http`` URLs (``allow_https=True`` adds ``https``, verified with ``https_context`` or the system
  store), no redirects, no proxies from the environment, ``timeout`` seconds per network step and four times that
  per fetch, bodies capped at ``max_crl_bytes`` / ``max_ocsp_bytes``.
"""
from __future__ import annotations

import datetime as _dt
import enum
import os
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from ._cacerts import _crypto, _name, _shown, verify_issued_by
from .errors import ConfigError, RevocationError, RevocationFetchError
from .validation import CertificateInput

if TYPE_CHECKING:
    import httpx

__all__ = ["RevocationState", "RevocationStatus", "RevocationChecker", "check_revocation", "check_chain_revocation",
           "ocsp_urls", "crl_urls"]

_MAX_URLS = 4  # URLs tried per method: a certificate naming many costs at most this many fetches
_MAX_RESPONDER_CERTS = 8  # certificates of an OCSP response looked at to find its signer
_ALLOWED_CRL_CRITICAL = {x509.IssuingDistributionPoint.oid}


class RevocationState(enum.Enum):
    """What a revocation check found."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RevocationStatus:
    """The revocation status of one certificate.

    ``state``: good, revoked or unknown. ``method``: ``"ocsp"``, ``"crl"`` or None (nothing was asked);
    ``source``: the URL that answered. ``reason`` (an ``x509.ReasonFlags`` or None) and ``revocation_time`` are
    set when revoked; ``why`` says why the state is unknown. ``this_update`` / ``next_update``: the validity of
    the answer (when the next CRL or OCSP response is due)."""

    state: RevocationState
    method: str | None = None
    source: str | None = None
    reason: x509.ReasonFlags | None = None
    revocation_time: _dt.datetime | None = None
    why: str = ""
    this_update: _dt.datetime | None = None
    next_update: _dt.datetime | None = None

    @property
    def good(self) -> bool:
        """True when the certificate is known and not revoked."""
        return self.state is RevocationState.GOOD

    @property
    def revoked(self) -> bool:
        """True when the certificate is revoked (``certificateHold`` included)."""
        return self.state is RevocationState.REVOKED

    @property
    def unknown(self) -> bool:
        """True when no status could be had (see ``why``)."""
        return self.state is RevocationState.UNKNOWN

    def describe(self) -> str:
        """One line for people: ``good (ocsp, next update 2026-12-05 10:00:00Z)``, ``revoked: keyCompromise at
        ...``, ``unknown: why``."""
        if self.revoked:
            reason = self.reason.value if self.reason is not None else "no reason given"
            when = f" at {self.revocation_time:%Y-%m-%d %H:%M:%S}Z" if self.revocation_time else ""
            return f"revoked: {reason}{when} ({self.method})"
        if self.unknown:
            return f"unknown: {self.why}" + (f" ({self.method})" if self.method else "")
        due = f", next update {self.next_update:%Y-%m-%d %H:%M:%S}Z" if self.next_update else ""
        return f"good ({self.method}{due})"


def _uris(names: Sequence[x509.GeneralName] | None) -> list[str]:
    return [n.value for n in names or () if isinstance(n, x509.UniformResourceIdentifier)]


def ocsp_urls(certificate: CertificateInput) -> list[str]:
    """The OCSP responder URLs of ``certificate``'s authorityInfoAccess, in order (empty when none)."""
    try:
        aia = _crypto(certificate).extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    except (ValueError, TypeError) as exc:
        raise RevocationError(f"the certificate's authorityInfoAccess cannot be read: {type(exc).__name__}") from None
    return _uris([d.access_location for d in aia if d.access_method == AuthorityInformationAccessOID.OCSP])


def crl_urls(certificate: CertificateInput) -> list[str]:
    """The URIs of ``certificate``'s cRLDistributionPoints that name a complete CRL of its issuer (points limited
    to some reasons or naming another CRL issuer are left out), in order."""
    try:
        cdp = _crypto(certificate).extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    except (ValueError, TypeError) as exc:
        raise RevocationError(f"the certificate's cRLDistributionPoints cannot be read: {type(exc).__name__}") from None
    out: list[str] = []
    for point in cdp:
        if point.reasons is None and point.crl_issuer is None:
            out += _uris(point.full_name)
    return out


def _utc(value: _dt.datetime | None) -> _dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


class RevocationChecker:
    """Checks revocation by OCSP and CRL; holds an HTTP client and the CRL cache (thread-safe). Use it as a
    context manager or call :meth:`close`. See the module documentation for what is checked and the options."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_crl_bytes: int = 10 << 20,
        max_ocsp_bytes: int = 64 << 10,
        allow_https: bool = False,
        https_context: ssl.SSLContext | None = None,
        use_nonce: bool = True,
        require_nonce: bool = False,
        clock_skew: float = 300.0,
        max_age: float = 86400.0,
        cache_size: int = 32,
    ) -> None:
        if not (timeout > 0 and max_crl_bytes > 0 and max_ocsp_bytes > 0 and cache_size >= 0 and clock_skew >= 0
                and max_age > 0):
            raise ConfigError("timeout, max_age and the size limits must be positive, cache_size and clock_skew "
                              "not negative")
        if require_nonce and not use_nonce:
            raise ConfigError("require_nonce needs use_nonce")
        self.timeout = float(timeout)
        self.max_crl_bytes = int(max_crl_bytes)
        self.max_ocsp_bytes = int(max_ocsp_bytes)
        self.allow_https = allow_https
        self.https_context = https_context
        self.use_nonce = use_nonce
        self.require_nonce = require_nonce
        self.clock_skew = _dt.timedelta(seconds=clock_skew)
        self.max_age = _dt.timedelta(seconds=max_age)
        self.cache_size = cache_size
        self.fetches = 0  # HTTP requests sent (a cached CRL costs none)
        self._cache: OrderedDict[tuple[str, bytes], tuple[x509.CertificateRevocationList, _dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------------------------------ lifecycle

    def __enter__(self) -> RevocationChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (the CRL cache stays)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def clear_cache(self) -> None:
        """Forget every cached CRL."""
        with self._lock:
            self._cache.clear()

    # ------------------------------------------------------------------------------------------ checks

    def check(self, certificate: CertificateInput, issuer: CertificateInput, *, method: str = "auto",
              at: _dt.datetime | None = None) -> RevocationStatus:
        """The revocation status of ``certificate`` (issued by ``issuer``; ``cryptography`` or ``estcodec``
        certificates). ``method``: ``"auto"`` (OCSP, then the CRL when OCSP fails or answers unknown),
        ``"ocsp"`` or ``"crl"``. ``at``: the time freshness is judged at (default now)."""
        if method == "ocsp":
            return self.check_ocsp(certificate, issuer, at=at)
        if method == "crl":
            return self.check_crl(certificate, issuer, at=at)
        if method != "auto":
            raise ConfigError("method must be 'auto', 'ocsp' or 'crl'")
        first: RevocationStatus | None = None
        error: RevocationError | None = None
        try:
            first = self.check_ocsp(certificate, issuer, at=at)
            if not first.unknown:
                return first
        except RevocationError as exc:
            error = exc
        try:
            second = self.check_crl(certificate, issuer, at=at)
        except RevocationError as exc:
            if error is None:
                raise
            kind = RevocationFetchError if isinstance(error, RevocationFetchError) and isinstance(
                exc, RevocationFetchError) else RevocationError
            raise kind(f"OCSP: {error}; CRL: {exc}") from None
        if second.unknown and error is not None:
            raise error
        if second.unknown and first is not None and first.method is not None:
            return first  # the responder's "unknown" says more than "no CRL"
        return second

    def check_chain(self, chain: Sequence[CertificateInput], *, method: str = "auto",
                    at: _dt.datetime | None = None) -> list[RevocationStatus]:
        """The status of every certificate of ``chain`` but the last, each checked against the next one, its
        issuer: ``chain`` is a certification path from the end-entity certificate up to the trust anchor (as
        :func:`estclient.validation.validate_chain` returns it), whose own status is not asked (a trust anchor is
        trusted as it is configured). The list stops at the first revoked certificate. An error while checking a
        CA certificate names it; nothing is read as good by default, as for :meth:`check`."""
        certs = [_read(c) for c in chain]
        out: list[RevocationStatus] = []
        for i in range(len(certs) - 1):
            try:
                status = self.check(certs[i], certs[i + 1], method=method, at=at)
            except RevocationError as exc:
                if i == 0:
                    raise
                raise type(exc)(f"CA certificate {_name(certs[i])}: {exc}") from None
            out.append(status)
            if status.revoked:
                break
        return out

    def check_ocsp(self, certificate: CertificateInput, issuer: CertificateInput, *,
                   at: _dt.datetime | None = None) -> RevocationStatus:
        """The status by OCSP alone (unknown when the certificate names no usable responder)."""
        cert, iss = _pair(certificate, issuer)
        when = _utc(at) or _dt.datetime.now(_dt.timezone.utc)
        urls, why = self._usable(ocsp_urls(cert), "OCSP responder")
        if not urls:
            return RevocationStatus(RevocationState.UNKNOWN, why=why)
        builder = ocsp.OCSPRequestBuilder().add_certificate(cert, iss, hashes.SHA1())
        nonce = os.urandom(16) if self.use_nonce else None
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        request = builder.build()
        body = request.public_bytes(Encoding.DER)
        return _first_answer(urls, lambda url: self._read_ocsp(
            self._fetch(url, body, "application/ocsp-request", self.max_ocsp_bytes), request, nonce, iss, url, when))

    def check_crl(self, certificate: CertificateInput, issuer: CertificateInput, *,
                  at: _dt.datetime | None = None) -> RevocationStatus:
        """The status by CRL alone (unknown when the certificate names no usable distribution point)."""
        cert, iss = _pair(certificate, issuer)
        when = _utc(at) or _dt.datetime.now(_dt.timezone.utc)
        urls, why = self._usable(crl_urls(cert), "CRL distribution point")
        if not urls:
            return RevocationStatus(RevocationState.UNKNOWN, why=why)
        return _first_answer(urls, lambda url: _crl_status(self._crl(url, iss, when), cert, url))

    # ------------------------------------------------------------------------------------------ fetching

    def _usable(self, urls: list[str], what: str) -> tuple[list[str], str]:
        schemes = ("http://", "https://") if self.allow_https else ("http://",)
        usable = [u for u in urls if u.lower().startswith(schemes)][:_MAX_URLS]
        if usable:
            return usable, ""
        if urls:
            return [], f"no {what} URL with an allowed scheme ({', '.join(s[:-3] for s in schemes)})"
        return [], f"the certificate names no {what}"

    def _http(self) -> httpx.Client:
        import httpx

        with self._lock:  # threads sharing a checker share one client
            if self._client is None:
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False,
                    verify=self.https_context or ssl.create_default_context(),
                )
            return self._client

    def _fetch(self, url: str, body: bytes | None, content_type: str | None, limit: int) -> bytes:
        """GET (or POST ``body``) ``url``; the 200 body, at most ``limit`` bytes, within four timeouts."""
        import httpx

        shown = _shown(url)
        deadline = time.monotonic() + 4 * self.timeout
        headers = {"Content-Type": content_type} if content_type else {}
        with self._lock:
            self.fetches += 1
        try:
            with self._http().stream("POST" if body is not None else "GET", url, content=body,
                                     headers=headers) as resp:
                if resp.status_code != 200:
                    raise RevocationFetchError(f"{shown}: HTTP {resp.status_code}")
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise RevocationFetchError(f"{shown}: the answer is larger than {limit} bytes")
                data = bytearray()
                for chunk in resp.iter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise RevocationFetchError(f"{shown}: the answer is larger than {limit} bytes")
                    if time.monotonic() > deadline:
                        raise RevocationFetchError(f"{shown}: the answer took too long")
                return bytes(data)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise RevocationFetchError(f"{shown}: {type(exc).__name__}") from None

    # ------------------------------------------------------------------------------------------ OCSP

    def _read_ocsp(self, der: bytes, request: ocsp.OCSPRequest, nonce: bytes | None, issuer: x509.Certificate,
                   url: str, when: _dt.datetime) -> RevocationStatus:
        shown = _shown(url)
        try:
            resp = ocsp.load_der_ocsp_response(der)
        except ValueError:
            raise RevocationError(f"{shown}: not an OCSP response") from None
        if resp.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise RevocationError(f"{shown}: the responder answered {resp.response_status.name.lower()}")
        try:
            signer = self._ocsp_signer(resp, issuer, when, shown)
            _check_ocsp_signature(der, signer, shown)
            single = next((r for r in resp.responses if r.serial_number == request.serial_number
                           and r.issuer_key_hash == request.issuer_key_hash
                           and r.issuer_name_hash == request.issuer_name_hash
                           and r.hash_algorithm.name == request.hash_algorithm.name), None)
            if single is None:
                raise RevocationError(f"{shown}: the response is not about this certificate")
            try:
                echoed: bytes | None = resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
            except x509.ExtensionNotFound:
                echoed = None
            if nonce is not None and echoed is not None and echoed != nonce:
                raise RevocationError(f"{shown}: the response's nonce is not the one sent")
            if self.require_nonce and echoed is None:
                raise RevocationError(f"{shown}: the response carries no nonce")
            this_update, next_update = single.this_update_utc, single.next_update_utc
            self._fresh(this_update, next_update, when, f"{shown}: the OCSP response")
            status = single.certificate_status
            reason = single.revocation_reason
            revoked_at = single.revocation_time_utc
        except (ValueError, TypeError) as exc:  # a field cryptography reads lazily is malformed
            raise RevocationError(f"{shown}: the OCSP response cannot be read: {type(exc).__name__}") from None
        if status is ocsp.OCSPCertStatus.REVOKED:
            return RevocationStatus(RevocationState.REVOKED, "ocsp", url, reason, revoked_at,
                                    this_update=this_update, next_update=next_update)
        if status is ocsp.OCSPCertStatus.UNKNOWN:
            return RevocationStatus(RevocationState.UNKNOWN, "ocsp", url, why="the responder does not know the "
                                    "certificate", this_update=this_update, next_update=next_update)
        return RevocationStatus(RevocationState.GOOD, "ocsp", url, this_update=this_update, next_update=next_update)

    def _ocsp_signer(self, resp: ocsp.OCSPResponse, issuer: x509.Certificate, when: _dt.datetime,
                     shown: str) -> x509.Certificate:
        """The certificate whose key signed ``resp``: the issuer, or a delegated responder (RFC 6960 §4.2.2.2)."""

        def named(cert: x509.Certificate) -> bool:
            if resp.responder_key_hash is not None:
                return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest == resp.responder_key_hash
            return resp.responder_name == cert.subject

        if named(issuer):
            return issuer
        for cert in list(resp.certificates)[:_MAX_RESPONDER_CERTS]:
            if not named(cert):
                continue
            if not verify_issued_by(cert, issuer):
                raise RevocationError(f"{shown}: the responder certificate is not issued by the certificate's issuer")
            if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
                raise RevocationError(f"{shown}: the responder certificate is not valid now")
            try:
                eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            except x509.ExtensionNotFound:
                eku = None
            if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
                raise RevocationError(f"{shown}: the responder certificate lacks id-kp-OCSPSigning")
            return cert
        raise RevocationError(f"{shown}: the response is signed neither by the issuer nor by a responder it authorized")

    def _fresh(self, this_update: _dt.datetime, next_update: _dt.datetime | None, when: _dt.datetime,
               what: str) -> None:
        if this_update > when + self.clock_skew:
            raise RevocationError(f"{what} has thisUpdate in the future ({this_update:%Y-%m-%d %H:%M:%S}Z)")
        if next_update is not None and next_update < when - self.clock_skew:
            raise RevocationError(f"{what} is stale: nextUpdate was {next_update:%Y-%m-%d %H:%M:%S}Z")
        if next_update is None and this_update < when - self.max_age:
            raise RevocationError(f"{what} is stale: no nextUpdate and thisUpdate {this_update:%Y-%m-%d %H:%M:%S}Z")

    # ------------------------------------------------------------------------------------------ CRL

    def _crl(self, url: str, issuer: x509.Certificate, when: _dt.datetime) -> x509.CertificateRevocationList:
        key = (url, issuer.fingerprint(hashes.SHA256()))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and when < hit[1]:
                self._cache.move_to_end(key)
                return hit[0]
        shown = _shown(url)
        der = self._fetch(url, None, None, self.max_crl_bytes)
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            raise RevocationError(f"{shown}: not a DER CRL") from None
        try:
            if crl.issuer != issuer.subject:
                raise RevocationError(f"{shown}: the CRL is issued by another CA")
            try:
                usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
                if not usage.crl_sign:
                    raise RevocationError(f"{shown}: the issuer may not sign CRLs (keyUsage lacks cRLSign)")
            except x509.ExtensionNotFound:
                pass
            if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                raise RevocationError(f"{shown}: the CRL's signature does not verify with the issuer's key")
            for ext in crl.extensions:
                if ext.oid == x509.DeltaCRLIndicator.oid:
                    raise RevocationError(f"{shown}: a delta CRL, not a complete one")
                if ext.critical and ext.oid not in _ALLOWED_CRL_CRITICAL:
                    raise RevocationError(f"{shown}: unknown critical CRL extension {ext.oid.dotted_string}")
            next_update = crl.next_update_utc
            self._fresh(crl.last_update_utc, next_update, when, f"{shown}: the CRL")
        except (ValueError, TypeError) as exc:
            raise RevocationError(f"{shown}: the CRL cannot be read: {type(exc).__name__}") from None
        if next_update is not None and self.cache_size:
            with self._lock:
                self._cache[key] = (crl, next_update)
                self._cache.move_to_end(key)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return crl


def _read(certificate: CertificateInput) -> x509.Certificate:
    try:
        return _crypto(certificate)
    except (ValueError, TypeError) as exc:
        raise RevocationError(f"a certificate cannot be read: {type(exc).__name__}") from None


def _pair(certificate: CertificateInput, issuer: CertificateInput) -> tuple[x509.Certificate, x509.Certificate]:
    return _read(certificate), _read(issuer)


def _first_answer(urls: list[str], ask: Callable[[str], RevocationStatus]) -> RevocationStatus:
    """The answer of the first URL that gives one; the errors of all of them, combined, when none does."""
    errors: list[RevocationError] = []
    for url in urls:
        try:
            return ask(url)
        except RevocationError as exc:
            errors.append(exc)
    raise _combined(errors)


def _combined(errors: list[RevocationError]) -> RevocationError:
    if len(errors) == 1:
        return errors[0]
    text = "; ".join(str(e) for e in errors)
    return RevocationFetchError(text) if all(isinstance(e, RevocationFetchError) for e in errors) else \
        RevocationError(text)


def _check_ocsp_signature(der: bytes, signer: x509.Certificate, shown: str) -> None:
    """The signature of the BasicOCSPResponse in ``der``, checked with ``signer``'s key through estcodec.ocsp."""
    from estcodec import Error as CodecError
    from estcodec.ocsp import OCSPResponse

    try:
        basic = OCSPResponse.from_der(der).basic
        if basic is None:
            raise RevocationError(f"{shown}: not a basic OCSP response")
        basic.verify(signer.public_key())
    except CodecError as exc:
        raise RevocationError(f"{shown}: the OCSP response's signature does not verify ({type(exc).__name__})") \
            from None


def _crl_status(crl: x509.CertificateRevocationList, cert: x509.Certificate, url: str) -> RevocationStatus:
    shown = _shown(url)
    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        idp = None
    if idp is not None:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if idp.indirect_crl or idp.only_some_reasons is not None or idp.only_contains_attribute_certs \
                or (idp.only_contains_ca_certs and not is_ca) or (idp.only_contains_user_certs and is_ca):
            raise RevocationError(f"{shown}: the CRL does not cover this certificate (issuingDistributionPoint)")
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    this_update, next_update = crl.last_update_utc, crl.next_update_utc
    if entry is None:
        return RevocationStatus(RevocationState.GOOD, "crl", url, this_update=this_update, next_update=next_update)
    try:
        reason: x509.ReasonFlags | None = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        reason = None
    except (ValueError, TypeError):
        raise RevocationError(f"{shown}: the CRL entry's extensions cannot be read") from None
    if reason is x509.ReasonFlags.remove_from_crl:
        return RevocationStatus(RevocationState.GOOD, "crl", url, this_update=this_update, next_update=next_update)
    return RevocationStatus(RevocationState.REVOKED, "crl", url, reason, entry.revocation_date_utc,
                            this_update=this_update, next_update=next_update)


def check_chain_revocation(chain: Sequence[CertificateInput], *, method: str = "auto",
                           at: _dt.datetime | None = None, checker: RevocationChecker | None = None,
                           timeout: float = 10.0, allow_https: bool = False) -> list[RevocationStatus]:
    """The status of each certificate of a certification path but its trust anchor:
    :meth:`RevocationChecker.check_chain`, with ``checker`` or a one-shot checker (as :func:`check_revocation`)."""
    if checker is not None:
        return checker.check_chain(chain, method=method, at=at)
    with RevocationChecker(timeout=timeout, allow_https=allow_https) as own:
        return own.check_chain(chain, method=method, at=at)


def check_revocation(certificate: CertificateInput, issuer: CertificateInput, *, method: str = "auto",
                     at: _dt.datetime | None = None, checker: RevocationChecker | None = None,
                     timeout: float = 10.0, allow_https: bool = False) -> RevocationStatus:
    """The revocation status of ``certificate`` issued by ``issuer``: :meth:`RevocationChecker.check` with
    ``checker`` (which keeps its CRL cache between calls and carries the other options), or with a one-shot
    checker made with ``timeout`` and ``allow_https``."""
    if checker is not None:
        return checker.check(certificate, issuer, method=method, at=at)
    with RevocationChecker(timeout=timeout, allow_https=allow_https) as own:
        return own.check(certificate, issuer, method=method, at=at)
