"""CMS pieces for the reference EST server: certs-only, SignedData, EnvelopedData.

Built with the tiny DER helpers of :mod:`._asn1` and the primitives of ``cryptography``
(AES-CBC, AES key wrap, RSA OAEP/PKCS#1 v1.5, ECDH + X9.63 KDF, signatures). Nothing is
hand-written cryptography: only the ASN.1 around it.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, keywrap, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.serialization import pkcs7

from . import _asn1 as A
from . import _oids as O

__all__ = [
    "certs_only",
    "sign_content",
    "parse_signed_data",
    "SignedContent",
    "envelope_for_kek",
    "envelope_for_certificate",
    "CmsError",
]


class CmsError(ValueError):
    """A CMS structure the server cannot accept or cannot build (answered with HTTP 400)."""


# ------------------------------------------------------------------------------------- certs-only


def certs_only(certs: list[x509.Certificate]) -> bytes:
    """A certs-only CMC Simple PKI Response (degenerate SignedData, RFC 5272 §4.1), DER."""
    return pkcs7.serialize_certificates(certs, serialization.Encoding.DER)


# ------------------------------------------------------------------------------------- signatures

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {O.SHA1: hashes.SHA1, O.SHA256: hashes.SHA256, O.SHA384: hashes.SHA384, O.SHA512: hashes.SHA512}
_SIG_HASH = {
    O.SHA256_WITH_RSA: O.SHA256,
    O.SHA384_WITH_RSA: O.SHA384,
    O.SHA512_WITH_RSA: O.SHA512,
    O.ECDSA_WITH_SHA256: O.SHA256,
    O.ECDSA_WITH_SHA384: O.SHA384,
    O.ECDSA_WITH_SHA512: O.SHA512,
}


def _alg(oid: str, params: bytes | None = None) -> bytes:
    return A.seq(A.oid(oid), params) if params is not None else A.seq(A.oid(oid))


def _signature_for(key: object, data: bytes) -> tuple[bytes, bytes]:
    """Sign ``data`` with SHA-256 (Ed25519 natively); return (signatureAlgorithm DER, signature)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _alg(O.ECDSA_WITH_SHA256), key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return (
            _alg(O.SHA256_WITH_RSA, A.null()),
            key.sign(data, asym_padding.PKCS1v15(), hashes.SHA256()),
        )
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _alg(O.ED25519), key.sign(data)
    raise CmsError("unsupported signing key type")


def verify_signature(public_key: object, sig_alg: str, digest_alg: str, signature: bytes, data: bytes) -> None:
    """Check a CMS/PKCS#10 signature; raise :class:`CmsError` if it does not verify."""
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            if sig_alg != O.ED25519:
                raise CmsError("signature algorithm does not match the Ed25519 key")
            public_key.verify(signature, data)
            return
        hash_oid = _SIG_HASH.get(sig_alg, digest_alg if sig_alg in (O.RSA_ENCRYPTION, O.EC_PUBLIC_KEY) else None)
        if hash_oid not in _HASHES:
            raise CmsError(f"unsupported signature algorithm {sig_alg}")
        algorithm = _HASHES[hash_oid]()
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, asym_padding.PKCS1v15(), algorithm)
        else:
            raise CmsError("unsupported signer key type")
    except InvalidSignature:
        raise CmsError("signature does not verify") from None


# ------------------------------------------------------------------------------------- SignedData


def _issuer_and_serial(cert: x509.Certificate) -> bytes:
    return A.seq(cert.issuer.public_bytes(), A.integer(cert.serial_number))


def sign_content(
    content_type: str,
    content: bytes,
    signer_key: object,
    signer_cert: x509.Certificate,
    certificates: list[x509.Certificate] | None = None,
) -> bytes:
    """ContentInfo(SignedData) over ``content`` with one signer named by issuer and serial number.

    Signed attributes (contentType, messageDigest) are always present, as RFC 5652 §5.3 requires
    for any content type other than id-data.
    """
    certs = certificates if certificates is not None else [signer_cert]
    digest = hashlib.sha256(content).digest()
    signed_attrs = [
        A.seq(A.oid(O.CONTENT_TYPE), A.set_of(A.oid(content_type))),
        A.seq(A.oid(O.MESSAGE_DIGEST), A.set_of(A.octet_string(digest))),
    ]
    attrs_set = A.set_of(*signed_attrs)  # signature is over the SET OF encoding (RFC 5652 §5.4)
    sig_alg, signature = _signature_for(signer_key, attrs_set)
    signer_info = A.seq(
        A.integer(1),
        _issuer_and_serial(signer_cert),
        _alg(O.SHA256),
        A.implicit(0, attrs_set),
        sig_alg,
        A.octet_string(signature),
    )
    signed_data = A.seq(
        A.integer(3 if content_type != O.DATA else 1),
        A.set_of(_alg(O.SHA256)),
        A.seq(A.oid(content_type), A.explicit(0, A.octet_string(content))),
        A.tlv(0xA0, b"".join(c.public_bytes(serialization.Encoding.DER) for c in certs)),
        A.set_of(signer_info),
    )
    return A.seq(A.oid(O.SIGNED_DATA), A.explicit(0, signed_data))


@dataclass
class SignerInfo:
    sid_issuer_serial: tuple[bytes, int] | None
    sid_ski: bytes | None
    digest_alg: str
    signed_attrs: dict[str, list[A.Tlv]] | None
    signed_attrs_der: bytes | None
    signature_alg: str
    signature: bytes


@dataclass
class SignedContent:
    """A parsed ContentInfo(SignedData): what was signed, by whom, with which certificates."""

    content_type: str
    content: bytes
    certificates: list[x509.Certificate] = field(default_factory=list)
    signers: list[SignerInfo] = field(default_factory=list)

    def signer_certificate(self, signer: SignerInfo) -> x509.Certificate | None:
        for cert in self.certificates:
            if signer.sid_issuer_serial is not None:
                issuer, serial = signer.sid_issuer_serial
                if cert.issuer.public_bytes() == issuer and cert.serial_number == serial:
                    return cert
            elif signer.sid_ski is not None and _cert_ski(cert) == signer.sid_ski:
                return cert
        return None

    def verify(self, signer: SignerInfo, public_key: object) -> None:
        """Verify one signer with ``public_key`` (its attributes, digest and signature)."""
        try:
            self._verify(signer, public_key)
        except A.Asn1Error as exc:
            raise CmsError(f"malformed signed attributes: {exc}") from None

    def _verify(self, signer: SignerInfo, public_key: object) -> None:
        if signer.signed_attrs is None:
            data = self.content
        else:
            ctype = signer.signed_attrs.get(O.CONTENT_TYPE)
            mdig = signer.signed_attrs.get(O.MESSAGE_DIGEST)
            if not ctype or not mdig or A.decode_oid(ctype[0]) != self.content_type:
                raise CmsError("signed attributes lack a matching contentType or messageDigest")
            if signer.digest_alg not in _HASHES:
                raise CmsError("unsupported digest algorithm")
            h = hashes.Hash(_HASHES[signer.digest_alg]())
            h.update(self.content)
            if A.expect(mdig[0], 0x04, "OCTET STRING").content != h.finalize():
                raise CmsError("messageDigest does not match the content")
            assert signer.signed_attrs_der is not None
            data = signer.signed_attrs_der
        verify_signature(public_key, signer.signature_alg, signer.digest_alg, signer.signature, data)


def _cert_ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def parse_signed_data(data: bytes) -> SignedContent:
    """Parse ContentInfo(SignedData) (DER); the signature is checked separately with ``verify``."""
    try:
        ci = A.expect(A.parse(data), 0x30, "ContentInfo").children()
        if len(ci) != 2 or A.decode_oid(ci[0]) != O.SIGNED_DATA or not ci[1].is_context(0):
            raise CmsError("not a ContentInfo holding SignedData")
        sd_el = ci[1].children()
        if len(sd_el) != 1:
            raise CmsError("bad [0] content")
        parts = A.expect(sd_el[0], 0x30, "SignedData").children()
        if len(parts) < 4:
            raise CmsError("SignedData too short")
        encap = A.expect(parts[2], 0x30, "EncapsulatedContentInfo").children()
        content_type = A.decode_oid(encap[0])
        if len(encap) != 2 or not encap[1].is_context(0):
            raise CmsError("SignedData carries no encapsulated content")
        inner = encap[1].children()
        if len(inner) != 1:
            raise CmsError("bad eContent")
        content = A.expect(inner[0], 0x04, "OCTET STRING").content
        certs: list[x509.Certificate] = []
        rest = parts[3:]
        if rest and rest[0].is_context(0):
            for c in rest[0].children():
                if c.identifier == 0x30:
                    certs.append(x509.load_der_x509_certificate(c.encoded))
            rest = rest[1:]
        if rest and rest[0].is_context(1):
            rest = rest[1:]
        if len(rest) != 1 or rest[0].identifier != 0x31:
            raise CmsError("SignedData lacks signerInfos")
        signers = [_parse_signer_info(si) for si in rest[0].children()]
    except A.Asn1Error as exc:
        raise CmsError(f"malformed SignedData: {exc}") from None
    except (ValueError, IndexError) as exc:
        raise CmsError(f"malformed SignedData: {exc.__class__.__name__}") from None
    return SignedContent(content_type, content, certs, signers)


def _parse_signer_info(el: A.Tlv) -> SignerInfo:
    f = A.expect(el, 0x30, "SignerInfo").children()
    sid = f[1]
    issuer_serial = None
    ski = None
    if sid.identifier == 0x30:
        ias = sid.children()
        issuer_serial = (ias[0].encoded, A.decode_integer(ias[1]))
    elif sid.identifier == 0x80:
        ski = sid.content
    else:
        raise CmsError("bad signer identifier")
    digest_alg = A.decode_oid(f[2].children()[0])
    idx = 3
    attrs: dict[str, list[A.Tlv]] | None = None
    attrs_der = None
    if f[idx].identifier == 0xA0:
        attrs = {}
        for a in f[idx].children():
            parts = a.children()
            attrs.setdefault(A.decode_oid(parts[0]), []).extend(parts[1].children())
        attrs_der = A.tlv(0x31, f[idx].content)
        idx += 1
    sig_alg = A.decode_oid(f[idx].children()[0])
    signature = A.expect(f[idx + 1], 0x04, "OCTET STRING").content
    return SignerInfo(issuer_serial, ski, digest_alg, attrs, attrs_der, sig_alg, signature)


# ------------------------------------------------------------------------------------- EnvelopedData


def _aes_cbc(content: bytes, content_alg: str) -> tuple[bytes, bytes, bytes]:
    size = O.AES_CBC_KEY_SIZES[content_alg]
    cek = os.urandom(size)
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(content) + padder.finalize()
    enc = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
    ciphertext = enc.update(padded) + enc.finalize()
    return cek, _alg(content_alg, A.octet_string(iv)), ciphertext


def _enveloped(version: int, recipient_info: bytes, content_type: str, alg: bytes, ciphertext: bytes) -> bytes:
    eci = A.seq(A.oid(content_type), alg, A.tlv(0x80, ciphertext))
    env = A.seq(A.integer(version), A.set_of(recipient_info), eci)
    return A.seq(A.oid(O.ENVELOPED_DATA), A.explicit(0, env))


def envelope_for_kek(
    content_type: str, content: bytes, kek_id: bytes, kek: bytes, content_alg: str = O.AES256_CBC
) -> bytes:
    """EnvelopedData with one KEKRecipientInfo (version 4, AES key wrap chosen by the KEK's size)."""
    if len(kek) not in O.AES_WRAP_BY_SIZE:
        raise CmsError("a KEK must be an AES key of 16, 24 or 32 bytes")
    cek, alg, ciphertext = _aes_cbc(content, content_alg)
    wrapped = keywrap.aes_key_wrap(kek, cek)
    kekri = A.seq(
        A.integer(4),
        A.seq(A.octet_string(kek_id)),
        _alg(O.AES_WRAP_BY_SIZE[len(kek)]),
        A.octet_string(wrapped),
    )
    return _enveloped(2, A.implicit(2, kekri), content_type, alg, ciphertext)


def _oaep_params() -> bytes:
    sha256 = _alg(O.SHA256)
    return A.seq(A.explicit(0, sha256), A.explicit(1, _alg(O.MGF1, sha256)))


def envelope_for_certificate(
    content_type: str,
    content: bytes,
    certificate: x509.Certificate,
    *,
    content_alg: str = O.AES256_CBC,
    rsa_padding: str = "oaep",
) -> bytes:
    """EnvelopedData to the key of ``certificate``, recipient named by subject key identifier.

    RSA keys get KeyTransRecipientInfo (RSAES-OAEP with SHA-256, or PKCS#1 v1.5 when
    ``rsa_padding="pkcs1v15"``); EC keys get KeyAgreeRecipientInfo (ephemeral-static ECDH,
    X9.63 KDF with SHA-256/384, AES key wrap; RFC 5753).
    """
    ski = _cert_ski(certificate)
    if ski is None:
        ski = x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest  # type: ignore[arg-type]
    public_key = certificate.public_key()
    cek, alg, ciphertext = _aes_cbc(content, content_alg)
    if isinstance(public_key, rsa.RSAPublicKey):
        if rsa_padding == "pkcs1v15":
            enc_key = public_key.encrypt(cek, asym_padding.PKCS1v15())
            kea = _alg(O.RSA_ENCRYPTION, A.null())
        else:
            enc_key = public_key.encrypt(
                cek,
                asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
            )
            kea = _alg(O.RSAES_OAEP, _oaep_params())
        ktri = A.seq(A.integer(2), A.tlv(0x80, ski), kea, A.octet_string(enc_key))
        return _enveloped(2, ktri, content_type, alg, ciphertext)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        curve = public_key.curve
        big = curve.key_size > 256
        hash_alg: hashes.HashAlgorithm = hashes.SHA384() if big else hashes.SHA256()
        kdf_oid = O.ECDH_STD_SHA384_KDF if big else O.ECDH_STD_SHA256_KDF
        wrap_size = 32 if big else 16
        wrap_oid = O.AES_WRAP_BY_SIZE[wrap_size]
        ephemeral = ec.generate_private_key(curve)
        shared = ephemeral.exchange(ec.ECDH(), public_key)
        shared_info = A.seq(_alg(wrap_oid), A.explicit(2, A.octet_string((wrap_size * 8).to_bytes(4, "big"))))
        kek = X963KDF(algorithm=hash_alg, length=wrap_size, sharedinfo=shared_info).derive(shared)
        wrapped = keywrap.aes_key_wrap(kek, cek)
        eph_spki = A.parse(
            ephemeral.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        originator = A.explicit(0, A.tlv(0xA1, eph_spki.content))  # originatorKey [1] OriginatorPublicKey
        rek = A.seq(A.tlv(0xA0, A.octet_string(ski)), A.octet_string(wrapped))  # rKeyId [0] RecipientKeyIdentifier
        kari = A.seq(A.integer(3), originator, _alg(kdf_oid, _alg(wrap_oid)), A.seq(rek))
        return _enveloped(2, A.implicit(1, kari), content_type, alg, ciphertext)
    raise CmsError("the named certificate's key can neither transport nor agree keys")
