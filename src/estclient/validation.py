"""Chain validation of issued certificates and of ``/cacerts`` sets against the trust anchors in use.

::

    from estclient.validation import validate_chain, validate_ca_certificates

    ca_set = validate_ca_certificates(anchors, cacerts)            # RFC 7030 §4.1.3, as the client does
    path = validate_chain(issued, anchors, intermediates=ca_set)   # [issued, ..., anchor]

Both raise :class:`~estclient.errors.ChainValidationError`. The ``/cacerts`` set goes through the same code the
client runs on every ``/cacerts`` answer (``estclient._cacerts``); the issued certificate is then checked by
``cryptography``'s ``x509.verification`` (RFC 5280 path validation with the Web PKI profile: signatures, validity
at the validation time, basicConstraints and keyUsage of every CA, path length, name constraints of the anchor and
of every CA on the path, key sizes and signature algorithms). The end-entity rules differ from that profile in two
places: a subjectAltName is not required (EST issues certificates named by their subject alone), and the
extendedKeyUsage is checked against ``extended_key_usage`` when given (any purpose otherwise).
"""
from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

from cryptography import x509
from cryptography.x509 import verification as _v
from cryptography.x509.oid import ExtendedKeyUsageOID

from ._cacerts import _crypto, _name, _shown, validate_ca_set
from .errors import ChainValidationError

__all__ = ["validate_chain", "validate_ca_certificates", "anchors_in_use", "CertificateInput"]

if TYPE_CHECKING:
    from estcodec.x509 import Certificate as CodecCertificate

    from .config import TrustAnchors

#: What the functions accept as a certificate: ``cryptography``'s, an ``estcodec.x509.Certificate`` or DER bytes.
CertificateInput = Union[x509.Certificate, "CodecCertificate", bytes]


def validate_ca_certificates(
    anchors: Sequence[CertificateInput], certificates: Sequence[CertificateInput], *, at: _dt.datetime | None = None,
) -> list[x509.Certificate]:
    """Validate every certificate of a ``/cacerts`` set as a CA certificate chaining to one of ``anchors`` at
    ``at`` (default now), as RFC 7030 §4.1.3 asks; returns them (``cryptography`` certificates, duplicates
    dropped) or raises :class:`ChainValidationError` naming each one that fails and why."""
    valid = validate_ca_set(anchors, certificates, at=at, error=ChainValidationError)
    return [_crypto(c) for c in valid]


def anchors_in_use(trust: TrustAnchors | None, cacerts: Sequence[CertificateInput] = ()) -> list[x509.Certificate]:
    """The trust anchors a client configured with ``trust`` validates against, as the client itself picks them for
    ``/cacerts`` (RFC 7030 §4.1.3): explicit anchors (``TrustAnchors.from_pem``/``from_file``) as given; otherwise
    (system trust, bootstrap) the most recent self-signed CA certificate of ``cacerts``, the set the server sent
    over an authenticated connection. Raises :class:`ChainValidationError` when there is none."""
    from ._cacerts import most_recent_root

    if trust is not None and trust.kind == "explicit" and trust.pem is not None:
        return list(x509.load_pem_x509_certificates(trust.pem))
    root = most_recent_root(cacerts)
    if root is None:
        raise ChainValidationError("no trust anchor in use: no explicit anchors and no self-signed CA certificate in "
                                   "the /cacerts set")
    return [_crypto(root)]


def _ee_policy(extended_key_usage: x509.ObjectIdentifier | None) -> Any:
    def check_eku(policy: Any, cert: Any, value: x509.ExtendedKeyUsage | None) -> None:  # noqa: ARG001
        if value is None or extended_key_usage is None:
            return
        if extended_key_usage not in value and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in value:
            raise ValueError(f"extendedKeyUsage does not allow {extended_key_usage.dotted_string}")

    check: Callable[[Any, Any, Any], None] = check_eku
    return (_v.ExtensionPolicy.webpki_defaults_ee()
            .may_be_present(x509.SubjectAlternativeName, _v.Criticality.AGNOSTIC, None)
            .may_be_present(x509.ExtendedKeyUsage, _v.Criticality.AGNOSTIC, check))


def validate_chain(
    certificate: CertificateInput,
    anchors: Sequence[CertificateInput],
    intermediates: Sequence[CertificateInput] = (),
    *,
    at: _dt.datetime | None = None,
    extended_key_usage: x509.ObjectIdentifier | None = None,
) -> list[x509.Certificate]:
    """Validate ``certificate`` (an end-entity certificate) as a chain to one of ``anchors`` at ``at`` (default
    now), through ``intermediates`` (e.g. the ``/cacerts`` set or the chain stored next to the certificate).

    ``intermediates`` are first validated as CA certificates (:func:`validate_ca_certificates`, so a stale or
    foreign certificate in the set is refused, not silently skipped); ``extended_key_usage``, when given, must be
    allowed by the certificate's extendedKeyUsage (if it has one). Returns the validated path, the certificate
    first and its anchor last; raises :class:`ChainValidationError`."""
    when = at or _dt.datetime.now(_dt.timezone.utc)
    if not anchors:
        raise ChainValidationError("no trust anchor to validate the certificate against")
    try:
        leaf = _crypto(certificate)
        anchor_certs = [_crypto(a) for a in anchors]
    except (ValueError, TypeError) as exc:
        raise ChainValidationError(f"a certificate cannot be read: {type(exc).__name__}") from None
    cas = validate_ca_certificates(anchor_certs, list(intermediates), at=when) if intermediates else []
    anchor_set = set(anchor_certs)
    path_candidates = [c for c in cas if c not in anchor_set]
    subject = _name(leaf)
    try:
        if when < leaf.not_valid_before_utc:
            raise ChainValidationError(f"{subject}: not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S}Z")
        if when > leaf.not_valid_after_utc:
            raise ChainValidationError(f"{subject}: expired at {leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S}Z")
        verifier = (
            _v.PolicyBuilder()
            .store(_v.Store(anchor_certs))
            .time(when)
            .extension_policies(ca_policy=_v.ExtensionPolicy.webpki_defaults_ca(),
                                ee_policy=_ee_policy(extended_key_usage))
            .build_client_verifier()
        )
        verified = verifier.verify(leaf, path_candidates)
    except _v.VerificationError as exc:
        raise ChainValidationError(f"{subject}: does not validate to the trust anchors: {_shown(str(exc))}") from None
    except (ValueError, TypeError) as exc:  # a field cryptography reads lazily is malformed
        raise ChainValidationError(f"{subject}: cannot be validated: {type(exc).__name__}") from None
    return list(verified.chain)
