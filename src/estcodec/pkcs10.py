"""PKCS#10 certification requests (RFC 2986) with the PKCS#9 attributes EST uses (RFC 2985, RFC 7030).

Read::

    csr = CertificationRequest.from_der(data)        # or .from_pem(text)
    csr.subject.rfc4514_string(), csr.public_key_info, csr.extensions, csr.challenge_password
    csr.verify()                                      # None, or raises SignatureError

Build (the builder is immutable: every method returns a new builder)::

    csr = (CertificationRequestBuilder()
           .subject("CN=device 1,O=Example")
           .add_extension(x509.oid.SUBJECT_ALT_NAME, [GeneralName(dns_name="d1.example")])
           .challenge_password("tls-unique value")
           .sign(private_key))                        # -> CertificationRequest (decoded from its own DER)

Strictness: ``from_der`` decodes the whole structure as strict DER and refuses versions other than v1 (0).
Attribute values are open types (SET OF ANY); the values this module gives meaning to are decoded when read:
``extensions`` (the one extensionRequest attribute, or Microsoft's msCertExtensions, holding Extensions without
duplicate ids, each known extension value decoded) and ``challenge_password`` (one DirectoryString, or the
IA5String OpenSSL may write). A malformed value of those raises ``DecodeError`` on access, not in ``from_der``:
this is a deliberate leniency matching OpenSSL and ``cryptography``, so that a CSR with an odd attribute can
still be inspected. Such an error's ``path`` names the attribute value in the whole request; its ``offset`` counts
from the start of that attribute value.

Field names follow RFC 2986 except ``signature_value`` (RFC 2986 calls it ``signature``), named as in
``x509.Certificate`` so that ``.signature`` is, for both, the signature bytes.
"""
import string
from typing import TYPE_CHECKING, Annotated, ClassVar, Iterable, List, Optional, Sequence as _Seq, Tuple, Union
from typing import Any as _TypingAny

from . import oids as _oids
from . import _sigalgs
from . import pem as _pem
from ._sigalgs import SignatureError, UnsupportedSignatureAlgorithm
from ._der import BitStringValue, FieldPath, SingleAttributeList
from ._der import decode as _der_decode
from .errors import DecodeError, EncodeError
from .schema import (
    BitString, BMPString, Choice, IA5String, Integer, PrintableString, Sequence, SequenceOf, SetOf, TeletexString,
    UniversalString, UTF8String, decode, encode, field, spec_of,
)
from .x509 import AlgorithmIdentifier, Attribute, Extension, Name, SubjectPublicKeyInfo

if TYPE_CHECKING:
    from cryptography.x509 import CertificateSigningRequest

    from .signer import PublicKey, Signer, SoftwarePrivateKey

__all__ = [
    "CertificationRequest", "CertificationRequestInfo", "CertificationRequestBuilder", "DirectoryString",
    "SignatureError", "UnsupportedSignatureAlgorithm", "OID_CHALLENGE_PASSWORD", "OID_EXTENSION_REQUEST",
    "OID_MS_EXTENSION_REQUEST", "OID_UNSTRUCTURED_NAME",
]

OID_CHALLENGE_PASSWORD = _oids.PKCS_9_AT_CHALLENGE_PASSWORD
OID_EXTENSION_REQUEST = _oids.PKCS_9_AT_EXTENSION_REQUEST
OID_MS_EXTENSION_REQUEST = _oids.MS_EXT_REQ
OID_UNSTRUCTURED_NAME = _oids.PKCS_9_AT_UNSTRUCTURED_NAME

_PRINTABLE = frozenset(string.ascii_letters + string.digits + " '()+,-./:=?")


class DirectoryString(Choice, transparent=True):
    """X.520 DirectoryString (decoded to ``str``); also IA5String, which OpenSSL writes for PKCS#9 strings.
    Encoding picks PrintableString when the text allows it, else UTF8String."""

    teletex_string: Annotated[str, TeletexString]
    printable_string: Annotated[str, PrintableString]
    universal_string: Annotated[str, UniversalString]
    utf8_string: Annotated[str, UTF8String]
    bmp_string: Annotated[str, BMPString]
    ia5_string: Annotated[str, IA5String]

    @classmethod
    def _select(cls, value: str) -> int:
        return 1 if value and all(c in _PRINTABLE for c in value) else 3


class CertificationRequestInfo(Sequence, gc=False):
    """CertificationRequestInfo (RFC 2986 §4.1): the signed part of a certification request."""
    # version INTEGER { v1(0) }: any other version is refused while decoding (DecodeError, reason invalid-value)
    version: Annotated[int, Integer] = field(allowed=(0,))
    subject: Name
    # lazy: checked while decoding, built when first read (see schema.field)
    subject_pk_info: SubjectPublicKeyInfo = field(lazy=True)
    # lazy twice: the whole SET is checked while decoding and built on first read (schema.field; extensions reads
    # the usual extensionRequest straight from its bytes), and a long one builds its elements as they are read
    # (schema.SequenceOf)
    attributes: Annotated[_Seq[Attribute], SetOf(Attribute, lazy=True)] = field(implicit=0, lazy=True)


# A request's subject is checked while decoding in one walk that builds nothing; its (type, value) pairs are
# collected when first read (most readers want it as a string, which is read from the DER directly).
_REQUEST_NAME = Name._asn1_spec.copy()
_REQUEST_NAME.rdn_pairs_on_read = True
CertificationRequestInfo._asn1_spec.fields[1].spec = _REQUEST_NAME


class CertificationRequest(Sequence, gc=False):
    """CertificationRequest (RFC 2986 §4.2): a PKCS#10 certification request, with accessors for its subject, key,
    extensions and signature."""
    certification_request_info: CertificationRequestInfo
    signature_algorithm: AlgorithmIdentifier = field(lazy=True)
    signature_value: Annotated[BitStringValue, BitString]

    # -- loading / saving --
    # from_der (the schema's decoder, in C): strict DER unless ber=True; versions other than v1 are refused.

    @classmethod
    def from_pem(cls, text: "str | bytes") -> "CertificationRequest":
        """The first ``CERTIFICATE REQUEST`` (or legacy ``NEW CERTIFICATE REQUEST``) block of ``text``."""
        for label, der in _pem.decode(text):
            if label in ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"):
                return cls.from_der(der)
        raise DecodeError("no CERTIFICATE REQUEST block in the PEM input", 0, "invalid-pem")

    def to_pem(self) -> str:
        """The request as a PEM CERTIFICATE REQUEST block (RFC 7468 §7)."""
        return _pem.encode("CERTIFICATE REQUEST", self.to_der())

    def to_cryptography(self) -> "CertificateSigningRequest":
        """This request as a ``cryptography.x509.CertificateSigningRequest``."""
        from cryptography import x509 as _x509

        return _x509.load_der_x509_csr(self.to_der())

    @classmethod
    def from_cryptography(cls, csr: "CertificateSigningRequest") -> "CertificationRequest":
        """The CertificationRequest of a ``cryptography`` ``x509.CertificateSigningRequest``."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return cls.from_der(csr.public_bytes(Encoding.DER))

    # -- fields (read in C through the nested models) --
    version: ClassVar["FieldPath[int]"] = FieldPath(0, 0)
    subject: ClassVar["FieldPath[Name]"] = FieldPath(0, 1)
    public_key_info: ClassVar["FieldPath[SubjectPublicKeyInfo]"] = FieldPath(0, 2)
    # every attribute in the order found (values as raw DER TLVs)
    attributes: ClassVar["FieldPath[List[Attribute]]"] = FieldPath(0, 3)
    # the DER of certificationRequestInfo: the bytes the signature covers
    tbs_der: ClassVar["FieldPath[bytes]"] = FieldPath(0, raw=True)
    signature_algorithm_oid: ClassVar["FieldPath[str]"] = FieldPath(1, 0)
    signature: ClassVar["FieldPath[bytes]"] = FieldPath(2, attr="data")  # the signature bits as bytes

    def attribute(self, attr_oid: str) -> Optional[Attribute]:
        """The attribute with this type, None if absent; DecodeError if it appears more than once."""
        attrs = self.certification_request_info.attributes
        i = _index_of(attrs, attr_oid)
        return None if i < 0 else attrs[i]

    def _single_value(self, attr_oid: str) -> Tuple[Optional[bytes], str]:
        attrs = self.certification_request_info.attributes
        i = _index_of(attrs, attr_oid)  # refuses duplicates
        if i < 0:
            return None, ""
        values = attrs[i].attr_values
        if len(values) != 1:
            raise DecodeError(f"attribute {attr_oid} must have exactly one value, has {len(values)}", 0,
                              "invalid-value", f"$.certification_request_info.attributes[{i}].attr_values")
        return values[0], f".certification_request_info.attributes[{i}].attr_values[0]"

    @property
    def challenge_password(self) -> Optional[str]:
        """The challengePassword (PKCS#9) as text, whatever DirectoryString form it came in; None if absent."""
        value, path = self._single_value(OID_CHALLENGE_PASSWORD)
        return None if value is None else _decode_at(DirectoryString, value, path)

    # The extensions requested (extensionRequest, or msCertExtensions); [] if none. The usual request (one
    # attribute, an extensionRequest with one value) is read in C while the request is decoded and its list kept in
    # a slot of the CertificationRequestInfo: each read returns that list, as a decoded model returns its fields
    # (Certificate.extensions). Every other shape is decoded from the attribute on each read, by
    # _extensions_general (set below).
    extensions: ClassVar["SingleAttributeList[Extension]"]

    def _extensions_general(self) -> List[Extension]:
        value, path = self._single_value(OID_EXTENSION_REQUEST)
        if value is None:
            value, path = self._single_value(OID_MS_EXTENSION_REQUEST)
        if value is None:
            return []
        try:
            exts: List[Extension] = _der_decode(_EXTENSIONS_SPEC, value)
        except DecodeError as e:
            e._push(path)
            raise
        # A certificate reads its extension values lazily (one malformed value must not make it unreadable); a
        # request is what a CA decides on, so its known extension values are checked together with the list, and
        # duplicates refused, in one C loop.
        try:
            i = _READ_ALL(exts)
        except DecodeError as e:
            e._push(path)
            raise
        if i is not None:
            raise DecodeError(f"extension {exts[i].oid} requested twice", 0, "invalid-value", f"${path}[{i}]")
        return exts

    def extension(self, extn_id: str) -> Optional[Extension]:
        """The requested extension with OID ``extn_id`` (from the extensionRequest attribute), or None."""
        for ext in self.extensions:
            if ext.extn_id == extn_id:
                found: Extension = ext
                return found
        return None

    # -- signature --
    def verify(self) -> None:
        """Check the self-signature with the request's own public key: returns None or raises
        :class:`SignatureError` (:class:`UnsupportedSignatureAlgorithm` for algorithms it cannot check)."""
        _sigalgs.verify(self.signature_algorithm, self.public_key_info, self.tbs_der, self.signature)

    @property
    def is_signature_valid(self) -> bool:
        """:meth:`verify` as a bool (False also for algorithms that cannot be checked)."""
        try:
            self.verify()
        except SignatureError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<CertificationRequest subject={self.subject.rfc4514_string()!r}>"


def _index_of(attrs: _Seq[Attribute], attr_oid: str) -> int:
    """Index of the attribute of this type (-1: none); DecodeError if there are several."""
    found = -1
    for i, a in enumerate(attrs):
        if a.attr_type == attr_oid:
            if found >= 0:
                count = sum(1 for x in attrs if x.attr_type == attr_oid)
                raise DecodeError(f"attribute {attr_oid} appears {count} times", 0, "invalid-value",
                                  f"$.certification_request_info.attributes[{i}]")
            found = i
    return found


# One spec for every extensionRequest value (``SequenceOf[...]`` would build a new one on each call).
_EXTENSIONS_SPEC = spec_of(SequenceOf(Extension))
_READ_ALL = Extension.__dict__["parsed"].read_all  # x509.Extension.parsed (LazyContained) over a list
# read while the request is decoded (see SingleAttributeList): a request is decoded to read its extensions
CertificationRequest.extensions = SingleAttributeList(
    (0, 3), OID_EXTENSION_REQUEST, _EXTENSIONS_SPEC, Extension.__dict__["parsed"],
    CertificationRequest._extensions_general, CertificationRequestInfo)


def _decode_at(t: object, value: bytes, path: str) -> _TypingAny:
    try:
        return decode(t, value)
    except DecodeError as e:
        e._push(path)
        raise


# --- building ---------------------------------------------------------------------------------------------------

NameLike = Union[Name, str, bytes, List[_TypingAny], object]
AttributeValue = Union[bytes, str]


def _to_name(subject: NameLike) -> Name:
    if isinstance(subject, Name):
        return subject
    if isinstance(subject, str):
        return Name.from_rfc4514(subject) if subject else Name.build([])
    if isinstance(subject, (bytes, bytearray)):
        return Name.from_der(bytes(subject))
    if isinstance(subject, list):
        return Name.build(subject)
    if hasattr(subject, "public_bytes") and hasattr(subject, "rfc4514_string"):  # cryptography x509.Name
        return Name.from_der(subject.public_bytes())
    raise TypeError(f"cannot make a Name from {type(subject).__name__}")


def _to_extension(ext: object, value: object = None, critical: bool = False) -> Extension:
    if isinstance(ext, Extension):
        return ext
    if isinstance(ext, str):
        return Extension.build(ext, value, critical)
    # cryptography: an ExtensionType instance (has .oid and .public_bytes()) or an x509.Extension
    if hasattr(ext, "value") and hasattr(ext, "critical") and hasattr(ext, "oid"):
        return Extension(extn_id=ext.oid.dotted_string, critical=bool(ext.critical),
                         extn_value=ext.value.public_bytes())
    if hasattr(ext, "public_bytes") and hasattr(ext, "oid"):
        return Extension(extn_id=ext.oid.dotted_string, critical=critical, extn_value=ext.public_bytes())
    raise TypeError(f"cannot make an Extension from {type(ext).__name__}")


class CertificationRequestBuilder:
    """Builds and signs a PKCS#10 request. Immutable: each method returns a new builder.

    ``subject``: an ``x509.Name``, an RFC 4514 string, a list of ``(oid, value)`` pairs (see ``Name.build``),
    Name DER bytes or a ``cryptography`` Name. Extensions go into one extensionRequest attribute; other
    attributes are added as given (values: DER TLV bytes). ``sign`` picks the hash by key unless told
    (SHA-256 for RSA, P-384 -> SHA-384, P-521 -> SHA-512; none for Ed25519/Ed448).
    """

    __slots__ = ("_subject", "_extensions", "_attributes", "_challenge")

    def __init__(self, subject: NameLike = None, extensions: Iterable[object] = (),
                 attributes: Iterable[Tuple[str, _Seq[bytes]]] = (), challenge_password: Optional[str] = None
                 ) -> None:
        self._subject = _to_name(subject) if subject is not None else Name.build([])
        self._extensions: Tuple[Extension, ...] = tuple(_to_extension(e) for e in extensions)
        self._attributes: Tuple[Tuple[str, Tuple[bytes, ...]], ...] = tuple(
            (o, tuple(bytes(v) for v in vals)) for o, vals in attributes)
        self._challenge = challenge_password

    def _copy(self, **changes: object) -> "CertificationRequestBuilder":
        new = object.__new__(CertificationRequestBuilder)
        for name in self.__slots__:
            setattr(new, name, changes.get(name, getattr(self, name)))
        return new

    def subject(self, subject: NameLike) -> "CertificationRequestBuilder":
        """A builder with ``subject`` as the subject: a Name, an RFC 4514 string (``"CN=device,O=Example"``), the
        DER of a Name, attribute pairs or a ``cryptography`` ``x509.Name``."""
        return self._copy(_subject=_to_name(subject))

    def add_extension(self, extension: object, value: object = None, critical: bool = False
                      ) -> "CertificationRequestBuilder":
        """``add_extension(Extension)``, ``add_extension(oid, value, critical)`` (value: DER bytes of extnValue
        contents or a value of the registered type, see ``Extension.build``), or a ``cryptography``
        ExtensionType (``critical`` applies) / ``x509.Extension``."""
        ext = _to_extension(extension, value, critical)
        if any(e.extn_id == ext.extn_id for e in self._extensions):
            raise EncodeError(f"extension {ext.extn_id} added twice")
        return self._copy(_extensions=self._extensions + (ext,))

    def add_attribute(self, attr_oid: str, values: Union[bytes, _Seq[bytes]]) -> "CertificationRequestBuilder":
        """An attribute with one DER value or a list of them (the SET OF is sorted when encoded)."""
        if attr_oid in (OID_EXTENSION_REQUEST, OID_CHALLENGE_PASSWORD):
            raise ValueError("use add_extension / challenge_password for this attribute")
        vals = (bytes(values),) if isinstance(values, (bytes, bytearray)) else tuple(bytes(v) for v in values)
        return self._copy(_attributes=self._attributes + ((attr_oid, vals),))

    def challenge_password(self, password: Optional[str]) -> "CertificationRequestBuilder":
        """Set (or, with None, remove) the challengePassword: PrintableString when its characters allow,
        else UTF8String."""
        if password is not None and not isinstance(password, str):
            raise TypeError("challenge_password takes a str")
        return self._copy(_challenge=password)

    def build_info(self, public_key: "PublicKey | SubjectPublicKeyInfo | SoftwarePrivateKey | Signer"
                   ) -> CertificationRequestInfo:
        """The CertificationRequestInfo for ``public_key`` (decoded from its DER, ready to be signed)."""
        from cryptography.hazmat.primitives import serialization

        key: _TypingAny = public_key  # duck-typed: anything with public_key() or public_bytes()
        if hasattr(key, "public_key") and not hasattr(key, "public_bytes"):
            key = key.public_key()
        if isinstance(key, SubjectPublicKeyInfo):
            spki = key
        else:
            spki = SubjectPublicKeyInfo.from_der(key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
        attrs: List[Attribute] = []
        if self._challenge is not None:
            attrs.append(Attribute(attr_type=OID_CHALLENGE_PASSWORD,
                                   attr_values=[encode(DirectoryString, self._challenge)]))
        if self._extensions:
            attrs.append(Attribute(attr_type=OID_EXTENSION_REQUEST,
                                   attr_values=[encode(SequenceOf[Extension], list(self._extensions))]))
        for attr_oid, vals in self._attributes:
            attrs.append(Attribute(attr_type=attr_oid, attr_values=list(vals)))
        info = CertificationRequestInfo(version=0, subject=self._subject, subject_pk_info=spki, attributes=attrs)
        return CertificationRequestInfo.from_der(encode(CertificationRequestInfo, info))

    def sign(self, private_key: "SoftwarePrivateKey | Signer", hash_algorithm: _sigalgs.HashLike = None, *,
             rsa_padding: str = "pkcs1v15",
             pss_salt_length: Optional[int] = None) -> CertificationRequest:
        """Sign with a ``cryptography`` private key (RSA PKCS#1 v1.5 or PSS, ECDSA, Ed25519, Ed448).

        ``hash_algorithm``: ``"sha384"`` or a ``cryptography`` hash (None: chosen by key); ``rsa_padding``:
        ``"pkcs1v15"`` or ``"pss"`` (salt ``pss_salt_length``, default the hash length).
        """
        info = self.build_info(private_key.public_key())
        tbs = info.to_der()
        alg, sig = _sigalgs.sign(private_key, tbs, hash_algorithm=hash_algorithm, rsa_padding=rsa_padding,
                                 pss_salt_length=pss_salt_length)
        csr = CertificationRequest(certification_request_info=info, signature_algorithm=alg, signature_value=sig)
        return CertificationRequest.from_der(encode(CertificationRequest, csr))


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
