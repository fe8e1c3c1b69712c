"""The algorithms of CMS EnvelopedData by OID: the errors of the cryptographic layer, the OIDs, and the registry
of content ciphers (RFC 3565, RFC 5084), key wraps (RFC 3394, RFC 3217), hashes, HMAC PRFs (RFC 8018) and ECDH
schemes (RFC 5753 §7.1.4) with their lookups.

Part of ``_cms_crypto``, which re-exports every name; import them from there.
"""
from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes

try:  # cryptography >= 43 keeps Triple-DES in its "decrepit" module
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES as _TripleDES
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES as _TripleDES

from . import oids as _oids
from .errors import Error

_NULL = b"\x05\x00"  # the DER of NULL, as AlgorithmIdentifier parameters

_FAILED = "decryption failed"


class DecryptionError(Error):
    """A wrong key, a bad padding, a failed check or no matching recipient.

    The message is always ``"decryption failed"`` (except for :class:`UnsupportedAlgorithmError`), whatever
    went wrong, so that the kind of failure cannot be told apart (no padding oracle).
    """

    def __init__(self, message: str = _FAILED) -> None:
        super().__init__(message)


class UnsupportedAlgorithmError(DecryptionError):
    """The message uses an algorithm (or a curve, or parameters) this module does not implement."""

    def __init__(self, what: str) -> None:
        self.algorithm = what
        super().__init__(f"unsupported algorithm: {what}")


# --------------------------------------------------------------------------------------------------------------
# OIDs

OID_AES128_CBC = _oids.ID_AES128_CBC
OID_AES192_CBC = _oids.ID_AES192_CBC
OID_AES256_CBC = _oids.ID_AES256_CBC
OID_DES_EDE3_CBC = _oids.DES_EDE3_CBC
OID_AES128_GCM = _oids.ID_AES128_GCM
OID_AES192_GCM = _oids.ID_AES192_GCM
OID_AES256_GCM = _oids.ID_AES256_GCM

OID_AES128_WRAP = _oids.ID_AES128_WRAP
OID_AES192_WRAP = _oids.ID_AES192_WRAP
OID_AES256_WRAP = _oids.ID_AES256_WRAP
OID_CMS3DES_WRAP = _oids.ID_ALG_CMS3DES_WRAP
OID_PWRI_KEK = _oids.ID_ALG_PWRI_KEK

OID_RSA_ENCRYPTION = _oids.RSA_ENCRYPTION
OID_RSAES_OAEP = _oids.ID_RSAES_OAEP
OID_MGF1 = _oids.ID_MGF1
OID_P_SPECIFIED = _oids.ID_P_SPECIFIED

OID_PBKDF2 = _oids.ID_PBKDF2
OID_HMAC_SHA1 = _oids.ID_HMAC_WITH_SHA1
OID_HMAC_SHA224 = _oids.ID_HMAC_WITH_SHA224
OID_HMAC_SHA256 = _oids.ID_HMAC_WITH_SHA256
OID_HMAC_SHA384 = _oids.ID_HMAC_WITH_SHA384
OID_HMAC_SHA512 = _oids.ID_HMAC_WITH_SHA512

OID_SHA1 = _oids.ID_SHA1
OID_SHA224 = _oids.ID_SHA224
OID_SHA256 = _oids.ID_SHA256
OID_SHA384 = _oids.ID_SHA384
OID_SHA512 = _oids.ID_SHA512

OID_EC_PUBLIC_KEY = _oids.ID_EC_PUBLIC_KEY

OID_DH_SINGLE_PASS_STDDH_SHA1KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA1KDF_SCHEME
OID_DH_SINGLE_PASS_COFACTORDH_SHA1KDF = _oids.DH_SINGLE_PASS_COFACTOR_DH_SHA1KDF_SCHEME
OID_DH_SINGLE_PASS_STDDH_SHA224KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA224KDF_SCHEME
OID_DH_SINGLE_PASS_STDDH_SHA256KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA256KDF_SCHEME
OID_DH_SINGLE_PASS_STDDH_SHA384KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA384KDF_SCHEME
OID_DH_SINGLE_PASS_STDDH_SHA512KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA512KDF_SCHEME
OID_DH_SINGLE_PASS_COFACTORDH_SHA224KDF = _oids.DH_SINGLE_PASS_COFACTOR_DH_SHA224KDF_SCHEME
OID_DH_SINGLE_PASS_COFACTORDH_SHA256KDF = _oids.DH_SINGLE_PASS_COFACTOR_DH_SHA256KDF_SCHEME
OID_DH_SINGLE_PASS_COFACTORDH_SHA384KDF = _oids.DH_SINGLE_PASS_COFACTOR_DH_SHA384KDF_SCHEME
OID_DH_SINGLE_PASS_COFACTORDH_SHA512KDF = _oids.DH_SINGLE_PASS_COFACTOR_DH_SHA512KDF_SCHEME


# --------------------------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class ContentCipher:
    """A CBC content-encryption algorithm: key and block (= IV) sizes in bytes."""

    oid: str
    name: str
    key_size: int
    block_size: int
    algorithm: Callable[[bytes], BlockCipherAlgorithm]


@dataclass(frozen=True)
class AeadCipher:
    """An AEAD content-encryption algorithm for AuthEnvelopedData (RFC 5083/5084): AES-GCM."""

    oid: str
    name: str
    key_size: int


@dataclass(frozen=True)
class KeyWrapAlgorithm:
    """A key-wrap algorithm: the size of its KEK in bytes and whether its AlgorithmIdentifier carries NULL
    parameters (CMS3DESwrap, RFC 3217) or none (AES key wrap, RFC 3565)."""

    oid: str
    name: str
    kek_size: int
    null_parameters: bool

    def wrap(self, kek: bytes, cek: bytes) -> bytes:
        return key_wrap(self.oid, kek, cek)

    def unwrap(self, kek: bytes, wrapped: bytes) -> bytes:
        return key_unwrap(self.oid, kek, wrapped)


@dataclass(frozen=True)
class EcdhScheme:
    """An RFC 5753 single-pass ECDH scheme: the hash of its X9.63 KDF and whether it is the cofactor variant."""

    oid: str
    name: str
    hash_oid: str
    cofactor: bool


def _aes(key: bytes) -> BlockCipherAlgorithm:
    return algorithms.AES(key)


def _tdes(key: bytes) -> BlockCipherAlgorithm:
    return _TripleDES(key)


CONTENT_CIPHERS: Mapping[str, ContentCipher] = {
    c.oid: c
    for c in (
        ContentCipher(OID_AES128_CBC, "aes128-cbc", 16, 16, _aes),
        ContentCipher(OID_AES192_CBC, "aes192-cbc", 24, 16, _aes),
        ContentCipher(OID_AES256_CBC, "aes256-cbc", 32, 16, _aes),
        ContentCipher(OID_DES_EDE3_CBC, "des-ede3-cbc", 24, 8, _tdes),
    )
}

AEAD_CIPHERS: Mapping[str, AeadCipher] = {
    c.oid: c
    for c in (
        AeadCipher(OID_AES128_GCM, "aes128-gcm", 16),
        AeadCipher(OID_AES192_GCM, "aes192-gcm", 24),
        AeadCipher(OID_AES256_GCM, "aes256-gcm", 32),
    )
}

KEY_WRAP_ALGORITHMS: Mapping[str, KeyWrapAlgorithm] = {
    w.oid: w
    for w in (
        KeyWrapAlgorithm(OID_AES128_WRAP, "aes128-wrap", 16, False),
        KeyWrapAlgorithm(OID_AES192_WRAP, "aes192-wrap", 24, False),
        KeyWrapAlgorithm(OID_AES256_WRAP, "aes256-wrap", 32, False),
        KeyWrapAlgorithm(OID_CMS3DES_WRAP, "cms3des-wrap", 24, True),
    )
}

HASHES: Mapping[str, Callable[[], hashes.HashAlgorithm]] = {
    OID_SHA1: hashes.SHA1,
    OID_SHA224: hashes.SHA224,
    OID_SHA256: hashes.SHA256,
    OID_SHA384: hashes.SHA384,
    OID_SHA512: hashes.SHA512,
}
#: hash name as ``cryptography`` spells it (``"sha256"``) -> OID
HASH_OIDS: Mapping[str, str] = {factory().name: oid for oid, factory in HASHES.items()}

#: HMAC PRF OID (PBKDF2-params.prf) -> OID of its hash
HMAC_PRFS: Mapping[str, str] = {
    OID_HMAC_SHA1: OID_SHA1,
    OID_HMAC_SHA224: OID_SHA224,
    OID_HMAC_SHA256: OID_SHA256,
    OID_HMAC_SHA384: OID_SHA384,
    OID_HMAC_SHA512: OID_SHA512,
}
#: hash OID -> HMAC PRF OID
HMAC_PRF_OIDS: Mapping[str, str] = {h: p for p, h in HMAC_PRFS.items()}

ECDH_SCHEMES: Mapping[str, EcdhScheme] = {
    s.oid: s
    for s in (
        EcdhScheme(OID_DH_SINGLE_PASS_STDDH_SHA1KDF, "dhSinglePass-stdDH-sha1kdf-scheme", OID_SHA1, False),
        EcdhScheme(OID_DH_SINGLE_PASS_STDDH_SHA224KDF, "dhSinglePass-stdDH-sha224kdf-scheme", OID_SHA224, False),
        EcdhScheme(OID_DH_SINGLE_PASS_STDDH_SHA256KDF, "dhSinglePass-stdDH-sha256kdf-scheme", OID_SHA256, False),
        EcdhScheme(OID_DH_SINGLE_PASS_STDDH_SHA384KDF, "dhSinglePass-stdDH-sha384kdf-scheme", OID_SHA384, False),
        EcdhScheme(OID_DH_SINGLE_PASS_STDDH_SHA512KDF, "dhSinglePass-stdDH-sha512kdf-scheme", OID_SHA512, False),
        EcdhScheme(OID_DH_SINGLE_PASS_COFACTORDH_SHA1KDF, "dhSinglePass-cofactorDH-sha1kdf-scheme", OID_SHA1, True),
        EcdhScheme(OID_DH_SINGLE_PASS_COFACTORDH_SHA224KDF, "dhSinglePass-cofactorDH-sha224kdf-scheme",
                   OID_SHA224, True),
        EcdhScheme(OID_DH_SINGLE_PASS_COFACTORDH_SHA256KDF, "dhSinglePass-cofactorDH-sha256kdf-scheme",
                   OID_SHA256, True),
        EcdhScheme(OID_DH_SINGLE_PASS_COFACTORDH_SHA384KDF, "dhSinglePass-cofactorDH-sha384kdf-scheme",
                   OID_SHA384, True),
        EcdhScheme(OID_DH_SINGLE_PASS_COFACTORDH_SHA512KDF, "dhSinglePass-cofactorDH-sha512kdf-scheme",
                   OID_SHA512, True),
    )
}

# Curves whose cofactor is 1: for them cofactor ECDH and standard ECDH compute the same shared secret, so the
# cofactor schemes can use cryptography's (standard) ECDH. Other curves are refused for the cofactor schemes.
_COFACTOR_ONE_CURVES = frozenset(
    {"secp192r1", "secp224r1", "secp256r1", "secp384r1", "secp521r1", "secp256k1",
     "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"}
)


def content_cipher(oid: str) -> ContentCipher:
    """The CBC content cipher registered under ``oid``; :class:`UnsupportedAlgorithmError` otherwise."""
    try:
        return CONTENT_CIPHERS[oid]
    except KeyError:
        raise UnsupportedAlgorithmError(oid) from None


def key_wrap_algorithm(oid: str) -> KeyWrapAlgorithm:
    try:
        return KEY_WRAP_ALGORITHMS[oid]
    except KeyError:
        raise UnsupportedAlgorithmError(oid) from None


def hash_algorithm(oid: str) -> hashes.HashAlgorithm:
    """A fresh ``cryptography`` hash object for a hash OID (SHA-1, SHA-224/256/384/512)."""
    try:
        return HASHES[oid]()
    except KeyError:
        raise UnsupportedAlgorithmError(oid) from None


def hmac_prf(oid: str) -> hashes.HashAlgorithm:
    """The hash of an HMAC PRF OID (hmacWithSHA1/224/256/384/512)."""
    try:
        return HASHES[HMAC_PRFS[oid]]()
    except KeyError:
        raise UnsupportedAlgorithmError(oid) from None


def ecdh_scheme(oid: str) -> EcdhScheme:
    try:
        return ECDH_SCHEMES[oid]
    except KeyError:
        raise UnsupportedAlgorithmError(oid) from None


def _as_bytes(value: object, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


def set_des_odd_parity(key: bytes) -> bytes:
    """Set the low bit of each octet so that every octet has odd parity (the DES key convention)."""
    out = bytearray(key)
    for i, b in enumerate(out):
        high = b & 0xFE
        out[i] = high | ((bin(high).count("1") + 1) & 1)
    return bytes(out)


# --------------------------------------------------------------------------------------------------------------
# Key wrap


def aes_wrap(kek: bytes, cek: bytes) -> bytes:
    """AES key wrap (RFC 3394) with the default IV; the KEK's size picks AES-128/192/256."""
    kek = _as_bytes(kek, "kek")
    cek = _as_bytes(cek, "cek")
    if len(kek) not in (16, 24, 32):
        raise ValueError("an AES KEK is 16, 24 or 32 bytes")
    if len(cek) < 16 or len(cek) % 8:
        raise ValueError("AES key wrap needs a key of at least 16 bytes, a multiple of 8")
    return keywrap.aes_key_wrap(kek, cek)


def aes_unwrap(kek: bytes, wrapped: bytes) -> bytes:
    """AES key unwrap (RFC 3394); a failed integrity check or a malformed input raises :class:`DecryptionError`."""
    kek = _as_bytes(kek, "kek")
    wrapped = _as_bytes(wrapped, "wrapped")
    if len(kek) not in (16, 24, 32) or len(wrapped) < 24 or len(wrapped) % 8:
        raise DecryptionError()
    try:
        return keywrap.aes_key_unwrap(kek, wrapped)
    except (keywrap.InvalidUnwrap, ValueError):
        raise DecryptionError() from None


_CMS3DES_IV = bytes.fromhex("4adda22c79e82105")


def _tdes_cbc(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    c = Cipher(_TripleDES(key), modes.CBC(iv))
    ctx = c.encryptor() if encrypt else c.decryptor()
    return ctx.update(data) + ctx.finalize()


def _cms_key_checksum(cek: bytes) -> bytes:
    h = hashes.Hash(hashes.SHA1())
    h.update(cek)
    return h.finalize()[:8]


def cms3des_wrap(kek: bytes, cek: bytes, *, iv: Optional[bytes] = None) -> bytes:
    """Triple-DES key wrap (RFC 3217 §3.1): wrap a 24-byte Triple-DES key under a 24-byte Triple-DES KEK.

    The CEK gets odd parity, an 8-byte SHA-1 checksum, one CBC pass under a random IV, the IV is prefixed, the
    octets are reversed and a second CBC pass under the fixed IV 4adda22c79e82105 gives the 40-byte result.
    """
    kek = _as_bytes(kek, "kek")
    cek = _as_bytes(cek, "cek")
    if len(kek) != 24:
        raise ValueError("a Triple-DES KEK is 24 bytes")
    if len(cek) != 24:
        raise ValueError("CMS3DESwrap wraps a 24-byte Triple-DES key")
    if iv is None:
        iv = os.urandom(8)
    elif len(iv) != 8:
        raise ValueError("the CMS3DESwrap IV is 8 bytes")
    cek = set_des_odd_parity(cek)
    temp1 = _tdes_cbc(kek, iv, cek + _cms_key_checksum(cek), True)
    temp3 = (iv + temp1)[::-1]
    return _tdes_cbc(kek, _CMS3DES_IV, temp3, True)


def cms3des_unwrap(kek: bytes, wrapped: bytes) -> bytes:
    """Triple-DES key unwrap (RFC 3217 §3.2); a checksum mismatch or malformed input raises
    :class:`DecryptionError`."""
    kek = _as_bytes(kek, "kek")
    wrapped = _as_bytes(wrapped, "wrapped")
    if len(kek) != 24 or len(wrapped) != 40:
        raise DecryptionError()
    temp2 = _tdes_cbc(kek, _CMS3DES_IV, wrapped, False)[::-1]
    cekicv = _tdes_cbc(kek, temp2[:8], temp2[8:], False)
    cek, icv = cekicv[:24], cekicv[24:]
    if not hmac.compare_digest(_cms_key_checksum(cek), icv):
        raise DecryptionError()
    return cek


def key_wrap(wrap_oid: str, kek: bytes, cek: bytes) -> bytes:
    """Wrap ``cek`` under ``kek`` with the key-wrap algorithm ``wrap_oid`` (AES wraps or CMS3DESwrap); the
    KEK must have the algorithm's size."""
    wrap = key_wrap_algorithm(wrap_oid)
    if len(kek) != wrap.kek_size:
        raise ValueError(f"{wrap.name} needs a {wrap.kek_size}-byte KEK, got {len(kek)} bytes")
    if wrap.oid == OID_CMS3DES_WRAP:
        return cms3des_wrap(kek, cek)
    return aes_wrap(kek, cek)


def key_unwrap(wrap_oid: str, kek: bytes, wrapped: bytes) -> bytes:
    """Unwrap with the key-wrap algorithm ``wrap_oid``. A KEK of another size than the algorithm's is a wrong
    key: :class:`DecryptionError`, as is a failed integrity check."""
    wrap = key_wrap_algorithm(wrap_oid)
    if len(kek) != wrap.kek_size:
        raise DecryptionError()
    if wrap.oid == OID_CMS3DES_WRAP:
        return cms3des_unwrap(kek, wrapped)
    return aes_unwrap(kek, wrapped)
