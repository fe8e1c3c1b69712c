"""Building CMS EnvelopedData (RFC 5652 §6): the recipient kinds (key transport §6.2.1, key agreement §6.2.2,
KEK §6.2.3, password §6.2.4 / RFC 3211) and :func:`build_enveloped_data`.

Part of :mod:`estcodec.enveloped`, which re-exports every public name; import them from there.
"""
# No ``from __future__ import annotations``: the schema models need real annotation objects.

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional, Union
from typing import Any as _TypingAny

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import _cms_crypto as _cc
from . import pkix as _pkix
from .cms import ContentInfo  # the one ContentInfo, its registry and sniffer
from .schema import (OctetString, encode)
from .x509 import AlgorithmIdentifier, Certificate

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


from ._enveloped_model import (
    ID_DATA, ID_ENVELOPED_DATA, ID_AUTH_ENVELOPED_DATA, IssuerAndSerialNumber, RecipientIdentifier,
    KeyTransRecipientInfo, OriginatorPublicKey, OriginatorIdentifierOrKey, RecipientKeyIdentifier,
    KeyAgreeRecipientIdentifier, RecipientEncryptedKey, KeyAgreeRecipientInfo, KEKIdentifier, KEKRecipientInfo,
    PasswordRecipientInfo, RecipientInfo, EncryptedContentInfo, EnvelopedData, AuthEnvelopedData, RSAESOAEPParams,
    PBKDF2Salt, PBKDF2Params, GCMParameters, EncryptionAlgorithm, _as_input, _load_certificate,
)


# --------------------------------------------------------------------------------------------------------------
# Encryption


def _wrap_for(algorithm: EncryptionAlgorithm) -> str:
    """The key-wrap algorithm of the content cipher's strength (OpenSSL's choice for key agreement)."""
    if algorithm is EncryptionAlgorithm.DES_EDE3_CBC:
        return _cc.OID_CMS3DES_WRAP
    return {16: _cc.OID_AES128_WRAP, 24: _cc.OID_AES192_WRAP, 32: _cc.OID_AES256_WRAP}[algorithm.key_size]


def _hash_ai(hash_oid: str) -> AlgorithmIdentifier:
    return AlgorithmIdentifier(algorithm=hash_oid, parameters=b"\x05\x00")


def _public_key_of(certificate: object, public_key: object) -> "tuple[Certificate | None, _TypingAny]":
    if certificate is not None:
        cert = _load_certificate(certificate)
        return cert, cert.public_key_info.to_cryptography()
    if public_key is None:
        raise TypeError("give a certificate, or a public_key with its subject_key_identifier")
    if isinstance(public_key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        public_key = public_key.public_key()
    return None, public_key


def _ski_of(cert: Optional[Certificate], public_key: "PublicKeyTypes", explicit: Optional[bytes]) -> bytes:
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
