"""CMS (RFC 5652): ContentInfo, SignedData, certs-only messages (RFC 7030 §4.1.3), signing and verifying.

Reading::

    certs = parse_certs_only(body)            # list[x509.Certificate], order kept; DER first, then BER
    ci = ContentInfo.from_der(data)           # .content_type, .content (raw DER of the [0] content)
    sd = ci.signed_data()                     # SignedData (or SignedData.from_der(ci.content))

Writing::

    build_certs_only([leaf, issuer])          # DER ContentInfo; certificates in the order given
    sign_signed_data(content_type, content, key, certificate=cert)   # DER ContentInfo(SignedData)
    verify_signed_data(data, trusted_certs)   # -> (econtent_type, econtent, signer_cert, verified)

Certificate order: RFC 5652 makes ``certificates`` a SET OF, whose DER form is sorted, yet certificates in
certs-only and CMC responses have no defined order (RFC 5272 §4.2) and OpenSSL writes them unsorted. Decoding
keeps the order found (and re-encodes byte-identically); ``build_certs_only`` writes the sorted DER SET OF
unless ``keep_order=True`` asks for the caller's order, and ``sign_signed_data`` keeps the caller's order unless
``canonical=True`` asks for the sorted one. Use :func:`order_chain` to put
certificates in issuing order by names and key identifiers rather than by position.

BER: ``parse_certs_only`` and ``verify_signed_data`` accept BER (indefinite lengths, constructed OCTET
STRINGs) when the input is not DER; ``ContentInfo.from_der(data, ber=True)`` does the same explicitly. BER input
is normalised to DER before decoding, so raw bytes of parts are their DER forms.
"""
import datetime as _dt
from typing import TYPE_CHECKING, Annotated, Iterable, List, Optional, Tuple, Union, cast
from typing import Sequence as _Seq
from typing import Any as _TypingAny

from ._der import BitStringValue
from . import _sigalgs
from . import oids as _oids
from . import pkix as _pkix
from . import pem as _pem
from ._sigalgs import SignatureError, UnsupportedSignatureAlgorithm
from .errors import DecodeError
from .schema import (
    Any, BitString, Choice, Integer, ObjectIdentifier, OctetString, Sequence, SequenceOf, SetOf, decode,
    encode, field,
)
from .x509 import AlgorithmIdentifier, Attribute, Certificate, Name, Time

if TYPE_CHECKING:
    from cryptography.x509 import Certificate as _CryptoCertificate
    from cryptography.x509 import CertificateRevocationList as _CryptoCRL

    from ._der import Model
    from .signer import Signer, SoftwarePrivateKey

# A certificate as the builders take it: a model, a ``cryptography`` certificate, or DER/PEM bytes.
CertificateLike = Union[Certificate, "_CryptoCertificate", bytes, bytearray, memoryview]

__all__ = [
    "ContentInfo", "SignedData", "EncapsulatedContentInfo", "SignerInfo", "SignerIdentifier",
    "IssuerAndSerialNumber", "CertificateChoices", "OtherCertificateFormat", "RevocationInfoChoice",
    "OtherRevocationInfoFormat", "CertificateList",
    "parse_content_info", "parse_signed_data", "content_type_of", "content_model", "register_content_type",
    "parse_certs_only", "build_certs_only", "sign_signed_data",
    "verify_signed_data", "verify_signer_info", "order_chain", "as_certificate", "SignatureError",
    "UnsupportedSignatureAlgorithm",
    "OID_DATA", "OID_SIGNED_DATA", "OID_ENVELOPED_DATA", "OID_DIGESTED_DATA", "OID_ENCRYPTED_DATA",
    "OID_AUTHENTICATED_DATA", "OID_CONTENT_TYPE", "OID_MESSAGE_DIGEST", "OID_SIGNING_TIME",
]

OID_DATA = _oids.ID_DATA
OID_SIGNED_DATA = _oids.ID_SIGNED_DATA
OID_ENVELOPED_DATA = _oids.ID_ENVELOPED_DATA
OID_DIGESTED_DATA = _oids.ID_DIGESTED_DATA
OID_ENCRYPTED_DATA = _oids.ID_ENCRYPTED_DATA
OID_AUTHENTICATED_DATA = _oids.ID_CT_AUTH_DATA
OID_CONTENT_TYPE = _oids.ID_CONTENT_TYPE
OID_MESSAGE_DIGEST = _oids.ID_MESSAGE_DIGEST
OID_SIGNING_TIME = _oids.ID_SIGNING_TIME


# --- models (RFC 5652 §3, §5, §10) ------------------------------------------------------------------------------

class ContentInfo(Sequence):
    """``content`` holds the raw DER of the ``[0] EXPLICIT`` content (the inner TLV, without the ``[0]``)."""

    content_type: Annotated[str, ObjectIdentifier]
    content: Annotated[bytes, Any] = field(explicit=0)

    @classmethod
    def build(cls, content_type: str, content: "bytes | bytearray | Model") -> "ContentInfo":
        """A ContentInfo around a model instance or DER bytes."""
        der = content if isinstance(content, (bytes, bytearray)) else content.to_der()
        return cls.from_der(encode(cls, cls(content_type=content_type, content=bytes(der))))

    @classmethod
    def from_pem(cls, text: "str | bytes") -> "ContentInfo":
        """Decode the first PKCS7 (or CMS, PKCS #7 SIGNED DATA) block of PEM ``text`` (RFC 7468 §9). Raises
        :class:`~estcodec.DecodeError` when there is none."""
        for label, der in _pem.decode(text):
            if label in ("PKCS7", "CMS", "PKCS #7 SIGNED DATA"):
                return cls.from_der(der)
        raise DecodeError("no PKCS7 / CMS block in the PEM input", 0, "invalid-pem")

    def to_pem(self) -> str:
        """The ContentInfo as a PEM CMS block (RFC 7468 §9)."""
        return _pem.encode("CMS", self.to_der())

    def signed_data(self) -> "SignedData":
        """The content decoded as SignedData (DecodeError if the content type is another one)."""
        if self.content_type != OID_SIGNED_DATA:
            raise DecodeError(f"content type is {self.content_type}, not id-signedData", 0, "invalid-value",
                              "$.content_type")
        sd: SignedData = _decode_content(SignedData, self)
        return sd

    def decode_content(self) -> object:
        """The content decoded as the model registered for its content type (see :func:`content_model`):
        SignedData, EnvelopedData, PKIData ... DecodeError (reason ``unexpected-content-type``) for a type
        without a model; offsets and paths of other errors refer to the whole ContentInfo."""
        model = content_model(self.content_type)
        if model is None:
            raise DecodeError(f"no model for content type {_oids.oid_label(self.content_type)}", 0,
                              "unexpected-content-type", "$.content_type")
        return _decode_content(model, self)


# --- the content-type registry ----------------------------------------------------------------------------------
# Content type -> model of the content. "module:Class" entries are imported when first needed, so reading a
# ContentInfo does not import every model module. Adding a CMS content type: its OID in estcodec.oids, and its
# model with one line here (or a register_content_type call in the model's module).
_CONTENT_TYPES: "dict[str, object]" = {
    _oids.ID_DATA: OctetString,
    _oids.ID_SIGNED_DATA: "estcodec.cms:SignedData",
    _oids.ID_ENVELOPED_DATA: "estcodec.enveloped:EnvelopedData",
    _oids.ID_CT_AUTH_ENVELOPED_DATA: "estcodec.enveloped:AuthEnvelopedData",
    _oids.ID_CT_AUTH_DATA: "estcodec._cmc_asn1:AuthenticatedData",
    _oids.ID_CCT_PKI_DATA: "estcodec.cmc:PKIData",
    _oids.ID_CCT_PKI_RESPONSE: "estcodec.cmc:PKIResponse",
    _oids.ID_CT_KP_A_KEY_PACKAGE: "estcodec.pkcs8:AsymmetricKeyPackage",
}


def register_content_type(content_type: str, model: object) -> None:
    """Make ``model`` (a model class, or ``"module:Class"`` imported when first used) the model of
    ``content_type`` for :meth:`ContentInfo.decode_content`. An OID already registered to another model is refused
    (ValueError)."""
    if not _oids.is_dotted_oid(content_type):
        raise ValueError(f"not a dotted OID: {content_type!r}")
    have = _CONTENT_TYPES.setdefault(content_type, model)
    if have is not model and content_model(content_type) is not model:
        raise ValueError(f"content type {content_type} already has a model")


def content_model(content_type: str) -> "object | None":
    """The model registered for ``content_type``, or None."""
    model = _CONTENT_TYPES.get(content_type)
    if isinstance(model, str):
        import importlib

        module, _, name = model.partition(":")
        model = getattr(importlib.import_module(module), name)
        _CONTENT_TYPES[content_type] = model
    return model


def content_type_of(data: "bytes | bytearray | memoryview") -> Optional[str]:
    """The contentType of ``data`` when it is shaped like a ContentInfo (DER or BER): a SEQUENCE holding an
    OBJECT IDENTIFIER and then, as its last element, a ``[0]`` constructed element; None for anything else
    (a bare message, another structure, malformed input: the decoder that runs next reports those). Reads
    three headers with the core's checked cursor, not the whole input, so it is cheap on large messages."""
    from ._der import peek_header

    data = bytes(data)
    try:
        cls, cons, tag, start, end = peek_header(data, ber=True)
        if (cls, cons, tag) != (0, True, 16):
            return None
        limit = len(data) if end is None else end
        if start >= limit:
            return None
        cls, cons, tag, oid_start, oid_end = peek_header(data, start, limit, ber=True)
        if (cls, cons, tag) != (0, False, 6) or oid_end is None or oid_end >= limit:
            return None
        cls, cons, tag, _c0, c_end = peek_header(data, oid_end, limit, ber=True)
        if (cls, cons, tag) != (2, True, 0):
            return None
        if c_end is not None and c_end != limit and not (end is None and data[c_end:c_end + 2] == b"\0\0"):
            return None
        content_type: str = decode(ObjectIdentifier, data[start:oid_end], ber=True)
    except DecodeError:
        return None
    return content_type


def _decode_content(model: object, ci: ContentInfo) -> _TypingAny:
    """Decode ``ci.content`` as ``model`` (a model class, or any type ``estcodec.schema.decode`` takes); error
    offsets and paths refer to the whole ContentInfo."""
    content = ci.content
    try:
        model_class: _TypingAny = model
        return model_class.from_der(content) if hasattr(model, "from_der") else decode(model, content)
    except DecodeError as e:
        ci_der = ci.to_der()
        e.offset += len(ci_der) - len(content)  # the content is the last element of the ContentInfo
        e._push(".content")
        raise


class EncapsulatedContentInfo(Sequence):
    """``e_content`` is the raw DER inside ``[0]``: an OCTET STRING in CMS. PKCS#7 v1.5 (RFC 2315) allowed any
    type there (Authenticode still writes a SEQUENCE); such messages decode too (a documented leniency), and
    ``content`` gives, as PKCS#7 digests it, the contents octets of that value."""

    e_content_type: Annotated[str, ObjectIdentifier]
    e_content: Annotated[bytes | None, Any] = field(explicit=0, optional=True)

    @classmethod
    def build(cls, e_content_type: str, content: Optional[bytes]) -> "EncapsulatedContentInfo":
        """An EncapsulatedContentInfo of type ``e_content_type`` holding ``content`` (None: detached content, RFC
        5652 §5.2)."""
        return cls(e_content_type=e_content_type,
                   e_content=None if content is None else encode(OctetString, bytes(content)))

    @property
    def content(self) -> Optional[bytes]:
        """The eContent octets (the OCTET STRING's value), or None when the content is detached."""
        raw = self.e_content
        if raw is None:
            return None
        if raw[:1] == b"\x04":
            octets: bytes = decode(OctetString, raw)
            return octets
        from ._der import peek_header

        return raw[peek_header(raw)[3]:]   # after the header only: no element tree of a (possibly big) value


class IssuerAndSerialNumber(Sequence):
    """IssuerAndSerialNumber (RFC 5652 §10.2.4): a certificate named by its issuer and serial number."""
    issuer: Name
    serial_number: Annotated[int, Integer]


class SignerIdentifier(Choice):
    """SignerIdentifier (RFC 5652 §5.3): the signer's certificate by issuer and serial number or by subject key
    identifier."""
    issuer_and_serial_number: IssuerAndSerialNumber
    subject_key_identifier: Annotated[bytes, OctetString] = field(implicit=0)


class SignerInfo(Sequence):
    """SignerInfo (RFC 5652 §5.3): one signer's identifier, algorithms, signed and unsigned attributes and
    signature."""
    version: Annotated[int, Integer]
    sid: SignerIdentifier
    digest_algorithm: AlgorithmIdentifier
    signed_attrs: Annotated[list[Attribute] | None, SetOf(Attribute, min_size=1)] = field(implicit=0, optional=True)
    signature_algorithm: AlgorithmIdentifier
    signature: Annotated[bytes, OctetString]
    unsigned_attrs: Annotated[list[Attribute] | None, SetOf(Attribute, min_size=1)] = field(implicit=1, optional=True)

    def signed_attrs_der(self) -> Optional[bytes]:
        """The bytes the signature covers when signed attributes are present: their DER with the SET tag
        (RFC 5652 §5.4), in the order they arrived."""
        if self.signed_attrs is None:
            return None
        # SEQUENCE OF keeps the order (each decoded Attribute re-emits its exact bytes); then SET's tag.
        der = encode(SequenceOf[Attribute], self.signed_attrs)
        return b"\x31" + der[1:]

    def signed_attribute(self, attr_oid: str) -> Optional[bytes]:
        """The one value (raw DER) of a signed attribute; None if absent; SignatureError if it is not single."""
        found = [a for a in (self.signed_attrs or ()) if a.attr_type == attr_oid]
        if not found:
            return None
        if len(found) > 1 or len(found[0].attr_values) != 1:
            raise SignatureError(f"signed attribute {attr_oid} must occur once with one value")
        return found[0].attr_values[0]


class OtherCertificateFormat(Sequence):
    """OtherCertificateFormat (RFC 5652 §10.2.2): a certificate in a format named by OID, as raw DER."""
    other_cert_format: Annotated[str, ObjectIdentifier]
    other_cert: Annotated[bytes, Any]


class CertificateChoices(Choice):
    """A certificate, or one of the forms kept opaque (the obsolete extended/v1 attribute certificates and v2
    attribute certificates as lists of their raw components; ``other`` as format OID + raw value)."""

    certificate: Certificate
    extended_certificate: Annotated[list[bytes], SequenceOf(Any)] = field(implicit=0)
    v1_attr_cert: Annotated[list[bytes], SequenceOf(Any)] = field(implicit=1)
    v2_attr_cert: Annotated[list[bytes], SequenceOf(Any)] = field(implicit=2)
    other: OtherCertificateFormat = field(implicit=3)


class CertificateList(Sequence):
    """An X.509 CRL (RFC 5280 §5.1), its TBSCertList kept as raw DER."""

    tbs_cert_list: Annotated[bytes, Any]
    signature_algorithm: AlgorithmIdentifier
    signature_value: Annotated[BitStringValue, BitString]


class OtherRevocationInfoFormat(Sequence):
    """OtherRevocationInfoFormat (RFC 5652 §10.2.1): revocation information in a format named by OID, as raw DER."""
    other_rev_info_format: Annotated[str, ObjectIdentifier]
    other_rev_info: Annotated[bytes, Any]


class RevocationInfoChoice(Choice):
    """RevocationInfoChoice (RFC 5652 §10.2.1): a CRL or other revocation information."""
    crl: CertificateList
    other: OtherRevocationInfoFormat = field(implicit=1)


class SignedData(Sequence):
    """SignedData (RFC 5652 §5.1): the encapsulated content, the certificates and CRLs, and the signer infos."""
    # lazy=True: a long set is checked while decoding and its elements built when read (memory bounded by the
    # input whatever the element size; the values read as lists)
    version: Annotated[int, Integer]
    digest_algorithms: Annotated[_Seq[AlgorithmIdentifier], SetOf(AlgorithmIdentifier, lazy=True)]
    encap_content_info: EncapsulatedContentInfo
    certificates: Annotated[_Seq[CertificateChoices] | None,
                            SetOf(CertificateChoices, lazy=True)] = field(implicit=0, optional=True)
    crls: Annotated[_Seq[RevocationInfoChoice] | None,
                    SetOf(RevocationInfoChoice, lazy=True)] = field(implicit=1, optional=True)
    signer_infos: Annotated[_Seq[SignerInfo], SetOf(SignerInfo, lazy=True)]

    @property
    def certificate_list(self) -> List[Certificate]:
        """The X.509 certificates among ``certificates``, in the order found."""
        return [c.value for c in (self.certificates or ()) if c.name == "certificate"]

    @property
    def econtent_type(self) -> str:
        """The content type OID of the encapsulated content (eContentType)."""
        return self.encap_content_info.e_content_type

    @property
    def econtent(self) -> Optional[bytes]:
        """The encapsulated content octets (None when detached)."""
        return self.encap_content_info.content


class _SignedDataInOrder(Sequence):
    # The wire form of SignedData with the certificate and CRL sets encoded in the order given ([0] IMPLICIT
    # SET OF and [0] IMPLICIT SEQUENCE OF have the same encoding): used only to build.
    version: Annotated[int, Integer]
    digest_algorithms: Annotated[list[AlgorithmIdentifier], SetOf(AlgorithmIdentifier)]
    encap_content_info: EncapsulatedContentInfo
    certificates: Annotated[list[CertificateChoices] | None,
                            SequenceOf(CertificateChoices)] = field(implicit=0, optional=True)
    crls: Annotated[list[RevocationInfoChoice] | None,
                    SequenceOf(RevocationInfoChoice)] = field(implicit=1, optional=True)
    signer_infos: Annotated[list[SignerInfo], SetOf(SignerInfo)]


# --- parsing ----------------------------------------------------------------------------------------------------

def _bytes_of(data: "str | bytes | bytearray | memoryview") -> bytes:
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    octets = bytes(data)
    if octets.lstrip()[:11] == b"-----BEGIN ":
        for label, der in _pem.decode(octets):
            if label in ("PKCS7", "CMS", "PKCS #7 SIGNED DATA"):
                return der
        raise DecodeError("no PKCS7 / CMS block in the PEM input", 0, "invalid-pem")
    return octets


_WHITESPACE = b" \t\r\n"


def _decode_ber(data: bytes) -> ContentInfo:
    try:
        return ContentInfo.from_der(data, ber=True)
    except DecodeError as e:
        # Leniency of the BER fallback only: a file that ends with a line break after the message (asn1crypto's
        # indefinite-length sample does) is read without it; any other trailing data is refused.
        if e.reason == "trailing-data" and 0 < e.offset < len(data) and not data[e.offset:].strip(_WHITESPACE):
            return ContentInfo.from_der(data[:e.offset], ber=True)
        raise


def parse_content_info(data: "str | bytes | bytearray | memoryview") -> ContentInfo:
    """A ContentInfo from DER, or from BER when the input is not DER (PEM ``PKCS7``/``CMS`` also taken)."""
    data = _bytes_of(data)
    try:
        return ContentInfo.from_der(data)
    except DecodeError:
        pass
    return _decode_ber(data)


class _SignedContentInfo(Sequence, gc=False):
    """ContentInfo whose content is decoded as SignedData in the same pass (the common case, read in one walk
    instead of validating the content as an open type and decoding it again)."""

    content_type: Annotated[str, ObjectIdentifier]
    content: SignedData = field(explicit=0)


def parse_signed_data(data: "str | bytes | bytearray | memoryview") -> SignedData:
    """The SignedData of a ContentInfo (DER, else BER)."""
    data = _bytes_of(data)
    try:
        ci = _SignedContentInfo.from_der(data)
        if ci.content_type == OID_SIGNED_DATA:
            return ci.content
    except DecodeError:
        pass
    try:
        return ContentInfo.from_der(data).signed_data()
    except DecodeError:
        pass
    return _decode_ber(data).signed_data()


def parse_certs_only(data: "str | bytes | bytearray | memoryview") -> List[Certificate]:
    """The certificates of a certs-only message (RFC 7030 §4.1.3; any SignedData is taken), in the order they
    appear. DER is tried first, then BER. Non-X.509 certificate choices (attribute certificates) are skipped."""
    return parse_signed_data(data).certificate_list


# --- building ---------------------------------------------------------------------------------------------------

def as_certificate(cert: "CertificateLike") -> Certificate:
    """An ``x509.Certificate`` from one, from a ``cryptography`` certificate, or from DER/PEM bytes."""
    if isinstance(cert, Certificate):
        return cert
    if isinstance(cert, (bytes, bytearray, memoryview)):
        data = bytes(cert)
        if data.lstrip()[:11] == b"-----BEGIN ":
            return Certificate.from_pem(data)
        return Certificate.from_der(data)
    if hasattr(cert, "public_bytes") and hasattr(cert, "tbs_certificate_bytes"):
        return Certificate.from_cryptography(cert)
    raise TypeError(f"not a certificate: {type(cert).__name__}")


def _certificate_choices(certs: "Iterable[CertificateLike]", canonical: bool) -> "Optional[list[CertificateChoices]]":
    items = [CertificateChoices(certificate=as_certificate(c)) for c in certs]
    if not items:
        return None
    if canonical:
        items.sort(key=lambda c: c.value.to_der())
    return items


def _crl_choices(crls: "Iterable[object]", canonical: bool) -> "Optional[list[RevocationInfoChoice]]":
    items = []
    for crl in crls:
        if isinstance(crl, CertificateList):
            items.append(RevocationInfoChoice(crl=crl))
        elif isinstance(crl, (bytes, bytearray)):
            items.append(RevocationInfoChoice(crl=CertificateList.from_der(bytes(crl))))
        elif hasattr(crl, "public_bytes"):  # cryptography CertificateRevocationList
            from cryptography.hazmat.primitives.serialization import Encoding

            crl_der = cast("_CryptoCRL", crl).public_bytes(Encoding.DER)
            items.append(RevocationInfoChoice(crl=CertificateList.from_der(crl_der)))
        else:
            raise TypeError(f"not a CRL: {type(crl).__name__}")
    if not items:
        return None
    if canonical:
        items.sort(key=lambda c: encode(RevocationInfoChoice, c))
    return items


def _signed_data_der(*, version: int, digest_algorithms: "list[AlgorithmIdentifier]", eci: EncapsulatedContentInfo,
                     certificates: "Optional[list[CertificateChoices]]",
                     crls: "Optional[list[RevocationInfoChoice]]", signer_infos: "list[SignerInfo]") -> bytes:
    sd = _SignedDataInOrder(version=version, digest_algorithms=digest_algorithms, encap_content_info=eci,
                            certificates=certificates, crls=crls, signer_infos=signer_infos)
    return encode(ContentInfo, ContentInfo(content_type=OID_SIGNED_DATA, content=encode(_SignedDataInOrder, sd)))


def build_certs_only(certs: "Iterable[CertificateLike]", crls: "Iterable[object]" = (), *, keep_order: bool = False,
                     canonical: Optional[bool] = None) -> bytes:
    """A certs-only message (degenerate SignedData, RFC 5652 §5.2 / RFC 7030 §4.1.3) as DER ContentInfo.

    ``certs``: ``x509.Certificate`` objects, ``cryptography`` certificates or DER/PEM bytes. ``crls``: optional
    CRLs (DER, CertificateList or ``cryptography`` CRLs). The result is canonical DER: ``certificates`` and
    ``crls`` are SET OF, so they are sorted by their encodings (X.690 §11.6), and a certs-only message carries
    no order anyway (RFC 7030 §4.1.3). ``keep_order=True`` writes them in the order given instead, for callers
    that know their peer reads a chain in sequence (that output is then BER, not DER). ``canonical`` is the
    older spelling: ``canonical=False`` means ``keep_order=True``.
    """
    if canonical is not None:
        keep_order = not canonical
    return _signed_data_der(version=1, digest_algorithms=[], eci=EncapsulatedContentInfo.build(OID_DATA, None),
                            certificates=_certificate_choices(certs, not keep_order),
                            crls=_crl_choices(crls, not keep_order), signer_infos=[])


def _attr(attr_oid: str, value_der: bytes) -> Attribute:
    return Attribute(attr_type=attr_oid, attr_values=[value_der])


def sign_signed_data(content_type_oid: str, content_der: bytes, private_key: "SoftwarePrivateKey | Signer",
                     certificate: "CertificateLike | None" = None,
                     subject_key_identifier: Optional[bytes] = None, extra_certs: "Iterable[CertificateLike]" = (),
                     signed_attrs: bool = True, *, hash_algorithm: _sigalgs.HashLike = None,
                     rsa_padding: str = "pkcs1v15",
                     signing_time: Optional[_dt.datetime] = None, extra_signed_attrs: Iterable[Attribute] = (),
                     detached: bool = False, canonical: bool = False) -> bytes:
    """Sign ``content_der`` as the eContent of a SignedData with one SignerInfo; return the DER ContentInfo.

    The signer is named by issuer and serial number of ``certificate`` (which is included first, before
    ``extra_certs``), or, when ``subject_key_identifier`` is given or there is no certificate, by subject key
    identifier (default: SHA-1 of the public key bits, RFC 5280 §4.2.1.2 method 1; the case of a Full PKI
    Request signed with the key being certified, RFC 5272 §3.2.2). With ``signed_attrs`` (required unless the
    content type is id-data) the content-type and message-digest attributes are signed, plus signingTime when
    given and ``extra_signed_attrs``. The digest follows the key (SHA-256 for RSA and P-256, SHA-384 for P-384,
    SHA-512 for P-521 and Ed25519, SHAKE256/512 for Ed448) unless ``hash_algorithm`` says otherwise;
    ``rsa_padding="pss"`` signs with RSASSA-PSS. ``detached=True`` leaves the eContent out.
    """
    if not signed_attrs and content_type_oid != OID_DATA:
        raise ValueError("RFC 5652 §5.3: signed attributes are required when the content type is not id-data")
    content_der = bytes(content_der)
    cert = as_certificate(certificate) if certificate is not None else None
    if cert is not None and subject_key_identifier is None:
        sid = SignerIdentifier(issuer_and_serial_number=IssuerAndSerialNumber(issuer=cert.issuer,
                                                                              serial_number=cert.serial_number))
        si_version = 1
    else:
        ski = subject_key_identifier if subject_key_identifier is not None else _pkix.key_identifier(
            private_key.public_key())
        sid = SignerIdentifier(subject_key_identifier=bytes(ski))
        si_version = 3
    digest_hash = _sigalgs.cms_digest_algorithm(private_key, hash_algorithm)
    digest_alg = _sigalgs.digest_algorithm(digest_hash)
    # The hash the signature algorithm itself uses: the digest's for RSA/ECDSA; none for Ed25519/Ed448.
    sig_hash = None if _sigalgs.default_hash_for_key(private_key) is None else digest_hash
    attrs: Optional[List[Attribute]] = None
    if signed_attrs:
        attrs = [_attr(OID_CONTENT_TYPE, encode(ObjectIdentifier, content_type_oid)),
                 _attr(OID_MESSAGE_DIGEST, encode(OctetString, _sigalgs.compute_digest(digest_hash, content_der)))]
        if signing_time is not None:
            attrs.append(_attr(OID_SIGNING_TIME, encode(Time, signing_time.replace(microsecond=0))))
        attrs.extend(extra_signed_attrs)
        to_sign = encode(SetOf(Attribute), attrs)
        attrs = decode(SetOf(Attribute), to_sign)  # decoded, so the SignerInfo carries exactly the signed bytes
    else:
        to_sign = content_der
    sig_alg, signature = _sigalgs.sign(private_key, to_sign, hash_algorithm=sig_hash, rsa_padding=rsa_padding)
    signer = SignerInfo(version=si_version, sid=sid, digest_algorithm=digest_alg, signed_attrs=attrs,
                        signature_algorithm=sig_alg, signature=signature)
    certs = ([cert] if cert is not None else []) + [as_certificate(c) for c in extra_certs]
    version = 3 if (content_type_oid != OID_DATA or si_version == 3) else 1
    eci = EncapsulatedContentInfo.build(content_type_oid, None if detached else content_der)
    return _signed_data_der(version=version, digest_algorithms=[digest_alg], eci=eci,
                            certificates=_certificate_choices(certs, canonical), crls=None, signer_infos=[signer])


# --- verifying --------------------------------------------------------------------------------------------------

def _matches_sid(cert: Certificate, sid: SignerIdentifier) -> bool:
    if sid.name == "issuer_and_serial_number":
        ias = sid.value
        return bool(cert.serial_number == ias.serial_number and cert.issuer.to_der() == ias.issuer.to_der())
    if sid.name == "subject_key_identifier":
        if cert.subject_key_identifier == sid.value:
            return True
        return bool(cert.public_key_info.key_identifier() == sid.value)
    return False


def verify_signer_info(signed_data: SignedData, signer_info: SignerInfo, public_key: object,
                       content: Optional[bytes] = None) -> None:
    """Check one SignerInfo with ``public_key`` (anything ``_sigalgs.load_public_key`` takes): the
    content-type and message-digest signed attributes against the eContent (or ``content`` when detached) and
    the signature over the DER SET OF signed attributes (or over the content when there are none). Returns
    None or raises SignatureError."""
    econtent = signed_data.econtent if content is None else bytes(content)
    if econtent is None:
        raise SignatureError("detached content: pass the content to verify")
    try:
        digest_hash = _sigalgs.hash_from_oid(signer_info.digest_algorithm.algorithm,
                                             signer_info.digest_algorithm.parameters)
    except UnsupportedSignatureAlgorithm:
        raise
    attrs_der = signer_info.signed_attrs_der()
    if attrs_der is not None:
        ct = signer_info.signed_attribute(OID_CONTENT_TYPE)
        if ct is None:
            raise SignatureError("signed attributes lack the content-type attribute")
        try:
            ct_oid = decode(ObjectIdentifier, ct)
            md = signer_info.signed_attribute(OID_MESSAGE_DIGEST)
            md_value = decode(OctetString, md) if md is not None else None
        except DecodeError as e:
            raise SignatureError(f"malformed content-type or message-digest attribute: {e}") from None
        if ct_oid != signed_data.econtent_type:
            raise SignatureError(f"signed content-type {ct_oid} differs from eContentType {signed_data.econtent_type}")
        if md_value is None:
            raise SignatureError("signed attributes lack the message-digest attribute")
        if md_value != _sigalgs.compute_digest(digest_hash, econtent):
            raise SignatureError("message digest does not match the content")
        to_check = attrs_der
    else:
        to_check = econtent
    _sigalgs.verify(signer_info.signature_algorithm, public_key, to_check, signer_info.signature,
                    digest_algorithm=signer_info.digest_algorithm)


def verify_signed_data(data: "str | bytes | bytearray | memoryview",
                       trusted_certs: "Optional[Iterable[CertificateLike]]" = None, *,
                       content: Optional[bytes] = None, signer_public_key: object = None
                       ) -> Tuple[str, Optional[bytes], Optional[Certificate], bool]:
    """Read a SignedData ContentInfo (DER, else BER) and check its signers.

    Returns ``(econtent_type, econtent, signer_cert, verified)``. Every SignerInfo's signature is checked with
    its certificate (found by issuer and serial number or subject key identifier among the message's
    certificates and ``trusted_certs``) or, when no certificate matches, with ``signer_public_key``; a
    signature that does not verify raises :class:`SignatureError`.

    ``verified`` is True only when ``trusted_certs`` was given and every signer's certificate is one of them
    or chains to one (see :func:`estcodec.pkix.is_anchored`); given ``trusted_certs``, a signer that cannot be
    anchored raises SignatureError. Without ``trusted_certs`` the result is ``verified=False``: the signatures
    were checked against keys the message itself supplied, which proves integrity, not origin. A signer whose key cannot
    be found raises SignatureError. ``content``: the content of a detached signature.
    """
    sd = parse_signed_data(data)
    trusted = [as_certificate(c) for c in trusted_certs] if trusted_certs is not None else None
    if not sd.signer_infos:
        raise SignatureError("SignedData has no signers")
    pool = sd.certificate_list
    candidates = pool + (trusted or [])
    first_cert: Optional[Certificate] = None
    for i, si in enumerate(sd.signer_infos):
        cert = next((c for c in candidates if _matches_sid(c, si.sid)), None)
        if cert is None and signer_public_key is None:
            raise SignatureError(f"no certificate or key for signer {i}")
        verify_signer_info(sd, si, cert if cert is not None else signer_public_key, content)
        if trusted is not None:
            if cert is None or not _pkix.is_anchored(cert, pool, trusted):
                raise SignatureError(f"signer {i} does not chain to a trusted certificate")
        if i == 0:
            first_cert = cert
    econtent = sd.econtent if content is None else bytes(content)
    return sd.econtent_type, econtent, first_cert, trusted is not None


# --- chains ---------------------------------------------------------------------------------------------------

order_chain = _pkix.order_chain  # certificates in issuing order; the one home is estcodec.pkix


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
