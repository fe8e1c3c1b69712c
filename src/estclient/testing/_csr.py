"""PKCS#10 for the reference EST server, read and verified with :mod:`estcodec.pkcs10`.

``estcodec`` decodes the request (strict DER), checks its self-signature and reads the attributes EST
cares about: challengePassword, the RFC 7030 §4.4.1 decryption-key identifiers, SMIMECapabilities and
CMC changeSubjectName. The throwaway CA issues with ``cryptography``'s ``CertificateBuilder``, so the
subject and public key are also handed over in ``cryptography``'s types.
"""
from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from estcodec import Error as CodecError
from estcodec import oids as _oids
from estcodec.cmc import oid as cmc_oid
from estcodec.pkcs10 import CertificationRequest
from estcodec.schema import OctetString, SequenceOf, decode
from estcodec.x509 import AlgorithmIdentifier, Extension
from estcodec.x509 import oid as x509_oid

__all__ = ["CsrError", "CsrInfo", "parse_csr", "from_request"]

OID_SMIME_CAPABILITIES = _oids.PKCS_9_AT_SMIME_CAPABILITIES  # RFC 8551 §2.5.2
OID_DECRYPT_KEY_IDENTIFIER = _oids.ID_AA_DECRYPT_KEY_ID  # RFC 7030 §4.4.1.1
OID_ASYMMETRIC_DECRYPT_KEY_IDENTIFIER = _oids.ID_AA_ASYMM_DECRYPT_KEY_ID  # RFC 7030 §4.4.1.2

# SMIMECapabilities ::= SEQUENCE OF SMIMECapability; SMIMECapability has AlgorithmIdentifier's shape
# (capabilityID OBJECT IDENTIFIER, parameters ANY OPTIONAL).
_SmimeCapabilities = SequenceOf[AlgorithmIdentifier]


class CsrError(ValueError):
    """A certification request the server refuses (malformed, or its signature does not verify)."""


class CsrInfo:
    """A decoded (and, unless told otherwise, verified) request and what the server reads from it."""

    def __init__(self, request: CertificationRequest) -> None:
        self.request = request
        self.der = request.to_der()
        self.spki_der = request.public_key_info.to_der()
        try:
            self.extensions: list[Extension] = request.extensions
            self.public_key: Any = request.public_key_info.to_cryptography()
            # the CA's CertificateBuilder takes a cryptography Name
            self.subject: x509.Name = request.to_cryptography().subject  # type: ignore[no-untyped-call]
        except (CodecError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise CsrError(f"malformed CSR content: {exc}") from None

    def extension(self, extn_id: str) -> Extension | None:
        """The requested extension with this OID (dotted), or None."""
        for ext in self.extensions:
            if ext.extn_id == extn_id:
                return ext
        return None

    @property
    def subject_alt_name_der(self) -> set[bytes]:
        """The DER of each GeneralName the request's subjectAltName holds (empty without one)."""
        return _general_names(self.extension(x509_oid.SUBJECT_ALT_NAME))

    @property
    def challenge_password(self) -> str | None:
        """The challengePassword attribute, or None; CsrError when it is not a directory string."""
        try:
            return self.request.challenge_password
        except CodecError:
            raise CsrError("challengePassword is not a directory string") from None

    def _octets(self, attr_oid: str) -> bytes | None:
        try:
            attr = self.request.attribute(attr_oid)
            if attr is None or not attr.attr_values:
                return None
            return bytes(decode(OctetString, attr.attr_values[0]))
        except CodecError:
            raise CsrError(f"attribute {attr_oid} is not an OCTET STRING") from None

    @property
    def decrypt_key_identifier(self) -> bytes | None:
        """The DecryptKeyIdentifier attribute (RFC 7030 §4.4.1.1), or None."""
        return self._octets(OID_DECRYPT_KEY_IDENTIFIER)

    @property
    def asymmetric_decrypt_key_identifier(self) -> bytes | None:
        """The AsymmetricDecryptKeyIdentifier attribute (RFC 7030 §4.4.1.2), or None."""
        return self._octets(OID_ASYMMETRIC_DECRYPT_KEY_IDENTIFIER)

    @property
    def has_change_subject_name(self) -> bool:
        """Whether the request carries a changeSubjectName attribute (RFC 6402 §2.8)."""
        return any(a.attr_type == cmc_oid.CHANGE_SUBJECT_NAME and a.attr_values for a in self.request.attributes)

    @property
    def smime_capabilities(self) -> list[str]:
        """Capability OIDs in the client's order of preference."""
        out: list[str] = []
        for attr in self.request.attributes:
            if attr.attr_type != OID_SMIME_CAPABILITIES:
                continue
            for value in attr.attr_values:
                try:
                    out.extend(cap.algorithm for cap in decode(_SmimeCapabilities, value))
                except CodecError:
                    raise CsrError("malformed SMIMECapabilities") from None
        return out


def _general_names(ext: Extension | None) -> set[bytes]:
    if ext is None:
        return set()
    from estcodec.der import parse

    try:
        return {el.to_der() for el in parse(ext.extn_value).children}
    except CodecError:
        raise CsrError("malformed subjectAltName") from None


def certificate_san_der(cert: x509.Certificate) -> set[bytes]:
    """The DER of each GeneralName in a certificate's subjectAltName (empty without one)."""
    from estcodec.x509 import Certificate

    return _general_names(Certificate.from_cryptography(cert).extension(x509_oid.SUBJECT_ALT_NAME))


def from_request(request: CertificationRequest, *, verify: bool = True) -> CsrInfo:
    """A decoded request (e.g. from a CMC PKIData); with ``verify`` its self-signature must check out."""
    if verify:
        try:
            request.verify()
        except CodecError:  # SignatureError, UnsupportedSignatureAlgorithm, or a key that cannot be loaded
            raise CsrError("the CSR signature does not verify") from None
    return CsrInfo(request)


def parse_csr(der: bytes, *, verify: bool = True) -> CsrInfo:
    """Parse a DER PKCS#10 request; with ``verify`` its self-signature must check out."""
    try:
        request = CertificationRequest.from_der(der)
    except CodecError as exc:
        raise CsrError(f"not a DER PKCS#10 request: {exc}") from None
    return from_request(request, verify=verify)
