"""PKCS#10 parsing and checking for the reference EST server.

``cryptography`` parses the request and checks its signature; the attributes EST cares about
(challengePassword, the RFC 7030 §4.4.1 decryption-key identifiers, SMIMECapabilities, CMC
changeSubjectName) are read from the signed CertificationRequestInfo with :mod:`._asn1`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import _asn1 as A
from . import _oids as O

__all__ = ["CsrError", "CsrInfo", "parse_csr"]

_STRING_TAGS = {0x0C, 0x13, 0x16, 0x14, 0x1E, 0x1C}  # UTF8, Printable, IA5, Teletex, BMP, Universal


class CsrError(ValueError):
    """A certification request the server refuses (malformed, or its signature does not verify)."""


@dataclass
class CsrInfo:
    der: bytes
    csr: x509.CertificateSigningRequest
    subject: x509.Name
    public_key: object
    spki_der: bytes
    extensions: list[x509.Extension[x509.ExtensionType]]
    attributes: dict[str, list[A.Tlv]] = field(default_factory=dict)

    @property
    def subject_alt_name(self) -> x509.SubjectAlternativeName | None:
        for ext in self.extensions:
            if isinstance(ext.value, x509.SubjectAlternativeName):
                return ext.value
        return None

    @property
    def challenge_password(self) -> str | None:
        values = self.attributes.get(O.CHALLENGE_PASSWORD)
        if not values:
            return None
        el = values[0]
        if el.identifier not in _STRING_TAGS:
            raise CsrError("challengePassword is not a directory string")
        if el.identifier == 0x1E:
            return el.content.decode("utf-16-be", "replace")
        return el.content.decode("utf-8", "replace")

    def _octets(self, oid: str) -> bytes | None:
        values = self.attributes.get(oid)
        if not values:
            return None
        if values[0].identifier != 0x04:
            raise CsrError(f"attribute {oid} is not an OCTET STRING")
        return values[0].content

    @property
    def decrypt_key_identifier(self) -> bytes | None:
        return self._octets(O.DECRYPT_KEY_IDENTIFIER)

    @property
    def asymmetric_decrypt_key_identifier(self) -> bytes | None:
        return self._octets(O.ASYMMETRIC_DECRYPT_KEY_IDENTIFIER)

    @property
    def has_change_subject_name(self) -> bool:
        return bool(self.attributes.get(O.CMC_CHANGE_SUBJECT_NAME))

    @property
    def smime_capabilities(self) -> list[str]:
        """Capability OIDs in the client's order of preference."""
        out: list[str] = []
        for value in self.attributes.get(O.SMIME_CAPABILITIES, []):
            try:
                for cap in value.children():
                    out.append(A.decode_oid(cap.children()[0]))
            except (A.Asn1Error, IndexError):
                raise CsrError("malformed SMIMECapabilities") from None
        return out


def parse_csr(der: bytes, *, verify: bool = True) -> CsrInfo:
    """Parse a DER PKCS#10 request; with ``verify`` its self-signature must check out."""
    try:
        A.parse(der)  # exactly one element, no trailing bytes
        csr = x509.load_der_x509_csr(der)
    except (A.Asn1Error, ValueError) as exc:
        raise CsrError(f"not a DER PKCS#10 request: {exc}") from None
    if verify:
        try:
            ok = csr.is_signature_valid
        except Exception:  # unsupported algorithms surface as various errors from the backend
            ok = False
        if not ok:
            raise CsrError("the CSR signature does not verify")
    try:
        public_key = csr.public_key()
        extensions = list(csr.extensions)
        info = A.parse(csr.tbs_certrequest_bytes).children()
        attributes: dict[str, list[A.Tlv]] = {}
        if len(info) >= 4 and info[3].is_context(0):
            for attr in info[3].children():
                parts = attr.children()
                attributes.setdefault(A.decode_oid(parts[0]), []).extend(parts[1].children())
    except (A.Asn1Error, ValueError, IndexError) as exc:
        raise CsrError(f"malformed CSR content: {exc}") from None
    spki = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return CsrInfo(der, csr, csr.subject, public_key, spki, extensions, attributes)
