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

import functools
import hmac
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional, Tuple, Union
from typing import Any as _TypingAny

from cryptography import x509 as _cx509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import _cms_crypto as _cc
from . import _der as _core
from . import der as _der
from .cms import ContentInfo, content_type_of  # the one ContentInfo, its registry and sniffer
from .errors import DecodeError
from .schema import OctetString, decode
from .x509 import AlgorithmIdentifier, Certificate
from ._cms_crypto import DecryptionError, UnsupportedAlgorithmError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from .cms import CertificateLike
    from .pkcs8 import OneAsymmetricKey
    from .signer import Signer, SoftwarePrivateKey

from ._enveloped_model import (
    ID_DATA, ID_SIGNED_DATA, ID_ENVELOPED_DATA, ID_AUTH_ENVELOPED_DATA, ID_CT_KP_A_KEY_PACKAGE, Attribute,
    IssuerAndSerialNumber, OtherKeyAttribute, RecipientIdentifier, KeyTransRecipientInfo, OriginatorPublicKey,
    OriginatorIdentifierOrKey, RecipientKeyIdentifier, KeyAgreeRecipientIdentifier, RecipientEncryptedKey,
    KeyAgreeRecipientInfo, KEKIdentifier, KEKRecipientInfo, PasswordRecipientInfo, OtherRecipientInfo,
    RecipientInfo, OriginatorInfo, EncryptedContentInfo, EnvelopedData, AuthEnvelopedData, RSAESOAEPParams,
    PBKDF2Salt, PBKDF2Params, GCMParameters, EncryptionAlgorithm, DecryptionKey, PBKDF2BudgetExceeded,
    _Pbkdf2Budget, _as_input, _parse_any, _children_headers, parse_enveloped_data, is_encrypted_key, _Identity,
    _identity,
)
from ._enveloped_build import (
    KeyTransRecipient, KeyAgreeRecipient, KEKRecipient, PasswordRecipient, Recipient, build_enveloped_data,
)

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

# --------------------------------------------------------------------------------------------------------------
# Decryption


def _decode_iv(params: Optional[bytes], size: int, where: str) -> bytes:
    if params is None:
        raise DecodeError("the cipher's IV parameter is missing", 0, "missing-field", where)
    iv = decode(OctetString, params)
    if len(iv) != size:
        raise DecodeError(f"the IV must be {size} bytes, not {len(iv)}", 0, "invalid-value", where)
    out: bytes = iv
    return out


def _content_decryptor(env: "EnvelopedData | AuthEnvelopedData", encrypted_content: Optional[bytes]
                       ) -> Tuple[int, Callable[[bytes], bytes]]:
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


def _ktri_unwrap(ri: KeyTransRecipientInfo, key: object, key_size: int) -> bytes:
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


def _kari_unwrap(ri: KeyAgreeRecipientInfo, rek: RecipientEncryptedKey, key: object) -> bytes:
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


def _pwri_unwrap(ri: PasswordRecipientInfo, password: "str | bytes", budget: _Pbkdf2Budget) -> bytes:
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


def _attempts(env: "EnvelopedData | AuthEnvelopedData", ident: Optional[_Identity], kek: Optional[bytes],
              kek_id: Optional[bytes], password: "str | bytes | None", key_size: int,
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


def decrypt(data: "bytes | bytearray | memoryview", *, private_key: object = None, certificate: object = None,
            kek: Optional[bytes] = None,
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


def _decrypt_envelope(env: "EnvelopedData | AuthEnvelopedData", *, private_key: object, certificate: object,
                      kek: Optional[bytes], kek_id: Optional[bytes], password: "str | bytes | None",
                      encrypted_content: Optional[bytes], max_iterations: Optional[int]) -> bytes:
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


def decrypt_enveloped_data(data: "bytes | bytearray | memoryview", key: DecryptionKey, *,
                           encrypted_content: Optional[bytes] = None, ber: bool = True) -> bytes:
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
# RFC 7030 §4.4.2: server-generated keys


def unwrap_server_generated_key(data: "bytes | bytearray | memoryview", *, signer_trust: object = None,
                                verify_signer: bool = True, **decrypt_keywords: _TypingAny) -> "OneAsymmetricKey":
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


def _trust_certificates(signer_trust: _TypingAny) -> "list[Certificate]":
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


def _key_from_signed_data(plaintext: bytes, signer_trust: object, verify_signer: bool) -> "OneAsymmetricKey":
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


def wrap_server_generated_key(private_key: "PrivateKeyTypes | OneAsymmetricKey", recipients: Iterable[Recipient], *,
                              signer_key: "SoftwarePrivateKey | Signer", signer_certificate: "CertificateLike",
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
