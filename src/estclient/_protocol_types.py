"""The values of the sans-IO protocol: requests and responses as sent and received, and the typed results.

Part of :mod:`estclient.protocol`, which re-exports the public names; import them from there.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ._protocol_media import parse_media_type
from .errors import ProtocolError


@dataclass(frozen=True)
class EstRequest:
    """One HTTP request to send. ``path`` is relative to the server URL; ``url``, when set, is an absolute
    same-origin URL that replaces it (a followed redirect)."""

    method: str
    path: str
    operation: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    url: str | None = None

    def header_dict(self) -> dict[str, str]:
        """The headers as a ``dict`` (name -> value), in the order they were given; a repeated name keeps its
        last value."""
        return dict(self.headers)


class _Headers(Mapping[str, str]):
    """Case-insensitive, read-only header view; repeated headers are joined with ", "."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> None:
        data: dict[str, str] = {}
        if items is None:
            pairs: Iterable[tuple[str, str]] = ()
        elif isinstance(items, Mapping):
            pairs = items.items()
        else:
            pairs = items
        for k, v in pairs:
            if isinstance(k, bytes):
                k = k.decode("latin-1")
            if isinstance(v, bytes):
                v = v.decode("latin-1")
            key = k.lower()
            data[key] = f"{data[key]}, {v}" if key in data else v
        self._data = data

    def __getitem__(self, key: str) -> str:
        return self._data[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        shown = {k: ("<hidden>" if k in ("authorization", "set-cookie") else v) for k, v in self._data.items()}
        return f"Headers({shown!r})"


class EstResponse:
    """An HTTP response as received: status, headers (case-insensitive) and the complete body."""

    __slots__ = ("status", "headers", "body")

    def __init__(
        self, status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None, body: bytes = b""
    ) -> None:
        self.status = int(status)
        self.headers: Mapping[str, str] = _Headers(headers)
        self.body = bytes(body or b"")

    @property
    def media_type(self) -> str | None:
        """The type/subtype of ``Content-Type``, lower-cased and without parameters (see
        :func:`parse_media_type`); ``None`` when the response has no ``Content-Type``."""
        ct = self.headers.get("content-type")
        return parse_media_type(ct)[0] if ct else None

    def __repr__(self) -> str:
        return f"EstResponse(status={self.status}, media_type={self.media_type!r}, body={len(self.body)} bytes)"


def _pem(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


class CaCertificates(Sequence[Any]):
    """The CA certificates of a ``/cacerts`` response (RFC 7030 §4.1.3), in the order the server sent them.

    Items are :class:`estcodec.x509.Certificate` models. ``len()``, iteration, indexing, :meth:`to_pem`.
    """

    def __init__(self, certificates: Iterable[Any]) -> None:
        self._certs = list(certificates)

    def __len__(self) -> int:
        return len(self._certs)

    def __getitem__(self, index: Any) -> Any:
        return self._certs[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._certs)

    @property
    def certificates(self) -> list[Any]:
        """A new list of the :class:`estcodec.x509.Certificate` models, in the server's order."""
        return list(self._certs)

    def to_pem(self) -> str:
        """All certificates as concatenated PEM ``CERTIFICATE`` blocks."""
        return "".join(_pem("CERTIFICATE", c.to_der()) for c in self._certs)

    def fingerprints_sha256(self) -> list[str]:
        """The SHA-256 fingerprint of each certificate's DER, as lower-case hex without separators, in the
        server's order (what an operator compares out of band, RFC 7030 §4.1.1)."""
        return [hashlib.sha256(c.to_der()).hexdigest() for c in self._certs]

    def __repr__(self) -> str:
        return f"CaCertificates({len(self._certs)} certificates)"


@dataclass(frozen=True)
class Issued:
    """A certificate was issued. ``certificate`` is the one whose public key is the requester's; ``chain``
    holds the other certificates of the response (often empty), in the server's order."""

    certificate: Any
    chain: tuple[Any, ...] = ()

    def to_pem(self) -> str:
        """The issued certificate, then the rest of the chain, as concatenated PEM ``CERTIFICATE`` blocks."""
        return _pem("CERTIFICATE", self.certificate.to_der()) + "".join(
            _pem("CERTIFICATE", c.to_der()) for c in self.chain
        )


@dataclass(frozen=True)
class Pending:
    """202 Accepted: the request is queued; repeat the same request after ``retry_after`` seconds
    (``None`` when the server gave no usable Retry-After)."""

    retry_after: float | None


@dataclass(frozen=True, repr=False)
class ServerKeygenResponse:
    """``/serverkeygen`` result (RFC 7030 §4.4.2).

    ``private_key`` is the PKCS#8 DER of the generated key, or ``None`` when it arrived encrypted and the caller
    gave no key to decrypt it; ``encrypted_key`` then holds the CMS bytes as received (never the plaintext
    key). ``key_encrypted`` says whether the server encrypted the key.
    """

    certificate: Any
    private_key: bytes | None
    encrypted_key: bytes | None = None
    key_encrypted: bool = False
    chain: tuple[Any, ...] = ()

    def private_key_object(self) -> Any:
        """The key as a ``cryptography`` private key object (raises ProtocolError if it is not available)."""
        if self.private_key is None:
            raise ProtocolError("the server-generated key was not decrypted")
        return _key_object(self.private_key)

    def __repr__(self) -> str:
        return (
            f"ServerKeygenResponse(certificate={self.certificate!r}, private_key="
            f"{'<hidden>' if self.private_key else None}, key_encrypted={self.key_encrypted})"
        )


@dataclass(frozen=True)
class CmcResponse:
    """``/fullcmc`` result. ``pki_response`` is the :class:`estcodec.cmc.PKIResponse` (``None`` when the server
    answered with a bare certs-only message), ``certificates`` the certificates it carries."""

    pki_response: Any
    certificates: tuple[Any, ...] = ()

    def is_pending(self) -> bool:
        """True when the PKIResponse's status is pending (RFC 5272 §6.1.1): the CA has not decided yet and the
        request should be repeated later. A certs-only response is never pending."""
        return self.pki_response is not None and bool(self.pki_response.is_pending())


@dataclass(frozen=True, repr=False)
class CmcRequest:
    """A Full PKI Request to sign: a :class:`estcodec.cmc.PKIData` (or a PKCS#10 CSR to wrap into one) and the
    signer's key (and certificate, if it has one; without it the signer is named by subject key identifier,
    RFC 5272 §3.2)."""

    pki_data: Any
    private_key: Any
    certificate: Any = None

    @classmethod
    def for_csr(
        cls, csr_der: bytes, private_key: Any, *, certificate: Any = None, transaction_id: int | None = None
    ) -> CmcRequest:
        """A Full PKI Request that wraps one PKCS#10 CSR (RFC 5272 §3.2.1.2.1) with a random senderNonce.

        :param csr_der: the CSR as DER.
        :param private_key: the key (or signer) that signs the SignedData around the PKIData.
        :param certificate: the signer's certificate; without it the signer is named by subject key identifier.
        :param transaction_id: the transactionId control to include (RFC 5272 §6.6); none when ``None``.
        """
        from estcodec.cmc import PkiDataBuilder

        b = PkiDataBuilder()
        if transaction_id is not None:
            b = b.transaction_id(transaction_id) or b
        b = b.random_sender_nonce() or b
        b = b.add_certification_request(csr_der) or b
        return cls(b.build(), private_key, certificate)

    def to_der(self) -> bytes:
        """Sign the PKIData (RFC 5272 §3.2: a SignedData of content type id-cct-PKIData) and return the
        ContentInfo DER to send to ``/fullcmc``."""
        from estcodec.cmc import sign_pki_data

        return sign_pki_data(self.pki_data, self.private_key, self.certificate)

    def __repr__(self) -> str:
        return "CmcRequest(pki_data=..., private_key=<hidden>)"


def _key_object(pkcs8_der: bytes) -> Any:
    from cryptography.exceptions import InternalError, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        return load_der_private_key(pkcs8_der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, InternalError):
        # an algorithm cryptography does not know (the fuzzer sent an unknown key OID) is as unusable as a
        # malformed key; the message names neither the key bytes nor cryptography's text
        raise ProtocolError("serverkeygen: the private key part is not a usable key") from None
