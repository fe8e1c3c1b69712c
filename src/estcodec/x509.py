"""X.509 certificates (RFC 5280) and the pieces other PKI structures share with them.

Field names are the snake_case of RFC 5280's ASN.1 identifiers. ``Certificate.from_der`` validates the whole
structure of the certificate as strict DER, extensions included (each a well-formed extnID, critical and extnValue
OCTET STRING). The value *inside* an extnValue is checked when it is read (``Extension.parsed`` and the accessors
built on it, such as ``Certificate.key_usage``), as cryptography and OpenSSL do: a certificate whose keyUsage has
trailing zero bits or whose subjectAltName holds a UTF-8 dNSName stays readable, and reading that one extension
raises ``DecodeError``. ``Certificate.validate_extensions()`` checks every registered extension value at once, for
callers who want a certificate refused as a whole. The issuer's and subject's attribute values are treated the
same way (structure checked by ``from_der``, each value when read; ``Certificate.validate_names()``). Certificates
keep their exact bytes: ``tbs_der`` is what the issuer signed.
"""
import datetime as _dt
import hashlib
import ipaddress
import re
from typing import TYPE_CHECKING, Annotated, ClassVar, Iterable, cast
from typing import Sequence as _Seq
from typing import Any as _TypingAny

from . import oids as _oids
from . import pem as _pem
from ._der import (
    BitStringValue, FieldPath, LazyContained, NameAttributes, RdnPairs, escape_rfc4514, rdn_pairs_of, rfc4514_method,
    tlv_children,
)
from .errors import DecodeError, EncodeError
from .schema import (
    Any, AnyValue, BitString, Boolean, Choice, Enumerated, GeneralizedTime, IA5String, Integer, NamedBitString,
    ObjectIdentifier, OctetString, PrintableString, Sequence, SequenceOf, SetOf, UTCTime, UTF8String, decode, encode,
    field,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
    from cryptography.x509 import Certificate as _CryptoCertificate

__all__ = [
    "AlgorithmIdentifier", "AttributeTypeAndValue", "Name", "Time", "Validity", "SubjectPublicKeyInfo", "Extension",
    "Extensions", "Attribute", "TBSCertificate", "Certificate", "GeneralName", "GeneralNames", "AnotherName",
    "BasicConstraints", "KEY_USAGE_BITS", "KeyUsage", "ExtendedKeyUsage", "AuthorityKeyIdentifier",
    "DistributionPoint", "DistributionPointName", "CRLDistributionPoints", "AccessDescription",
    "AuthorityInfoAccess", "PolicyInformation", "PolicyQualifierInfo", "CertificatePolicies", "EXTENSION_TYPES",
    "OID_NAMES", "oid", "NameAttributes", "escape_rfc4514", "extension_value",
]


class oid:  # noqa: N801 - a namespace of constants
    """OIDs of RFC 5280 that models and callers refer to."""

    COMMON_NAME = _oids.ID_AT_COMMON_NAME
    SURNAME = _oids.ID_AT_SURNAME
    SERIAL_NUMBER = _oids.ID_AT_SERIAL_NUMBER
    COUNTRY = _oids.ID_AT_COUNTRY_NAME
    LOCALITY = _oids.ID_AT_LOCALITY_NAME
    STATE = _oids.ID_AT_STATE_OR_PROVINCE_NAME
    STREET = _oids.ID_AT_STREET_ADDRESS
    ORGANIZATION = _oids.ID_AT_ORGANIZATION_NAME
    ORGANIZATIONAL_UNIT = _oids.ID_AT_ORGANIZATIONAL_UNIT_NAME
    TITLE = _oids.ID_AT_TITLE
    GIVEN_NAME = _oids.ID_AT_GIVEN_NAME
    DN_QUALIFIER = _oids.ID_AT_DN_QUALIFIER
    PSEUDONYM = _oids.ID_AT_PSEUDONYM
    DOMAIN_COMPONENT = _oids.ID_DOMAIN_COMPONENT
    USER_ID = _oids.UID
    EMAIL_ADDRESS = _oids.ID_EMAIL_ADDRESS

    SUBJECT_KEY_IDENTIFIER = _oids.ID_CE_SUBJECT_KEY_IDENTIFIER
    KEY_USAGE = _oids.ID_CE_KEY_USAGE
    SUBJECT_ALT_NAME = _oids.ID_CE_SUBJECT_ALT_NAME
    ISSUER_ALT_NAME = _oids.ID_CE_ISSUER_ALT_NAME
    BASIC_CONSTRAINTS = _oids.ID_CE_BASIC_CONSTRAINTS
    CRL_DISTRIBUTION_POINTS = _oids.ID_CE_CRL_DISTRIBUTION_POINTS
    CERTIFICATE_POLICIES = _oids.ID_CE_CERTIFICATE_POLICIES
    AUTHORITY_KEY_IDENTIFIER = _oids.ID_CE_AUTHORITY_KEY_IDENTIFIER
    EXTENDED_KEY_USAGE = _oids.ID_CE_EXT_KEY_USAGE
    AUTHORITY_INFO_ACCESS = _oids.ID_PE_AUTHORITY_INFO_ACCESS
    # CRL and CRL entry extensions (RFC 5280 §5.2, §5.3), OCSP nonce (RFC 8954)
    CRL_NUMBER = _oids.ID_CE_CRL_NUMBER
    REASON_CODE = _oids.ID_CE_CRL_REASONS
    INVALIDITY_DATE = _oids.ID_CE_INVALIDITY_DATE
    DELTA_CRL_INDICATOR = _oids.ID_CE_DELTA_CRL_INDICATOR
    ISSUING_DISTRIBUTION_POINT = _oids.ID_CE_ISSUING_DISTRIBUTION_POINT
    CERTIFICATE_ISSUER = _oids.ID_CE_CERTIFICATE_ISSUER
    FRESHEST_CRL = _oids.ID_CE_FRESHEST_CRL
    OCSP_NONCE = _oids.ID_PKIX_OCSP_NONCE

    KP_SERVER_AUTH = _oids.ID_KP_SERVER_AUTH
    KP_CLIENT_AUTH = _oids.ID_KP_CLIENT_AUTH
    KP_CMC_RA = _oids.ID_KP_CMC_RA

    RSA_ENCRYPTION = _oids.RSA_ENCRYPTION
    EC_PUBLIC_KEY = _oids.ID_EC_PUBLIC_KEY
    ED25519 = _oids.ID_ED25519
    ED448 = _oids.ID_ED448


# Short names used by RFC 4514 (and, beyond it, the ones OpenSSL and cryptography print).
OID_NAMES = {
    oid.COMMON_NAME: "CN", oid.LOCALITY: "L", oid.STATE: "ST", oid.ORGANIZATION: "O",
    oid.ORGANIZATIONAL_UNIT: "OU", oid.COUNTRY: "C", oid.STREET: "STREET", oid.DOMAIN_COMPONENT: "DC",
    oid.USER_ID: "UID",
}
_EXTRA_NAMES = {
    oid.SERIAL_NUMBER: "serialNumber", oid.SURNAME: "SN", oid.GIVEN_NAME: "GN", oid.TITLE: "title",
    oid.EMAIL_ADDRESS: "emailAddress", oid.DN_QUALIFIER: "dnQualifier", oid.PSEUDONYM: "pseudonym",
}
_NAME_BY_KEYWORD = {v.upper(): k for k, v in {**OID_NAMES, **_EXTRA_NAMES}.items()}
# Attributes whose values X.520 / RFC 5280 require as PrintableString.
_PRINTABLE_ATTRS = {oid.COUNTRY, oid.SERIAL_NUMBER, oid.DN_QUALIFIER}
_IA5_ATTRS = {oid.EMAIL_ADDRESS, oid.DOMAIN_COMPONENT}


class AlgorithmIdentifier(Sequence, gc=False):
    """AlgorithmIdentifier (RFC 5280 §4.1.1.2): an algorithm OID and its parameters as raw DER."""
    algorithm: Annotated[str, ObjectIdentifier]
    parameters: Annotated[bytes | None, Any] = field(optional=True)


class AttributeTypeAndValue(Sequence, gc=False):
    """AttributeTypeAndValue (RFC 5280 §4.1.2.4): one attribute of a distinguished name."""
    type: Annotated[str, ObjectIdentifier]
    value: Annotated[object, AnyValue]


RelativeDistinguishedName = SetOf(AttributeTypeAndValue, min_size=1)
RDNSequence = SequenceOf[RelativeDistinguishedName]


def _escape_rfc4514(value: str) -> str:
    # The generic escape (names without DER bytes, and the reference the core's escape_rfc4514 is tested against):
    # RFC 4514 §2.4 as cryptography applies it.
    if not value:
        return value
    out = "".join("\\00" if ch == "\x00" else "\\" + ch if ch in ',+"\\<>;' else ch for ch in value)
    if out[0] == "#" or (out[0] == " " and len(out) > 1):
        out = "\\" + out
    if out[-1] == " ":
        out = out[:-1] + "\\ "
    return out


_DOTTED_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _rfc4514_value(text: str, i: int) -> "tuple[object, int]":
    """The value starting at ``text[i]`` of an RFC 4514 string (a str, or DER bytes for ``#hex``) and where it
    ends (at the next unescaped ``,`` or ``+``, or the end)."""
    n = len(text)
    if i < n and text[i] == "#":
        end = i + 1
        while end < n and text[end] not in ",+":
            end += 1
        try:
            return bytes.fromhex(text[i + 1:end]), end
        except ValueError:
            raise EncodeError(f"not hex after '#' in an RFC 4514 value: {text[i:end]!r}") from None
    out = bytearray()
    while i < n and text[i] not in ",+":
        ch = text[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
        elif i + 2 < n and text[i + 1] in _HEX_DIGITS and text[i + 2] in _HEX_DIGITS:
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        elif i + 1 < n:
            out += text[i + 1].encode("utf-8", "surrogatepass")
            i += 2
        else:
            raise EncodeError("an RFC 4514 string ends with a lone backslash")
    try:
        return out.decode("utf-8"), i
    except UnicodeDecodeError:
        raise EncodeError("escaped octets of an RFC 4514 value are not UTF-8") from None


def _encode_attr_value(attr_oid: str, value: object, originals: "list[tuple[str, object, bytes]] | None" = None
                       ) -> bytes:
    """DER of one attribute value for a new name: its original encoding if it is still a value of the name the
    attributes were read from (``originals``), else the string type RFC 5280 asks for that attribute."""
    if originals:
        for i, (o_oid, o_value, o_der) in enumerate(originals):
            if o_oid == attr_oid and type(o_value) is type(value) and o_value == value:
                del originals[i]  # each original serves one value
                return o_der
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)  # already a DER TLV
    if not isinstance(value, str):
        try:
            return encode(AnyValue, value)  # a decoded non-string value (a BIT STRING's BitStringValue, ...)
        except EncodeError:
            raise EncodeError(f"name attribute {attr_oid} needs a str value") from None
    if attr_oid in _PRINTABLE_ATTRS:
        return encode(PrintableString, value)
    if attr_oid in _IA5_ATTRS:
        return encode(IA5String, value)
    return encode(UTF8String, value)


class Name(Choice, gc=False, lazy=True):
    """A distinguished name: RDNs in order (``rdns``), each a list of attribute type/value pairs."""

    rdn_sequence: Annotated[list[list[AttributeTypeAndValue]], RDNSequence]

    @classmethod
    def build(cls, attributes: "Iterable[tuple[str, object] | Iterable[tuple[str, object]]]") -> "Name":
        """A Name from ``[(oid, value), ...]`` (one attribute per RDN, in order) or ``[[(oid, value), ...], ...]``
        (multi-valued RDNs). Values are str (encoded as UTF8String, or PrintableString/IA5String where RFC 5280
        asks) or DER bytes of the value. Given the ``attributes`` of a decoded name (edited or not), the values it
        still holds keep their original encoding: ``Name.build(name.attributes)`` re-encodes ``name`` identically
        (single-valued RDNs)."""
        source = attributes.source if isinstance(attributes, NameAttributes) else None
        originals = _original_values(cast(Name, source)) if source is not None else None
        rdns = []
        for item in attributes:
            group = [item] if isinstance(item, tuple) else list(item)
            rdns.append([AttributeTypeAndValue(type=t, value=_encode_attr_value(t, v, originals)) for t, v in group])
        return cls.from_der(encode(cls, cls("rdn_sequence", rdns)))

    @classmethod
    def from_rfc4514(cls, text: str) -> "Name":
        """Parse an RFC 4514 string: RDNs separated by ``,`` (the last RDN first), the attributes of a multi-valued
        RDN joined by ``+``, each ``type=value`` with a short name (``CN``, ``O``, ``emailAddress``, ...; any case)
        or a dotted OID. In a value a backslash escapes the next character or gives one octet in hex (``\\2C``;
        such octets form UTF-8), and a value that starts with ``#`` is the hex of the value's DER. The inverse of
        :meth:`rfc4514_string` for the values; their string types are the ones :meth:`build` chooses."""
        if not text.strip():
            return cls.build([])
        rdns: list[list[tuple[str, object]]] = []
        rdn: list[tuple[str, object]] = []
        i, n = 0, len(text)
        while True:
            eq = text.find("=", i)
            if eq < 0:
                raise EncodeError(f"not an RFC 4514 attribute: {text[i:]!r}")
            key = text[i:eq].strip()
            attr_oid = _NAME_BY_KEYWORD.get(key.upper()) or (key if _DOTTED_OID.fullmatch(key) else None)
            value, end = _rfc4514_value(text, eq + 1)
            if attr_oid is None:
                err = EncodeError(f"unknown attribute type {key!r} in an RFC 4514 string")
                err.part = text[i:end].strip()
                raise err
            i = end
            rdn.append((attr_oid, value))
            if i >= n:
                break
            if text[i] == ",":
                rdns.append(rdn)
                rdn = []
            i += 1
        rdns.append(rdn)
        return cls.build([r[0] if len(r) == 1 else r for r in reversed(rdns)])

    @property
    def rdns(self) -> "list[list[AttributeTypeAndValue]]":
        """The relative distinguished names in order, each a list of its AttributeTypeAndValue pairs."""
        rdns: list[list[AttributeTypeAndValue]] = self.value
        return rdns

    # Every (OID, value) pair in order; values are str for string types, else the DER bytes.
    attributes = RdnPairs()

    def get(self, attr_oid: str) -> "list[object]":
        """The values of every attribute of type ``attr_oid`` in the name, in order (may be empty)."""
        return [v for t, v in rdn_pairs_of(self) if t == attr_oid]

    @property
    def common_name(self) -> "str | None":
        """The first commonName value (RFC 5280 §4.1.2.4), or None when the name has none."""
        vals = self.get(oid.COMMON_NAME)
        return cast("str | None", vals[0]) if vals else None

    if TYPE_CHECKING:  # the method is the core's (set below, after the class)
        def rfc4514_string(self) -> str:
            """RFC 4514 form of the name (see ``_der.rfc4514_method``)."""

    def _rfc4514_raw(self) -> str:
        # Values as str where they decode as one, else as # and the hex of their DER; the structure was checked.
        src = self.to_der()
        out = []
        for _, _, _, _, rs, re_ in tlv_children(src, *_contents(src)):
            parts = []
            for _, _, _, _, as_, ae in tlv_children(src, rs, re_):
                (_, _, _, ts, _, te), (_, _, _, vs, _, ve) = tlv_children(src, as_, ae)
                key = decode(ObjectIdentifier, src[ts:te])
                key = OID_NAMES.get(key, key)
                v = _built_value(src[vs:ve])
                parts.append(f"{key}={_escape_rfc4514(v)}" if isinstance(v, str) else f"{key}=#{src[vs:ve].hex()}")
            out.append("+".join(parts))
        return ",".join(reversed(out))

    def _rfc4514_from_models(self) -> str:
        # The generic path, over the RDN models: names built from values, or decoded as BER.
        out = []
        for rdn in reversed(self.value):
            parts = []
            for a in rdn:
                key = OID_NAMES.get(a.type, a.type)
                v = a.value
                if a.raw is None and isinstance(v, (bytes, bytearray)):
                    v = _built_value(v)  # built from the DER of a value: a string shows as the string
                if isinstance(v, str):
                    parts.append(f"{key}={_escape_rfc4514(v)}")
                else:
                    parts.append(f"{key}=#{_value_tlv(a).hex()}")
            out.append("+".join(parts))
        return ",".join(out)

    def __str__(self) -> str:
        return self.rfc4514_string()

    def __repr__(self) -> str:
        return f"<Name {self.rfc4514_string()!r}>"


# Decoding a Name validates its RDNs and collects the (type, value) pairs in the same walk.
Name._asn1_spec.rdn_pairs = True
# rfc4514_string: the core's walk over the DER, called as a method without a Python frame. A name it cannot walk
# (built from values, decoded as BER) takes the generic path over the RDN models; a certificate's name whose values
# are checked only when read (see _CERT_NAME) and holds a malformed one shows it as the hex of its DER, as RFC 4514
# §2.4 writes a value without a string form: this display never raises (the decoded accessors do).
Name.rfc4514_string = rfc4514_method(  # type: ignore[method-assign]
    OID_NAMES, Name._rfc4514_from_models, Name._rfc4514_raw)


def _original_values(name: Name) -> "list[tuple[str, object, bytes]]":
    """``[(oid, value, DER of the value), ...]`` of every attribute of a decoded name, in order (a name decoded as
    BER holds its DER re-encoding, so these are DER too)."""
    tlvs = [_value_tlv(a) for rdn in name.rdns for a in rdn]
    return [(t, v, d) for (t, v), d in zip(rdn_pairs_of(name), tlvs)]


def _built_value(der: "bytes | bytearray") -> object:
    try:
        return decode(AnyValue, bytes(der))
    except DecodeError:
        return der


def _value_tlv(atv: AttributeTypeAndValue) -> bytes:
    """The DER of an attribute's value: its AttributeTypeAndValue's encoding after the type's OID."""
    from .der import parse

    return parse(atv.to_der())[1].to_der()


class Time(Choice, transparent=True, gc=False):
    """Time (RFC 5280 §4.1.2.5): UTCTime for 1950-2049, else GeneralizedTime; an aware ``datetime``."""
    utc_time: Annotated[_dt.datetime, UTCTime]
    general_time: Annotated[_dt.datetime, GeneralizedTime]

    @classmethod
    def _select(cls, value: _dt.datetime) -> int:
        # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
        return 0 if 1950 <= value.astimezone(_dt.timezone.utc).year < 2050 else 1


class Validity(Sequence, gc=False):
    """Validity (RFC 5280 §4.1.2.5): the period ``not_before`` to ``not_after`` (both inclusive)."""
    not_before: Annotated[_dt.datetime, Time]
    not_after: Annotated[_dt.datetime, Time]


class SubjectPublicKeyInfo(Sequence, gc=False):
    """SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the algorithm of a public key and the key itself."""
    algorithm: AlgorithmIdentifier
    subject_public_key: Annotated[BitStringValue, BitString]

    algorithm_oid: ClassVar["FieldPath[str]"] = FieldPath(0, 0)

    def to_cryptography(self) -> "PublicKeyTypes":
        """The key as a ``cryptography`` public key (``cryptography`` raises for a key it cannot load)."""
        from cryptography.hazmat.primitives.serialization import load_der_public_key

        return load_der_public_key(self.to_der())

    @classmethod
    def from_cryptography(cls, public_key: "PublicKeyTypes") -> "SubjectPublicKeyInfo":
        """The SubjectPublicKeyInfo of a ``cryptography`` public key."""
        from cryptography.hazmat.primitives import serialization

        return cls.from_der(public_key.public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))

    def key_identifier(self) -> bytes:
        """RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits."""
        return hashlib.sha1(self.subject_public_key.data).digest()


# --- extension values ----------------------------------------------------------------------------------------

class AnotherName(Sequence, gc=False):
    """AnotherName (RFC 5280 §4.2.1.6): an otherName, its value raw DER under ``type_id``."""
    type_id: Annotated[str, ObjectIdentifier]
    value: Annotated[bytes, Any] = field(explicit=0)


class GeneralName(Choice, gc=False):
    """GeneralName (RFC 5280 §4.2.1.6): ``.name`` says which alternative, ``.value`` holds it."""
    other_name: AnotherName = field(implicit=0)
    rfc822_name: Annotated[str, IA5String] = field(implicit=1)
    dns_name: Annotated[str, IA5String] = field(implicit=2)
    x400_address: Annotated[bytes, Any] = field(implicit=3)
    directory_name: Name = field(explicit=4)
    edi_party_name: Annotated[bytes, Any] = field(implicit=5)
    uniform_resource_identifier: Annotated[str, IA5String] = field(implicit=6)
    ip_address: Annotated[bytes, OctetString] = field(implicit=7)
    registered_id: Annotated[str, ObjectIdentifier] = field(implicit=8)

    def python_value(self) -> object:
        """The value as a Python object (an ``ipaddress`` object for iPAddress)."""
        if self.name == "ip_address" and len(self.value) in (4, 16):
            return ipaddress.ip_address(self.value)
        return self.value


GeneralNames = SequenceOf(GeneralName, min_size=1)


class BasicConstraints(Sequence, gc=False):
    """BasicConstraints (RFC 5280 §4.2.1.9): whether the subject is a CA, and its path length limit."""
    ca: Annotated[bool, Boolean] = field(default=False)
    path_len_constraint: Annotated[int | None, Integer] = field(optional=True)


KEY_USAGE_BITS = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
    "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
)
KeyUsage = NamedBitString(*KEY_USAGE_BITS)
ExtendedKeyUsage = SequenceOf(ObjectIdentifier, min_size=1)


class AuthorityKeyIdentifier(Sequence, gc=False):
    """AuthorityKeyIdentifier (RFC 5280 §4.2.1.1): the identifier of the issuer's key."""
    key_identifier: Annotated[bytes | None, OctetString] = field(implicit=0, optional=True)
    authority_cert_issuer: Annotated[list[GeneralName] | None, GeneralNames] = field(implicit=1, optional=True)
    authority_cert_serial_number: Annotated[int | None, Integer] = field(implicit=2, optional=True)


class DistributionPointName(Choice, gc=False):
    """DistributionPointName (RFC 5280 §4.2.1.13): a full name or a name relative to the CRL issuer."""
    full_name: Annotated[list[GeneralName], GeneralNames] = field(implicit=0)
    name_relative_to_crl_issuer: Annotated[list[AttributeTypeAndValue], RelativeDistinguishedName] = field(implicit=1)


REASON_FLAGS = ("unused", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
                "cessation_of_operation", "certificate_hold", "privilege_withdrawn", "aa_compromise")


class DistributionPoint(Sequence, gc=False):
    """DistributionPoint (RFC 5280 §4.2.1.13): where a CRL is found, its reasons and its issuer."""
    distribution_point: Annotated[DistributionPointName | None,
                                  DistributionPointName] = field(explicit=0, optional=True)
    reasons: Annotated[frozenset[str] | None, NamedBitString(*REASON_FLAGS)] = field(implicit=1, optional=True)
    crl_issuer: Annotated[list[GeneralName] | None, GeneralNames] = field(implicit=2, optional=True)


CRLDistributionPoints = SequenceOf(DistributionPoint, min_size=1)


class AccessDescription(Sequence, gc=False):
    """AccessDescription (RFC 5280 §4.2.2.1): an access method OID and the location it is reached at."""
    access_method: Annotated[str, ObjectIdentifier]
    access_location: GeneralName


AuthorityInfoAccess = SequenceOf(AccessDescription, min_size=1)


class PolicyQualifierInfo(Sequence, gc=False):
    """PolicyQualifierInfo (RFC 5280 §4.2.1.4): a policy qualifier OID and its value as raw DER."""
    policy_qualifier_id: Annotated[str, ObjectIdentifier]
    qualifier: Annotated[bytes, Any]


class PolicyInformation(Sequence, gc=False):
    """PolicyInformation (RFC 5280 §4.2.1.4): a certificate policy OID and its optional qualifiers."""
    policy_identifier: Annotated[str, ObjectIdentifier]
    policy_qualifiers: Annotated[list[PolicyQualifierInfo] | None,
                                 SequenceOf(PolicyQualifierInfo, min_size=1)] = field(optional=True)


CertificatePolicies = SequenceOf(PolicyInformation, min_size=1)

# extnID -> type of the value inside extnValue. Register more with EXTENSION_TYPES[oid] = type.
EXTENSION_TYPES: "dict[str, object]" = {
    oid.SUBJECT_KEY_IDENTIFIER: OctetString,
    oid.KEY_USAGE: KeyUsage,
    oid.SUBJECT_ALT_NAME: GeneralNames,
    oid.ISSUER_ALT_NAME: GeneralNames,
    oid.BASIC_CONSTRAINTS: BasicConstraints,
    oid.CRL_DISTRIBUTION_POINTS: CRLDistributionPoints,
    oid.CERTIFICATE_POLICIES: CertificatePolicies,
    oid.AUTHORITY_KEY_IDENTIFIER: AuthorityKeyIdentifier,
    oid.EXTENDED_KEY_USAGE: ExtendedKeyUsage,
    oid.AUTHORITY_INFO_ACCESS: AuthorityInfoAccess,
    oid.CRL_NUMBER: Integer,
    oid.DELTA_CRL_INDICATOR: Integer,
    oid.REASON_CODE: Enumerated,
    oid.INVALIDITY_DATE: GeneralizedTime,
    oid.CERTIFICATE_ISSUER: GeneralNames,
    oid.OCSP_NONCE: OctetString,
}


class Extension(Sequence, gc=False):
    """Extension (RFC 5280 §4.1.2.9); ``parsed`` is extnValue decoded by the OID's registered type."""
    extn_id: Annotated[str, ObjectIdentifier]
    critical: Annotated[bool, Boolean] = field(default=False)
    extn_value: Annotated[bytes, OctetString]

    # the typed value inside extnValue, decoded on first read (set below, once EXTENSION_TYPES is complete)
    parsed: ClassVar[LazyContained]

    oid: ClassVar["FieldPath[str]"] = FieldPath(0)  # extn_id
    # the contents of extnValue (the DER of the extension's own value)
    value: ClassVar["FieldPath[bytes]"] = FieldPath(2)

    @classmethod
    def build(cls, extn_id: str, value: object, critical: bool = False) -> "Extension":
        """An Extension whose value is encoded with its registered type (or given as DER bytes)."""
        if isinstance(value, (bytes, bytearray)) and EXTENSION_TYPES.get(extn_id) is not OctetString:
            der = bytes(value)
        else:
            t = EXTENSION_TYPES.get(extn_id)
            if t is None:
                raise EncodeError(f"no registered type for extension {extn_id}; pass DER bytes")
            der = encode(t, value)
        return cls(extn_id=extn_id, critical=critical, extn_value=der)


# ``parsed``: the typed value for the extensions in ``EXTENSION_TYPES``, the raw bytes for others. It is decoded on
# first read, in place in the certificate's bytes, and kept in one extra slot of the instance. A malformed value
# raises DecodeError on every read: its offset is in the whole input, its path relative to the value ("$" is the
# value's outermost element); Certificate's accessors and validate_extensions() give the full path.
Extension._asn1_spec.nslots = len(Extension._asn1_spec.fields) + 1
Extension.parsed = LazyContained(2, 0, len(Extension._asn1_spec.fields), EXTENSION_TYPES)

# lazy: a long list (hostile input: thousands of 7-byte extensions) is checked while decoding and built when read
Extensions = SequenceOf(Extension, min_size=1, lazy=True)


class Attribute(Sequence, gc=False):
    """An attribute (RFC 5280 / PKCS#10 / CMS): a type and a SET OF values kept as raw DER."""

    attr_type: Annotated[str, ObjectIdentifier]
    # a long set of tiny values is checked, not built, by the decode
    attr_values: Annotated[_Seq[bytes], SetOf(Any, lazy=True)]

    @property
    def oid(self) -> str:
        """The attribute's type OID (``attr_type``)."""
        return self.attr_type

    @property
    def values(self) -> "_Seq[bytes]":
        """The attribute's values as raw DER (``attr_values``)."""
        return self.attr_values


class TBSCertificate(Sequence, gc=False):
    """TBSCertificate (RFC 5280 §4.1.2): the signed part of a certificate."""
    version: Annotated[int, Integer] = field(explicit=0, default=0)
    serial_number: Annotated[int, Integer]
    signature: AlgorithmIdentifier
    issuer: Name
    validity: Validity
    subject: Name
    subject_public_key_info: SubjectPublicKeyInfo
    issuer_unique_id: Annotated[BitStringValue | None, BitString] = field(implicit=1, optional=True)
    subject_unique_id: Annotated[BitStringValue | None, BitString] = field(implicit=2, optional=True)
    extensions: Annotated[_Seq[Extension] | None, Extensions] = field(explicit=3, optional=True)


# A certificate's issuer and subject are checked as strict DER while decoding, down to each attribute value's own
# TLV (RDNs, attribute types, each value's framing, tag and form, as der.parse checks them); the string and time
# contents of each value, and the contents of a constructed value that do not parse (cryptography_vectors
# custom/name_attribute_unsupported_tag.pem), when it is read, as extension values are (cryptography also loads
# such certificates and fails when the name is read). A value with malformed contents (a UTF8String that is not
# UTF-8, an [APPLICATION 9] around octets that are not TLVs) is kept as its bytes and raises DecodeError from the
# decoded accessors (attributes, rdns, get, common_name); rfc4514_string() shows it as hex;
# Certificate.validate_names() checks both names at once. Elsewhere (requests, CRLs, OCSP, CMS) names stay checked
# in full while decoding.
_CERT_NAME = Name._asn1_spec.copy()
_CERT_NAME.lenient_values = True
_CERT_NAME.rdn_pairs_on_read = True
for _f in TBSCertificate._asn1_spec.fields:
    if _f.name in ("issuer", "subject"):
        _f.spec = _CERT_NAME
del _f


def _contents(der: bytes) -> "tuple[int, int]":
    # Where the contents of the one element ``der`` lie.
    (_, _, _, _, cs, ce), = tlv_children(der, 0, len(der))
    return cs, ce


def _parsed_at(ext: Extension, index: int) -> _TypingAny:
    # ext.parsed, with the error's path completed to where the extension sits in a certificate.
    try:
        return ext.parsed
    except DecodeError as e:
        for seg in (".extn_value", f"[{index}]", ".extensions", ".tbs_certificate"):
            e._push(seg)
        raise


def extension_value(exts: "Iterable[Extension] | None", extn_id: str, path: "tuple[str, ...]" = ()) -> _TypingAny:
    """The parsed value of the extension ``extn_id`` in ``exts`` (None when absent, or ``exts`` None). A malformed
    value raises :class:`DecodeError` whose path continues with ``path`` (the segments from the extension list
    up to the top, innermost first), as CRLs, CRL entries and OCSP messages read their extensions."""
    for i, ext in enumerate(exts or ()):
        if ext.extn_id == extn_id:
            try:
                return ext.parsed
            except DecodeError as e:
                for seg in (".extn_value", f"[{i}]", *path):
                    e._push(seg)
                raise
    return None


class Certificate(Sequence, gc=False):
    """Certificate (RFC 5280 §4.1), with accessors for the fields and extensions most callers need."""
    tbs_certificate: TBSCertificate
    signature_algorithm: AlgorithmIdentifier
    signature_value: Annotated[BitStringValue, BitString]

    @classmethod
    def from_pem(cls, text: "str | bytes") -> "Certificate":
        """Decode the first CERTIFICATE block of PEM ``text``; raises :class:`~estcodec.DecodeError`."""
        for label, der in _pem.decode(text):
            if label in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"):
                return cls.from_der(der)
        raise DecodeError("no CERTIFICATE block in the PEM input", 0, "invalid-pem")

    def to_pem(self) -> str:
        """The certificate as a PEM CERTIFICATE block (RFC 7468 §5)."""
        return _pem.encode("CERTIFICATE", self.to_der())

    # -- the fields users read --
    version: ClassVar["FieldPath[int]"] = FieldPath(0, 0)

    serial_number: ClassVar["FieldPath[int]"] = FieldPath(0, 1)

    subject: ClassVar["FieldPath[Name]"] = FieldPath(0, 5)

    issuer: ClassVar["FieldPath[Name]"] = FieldPath(0, 3)

    not_before: ClassVar["FieldPath[_dt.datetime]"] = FieldPath(0, 4, 0)

    not_after: ClassVar["FieldPath[_dt.datetime]"] = FieldPath(0, 4, 1)

    public_key_info: ClassVar["FieldPath[SubjectPublicKeyInfo]"] = FieldPath(0, 6)

    extensions: ClassVar["FieldPath[_Seq[Extension]]"] = FieldPath(0, 9, none_as_list=True)

    signature_algorithm_oid: ClassVar["FieldPath[str]"] = FieldPath(1, 0)

    signature: ClassVar["FieldPath[bytes]"] = FieldPath(2, attr="data")  # the signature bits as bytes
    tbs_der: ClassVar["FieldPath[bytes]"] = FieldPath(0, raw=True)  # the exact bytes the issuer signed

    def extension(self, extn_id: str) -> "Extension | None":
        """The extension with OID ``extn_id``, or None when the certificate has none."""
        for ext in self.extensions:
            if ext.extn_id == extn_id:
                found: Extension = ext
                return found
        return None

    def _ext_value(self, extn_id: str, default: object = None) -> _TypingAny:
        for i, ext in enumerate(self.extensions):
            if ext.extn_id == extn_id:
                return _parsed_at(ext, i)
        return default

    def validate_extensions(self) -> "Certificate":
        """Check the value of every extension registered in ``EXTENSION_TYPES`` now (``from_der`` checks the
        certificate's structure; extension values are otherwise checked when read). Returns the certificate, so
        ``Certificate.from_der(data).validate_extensions()`` refuses a certificate as a whole, as estcodec did
        before values were checked lazily. Raises ``DecodeError`` with the offset in the certificate's bytes and
        the path ``$.tbs_certificate.extensions[i].extn_value...`` of the first malformed value."""
        for i, ext in enumerate(self.extensions):
            _parsed_at(ext, i)
        return self

    def validate_names(self) -> "Certificate":
        """Check every attribute value of the issuer and subject names now (``from_der`` checks their structure;
        the values are otherwise checked when read). Returns the certificate, so
        ``Certificate.from_der(data).validate_names()`` refuses a certificate with a malformed name as estcodec did
        before names were checked lazily. Raises ``DecodeError`` with the offset in the certificate's bytes and the
        path ``$.tbs_certificate.issuer.rdn_sequence[i][j].value`` (or ``.subject...``) of the first malformed
        value."""
        tbs = self.tbs_certificate
        for seg, name in ((".issuer", tbs.issuer), (".subject", tbs.subject)):
            try:
                name.value  # noqa: B018 - decoded (and checked) on first access
            except DecodeError as e:
                e._push(seg)
                e._push(".tbs_certificate")
                raise
        return self

    @property
    def subject_key_identifier(self) -> "bytes | None":
        """The subjectKeyIdentifier extension's key identifier (RFC 5280 §4.2.1.2), or None."""
        ski: bytes | None = self._ext_value(oid.SUBJECT_KEY_IDENTIFIER)
        return ski

    @property
    def authority_key_identifier(self) -> "bytes | None":
        """The keyIdentifier of the authorityKeyIdentifier extension (RFC 5280 §4.2.1.1), or None."""
        aki = self._ext_value(oid.AUTHORITY_KEY_IDENTIFIER)
        return None if aki is None else cast("bytes | None", aki.key_identifier)

    @property
    def basic_constraints(self) -> "BasicConstraints | None":
        """The basicConstraints extension's value (RFC 5280 §4.2.1.9), or None when absent."""
        bc: BasicConstraints | None = self._ext_value(oid.BASIC_CONSTRAINTS)
        return bc

    @property
    def is_ca(self) -> bool:
        """True when basicConstraints says ``cA`` (RFC 5280 §4.2.1.9)."""
        bc = self.basic_constraints
        return bool(bc and bc.ca)

    @property
    def key_usage(self) -> "frozenset[str] | None":
        """The names of the key usage bits set (RFC 5280 §4.2.1.3), or None when the extension is absent."""
        ku: frozenset[str] | None = self._ext_value(oid.KEY_USAGE)
        return ku

    @property
    def extended_key_usage(self) -> "list[str]":
        """The extended key usage OIDs (RFC 5280 §4.2.1.12); an empty list when the extension is absent."""
        eku: list[str] = self._ext_value(oid.EXTENDED_KEY_USAGE, [])
        return eku

    @property
    def subject_alt_names(self) -> "list[GeneralName]":
        """The subjectAltName entries (RFC 5280 §4.2.1.6); an empty list when the extension is absent."""
        sans: list[GeneralName] = self._ext_value(oid.SUBJECT_ALT_NAME, [])
        return sans

    @property
    def is_self_issued(self) -> bool:
        """True when subject and issuer are the same name (compared as DER; RFC 5280 §6.1)."""
        return bool(self.subject.to_der() == self.issuer.to_der())

    def fingerprint(self, algorithm: str = "sha256") -> bytes:
        """The digest of the certificate's DER with ``algorithm`` (any name :func:`hashlib.new` knows)."""
        return hashlib.new(algorithm, self.to_der()).digest()

    def is_valid_at(self, when: "_dt.datetime | None" = None) -> bool:
        """Whether ``when`` (default: now) lies in the validity period (no signature or revocation check)."""
        when = when or _dt.datetime.now(_dt.timezone.utc)
        return bool(self.not_before <= when <= self.not_after)

    # -- interop --
    def to_cryptography(self) -> "_CryptoCertificate":
        """The certificate as a ``cryptography`` ``x509.Certificate``."""
        from cryptography import x509 as _x509

        return _x509.load_der_x509_certificate(self.to_der())

    @classmethod
    def from_cryptography(cls, cert: "_CryptoCertificate") -> "Certificate":
        """The certificate of a ``cryptography`` ``x509.Certificate``."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return cls.from_der(cert.public_bytes(Encoding.DER))

    def __repr__(self) -> str:
        serial = self.serial_number
        if serial.bit_length() <= 160:  # RFC 5280 §4.1.2.2: at most 20 octets; decimal as before
            shown = str(serial)
        else:  # a hostile serial: int-to-decimal would raise past 4,300 digits, and repr must never raise
            text = format(serial, "x")
            shown = f"0x{text[:40]}...({(serial.bit_length() + 7) // 8} bytes)"
        return f"<Certificate subject={self.subject.rfc4514_string()!r} serial={shown}>"


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
