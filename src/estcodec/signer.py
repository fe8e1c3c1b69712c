"""The key seam: one interface through which every private key is used for signing.

estcodec's builders (PKCS#10, CMS SignedData, CMC, CRLs) and estclient (CSRs, renewal, the CLI) never call a
private key themselves. They go through a :class:`Signer`:

- ``public_key()`` returns the ``cryptography`` public key (it names the key type, the curve or the modulus size
  and is what the certificate must carry);
- ``sign(data, scheme)`` signs ``data`` (the whole message, not a digest) with the hash and padding that
  ``scheme`` names and returns the signature as it goes on the wire: ECDSA as a DER ``Ecdsa-Sig-Value``, RSA and
  EdDSA as raw octets;
- ``exportable`` says whether ``private_key()`` can hand over the key as a ``cryptography`` object (a file key
  can; a PKCS#11 or TPM key cannot, and ``private_key()`` raises :class:`KeyNotExportable`).

A ``cryptography`` private key is accepted wherever a signer is: :func:`as_signer` wraps it in a
:class:`SoftwareSigner`. The signature AlgorithmIdentifier is chosen in one place, ``estcodec._sigalgs.sign``,
from the public key and the scheme, so a hardware signer only has to produce signature octets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Union, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from .errors import Error

__all__ = [
    "Signer", "SignatureScheme", "SoftwareSigner", "KeyNotExportable", "as_signer", "is_signer",
    "PublicKey", "SoftwarePrivateKey",
]

PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey]
SoftwarePrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                           ed448.Ed448PrivateKey]
_SOFTWARE_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)


class KeyNotExportable(Error):
    """The signer's private key cannot leave where it lives (a token, a TPM); the message names the signer."""


@dataclass(frozen=True)
class SignatureScheme:
    """How to sign: ``hash`` (None for Ed25519/Ed448, which hash internally), and for RSA the padding
    (``"pkcs1v15"`` or ``"pss"``) with the PSS salt length in octets (the hash length when None)."""

    hash: Optional[hashes.HashAlgorithm]
    rsa_padding: Optional[str] = None
    pss_salt_length: Optional[int] = None

    @property
    def salt_length(self) -> int:
        """The PSS salt length in octets this scheme signs with."""
        if self.pss_salt_length is not None:
            return int(self.pss_salt_length)
        return self.hash.digest_size if self.hash is not None else 0


@runtime_checkable
class Signer(Protocol):
    """A private key that signs. See the module text for the contract."""

    @property
    def exportable(self) -> bool:
        """Whether :meth:`private_key` returns the key as a ``cryptography`` object."""
        ...

    def public_key(self) -> PublicKey:
        """The matching public key."""
        ...

    def sign(self, data: bytes, scheme: SignatureScheme) -> bytes:
        """Sign ``data`` as ``scheme`` says; ECDSA signatures DER-encoded, others raw."""
        ...

    def private_key(self) -> SoftwarePrivateKey:
        """The key itself, or :class:`KeyNotExportable`."""
        ...


class SoftwareSigner:
    """A :class:`Signer` over a ``cryptography`` private key held in memory (exportable)."""

    __slots__ = ("_key",)

    def __init__(self, key: SoftwarePrivateKey) -> None:
        if not isinstance(key, _SOFTWARE_TYPES):
            raise TypeError(f"unsupported private key type {type(key).__name__}")
        self._key = key

    @property
    def exportable(self) -> bool:
        """Always True: the key is in memory and can be exported."""
        return True

    def public_key(self) -> PublicKey:
        """The public key of the wrapped key."""
        return self._key.public_key()

    def private_key(self) -> SoftwarePrivateKey:
        """The wrapped ``cryptography`` private key."""
        return self._key

    def sign(self, data: bytes, scheme: SignatureScheme) -> bytes:
        """Sign ``data`` with ``scheme`` (hash and RSA padding). Raises ``ValueError`` when the scheme does not fit
        the key (a hash for Ed25519/Ed448, none for RSA or ECDSA, an unknown padding)."""
        key = self._key
        if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
            if scheme.hash is not None:
                raise ValueError("Ed25519/Ed448 sign without a separate hash")
            return key.sign(data)
        h = scheme.hash
        if h is None:
            raise ValueError("RSA and ECDSA signatures need a hash")
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(h))
        if scheme.rsa_padding == "pss":
            return key.sign(data, padding.PSS(mgf=padding.MGF1(h), salt_length=scheme.salt_length), h)
        if scheme.rsa_padding not in (None, "pkcs1v15"):
            raise ValueError(f"rsa_padding is 'pkcs1v15' or 'pss', not {scheme.rsa_padding!r}")
        return key.sign(data, padding.PKCS1v15(), h)

    def __repr__(self) -> str:
        return f"SoftwareSigner({type(self._key).__name__})"


def is_signer(obj: object) -> bool:
    """True for a ``cryptography`` private key of a supported type or a :class:`Signer`."""
    return isinstance(obj, _SOFTWARE_TYPES) or (isinstance(obj, Signer) and not isinstance(obj, type))


def as_signer(key: Union[Signer, SoftwarePrivateKey]) -> Signer:
    """``key`` as a :class:`Signer`: a ``cryptography`` private key is wrapped, a signer is returned as is."""
    if isinstance(key, _SOFTWARE_TYPES):
        return SoftwareSigner(key)
    if isinstance(key, Signer) and not isinstance(key, type):
        return key
    raise TypeError(f"not a private key or signer: {type(key).__name__}")


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
