"""PKIX facts that CMS, CMC and the EST client share, written once: key identifiers, "issued by", chain order,
anchoring, picking the issued certificate out of a response, and the role of a CA certificate.

Certificates are ``estcodec.x509.Certificate`` models unless said otherwise; the helpers that take "a
certificate" also accept a ``cryptography`` certificate or DER/PEM bytes. This is not path validation: RFC 5280
path validation (validity, policies, name constraints) is ``cryptography``'s ``x509.verification``, which
``estclient._cacerts`` uses; the helpers here find and order candidates for it and for CMS signer checks.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Union, cast

from .errors import Error

if TYPE_CHECKING:
    from cryptography import x509 as _cx509

    from .x509 import Certificate, SubjectPublicKeyInfo

__all__ = [
    "key_identifier", "key_identifiers", "certificate_key_identifier", "names_issuer", "issued_by",
    "chain_from", "order_chain", "is_anchored", "acts_as_ca", "select_issued", "ca_role", "SelectionError",
    "MAX_CHAIN_LENGTH",
]

MAX_CHAIN_LENGTH = 16
"""The longest chain :func:`is_anchored` walks (every loop over certificates is bounded)."""

PublicKeyLike = Union[bytes, bytearray, "SubjectPublicKeyInfo", Any]
CertificateLike = Union["Certificate", "_cx509.Certificate", bytes, bytearray]


class SelectionError(Error, ValueError):
    """No certificate of a set can be told to be the one issued for a request (see :func:`select_issued`)."""


def _spki(public_key: PublicKeyLike) -> SubjectPublicKeyInfo:
    from .x509 import SubjectPublicKeyInfo

    if isinstance(public_key, SubjectPublicKeyInfo):
        return public_key
    spki: SubjectPublicKeyInfo
    if isinstance(public_key, (bytes, bytearray, memoryview)):
        spki = SubjectPublicKeyInfo.from_der(bytes(public_key))
    else:
        spki = SubjectPublicKeyInfo.from_cryptography(public_key)
    return spki


def _as_certificate(cert: CertificateLike) -> Certificate:
    from .cms import as_certificate

    return as_certificate(cert)


# --- key identifiers ----------------------------------------------------------------------------------------

def key_identifier(public_key: PublicKeyLike) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value. ``public_key`` is a
    ``cryptography`` public key, a SubjectPublicKeyInfo model, or its DER."""
    return _spki(public_key).key_identifier()


def key_identifiers(public_key: PublicKeyLike) -> frozenset[bytes]:
    """The key identifiers a peer may have used for ``public_key``: RFC 5280 method (1) (SHA-1 of the key bits)
    and RFC 7093 method (1) (SHA-256 of them, cut to 160 bits)."""
    bits = bytes(cast(Any, _spki(public_key).subject_public_key).data)
    return frozenset({hashlib.sha1(bits).digest(), hashlib.sha256(bits).digest()[:20]})  # noqa: S324 - RFC 5280


def certificate_key_identifier(cert: CertificateLike) -> bytes:
    """The subject key identifier of ``cert``: its subjectKeyIdentifier extension, else RFC 5280 method (1)
    computed from its key."""
    c = _as_certificate(cert)
    ski = _extension_ski(c)
    return ski if ski is not None else c.public_key_info.key_identifier()


def _extension_ski(cert: Certificate) -> bytes | None:
    try:
        ski = cert.subject_key_identifier
    except Error:  # a malformed extension counts as absent here
        return None
    return None if ski is None else bytes(ski)


def _extension_aki(cert: Certificate) -> bytes | None:
    try:
        aki = cert.authority_key_identifier
    except Error:
        return None
    return None if aki is None else bytes(aki)


# --- issued by ----------------------------------------------------------------------------------------------

def names_issuer(child: Certificate, parent: Certificate) -> bool:
    """Whether ``parent`` names ``child``'s issuer: its subject is ``child``'s issuer (same DER) and, where
    ``child`` has an authority key identifier, it matches ``parent``'s subject key identifier (extension, else
    computed). No signature is checked: this orders and indexes; :func:`issued_by` decides."""
    if child.issuer.to_der() != parent.subject.to_der():
        return False
    aki = _extension_aki(child)
    return aki is None or aki == certificate_key_identifier(parent)


def issued_by(child: Any, parent: Any) -> bool:
    """Whether ``parent`` issued ``child``: ``parent``'s subject is ``child``'s issuer and ``parent``'s key
    verifies ``child``'s signature. Both are estcodec models (names compared as DER, the signature checked by
    ``estcodec._sigalgs``) or both ``cryptography`` certificates (``verify_directly_issued_by``). Any failure,
    including an algorithm that cannot be checked, is False."""
    from .x509 import Certificate

    if not isinstance(child, Certificate) and hasattr(child, "verify_directly_issued_by"):
        try:
            child.verify_directly_issued_by(parent)
            return True
        except Exception:  # InvalidSignature, a name mismatch, an unsupported algorithm: not issued by it
            return False
    from . import _sigalgs

    if child.issuer.to_der() != parent.subject.to_der():
        return False
    try:
        return _sigalgs.is_valid_signature(child.signature_algorithm, parent.public_key_info, child.tbs_der,
                                           child.signature)
    except _sigalgs.UnsupportedSignatureAlgorithm:
        return False


# --- chains -------------------------------------------------------------------------------------------------

def chain_from(cert: Certificate, pool: Iterable[Certificate], *,
               match: Callable[[Certificate, Certificate], bool] = names_issuer) -> list[Certificate]:
    """``cert`` followed by its issuers found in ``pool``, up to a self-issued certificate or the first one whose
    issuer is not in ``pool``. Each certificate is used once. ``match(child, parent)`` says whether ``parent``
    issued ``child``: :func:`names_issuer` (names and key identifiers, the default) or :func:`issued_by` (the
    signature checked too)."""
    candidates = list(pool)
    chain = [cert]
    used = {cert.to_der()}
    cur = cert
    while not cur.is_self_issued:
        nxt = next((c for c in candidates if c.to_der() not in used and match(cur, c)), None)
        if nxt is None:
            break
        chain.append(nxt)
        used.add(nxt.to_der())
        cur = nxt
    return chain


def order_chain(certs: Iterable[CertificateLike], leaf: CertificateLike | int | None = None) -> list[Certificate]:
    """Certificates in issuing order: the leaf, its issuer, that one's issuer ... up to a self-issued
    certificate or the last one found, followed by any certificates not on that path, in their input order.

    Issuers are matched by name and, where present, authority/subject key identifiers (not by signature).
    ``leaf``: the end-entity to start from (a certificate or an index into ``certs``); by default the first
    certificate that issued none of the others, preferring one that is not a CA.
    """
    items = [_as_certificate(c) for c in certs]
    if not items:
        return []
    if isinstance(leaf, int):
        start = items[leaf]
    elif leaf is not None:
        start = _as_certificate(leaf)
    else:
        def issues_other(c: Certificate) -> bool:
            return any(o is not c and not o.is_self_issued and names_issuer(o, c) for o in items)

        ends = [c for c in items if not issues_other(c)] or items
        non_ca = [c for c in ends if not c.is_ca]
        start = (non_ca or ends)[0]
    chain = chain_from(start, items)
    used = {c.to_der() for c in chain}
    # Input duplicates of chain members are dropped; other certificates keep their order.
    tail: list[Certificate] = []
    for c in items:
        d = c.to_der()
        if d not in used:
            used.add(d)
            tail.append(c)
    return chain + tail


def is_anchored(cert: Certificate, pool: Sequence[Certificate], trusted: Sequence[Certificate]) -> bool:
    """Whether ``cert`` is one of ``trusted`` or chains to one through ``pool`` (signatures checked with
    :func:`issued_by`, the CA flag required of intermediates, at most :data:`MAX_CHAIN_LENGTH` steps). Not a full
    RFC 5280 path validation: validity times and policies are not checked."""
    trusted_der = {t.to_der() for t in trusted}
    seen: set[bytes] = set()
    cur = cert
    for _ in range(MAX_CHAIN_LENGTH):
        der = cur.to_der()
        if der in trusted_der:
            return True
        if any(issued_by(cur, t) for t in trusted):
            return True
        seen.add(der)
        nxt = next((c for c in pool if c.to_der() not in seen and c.is_ca and issued_by(cur, c)), None)
        if nxt is None:
            return False
        cur = nxt
    return False


# --- roles --------------------------------------------------------------------------------------------------

def acts_as_ca(cert: Certificate) -> bool:
    """basicConstraints cA, or keyUsage keyCertSign (RFC 7030 A.1's key-update certificates have only the
    latter). A malformed extension counts as absent."""
    try:
        if cert.is_ca:
            return True
    except Error:
        pass
    try:
        ku = cert.key_usage
    except Error:
        return False
    return ku is not None and "key_cert_sign" in ku


def ca_role(cert: CertificateLike) -> str:
    """``"root"`` (self-signed), ``"key-update"`` (self-issued but signed by another key: RFC 4210 rollover
    certificates) or ``"intermediate"`` (issued by another CA)."""
    c = _as_certificate(cert)
    if not c.is_self_issued:
        return "intermediate"
    crypto = cast(Any, c).to_cryptography()  # cryptography compares the self-signature, as the CLI always did
    return "root" if issued_by(crypto, crypto) else "key-update"


def _normalized_spki(spki_der: bytes) -> bytes:
    """The SubjectPublicKeyInfo re-encoded by ``cryptography`` (the same key written differently compares
    equal), or the input when ``cryptography`` cannot read it."""
    from cryptography.hazmat.primitives import serialization

    try:
        pub = serialization.load_der_public_key(spki_der)
        return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    except Exception:  # malformed or unsupported algorithm: compared as given
        return spki_der


def select_issued(certs: Sequence[Certificate], our_spki: bytes | None) -> int:
    """The index in ``certs`` of the certificate issued to us: the one whose SubjectPublicKeyInfo is ours
    (RFC 7030 §4.2.3 defines no order). Without a key to compare: the only certificate, else the first non-CA
    one that issues none of the others and does not carry a CA's key. Raises :class:`SelectionError`."""
    if not certs:
        raise SelectionError("the response holds no certificate")
    if our_spki is not None:
        want = _normalized_spki(our_spki)
        for i, c in enumerate(certs):
            try:
                spki = c.public_key_info.to_der()
            except Exception:  # noqa: BLE001 - an unreadable key is simply not ours
                continue
            if spki == our_spki or _normalized_spki(spki) == want:
                return i
        raise SelectionError("no certificate in the response carries the requested public key")
    if len(certs) == 1:
        return 0
    issuers = {c.issuer.to_der() for c in certs}
    # a root key-update certificate (RFC 4210 style, RFC 7030 A.1) carries a CA key: not ours either
    ca_keys = {c.public_key_info.to_der() for c in certs if acts_as_ca(c)}
    candidates = [
        i for i, c in enumerate(certs)
        if not acts_as_ca(c) and c.subject.to_der() not in issuers and c.public_key_info.to_der() not in ca_keys
    ]
    if not candidates:
        candidates = [i for i, c in enumerate(certs) if not acts_as_ca(c)]
    if not candidates:
        raise SelectionError("cannot tell which certificate of the response was issued")
    return candidates[0]
