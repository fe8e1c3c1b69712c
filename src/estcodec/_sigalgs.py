"""Signature algorithms shared by PKCS#10, CMS and CMC: OIDs, AlgorithmIdentifiers, signing and verifying.

Every primitive comes from ``cryptography``; this module only maps between ASN.1 algorithm identifiers and
``cryptography`` calls:

- RSA PKCS#1 v1.5 with SHA-1/SHA-2/SHA-3 (``sha256WithRSAEncryption`` ...; in CMS also bare ``rsaEncryption``
  with the hash taken from the SignerInfo's digestAlgorithm, RFC 5754 §3.2);
- RSASSA-PSS (RFC 4055) with its ``RSASSA-PSS-params`` (hash, MGF1 hash, salt length, trailer field 1);
- ECDSA with SHA-1/SHA-2/SHA-3 on any curve ``cryptography`` supports (P-256/384/521 are what we sign with);
- Ed25519 and Ed448 (RFC 8410; in CMS RFC 8419: pure mode over the signed attributes);
- DSA, verification only (legacy CSRs).

``sign(private_key, data, ...)`` returns ``(AlgorithmIdentifier, signature)``; ``verify(algorithm, public_key,
data, signature)`` returns ``None`` or raises :class:`SignatureError`. An algorithm this module cannot check
(MD2/MD4/MD5, refused because their collisions are practical; unknown OIDs; malformed parameters) raises :class:`UnsupportedSignatureAlgorithm`, a subclass of
``SignatureError``, so ``except SignatureError`` fails closed.
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from . import oids as _oids
from .errors import DecodeError, Error
from .signer import SignatureScheme, Signer, as_signer
from .schema import Integer, Sequence, decode, encode, field
from .x509 import AlgorithmIdentifier, SubjectPublicKeyInfo

__all__ = [
    "SignatureError", "UnsupportedSignatureAlgorithm", "RSASSAPSSParams",
    "sign", "verify", "is_valid_signature", "load_public_key",
    "hash_from_name", "hash_from_oid", "hash_for_algorithm", "digest_oid", "digest_algorithm",
    "default_hash_for_key", "cms_digest_algorithm", "compute_digest",
    "OID_RSA_ENCRYPTION", "OID_RSASSA_PSS", "OID_MGF1", "OID_EC_PUBLIC_KEY", "OID_ED25519", "OID_ED448",
    "OID_SHA1", "OID_SHA224", "OID_SHA256", "OID_SHA384", "OID_SHA512", "OID_SHAKE256_LEN",
    "SIGNATURE_ALGORITHMS",
]


class SignatureError(Error):
    """A signature that does not verify (or that cannot be checked: see UnsupportedSignatureAlgorithm)."""


class UnsupportedSignatureAlgorithm(SignatureError):
    """A signature or digest algorithm (or parameter set) this package does not check. Names the OID."""


# --- OIDs -------------------------------------------------------------------------------------------------------

OID_RSA_ENCRYPTION = _oids.RSA_ENCRYPTION
OID_RSASSA_PSS = _oids.ID_RSASSA_PSS
OID_MGF1 = _oids.ID_MGF1
OID_EC_PUBLIC_KEY = _oids.ID_EC_PUBLIC_KEY
OID_ED25519 = _oids.ID_ED25519
OID_ED448 = _oids.ID_ED448
OID_DSA = _oids.ID_DSA

OID_SHA1 = _oids.ID_SHA1
OID_SHA224 = _oids.ID_SHA224
OID_SHA256 = _oids.ID_SHA256
OID_SHA384 = _oids.ID_SHA384
OID_SHA512 = _oids.ID_SHA512
OID_SHA512_224 = _oids.ID_SHA512_224
OID_SHA512_256 = _oids.ID_SHA512_256
OID_SHA3_224 = _oids.ID_SHA3_224
OID_SHA3_256 = _oids.ID_SHA3_256
OID_SHA3_384 = _oids.ID_SHA3_384
OID_SHA3_512 = _oids.ID_SHA3_512
OID_SHAKE128 = _oids.ID_SHAKE128
OID_SHAKE256 = _oids.ID_SHAKE256
OID_SHAKE256_LEN = _oids.ID_SHAKE256_LEN  # RFC 8419: the CMS digest of Ed448, parameter INTEGER 512

# digest OID -> name (hashes.<name> class); SHAKE256 handled apart (it needs an output size).
_DIGESTS = {
    OID_SHA1: "SHA1", OID_SHA224: "SHA224", OID_SHA256: "SHA256", OID_SHA384: "SHA384",
    OID_SHA512: "SHA512", OID_SHA512_224: "SHA512_224", OID_SHA512_256: "SHA512_256", OID_SHA3_224: "SHA3_224",
    OID_SHA3_256: "SHA3_256", OID_SHA3_384: "SHA3_384", OID_SHA3_512: "SHA3_512",
}
_DIGEST_OID_BY_NAME = {v.lower(): k for k, v in _DIGESTS.items()}

# signature OID -> (family, hash name or None)
SIGNATURE_ALGORITHMS = {
    _oids.SHA1_WITH_RSA_ENCRYPTION: ("rsa", "SHA1"),
    _oids.SHA1_WITH_RSA_SIGNATURE: ("rsa", "SHA1"),  # sha1WithRSASignature (OIW), still met in old CSRs
    _oids.SHA224_WITH_RSA_ENCRYPTION: ("rsa", "SHA224"),
    _oids.SHA256_WITH_RSA_ENCRYPTION: ("rsa", "SHA256"),
    _oids.SHA384_WITH_RSA_ENCRYPTION: ("rsa", "SHA384"),
    _oids.SHA512_WITH_RSA_ENCRYPTION: ("rsa", "SHA512"),
    _oids.SHA512_224_WITH_RSA_ENCRYPTION: ("rsa", "SHA512_224"),
    _oids.SHA512_256_WITH_RSA_ENCRYPTION: ("rsa", "SHA512_256"),
    _oids.ID_RSASSA_PKCS1_V1_5_WITH_SHA3_224: ("rsa", "SHA3_224"),
    _oids.ID_RSASSA_PKCS1_V1_5_WITH_SHA3_256: ("rsa", "SHA3_256"),
    _oids.ID_RSASSA_PKCS1_V1_5_WITH_SHA3_384: ("rsa", "SHA3_384"),
    _oids.ID_RSASSA_PKCS1_V1_5_WITH_SHA3_512: ("rsa", "SHA3_512"),
    OID_RSA_ENCRYPTION: ("rsa", None),  # CMS: hash from digestAlgorithm
    OID_RSASSA_PSS: ("pss", None),
    _oids.ECDSA_WITH_SHA1: ("ecdsa", "SHA1"),
    _oids.ECDSA_WITH_SHA224: ("ecdsa", "SHA224"),
    _oids.ECDSA_WITH_SHA256: ("ecdsa", "SHA256"),
    _oids.ECDSA_WITH_SHA384: ("ecdsa", "SHA384"),
    _oids.ECDSA_WITH_SHA512: ("ecdsa", "SHA512"),
    _oids.ID_ECDSA_WITH_SHA3_224: ("ecdsa", "SHA3_224"),
    _oids.ID_ECDSA_WITH_SHA3_256: ("ecdsa", "SHA3_256"),
    _oids.ID_ECDSA_WITH_SHA3_384: ("ecdsa", "SHA3_384"),
    _oids.ID_ECDSA_WITH_SHA3_512: ("ecdsa", "SHA3_512"),
    OID_EC_PUBLIC_KEY: ("ecdsa", None),  # some CMS signers name the key algorithm; hash from digestAlgorithm
    _oids.ID_DSA_WITH_SHA1: ("dsa", "SHA1"),
    _oids.ID_DSA_WITH_SHA224: ("dsa", "SHA224"),
    _oids.ID_DSA_WITH_SHA256: ("dsa", "SHA256"),
    _oids.ID_DSA_WITH_SHA384: ("dsa", "SHA384"),
    _oids.ID_DSA_WITH_SHA512: ("dsa", "SHA512"),
    OID_ED25519: ("ed25519", None),
    OID_ED448: ("ed448", None),
}
_SIGN_OIDS = {(fam, h): o for o, (fam, h) in SIGNATURE_ALGORITHMS.items()
              if h is not None and o != _oids.SHA1_WITH_RSA_SIGNATURE}

_NULL = b"\x05\x00"


# --- RSASSA-PSS parameters (RFC 4055 §3.1) ----------------------------------------------------------------------

_SHA1_ID = AlgorithmIdentifier(algorithm=OID_SHA1, parameters=_NULL)
_MGF1_SHA1_ID = AlgorithmIdentifier(algorithm=OID_MGF1, parameters=encode(AlgorithmIdentifier, _SHA1_ID))


class RSASSAPSSParams(Sequence):
    hash_algorithm: AlgorithmIdentifier = field(explicit=0, default=_SHA1_ID)
    mask_gen_algorithm: AlgorithmIdentifier = field(explicit=1, default=_MGF1_SHA1_ID)
    salt_length: Integer = field(explicit=2, default=20)
    trailer_field: Integer = field(explicit=3, default=1)


# --- hashes -----------------------------------------------------------------------------------------------------

HashLike = Union[str, hashes.HashAlgorithm, None]


def hash_from_name(name: str) -> hashes.HashAlgorithm:
    """``"sha256"`` (any case, ``-``/``_`` ignored: ``"SHA-256"``, ``"sha3_256"``) -> ``hashes.SHA256()``."""
    key = name.replace("-", "").replace("_", "").lower()
    for n in _DIGESTS.values():
        if n.replace("_", "").lower() == key:
            return getattr(hashes, n)()
    raise ValueError(f"unknown hash algorithm {name!r}")


def _as_hash(h: HashLike) -> Optional[hashes.HashAlgorithm]:
    if h is None or isinstance(h, hashes.HashAlgorithm):
        return h
    if isinstance(h, str):
        return hash_from_name(h)
    raise TypeError(f"a hash is a name or a cryptography HashAlgorithm, not {type(h).__name__}")


def hash_from_oid(digest_oid: str, parameters: Optional[bytes] = None) -> hashes.HashAlgorithm:
    """The ``cryptography`` hash for a digest algorithm OID (with its parameters, for id-shake256-len)."""
    name = _DIGESTS.get(digest_oid)
    if name is not None:
        if parameters not in (None, _NULL):
            raise UnsupportedSignatureAlgorithm(f"digest algorithm {digest_oid} with unexpected parameters")
        return getattr(hashes, name)()
    if digest_oid == OID_SHAKE256_LEN:
        try:
            bits = decode(Integer, parameters) if parameters is not None else None
        except DecodeError:
            bits = None
        if not isinstance(bits, int) or bits <= 0 or bits % 8:
            raise UnsupportedSignatureAlgorithm("id-shake256-len needs a positive bit length multiple of 8")
        return hashes.SHAKE256(digest_size=bits // 8)
    if digest_oid == OID_SHAKE256 and parameters is None:
        return hashes.SHAKE256(digest_size=64)
    raise UnsupportedSignatureAlgorithm(f"unsupported digest algorithm {digest_oid}")


def digest_oid(h: HashLike) -> str:
    """The digest algorithm OID of a hash (``"sha256"`` or ``hashes.SHA256()``)."""
    hh = _as_hash(h)
    if isinstance(hh, hashes.SHAKE256):
        return OID_SHAKE256_LEN
    try:
        return _DIGEST_OID_BY_NAME[type(hh).__name__.lower()]
    except KeyError:
        raise ValueError(f"no digest OID known for {hh!r}") from None


def digest_algorithm(h: HashLike) -> AlgorithmIdentifier:
    """The AlgorithmIdentifier of a digest as CMS writes it (parameters absent, RFC 5754 §2; id-shake256-len
    with its INTEGER bit length, RFC 8419)."""
    hh = _as_hash(h)
    if isinstance(hh, hashes.SHAKE256):
        return AlgorithmIdentifier(algorithm=OID_SHAKE256_LEN, parameters=encode(Integer, hh.digest_size * 8))
    return AlgorithmIdentifier(algorithm=digest_oid(hh))


def compute_digest(h: hashes.HashAlgorithm, data: bytes) -> bytes:
    ctx = hashes.Hash(h)
    ctx.update(data)
    return ctx.finalize()


def _key_of(key):
    """A signer's public key (it names the key type); any other key as it is."""
    if isinstance(key, Signer) and not isinstance(key, type):
        return key.public_key()
    return key


def default_hash_for_key(key) -> Optional[hashes.HashAlgorithm]:
    """The hash we sign with when none is named: SHA-256 for RSA, the curve's strength for ECDSA (P-384 ->
    SHA-384, P-521 -> SHA-512), None for Ed25519/Ed448 (they hash internally). ``key`` may be a
    :class:`estcodec.signer.Signer`."""
    key = _key_of(key)
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey,
                        ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return None
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        size = key.curve.key_size
        if size > 384:
            return hashes.SHA512()
        if size > 256:
            return hashes.SHA384()
        return hashes.SHA256()
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey, dsa.DSAPrivateKey, dsa.DSAPublicKey)):
        return hashes.SHA256()
    raise TypeError(f"unsupported key type {type(key).__name__}")


def cms_digest_algorithm(key, h: HashLike = None) -> hashes.HashAlgorithm:
    """The message digest a CMS signer with ``key`` uses: ``h`` if given, else SHA-512 for Ed25519 (RFC 8419
    §3.1), SHAKE256 with 512-bit output for Ed448, else :func:`default_hash_for_key`."""
    hh = _as_hash(h)
    if hh is not None:
        return hh
    key = _key_of(key)
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return hashes.SHA512()
    if isinstance(key, (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return hashes.SHAKE256(digest_size=64)
    hh = default_hash_for_key(key)
    assert hh is not None
    return hh


# --- public keys ------------------------------------------------------------------------------------------------

def load_public_key(key):
    """A ``cryptography`` public key from: a public key, a private key, SPKI DER bytes, an
    ``x509.SubjectPublicKeyInfo``, an estcodec ``Certificate`` or a ``cryptography`` certificate/CSR."""
    if isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey,
                        ed448.Ed448PublicKey, dsa.DSAPublicKey)):
        return key
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                        ed448.Ed448PrivateKey, dsa.DSAPrivateKey)):
        return key.public_key()
    spki_der: Optional[bytes] = None
    if isinstance(key, (bytes, bytearray, memoryview)):
        spki_der = bytes(key)
    elif isinstance(key, SubjectPublicKeyInfo):
        spki_der = key.to_der()
    elif hasattr(key, "public_key_info"):  # estcodec Certificate / CertificationRequest
        spki_der = key.public_key_info.to_der()
    elif hasattr(key, "public_key") and callable(key.public_key):  # cryptography certificate / CSR
        return key.public_key()
    if spki_der is None:
        raise TypeError(f"cannot take a public key from {type(key).__name__}")
    try:
        return serialization.load_der_public_key(spki_der)
    except UnsupportedAlgorithm as e:
        raise UnsupportedSignatureAlgorithm(f"unsupported public key: {e}") from None
    except ValueError:
        raise SignatureError("malformed or unsupported subject public key") from None


# --- signing ----------------------------------------------------------------------------------------------------

def _pss_params(h: hashes.HashAlgorithm, salt_length: int) -> bytes:
    h_id = AlgorithmIdentifier(algorithm=digest_oid(h), parameters=_NULL)
    mgf = AlgorithmIdentifier(algorithm=OID_MGF1, parameters=encode(AlgorithmIdentifier, h_id))
    return encode(RSASSAPSSParams, RSASSAPSSParams(hash_algorithm=h_id, mask_gen_algorithm=mgf,
                                                   salt_length=salt_length))


def sign(private_key, data: bytes, *, hash_algorithm: HashLike = None, rsa_padding: str = "pkcs1v15",
         pss_salt_length: Optional[int] = None) -> Tuple[AlgorithmIdentifier, bytes]:
    """Sign ``data``; return the signature AlgorithmIdentifier and the signature bytes.

    ``private_key``: a ``cryptography`` private key or any :class:`estcodec.signer.Signer` (a token key).
    ``hash_algorithm``: a name (``"sha384"``) or a ``cryptography`` hash; default by key
    (:func:`default_hash_for_key`); must be None for Ed25519/Ed448. ``rsa_padding``: ``"pkcs1v15"`` or
    ``"pss"`` (MGF1 with the same hash, salt ``pss_salt_length`` bytes, default the hash length, RFC 4055
    parameters written out in full). This is the one place a signature AlgorithmIdentifier is chosen.
    """
    signer = as_signer(private_key)
    public = signer.public_key()
    h = _as_hash(hash_algorithm)
    if isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        if h is not None:
            raise ValueError("Ed25519/Ed448 sign without a separate hash; pass hash_algorithm=None")
        oid = OID_ED25519 if isinstance(public, ed25519.Ed25519PublicKey) else OID_ED448
        return AlgorithmIdentifier(algorithm=oid), signer.sign(data, SignatureScheme(None))
    if h is None:
        h = default_hash_for_key(public)
    assert h is not None
    name = type(h).__name__
    if isinstance(public, rsa.RSAPublicKey):
        if rsa_padding == "pss":
            scheme = SignatureScheme(h, "pss", pss_salt_length)
            sig = signer.sign(data, scheme)
            return AlgorithmIdentifier(algorithm=OID_RSASSA_PSS, parameters=_pss_params(h, scheme.salt_length)), sig
        if rsa_padding != "pkcs1v15":
            raise ValueError(f"rsa_padding is 'pkcs1v15' or 'pss', not {rsa_padding!r}")
        rsa_oid = _SIGN_OIDS.get(("rsa", name))
        if rsa_oid is None:
            raise ValueError(f"no RSA signature OID for {name}")
        return (AlgorithmIdentifier(algorithm=rsa_oid, parameters=_NULL),
                signer.sign(data, SignatureScheme(h, "pkcs1v15")))
    if isinstance(public, ec.EllipticCurvePublicKey):
        ec_oid = _SIGN_OIDS.get(("ecdsa", name))
        if ec_oid is None:
            raise ValueError(f"no ECDSA signature OID for {name}")
        return AlgorithmIdentifier(algorithm=ec_oid), signer.sign(data, SignatureScheme(h))
    raise TypeError(f"unsupported signing key type {type(public).__name__}")


# --- verifying --------------------------------------------------------------------------------------------------

def _decode_pss(parameters: Optional[bytes]) -> Tuple[hashes.HashAlgorithm, padding.PSS]:
    if parameters is None:
        raise UnsupportedSignatureAlgorithm("RSASSA-PSS without parameters")
    try:
        p = RSASSAPSSParams.from_der(parameters)
        if p.trailer_field != 1:
            raise UnsupportedSignatureAlgorithm(f"RSASSA-PSS trailer field {p.trailer_field}")
        h = hash_from_oid(p.hash_algorithm.algorithm, p.hash_algorithm.parameters)
        mgf = p.mask_gen_algorithm
        if mgf.algorithm != OID_MGF1 or mgf.parameters is None:
            raise UnsupportedSignatureAlgorithm(f"RSASSA-PSS mask generation {mgf.algorithm}")
        mgf_h_id = AlgorithmIdentifier.from_der(mgf.parameters)
        mgf_h = hash_from_oid(mgf_h_id.algorithm, mgf_h_id.parameters)
    except DecodeError as e:
        raise UnsupportedSignatureAlgorithm(f"malformed RSASSA-PSS parameters: {e}") from None
    if p.salt_length < 0:
        raise UnsupportedSignatureAlgorithm("negative RSASSA-PSS salt length")
    return h, padding.PSS(mgf=padding.MGF1(mgf_h), salt_length=p.salt_length)


def hash_for_algorithm(algorithm: AlgorithmIdentifier, digest_algorithm: Optional[AlgorithmIdentifier] = None
                       ) -> Optional[hashes.HashAlgorithm]:
    """The hash a signature algorithm signs with (None for Ed25519/Ed448). Bare ``rsaEncryption`` /
    ``ecPublicKey`` take it from ``digest_algorithm`` (the CMS SignerInfo's)."""
    entry = SIGNATURE_ALGORITHMS.get(algorithm.algorithm)
    if entry is None:
        raise UnsupportedSignatureAlgorithm(f"unsupported signature algorithm {algorithm.algorithm}")
    family, name = entry
    if family == "pss":
        return _decode_pss(algorithm.parameters)[0]
    if name is not None:
        return getattr(hashes, name)()
    if family in ("ed25519", "ed448"):
        return None
    if digest_algorithm is None:
        raise UnsupportedSignatureAlgorithm(f"signature algorithm {algorithm.algorithm} needs a digest algorithm")
    return hash_from_oid(digest_algorithm.algorithm, digest_algorithm.parameters)


def verify(algorithm: AlgorithmIdentifier, public_key, data: bytes, signature: bytes, *,
           digest_algorithm: Optional[AlgorithmIdentifier] = None) -> None:
    """Check ``signature`` over ``data``; return None, or raise :class:`SignatureError`.

    ``public_key``: anything :func:`load_public_key` takes. ``digest_algorithm``: the CMS SignerInfo's, needed
    only when ``algorithm`` is bare ``rsaEncryption``/``ecPublicKey``. A key that does not match the algorithm
    family raises SignatureError.
    """
    entry = SIGNATURE_ALGORITHMS.get(algorithm.algorithm)
    if entry is None:
        raise UnsupportedSignatureAlgorithm(f"unsupported signature algorithm {algorithm.algorithm}")
    family = entry[0]
    key = load_public_key(public_key)
    data = bytes(data)
    signature = bytes(signature)
    try:
        if family == "pss":
            h, pad = _decode_pss(algorithm.parameters)
            _need(key, rsa.RSAPublicKey, algorithm)
            key.verify(signature, data, pad, h)
        elif family in ("ed25519", "ed448"):
            want = ed25519.Ed25519PublicKey if family == "ed25519" else ed448.Ed448PublicKey
            _need(key, want, algorithm)
            if algorithm.parameters is not None:
                raise UnsupportedSignatureAlgorithm(f"{algorithm.algorithm} must have absent parameters")
            key.verify(signature, data)
        else:
            h2 = hash_for_algorithm(algorithm, digest_algorithm)
            assert h2 is not None
            h = h2
            if family == "rsa":
                _need(key, rsa.RSAPublicKey, algorithm)
                key.verify(signature, data, padding.PKCS1v15(), h)
            elif family == "ecdsa":
                _need(key, ec.EllipticCurvePublicKey, algorithm)
                key.verify(signature, data, ec.ECDSA(h))
            else:
                _need(key, dsa.DSAPublicKey, algorithm)
                key.verify(signature, data, h)
    except InvalidSignature:
        raise SignatureError("signature does not verify") from None
    except UnsupportedAlgorithm as e:
        raise UnsupportedSignatureAlgorithm(f"{algorithm.algorithm}: {e}") from None
    except (ValueError, TypeError) as e:  # e.g. a PSS salt longer than the key allows
        if isinstance(e, SignatureError):
            raise
        raise SignatureError(f"signature cannot be checked: {e}") from None


def _need(key, want: type, algorithm: AlgorithmIdentifier) -> None:
    if not isinstance(key, want):
        raise SignatureError(f"a {type(key).__name__} cannot check a {algorithm.algorithm} signature")


def is_valid_signature(algorithm: AlgorithmIdentifier, public_key, data: bytes, signature: bytes, *,
                       digest_algorithm: Optional[AlgorithmIdentifier] = None) -> bool:
    """:func:`verify` as a bool: False for a bad signature; unsupported algorithms still raise."""
    try:
        verify(algorithm, public_key, data, signature, digest_algorithm=digest_algorithm)
    except UnsupportedSignatureAlgorithm:
        raise
    except SignatureError:
        return False
    return True
