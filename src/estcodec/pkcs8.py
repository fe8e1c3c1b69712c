"""Private keys: PKCS#8 PrivateKeyInfo / RFC 5958 OneAsymmetricKey and AsymmetricKeyPackage, with a lenient
importer for the legacy forms real servers send.

::

    OneAsymmetricKey ::= SEQUENCE {
        version                   Version,                  -- v1(0) (= PKCS#8 PrivateKeyInfo), v2(1)
        privateKeyAlgorithm       PrivateKeyAlgorithmIdentifier,
        privateKey                PrivateKey,               -- OCTET STRING
        attributes            [0] Attributes OPTIONAL,
        ...,
        [[2: publicKey        [1] PublicKey OPTIONAL ]],    -- BIT STRING
        ... }
    AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey   -- content type id-ct-KP-aKeyPackage

``parse_private_key(data)`` reads DER, PEM or bare base64 and accepts, besides PKCS#8, a PKCS#1
``RSAPrivateKey`` and a SEC1 (RFC 5915) ``ECPrivateKey``, whatever the label says: libest's serverkeygen
returns PKCS#1 under ``application/pkcs8``, and some files carry PKCS#8 under ``RSA PRIVATE KEY``. The legacy
forms are wrapped into PKCS#8 without touching the key bytes (the PKCS#1 / SEC1 DER becomes the privateKey
OCTET STRING unchanged). Encrypted keys (``EncryptedPrivateKeyInfo``) need ``password=`` and are decrypted by
``cryptography``.

Key material never appears in ``repr()`` or in error messages.
"""
from typing import TYPE_CHECKING, Annotated, Iterable

from . import oids as _oids
from ._der import BitStringValue
from . import pem as _pem
from .der import parse as _parse
from .errors import DecodeError, EncodeError
from .schema import Any, BitString, Integer, OctetString, Sequence, SequenceOf, SetOf, decode, encode, field
from .x509 import AlgorithmIdentifier, Attribute, SubjectPublicKeyInfo

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = [
    "OneAsymmetricKey", "PrivateKeyInfo", "AsymmetricKeyPackage", "AlgorithmIdentifier", "Attribute",
    "RSAPrivateKey", "ECPrivateKey", "EncryptedPrivateKeyInfo", "parse_private_key", "parse_asymmetric_key_package",
    "build_asymmetric_key_package", "oid", "V1", "V2",
]

V1 = 0
V2 = 1


class oid:  # noqa: N801 - a namespace of constants
    """The OIDs of the key algorithms and content type PKCS#8 / RFC 5958 messages use."""
    RSA_ENCRYPTION = _oids.RSA_ENCRYPTION
    RSASSA_PSS = _oids.ID_RSASSA_PSS
    EC_PUBLIC_KEY = _oids.ID_EC_PUBLIC_KEY
    DSA = _oids.ID_DSA
    X25519 = _oids.ID_X25519
    X448 = _oids.ID_X448
    ED25519 = _oids.ID_ED25519
    ED448 = _oids.ID_ED448
    CT_KP_A_KEY_PACKAGE = _oids.ID_CT_KP_A_KEY_PACKAGE  # RFC 5958 id-ct-KP-aKeyPackage


def _redacted_repr(self: object, shown: "tuple[str, ...]") -> str:
    parts = []
    for name in shown:
        v = getattr(self, name)
        if v is not None:
            parts.append(f"{name}={v!r}")
    return f"{type(self).__name__}({', '.join(parts)}, <key material hidden>)"


class OneAsymmetricKey(Sequence):
    """RFC 5958 OneAsymmetricKey; with version 0 and no public key it is PKCS#8 (RFC 5208) PrivateKeyInfo."""

    version: Annotated[int, Integer]
    private_key_algorithm: AlgorithmIdentifier
    private_key: Annotated[bytes, OctetString]
    attributes: Annotated[list[Attribute] | None, SetOf(Attribute)] = field(implicit=0, optional=True)
    public_key: Annotated[BitStringValue | None, BitString] = field(implicit=1, optional=True)

    @classmethod
    def from_der(cls, data: bytes, *, ber: bool = False) -> "OneAsymmetricKey":
        """Decode (strict DER unless ``ber``). Raises :class:`~estcodec.DecodeError` for malformed input, a version
        other than v1/v2 or a private key field that is not an OCTET STRING's content."""
        key: OneAsymmetricKey = decode(cls, data, ber=ber)
        _check_version(key)
        _check_private_key(key)
        return key

    @classmethod
    def from_pem(cls, text: "str | bytes") -> "OneAsymmetricKey":
        """Read the first ``PRIVATE KEY`` block (use ``parse_private_key`` for the legacy labels)."""
        for label, der in _pem.decode(text):
            if label == "PRIVATE KEY":
                return cls.from_der(der)
        raise DecodeError("no PRIVATE KEY block in the PEM input", 0, "invalid-pem")

    def to_pem(self) -> str:
        """The key as a PEM PRIVATE KEY block (RFC 7468 §10), unencrypted."""
        return _pem.encode("PRIVATE KEY", self.to_der())

    @property
    def algorithm_oid(self) -> str:
        """The OID of the private key algorithm."""
        return self.private_key_algorithm.algorithm

    @property
    def public_key_bytes(self) -> "bytes | None":
        """The bits of the [1] publicKey (v2 keys), or None."""
        pk = self.public_key
        if pk is None:
            return None
        return pk.data if hasattr(pk, "data") else bytes(pk)

    @property
    def algorithm_parameters(self) -> "bytes | None":
        """The raw DER of the algorithm parameters (e.g. the named-curve OID of an EC key), or None."""
        return self.private_key_algorithm.parameters

    def to_cryptography(self) -> "PrivateKeyTypes":
        """The matching ``cryptography`` private key. A v2 key (RFC 5958), which ``cryptography`` does not read,
        is loaded from its v1 form, after checking that its publicKey, if any, belongs to the private key.
        Raises ``DecodeError`` (reason ``"invalid-value"``) when ``cryptography`` rejects or does not support the
        key, or the public key does not match."""
        try:
            return _load_der_private_key(self.to_der(), self.algorithm_oid)
        except DecodeError:
            if self.version == V1 and self.attributes is None:
                raise
        key = _load_der_private_key(self.replace(version=V1, attributes=None, public_key=None).to_der(),
                                    self.algorithm_oid)
        public = self.public_key_bytes
        if public is not None and not _public_key_matches(key, public):
            raise DecodeError("the publicKey of this OneAsymmetricKey does not belong to its private key", 0,
                              "invalid-value", "$.public_key")
        return key

    @classmethod
    def from_cryptography(cls, key: "PrivateKeyTypes") -> "OneAsymmetricKey":
        """From a ``cryptography`` private key (serialised as unencrypted PKCS#8)."""
        from cryptography.hazmat.primitives import serialization

        try:
            der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        except AttributeError:
            raise TypeError(f"expected a cryptography private key, got {type(key).__name__}") from None
        return cls.from_der(der)

    def __repr__(self) -> str:
        return _redacted_repr(self, ("version", "private_key_algorithm"))


PrivateKeyInfo = OneAsymmetricKey
AsymmetricKeyPackage = SequenceOf(OneAsymmetricKey, min_size=1)


def _check_version(key: OneAsymmetricKey, base: int = 0) -> None:
    if key.version in (V1, V2) and (key.public_key is None or key.version == V2):
        return
    at = base + _parse(key.to_der())[0].offset  # the version INTEGER
    if key.version not in (V1, V2):
        raise DecodeError(f"OneAsymmetricKey version {key.version} is neither v1 (0) nor v2 (1)", at,
                          "invalid-value", "$.version")
    raise DecodeError("a OneAsymmetricKey with a publicKey must be version v2 (RFC 5958 §2)", at,
                      "invalid-value", "$.version")


def _check_private_key(key: OneAsymmetricKey, base: int = 0) -> None:
    """Validate the structure inside privateKey for the algorithms we know (whole-structure validation)."""
    t = _PRIVATE_KEY_TYPES.get(key.algorithm_oid)
    if t is None:
        return
    try:
        decode(t, key.private_key)
    except DecodeError as exc:
        octets = _parse(key.to_der())[2]
        raise DecodeError(f"privateKey of a {key.algorithm_oid} key: {exc.detail}",
                          base + octets.offset + octets.header_length + exc.offset, exc.reason,
                          "$.private_key") from None


# --- legacy forms ------------------------------------------------------------------------------------------

class _OtherPrimeInfo(Sequence):
    prime: Annotated[int, Integer]
    exponent: Annotated[int, Integer]
    coefficient: Annotated[int, Integer]

    def __repr__(self) -> str:
        return "OtherPrimeInfo(<key material hidden>)"


class RSAPrivateKey(Sequence):
    """PKCS#1 (RFC 8017 A.1.2) RSAPrivateKey."""

    version: Annotated[int, Integer]
    modulus: Annotated[int, Integer]
    public_exponent: Annotated[int, Integer]
    private_exponent: Annotated[int, Integer]
    prime1: Annotated[int, Integer]
    prime2: Annotated[int, Integer]
    exponent1: Annotated[int, Integer]
    exponent2: Annotated[int, Integer]
    coefficient: Annotated[int, Integer]
    other_prime_infos: Annotated[list[_OtherPrimeInfo] | None,
                                 SequenceOf(_OtherPrimeInfo, min_size=1)] = field(optional=True)

    def __repr__(self) -> str:
        return f"RSAPrivateKey({self.modulus.bit_length()} bits, <key material hidden>)"


class ECPrivateKey(Sequence):
    """SEC1 / RFC 5915 ECPrivateKey."""

    version: Annotated[int, Integer]
    private_key: Annotated[bytes, OctetString]
    parameters: Annotated[bytes | None, Any] = field(explicit=0, optional=True)
    public_key: Annotated[BitStringValue | None, BitString] = field(explicit=1, optional=True)

    def __repr__(self) -> str:
        return _redacted_repr(self, ("version",))


class EncryptedPrivateKeyInfo(Sequence):
    """PKCS#8 / RFC 5958 EncryptedPrivateKeyInfo."""

    encryption_algorithm: AlgorithmIdentifier
    encrypted_data: Annotated[bytes, OctetString]

    def __repr__(self) -> str:
        return f"EncryptedPrivateKeyInfo(encryption_algorithm={self.encryption_algorithm!r}, <encrypted data>)"


_PRIVATE_KEY_TYPES = {
    oid.RSA_ENCRYPTION: RSAPrivateKey, oid.RSASSA_PSS: RSAPrivateKey, oid.EC_PUBLIC_KEY: ECPrivateKey,
    oid.ED25519: OctetString, oid.ED448: OctetString, oid.X25519: OctetString, oid.X448: OctetString,
}
_NULL = b"\x05\x00"
_PEM_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")


def parse_private_key(data: "str | bytes | bytearray | memoryview", *, password: "bytes | None" = None
                      ) -> OneAsymmetricKey:
    """Read a private key as PKCS#8 / OneAsymmetricKey, whatever form it came in.

    ``data``: DER bytes, PEM (the first private-key block), or base64 text. Accepted structures, recognised by
    their shape and not by any label: PKCS#8 / OneAsymmetricKey; PKCS#1 RSAPrivateKey (wrapped as
    rsaEncryption with NULL parameters); SEC1 ECPrivateKey with its curve parameters (wrapped as ecPublicKey
    with those parameters); EncryptedPrivateKeyInfo when ``password`` is given (decrypted by ``cryptography``).
    Raises ``DecodeError``.
    """
    der = _der_of(data)
    shape = _shape(der)
    if shape == "pkcs8":
        return OneAsymmetricKey.from_der(der)
    if shape == "pkcs1":
        decode(RSAPrivateKey, der)  # validate the whole structure before wrapping it
        return OneAsymmetricKey(version=V1,
                                private_key_algorithm=AlgorithmIdentifier(algorithm=oid.RSA_ENCRYPTION,
                                                                          parameters=_NULL),
                                private_key=der)
    if shape == "sec1":
        ec = decode(ECPrivateKey, der)
        if ec.version != 1:
            raise DecodeError(f"ECPrivateKey version {ec.version} is not ecPrivkeyVer1 (1)", 0, "invalid-value",
                              "$.version")
        if ec.parameters is None:
            raise DecodeError("an ECPrivateKey without curve parameters cannot be converted to PKCS#8", 0,
                              "missing-field", "$.parameters")
        return OneAsymmetricKey(version=V1,
                                private_key_algorithm=AlgorithmIdentifier(algorithm=oid.EC_PUBLIC_KEY,
                                                                          parameters=ec.parameters),
                                private_key=der)
    if shape == "encrypted":
        decode(EncryptedPrivateKeyInfo, der)
        if password is None:
            raise DecodeError("the private key is encrypted (EncryptedPrivateKeyInfo): a password is needed", 0,
                              "encrypted-key")
        return _decrypt(der, password)
    if shape == "public":
        raise DecodeError("this is a SubjectPublicKeyInfo (a public key), not a private key", 0,
                          "unsupported-key-format")
    raise DecodeError("not a PKCS#8, PKCS#1 RSA or SEC1 EC private key", 0, "unsupported-key-format")


def _der_of(data: "str | bytes | bytearray | memoryview") -> bytes:
    if isinstance(data, str):
        is_pem = "-----BEGIN" in data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        is_pem = b"-----BEGIN" in data
    else:
        raise TypeError(f"expected bytes or str, got {type(data).__name__}")
    if is_pem:
        blocks = _pem.decode(data)
        for label, der in blocks:
            if label in _PEM_LABELS:
                return der
        found = ", ".join(sorted({label for label, _ in blocks}))
        raise DecodeError(f"no private key block in the PEM input (found: {found})", 0, "invalid-pem")
    return _pem.load_any(data)


def _shape(der: bytes) -> str:
    """Tell the key structures apart by the tags of their first components."""
    top = _parse(der)
    if top.tag_class != "universal" or top.tag != 16 or not top.constructed or len(top) < 2:
        return "unknown"
    first, second = top[0], top[1]
    if first.tag_class != "universal" or second.tag_class != "universal":
        return "unknown"
    if first.tag == 2 and second.tag == 16:
        return "pkcs8"
    if first.tag == 2 and second.tag == 2:
        # RSAPrivateKey has nine INTEGERs (then optional otherPrimeInfos); OpenSSL's legacy DSA key has six and
        # RSAPublicKey two: those are not accepted here
        if len(top) >= 9 and all(top[i].tag_class == "universal" and top[i].tag == 2 for i in range(9)):
            return "pkcs1"
        return "unknown"
    if first.tag == 2 and second.tag == 4:
        return "sec1"
    if first.tag == 16 and second.tag == 4 and len(top) == 2:
        return "encrypted"
    if first.tag == 16 and second.tag == 3 and len(top) == 2:
        return "public"
    return "unknown"


def _load_der_private_key(der: bytes, algorithm: str) -> "PrivateKeyTypes":
    from cryptography.exceptions import InternalError, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        return load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, InternalError) as exc:
        # InternalError: OpenSSL refuses some malformed raw keys (e.g. an Ed25519 key of the wrong length) with
        # an unclassified error
        # cryptography's messages do not carry key bytes, but keep only the exception type to be sure
        raise DecodeError(f"cryptography cannot load this {algorithm} key ({type(exc).__name__})", 0,
                          "invalid-value") from None


def _public_key_matches(key: "PrivateKeyTypes", public_key: bytes) -> bool:
    from cryptography.hazmat.primitives import serialization

    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    candidates = {decode(SubjectPublicKeyInfo, spki).subject_public_key.data}
    try:  # an EC public key may be given compressed
        candidates.add(key.public_key().public_bytes(serialization.Encoding.X962,
                                                     serialization.PublicFormat.CompressedPoint))
    except (ValueError, TypeError, AttributeError):
        pass
    return public_key in candidates


def _decrypt(der: bytes, password: bytes) -> OneAsymmetricKey:
    from cryptography.exceptions import InternalError, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        key = load_der_private_key(der, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm, InternalError) as exc:
        raise DecodeError(f"cannot decrypt the private key ({type(exc).__name__}: wrong password or unsupported "
                          "encryption)", 0, "invalid-value") from None
    return OneAsymmetricKey.from_cryptography(key)


# --- AsymmetricKeyPackage ----------------------------------------------------------------------------------

def parse_asymmetric_key_package(data: "bytes | bytearray | memoryview") -> "list[OneAsymmetricKey]":
    """Decode an AsymmetricKeyPackage into its keys, in order. ``data`` is the package itself or a ContentInfo
    of type id-ct-KP-aKeyPackage holding it."""
    from ._der import peek_header
    from .cms import ContentInfo, content_type_of

    data = bytes(data)
    content_type = content_type_of(data)
    if content_type is not None:
        if content_type != oid.CT_KP_A_KEY_PACKAGE:
            raise DecodeError(f"a ContentInfo of type {content_type}, not id-ct-KP-aKeyPackage",
                              peek_header(data)[3], "unexpected-tag", "$.content_type")
        # the core bounds the nesting of the whole input, so this recursion is bounded too
        return parse_asymmetric_key_package(ContentInfo.from_der(data).content)
    keys: list[OneAsymmetricKey] = decode(AsymmetricKeyPackage, data)
    elements = _parse(data)
    for i, k in enumerate(keys):
        try:
            _check_version(k, elements[i].offset)
            _check_private_key(k, elements[i].offset)
        except DecodeError as exc:
            raise DecodeError(exc.detail, exc.offset, exc.reason, f"$[{i}]{exc.path[1:]}") from None
    return keys


def build_asymmetric_key_package(keys: "Iterable[OneAsymmetricKey | PrivateKeyTypes]") -> bytes:
    """Encode keys (OneAsymmetricKey models or ``cryptography`` private keys) as an AsymmetricKeyPackage."""
    items = [k if isinstance(k, OneAsymmetricKey) else OneAsymmetricKey.from_cryptography(k) for k in keys]
    if not items:
        raise EncodeError("an AsymmetricKeyPackage holds at least one key")
    return encode(AsymmetricKeyPackage, items)


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
