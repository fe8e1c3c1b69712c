"""CMS EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083) models, the algorithm parameter models
(RFC 8017 RSAES-OAEP-params, RFC 8018 PBKDF2-params, RFC 5084 GCMParameters), the decryption key and budget
types, and parsing.

Part of :mod:`estcodec.enveloped`, which re-exports every public name; import them from there.
"""
# No ``from __future__ import annotations``: the schema models need real annotation objects.

import enum
import hmac
from dataclasses import dataclass, field as dc_field
from typing import Annotated, Optional, Union
from typing import Any as _TypingAny

from cryptography import x509 as _cx509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
import datetime as _dt

from ._der import BitStringValue
from . import _cms_crypto as _cc
from . import _der as _core
from . import oids as _oids
from . import pkix as _pkix
from . import der as _der
from .cms import ContentInfo, content_type_of  # the one ContentInfo, its registry and sniffer
from .errors import DecodeError, Error
from .schema import (Any, Choice, GeneralizedTime, Integer, ObjectIdentifier, OctetString, Sequence, SequenceOf,
                     SetOf, BitString, decode, field)
from .x509 import AlgorithmIdentifier, Certificate, Name
from ._cms_crypto import DecryptionError, UnsupportedAlgorithmError



ID_DATA = _oids.ID_DATA
ID_SIGNED_DATA = _oids.ID_SIGNED_DATA
ID_ENVELOPED_DATA = _oids.ID_ENVELOPED_DATA
ID_AUTH_ENVELOPED_DATA = _oids.ID_CT_AUTH_ENVELOPED_DATA
ID_CT_KP_A_KEY_PACKAGE = _oids.ID_CT_KP_A_KEY_PACKAGE


# --------------------------------------------------------------------------------------------------------------
# Models (RFC 5652 §6, RFC 5083, RFC 3560, RFC 8018, RFC 5084); field names are the RFCs' in snake_case.


class Attribute(Sequence):
    """Attribute (RFC 5652 §5.3): an attribute type OID and its values as raw DER."""
    attr_type: Annotated[str, ObjectIdentifier]
    attr_values: Annotated[list[bytes], SetOf[Any]]


class IssuerAndSerialNumber(Sequence):
    """IssuerAndSerialNumber (RFC 5652 §10.2.4): a certificate named by its issuer and serial number."""
    issuer: Name
    serial_number: Annotated[int, Integer]


class OtherKeyAttribute(Sequence):
    """OtherKeyAttribute (RFC 5652 §10.2.7): additional key information, named by OID."""
    key_attr_id: Annotated[str, ObjectIdentifier]
    key_attr: Annotated[bytes | None, Any] = field(optional=True)


class RecipientIdentifier(Choice):
    """RecipientIdentifier (RFC 5652 §6.2.1): the recipient's certificate by issuer and serial number or by subject
    key identifier."""
    issuer_and_serial_number: IssuerAndSerialNumber
    subject_key_identifier: Annotated[bytes, OctetString] = field(implicit=0)


class KeyTransRecipientInfo(Sequence):
    """KeyTransRecipientInfo (RFC 5652 §6.2.1): the content key encrypted to the recipient's RSA key."""
    version: Annotated[int, Integer]
    rid: RecipientIdentifier
    key_encryption_algorithm: AlgorithmIdentifier
    encrypted_key: Annotated[bytes, OctetString]


class OriginatorPublicKey(Sequence):
    """OriginatorPublicKey (RFC 5652 §6.2.2): the originator's (ephemeral) public key."""
    algorithm: AlgorithmIdentifier
    public_key: Annotated[BitStringValue, BitString]


class OriginatorIdentifierOrKey(Choice):
    """OriginatorIdentifierOrKey (RFC 5652 §6.2.2): the originator's certificate or its public key."""
    issuer_and_serial_number: IssuerAndSerialNumber
    subject_key_identifier: Annotated[bytes, OctetString] = field(implicit=0)
    originator_key: OriginatorPublicKey = field(implicit=1)


class RecipientKeyIdentifier(Sequence):
    """RecipientKeyIdentifier (RFC 5652 §6.2.2): the recipient's key by subject key identifier."""
    subject_key_identifier: Annotated[bytes, OctetString]
    date: Annotated[_dt.datetime | None, GeneralizedTime] = field(optional=True)
    other: Annotated[OtherKeyAttribute | None, OtherKeyAttribute] = field(optional=True)


class KeyAgreeRecipientIdentifier(Choice):
    """KeyAgreeRecipientIdentifier (RFC 5652 §6.2.2): the recipient by issuer and serial number or by key
    identifier."""
    issuer_and_serial_number: IssuerAndSerialNumber
    r_key_id: RecipientKeyIdentifier = field(implicit=0)


class RecipientEncryptedKey(Sequence):
    """RecipientEncryptedKey (RFC 5652 §6.2.2): the content key wrapped for one key agreement recipient."""
    rid: KeyAgreeRecipientIdentifier
    encrypted_key: Annotated[bytes, OctetString]


class KeyAgreeRecipientInfo(Sequence):
    """KeyAgreeRecipientInfo (RFC 5652 §6.2.2, RFC 5753): the originator's key, the UKM and the wrapped keys."""
    version: Annotated[int, Integer]
    originator: OriginatorIdentifierOrKey = field(explicit=0)
    ukm: Annotated[bytes | None, OctetString] = field(explicit=1, optional=True)
    key_encryption_algorithm: AlgorithmIdentifier
    recipient_encrypted_keys: Annotated[list[RecipientEncryptedKey], SequenceOf[RecipientEncryptedKey]]


class KEKIdentifier(Sequence):
    """KEKIdentifier (RFC 5652 §6.2.3): the identifier of a previously distributed symmetric key."""
    key_identifier: Annotated[bytes, OctetString]
    date: Annotated[_dt.datetime | None, GeneralizedTime] = field(optional=True)
    other: Annotated[OtherKeyAttribute | None, OtherKeyAttribute] = field(optional=True)


class KEKRecipientInfo(Sequence):
    """KEKRecipientInfo (RFC 5652 §6.2.3): the content key wrapped with a previously distributed symmetric key."""
    version: Annotated[int, Integer]
    kekid: KEKIdentifier
    key_encryption_algorithm: AlgorithmIdentifier
    encrypted_key: Annotated[bytes, OctetString]


class PasswordRecipientInfo(Sequence):
    """PasswordRecipientInfo (RFC 5652 §6.2.4, RFC 3211): the content key wrapped with a key derived from a
    password."""
    version: Annotated[int, Integer]
    key_derivation_algorithm: Annotated[AlgorithmIdentifier | None,
                                        AlgorithmIdentifier] = field(implicit=0, optional=True)
    key_encryption_algorithm: AlgorithmIdentifier
    encrypted_key: Annotated[bytes, OctetString]


class OtherRecipientInfo(Sequence):
    """OtherRecipientInfo (RFC 5652 §6.2.5): a recipient of a type named by OID, its value raw DER."""
    ori_type: Annotated[str, ObjectIdentifier]
    ori_value: Annotated[bytes, Any]


class RecipientInfo(Choice):
    """RecipientInfo (RFC 5652 §6.2): one recipient; ``.name`` says the kind (``ktri``, ``kari``, ``kekri``,
    ``pwri``, ``ori``)."""
    ktri: KeyTransRecipientInfo
    kari: KeyAgreeRecipientInfo = field(implicit=1)
    kekri: KEKRecipientInfo = field(implicit=2)
    pwri: PasswordRecipientInfo = field(implicit=3)
    ori: OtherRecipientInfo = field(implicit=4)


class OriginatorInfo(Sequence):
    """OriginatorInfo (RFC 5652 §6.1): certificates and CRLs of the originator, kept as raw DER."""
    certs: Annotated[list[bytes] | None, SetOf[Any]] = field(implicit=0, optional=True)
    crls: Annotated[list[bytes] | None, SetOf[Any]] = field(implicit=1, optional=True)


class EncryptedContentInfo(Sequence):
    """EncryptedContentInfo (RFC 5652 §6.1): the content type, the content-encryption algorithm and the encrypted
    content."""
    content_type: Annotated[str, ObjectIdentifier]
    content_encryption_algorithm: AlgorithmIdentifier
    encrypted_content: Annotated[bytes | None, OctetString] = field(implicit=0, optional=True)


class _EnvelopeMixin:
    """Reading helpers shared by EnvelopedData and AuthEnvelopedData."""

    recipient_infos: "list[RecipientInfo]"  # a field of each model that mixes this in

    @property
    def recipients(self) -> "list[object]":
        """The RecipientInfos, each as its own model (KeyTransRecipientInfo, KeyAgreeRecipientInfo, ...)."""
        return [ri.value for ri in self.recipient_infos]

    @property
    def _eci(self) -> EncryptedContentInfo:
        raise NotImplementedError

    @property
    def content_type(self) -> str:
        """The content type of the encrypted content (``ID_DATA``, ``ID_SIGNED_DATA``, ...)."""
        return self._eci.content_type

    @property
    def content_encryption_algorithm(self) -> "Union[EncryptionAlgorithm, str]":
        """The content-encryption algorithm: an :class:`EncryptionAlgorithm` when known, else the OID."""
        oid = self._eci.content_encryption_algorithm.algorithm
        try:
            return EncryptionAlgorithm(oid)
        except ValueError:
            return oid

    @property
    def encrypted_content(self) -> Optional[bytes]:
        """The ciphertext, or None when it is detached."""
        return self._eci.encrypted_content


class EnvelopedData(_EnvelopeMixin, Sequence):
    """EnvelopedData (RFC 5652 §6.1): encrypted content and the recipients who can recover its key."""
    version: Annotated[int, Integer]
    originator_info: Annotated[OriginatorInfo | None, OriginatorInfo] = field(implicit=0, optional=True)
    recipient_infos: Annotated[list[RecipientInfo], SetOf(RecipientInfo, min_size=1)]
    encrypted_content_info: EncryptedContentInfo
    unprotected_attrs: Annotated[list[Attribute] | None,
                                 SetOf(Attribute, min_size=1)] = field(implicit=1, optional=True)

    @property
    def _eci(self) -> EncryptedContentInfo:
        return self.encrypted_content_info

    @property
    def iv(self) -> Optional[bytes]:
        """The IV of a CBC content-encryption algorithm (its OCTET STRING parameter), else None."""
        params = self.encrypted_content_info.content_encryption_algorithm.parameters
        if params is None or params[:1] != b"\x04":
            return None
        out: Optional[bytes] = decode(OctetString, params)
        return out


class AuthEnvelopedData(_EnvelopeMixin, Sequence):
    """AuthEnvelopedData (RFC 5083 §2.1): authenticated-encrypted content (AES-GCM, RFC 5084), its recipients and
    MAC."""
    version: Annotated[int, Integer]
    originator_info: Annotated[OriginatorInfo | None, OriginatorInfo] = field(implicit=0, optional=True)
    recipient_infos: Annotated[list[RecipientInfo], SetOf(RecipientInfo, min_size=1)]
    auth_encrypted_content_info: EncryptedContentInfo
    auth_attrs: Annotated[list[Attribute] | None, SetOf(Attribute, min_size=1)] = field(implicit=1, optional=True)
    mac: Annotated[bytes, OctetString]
    unauth_attrs: Annotated[list[Attribute] | None, SetOf(Attribute, min_size=1)] = field(implicit=2, optional=True)

    @property
    def _eci(self) -> EncryptedContentInfo:
        return self.auth_encrypted_content_info

    @property
    def iv(self) -> Optional[bytes]:
        """The GCM nonce."""
        params = self.auth_encrypted_content_info.content_encryption_algorithm.parameters
        if params is None:
            return None
        return GCMParameters.from_der(params).aes_nonce


class RSAESOAEPParams(Sequence):
    """RSAES-OAEP-params (RFC 8017 Appendix A.2.1); an absent field means its default (SHA-1, MGF1 with SHA-1, empty
    label)."""
    # DEFAULTs (sha1, mgf1SHA1, pSpecifiedEmpty) are modelled as OPTIONAL: absent means the default.
    hash_algorithm: Annotated[AlgorithmIdentifier | None, AlgorithmIdentifier] = field(explicit=0, optional=True)
    mask_gen_algorithm: Annotated[AlgorithmIdentifier | None, AlgorithmIdentifier] = field(explicit=1, optional=True)
    p_source_algorithm: Annotated[AlgorithmIdentifier | None, AlgorithmIdentifier] = field(explicit=2, optional=True)


class PBKDF2Salt(Choice):
    """The salt of PBKDF2-params (RFC 8018 Appendix A.2): given, or from another source."""
    specified: Annotated[bytes, OctetString]
    other_source: AlgorithmIdentifier


class PBKDF2Params(Sequence):
    """PBKDF2-params (RFC 8018 Appendix A.2); an absent ``prf`` means hmacWithSHA1."""
    salt: PBKDF2Salt
    iteration_count: Annotated[int, Integer]
    key_length: Annotated[int | None, Integer] = field(optional=True)
    prf: Annotated[AlgorithmIdentifier | None, AlgorithmIdentifier] = field(optional=True)  # DEFAULT hmacWithSHA1


class GCMParameters(Sequence):
    """GCMParameters (RFC 5084 §3.2): the nonce and the length of the authentication tag."""
    aes_nonce: Annotated[bytes, OctetString]
    aes_icvlen: Annotated[int, Integer] = field(default=12)


class _OneAsymmetricKeyShape(Sequence):
    """Only to count the keys of an AsymmetricKeyPackage; each key is handed to estcodec.pkcs8."""

    version: Annotated[int, Integer]


# --------------------------------------------------------------------------------------------------------------
# Public value types


class EncryptionAlgorithm(str, enum.Enum):
    """Content-encryption algorithms, valued by their OIDs."""

    AES128_CBC = _cc.OID_AES128_CBC
    AES192_CBC = _cc.OID_AES192_CBC
    AES256_CBC = _cc.OID_AES256_CBC
    DES_EDE3_CBC = _cc.OID_DES_EDE3_CBC
    AES128_GCM = _cc.OID_AES128_GCM  # AuthEnvelopedData
    AES192_GCM = _cc.OID_AES192_GCM
    AES256_GCM = _cc.OID_AES256_GCM

    @property
    def oid(self) -> str:
        """The algorithm's OID (the enum value)."""
        return self.value

    @property
    def key_size(self) -> int:
        """Key size in bytes."""
        if self.value in _cc.AEAD_CIPHERS:
            return _cc.AEAD_CIPHERS[self.value].key_size
        return _cc.CONTENT_CIPHERS[self.value].key_size

    @property
    def is_aead(self) -> bool:
        """True for the AES-GCM algorithms (used in AuthEnvelopedData, RFC 5083)."""
        return self.value in _cc.AEAD_CIPHERS

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, repr=False)
class DecryptionKey:
    """A content-encryption key the caller already holds, with its algorithm (for
    :func:`decrypt_enveloped_data`). Its repr never shows the key."""

    content_key: bytes
    algorithm: EncryptionAlgorithm

    def __post_init__(self) -> None:
        try:
            alg = EncryptionAlgorithm(self.algorithm)
        except ValueError:
            raise UnsupportedAlgorithmError(str(self.algorithm)) from None
        object.__setattr__(self, "algorithm", alg)
        key = bytes(self.content_key)
        if len(key) != alg.key_size:
            raise ValueError(f"{alg.name} needs a {alg.key_size}-byte key, got {len(key)} bytes")
        object.__setattr__(self, "content_key", key)

    def __repr__(self) -> str:
        return f"DecryptionKey(algorithm={self.algorithm.name}, content_key=<{len(self.content_key)} bytes>)"


class PBKDF2BudgetExceeded(DecryptionError):
    """The password recipients tried would need more PBKDF2 iterations in total than ``max_pbkdf2_iterations``
    allows for the whole message. Raised without doing the iterations that would go past the budget (the counts
    come from the message: a sender could otherwise make one message cost minutes)."""

    def __init__(self, needed: int, budget: int) -> None:
        self.needed = needed
        self.budget = budget
        super().__init__(f"decryption refused: the password recipients need at least {needed} PBKDF2 iterations, "
                         f"over the budget of {budget} for the whole message (max_pbkdf2_iterations)")


class _Pbkdf2Budget:
    """PBKDF2 iterations spent so far on one message's password recipients, against its budget."""

    __slots__ = ("limit", "spent", "refused")

    def __init__(self, limit: Optional[int]) -> None:
        self.limit = limit
        self.spent = 0
        self.refused: Optional[PBKDF2BudgetExceeded] = None

    def take(self, iterations: int) -> None:
        if self.limit is not None and self.spent + iterations > self.limit:
            self.refused = self.refused or PBKDF2BudgetExceeded(self.spent + iterations, self.limit)
            raise self.refused
        self.spent += iterations


# --------------------------------------------------------------------------------------------------------------
# Parsing


def _as_input(data: object) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, not {type(data).__name__}")


def _parse_any(data: object, ber: bool) -> Union[EnvelopedData, AuthEnvelopedData]:
    # BER input (OpenSSL streams the ``[0] IMPLICIT OCTET STRING`` ciphertext as constructed chunks) is handled by
    # the schema engine itself with ``ber=True``: it knows the type behind the tag and joins the chunks. The shape
    # is told from the first headers only (no element tree: its memory would be many times the input's).
    raw = _as_input(data)
    if ber:
        raw = _der.normalize_ber(raw)
    if content_type_of(raw) is not None:
        top = ContentInfo.from_der(raw, ber=ber)
    elif _has_top_level_octet_string(raw):
        # a bare AuthEnvelopedData: unlike EnvelopedData it has an OCTET STRING (its mac) at the top
        return AuthEnvelopedData.from_der(raw, ber=ber)
    else:
        return EnvelopedData.from_der(raw, ber=ber)
    if top.content_type == ID_ENVELOPED_DATA:
        return EnvelopedData.from_der(top.content, ber=ber)
    if top.content_type == ID_AUTH_ENVELOPED_DATA:
        return AuthEnvelopedData.from_der(top.content, ber=ber)
    raise DecodeError(f"content type {top.content_type} is not envelopedData or authEnvelopedData", 0,
                      "unexpected-content-type", "$.content_type")


# AuthEnvelopedData's mac is at most its seventh element (version, originatorInfo, recipientInfos,
# authEncryptedContentInfo, authAttrs, mac); looking further would not change which model is tried.
_MAC_POSITION_LIMIT = 7


def _children_headers(data: bytes, limit: int) -> "list[tuple[int, bool, int]]":
    """(class, constructed, tag) of the first ``limit`` elements inside the top-level DER element."""
    cls, cons, _tag, p, end = _core.peek_header(data)
    out: list[tuple[int, bool, int]] = []
    if not cons or end is None:
        return out
    while p < end and len(out) < limit:
        ccls, ccons, ctag, cstart, cend = _core.peek_header(data, p, end)
        if cend is None:
            break
        out.append((ccls, ccons, ctag))
        p = cend
    return out


def _has_top_level_octet_string(data: bytes) -> bool:
    return any(h == (0, False, 4) for h in _children_headers(data, _MAC_POSITION_LIMIT))


def parse_enveloped_data(data: "bytes | bytearray | memoryview", *, ber: bool = True
                         ) -> Union[EnvelopedData, AuthEnvelopedData]:
    """Parse an EnvelopedData (or AuthEnvelopedData), bare or in its ContentInfo, DER or (unless ``ber=False``)
    BER. Malformed input raises :class:`~estcodec.DecodeError`."""
    return _parse_any(data, ber)


def is_encrypted_key(data: object) -> bool:
    """True if ``data`` (DER/BER, or PEM) is a CMS ContentInfo of EnvelopedData or AuthEnvelopedData, as an EST
    server returns an encrypted server-generated key (RFC 7030 §4.4.2); False for anything else (e.g. a
    PKCS#8 PrivateKeyInfo)."""
    try:
        raw = _as_input(data)
    except TypeError:
        if isinstance(data, str):
            raw = data.encode("ascii", "replace")
        else:
            return False
    if raw.lstrip()[:5] == b"-----":
        try:
            from . import pem as _pem

            blocks = _pem.decode(raw)
        except Error:
            return False
        if not blocks:
            return False
        raw = blocks[0][1]
    try:
        raw = _der.normalize_ber(raw)   # the whole input must be well-formed BER
        return content_type_of(raw) in (ID_ENVELOPED_DATA, ID_AUTH_ENVELOPED_DATA)
    except Error:
        return False


# --------------------------------------------------------------------------------------------------------------
# Keys and certificates given by the caller


def _load_certificate(cert: object) -> Certificate:
    if isinstance(cert, Certificate):
        return cert
    if isinstance(cert, _cx509.Certificate):
        return Certificate.from_cryptography(cert)
    if isinstance(cert, str):
        cert = cert.encode("ascii")
    if isinstance(cert, (bytes, bytearray, memoryview)):
        raw = bytes(cert)
        if raw.lstrip()[:5] == b"-----":
            return Certificate.from_pem(raw)
        return Certificate.from_der(raw)
    if hasattr(cert, "to_der"):
        model: _TypingAny = cert  # a model holding a certificate's DER
        return Certificate.from_der(model.to_der())
    raise TypeError(f"a certificate is needed, not {type(cert).__name__}")


def _load_private_key(key: object) -> "rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey":
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return key
    if hasattr(key, "to_cryptography"):  # estcodec.pkcs8.PrivateKeyInfo
        info: _TypingAny = key
        return _load_private_key(info.to_cryptography())
    if isinstance(key, str):
        key = key.encode("ascii")
    if isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
        try:
            if raw.lstrip()[:5] == b"-----":
                loaded = serialization.load_pem_private_key(raw, None)
            else:
                loaded = serialization.load_der_private_key(raw, None)
        except (ValueError, TypeError):
            raise DecodeError("the private key cannot be read (unencrypted PKCS#8, PKCS#1 or SEC1 expected)", 0,
                              "invalid-value") from None
        return _load_private_key(loaded)
    raise TypeError(f"an RSA or EC private key is needed, not {type(key).__name__}")


@dataclass
class _Identity:
    private_key: object
    issuer_der: Optional[bytes] = None
    serial: Optional[int] = None
    skis: "set[bytes]" = dc_field(default_factory=set)
    has_certificate: bool = False

    def matches_issuer_serial(self, ias: IssuerAndSerialNumber) -> bool:
        return (self.has_certificate and ias.serial_number == self.serial
                and hmac.compare_digest(ias.issuer.to_der(), self.issuer_der or b""))

    def matches_ski(self, ski: bytes) -> bool:
        return ski in self.skis


def _identity(private_key: object, certificate: object) -> Optional[_Identity]:
    if private_key is None:
        if certificate is not None:
            raise TypeError("a certificate alone cannot decrypt: pass the private_key too")
        return None
    key = _load_private_key(private_key)
    ident = _Identity(key, skis=set(_pkix.key_identifiers(key.public_key())))
    if certificate is not None:
        cert = _load_certificate(certificate)
        cert_key = cert.public_key_info.to_cryptography()
        if cert_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
                key.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo):
            raise DecryptionError("decryption failed: the private key does not belong to the certificate")
        ident.issuer_der = cert.issuer.to_der()
        ident.serial = cert.serial_number
        ident.has_certificate = True
        ski = cert.subject_key_identifier
        if ski:
            ident.skis.add(bytes(ski))
    return ident
