"""Validation of a ``/cacerts`` set (RFC 7030 §4.1.3), in every trust mode.

"All the other certificates MUST be validated using normal [RFC5280] certificate path validation (using the most
recent CA certificate as the TA) before they can be used." The anchor in use is the explicit trust-anchor
database, the certificate a bootstrap accepted, or (system trust, where the set arrived over a connection the
system store authenticated) the most recent self-signed CA certificate of the set itself.

Two steps, so that the work stays linear in the size of the set whatever its order:

1. *Path finding.* Issuers are indexed by subject key identifier and by subject name; a breadth-first walk from
   the anchors checks each certificate's signature only against the few candidates the indexes name (at most
   :data:`MAX_ISSUER_CANDIDATES`), each with one call of :func:`verify_issued_by`. Root key-update
   certificates (RFC 4210 §4.4: NewWithOld, OldWithNew, NewWithNew) all share one name and are told apart by
   their key identifiers and signatures.
2. *Path validation* by ``cryptography.x509.verification`` on the one path found: validity at the
   validation time, basicConstraints cA and keyUsage keyCertSign of every CA on the path, path lengths,
   signature algorithms and key sizes of the Web PKI profile. The certificate under test must itself be a CA
   certificate (basicConstraints cA, keyUsage keyCertSign). ``cryptography`` does not check trust anchors:
   an anchor that is part of the set gets the same validity and CA checks here.

Limits of ``cryptography``'s profile apply: Ed25519/Ed448 or SHA-1 signatures, RSA keys under 2048 bits are
refused, and a CA on the path that carries extendedKeyUsage must allow id-kp-clientAuth (the paths are checked
as for client certificates, what EST enrolls).
"""
from __future__ import annotations

import datetime as _dt
from collections import deque
from typing import Any, Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification as _v

from .errors import EstError, ProtocolError

__all__ = ["validate_ca_set", "most_recent_root", "verify_issued_by", "MAX_ISSUER_CANDIDATES"]

#: Signature checks allowed per certificate while looking for its issuer: a hostile set of certificates that
#: all share one name and carry no key identifiers costs at most this many checks per certificate.
MAX_ISSUER_CANDIDATES = 8


def _crypto(cert: Any) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    if hasattr(cert, "to_cryptography"):
        return cert.to_cryptography()  # type: ignore[no-any-return]
    return x509.load_der_x509_certificate(bytes(cert))


def verify_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer`` names ``cert``'s issuer and its key verifies ``cert``'s signature (``cryptography``'s
    ``verify_directly_issued_by``). Every signature check of the path finding goes through here."""
    from estcodec.pkix import issued_by

    return issued_by(cert, issuer)


def _ext(cert: x509.Certificate, cls: Any) -> Any:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None
    except Exception:  # a malformed extension: treated as absent, path validation then judges
        return None


def _ski(cert: x509.Certificate) -> bytes | None:
    v = _ext(cert, x509.SubjectKeyIdentifier)
    return None if v is None else bytes(v.digest)


def _aki(cert: x509.Certificate) -> bytes | None:
    v = _ext(cert, x509.AuthorityKeyIdentifier)
    return None if v is None or v.key_identifier is None else bytes(v.key_identifier)


def _shown(text: str) -> str:
    """Server text for a message: bounded, control characters (C0, C1, bidi overrides) escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:200])


def _name(cert: x509.Certificate) -> str:
    try:
        return _shown(cert.subject.rfc4514_string()) or "<empty subject>"
    except Exception:
        return "<unreadable subject>"


def _ca_problem(cert: x509.Certificate, at: _dt.datetime) -> str | None:
    """Why ``cert`` cannot serve as a CA certificate at ``at`` (validity, basicConstraints cA, keyUsage
    keyCertSign), or None."""
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        return f"not valid at {at:%Y-%m-%d %H:%M:%S}Z"
    bc = _ext(cert, x509.BasicConstraints)
    if bc is None or not bc.ca:
        return "no basicConstraints cA"
    ku = _ext(cert, x509.KeyUsage)
    if ku is None or not ku.key_cert_sign:
        return "no keyUsage keyCertSign"
    return None


def _require_ca(policy: Any, cert: Any, value: Any) -> None:  # noqa: ARG001 - cryptography's validator signature
    if value is None or not value.ca:
        raise ValueError("not a CA certificate (basicConstraints cA)")


def _require_cert_sign(policy: Any, cert: Any, value: Any) -> None:  # noqa: ARG001
    if value is None or not value.key_cert_sign:
        raise ValueError("keyUsage lacks keyCertSign")


def _verifier(anchors: Sequence[x509.Certificate], at: _dt.datetime) -> Any:
    # the certificate under test is a CA: the end-entity policy asks what RFC 7030 §4.1.3 asks of it
    ee = (
        _v.ExtensionPolicy.permit_all()
        .require_present(x509.BasicConstraints, _v.Criticality.AGNOSTIC, _require_ca)
        .require_present(x509.KeyUsage, _v.Criticality.AGNOSTIC, _require_cert_sign)
    )
    return (
        _v.PolicyBuilder()
        .store(_v.Store(list(anchors)))
        .time(at)
        .extension_policies(ca_policy=_v.ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )


def most_recent_root(certs: Iterable[Any]) -> Any | None:
    """The set's most recent CA certificate (RFC 7030 §4.1.3): of the self-signed ones, the one with the latest
    notAfter. ``None`` when the set holds no self-signed certificate."""
    best, best_after = None, None
    for c in certs:
        try:
            cc = _crypto(c)
            if cc.issuer != cc.subject or not verify_issued_by(cc, cc):
                continue
            after = cc.not_valid_after_utc
        except (ValueError, TypeError):  # unreadable: not a root (validation then names it)
            continue
        if best_after is None or after > best_after:
            best, best_after = c, after
    return best


def validate_ca_set(
    anchors: Sequence[Any],
    certs: Sequence[Any],
    *,
    at: _dt.datetime | None = None,
    error: type[EstError] = ProtocolError,
) -> list[Any]:
    """Validate every certificate of ``certs`` (the /cacerts set, estcodec or cryptography certificates) as a CA
    certificate that chains to one of ``anchors`` at time ``at`` (default: now). Returns ``certs`` without
    duplicates, in their order; raises ``error`` naming the certificates that fail and why."""
    try:
        return _validate(anchors, certs, at, error)
    except EstError:
        raise
    except (ValueError, TypeError) as exc:  # a field cryptography reads lazily (a name, an extension) is bad
        raise error(f"a CA certificate cannot be read: {type(exc).__name__}") from None


def _validate(anchors: Sequence[Any], certs: Sequence[Any], at: _dt.datetime | None,
              error: type[EstError]) -> list[Any]:
    when = at or _dt.datetime.now(_dt.timezone.utc)
    if not anchors:
        raise error("no trust anchor to validate the CA certificates against")
    try:
        anchor_cc = [_crypto(a) for a in anchors]
        items: list[tuple[Any, x509.Certificate]] = []
        seen: set[bytes] = set()
        for c in certs:
            cc = _crypto(c)
            der = cc.public_bytes(Encoding.DER)
            if der not in seen:
                seen.add(der)
                items.append((c, cc))
    except (ValueError, TypeError) as exc:
        raise error(f"a CA certificate cannot be read: {type(exc).__name__}") from None
    # nodes: the set's certificates, then the anchors not in the set
    nodes = [cc for _, cc in items]
    index_of = {cc.public_bytes(Encoding.DER): i for i, cc in enumerate(nodes)}
    anchor_nodes = []
    for a in anchor_cc:
        der = a.public_bytes(Encoding.DER)
        if der not in index_of:
            index_of[der] = len(nodes)
            nodes.append(a)
        anchor_nodes.append(index_of[der])
    by_ski: dict[bytes, list[int]] = {}
    by_subject: dict[bytes, list[int]] = {}
    for i, cc in enumerate(nodes):
        ski = _ski(cc)
        if ski is not None:
            by_ski.setdefault(ski, []).append(i)
        by_subject.setdefault(cc.subject.public_bytes(), []).append(i)
    children: dict[int, list[int]] = {}
    for i in range(len(items)):
        cc = nodes[i]
        aki = _aki(cc)
        candidates = by_ski.get(aki, []) if aki is not None else []
        if not candidates:
            candidates = by_subject.get(cc.issuer.public_bytes(), [])
        for p in [p for p in candidates if p != i][:MAX_ISSUER_CANDIDATES]:
            children.setdefault(p, []).append(i)
    # breadth-first from the anchors: shortest paths, one signature check per (certificate, candidate issuer)
    parent: dict[int, int | None] = {i: None for i in anchor_nodes}
    queue = deque(anchor_nodes)
    while queue:
        p = queue.popleft()
        for c in children.get(p, ()):
            if c not in parent and verify_issued_by(nodes[c], nodes[p]):
                parent[c] = p
                queue.append(c)
    problems: list[str] = []
    verifier = _verifier(anchor_cc, when)
    for i, (_, cc) in enumerate(items):
        if i not in parent:
            problems.append(f"{_name(cc)}: does not chain to the trust anchor")
            continue
        if parent[i] is None:  # an anchor that is part of the set
            why = _ca_problem(cc, when)
            if why:
                problems.append(f"{_name(cc)}: {why}")
            continue
        path: list[x509.Certificate] = []  # the intermediates between the certificate and its anchor
        step = parent[i]
        while step is not None and parent[step] is not None:
            path.append(nodes[step])
            step = parent[step]
        try:
            verifier.verify(cc, path)
        except _v.VerificationError as exc:
            problems.append(f"{_name(cc)}: {_shown(str(exc))}")
        except Exception as exc:  # anything else cryptography may raise on odd input
            problems.append(f"{_name(cc)}: {type(exc).__name__}")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise error(f"CA certificates failed validation (RFC 7030 §4.1.3): {shown}")
    return [c for c, _ in items]

