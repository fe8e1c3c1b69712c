"""CSR Attributes (the EST ``/csrattrs`` response): RFC 7030 §4.5.2 as corrected by RFC 8951 and RFC 9908.

::

    CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
    AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
    Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }

What a server can say, and where to read it:

* bare OIDs (``.oids``): "include this attribute / use this algorithm";
* attributes with values (``.attributes``, values kept as the raw DER of each value);
* the one ``extensionRequest`` attribute holding one ``Extensions`` (``.extension_request``);
* key-type attributes (``.key_types``): the type is a public-key algorithm OID; no value means any parameters,
  otherwise a curve OID (EC) or a key size INTEGER (RSA) (RFC 9908 §3.3);
* challengePassword and RFC 7894's otpChallenge, revocationChallenge and estIdentityLinking
  (``.requires(oid.OTP_CHALLENGE)``, ``CsrAttribute.typed_values``);
* the RFC 9908 ``CertificationRequestInfoTemplate`` (``.template``): a subject whose RDNs may lack values, an
  optional key algorithm, and ``[1]`` attributes that may carry extension templates (``extnValue`` optional).

Tolerance (documented, on purpose): a value that does not match its attribute's expected type (RFC 7030's own
§4.5.2 example puts the macAddress OID inside an extensionRequest, which RFC 9908 calls not correct) is kept raw
and never rejected; the typed views then simply do not show it. Elements of the outer SEQUENCE that are neither
an OID nor an Attribute (libest's test blobs contain a BOOLEAN there) are kept raw in ``.unrecognized`` and
re-encoded in place. The outer framing must still be valid DER: truncated or trailing data raises
``DecodeError``.

The template OIDs are those IANA assigned in the published RFC 9908 (id-aa 61 and 62), not the TBD
placeholders of the drafts.
"""
from dataclasses import dataclass, field as _dc_field
from typing import Annotated, Iterable, Iterator, Union
from typing import Any as _TypingAny

from . import oids as _oids
from ._der import BitStringValue
from .der import normalize_ber
from .errors import DecodeError, EncodeError
from .schema import (
    Any, AnyValue, BitString, Boolean, Choice, Integer, ObjectIdentifier, OctetString, PrintableString, Sequence,
    SequenceOf, SetOf, UTF8String, decode, encode, field,
)
from .x509 import AlgorithmIdentifier, Attribute, Extension, Extensions

__all__ = [
    "CsrAttrs", "CsrAttribute", "CsrAttrsBuilder", "KeyTypeRequirement", "Unrecognized", "oid",
    "AttrOrOID", "Attribute", "AlgorithmIdentifier", "Extension", "Extensions",
    "SingleAttributeTemplate", "RelativeDistinguishedNameTemplate", "NameTemplate", "SubjectPublicKeyInfoTemplate",
    "ExtensionTemplate", "ExtensionTemplates", "CertificationRequestInfoTemplate",
    "KEY_ALGORITHMS",
]


class oid:  # noqa: N801 - a namespace of constants
    """OIDs that CSR attributes use."""

    EXTENSION_REQUEST = _oids.PKCS_9_AT_EXTENSION_REQUEST          # PKCS#9 id-ExtensionReq
    CHALLENGE_PASSWORD = _oids.PKCS_9_AT_CHALLENGE_PASSWORD          # PKCS#9
    OTP_CHALLENGE = _oids.ID_AA_OTP_CHALLENGE         # RFC 7894 id-aa-otpChallenge
    REVOCATION_CHALLENGE = _oids.ID_AA_REVOCATION_CHALLENGE  # RFC 7894 id-aa-revocationChallenge
    EST_IDENTITY_LINKING = _oids.ID_AA_EST_IDENTITY_LINKING  # RFC 7894 id-aa-estIdentityLinking
    # RFC 9908 (IANA "SMI Security for S/MIME Attributes"): the published values, not the drafts' TBD2/TBD3
    CERTIFICATION_REQUEST_INFO_TEMPLATE = _oids.ID_AA_CERTIFICATION_REQUEST_INFO_TEMPLATE
    EXTENSION_REQ_TEMPLATE = _oids.ID_AA_EXTENSION_REQ_TEMPLATE

    RSA_ENCRYPTION = _oids.RSA_ENCRYPTION
    RSASSA_PSS = _oids.ID_RSASSA_PSS
    EC_PUBLIC_KEY = _oids.ID_EC_PUBLIC_KEY
    EC_DH = _oids.ID_EC_DH
    EC_MQV = _oids.ID_EC_MQV
    DSA = _oids.ID_DSA
    X25519 = _oids.ID_X25519
    X448 = _oids.ID_X448
    ED25519 = _oids.ID_ED25519
    ED448 = _oids.ID_ED448
    ML_DSA_44 = _oids.ID_ML_DSA_44
    ML_DSA_65 = _oids.ID_ML_DSA_65
    ML_DSA_87 = _oids.ID_ML_DSA_87
    ML_KEM_512 = _oids.ID_ALG_ML_KEM_512
    ML_KEM_768 = _oids.ID_ALG_ML_KEM_768
    ML_KEM_1024 = _oids.ID_ALG_ML_KEM_1024

    SECP256R1 = _oids.SECP256R1
    SECP384R1 = _oids.SECP384R1
    SECP521R1 = _oids.SECP521R1


# Public-key algorithms a key-type attribute may name (RFC 9908 §3.3: "the OID specifying the type of the key").
KEY_ALGORITHMS = frozenset({
    oid.RSA_ENCRYPTION, oid.RSASSA_PSS, oid.EC_PUBLIC_KEY, oid.EC_DH, oid.EC_MQV, oid.DSA, oid.X25519, oid.X448,
    oid.ED25519, oid.ED448, oid.ML_DSA_44, oid.ML_DSA_65, oid.ML_DSA_87, oid.ML_KEM_512, oid.ML_KEM_768,
    oid.ML_KEM_1024,
})
_EC_PUBLIC_KEY = oid.EC_PUBLIC_KEY
_EC_ALGORITHMS = frozenset({oid.EC_PUBLIC_KEY, oid.EC_DH, oid.EC_MQV})
_RSA_ALGORITHMS = frozenset({oid.RSA_ENCRYPTION, oid.RSASSA_PSS})
_STRING_ATTRIBUTES = frozenset({
    oid.CHALLENGE_PASSWORD, oid.OTP_CHALLENGE, oid.REVOCATION_CHALLENGE, oid.EST_IDENTITY_LINKING,
})


# --- wire models -------------------------------------------------------------------------------------------

class AttrOrOID(Choice):
    """AttrOrOID (RFC 7030 §4.5.2): one item of a CSR attributes response, an OID or an attribute (an element of any
    other tag is kept raw, as some servers send one)."""
    oid: Annotated[str, ObjectIdentifier]
    attribute: Attribute
    # leniency: an element with any other tag (not OID, not SEQUENCE) is kept raw, in place (libest sends one)
    unrecognized: Annotated[bytes, Any]


# lazy: a long list is checked while decoding and its elements built when read (CsrAttrs builds its items on
# first use), so thousands of 3-byte OIDs do not cost a Python object each in from_der
_CSR_ATTRS = SequenceOf(AttrOrOID, lazy=True)


# RFC 9908 Appendix A (module CRITemplateModule, IMPLICIT TAGS)

class SingleAttributeTemplate(Sequence):
    """Like AttributeTypeAndValue, but the value may be absent: the client fills it in."""

    type: Annotated[str, ObjectIdentifier]
    value: Annotated[bytes | None, Any] = field(optional=True)


RelativeDistinguishedNameTemplate = SetOf(SingleAttributeTemplate, min_size=1)
RDNSequenceTemplate = SequenceOf(RelativeDistinguishedNameTemplate)


class NameTemplate(Choice):
    """``NameTemplate ::= CHOICE { rdnSequence RDNSequenceTemplate }`` (its only alternative, for now)."""

    rdn_sequence: Annotated[list[list[SingleAttributeTemplate]], RDNSequenceTemplate]

    @property
    def rdns(self) -> "list[list[SingleAttributeTemplate]]":
        """The relative distinguished names of the template in order, each a list of its attribute templates."""
        rdns: list[list[SingleAttributeTemplate]] = self.value
        return rdns


class SubjectPublicKeyInfoTemplate(Sequence):
    """SubjectPublicKeyInfoTemplate (RFC 9908): a key algorithm whose key the client chooses (the key itself
    optional)."""
    algorithm: AlgorithmIdentifier
    subject_public_key: Annotated[BitStringValue | None, BitString] = field(optional=True)


class ExtensionTemplate(Sequence):
    """Like Extension, but ``extn_value`` may be absent (the client supplies it)."""

    extn_id: Annotated[str, ObjectIdentifier]
    critical: Annotated[bool, Boolean] = field(default=False)
    extn_value: Annotated[bytes | None, OctetString] = field(optional=True)

    @property
    def oid(self) -> str:
        """The extension's OID (``extn_id``)."""
        return self.extn_id

    @property
    def value(self) -> "bytes | None":
        """The extension's requested value (the DER inside extnValue), or None when the template leaves it to the
        client."""
        return self.extn_value


ExtensionTemplates = SequenceOf(ExtensionTemplate, min_size=1)


class _RSAPublicKey(Sequence):
    modulus: Annotated[int, Integer]
    public_exponent: Annotated[int, Integer]


class CertificationRequestInfoTemplate(Sequence):
    """RFC 9908 §4 ``CertificationRequestInfoTemplate``: a partly filled-in CertificationRequestInfo.

    ``subject`` is a ``NameTemplate`` (its RDNs: ``subject.rdns``; plain values: ``subject_template``);
    ``subject_pk_info`` is ``[0] IMPLICIT``; ``attributes`` is ``[1] IMPLICIT SET OF Attribute``.
    """

    version: Annotated[int, Integer]
    subject: Annotated[NameTemplate | None, NameTemplate] = field(optional=True)
    subject_pk_info: Annotated[SubjectPublicKeyInfoTemplate | None,
                               SubjectPublicKeyInfoTemplate] = field(implicit=0, optional=True)
    attributes: Annotated[list[Attribute], SetOf(Attribute)] = field(implicit=1)

    @classmethod
    def build(cls, *, subject: "Iterable[tuple[str, object] | Iterable[tuple[str, object]]] | None" = None,
              key_algorithm: "str | None" = None,
              key_parameters: "bytes | None" = None, subject_public_key: "bytes | None" = None,
              extensions: "Iterable[object] | None" = None,
              attributes: "Iterable[Attribute | CsrAttribute]" = ()) -> "CertificationRequestInfoTemplate":
        """A template from plain values (for servers).

        ``subject``: RDNs in order, each an ``(oid, value)`` pair or a list of pairs (multi-valued RDN); a value
        is ``None`` (the client fills it in), ``str`` (encoded UTF8String; PrintableString for countryName and
        serialNumber) or ``bytes`` (the DER of the value). ``key_algorithm`` / ``key_parameters`` (DER) /
        ``subject_public_key`` (placeholder key bits, RFC 9908's way of giving an RSA size). ``extensions``:
        ``ExtensionTemplate`` / ``Extension`` models or ``(oid, critical, value DER or None)`` tuples; they go
        into an ``extensionRequest`` attribute when every one has a value and into ``id-aa-extensionReqTemplate``
        otherwise, as RFC 9908 §4 requires. ``attributes``: further ``Attribute`` models or ``CsrAttribute``.
        """
        rdns = None
        if subject is not None:
            rdns = []
            for rdn in subject:
                pairs = [rdn] if isinstance(rdn, tuple) else list(rdn)
                if not pairs:
                    raise EncodeError("an RDN of the subject template needs at least one attribute")
                rdns.append([SingleAttributeTemplate(type=o, value=_rdn_value_der(o, v)) for o, v in pairs])
        spki = None
        if key_algorithm is not None:
            spki = SubjectPublicKeyInfoTemplate(
                algorithm=AlgorithmIdentifier(algorithm=key_algorithm, parameters=key_parameters),
                subject_public_key=subject_public_key)
        elif key_parameters is not None or subject_public_key is not None:
            raise EncodeError("key parameters or a placeholder key need key_algorithm")
        attrs = []
        if extensions:
            exts = [_extension_template_of(e) for e in extensions]
            ids = [e.extn_id for e in exts]
            if len(set(ids)) != len(ids):
                raise EncodeError("the extension templates must not repeat an extnID")
            if all(e.extn_value is not None for e in exts):
                value = encode(Extensions, [Extension(extn_id=e.extn_id, critical=e.critical,
                                                      extn_value=e.extn_value) for e in exts])
                attrs.append(Attribute(attr_type=oid.EXTENSION_REQUEST, attr_values=[value]))
            else:
                attrs.append(Attribute(attr_type=oid.EXTENSION_REQ_TEMPLATE,
                                       attr_values=[encode(ExtensionTemplates, exts)]))
        for a in attributes:
            if isinstance(a, CsrAttribute):
                a = Attribute(attr_type=a.oid, attr_values=list(a.values))
            if a.attr_type in (oid.EXTENSION_REQUEST, oid.EXTENSION_REQ_TEMPLATE) and extensions:
                raise EncodeError("extensions are given twice (RFC 9908 §4 allows one extension attribute)")
            attrs.append(a)
        return cls(version=0, subject=None if rdns is None else NameTemplate(rdn_sequence=rdns),
                   subject_pk_info=spki, attributes=attrs)

    # -- views ------------------------------------------------------------------------------------------------

    @property
    def subject_template(self) -> "list[list[tuple[str, bytes | None]]] | None":
        """The subject as RDNs of ``(type OID, raw value DER or None when the client must fill it in)``."""
        if self.subject is None:
            return None
        return [[(atv.type, atv.value) for atv in rdn] for rdn in self.subject.rdns]

    @property
    def key_algorithm_oid(self) -> "str | None":
        """The OID of the key algorithm the template asks for, or None when it names none."""
        return None if self.subject_pk_info is None else self.subject_pk_info.algorithm.algorithm

    @property
    def key_parameters(self) -> "bytes | None":
        """The raw DER of the key algorithm's parameters, if any."""
        return None if self.subject_pk_info is None else self.subject_pk_info.algorithm.parameters

    @property
    def curve(self) -> "str | None":
        """The named curve OID when the template asks for an EC key with named-curve parameters."""
        if self.key_algorithm_oid not in _EC_ALGORITHMS or self.key_parameters is None:
            return None
        curve: str | None = _try_decode(ObjectIdentifier, self.key_parameters)
        return curve

    @property
    def rsa_key_size(self) -> "int | None":
        """The modulus length in bits of the placeholder RSA public key, RFC 9908's way of asking for a size."""
        spki = self.subject_pk_info
        if spki is None or spki.algorithm.algorithm not in _RSA_ALGORITHMS or spki.subject_public_key is None:
            return None
        key = _try_decode(_RSAPublicKey, spki.subject_public_key.data)
        return None if key is None else key.modulus.bit_length()

    def attribute(self, attr_oid: str) -> "CsrAttribute | None":
        """The template's attribute with OID ``attr_oid`` as a :class:`CsrAttribute`, or None."""
        for a in self.attributes:
            if a.attr_type == attr_oid:
                return CsrAttribute(a.attr_type, list(a.attr_values))
        return None

    @property
    def extension_templates(self) -> "list[ExtensionTemplate] | None":
        """The extensions asked for, from the ``id-aa-extensionReqTemplate`` attribute or, failing that, an
        ``extensionRequest`` attribute (an Extension is also a valid ExtensionTemplate). None if there is none or
        its value does not have the expected type."""
        for attr_oid in (oid.EXTENSION_REQ_TEMPLATE, oid.EXTENSION_REQUEST):
            a = self.attribute(attr_oid)
            if a is not None:
                if len(a.values) != 1:
                    return None
                templates: list[ExtensionTemplate] | None = _try_decode(ExtensionTemplates, a.values[0])
                return templates
        return None


# countryName, serialNumber (X.520)
_PRINTABLE_RDN_TYPES = frozenset({_oids.ID_AT_COUNTRY_NAME, _oids.ID_AT_SERIAL_NUMBER})


def _rdn_value_der(attr_oid: str, value: "str | bytes | None") -> "bytes | None":
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        _check_tlv(value)
        return bytes(value)
    if isinstance(value, str):
        return encode(PrintableString if attr_oid in _PRINTABLE_RDN_TYPES else UTF8String, value)
    raise TypeError(f"an RDN value is None, str or DER bytes, not {type(value).__name__}")


def _extension_template_of(e: object) -> "ExtensionTemplate":
    if isinstance(e, ExtensionTemplate):
        return e
    if isinstance(e, tuple):
        extn_id, critical, value = e
        return ExtensionTemplate(extn_id=extn_id, critical=bool(critical),
                                 extn_value=None if value is None else bytes(value))
    if hasattr(e, "extn_id") and hasattr(e, "extn_value"):
        ext: _TypingAny = e  # an x509.Extension, or anything shaped like one
        return ExtensionTemplate(extn_id=ext.extn_id, critical=ext.critical, extn_value=ext.extn_value)
    raise TypeError(f"an extension template is an ExtensionTemplate, an Extension or a tuple, not "
                    f"{type(e).__name__}")


# Expected type of each attribute's values, for the typed views. Values that do not match stay raw.
_VALUE_TYPES = {
    oid.EXTENSION_REQUEST: Extensions,
    oid.EXTENSION_REQ_TEMPLATE: ExtensionTemplates,
    oid.CERTIFICATION_REQUEST_INFO_TEMPLATE: CertificationRequestInfoTemplate,
}


def _try_decode(t: object, data: bytes) -> _TypingAny:
    try:
        return decode(t, data)
    except DecodeError:
        return None


def _typed_value(attr_oid: str, value: bytes) -> object:
    """The decoded value of one attribute value, or the raw bytes when it does not have the expected type."""
    if attr_oid in _STRING_ATTRIBUTES:
        v = _try_decode(AnyValue, value)
        return v if isinstance(v, str) else value
    if attr_oid in _EC_ALGORITHMS:
        v = _try_decode(ObjectIdentifier, value)
        return value if v is None else v
    if attr_oid in _RSA_ALGORITHMS:
        v = _try_decode(Integer, value)
        return value if v is None else v
    t = _VALUE_TYPES.get(attr_oid)
    if t is None:
        return value
    v = _try_decode(t, value)
    return value if v is None else v


# --- the user-facing API -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsrAttribute:
    """One attribute of a CsrAttrs: its type OID and the raw DER of each of its values, in order."""

    oid: str
    values: "list[bytes]" = _dc_field(default_factory=list)

    @property
    def typed_values(self) -> "list[object]":
        """Each value decoded with the attribute's expected type (a list of Extension for extensionRequest, str
        for the challenge attributes, a curve OID or key size for key types, a CertificationRequestInfoTemplate
        for the template); values of other attributes, and values that do not match, stay raw bytes."""
        return [_typed_value(self.oid, v) for v in self.values]

    @classmethod
    def of(cls, attr_oid: str, *values: "bytes") -> "CsrAttribute":
        """A CsrAttribute of type ``attr_oid`` whose values are the DER ``values``."""
        return cls(attr_oid, [bytes(v) for v in values])


@dataclass(frozen=True)
class KeyTypeRequirement:
    """What a server asks for the key (RFC 9908 §3.3). ``any_parameters``: the attribute has no values (or the
    algorithm came as a bare OID). ``curve``/``rsa_key_size`` are set when the value has that form; ``parameters``
    keeps every value raw."""

    algorithm: str
    curve: "str | None" = None
    rsa_key_size: "int | None" = None
    parameters: "list[bytes]" = _dc_field(default_factory=list)

    @property
    def any_parameters(self) -> bool:
        """True when the requirement names the key type only (no parameters such as a curve or a key size)."""
        return not self.parameters


@dataclass(frozen=True)
class Unrecognized:
    """An element of the outer SEQUENCE that is neither an OID nor an Attribute, kept as raw DER."""

    der: bytes


# An element of a CsrAttrs, in order: a bare OID, an attribute, or an element kept raw.
CsrAttrItem = Union[str, "CsrAttribute", Unrecognized]


class CsrAttrs:
    """A decoded (or built) CSR Attributes response. Immutable; ``to_der()`` of a decoded instance gives back
    exactly the input bytes."""

    __slots__ = ("_built", "_elems", "_raw")
    _built: "tuple[str | CsrAttribute | Unrecognized, ...] | None"     # the items, once made
    _elems: "Iterable[AttrOrOID] | None"                               # the decoded elements, until then

    def __init__(self, items: "Iterable[str | CsrAttribute | Attribute | Unrecognized]" = ()) -> None:
        """Build from items in order: ``str`` (a bare OID), ``CsrAttribute``, an ``Attribute`` model, or
        ``Unrecognized`` (raw DER kept as found)."""
        out: list[CsrAttrItem] = []
        for it in items:
            if isinstance(it, str):
                _check_oid(it)
                out.append(it)
            elif isinstance(it, (CsrAttribute, Attribute)):
                _check_oid(it.oid)
                for v in it.values:
                    _check_tlv(v)
                out.append(CsrAttribute(it.oid, [bytes(v) for v in it.values]))
            elif isinstance(it, Unrecognized):
                _check_tlv(it.der)
                if it.der[0] in (0x06, 0x30):
                    raise EncodeError("an OID or SEQUENCE element is not Unrecognized: give it as an OID or "
                                      "an attribute")
                out.append(Unrecognized(bytes(it.der)))
            else:
                raise TypeError(f"a CsrAttrs item is an OID string or a CsrAttribute, not {type(it).__name__}")
        self._built = tuple(out)
        self._elems = None
        self._raw: bytes | None = None

    # -- decoding / encoding ----------------------------------------------------------------------------------

    @classmethod
    def from_der(cls, data: bytes, *, ber: bool = False) -> "CsrAttrs":
        """Decode a CsrAttrs (strict DER but for the documented leniencies; ``ber=True`` also accepts BER, which
        is normalised to DER first, so ``to_der()`` then gives the DER form). Raises ``DecodeError``."""
        data = normalize_ber(bytes(data)) if ber else bytes(data)
        self = cls.__new__(cls)
        self._elems = decode(_CSR_ATTRS, data)   # every element checked; items made on first use (_items)
        self._built = None
        self._raw = data
        return self

    @property
    def _items(self) -> "tuple[str | CsrAttribute | Unrecognized, ...]":
        # The items, made from the decoded elements on first use and kept.
        if self._built is None:
            self._built = tuple([_item_of_choice(e) for e in self._elems or ()])
            self._elems = None
        return self._built

    def to_der(self) -> bytes:
        """The DER of the CsrAttrs (RFC 7030 §4.5.2): the bytes it was decoded from, or its items encoded."""
        if self._raw is not None:
            return self._raw
        return encode(_CSR_ATTRS, [_choice_of_item(it) for it in self._items])

    # -- generic views ----------------------------------------------------------------------------------------

    @property
    def items(self) -> "list[str | CsrAttribute | Unrecognized]":
        """Every element in order: bare OIDs as ``str``, attributes as ``CsrAttribute``, others as
        ``Unrecognized``."""
        return list(self._items)

    @property
    def attributes(self) -> "list[CsrAttribute]":
        """The attribute items (RFC 7030 §4.5.2 ``attribute``), in order; the bare OIDs are left out."""
        return [it for it in self._items if isinstance(it, CsrAttribute)]

    @property
    def oids(self) -> "list[str]":
        """The bare OIDs, in order."""
        return [it for it in self._items if isinstance(it, str)]

    @property
    def unrecognized(self) -> "list[bytes]":
        """Raw DER of elements that are neither an OID nor an Attribute (kept, not rejected)."""
        return [it.der for it in self._items if isinstance(it, Unrecognized)]

    def attribute(self, attr_oid: str) -> "CsrAttribute | None":
        """The first attribute of that type, or None."""
        for it in self._items:
            if isinstance(it, CsrAttribute) and it.oid == attr_oid:
                return it
        return None

    def contains_oid(self, attr_oid: str) -> bool:
        """Whether the OID appears as a bare OID or as an attribute's type."""
        for it in self._items:
            if it == attr_oid or (isinstance(it, CsrAttribute) and it.oid == attr_oid):
                return True
        return False

    requires = contains_oid

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> "Iterator[CsrAttrItem]":
        return iter(self._items)

    def is_empty(self) -> bool:
        """True when the server sent no attributes (an empty response or an empty SEQUENCE, RFC 7030 §4.5.2)."""
        return not self._items

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CsrAttrs):
            return NotImplemented
        return self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash(self.to_der())

    def __repr__(self) -> str:
        parts = []
        for it in self._items:
            if isinstance(it, str):
                parts.append(it)
            elif isinstance(it, CsrAttribute):
                parts.append(f"{it.oid}[{len(it.values)}]")
            else:
                parts.append("?")
        return f"CsrAttrs({', '.join(parts)})"

    def __reduce__(self) -> "tuple[object, tuple[bytes]]":
        return (CsrAttrs.from_der, (self.to_der(),))

    # -- typed views ------------------------------------------------------------------------------------------

    @property
    def extension_request(self) -> "list[Extension] | None":
        """The Extensions of the (one) extensionRequest attribute, or None when there is none or its value is
        not an Extensions (RFC 7030's macAddress example; the attribute then stays raw in ``.attributes``)."""
        a = self.attribute(oid.EXTENSION_REQUEST)
        if a is None or len(a.values) != 1:
            return None
        exts: list[Extension] | None = _try_decode(Extensions, a.values[0])
        return exts

    @property
    def extension_request_oids(self) -> "list[str]":
        """OIDs placed as values of an extensionRequest attribute, the RFC 7030 §4.5.2 original (incorrect per
        RFC 9908) way of asking for an extension or attribute without a value."""
        out = []
        for a in self.attributes:
            if a.oid == oid.EXTENSION_REQUEST:
                for v in a.values:
                    o = _try_decode(ObjectIdentifier, v)
                    if o is not None:
                        out.append(o)
        return out

    @property
    def key_types(self) -> "list[KeyTypeRequirement]":
        """Key requirements: attributes whose type is a public-key algorithm (values: none = any parameters, a
        curve OID, or an RSA key size), then bare public-key algorithm OIDs."""
        out = []
        for it in self._items:
            if isinstance(it, CsrAttribute) and it.oid in KEY_ALGORITHMS:
                curve = size = None
                for v in it.values:
                    if it.oid in _EC_ALGORITHMS and curve is None:
                        curve = _try_decode(ObjectIdentifier, v)
                    elif it.oid in _RSA_ALGORITHMS and size is None:
                        size = _try_decode(Integer, v)
                out.append(KeyTypeRequirement(it.oid, curve, size, list(it.values)))
        for o in self.oids:
            if o in KEY_ALGORITHMS:
                out.append(KeyTypeRequirement(o))
        return out

    @property
    def template(self) -> "CertificationRequestInfoTemplate | None":
        """The RFC 9908 CertificationRequestInfoTemplate, or None (also when its value does not decode)."""
        a = self.attribute(oid.CERTIFICATION_REQUEST_INFO_TEMPLATE)
        if a is None or len(a.values) != 1:
            return None
        template: CertificationRequestInfoTemplate | None = _try_decode(CertificationRequestInfoTemplate, a.values[0])
        return template

    @property
    def challenge_password_requested(self) -> bool:
        """True when the server asks for a challengePassword (RFC 2985 §5.4.1) in the CSR."""
        return self.contains_oid(oid.CHALLENGE_PASSWORD)


def _item_of_choice(e: AttrOrOID) -> "CsrAttrItem":
    if e.name == "oid":
        bare: str = e.value
        return bare
    if e.name == "attribute":
        a = e.value
        return CsrAttribute(a.attr_type, list(a.attr_values))
    return Unrecognized(e.value)


def _choice_of_item(it: "CsrAttrItem") -> AttrOrOID:
    if isinstance(it, str):
        return AttrOrOID(oid=it)
    if isinstance(it, CsrAttribute):
        return AttrOrOID(attribute=Attribute(attr_type=it.oid, attr_values=list(it.values)))
    return AttrOrOID(unrecognized=it.der)


# --- building (servers) ------------------------------------------------------------------------------------

class CsrAttrsBuilder:
    """Fluent builder of a CsrAttrs for servers; elements come out in the order they were added.

    ``CsrAttrsBuilder().oid(oid.CHALLENGE_PASSWORD).ec_key(oid.SECP384R1).oid("1.2.840.10045.4.3.3").build()``
    """

    def __init__(self) -> None:
        self._items: list[CsrAttrItem] = []

    def oid(self, attr_oid: str) -> "CsrAttrsBuilder":
        """A bare OID."""
        _check_oid(attr_oid)
        self._items.append(attr_oid)
        return self

    def attribute(self, attr_oid: str, *values: bytes) -> "CsrAttrsBuilder":
        """An attribute with values given as DER (each one whole TLV)."""
        _check_oid(attr_oid)
        for v in values:
            _check_tlv(v)
        self._items.append(CsrAttribute(attr_oid, [bytes(v) for v in values]))
        return self

    def extension_request(self, extensions: "bytes | bytearray | Iterable[Extension]") -> "CsrAttrsBuilder":
        """The extensionRequest attribute with one Extensions value (Extension models, or DER of Extensions)."""
        if any(isinstance(it, CsrAttribute) and it.oid == oid.EXTENSION_REQUEST for it in self._items):
            raise EncodeError("there must be only one extensionRequest attribute (RFC 9908 §3.2)")
        if isinstance(extensions, (bytes, bytearray)):
            der = bytes(extensions)
            decode(Extensions, der)
        else:
            exts = [e if isinstance(e, Extension) else Extension.from_der(e.to_der()) for e in extensions]
            ids = [e.extn_id for e in exts]
            if len(set(ids)) != len(ids):
                raise EncodeError("an Extensions value must not repeat an extnID (RFC 9908 §3.2)")
            der = encode(Extensions, exts)
        return self.attribute(oid.EXTENSION_REQUEST, der)

    def key_type(self, algorithm: str, *values: bytes) -> "CsrAttrsBuilder":
        """A key-type attribute; no values means any parameters."""
        return self.attribute(algorithm, *values)

    def ec_key(self, curve: "str | None" = None, algorithm: str = _EC_PUBLIC_KEY) -> "CsrAttrsBuilder":
        """Ask for an EC key, on ``curve`` (a named-curve OID) when given (RFC 7030 §4.5.2); returns the builder."""
        return self.key_type(algorithm, *([] if curve is None else [encode(ObjectIdentifier, curve)]))

    def rsa_key(self, bits: "int | None" = None) -> "CsrAttrsBuilder":
        """Ask for an RSA key, of ``bits`` bits when given (RFC 7030 §4.5.2); returns the builder."""
        return self.key_type(oid.RSA_ENCRYPTION, *([] if bits is None else [encode(Integer, bits)]))

    def template(self, template: CertificationRequestInfoTemplate) -> "CsrAttrsBuilder":
        """The RFC 9908 CertificationRequestInfoTemplate attribute."""
        if template.version != 0:
            raise EncodeError("CertificationRequestInfoTemplate.version must be v1 (0)")
        return self.attribute(oid.CERTIFICATION_REQUEST_INFO_TEMPLATE, template.to_der())

    def build(self) -> CsrAttrs:
        """The CsrAttrs holding the items added so far."""
        return CsrAttrs(self._items)


def _check_oid(value: str) -> None:
    try:
        encode(ObjectIdentifier, value)
    except (EncodeError, ValueError, TypeError) as exc:
        raise EncodeError(f"not an OBJECT IDENTIFIER: {value!r}") from exc


def _check_tlv(value: bytes) -> None:
    try:
        decode(Any, bytes(value))
    except DecodeError as exc:
        raise EncodeError("an attribute value must be one whole DER element") from exc


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
