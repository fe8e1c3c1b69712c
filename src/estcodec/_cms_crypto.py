"""Cryptographic layer of CMS EnvelopedData (RFC 5652 §6, RFC 3211, RFC 3217, RFC 3218, RFC 3394, RFC 3560,
RFC 5753).

Pure functions over ``bytes`` and ``cryptography`` key objects. Every primitive (RSA, ECDH, X9.63 KDF, AES key
wrap, PBKDF2, AES, Triple-DES, PKCS#7 unpadding) comes from ``cryptography``; this module only composes them the
way the CMS specifications say:

- content encryption: AES-128/192/256-CBC and DES-EDE3-CBC with PKCS#7 padding;
- key transport: RSA PKCS#1 v1.5 (unwrap with the RFC 3218 countermeasure) and RSAES-OAEP;
- key agreement: ECDH ephemeral-static (RFC 5753) with the X9.63 KDF over ECC-CMS-SharedInfo;
- key wrap: AES key wrap (RFC 3394) and CMS3DESwrap (RFC 3217);
- password: PBKDF2 (RFC 8018) and the PWRI-KEK key wrap (RFC 3211).

Algorithms are named by their OIDs (dotted strings), because that is what an EnvelopedData carries.

Every failure to decrypt or unwrap (wrong key, bad padding, failed integrity check, malformed wrapped key)
raises :class:`DecryptionError` with the one message ``"decryption failed"``, so that no caller can offer a
padding oracle by passing messages through. An algorithm this module does not implement raises
:class:`UnsupportedAlgorithmError` (a subclass), whose message names the OID: which algorithms a message uses
is public. Programming errors (a wrong key type, a KEK of the wrong size on the sending side) raise
``TypeError``/``ValueError`` as usual.
"""
from __future__ import annotations

import hmac
import os
from typing import Annotated, Mapping, Optional, Tuple, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import ec, padding as asym_padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from . import oids as _oids
from ._cms_algs import (
    set_des_odd_parity, aes_wrap, aes_unwrap, cms3des_wrap, cms3des_unwrap, key_wrap, key_unwrap, DecryptionError,
    UnsupportedAlgorithmError, OID_AES128_CBC, OID_AES192_CBC, OID_AES256_CBC, OID_DES_EDE3_CBC, OID_AES128_GCM,
    OID_AES192_GCM, OID_AES256_GCM, OID_AES128_WRAP, OID_AES192_WRAP, OID_AES256_WRAP, OID_CMS3DES_WRAP,
    OID_PWRI_KEK, OID_RSA_ENCRYPTION, OID_RSAES_OAEP, OID_MGF1, OID_P_SPECIFIED, OID_PBKDF2, OID_HMAC_SHA1,
    OID_HMAC_SHA224, OID_HMAC_SHA256, OID_HMAC_SHA384, OID_HMAC_SHA512, OID_SHA1, OID_SHA224, OID_SHA256,
    OID_SHA384, OID_SHA512, OID_EC_PUBLIC_KEY, OID_DH_SINGLE_PASS_STDDH_SHA1KDF,
    OID_DH_SINGLE_PASS_COFACTORDH_SHA1KDF, OID_DH_SINGLE_PASS_STDDH_SHA224KDF, OID_DH_SINGLE_PASS_STDDH_SHA256KDF,
    OID_DH_SINGLE_PASS_STDDH_SHA384KDF, OID_DH_SINGLE_PASS_STDDH_SHA512KDF,
    OID_DH_SINGLE_PASS_COFACTORDH_SHA224KDF, OID_DH_SINGLE_PASS_COFACTORDH_SHA256KDF,
    OID_DH_SINGLE_PASS_COFACTORDH_SHA384KDF, OID_DH_SINGLE_PASS_COFACTORDH_SHA512KDF, ContentCipher, AeadCipher,
    KeyWrapAlgorithm, EcdhScheme, CONTENT_CIPHERS, AEAD_CIPHERS, KEY_WRAP_ALGORITHMS, HASHES, HASH_OIDS, HMAC_PRFS,
    HMAC_PRF_OIDS, ECDH_SCHEMES, _COFACTOR_ONE_CURVES, content_cipher, key_wrap_algorithm, hash_algorithm,
    hmac_prf, ecdh_scheme, _as_bytes,
)
from .schema import Any, ObjectIdentifier, OctetString, Sequence, encode, field
from .x509 import AlgorithmIdentifier

_NULL = b"\x05\x00"  # the DER of NULL, as AlgorithmIdentifier parameters

__all__ = [
    "DecryptionError",
    "UnsupportedAlgorithmError",
    # OIDs
    "OID_AES128_CBC", "OID_AES192_CBC", "OID_AES256_CBC", "OID_DES_EDE3_CBC",
    "OID_AES128_GCM", "OID_AES192_GCM", "OID_AES256_GCM",
    "OID_AES128_WRAP", "OID_AES192_WRAP", "OID_AES256_WRAP", "OID_CMS3DES_WRAP", "OID_PWRI_KEK",
    "OID_RSA_ENCRYPTION", "OID_RSAES_OAEP", "OID_MGF1", "OID_P_SPECIFIED",
    "OID_PBKDF2", "OID_HMAC_SHA1", "OID_HMAC_SHA224", "OID_HMAC_SHA256", "OID_HMAC_SHA384", "OID_HMAC_SHA512",
    "OID_SHA1", "OID_SHA224", "OID_SHA256", "OID_SHA384", "OID_SHA512",
    "OID_EC_PUBLIC_KEY", "EC_CURVE_OIDS", "ec_originator_public_key",
    "OID_DH_SINGLE_PASS_STDDH_SHA1KDF", "OID_DH_SINGLE_PASS_STDDH_SHA224KDF",
    "OID_DH_SINGLE_PASS_STDDH_SHA256KDF", "OID_DH_SINGLE_PASS_STDDH_SHA384KDF",
    "OID_DH_SINGLE_PASS_STDDH_SHA512KDF", "OID_DH_SINGLE_PASS_COFACTORDH_SHA1KDF",
    "OID_DH_SINGLE_PASS_COFACTORDH_SHA224KDF", "OID_DH_SINGLE_PASS_COFACTORDH_SHA256KDF",
    "OID_DH_SINGLE_PASS_COFACTORDH_SHA384KDF", "OID_DH_SINGLE_PASS_COFACTORDH_SHA512KDF",
    # registry
    "ContentCipher", "AeadCipher", "KeyWrapAlgorithm", "EcdhScheme",
    "CONTENT_CIPHERS", "AEAD_CIPHERS", "KEY_WRAP_ALGORITHMS", "HASHES", "HASH_OIDS", "HMAC_PRFS",
    "HMAC_PRF_OIDS", "ECDH_SCHEMES",
    "content_cipher", "key_wrap_algorithm", "hash_algorithm", "hmac_prf", "ecdh_scheme",
    # content
    "generate_content_key", "generate_iv", "encrypt_content", "decrypt_content",
    "aead_encrypt_content", "aead_decrypt_content", "set_des_odd_parity",
    # key transport
    "rsa_pkcs1v15_encrypt_key", "rsa_pkcs1v15_decrypt_key", "rsa_oaep_encrypt_key", "rsa_oaep_decrypt_key",
    # key agreement
    "ecc_cms_shared_info", "x963_kdf", "ecdh_shared_secret", "ecdh_derive_kek", "ecdh_generate_ephemeral",
    "ecdh_wrap_key", "ecdh_unwrap_key", "key_wrap_algorithm_identifier",
    # key wrap
    "key_wrap", "key_unwrap", "aes_wrap", "aes_unwrap", "cms3des_wrap", "cms3des_unwrap",
    # password
    "pbkdf2", "pwri_kek_wrap", "pwri_kek_unwrap", "DEFAULT_MAX_PBKDF2_ITERATIONS",
]

# --------------------------------------------------------------------------------------------------------------
# Content encryption


def generate_content_key(oid: str) -> bytes:
    """A fresh random content-encryption key for the cipher ``oid`` (DES keys with odd parity)."""
    if oid in AEAD_CIPHERS:
        return os.urandom(AEAD_CIPHERS[oid].key_size)
    cipher = content_cipher(oid)
    key = os.urandom(cipher.key_size)
    if oid == OID_DES_EDE3_CBC:
        key = set_des_odd_parity(key)
    return key


def generate_iv(oid: str) -> bytes:
    """A fresh random IV for the CBC cipher ``oid`` (its block size)."""
    return os.urandom(content_cipher(oid).block_size)


def encrypt_content(oid: str, key: bytes, plaintext: bytes, *, iv: Optional[bytes] = None) -> Tuple[bytes, bytes]:
    """Encrypt ``plaintext`` with the CBC cipher ``oid`` and PKCS#7 padding. Returns ``(iv, ciphertext)``;
    a random IV is drawn unless one is given."""
    cipher = content_cipher(oid)
    key = _as_bytes(key, "key")
    if len(key) != cipher.key_size:
        raise ValueError(f"{cipher.name} needs a {cipher.key_size}-byte key, got {len(key)} bytes")
    if iv is None:
        iv = os.urandom(cipher.block_size)
    elif len(iv) != cipher.block_size:
        raise ValueError(f"{cipher.name} needs a {cipher.block_size}-byte IV, got {len(iv)} bytes")
    padder = sym_padding.PKCS7(cipher.block_size * 8).padder()
    padded = padder.update(_as_bytes(plaintext, "plaintext")) + padder.finalize()
    enc = Cipher(cipher.algorithm(key), modes.CBC(iv)).encryptor()
    return bytes(iv), enc.update(padded) + enc.finalize()


def decrypt_content(oid: str, key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Decrypt CBC ``ciphertext`` and strip its PKCS#7 padding.

    A key or IV of the wrong size, a ciphertext that is empty or not a whole number of blocks, and a bad padding
    all raise :class:`DecryptionError` with the same message. A wrong key is caught only when it spoils the
    padding (CBC has no integrity check): callers compare or parse what comes out.
    """
    cipher = content_cipher(oid)
    key = _as_bytes(key, "key")
    iv = _as_bytes(iv, "iv")
    ciphertext = _as_bytes(ciphertext, "ciphertext")
    bs = cipher.block_size
    if len(key) != cipher.key_size or len(iv) != bs or not ciphertext or len(ciphertext) % bs:
        raise DecryptionError()
    dec = Cipher(cipher.algorithm(key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = sym_padding.PKCS7(bs * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise DecryptionError() from None


def aead_encrypt_content(
    oid: str, key: bytes, plaintext: bytes, *, nonce: Optional[bytes] = None, aad: bytes = b"", tag_length: int = 12
) -> Tuple[bytes, bytes, bytes]:
    """AES-GCM (RFC 5084) encryption for AuthEnvelopedData. Returns ``(nonce, ciphertext, tag)``; the tag is
    ``tag_length`` bytes (12 is the GCMParameters default), the nonce 12 random bytes unless given."""
    try:
        cipher = AEAD_CIPHERS[oid]
    except KeyError:
        raise UnsupportedAlgorithmError(oid) from None
    key = _as_bytes(key, "key")
    if len(key) != cipher.key_size:
        raise ValueError(f"{cipher.name} needs a {cipher.key_size}-byte key, got {len(key)} bytes")
    if not 12 <= tag_length <= 16:
        raise ValueError("GCM tag length must be 12 to 16 bytes")
    if nonce is None:
        nonce = os.urandom(12)
    enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    ct = enc.update(_as_bytes(plaintext, "plaintext")) + enc.finalize()
    return bytes(nonce), ct, enc.tag[:tag_length]


def aead_decrypt_content(oid: str, key: bytes, nonce: bytes, ciphertext: bytes, tag: bytes, *,
                         aad: bytes = b"") -> bytes:
    """AES-GCM decryption for AuthEnvelopedData; a bad tag, key size or nonce raises :class:`DecryptionError`."""
    try:
        cipher = AEAD_CIPHERS[oid]
    except KeyError:
        raise UnsupportedAlgorithmError(oid) from None
    key = _as_bytes(key, "key")
    tag = _as_bytes(tag, "tag")
    nonce = _as_bytes(nonce, "nonce")
    if len(key) != cipher.key_size or not 12 <= len(tag) <= 16 or not nonce:
        raise DecryptionError()
    try:
        dec = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=12)).decryptor()
        if aad:
            dec.authenticate_additional_data(aad)
        return dec.update(_as_bytes(ciphertext, "ciphertext")) + dec.finalize()
    except (InvalidTag, ValueError):
        raise DecryptionError() from None


# --------------------------------------------------------------------------------------------------------------
# Key transport (RSA)


def _require_rsa_public(key: object) -> rsa.RSAPublicKey:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError(f"an RSA public key is needed, not {type(key).__name__}")
    return key


def rsa_pkcs1v15_encrypt_key(public_key: rsa.RSAPublicKey, cek: bytes) -> bytes:
    """Encrypt a content key with RSAES-PKCS1-v1_5 (rsaEncryption key transport)."""
    return _require_rsa_public(public_key).encrypt(_as_bytes(cek, "cek"), asym_padding.PKCS1v15())


def rsa_pkcs1v15_decrypt_key(private_key: rsa.RSAPrivateKey, encrypted_key: bytes, expected_size: int) -> bytes:
    """Decrypt an RSAES-PKCS1-v1_5 encrypted content key, with the RFC 3218 §2.3.2 countermeasure.

    A random key of ``expected_size`` bytes is drawn first; if the decryption fails in any way (bad padding,
    wrong key, ciphertext of the wrong size) or yields a key of another size, that random key is returned
    instead, without raising. A wrong key and a bad padding thus look alike, and the failure shows only later,
    when the content does not decrypt (its padding check) or does not parse. (OpenSSL's implicit rejection,
    when present, already turns a bad padding into a pseudo-random message; the size check covers the rest.)
    """
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError(f"an RSA private key is needed, not {type(private_key).__name__}")
    if expected_size <= 0:
        raise ValueError("expected_size must be positive")
    fallback = os.urandom(expected_size)
    try:
        key = private_key.decrypt(_as_bytes(encrypted_key, "encrypted_key"), asym_padding.PKCS1v15())
    except ValueError:
        return fallback
    if len(key) != expected_size:
        return fallback
    return key


def _oaep(hash_oid: str, mgf_hash_oid: Optional[str], label: Optional[bytes]) -> asym_padding.OAEP:
    algorithm = hash_algorithm(hash_oid)
    mgf_algorithm = hash_algorithm(mgf_hash_oid if mgf_hash_oid is not None else hash_oid)
    return asym_padding.OAEP(
        mgf=asym_padding.MGF1(mgf_algorithm), algorithm=algorithm, label=bytes(label) if label else None
    )


def rsa_oaep_encrypt_key(public_key: rsa.RSAPublicKey, cek: bytes, *, hash_oid: str = OID_SHA1,
                         mgf_hash_oid: Optional[str] = None, label: Optional[bytes] = None) -> bytes:
    """Encrypt a content key with RSAES-OAEP (RFC 3560); the MGF1 hash defaults to ``hash_oid``."""
    return _require_rsa_public(public_key).encrypt(_as_bytes(cek, "cek"), _oaep(hash_oid, mgf_hash_oid, label))


def rsa_oaep_decrypt_key(private_key: rsa.RSAPrivateKey, encrypted_key: bytes, *, hash_oid: str = OID_SHA1,
                         mgf_hash_oid: Optional[str] = None, label: Optional[bytes] = None) -> bytes:
    """Decrypt an RSAES-OAEP encrypted content key; any failure raises :class:`DecryptionError`."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError(f"an RSA private key is needed, not {type(private_key).__name__}")
    oaep = _oaep(hash_oid, mgf_hash_oid, label)
    try:
        return private_key.decrypt(_as_bytes(encrypted_key, "encrypted_key"), oaep)
    except ValueError:
        raise DecryptionError() from None


# --------------------------------------------------------------------------------------------------------------
# Key agreement (ECDH, RFC 5753)

class _EccCmsSharedInfo(Sequence):
    """ECC-CMS-SharedInfo (RFC 5753 §7.2); ``key_info`` is kept as the raw AlgorithmIdentifier of the message."""

    key_info: Annotated[bytes, Any]
    entity_u_info: Annotated[bytes | None, OctetString] = field(explicit=0, optional=True)
    supp_pub_info: Annotated[bytes, OctetString] = field(explicit=2)


def key_wrap_algorithm_identifier(wrap_oid: str) -> bytes:
    """The DER AlgorithmIdentifier of a key-wrap algorithm as CMS writes it: AES wraps without parameters
    (RFC 3565 §2.3.2), CMS3DESwrap with NULL parameters (RFC 3217 §3)."""
    wrap = key_wrap_algorithm(wrap_oid)
    return encode(AlgorithmIdentifier, AlgorithmIdentifier(algorithm=wrap.oid,
                                                           parameters=_NULL if wrap.null_parameters else None))


def ecc_cms_shared_info(key_info: bytes, entity_u_info: Optional[bytes], key_bits: int) -> bytes:
    """DER of ECC-CMS-SharedInfo (RFC 5753 §7.2)::

        ECC-CMS-SharedInfo ::= SEQUENCE {
            keyInfo         AlgorithmIdentifier,            -- the key-wrap algorithm, as in the message
            entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL, -- the ukm
            suppPubInfo [2] EXPLICIT OCTET STRING }         -- KEK length in bits, 4 octets big-endian

    ``key_info`` is the complete DER AlgorithmIdentifier, used byte for byte.
    """
    key_info = _as_bytes(key_info, "key_info")
    if not key_info or key_info[0] != 0x30:
        raise ValueError("key_info must be a DER AlgorithmIdentifier (a SEQUENCE)")
    if not 0 < key_bits < 2**32:
        raise ValueError("key_bits out of range")
    ukm = None if entity_u_info is None else _as_bytes(entity_u_info, "entity_u_info")
    return encode(_EccCmsSharedInfo, _EccCmsSharedInfo(key_info=key_info, entity_u_info=ukm,
                                                        supp_pub_info=key_bits.to_bytes(4, "big")))


def x963_kdf(hash_oid: str, shared_secret: bytes, length: int, shared_info: bytes) -> bytes:
    """ANSI X9.63 KDF (SEC 1 §3.6.1) with the hash ``hash_oid``."""
    return X963KDF(algorithm=hash_algorithm(hash_oid), length=length, sharedinfo=shared_info).derive(shared_secret)


def _peer_key(curve: ec.EllipticCurve, peer: Union[ec.EllipticCurvePublicKey, bytes]) -> ec.EllipticCurvePublicKey:
    if isinstance(peer, ec.EllipticCurvePublicKey):
        if peer.curve.name != curve.name:
            raise DecryptionError()
        return peer
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, _as_bytes(peer, "peer public key"))
    except ValueError:  # not on the curve, the point at infinity, a malformed encoding
        raise DecryptionError() from None


def ecdh_shared_secret(private_key: ec.EllipticCurvePrivateKey,
                       peer_public: Union[ec.EllipticCurvePublicKey, bytes]) -> bytes:
    """The ECDH shared secret Z (the x coordinate) between ``private_key`` and the peer's public key, given as a
    key object or as an encoded point (the originator's BIT STRING contents) on the private key's curve.
    A point off the curve, on another curve or malformed raises :class:`DecryptionError`."""
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"an EC private key is needed, not {type(private_key).__name__}")
    peer = _peer_key(private_key.curve, peer_public)
    try:
        return private_key.exchange(ec.ECDH(), peer)
    except ValueError:
        raise DecryptionError() from None


#: named curves: cryptography's curve name -> namedCurve OID (RFC 5480)
EC_CURVE_OIDS: Mapping[str, str] = {
    "secp192r1": _oids.SECP192R1,
    "secp224r1": _oids.SECP224R1,
    "secp256r1": _oids.SECP256R1,
    "secp384r1": _oids.SECP384R1,
    "secp521r1": _oids.SECP521R1,
    "secp256k1": _oids.SECP256K1,
    "brainpoolP256r1": _oids.BRAINPOOL_P256R1,
    "brainpoolP384r1": _oids.BRAINPOOL_P384R1,
    "brainpoolP512r1": _oids.BRAINPOOL_P512R1,
}


def ec_originator_public_key(curve: ec.EllipticCurve, point: bytes, parameters: Optional[bytes] = None
                             ) -> ec.EllipticCurvePublicKey:
    """The originator's public key of a KeyAgreeRecipientInfo (OriginatorPublicKey: id-ecPublicKey and the
    point as BIT STRING contents), on the recipient's ``curve``.

    ``parameters`` is the raw DER of the AlgorithmIdentifier parameters, if any: absent, NULL (RFC 5753 §7.1.1
    allows both) or a namedCurve OID that must name ``curve``. Explicit curve parameters are refused
    (:class:`UnsupportedAlgorithmError`); a point that is not on the curve raises :class:`DecryptionError`.
    """
    if parameters is not None and parameters != b"\x05\x00":
        parameters = _as_bytes(parameters, "parameters")
        oid = EC_CURVE_OIDS.get(curve.name)
        if parameters[:1] != b"\x06":
            raise UnsupportedAlgorithmError("explicit EC parameters")
        if oid is None or parameters != encode(ObjectIdentifier, oid):
            raise DecryptionError()
    return _peer_key(curve, point)


def ecdh_derive_kek(scheme_oid: str, private_key: ec.EllipticCurvePrivateKey,
                    peer_public: Union[ec.EllipticCurvePublicKey, bytes], key_info: bytes,
                    ukm: Optional[bytes], kek_size: int) -> bytes:
    """The KEK of an RFC 5753 single-pass ECDH scheme: X9.63 KDF over the shared secret and the
    ECC-CMS-SharedInfo built from ``key_info`` (the key-wrap AlgorithmIdentifier DER), ``ukm`` and
    ``kek_size`` bytes. Both sides use it: the originator with its ephemeral private key and the recipient's
    public key, the recipient with its private key and the originator's public key."""
    scheme = ecdh_scheme(scheme_oid)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"an EC private key is needed, not {type(private_key).__name__}")
    if scheme.cofactor and private_key.curve.name not in _COFACTOR_ONE_CURVES:
        raise UnsupportedAlgorithmError(f"{scheme.oid} on curve {private_key.curve.name}")
    z = ecdh_shared_secret(private_key, peer_public)
    shared_info = ecc_cms_shared_info(key_info, ukm, kek_size * 8)
    return x963_kdf(scheme.hash_oid, z, kek_size, shared_info)


def ecdh_generate_ephemeral(curve_or_key: Union[ec.EllipticCurve, ec.EllipticCurvePublicKey]
                            ) -> ec.EllipticCurvePrivateKey:
    """A fresh ephemeral key on the given curve (or on the curve of the given recipient key)."""
    curve = curve_or_key.curve if isinstance(curve_or_key, ec.EllipticCurvePublicKey) else curve_or_key
    return ec.generate_private_key(curve)


def ecdh_wrap_key(scheme_oid: str, ephemeral_key: ec.EllipticCurvePrivateKey,
                  recipient_public_key: ec.EllipticCurvePublicKey, wrap_oid: str, cek: bytes, *,
                  key_info: Optional[bytes] = None, ukm: Optional[bytes] = None) -> bytes:
    """Originator side of ephemeral-static ECDH: derive the KEK for one recipient and wrap ``cek`` with it.
    ``key_info`` is the key-wrap AlgorithmIdentifier DER exactly as it will be written into the message
    (default: :func:`key_wrap_algorithm_identifier`). The ephemeral public key goes into the message as the
    originator key."""
    wrap = key_wrap_algorithm(wrap_oid)
    if key_info is None:
        key_info = key_wrap_algorithm_identifier(wrap_oid)
    if not isinstance(recipient_public_key, ec.EllipticCurvePublicKey):
        raise TypeError(f"an EC public key is needed, not {type(recipient_public_key).__name__}")
    if recipient_public_key.curve.name != ephemeral_key.curve.name:
        raise ValueError("the ephemeral key must be on the recipient's curve")
    kek = ecdh_derive_kek(scheme_oid, ephemeral_key, recipient_public_key, key_info, ukm, wrap.kek_size)
    return key_wrap(wrap_oid, kek, cek)


def ecdh_unwrap_key(scheme_oid: str, private_key: ec.EllipticCurvePrivateKey,
                    originator_public: Union[ec.EllipticCurvePublicKey, bytes], wrap_oid: str,
                    key_info: bytes, ukm: Optional[bytes], encrypted_key: bytes) -> bytes:
    """Recipient side of ephemeral-static ECDH: derive the KEK from the originator's public key (object or
    encoded point) and unwrap the content key. Any failure raises :class:`DecryptionError`."""
    wrap = key_wrap_algorithm(wrap_oid)
    kek = ecdh_derive_kek(scheme_oid, private_key, originator_public, key_info, ukm, wrap.kek_size)
    return key_unwrap(wrap_oid, kek, encrypted_key)


# --------------------------------------------------------------------------------------------------------------
# Password recipients (RFC 3211)

#: PBKDF2 iteration counts above this are refused on decryption: the count comes from the message, and a hostile
#: one could ask for 2**31 (10,000,000 SHA-1 iterations already cost seconds of CPU). 2,000,000 is above what
#: current guidance asks for (OWASP 2023: 1,300,000 for HMAC-SHA1, 600,000 for HMAC-SHA256); callers who need
#: more pass ``max_pbkdf2_iterations`` (None: no cap).
DEFAULT_MAX_PBKDF2_ITERATIONS = 2_000_000


def pbkdf2(password: Union[str, bytes], salt: bytes, iterations: int, length: int, *,
           prf_oid: str = OID_HMAC_SHA1, max_iterations: Optional[int] = DEFAULT_MAX_PBKDF2_ITERATIONS) -> bytes:
    """PBKDF2 (RFC 8018 §5.2) with an HMAC PRF given by OID (hmacWithSHA1 is PBKDF2-params' default).
    A ``str`` password is UTF-8 encoded. An iteration count below 1 or above ``max_iterations`` raises
    :class:`DecryptionError` (the count comes from the message)."""
    prf = hmac_prf(prf_oid)
    if isinstance(password, str):
        password = password.encode("utf-8")
    password = _as_bytes(password, "password")
    if iterations < 1 or (max_iterations is not None and iterations > max_iterations) or length < 1:
        raise DecryptionError()
    return PBKDF2HMAC(algorithm=prf, length=length, salt=_as_bytes(salt, "salt"),
                      iterations=iterations).derive(password)


def _pwri_cipher(inner_oid: str, kek: bytes, iv: bytes) -> Tuple[ContentCipher, bytes, bytes]:
    cipher = content_cipher(inner_oid)
    return cipher, _as_bytes(kek, "kek"), _as_bytes(iv, "iv")


def _cbc(cipher: ContentCipher, key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    c = Cipher(cipher.algorithm(key), modes.CBC(iv))
    ctx = c.encryptor() if encrypt else c.decryptor()
    return ctx.update(data) + ctx.finalize()


def pwri_kek_wrap(inner_oid: str, kek: bytes, iv: bytes, cek: bytes, *, pad: Optional[bytes] = None) -> bytes:
    """The PWRI-KEK key wrap of RFC 3211 §2.3.1 with the CBC cipher ``inner_oid`` (AES-CBC or 3DES-CBC).

    The block ``LEN || check(3) || CEK || random pad`` (at least two cipher blocks) is CBC-encrypted twice under
    ``kek``: first with ``iv``, then continuing from the last ciphertext block. ``pad`` fixes the padding bytes
    (for tests); by default they are random.
    """
    cipher, kek, iv = _pwri_cipher(inner_oid, kek, iv)
    cek = _as_bytes(cek, "cek")
    bs = cipher.block_size
    if len(kek) != cipher.key_size or len(iv) != bs:
        raise ValueError(f"{cipher.name} needs a {cipher.key_size}-byte KEK and a {bs}-byte IV")
    if not 3 <= len(cek) <= 255:
        raise ValueError("PWRI-KEK wraps keys of 3 to 255 bytes")
    block = bytes((len(cek),)) + bytes(b ^ 0xFF for b in cek[:3]) + cek
    total = max(2 * bs, -(-len(block) // bs) * bs)
    pad_len = total - len(block)
    if pad is None:
        pad = os.urandom(pad_len)
    elif len(pad) != pad_len:
        raise ValueError(f"pad must be {pad_len} bytes")
    block += pad
    first = _cbc(cipher, kek, iv, block, True)
    return _cbc(cipher, kek, first[-bs:], first, True)


def pwri_kek_unwrap(inner_oid: str, kek: bytes, iv: bytes, wrapped: bytes) -> bytes:
    """Undo :func:`pwri_kek_wrap` (RFC 3211 §2.3.2) and check the length byte and the three check bytes.
    Any failure (wrong password, tampering, bad size) raises :class:`DecryptionError`."""
    cipher, kek, iv = _pwri_cipher(inner_oid, kek, iv)
    wrapped = _as_bytes(wrapped, "wrapped")
    bs = cipher.block_size
    n = len(wrapped)
    if len(kek) != cipher.key_size or len(iv) != bs or n < 2 * bs or n % bs:
        raise DecryptionError()
    # Outer layer: decrypting the last block with the one before it as IV gives the last block of the inner
    # ciphertext, which was the IV of the outer pass; with it the whole outer layer decrypts.
    outer_iv = _cbc(cipher, kek, wrapped[n - 2 * bs:n - bs], wrapped[n - bs:], False)
    inner_ct = _cbc(cipher, kek, outer_iv, wrapped, False)
    plain = _cbc(cipher, kek, iv, inner_ct, False)
    length = plain[0]
    check = bytes(a ^ b for a, b in zip(plain[1:4], plain[4:7]))
    if not (hmac.compare_digest(check, b"\xff\xff\xff") and 3 <= length <= n - 4):
        raise DecryptionError()
    return plain[4:4 + length]
