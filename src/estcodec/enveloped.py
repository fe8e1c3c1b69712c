"""CMS EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083): parse, decrypt, build; and the RFC 7030
§4.4.2 server-generated key (EnvelopedData around SignedData around an AsymmetricKeyPackage).

Parsing covers every RecipientInfo kind (key transport, key agreement, KEK, password, other) in DER and BER
(indefinite lengths, constructed encrypted content as OpenSSL streams it). CMS is BER by definition
(RFC 5652 §1), so :func:`parse_enveloped_data` and :func:`decrypt` accept BER unless told ``ber=False``; the model
method ``EnvelopedData.from_der`` is strict DER unless given ``ber=True``.

Decryption supports RSA PKCS#1 v1.5 (with the RFC 3218 countermeasure) and RSAES-OAEP key transport, ECDH
ephemeral-static key agreement (RFC 5753, AES key wrap or CMS3DESwrap), KEK recipients (AES key wrap) and
password recipients (PBKDF2 + PWRI-KEK), with AES-128/192/256-CBC or DES-EDE3-CBC content, and AES-GCM in
AuthEnvelopedData. The cryptography itself is in :mod:`estcodec._cms_crypto`, all of it from ``cryptography``.

Errors: malformed input raises :class:`~estcodec.DecodeError`; a wrong key, a wrong password, a bad padding or a
failed integrity check raises :class:`DecryptionError` with the one message ``"decryption failed"`` (no padding
oracle); no recipient for the keys given raises :class:`DecryptionError` saying so; an algorithm this package does
not implement raises :class:`UnsupportedAlgorithmError` (a ``DecryptionError``).

A caveat inherent in CBC content without integrity protection: with PKCS#1 v1.5 key transport, the RFC 3218
countermeasure turns a wrong private key into a random content key, and a random key passes the padding check
with a probability of about 1/256, giving garbage instead of an error. Pass the ``certificate`` together with the
``private_key``: :func:`decrypt` then checks that they belong together and picks the recipient by its identifier,
so a wrong key is reported deterministically.
"""
# No ``from __future__ import annotations``: the schema models need real annotation objects.

import enum
import functools
import hmac
import os
from dataclasses import dataclass, field as dc_field
from typing import Callable, Iterable, List, Optional, Sequence as TypingSequence, Tuple, Union

from cryptography import x509 as _cx509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import _cms_crypto as _cc
from . import _der as _core
from . import oids as _oids
from . import pkix as _pkix
from . import der as _der
from .cms import ContentInfo, content_type_of  # the one ContentInfo, its registry and sniffer
from .errors import DecodeError, Error
from .schema import (Any, Choice, GeneralizedTime, Integer, ObjectIdentifier, OctetString, Sequence, SequenceOf,
                     SetOf, BitString, decode, encode, field)
from .x509 import AlgorithmIdentifier, Certificate, Name
from ._cms_crypto import DecryptionError, UnsupportedAlgorithmError

__all__ = [
    # errors
    "DecryptionError", "UnsupportedAlgorithmError", "PBKDF2BudgetExceeded",
    # content types
    "ID_DATA", "ID_SIGNED_DATA", "ID_ENVELOPED_DATA", "ID_AUTH_ENVELOPED_DATA", "ID_CT_KP_A_KEY_PACKAGE",
    # models
    "ContentInfo", "EnvelopedData", "AuthEnvelopedData", "EncryptedContentInfo", "OriginatorInfo",
    "RecipientInfo", "Recipient", "KeyTransRecipientInfo", "KeyAgreeRecipientInfo", "KEKRecipientInfo",
    "PasswordRecipientInfo", "OtherRecipientInfo", "RecipientIdentifier", "IssuerAndSerialNumber",
    "OriginatorIdentifierOrKey", "OriginatorPublicKey", "RecipientEncryptedKey", "KeyAgreeRecipientIdentifier",
    "RecipientKeyIdentifier", "KEKIdentifier", "OtherKeyAttribute", "Attribute", "RSAESOAEPParams",
    "PBKDF2Params", "PBKDF2Salt", "GCMParameters",
    # API
    "EncryptionAlgorithm", "DecryptionKey", "parse_enveloped_data", "decrypt", "decrypt_enveloped_data",
    "is_encrypted_key", "unwrap_server_generated_key",
    "KeyTransRecipient", "KeyAgreeRecipient", "KEKRecipient", "PasswordRecipient", "build_enveloped_data",
    "wrap_server_generated_key",
]

ID_DATA = _oids.ID_DATA
ID_SIGNED_DATA = _oids.ID_SIGNED_DATA
ID_ENVELOPED_DATA = _oids.ID_ENVELOPED_DATA
ID_AUTH_ENVELOPED_DATA = _oids.ID_CT_AUTH_ENVELOPED_DATA
ID_CT_KP_A_KEY_PACKAGE = _oids.ID_CT_KP_A_KEY_PACKAGE


# --------------------------------------------------------------------------------------------------------------
# Models (RFC 5652 §6, RFC 5083, RFC 3560, RFC 8018, RFC 5084); field names are the RFCs' in snake_case.


class Attribute(Sequence):
    attr_type: ObjectIdentifier
    attr_values: SetOf[Any]


class IssuerAndSerialNumber(Sequence):
    issuer: Name
    serial_number: Integer


class OtherKeyAttribute(Sequence):
    key_attr_id: ObjectIdentifier
    key_attr: Any = field(optional=True)


class RecipientIdentifier(Choice):
    issuer_and_serial_number: IssuerAndSerialNumber
    subject_key_identifier: OctetString = field(implicit=0)


class KeyTransRecipientInfo(Sequence):
    version: Integer
    rid: RecipientIdentifier
    key_encryption_algorithm: AlgorithmIdentifier
    encrypted_key: OctetString


class OriginatorPublicKey(Sequence):
    algorithm: AlgorithmIdentifier
    public_key: BitString


class OriginatorIdentifierOrKey(Choice):
    issuer_and_serial_number: IssuerAndSerialNumber
    subject_key_identifier: OctetString = field(implicit=0)
    originator_key: OriginatorPublicKey = field(implicit=1)


class RecipientKeyIdentifier(Sequence):
    subject_key_identifier: OctetString
    date: GeneralizedTime = field(optional=True)
    other: OtherKeyAttribute = field(optional=True)


class KeyAgreeRecipientIdentifier(Choice):
    issuer_and_serial_number: IssuerAndSerialNumber
    r_key_id: RecipientKeyIdentifier = field(implicit=0)


class RecipientEncryptedKey(Sequence):
    rid: KeyAgreeRecipientIdentifier
    encrypted_key: OctetString


class KeyAgreeRecipientInfo(Sequence):
    version: Integer
    originator: OriginatorIdentifierOrKey = field(explicit=0)
    ukm: OctetString = field(explicit=1, optional=True)
    key_encryption_algorithm: AlgorithmIdentifier
    recipient_encrypted_keys: SequenceOf[RecipientEncryptedKey]


class KEKIdentifier(Sequence):
    key_identifier: OctetString
    date: GeneralizedTime = field(optional=True)
    other: OtherKeyAttribute = field(optional=True)


class KEKRecipientInfo(Sequence):
    version: Integer
    kekid: KEKIdentifier
    key_encryption_algorithm: AlgorithmIdentifier
    encrypted_key: OctetString


class PasswordRecipientInfo(Sequence):
    version: Integer
    key_derivation_algorithm: AlgorithmIdentifier = field(implicit=0, optional=True)
    key_encryption_algorithm: AlgorithmIdentifier
    encrypted_key: OctetString


class OtherRecipientInfo(Sequence):
    ori_type: ObjectIdentifier
    ori_value: Any


class RecipientInfo(Choice):
    ktri: KeyTransRecipientInfo
    kari: KeyAgreeRecipientInfo = field(implicit=1)
    kekri: KEKRecipientInfo = field(implicit=2)
    pwri: PasswordRecipientInfo = field(implicit=3)
    ori: OtherRecipientInfo = field(implicit=4)


class OriginatorInfo(Sequence):
    certs: SetOf[Any] = field(implicit=0, optional=True)
    crls: SetOf[Any] = field(implicit=1, optional=True)


class EncryptedContentInfo(Sequence):
    content_type: ObjectIdentifier
    content_encryption_algorithm: AlgorithmIdentifier
    encrypted_content: OctetString = field(implicit=0, optional=True)


class _EnvelopeMixin:
    """Reading helpers shared by EnvelopedData and AuthEnvelopedData."""

    @property
    def recipients(self) -> list:
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
    version: Integer
    originator_info: OriginatorInfo = field(implicit=0, optional=True)
    recipient_infos: SetOf(RecipientInfo, min_size=1)
    encrypted_content_info: EncryptedContentInfo
    unprotected_attrs: SetOf(Attribute, min_size=1) = field(implicit=1, optional=True)

    @property
    def _eci(self) -> EncryptedContentInfo:
        return self.encrypted_content_info

    @property
    def iv(self) -> Optional[bytes]:
        """The IV of a CBC content-encryption algorithm (its OCTET STRING parameter), else None."""
        params = self.encrypted_content_info.content_encryption_algorithm.parameters
        if params is None or params[:1] != b"\x04":
            return None
        return decode(OctetString, params)


class AuthEnvelopedData(_EnvelopeMixin, Sequence):
    version: Integer
    originator_info: OriginatorInfo = field(implicit=0, optional=True)
    recipient_infos: SetOf(RecipientInfo, min_size=1)
    auth_encrypted_content_info: EncryptedContentInfo
    auth_attrs: SetOf(Attribute, min_size=1) = field(implicit=1, optional=True)
    mac: OctetString
    unauth_attrs: SetOf(Attribute, min_size=1) = field(implicit=2, optional=True)

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
    # DEFAULTs (sha1, mgf1SHA1, pSpecifiedEmpty) are modelled as OPTIONAL: absent means the default.
    hash_algorithm: AlgorithmIdentifier = field(explicit=0, optional=True)
    mask_gen_algorithm: AlgorithmIdentifier = field(explicit=1, optional=True)
    p_source_algorithm: AlgorithmIdentifier = field(explicit=2, optional=True)


class PBKDF2Salt(Choice):
    specified: OctetString
    other_source: AlgorithmIdentifier


class PBKDF2Params(Sequence):
    salt: PBKDF2Salt
    iteration_count: Integer
    key_length: Integer = field(optional=True)
    prf: AlgorithmIdentifier = field(optional=True)  # DEFAULT hmacWithSHA1


class GCMParameters(Sequence):
    aes_nonce: OctetString
    aes_icvlen: Integer = field(default=12)


class _OneAsymmetricKeyShape(Sequence):
    """Only to count the keys of an AsymmetricKeyPackage; each key is handed to estcodec.pkcs8."""

    version: Integer


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
        return self.value

    @property
    def key_size(self) -> int:
        """Key size in bytes."""
        if self.value in _cc.AEAD_CIPHERS:
            return _cc.AEAD_CIPHERS[self.value].key_size
        return _cc.CONTENT_CIPHERS[self.value].key_size

    @property
    def is_aead(self) -> bool:
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


def _as_input(data) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, not {type(data).__name__}")


def _parse_any(data, ber: bool) -> Union[EnvelopedData, AuthEnvelopedData]:
    # BER input (OpenSSL streams the ``[0] IMPLICIT OCTET STRING`` ciphertext as constructed chunks) is handled by
    # the schema engine itself with ``ber=True``: it knows the type behind the tag and joins the chunks. The shape
    # is told from the first headers only (no element tree: its memory would be many times the input's).
    data = _as_input(data)
    if ber:
        data = _der.normalize_ber(data)
    if content_type_of(data) is not None:
        top = ContentInfo.from_der(data, ber=ber)
    elif _has_top_level_octet_string(data):
        # a bare AuthEnvelopedData: unlike EnvelopedData it has an OCTET STRING (its mac) at the top
        return AuthEnvelopedData.from_der(data, ber=ber)
    else:
        return EnvelopedData.from_der(data, ber=ber)
    if top.content_type == ID_ENVELOPED_DATA:
        return EnvelopedData.from_der(top.content, ber=ber)
    if top.content_type == ID_AUTH_ENVELOPED_DATA:
        return AuthEnvelopedData.from_der(top.content, ber=ber)
    raise DecodeError(f"content type {top.content_type} is not envelopedData or authEnvelopedData", 0,
                      "unexpected-content-type", "$.content_type")


# AuthEnvelopedData's mac is at most its seventh element (version, originatorInfo, recipientInfos,
# authEncryptedContentInfo, authAttrs, mac); looking further would not change which model is tried.
_MAC_POSITION_LIMIT = 7


def _children_headers(data: bytes, limit: int):
    """(class, constructed, tag) of the first ``limit`` elements inside the top-level DER element."""
    cls, cons, _tag, p, end = _core.peek_header(data)
    out = []
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


def parse_enveloped_data(data, *, ber: bool = True) -> Union[EnvelopedData, AuthEnvelopedData]:
    """Parse an EnvelopedData (or AuthEnvelopedData), bare or in its ContentInfo, DER or (unless ``ber=False``)
    BER. Malformed input raises :class:`~estcodec.DecodeError`."""
    return _parse_any(data, ber)


def is_encrypted_key(data) -> bool:
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


def _load_certificate(cert) -> Certificate:
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
        return Certificate.from_der(cert.to_der())
    raise TypeError(f"a certificate is needed, not {type(cert).__name__}")


def _load_private_key(key):
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return key
    if hasattr(key, "to_cryptography"):  # estcodec.pkcs8.PrivateKeyInfo
        return _load_private_key(key.to_cryptography())
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
    skis: set = dc_field(default_factory=set)
    has_certificate: bool = False

    def matches_issuer_serial(self, ias: IssuerAndSerialNumber) -> bool:
        return (self.has_certificate and ias.serial_number == self.serial
                and hmac.compare_digest(ias.issuer.to_der(), self.issuer_der or b""))

    def matches_ski(self, ski: bytes) -> bool:
        return ski in self.skis


def _identity(private_key, certificate) -> Optional[_Identity]:
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


# --------------------------------------------------------------------------------------------------------------
# Decryption


def _decode_iv(params: Optional[bytes], size: int, where: str) -> bytes:
    if params is None:
        raise DecodeError("the cipher's IV parameter is missing", 0, "missing-field", where)
    iv = decode(OctetString, params)
    if len(iv) != size:
        raise DecodeError(f"the IV must be {size} bytes, not {len(iv)}", 0, "invalid-value", where)
    return iv


def _content_decryptor(env, encrypted_content: Optional[bytes]) -> Tuple[int, Callable[[bytes], bytes]]:
    """(content key size, function CEK -> plaintext) for the envelope's content-encryption algorithm."""
    eci = env._eci
    alg = eci.content_encryption_algorithm
    ct = eci.encrypted_content if eci.encrypted_content is not None else encrypted_content
    if ct is None:
        raise DecryptionError("decryption failed: the encrypted content is detached; pass encrypted_content")
    ct = _as_input(ct)
    if isinstance(env, AuthEnvelopedData):
        if alg.algorithm not in _cc.AEAD_CIPHERS:
            raise UnsupportedAlgorithmError(alg.algorithm)
        if alg.parameters is None:
            raise DecodeError("GCMParameters are missing", 0, "missing-field",
                              "$.auth_encrypted_content_info.content_encryption_algorithm.parameters")
        gcm = GCMParameters.from_der(alg.parameters)
        if not 12 <= gcm.aes_icvlen <= 16 or len(env.mac) != gcm.aes_icvlen:
            raise DecodeError("the MAC length does not match aes-ICVlen (12 to 16)", 0, "invalid-value", "$.mac")
        aad = _auth_attrs_der(env)
        key_size = _cc.AEAD_CIPHERS[alg.algorithm].key_size

        def run_gcm(cek: bytes) -> bytes:
            return _cc.aead_decrypt_content(alg.algorithm, cek, gcm.aes_nonce, ct, env.mac, aad=aad)

        return key_size, run_gcm
    cipher = _cc.content_cipher(alg.algorithm)
    iv = _decode_iv(alg.parameters, cipher.block_size, "$.encrypted_content_info.content_encryption_algorithm")

    def run(cek: bytes) -> bytes:
        return _cc.decrypt_content(alg.algorithm, cek, iv, ct)

    return cipher.key_size, run


def _auth_attrs_der(env: AuthEnvelopedData) -> bytes:
    """The AAD of AuthEnvelopedData: the DER of authAttrs with the SET OF tag (RFC 5083 §2.2), or empty."""
    if env.auth_attrs is None:
        return b""
    raw = env.to_der()
    _cls, _cons, _tag, p, end = _core.peek_header(raw)
    while p < end:
        ccls, ccons, ctag, cstart, cend = _core.peek_header(raw, p, end)
        if ccls == 2 and ctag == 1:   # [1] IMPLICIT authAttrs: its content octets are the SET OF's
            return _der.encode_header(0, True, 17, cend - cstart) + raw[cstart:cend]
        p = cend
    return b""  # pragma: no cover - auth_attrs present means the element is there


def _oaep_parameters(params: Optional[bytes]) -> Tuple[str, str, Optional[bytes]]:
    """(hash OID, MGF1 hash OID, label) of RSAES-OAEP-params; absent fields take their defaults."""
    where = "$.key_encryption_algorithm.parameters"
    hash_oid, mgf_hash_oid, label = _cc.OID_SHA1, _cc.OID_SHA1, None
    if params is None or params == b"\x05\x00":
        return hash_oid, mgf_hash_oid, label
    p = RSAESOAEPParams.from_der(params)
    if p.hash_algorithm is not None:
        hash_oid = p.hash_algorithm.algorithm
        _check_hash_params(p.hash_algorithm, where)
    if p.mask_gen_algorithm is not None:
        if p.mask_gen_algorithm.algorithm != _cc.OID_MGF1:
            raise UnsupportedAlgorithmError(p.mask_gen_algorithm.algorithm)
        if p.mask_gen_algorithm.parameters is None:
            raise DecodeError("MGF1 needs its hash parameter", 0, "missing-field", where)
        mgf_hash = AlgorithmIdentifier.from_der(p.mask_gen_algorithm.parameters)
        _check_hash_params(mgf_hash, where)
        mgf_hash_oid = mgf_hash.algorithm
    if p.p_source_algorithm is not None:
        if p.p_source_algorithm.algorithm != _cc.OID_P_SPECIFIED:
            raise UnsupportedAlgorithmError(p.p_source_algorithm.algorithm)
        if p.p_source_algorithm.parameters is not None:
            label = decode(OctetString, p.p_source_algorithm.parameters) or None
    _cc.hash_algorithm(hash_oid)
    _cc.hash_algorithm(mgf_hash_oid)
    return hash_oid, mgf_hash_oid, label


def _check_hash_params(ai: AlgorithmIdentifier, where: str) -> None:
    if ai.parameters is not None and ai.parameters != b"\x05\x00":
        raise DecodeError("hash parameters must be NULL or absent", 0, "invalid-value", where)


def _ktri_unwrap(ri: KeyTransRecipientInfo, key, key_size: int) -> bytes:
    alg = ri.key_encryption_algorithm
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DecryptionError()
    if alg.algorithm == _cc.OID_RSA_ENCRYPTION:
        return _cc.rsa_pkcs1v15_decrypt_key(key, ri.encrypted_key, key_size)
    if alg.algorithm == _cc.OID_RSAES_OAEP:
        hash_oid, mgf_hash_oid, label = _oaep_parameters(alg.parameters)
        return _cc.rsa_oaep_decrypt_key(key, ri.encrypted_key, hash_oid=hash_oid, mgf_hash_oid=mgf_hash_oid,
                                        label=label)
    raise UnsupportedAlgorithmError(alg.algorithm)


def _kari_unwrap(ri: KeyAgreeRecipientInfo, rek: RecipientEncryptedKey, key) -> bytes:
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise DecryptionError()
    if ri.originator.name != "originator_key":
        raise UnsupportedAlgorithmError("key agreement with a static originator key")
    okey = ri.originator.value
    if okey.algorithm.algorithm != _cc.OID_EC_PUBLIC_KEY:
        raise UnsupportedAlgorithmError(okey.algorithm.algorithm)
    if okey.public_key.unused_bits:
        raise DecodeError("the originator's public key has unused bits", 0, "invalid-value",
                          "$.originator.originator_key.public_key")
    kea = ri.key_encryption_algorithm
    _cc.ecdh_scheme(kea.algorithm)
    if kea.parameters is None:
        raise DecodeError("the key-wrap algorithm is missing", 0, "missing-field",
                          "$.key_encryption_algorithm.parameters")
    wrap = AlgorithmIdentifier.from_der(kea.parameters)
    _cc.key_wrap_algorithm(wrap.algorithm)
    peer = _cc.ec_originator_public_key(key.curve, okey.public_key.data, okey.algorithm.parameters)
    return _cc.ecdh_unwrap_key(kea.algorithm, key, peer, wrap.algorithm, kea.parameters, ri.ukm,
                               rek.encrypted_key)


def _kekri_unwrap(ri: KEKRecipientInfo, kek: bytes) -> bytes:
    return _cc.key_unwrap(ri.key_encryption_algorithm.algorithm, kek, ri.encrypted_key)


def _pwri_unwrap(ri: PasswordRecipientInfo, password, budget: _Pbkdf2Budget) -> bytes:
    kda = ri.key_derivation_algorithm
    if kda is None:
        raise UnsupportedAlgorithmError("password recipient without keyDerivationAlgorithm")
    if kda.algorithm != _cc.OID_PBKDF2:
        raise UnsupportedAlgorithmError(kda.algorithm)
    if kda.parameters is None:
        raise DecodeError("PBKDF2-params are missing", 0, "missing-field", "$.key_derivation_algorithm.parameters")
    params = PBKDF2Params.from_der(kda.parameters)
    if params.salt.name != "specified":
        raise UnsupportedAlgorithmError("PBKDF2 with an otherSource salt")
    prf_oid = _cc.OID_HMAC_SHA1 if params.prf is None else params.prf.algorithm
    kea = ri.key_encryption_algorithm
    if kea.algorithm != _cc.OID_PWRI_KEK:
        raise UnsupportedAlgorithmError(kea.algorithm)
    if kea.parameters is None:
        raise DecodeError("the PWRI-KEK inner cipher is missing", 0, "missing-field",
                          "$.key_encryption_algorithm.parameters")
    inner = AlgorithmIdentifier.from_der(kea.parameters)
    cipher = _cc.content_cipher(inner.algorithm)
    iv = _decode_iv(inner.parameters, cipher.block_size, "$.key_encryption_algorithm.parameters.parameters")
    if params.key_length is not None and params.key_length != cipher.key_size:
        raise DecryptionError()
    if params.iteration_count < 1:
        raise DecryptionError()
    budget.take(params.iteration_count)
    kek = _cc.pbkdf2(password, params.salt.value, params.iteration_count, cipher.key_size, prf_oid=prf_oid,
                     max_iterations=None)
    return _cc.pwri_kek_unwrap(inner.algorithm, kek, iv, ri.encrypted_key)


def _attempts(env, ident: Optional[_Identity], kek, kek_id, password, key_size: int,
              budget: _Pbkdf2Budget) -> List[Callable[[], bytes]]:
    """Unwrap attempts for the recipients the keys given can open: those the identifiers name first; without a
    certificate, the others of the right kind after them (OpenSSL does the same)."""
    named: List[Callable[[], bytes]] = []
    others: List[Callable[[], bytes]] = []
    # Unnamed PKCS#1 v1.5 recipients go last: with the RFC 3218 countermeasure a wrong key cannot be told apart
    # from the right one until the content's padding is checked (which a random key passes about once in 256),
    # whereas an OAEP or key-agreement attempt with the wrong key fails outright.
    others_v15: List[Callable[[], bytes]] = []
    modulus_octets = ((ident.private_key.key_size + 7) // 8
                      if ident is not None and isinstance(ident.private_key, rsa.RSAPrivateKey) else 0)
    for ri in env.recipient_infos:
        kind, info = ri.name, ri.value
        if kind == "ktri" and ident is not None and isinstance(ident.private_key, rsa.RSAPrivateKey):
            rid = info.rid
            hit = (ident.matches_issuer_serial(rid.value) if rid.name == "issuer_and_serial_number"
                   else ident.matches_ski(rid.value))
            attempt: Callable[[], bytes] = functools.partial(_ktri_unwrap, info, ident.private_key, key_size)
            if hit:
                named.append(attempt)
            elif not ident.has_certificate:
                if len(info.encrypted_key) != modulus_octets:
                    # encrypted to a key of another size, or malformed: not ours (public information only);
                    # refused like any other failure, with the same message
                    others_v15.append(functools.partial(_refuse_unwrap))
                    continue
                if info.key_encryption_algorithm.algorithm == _cc.OID_RSAES_OAEP:
                    others.append(attempt)
                else:
                    others_v15.append(attempt)
        elif kind == "kari" and ident is not None and isinstance(ident.private_key, ec.EllipticCurvePrivateKey):
            for rek in info.recipient_encrypted_keys:
                rid = rek.rid
                hit = (ident.matches_issuer_serial(rid.value) if rid.name == "issuer_and_serial_number"
                       else ident.matches_ski(rid.value.subject_key_identifier))
                attempt = functools.partial(_kari_unwrap, info, rek, ident.private_key)
                if hit:
                    named.append(attempt)
                elif not ident.has_certificate:
                    others.append(attempt)
        elif kind == "kekri" and kek is not None:
            if kek_id is None or hmac.compare_digest(info.kekid.key_identifier, bytes(kek_id)):
                named.append(functools.partial(_kekri_unwrap, info, bytes(kek)))
        elif kind == "pwri" and password is not None:
            named.append(functools.partial(_pwri_unwrap, info, password, budget))
    return named + (others + others_v15)[:_MAX_TRIAL_ATTEMPTS]


def _refuse_unwrap() -> bytes:
    raise DecryptionError("decryption failed")


# Recipients not named by the keys given are tried (without a certificate) up to this many: a message with
# thousands of recipients must not turn into thousands of RSA decryptions.
_MAX_TRIAL_ATTEMPTS = 64


def decrypt(data, *, private_key=None, certificate=None, kek: Optional[bytes] = None,
            kek_id: Optional[bytes] = None, password: Union[str, bytes, None] = None,
            encrypted_content: Optional[bytes] = None, ber: bool = True,
            max_pbkdf2_iterations: Optional[int] = _cc.DEFAULT_MAX_PBKDF2_ITERATIONS) -> bytes:
    """Decrypt an EnvelopedData (or AuthEnvelopedData) with whichever of the keys given opens a recipient.

    - ``private_key`` (RSA or EC; a ``cryptography`` key, PEM/DER bytes or an estcodec PrivateKeyInfo), with
      its ``certificate`` if there is one (``cryptography``/estcodec certificate, PEM or DER): key transport
      (RSA PKCS#1 v1.5, RSAES-OAEP) and key agreement (ECDH). Recipients named by the certificate's issuer and
      serial number or by its (or the key's) subject key identifier are tried; without a certificate, the other
      recipients of that kind are tried after them (at most 64 of them).
    - ``kek`` and optionally ``kek_id``: KEK recipients (AES key wrap); without ``kek_id`` every KEK recipient
      is tried.
    - ``password`` (str is UTF-8 encoded): password recipients (PBKDF2 and PWRI-KEK), tried in order.
      ``max_pbkdf2_iterations`` is a budget for the whole message: the iteration counts (they come from the
      message) of the password recipients tried add up, and a recipient whose count would take the sum over
      the budget is not tried. If nothing else decrypts, :class:`PBKDF2BudgetExceeded` (a
      ``DecryptionError``) says so. ``None`` sets no budget.

    Returns the plaintext of the encrypted content (for content type id-data, the data itself; for other
    types, the DER of that content). ``encrypted_content`` supplies a detached ciphertext.
    Raises :class:`DecryptionError` when nothing decrypts, ``DecodeError`` for malformed input.
    """
    if all(k is None for k in (private_key, kek, password)):
        raise TypeError("give at least one of private_key, kek or password")
    env = _parse_any(data, ber)
    return _decrypt_envelope(env, private_key=private_key, certificate=certificate, kek=kek, kek_id=kek_id,
                             password=password, encrypted_content=encrypted_content,
                             max_iterations=max_pbkdf2_iterations)


def _decrypt_envelope(env, *, private_key, certificate, kek, kek_id, password, encrypted_content,
                      max_iterations) -> bytes:
    key_size, run = _content_decryptor(env, encrypted_content)
    ident = _identity(private_key, certificate)
    budget = _Pbkdf2Budget(max_iterations)
    attempts = _attempts(env, ident, kek, kek_id, password, key_size, budget)
    if not attempts:
        raise DecryptionError("decryption failed: no recipient matches the keys given")
    unsupported: Optional[UnsupportedAlgorithmError] = None
    tried = False
    for attempt in attempts:
        try:
            cek = attempt()
            tried = True
            return run(cek)
        except PBKDF2BudgetExceeded:
            pass   # not tried; said below if nothing else decrypts
        except UnsupportedAlgorithmError as exc:
            unsupported = unsupported or exc
        except DecryptionError:
            tried = True
    if budget.refused is not None:
        raise budget.refused
    if unsupported is not None and not tried:
        raise unsupported
    raise DecryptionError()


def decrypt_enveloped_data(data, key: DecryptionKey, *, encrypted_content: Optional[bytes] = None,
                           ber: bool = True) -> bytes:
    """Decrypt the content of an EnvelopedData/AuthEnvelopedData with a content-encryption key the caller
    already holds. The key's algorithm must be the message's; otherwise :class:`DecryptionError`."""
    if not isinstance(key, DecryptionKey):
        raise TypeError("key must be a DecryptionKey")
    env = _parse_any(data, ber)
    if env._eci.content_encryption_algorithm.algorithm != key.algorithm.value:
        raise DecryptionError()
    _, run = _content_decryptor(env, encrypted_content)
    return run(key.content_key)


# --------------------------------------------------------------------------------------------------------------
# Encryption


def _wrap_for(algorithm: EncryptionAlgorithm) -> str:
    """The key-wrap algorithm of the content cipher's strength (OpenSSL's choice for key agreement)."""
    if algorithm is EncryptionAlgorithm.DES_EDE3_CBC:
        return _cc.OID_CMS3DES_WRAP
    return {16: _cc.OID_AES128_WRAP, 24: _cc.OID_AES192_WRAP, 32: _cc.OID_AES256_WRAP}[algorithm.key_size]


def _hash_ai(hash_oid: str) -> AlgorithmIdentifier:
    return AlgorithmIdentifier(algorithm=hash_oid, parameters=b"\x05\x00")


def _public_key_of(certificate, public_key):
    if certificate is not None:
        cert = _load_certificate(certificate)
        return cert, cert.public_key_info.to_cryptography()
    if public_key is None:
        raise TypeError("give a certificate, or a public_key with its subject_key_identifier")
    if isinstance(public_key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        public_key = public_key.public_key()
    return None, public_key


def _ski_of(cert: Optional[Certificate], public_key, explicit: Optional[bytes]) -> bytes:
    if explicit is not None:
        return bytes(explicit)
    if cert is not None and cert.subject_key_identifier:
        return bytes(cert.subject_key_identifier)
    return _pkix.key_identifier(public_key)


@dataclass(frozen=True)
class KeyTransRecipient:
    """An RSA key-transport recipient: by ``certificate`` (named by issuer and serial number, or by subject key
    identifier with ``identify_by_ski``), or by ``public_key`` and ``subject_key_identifier``.
    ``oaep=True`` uses RSAES-OAEP with ``oaep_hash`` for both the hash and MGF1, else PKCS#1 v1.5."""

    certificate: object = None
    public_key: object = None
    subject_key_identifier: Optional[bytes] = None
    oaep: bool = False
    oaep_hash: str = _cc.OID_SHA256
    identify_by_ski: bool = False

    def _recipient_info(self, cek: bytes, algorithm: EncryptionAlgorithm) -> RecipientInfo:
        cert, pub = _public_key_of(self.certificate, self.public_key)
        if not isinstance(pub, rsa.RSAPublicKey):
            raise TypeError("key transport needs an RSA key")
        if self.oaep:
            ek = _cc.rsa_oaep_encrypt_key(pub, cek, hash_oid=self.oaep_hash, mgf_hash_oid=self.oaep_hash)
            if self.oaep_hash == _cc.OID_SHA1:
                params = RSAESOAEPParams().to_der()
            else:
                params = RSAESOAEPParams(
                    hash_algorithm=_hash_ai(self.oaep_hash),
                    mask_gen_algorithm=AlgorithmIdentifier(algorithm=_cc.OID_MGF1,
                                                           parameters=_hash_ai(self.oaep_hash).to_der()),
                ).to_der()
            kea = AlgorithmIdentifier(algorithm=_cc.OID_RSAES_OAEP, parameters=params)
        else:
            ek = _cc.rsa_pkcs1v15_encrypt_key(pub, cek)
            kea = AlgorithmIdentifier(algorithm=_cc.OID_RSA_ENCRYPTION, parameters=b"\x05\x00")
        if cert is not None and not self.identify_by_ski:
            rid = RecipientIdentifier(issuer_and_serial_number=IssuerAndSerialNumber(
                issuer=cert.issuer, serial_number=cert.serial_number))
            version = 0
        else:
            rid = RecipientIdentifier(subject_key_identifier=_ski_of(cert, pub, self.subject_key_identifier))
            version = 2
        return RecipientInfo(ktri=KeyTransRecipientInfo(version=version, rid=rid, key_encryption_algorithm=kea,
                                                        encrypted_key=ek))


@dataclass(frozen=True)
class KeyAgreeRecipient:
    """An EC key-agreement recipient (ephemeral-static ECDH, RFC 5753): by ``certificate`` or by ``public_key``
    and ``subject_key_identifier``. ``scheme`` is the ECDH scheme OID (default dhSinglePass-stdDH-sha256kdf);
    ``wrap`` the key-wrap OID (default: AES wrap of the content cipher's size, CMS3DESwrap for 3DES)."""

    certificate: object = None
    public_key: object = None
    subject_key_identifier: Optional[bytes] = None
    scheme: str = _cc.OID_DH_SINGLE_PASS_STDDH_SHA256KDF
    wrap: Optional[str] = None
    ukm: Optional[bytes] = None
    identify_by_ski: bool = False

    def _recipient_info(self, cek: bytes, algorithm: EncryptionAlgorithm) -> RecipientInfo:
        cert, pub = _public_key_of(self.certificate, self.public_key)
        if not isinstance(pub, ec.EllipticCurvePublicKey):
            raise TypeError("key agreement needs an EC key")
        wrap_oid = self.wrap or _wrap_for(algorithm)
        key_info = _cc.key_wrap_algorithm_identifier(wrap_oid)
        ephemeral = _cc.ecdh_generate_ephemeral(pub)
        ek = _cc.ecdh_wrap_key(self.scheme, ephemeral, pub, wrap_oid, cek, key_info=key_info, ukm=self.ukm)
        point = ephemeral.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        if cert is not None and not self.identify_by_ski:
            rid = KeyAgreeRecipientIdentifier(issuer_and_serial_number=IssuerAndSerialNumber(
                issuer=cert.issuer, serial_number=cert.serial_number))
        else:
            rid = KeyAgreeRecipientIdentifier(r_key_id=RecipientKeyIdentifier(
                subject_key_identifier=_ski_of(cert, pub, self.subject_key_identifier)))
        kari = KeyAgreeRecipientInfo(
            version=3,
            originator=OriginatorIdentifierOrKey(originator_key=OriginatorPublicKey(
                algorithm=AlgorithmIdentifier(algorithm=_cc.OID_EC_PUBLIC_KEY), public_key=point)),
            ukm=self.ukm,
            key_encryption_algorithm=AlgorithmIdentifier(algorithm=self.scheme, parameters=key_info),
            recipient_encrypted_keys=[RecipientEncryptedKey(rid=rid, encrypted_key=ek)],
        )
        return RecipientInfo(kari=kari)


@dataclass(frozen=True, repr=False)
class KEKRecipient:
    """A KEK recipient (RFC 5652 §6.2.3): the content key is wrapped under ``kek`` (16, 24 or 32 bytes: AES key
    wrap of that size) and the recipient named by ``kek_id``."""

    kek: bytes
    kek_id: bytes

    def __repr__(self) -> str:
        return f"KEKRecipient(kek=<{len(self.kek)} bytes>, kek_id={bytes(self.kek_id)!r})"

    def _recipient_info(self, cek: bytes, algorithm: EncryptionAlgorithm) -> RecipientInfo:
        wrap_oid = {16: _cc.OID_AES128_WRAP, 24: _cc.OID_AES192_WRAP, 32: _cc.OID_AES256_WRAP}.get(len(self.kek))
        if wrap_oid is None:
            raise ValueError("a KEK is 16, 24 or 32 bytes (AES key wrap)")
        return RecipientInfo(kekri=KEKRecipientInfo(
            version=4, kekid=KEKIdentifier(key_identifier=bytes(self.kek_id)),
            key_encryption_algorithm=AlgorithmIdentifier(algorithm=wrap_oid),
            encrypted_key=_cc.key_wrap(wrap_oid, bytes(self.kek), cek)))


@dataclass(frozen=True, repr=False)
class PasswordRecipient:
    """A password recipient (RFC 3211): PBKDF2 (``prf``: an HMAC OID, default hmacWithSHA256) derives the KEK for
    the PWRI-KEK wrap with ``inner`` (a CBC cipher OID; default: the content cipher, AES-256-CBC for GCM)."""

    password: Union[str, bytes]
    iterations: int = 100_000
    prf: str = _cc.OID_HMAC_SHA256
    salt: Optional[bytes] = None
    inner: Optional[str] = None

    def __repr__(self) -> str:
        return f"PasswordRecipient(iterations={self.iterations}, prf={self.prf!r})"

    def _recipient_info(self, cek: bytes, algorithm: EncryptionAlgorithm) -> RecipientInfo:
        inner = self.inner or (algorithm.value if not algorithm.is_aead else _cc.OID_AES256_CBC)
        cipher = _cc.content_cipher(inner)
        salt = self.salt if self.salt is not None else os.urandom(16)
        kek = _cc.pbkdf2(self.password, salt, self.iterations, cipher.key_size, prf_oid=self.prf,
                         max_iterations=None)
        iv = os.urandom(cipher.block_size)
        ek = _cc.pwri_kek_wrap(inner, kek, iv, cek)
        pbkdf2_params = PBKDF2Params(salt=PBKDF2Salt(specified=salt), iteration_count=self.iterations,
                                     prf=None if self.prf == _cc.OID_HMAC_SHA1 else
                                     AlgorithmIdentifier(algorithm=self.prf, parameters=b"\x05\x00"))
        return RecipientInfo(pwri=PasswordRecipientInfo(
            version=0,
            key_derivation_algorithm=AlgorithmIdentifier(algorithm=_cc.OID_PBKDF2, parameters=pbkdf2_params.to_der()),
            key_encryption_algorithm=AlgorithmIdentifier(
                algorithm=_cc.OID_PWRI_KEK,
                parameters=AlgorithmIdentifier(algorithm=inner, parameters=encode(OctetString, iv)).to_der()),
            encrypted_key=ek))


Recipient = Union[KeyTransRecipient, KeyAgreeRecipient, KEKRecipient, PasswordRecipient]


def build_enveloped_data(content: bytes, recipients: Iterable[Recipient], *,
                         algorithm: EncryptionAlgorithm = EncryptionAlgorithm.AES256_CBC,
                         content_type: str = ID_DATA, content_info: bool = True) -> bytes:
    """Encrypt ``content`` for each of ``recipients`` and return the DER of the EnvelopedData (an
    AuthEnvelopedData for the GCM algorithms), wrapped in its ContentInfo unless ``content_info=False``."""
    algorithm = EncryptionAlgorithm(algorithm)
    recipients = list(recipients)
    if not recipients:
        raise ValueError("at least one recipient is needed")
    content = _as_input(content)
    cek = _cc.generate_content_key(algorithm.value)
    infos = [r._recipient_info(cek, algorithm) for r in recipients]
    if algorithm.is_aead:
        nonce, ct, tag = _cc.aead_encrypt_content(algorithm.value, cek, content, tag_length=16)
        params = GCMParameters(aes_nonce=nonce, aes_icvlen=16).to_der()
        env: Union[EnvelopedData, AuthEnvelopedData] = AuthEnvelopedData(
            version=0, recipient_infos=infos,
            auth_encrypted_content_info=EncryptedContentInfo(
                content_type=content_type,
                content_encryption_algorithm=AlgorithmIdentifier(algorithm=algorithm.value, parameters=params),
                encrypted_content=ct),
            mac=tag)
        outer = ID_AUTH_ENVELOPED_DATA
    else:
        iv, ct = _cc.encrypt_content(algorithm.value, cek, content)
        kinds = {ri.name for ri in infos}
        if kinds & {"pwri", "ori"}:
            version = 3
        elif all(ri.value.version == 0 for ri in infos):
            version = 0
        else:
            version = 2
        env = EnvelopedData(
            version=version, recipient_infos=infos,
            encrypted_content_info=EncryptedContentInfo(
                content_type=content_type,
                content_encryption_algorithm=AlgorithmIdentifier(algorithm=algorithm.value,
                                                                 parameters=encode(OctetString, iv)),
                encrypted_content=ct))
        outer = ID_ENVELOPED_DATA
    der = env.to_der()
    if not content_info:
        return der
    return ContentInfo(content_type=outer, content=der).to_der()


# --------------------------------------------------------------------------------------------------------------
# RFC 7030 §4.4.2: server-generated keys


def unwrap_server_generated_key(data, *, signer_trust=None, verify_signer: bool = True, **decrypt_keywords):
    """Decrypt and unwrap an encrypted server-generated key (RFC 7030 §4.4.2): EnvelopedData around a SignedData
    around an AsymmetricKeyPackage (RFC 5958) of OneAsymmetricKey. Returns the key as
    ``estcodec.pkcs8.PrivateKeyInfo``.

    ``decrypt_keywords`` are those of :func:`decrypt`. The SignedData's signature is checked against
    ``signer_trust`` (PEM bytes, or certificates: the signer must be one of them or be issued by one of them);
    with no trust given this raises unless ``verify_signer=False`` says explicitly to skip the check.
    OpenSSL labels the inner content id-data instead of id-signedData; that is tolerated.
    """
    if verify_signer and signer_trust is None:
        raise ValueError("signer_trust is needed to verify the key's signer (or pass verify_signer=False)")
    env = _parse_any(data, decrypt_keywords.pop("ber", True))
    if env.content_type not in (ID_SIGNED_DATA, ID_DATA):
        raise DecodeError(f"the encrypted content is {env.content_type}, not a SignedData", 0,
                          "unexpected-content-type", "$.encrypted_content_info.content_type")
    plaintext = _decrypt_envelope(
        env, private_key=decrypt_keywords.pop("private_key", None),
        certificate=decrypt_keywords.pop("certificate", None), kek=decrypt_keywords.pop("kek", None),
        kek_id=decrypt_keywords.pop("kek_id", None), password=decrypt_keywords.pop("password", None),
        encrypted_content=decrypt_keywords.pop("encrypted_content", None),
        max_iterations=decrypt_keywords.pop("max_pbkdf2_iterations", _cc.DEFAULT_MAX_PBKDF2_ITERATIONS))
    if decrypt_keywords:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(decrypt_keywords))}")
    return _key_from_signed_data(plaintext, signer_trust, verify_signer)


def _trust_certificates(signer_trust) -> list:
    from . import cms as _cms
    from . import pem as _pem

    if isinstance(signer_trust, str):
        signer_trust = signer_trust.encode("ascii")
    if isinstance(signer_trust, (bytes, bytearray, memoryview)):
        raw = bytes(signer_trust)
        if raw.lstrip()[:5] == b"-----":
            certs = [Certificate.from_der(der) for label, der in _pem.decode(raw) if "CERTIFICATE" in label]
        else:
            certs = [Certificate.from_der(raw)]
    elif isinstance(signer_trust, (Certificate, _cx509.Certificate)) or hasattr(signer_trust, "to_der"):
        certs = [_cms.as_certificate(signer_trust)]
    else:
        certs = [_cms.as_certificate(c) for c in signer_trust]
    if not certs:
        raise ValueError("signer_trust holds no certificate")
    return certs


def _key_from_signed_data(plaintext: bytes, signer_trust, verify_signer: bool):
    from . import cms as _cms
    from . import pkcs8 as _pkcs8

    if content_type_of(_der.normalize_ber(plaintext)) is not None:
        content_info = plaintext  # OpenSSL style: a whole ContentInfo under id-data
    else:
        content_info = ContentInfo(content_type=ID_SIGNED_DATA, content=plaintext).to_der()
    if verify_signer:
        econtent_type, econtent, _, _ = _cms.verify_signed_data(content_info, _trust_certificates(signer_trust))
    else:
        sd = _cms.parse_signed_data(content_info)
        econtent_type, econtent = sd.econtent_type, sd.econtent
    if econtent_type not in (ID_CT_KP_A_KEY_PACKAGE, ID_DATA):
        raise DecodeError(f"the signed content is {econtent_type}, not an AsymmetricKeyPackage", 0,
                          "unexpected-content-type", "$.encap_content_info.e_content_type")
    if econtent is None:
        raise DecodeError("the SignedData carries no content", 0, "missing-field", "$.encap_content_info.e_content")
    if _children_headers(econtent, 1)[:1] == [(0, True, 16)]:
        keys = _pkcs8.parse_asymmetric_key_package(econtent)
        if not keys:
            raise DecodeError("the AsymmetricKeyPackage is empty", 0, "invalid-value", "$")
        return keys[0]
    return _pkcs8.parse_private_key(econtent)  # a bare OneAsymmetricKey, as some servers send


def wrap_server_generated_key(private_key, recipients: Iterable[Recipient], *, signer_key, signer_certificate,
                              algorithm: EncryptionAlgorithm = EncryptionAlgorithm.AES256_CBC,
                              inner_content_type: str = ID_SIGNED_DATA) -> bytes:
    """Build what an EST server returns for an encrypted server-generated key (RFC 7030 §4.4.2): the key (a
    ``cryptography`` private key or an estcodec OneAsymmetricKey) in an AsymmetricKeyPackage, signed by
    ``signer_key``/``signer_certificate`` in a SignedData, encrypted for ``recipients`` in an EnvelopedData
    (ContentInfo DER). ``inner_content_type=ID_DATA`` makes OpenSSL's variant (the whole SignedData ContentInfo
    encrypted as id-data)."""
    from . import cms as _cms
    from . import pkcs8 as _pkcs8

    package = _pkcs8.build_asymmetric_key_package([private_key])
    signed = _cms.sign_signed_data(ID_CT_KP_A_KEY_PACKAGE, package, signer_key, signer_certificate)
    if inner_content_type == ID_SIGNED_DATA:
        content = ContentInfo.from_der(signed).content
    elif inner_content_type == ID_DATA:
        content = signed
    else:
        raise ValueError("inner_content_type is ID_SIGNED_DATA or ID_DATA")
    return build_enveloped_data(content, recipients, algorithm=algorithm, content_type=inner_content_type)


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
