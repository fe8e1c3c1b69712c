"""x509.Name read fast against the generic paths and against cryptography.

``Name.rfc4514_string`` reads the name's DER in one walk in the core (``_der.rfc4514_of``); the generic path walks
the RDN models (``Name._rfc4514_from_models``), and ``cryptography``'s ``rfc4514_string`` is the outside reference.
The three agree on every certificate of the vectors and on Hypothesis-generated names (escapes, multi-valued RDNs,
values that are not strings). ``Name.attributes`` of a decoded name is a list that remembers the name, so a name
rebuilt from it (edited or not) gives the values it still holds their original encoding and re-encodes identically.
"""
import pickle
import warnings
from pathlib import Path

import certifi
import pytest
from cryptography import x509 as cx
from cryptography.x509.oid import ObjectIdentifier
from hypothesis import given, settings
from hypothesis import strategies as st

from estcodec import DecodeError, EncodeError, pem
from estcodec._der import escape_rfc4514, rfc4514_method, rfc4514_of
from estcodec.schema import (
    BMPString, IA5String, PrintableString, TeletexString, UniversalString, UTF8String, VisibleString, encode,
)
from estcodec.x509 import OID_NAMES, AttributeTypeAndValue, Certificate, Name, NameAttributes, _escape_rfc4514, oid

from test_x509 import CERTS


def _decoded(der):
    try:
        return Certificate.from_der(der).validate_names()   # names whose values all decode
    except DecodeError:
        return None


DECODED = [(n, c) for n, c in ((n, _decoded(d)) for n, d in CERTS) if c is not None]
CERTIFI = [Certificate.from_der(d) for _, d in pem.decode(Path(certifi.where()).read_text())]

# cryptography writes a BIT STRING value (x500UniqueIdentifier) as '#' and the hex of its contents; RFC 4514 §2.4
# asks for the hex of the value's whole DER, which is what estcodec writes. The only difference on the vectors.
BIT_STRING_NAMES = {"scottishpower-bitstring-dn.pem", "unique_identifier.pem"}


def test_corpus_is_large():
    assert len(DECODED) > 600 and len(CERTIFI) == 117


def test_fast_string_equals_the_generic_walk_on_every_certificate():
    for name, cert in DECODED:
        for n in (cert.subject, cert.issuer):
            assert rfc4514_of(n, OID_NAMES) is not None, name
            assert n.rfc4514_string() == n._rfc4514_from_models(), name


def test_id_at_key_table_equals_the_oid_lookup():
    # The method writes the keys of id-at attributes (2.5.4.N) from a table made from OID_NAMES; rfc4514_of
    # decodes every OID and looks it up. Same strings on every name of the vectors, id-at types without a short
    # name stay dotted, and a table made from other keys is the table used.
    seen_at = set()
    for name, cert in DECODED:
        for n in (cert.subject, cert.issuer):
            assert n.rfc4514_string() == rfc4514_of(n, OID_NAMES), name
            seen_at.update(t for t, _ in n.attributes if t.startswith("2.5.4."))
    assert {oid.COMMON_NAME, oid.ORGANIZATION, oid.COUNTRY, oid.SERIAL_NUMBER} <= seen_at
    n = Name.build([[(oid.COMMON_NAME, "a")], [(oid.SERIAL_NUMBER, "7")], [("2.5.4.127", "x")], [("2.5.4.128", "y")]])
    n = Name.from_der(n.to_der())
    assert n.rfc4514_string() == "2.5.4.128=y,2.5.4.127=x,2.5.4.5=7,CN=a"
    other = rfc4514_method({oid.COMMON_NAME: "commonName", "2.5.4.127": "last", "2.5.4.128": "past"},
                           None, None)
    assert other(n) == "past=y,last=x,2.5.4.5=7,commonName=a"


def test_string_equals_cryptography_on_every_certificate_both_read():
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cert in DECODED:
            try:
                theirs = cx.load_der_x509_certificate(cert.to_der())
                expected = [theirs.subject.rfc4514_string(), theirs.issuer.rfc4514_string()]
            except Exception:  # noqa: BLE001 - what cryptography cannot read is out of this comparison
                continue
            ours = [cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()]
            compared += 1
            if name.split("#")[0] in BIT_STRING_NAMES:
                # ours: '#03' + length + contents; theirs: '#' + contents
                assert ours[0].replace("=#030900", "=#00") == expected[0], name
                assert ours[0] != expected[0]
                continue
            assert ours == expected, name
    assert compared > 600


def test_ber_decoded_names_take_the_generic_path_and_agree():
    for cert in CERTIFI[:20]:
        n = Name.from_der(cert.subject.to_der(), ber=True)
        assert rfc4514_of(n, OID_NAMES) is None
        assert n.rfc4514_string() == cert.subject.rfc4514_string()


def test_built_names_without_bytes_use_the_models():
    n = Name("rdn_sequence", [[AttributeTypeAndValue(type=oid.COMMON_NAME, value=encode(UTF8String, "a,b"))]])
    assert rfc4514_of(n, OID_NAMES) is None
    assert n.rfc4514_string() == "CN=a\\,b"


def test_multi_valued_rdn_and_non_string_values():
    n = Name.build([[(oid.ORGANIZATIONAL_UNIT, "x+y"), (oid.COMMON_NAME, " lead")],
                    [("1.2.3.4", bytes.fromhex("020105"))], [(oid.COUNTRY, "DE")]])
    s = n.rfc4514_string()
    assert s == n._rfc4514_from_models()
    # the SET OF is sorted by DER: the shorter encoding (OU) first
    assert s == "C=DE,1.2.3.4=#020105,OU=x\\+y+CN=\\ lead"


@pytest.mark.parametrize("value, expected", [
    ("", ""), (" ", "\\ "), ("  ", "\\ \\ "), ("#a", "\\#a"), ("a#", "a#"), ("a ", "a\\ "), ("\x00", "\\00"),
    ('a,b+c"d\\e<f>g;h', 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h'), ("é ü", "é ü"), ("=", "="),
])
def test_escapes(value, expected):
    assert escape_rfc4514(value) == _escape_rfc4514(value) == expected
    if value:
        assert cx.NameAttribute(cx.NameOID.ORGANIZATION_NAME, value).rfc4514_string() == "O=" + expected


@pytest.mark.parametrize("value", ["", " ", "  ", "#", "#a", "a#", "a ", " a", "\x00", "a\x00b", "x,y+z", '"q"', "\\",
                                   "<>;", "=", "é ü", "  x  "])
def test_escapes_in_whole_names(value):
    # the one-buffer path (ASCII values), the value-by-value path (non-ASCII) and the models all escape alike
    for t in (UTF8String, IA5String):
        if t is IA5String and not value.isascii():
            continue
        n = Name.build([(oid.ORGANIZATION, encode(t, value)), ("1.2.3", encode(t, value))])
        expected = f"1.2.3={_escape_rfc4514(value)},O={_escape_rfc4514(value)}"
        assert n.rfc4514_string() == n._rfc4514_from_models() == expected


def test_rebuilt_names_keep_their_string_types():
    same = sum(Name.build(c.subject.attributes).to_der() == c.subject.to_der() for c in CERTIFI)
    assert same == 117
    rebuilt = 0
    for name, cert in DECODED:
        for n in (cert.subject, cert.issuer):
            if any(len(rdn) > 1 for rdn in n.rdns):
                continue  # Name.build of a flat list makes one RDN per attribute
            assert Name.build(n.attributes).to_der() == n.to_der(), name
            rebuilt += 1
    assert rebuilt > 1200


def test_edited_attribute_lists_keep_the_encodings_of_what_they_still_hold():
    cert = next(c for c in CERTIFI if b"\x13" in c.subject.to_der()[:40] and c.subject.common_name)
    attrs = cert.subject.attributes
    assert isinstance(attrs, NameAttributes) and attrs.source is cert.subject
    i = [t for t, _ in attrs].index(oid.COMMON_NAME)
    attrs[i] = (oid.COMMON_NAME, "replaced")
    rebuilt = Name.build(attrs)
    assert rebuilt.attributes == attrs
    fresh = Name.build([(t, str(v)) if isinstance(v, str) else (t, v) for t, v in list(attrs)])
    old_rdns = [r for j, r in enumerate(cert.subject.rdns) if j != i]
    new_rdns = [r for j, r in enumerate(rebuilt.rdns) if j != i]
    assert [r[0].to_der() for r in new_rdns] == [r[0].to_der() for r in old_rdns]  # kept byte for byte
    assert rebuilt.rdns[i][0].to_der() == fresh.rdns[i][0].to_der()  # the new value: Name.build's default
    # a plain copy forgets the name: values get Name.build's defaults
    assert type(attrs[:]) is list and type(list(attrs)) is list
    assert pickle.loads(pickle.dumps(attrs)) == list(attrs)


def test_attributes_of_a_ber_name_rebuild_as_der():
    # BER around DER attributes: the attributes keep their encoding (a PrintableString here)
    ber = bytes.fromhex("3080" "310c300a06035504031303616263" "0000")
    n = Name.from_der(ber, ber=True)
    assert n.attributes == [(oid.COMMON_NAME, "abc")]
    assert Name.build(n.attributes).to_der() == bytes.fromhex("300e310c300a06035504031303616263")
    # indefinite lengths all the way down: the decoded name holds DER, the string type is kept as well
    ber = bytes.fromhex("3080" "3180" "3080" "0603550403" "1303616263" "0000" "0000" "0000")
    n = Name.from_der(ber, ber=True)
    assert Name.build(n.attributes).to_der() == bytes.fromhex("300e310c300a06035504031303616263")


def test_attribute_lists_of_built_names_are_plain():
    n = Name("rdn_sequence", [[AttributeTypeAndValue(type=oid.COMMON_NAME, value=encode(UTF8String, "x"))]])
    assert type(n.attributes) is list
    assert isinstance(Name.build([(oid.COMMON_NAME, "x")]).attributes, NameAttributes)


# --- generated names -----------------------------------------------------------------------------------------

_SPECIAL = ',+"\\<>;#= \x00'
_STRING_TYPES = [
    (UTF8String, st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(_SPECIAL),
                         max_size=12)),
    (PrintableString, st.text(st.sampled_from("AZaz09 '()+,-./:=?"), max_size=8)),
    (IA5String, st.text(st.characters(max_codepoint=0x7F) | st.sampled_from(_SPECIAL), max_size=8)),
    (VisibleString, st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)),
    (BMPString, st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=8)),
    (UniversalString, st.text(st.characters(exclude_categories=["Cs"]), max_size=6)),
    (TeletexString, st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6)),
]
_OIDS = [oid.ORGANIZATION, oid.ORGANIZATIONAL_UNIT, oid.LOCALITY, oid.STATE, oid.STREET, oid.DOMAIN_COMPONENT,
         oid.USER_ID, oid.TITLE, oid.SERIAL_NUMBER, "1.2.3.4.5", "2.999.1"]


@st.composite
def _attribute(draw):
    attr = draw(st.sampled_from(_OIDS))
    if draw(st.integers(0, 9)) == 0:  # a value that is not a string
        return attr, draw(st.sampled_from([bytes.fromhex("020100"), bytes.fromhex("0101ff"), bytes.fromhex("0500"),
                                           bytes.fromhex("3003020101"), bytes.fromhex("0403616263"),
                                           bytes.fromhex("030200ff")]))
    t, text = draw(st.sampled_from(_STRING_TYPES))
    return attr, encode(t, draw(text))


_NAMES = st.lists(st.lists(_attribute(), min_size=1, max_size=3), max_size=5)


def _cryptography_string(name: Name) -> "str | None":
    """cryptography's rfc4514_string of the same attributes in the same order (None where it has no such value)."""
    rdns = []
    for rdn in name.rdns:
        attrs = []
        for a in rdn:
            if not isinstance(a.value, str):
                return None
            attrs.append(cx.NameAttribute(ObjectIdentifier(a.type), str(a.value)))
        rdns.append(cx.RelativeDistinguishedName(attrs))
    return cx.Name(rdns).rfc4514_string()


@settings(max_examples=300, deadline=None)
@given(_NAMES)
def test_generated_names_fast_generic_and_cryptography_agree(groups):
    try:
        name = Name.build([list(g) for g in groups])
    except Exception:  # noqa: BLE001 - a SET OF with two equal attributes: not a name to compare
        return
    fast = name.rfc4514_string()
    assert fast == name._rfc4514_from_models()
    try:  # and back
        assert _rdn_values(Name.from_rfc4514(fast)) == _rdn_values(name)
    except EncodeError:  # Name.build's string type for that attribute (IA5String, PrintableString) cannot hold it
        assert any(t in (oid.DOMAIN_COMPONENT, oid.SERIAL_NUMBER) for t, _ in name.attributes)
    assert fast == Name.from_der(name.to_der(), ber=True).rfc4514_string()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = _cryptography_string(name)
        except ValueError:  # cryptography refuses some values (a lone surrogate-free but odd string, ...)
            theirs = None
    if theirs is not None:
        assert fast == theirs
    # rebuilt from its attributes, the name re-encodes identically (encodings kept)
    if all(len(rdn) == 1 for rdn in name.rdns):
        assert Name.build(name.attributes).to_der() == name.to_der()


# --- RFC 4514 strings back to names ----------------------------------------------------------------------------

def _rdn_values(name: Name) -> list:
    """Per RDN, the sorted (type, value) pairs; non-string values as their DER."""
    from estcodec.x509 import _value_tlv

    return [sorted((a.type, a.value if isinstance(a.value, str) else _value_tlv(a).hex()) for a in rdn)
            for rdn in name.rdns]


def test_rfc4514_strings_parse_back_to_the_same_values_on_every_certificate():
    parsed = 0
    for name, cert in DECODED:
        for n in (cert.subject, cert.issuer):
            back = Name.from_rfc4514(n.rfc4514_string())
            assert _rdn_values(back) == _rdn_values(n), name
            assert back.rfc4514_string() == n.rfc4514_string()
            parsed += 1
    assert parsed > 1200


@pytest.mark.parametrize("text, expected", [
    ("CN=a, O=b", [[(oid.ORGANIZATION, "b")], [(oid.COMMON_NAME, "a")]]),  # spaces after the comma: tolerated
    ("cn=x+ou=y", [sorted([(oid.COMMON_NAME, "x"), (oid.ORGANIZATIONAL_UNIT, "y")])]),
    ("CN=\\2C\\00\\C3\\A9=", [[(oid.COMMON_NAME, ",\x00é=")]]),
    ("emailAddress=a@b", [[(oid.EMAIL_ADDRESS, "a@b")]]),
    ("1.2.3=#0101ff", [[("1.2.3", "0101ff")]]),
])
def test_rfc4514_parse_cases(text, expected):
    assert _rdn_values(Name.from_rfc4514(text)) == expected


@pytest.mark.parametrize("text", ["CN", "FOO=x", "1.2.x=y", "CN=x\\", "1.2.3=#0g", "CN=\\C3", "O=a,CN", "1.2.3=#0102"])
def test_rfc4514_parse_refusals(text):
    with pytest.raises(EncodeError):
        Name.from_rfc4514(text)


# --- the one-buffer path's bounds ------------------------------------------------------------------------------

@pytest.mark.parametrize("length", range(1012, 1030))
def test_names_around_the_buffer_size_agree_with_the_models(length):
    # the buffer holds 1024 octets: longer strings (and every length near it) hand over to the value-by-value walk
    for groups in ([(oid.ORGANIZATION, "x"), (oid.COMMON_NAME, "a" * length)],
                   [[(oid.ORGANIZATIONAL_UNIT, "y"), (oid.COMMON_NAME, "b" * (length - 8))]],
                   [(oid.ORGANIZATION, "x"), (oid.COMMON_NAME, "," * (length // 3))],
                   [("1.2.3", bytes([4, 0x82]) + (length // 2).to_bytes(2, "big") + b"\x01" * (length // 2))]):
        n = Name.build(groups)
        assert n.rfc4514_string() == n._rfc4514_from_models()


def test_the_core_walk_refuses_choices_that_are_not_names():
    from estcodec.schema import Choice, Integer, Sequence
    from estcodec.x509 import GeneralName

    class Pair(Sequence):
        a: Integer
        b: Integer

    class Either(Choice):
        pair: Pair
        number: Integer

    assert rfc4514_of(GeneralName.from_der(bytes.fromhex("820161")), OID_NAMES) is None
    assert rfc4514_of(Either.from_der(bytes.fromhex("3006020101020102")), OID_NAMES) is None
    assert rfc4514_of(Either.from_der(bytes.fromhex("020105")), OID_NAMES) is None
