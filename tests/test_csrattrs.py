"""Tests of estcodec.csrattrs: CSR Attributes (RFC 7030 §4.5.2, RFC 8951, RFC 9908).

Vectors (tests/vectors, provenance in its README): every RFC 9908 example (lamps-csrattrs-draft), RFC 7030
A.2 and the §4.5.2 example (rfc7030/), the CsrAttrs blobs of pyasn1-alt-modules (RFC 7030/8951/9908 test cases,
named in its index.tsv) and Cisco libest's unit-test blobs (libest/csrattrs). pyasn1-modules' rfc7030 module is
the independent decoder; the RFC 9908 template is cross-checked against a pyasn1 transcription of the RFC's
ASN.1 module written here.
"""
from __future__ import annotations

import base64
import pickle
from pathlib import Path

import pytest
from cryptography import x509 as cx509
from pyasn1.codec.der import decoder as der_decoder, encoder as der_encoder
from pyasn1.type import char, constraint, namedtype, tag, univ
from pyasn1_modules import rfc5280, rfc7030

from estcodec import DecodeError, EncodeError
from estcodec.der import parse
from estcodec import csrattrs as ca
from estcodec.csrattrs import (
    AlgorithmIdentifier, Attribute, CertificationRequestInfoTemplate, CsrAttribute, CsrAttrs, CsrAttrsBuilder,
    Extension, ExtensionTemplate, KeyTypeRequirement, NameTemplate, SingleAttributeTemplate,
    SubjectPublicKeyInfoTemplate,
    Unrecognized, oid,
)
from estcodec.schema import Integer, ObjectIdentifier, OctetString, SequenceOf, UTF8String, encode

VECTORS = Path(__file__).resolve().parent / "vectors"
LAMPS = VECTORS / "lamps-csrattrs-draft"
LIBEST = VECTORS / "libest" / "csrattrs"
PYALT = VECTORS / "pyasn1-alt-modules"

MAC_ADDRESS = "1.3.6.1.1.1.1.22"
ECDSA_SHA384 = "1.2.840.10045.4.3.3"
SHA256_RSA = "1.2.840.113549.1.1.11"

# libest's blobs that are not a CsrAttrs at all: two deliberately corrupt ones (us896) and the one-byte "MA=="
# (us895 TEST_ATTR7, which libest's own client rejects as too short). Everything else must decode.
LIBEST_BROKEN = {
    "us895__TEST_ATTR7.der": ("truncated", 0),            # 30 (no length)
    "us896__TEST_CORRUPT_ATTR1.der": ("truncated", 0),    # 30 7c ... but only 122 bytes follow
    "us896__TEST_CORRUPT_ATTR2.der": ("length-too-long", 80),  # garbage inside the 2.999.2 SET
}


def _pyalt_csrattrs() -> list[Path]:
    names = []
    for line in (PYALT / "index.tsv").read_text().splitlines()[1:]:
        name = line.split("\t")[0]
        if "CSRAttrs" in name or name.startswith("rfc9908__"):
            names.append(PYALT / "der" / f"{name}.der")
    return names


LAMPS_FILES = sorted(LAMPS.glob("*.csrattr.der"))
RFC7030_FILES = [VECTORS / "rfc7030" / "A.2_csrattrs_response.der",
                 VECTORS / "rfc7030" / "sec4.5.2_csrattrs_example.der"]
PYALT_FILES = _pyalt_csrattrs()
LIBEST_GOOD = sorted(p for p in LIBEST.glob("*.der") if p.name not in LIBEST_BROKEN)
ALL_GOOD = LAMPS_FILES + RFC7030_FILES + PYALT_FILES + LIBEST_GOOD


def _id(p: Path) -> str:
    return p.name


def test_vector_inventory():
    # guards against a silently empty parametrisation
    assert len(LAMPS_FILES) == 6
    assert len(PYALT_FILES) == 8
    assert len(LIBEST_GOOD) == 23 and len(list(LIBEST.glob("*.der"))) == 26


# ---------------------------------------------------------------- round trips over every vector


@pytest.mark.parametrize("path", ALL_GOOD, ids=_id)
def test_decodes_and_reencodes_identically(path):
    data = path.read_bytes()
    c = CsrAttrs.from_der(data)
    assert c.to_der() == data
    # rebuilt from the decoded values (not from the kept bytes)
    rebuilt = CsrAttrs(c.items)
    assert rebuilt.to_der() == data
    assert rebuilt == c
    # and through the builder, element by element
    b = CsrAttrsBuilder()
    for it in c.items:
        if isinstance(it, str):
            b.oid(it)
        elif isinstance(it, CsrAttribute):
            b.attribute(it.oid, *it.values)
    if not c.unrecognized:
        assert b.build().to_der() == data
    assert len(c) == len(c.items) == len(c.oids) + len(c.attributes) + len(c.unrecognized)
    assert c.is_empty() == (len(c) == 0)
    assert pickle.loads(pickle.dumps(c)).to_der() == data


@pytest.mark.parametrize("path", [p for p in ALL_GOOD if p.name != "us895__TEST_ALL_ATTR.der"], ids=_id)
def test_matches_pyasn1_modules(path):
    """pyasn1-modules' RFC 7030 CsrAttrs reads the same OIDs and attribute values."""
    data = path.read_bytes()
    ref, rest = der_decoder.decode(data, asn1Spec=rfc7030.CsrAttrs())
    assert rest == b""
    expected = []
    for e in ref:
        if e.getName() == "oid":
            expected.append(str(e["oid"]))
        else:
            a = e["attribute"]
            expected.append((str(a["attrType"]), [bytes(v) for v in a["attrValues"]]))
    got = [it if isinstance(it, str) else (it.oid, it.values) for it in CsrAttrs.from_der(data).items]
    assert got == expected


@pytest.mark.parametrize("path", sorted(LAMPS.glob("*.csrattr.der")), ids=_id)
def test_lamps_b64_matches_der(path):
    b64 = path.with_suffix(".b64").read_text()
    assert base64.b64decode("".join(b64.split())) == path.read_bytes()


@pytest.mark.parametrize("name,reason_offset", sorted(LIBEST_BROKEN.items()))
def test_libest_corrupt_blobs_raise_decode_error(name, reason_offset):
    with pytest.raises(DecodeError) as info:
        CsrAttrs.from_der((LIBEST / name).read_bytes())
    assert (info.value.reason, info.value.offset) == reason_offset


@pytest.mark.parametrize("path", ALL_GOOD, ids=_id)
def test_every_truncation_raises_decode_error(path):
    data = path.read_bytes()
    for n in range(len(data)):
        with pytest.raises(DecodeError):
            CsrAttrs.from_der(data[:n])


@pytest.mark.parametrize("path", LAMPS_FILES + RFC7030_FILES, ids=_id)
def test_trailing_data_rejected(path):
    with pytest.raises(DecodeError) as info:
        CsrAttrs.from_der(path.read_bytes() + b"\x00")
    assert info.value.reason == "trailing-data"


# ---------------------------------------------------------------- what the RFC examples mean


def _load(p: Path) -> CsrAttrs:
    return CsrAttrs.from_der(p.read_bytes())


def test_harkins01_rsa_4096():
    c = _load(LAMPS / "harkins01.csrattr.der")
    assert c.oids == [oid.CHALLENGE_PASSWORD, SHA256_RSA]
    assert c.challenge_password_requested
    assert c.key_types == [KeyTypeRequirement(oid.RSA_ENCRYPTION, None, 4096, [b"\x02\x02\x10\x00"])]
    assert c.attribute(oid.RSA_ENCRYPTION).typed_values == [4096]
    assert c.template is None and c.extension_request is None


def test_published_rfc9908_section5_4_matches_draft():
    # pyasn1-alt-modules took its copy from the published RFC: same bytes as the draft's harkins01
    c = _load(PYALT / "der" / "rfc9908__RFC9908Section5_4TestCase__pem_text.der")
    assert [k.rsa_key_size for k in c.key_types] == [4096]
    assert c.to_der() == (LAMPS / "harkins01.csrattr.der").read_bytes()


@pytest.mark.parametrize("name,curve,oids", [
    ("harkins02.csrattr.der", oid.SECP384R1, [oid.CHALLENGE_PASSWORD, "2.5.4.5", ECDSA_SHA384]),
    ("harkins03.csrattr.der", oid.SECP521R1,
     [oid.CHALLENGE_PASSWORD, "1.2.840.113549.1.9.20", "0.9.2342.19200300.100.1.5", "2.5.4.5",
      "1.2.840.10045.4.3.4"]),
    ("rfc7030-example01.csrattr.der", oid.SECP384R1, [oid.CHALLENGE_PASSWORD, MAC_ADDRESS, ECDSA_SHA384]),
])
def test_ec_key_type_examples(name, curve, oids):
    c = _load(LAMPS / name)
    assert c.oids == oids
    (kt,) = c.key_types
    assert kt.algorithm == oid.EC_PUBLIC_KEY and kt.curve == curve and kt.rsa_key_size is None
    assert not kt.any_parameters
    assert c.contains_oid(oid.EC_PUBLIC_KEY) and c.contains_oid(oids[-1])
    assert not c.contains_oid(oid.EXTENSION_REQUEST)


def test_realistic_acp_extension_request():
    c = _load(LAMPS / "realistic-acp.csrattr.der")
    assert c.oids == [] and len(c) == 1
    (ext,) = c.extension_request
    assert isinstance(ext, Extension)
    assert ext.oid == "2.5.29.17" and ext.critical is True
    # the SAN holds one otherName (RFC 8994 AcpNodeName), read here by pyasn1-modules
    other = _decode_other_name(ext.value)
    assert other == ("1.3.6.1.5.5.7.8.10", "rfc8994+fd739fc23c3440112233445500000000+@acp.example.com")
    assert c.attribute(oid.EXTENSION_REQUEST).typed_values[0][0].to_der() == ext.to_der()


def _decode_other_name(san_der: bytes) -> tuple[str, str]:
    names, _ = der_decoder.decode(san_der, asn1Spec=rfc5280.GeneralNames())
    on = names[0]["otherName"]
    inner, _ = der_decoder.decode(bytes(on["value"]), asn1Spec=char.IA5String())  # inside [0] EXPLICIT
    return str(on["type-id"]), str(inner)


def test_rfc7030_original_example_macaddress_kept_raw():
    """RFC 7030 §4.5.2 puts the macAddress OID inside extensionRequest; RFC 9908 calls that not correct.
    The value is kept, not rejected, and shown where it makes sense."""
    c = _load(VECTORS / "rfc7030" / "sec4.5.2_csrattrs_example.der")
    a = c.attribute(oid.EXTENSION_REQUEST)
    assert a.values == [b"\x06\x07\x2b\x06\x01\x01\x01\x01\x16"]
    assert a.typed_values == a.values  # not an Extensions: stays raw
    assert c.extension_request is None
    assert c.extension_request_oids == [MAC_ADDRESS]
    assert c.oids == [oid.CHALLENGE_PASSWORD, ECDSA_SHA384]
    assert c.contains_oid(MAC_ADDRESS) is False  # it is a value, not an element
    assert [k.curve for k in c.key_types] == [oid.SECP384R1]


def test_rfc7030_a2():
    c = _load(VECTORS / "rfc7030" / "A.2_csrattrs_response.der")
    assert c.oids == [MAC_ADDRESS, oid.CHALLENGE_PASSWORD, "1.3.36.3.3.2.8.1.1.11", "2.16.840.1.101.3.4.2.2"]
    assert [(a.oid, len(a.values)) for a in c.attributes] == [("2.999.1", 1), ("2.999.2", 3)]
    assert c.attribute("2.999.2").values[2] == b"\x13\x19Parse SET as 2.999.2 data"


def test_libest_all_attr_keeps_unrecognized_element_and_odd_values():
    """libest's TEST_ALL_ATTR has a BOOLEAN in the outer SEQUENCE and a NumericString holding letters."""
    data = (LIBEST / "us895__TEST_ALL_ATTR.der").read_bytes()
    c = CsrAttrs.from_der(data)
    assert c.unrecognized == [b"\x01\x01\x00"]
    assert isinstance(c.items[-1], Unrecognized)
    a = c.attribute("2.999.2")
    assert len(a.values) == 13
    assert b"\x12\x101234567890ABCDEF" in a.values  # invalid NumericString kept raw
    assert c.to_der() == data and CsrAttrs(c.items).to_der() == data
    assert "?" in repr(c)


def test_empty_and_degenerate():
    c = CsrAttrs.from_der(b"\x30\x00")
    assert c.is_empty() and len(c) == 0 and c.oids == [] and c.key_types == [] and c.template is None
    assert CsrAttrs().to_der() == b"\x30\x00"
    assert CsrAttrs.from_der((LIBEST / "us1159__US1159_ATTR_CN_ONLY.der").read_bytes()).oids == ["2.5.4.3"]


# ---------------------------------------------------------------- leniency and strictness, byte-exact


def test_sequence_that_is_not_an_attribute_is_rejected():
    # the leniency covers elements with other tags only (what libest sends), not malformed Attributes
    data = bytes.fromhex("300e" "06092a864886f70d010907" "3003020101")  # ..., SEQUENCE { INTEGER 1 }
    with pytest.raises(DecodeError) as info:
        CsrAttrs.from_der(data)
    assert info.value.path.startswith("$[1]")


def test_unrecognized_element_kept_in_place():
    data = bytes.fromhex("3010" "0101ff" "06092a864886f70d010907" "0500")
    c = CsrAttrs.from_der(data)
    assert c.items == [Unrecognized(b"\x01\x01\xff"), oid.CHALLENGE_PASSWORD, Unrecognized(b"\x05\x00")]
    assert c.to_der() == data and CsrAttrs(c.items).to_der() == data


def test_ber_input_needs_the_switch():
    der = (LAMPS / "harkins01.csrattr.der").read_bytes()
    ber = b"\x30\x80" + der[2:] + b"\x00\x00"
    with pytest.raises(DecodeError) as info:
        CsrAttrs.from_der(ber)
    assert info.value.reason == "indefinite-length"
    c = CsrAttrs.from_der(ber, ber=True)
    assert c.to_der() == der and c == CsrAttrs.from_der(der)


def test_oid_zero_zero_is_valid():
    assert CsrAttrs.from_der(bytes.fromhex("3003060100")).oids == ["0.0"]


@pytest.mark.parametrize("hexdata,reason", [
    ("30020600", "invalid-oid"),             # empty OID
    ("3004060280 01", "invalid-oid"),        # non-minimal subidentifier
    ("3081030601 2a", "non-minimal-length"),  # long form for a short length
    ("3080060128 0000", "indefinite-length"),
    ("310306012a", "unexpected-tag"),        # a SET, not a SEQUENCE
    ("3005" "0101ff" "0600", "invalid-oid"),  # a malformed OID next to an unrecognized element
])
def test_malformed_structure(hexdata, reason):
    with pytest.raises(DecodeError) as info:
        CsrAttrs.from_der(bytes.fromhex(hexdata.replace(" ", "")))
    assert info.value.reason == reason


def test_key_type_with_empty_values_means_any_parameters():
    # RFC 9908 §3.3: "The values field MAY be empty"
    data = CsrAttrsBuilder().ec_key().rsa_key().oid(oid.ED25519).build().to_der()
    assert data == bytes.fromhex("3021" "300b06072a8648ce3d02013100" "300d06092a864886f70d0101013100"
                                 "0603" "2b6570")
    c = CsrAttrs.from_der(data)
    assert [(k.algorithm, k.any_parameters) for k in c.key_types] == [
        (oid.EC_PUBLIC_KEY, True), (oid.RSA_ENCRYPTION, True), (oid.ED25519, True)]
    # pyasn1-modules reads the empty SETs too
    ref, _ = der_decoder.decode(data, asn1Spec=rfc7030.CsrAttrs())
    assert len(ref[0]["attribute"]["attrValues"]) == 0


def test_key_type_value_of_wrong_type_kept_raw():
    wrong = encode(UTF8String, "P-256")
    c = CsrAttrsBuilder().key_type(oid.EC_PUBLIC_KEY, wrong).key_type(oid.RSA_ENCRYPTION, wrong).build()
    c = CsrAttrs.from_der(c.to_der())
    assert [(k.curve, k.rsa_key_size, k.parameters) for k in c.key_types] == [(None, None, [wrong])] * 2
    assert c.attribute(oid.EC_PUBLIC_KEY).typed_values == [wrong]


@pytest.mark.parametrize("attr_oid", [oid.CHALLENGE_PASSWORD, oid.OTP_CHALLENGE, oid.REVOCATION_CHALLENGE,
                                      oid.EST_IDENTITY_LINKING])
def test_challenge_attributes(attr_oid):
    utf8 = encode(UTF8String, "s3cret")
    printable = bytes.fromhex("1303616263")
    not_a_string = encode(Integer, 7)
    c = CsrAttrs.from_der(CsrAttrsBuilder().attribute(attr_oid, utf8, printable, not_a_string).build().to_der())
    assert c.requires(attr_oid)
    # SET OF values come out in DER order (sorted by encoding): INTEGER, UTF8String, PrintableString
    assert c.attribute(attr_oid).typed_values == [not_a_string, "s3cret", "abc"]
    # pyasn1-modules' RFC 7894 DirectoryString reads the string values
    ref, _ = der_decoder.decode(c.to_der(), asn1Spec=rfc7030.CsrAttrs())
    assert [bytes(v) for v in ref[0]["attribute"]["attrValues"]] == sorted([utf8, printable, not_a_string])


def test_rfc7894_oids():
    from pyasn1_modules import rfc7894
    assert str(rfc7894.id_aa_otpChallenge) == oid.OTP_CHALLENGE
    assert str(rfc7894.id_aa_revocationChallenge) == oid.REVOCATION_CHALLENGE
    assert str(rfc7894.id_aa_estIdentityLinking) == oid.EST_IDENTITY_LINKING


# ---------------------------------------------------------------- building


def test_builder_rfc7030_example_reproduced():
    """The corrected RFC 7030 example (RFC 9908 §5.2) built from values gives the published bytes."""
    built = (CsrAttrsBuilder().oid(oid.CHALLENGE_PASSWORD).ec_key(oid.SECP384R1).oid(MAC_ADDRESS)
             .oid(ECDSA_SHA384).build())
    assert built.to_der() == (LAMPS / "rfc7030-example01.csrattr.der").read_bytes()


def test_builder_extension_request_read_by_pyasn1():
    ku = Extension(extn_id="2.5.29.15", critical=True, extn_value=bytes.fromhex("03020780"))
    bc = Extension(extn_id="2.5.29.19", extn_value=bytes.fromhex("3000"))
    c = CsrAttrsBuilder().extension_request([ku, bc]).oid(oid.CHALLENGE_PASSWORD).build()
    ref, _ = der_decoder.decode(c.to_der(), asn1Spec=rfc7030.CsrAttrs())
    attr = ref[0]["attribute"]
    assert str(attr["attrType"]) == oid.EXTENSION_REQUEST
    exts, _ = der_decoder.decode(bytes(attr["attrValues"][0]), asn1Spec=rfc5280.Extensions())
    assert [(str(e["extnID"]), bool(e["critical"]), bytes(e["extnValue"])) for e in exts] == [
        ("2.5.29.15", True, bytes.fromhex("03020780")), ("2.5.29.19", False, bytes.fromhex("3000"))]
    assert [e.oid for e in CsrAttrs.from_der(c.to_der()).extension_request] == ["2.5.29.15", "2.5.29.19"]


def test_builder_refuses_what_rfc9908_forbids():
    ext = Extension(extn_id="2.5.29.19", extn_value=b"\x30\x00")
    with pytest.raises(EncodeError):
        CsrAttrsBuilder().extension_request([ext]).extension_request([ext])
    with pytest.raises(EncodeError):
        CsrAttrsBuilder().extension_request([ext, ext])
    with pytest.raises(EncodeError):
        CsrAttrsBuilder().oid("not.an.oid")
    with pytest.raises(EncodeError):
        CsrAttrsBuilder().attribute(oid.CHALLENGE_PASSWORD, b"\x0c\x05ab")  # not a whole TLV
    with pytest.raises(DecodeError):
        CsrAttrsBuilder().extension_request(b"\x30\x00")  # Extensions is SIZE (1..MAX)
    with pytest.raises(TypeError):
        CsrAttrs([42])
    with pytest.raises(EncodeError):
        CsrAttrs(["1.2.840.x"])
    with pytest.raises(EncodeError):
        CsrAttrs([CsrAttribute("2.999.1", [b"\x0c\x05ab"])])
    with pytest.raises(EncodeError):
        CsrAttrs([Unrecognized(b"\x06\x01\x2a")])


def test_constructor_accepts_models_and_keeps_order():
    a = Attribute(attr_type="2.999.1", attr_values=[b"\x05\x00"])
    c = CsrAttrs(["1.2.3", a, CsrAttribute.of("2.999.2"), Unrecognized(b"\x01\x01\xff")])
    assert [type(i).__name__ for i in c.items] == ["str", "CsrAttribute", "CsrAttribute", "Unrecognized"]
    back = CsrAttrs.from_der(c.to_der())
    assert back.items == c.items and back.to_der() == c.to_der()


# ---------------------------------------------------------------- the RFC 9908 template


class _PyAttr(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", univ.ObjectIdentifier()),
        namedtype.NamedType("values", univ.SetOf(componentType=univ.Any())))


class _PySingleAttributeTemplate(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", univ.ObjectIdentifier()),
        namedtype.OptionalNamedType("value", univ.Any()))


class _PyRDNTemplate(univ.SetOf):
    componentType = _PySingleAttributeTemplate()
    subtypeSpec = constraint.ValueSizeConstraint(1, float("inf"))


class _PySPKITemplate(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("algorithm", rfc5280.AlgorithmIdentifier()),
        namedtype.OptionalNamedType("subjectPublicKey", univ.BitString()))


class _PyExtensionTemplate(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("extnID", univ.ObjectIdentifier()),
        namedtype.DefaultedNamedType("critical", univ.Boolean().subtype(value=0)),
        namedtype.OptionalNamedType("extnValue", univ.OctetString()))


class _PyCRITemplate(univ.Sequence):
    """RFC 9908 Appendix A, transcribed for pyasn1 (IMPLICIT TAGS)."""
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("version", univ.Integer()),
        namedtype.OptionalNamedType("subject", univ.SequenceOf(componentType=_PyRDNTemplate())),
        namedtype.OptionalNamedType("subjectPKInfo", _PySPKITemplate().subtype(
            implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 0))),
        namedtype.NamedType("attributes", univ.SetOf(componentType=_PyAttr()).subtype(
            implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 1))))


SAN_VALUE = bytes.fromhex("3014" "8210") + b"www.myServer.com" + bytes.fromhex("8700")  # dNSName + empty iPAddress
KU_VALUE = bytes.fromhex("03020388")  # digitalSignature, keyAgreement


def _rfc9908_example_template() -> CertificationRequestInfoTemplate:
    """The §4 example (CSR-template.dump): CN to be filled in, OU=myDept, OU=myGroup, an EC P-256 key, and
    extension templates for subjectAltName (partly filled), keyUsage (critical) and extKeyUsage (no value)."""
    ext_templates = encode(SequenceOf(ExtensionTemplate), [
        ExtensionTemplate(extn_id="2.5.29.17", extn_value=SAN_VALUE),
        ExtensionTemplate(extn_id="2.5.29.15", critical=True, extn_value=KU_VALUE),
        ExtensionTemplate(extn_id="2.5.29.37"),
    ])
    return CertificationRequestInfoTemplate(
        version=0,
        subject=NameTemplate(rdn_sequence=[
            [SingleAttributeTemplate(type="2.5.4.3")],
            [SingleAttributeTemplate(type="2.5.4.11", value=encode(UTF8String, "myDept"))],
            [SingleAttributeTemplate(type="2.5.4.11", value=encode(UTF8String, "myGroup"))]]),
        subject_pk_info=SubjectPublicKeyInfoTemplate(
            algorithm=AlgorithmIdentifier(algorithm=oid.EC_PUBLIC_KEY,
                                          parameters=encode(ObjectIdentifier, oid.SECP256R1))),
        attributes=[Attribute(attr_type=oid.EXTENSION_REQ_TEMPLATE, attr_values=[ext_templates])],
    )


def test_template_oids_are_the_published_ones():
    assert oid.CERTIFICATION_REQUEST_INFO_TEMPLATE == "1.2.840.113549.1.9.16.2.61"
    assert oid.EXTENSION_REQ_TEMPLATE == "1.2.840.113549.1.9.16.2.62"
    # the draft module still has placeholders; make sure we did not copy one
    assert "TBD2" in (LAMPS / "CRITemplateModule.asn").read_text()


def test_template_example_encodes_as_rfc9908_and_pyasn1_reads_it():
    t = _rfc9908_example_template()
    der = t.to_der()
    # shape of the published dump: [0] holds the AlgorithmIdentifier directly, [1] the attributes
    assert der[:2] == b"\x30\x81" and bytes.fromhex("a01530130607") in der and b"\xa1" in der
    ref, rest = der_decoder.decode(der, asn1Spec=_PyCRITemplate())
    assert rest == b""
    assert int(ref["version"]) == 0
    rdns = [[(str(atv["type"]), bytes(atv["value"]) if atv["value"].isValue else None) for atv in rdn]
            for rdn in ref["subject"]]
    assert rdns == [[("2.5.4.3", None)], [("2.5.4.11", b"\x0c\x06myDept")], [("2.5.4.11", b"\x0c\x07myGroup")]]
    assert str(ref["subjectPKInfo"]["algorithm"]["algorithm"]) == oid.EC_PUBLIC_KEY
    assert not ref["subjectPKInfo"]["subjectPublicKey"].isValue
    (attr,) = ref["attributes"]
    assert str(attr["type"]) == oid.EXTENSION_REQ_TEMPLATE
    exts, _ = der_decoder.decode(bytes(attr["values"][0]),
                                 asn1Spec=univ.SequenceOf(componentType=_PyExtensionTemplate()))
    assert [(str(e["extnID"]), bool(e["critical"]), bytes(e["extnValue"]) if e["extnValue"].isValue else None)
            for e in exts] == [("2.5.29.17", False, SAN_VALUE), ("2.5.29.15", True, KU_VALUE),
                               ("2.5.29.37", False, None)]
    # and pyasn1's own encoding of what it read is byte-identical to ours
    assert der_encoder.encode(ref) == der


def test_template_in_csrattrs_views():
    t = _rfc9908_example_template()
    data = (CsrAttrsBuilder().template(t).oid(oid.CHALLENGE_PASSWORD).ec_key(oid.SECP256R1).build().to_der())
    c = CsrAttrs.from_der(data)
    got = c.template
    assert isinstance(got, CertificationRequestInfoTemplate)
    assert got.to_der() == t.to_der() and got.raw == t.to_der()
    assert got.subject.name == "rdn_sequence" and len(got.subject.rdns) == 3
    assert got.subject.to_der() == parse(t.to_der())[1].to_der()  # the NameTemplate's own bytes
    assert got.subject_template == [[("2.5.4.3", None)], [("2.5.4.11", b"\x0c\x06myDept")],
                                    [("2.5.4.11", b"\x0c\x07myGroup")]]
    assert got.key_algorithm_oid == oid.EC_PUBLIC_KEY and got.curve == oid.SECP256R1
    assert got.rsa_key_size is None
    exts = got.extension_templates
    assert [(e.oid, e.critical, e.value) for e in exts] == [
        ("2.5.29.17", False, SAN_VALUE), ("2.5.29.15", True, KU_VALUE), ("2.5.29.37", False, None)]
    assert c.attribute(oid.CERTIFICATION_REQUEST_INFO_TEMPLATE).typed_values[0].to_der() == t.to_der()
    # pyasn1-modules sees an ordinary attribute with one value
    ref, _ = der_decoder.decode(data, asn1Spec=rfc7030.CsrAttrs())
    assert str(ref[0]["attribute"]["attrType"]) == oid.CERTIFICATION_REQUEST_INFO_TEMPLATE


def test_template_minimal_and_rsa_size_placeholder():
    spki = (VECTORS / "rustcrypto-formats" / "pkcs8" / "tests" / "examples" / "rsa2048-pub.der").read_bytes()
    ref, _ = der_decoder.decode(spki, asn1Spec=rfc5280.SubjectPublicKeyInfo())
    bits = ref["subjectPublicKey"].asOctets()
    t = CertificationRequestInfoTemplate(
        version=0,
        subject_pk_info=SubjectPublicKeyInfoTemplate(
            algorithm=AlgorithmIdentifier(algorithm=oid.RSA_ENCRYPTION, parameters=b"\x05\x00"),
            subject_public_key=bits),
        attributes=[])
    der = t.to_der()
    assert der[:7] == bytes.fromhex("308201") + der[3:4] + bytes.fromhex("020100")
    back = CertificationRequestInfoTemplate.from_der(der)
    assert back.subject is None and back.subject_template is None
    assert back.rsa_key_size == 2048 and back.curve is None
    assert back.extension_templates is None and back.attribute(oid.EXTENSION_REQUEST) is None
    ref, _ = der_decoder.decode(der, asn1Spec=_PyCRITemplate())
    assert ref["subjectPKInfo"]["subjectPublicKey"].asOctets() == bits
    # the smallest template: version and empty [1]
    assert CertificationRequestInfoTemplate(version=0, attributes=[]).to_der() == bytes.fromhex("3005020100a100")


def test_template_with_extension_request_instead_of_template_attribute():
    ext = Extension(extn_id="2.5.29.19", critical=True, extn_value=b"\x30\x00")
    t = CertificationRequestInfoTemplate(version=0, attributes=[
        Attribute(attr_type=oid.EXTENSION_REQUEST, attr_values=[encode(ca.Extensions, [ext])])])
    (e,) = CertificationRequestInfoTemplate.from_der(t.to_der()).extension_templates
    assert (e.oid, e.critical, e.value) == ("2.5.29.19", True, b"\x30\x00")


def test_template_value_that_does_not_decode_is_kept_raw():
    bogus = encode(OctetString, b"not a template")
    c = CsrAttrs.from_der(CsrAttrsBuilder().attribute(oid.CERTIFICATION_REQUEST_INFO_TEMPLATE, bogus)
                          .build().to_der())
    assert c.template is None
    assert c.attribute(oid.CERTIFICATION_REQUEST_INFO_TEMPLATE).typed_values == [bogus]
    with pytest.raises(EncodeError):
        CsrAttrsBuilder().template(CertificationRequestInfoTemplate(version=1, attributes=[]))


def test_template_rdn_must_not_be_empty():
    # RelativeDistinguishedNameTemplate is SET SIZE (1..MAX)
    with pytest.raises(DecodeError):
        CertificationRequestInfoTemplate.from_der(bytes.fromhex("30090201003002" "3100" "a100"))


def test_draft_csr_template_der_is_a_signed_csr_not_a_template():
    """The draft's CSR-template.der does not hold what CSR-template.dump shows: it is a complete, signed
    PKCS#10 request (so it cannot serve as a template vector); the dump is what the tests above rebuild."""
    data = (LAMPS / "CSR-template.der").read_bytes()
    csr = cx509.load_der_x509_csr(data)
    assert csr.is_signature_valid
    with pytest.raises(DecodeError):
        CertificationRequestInfoTemplate.from_der(data)
    with pytest.raises(DecodeError):
        CsrAttrs.from_der(data)  # nor a CsrAttrs


# ---------------------------------------------------------------- a real server's responses


CAPTURES = VECTORS / "libest-captures"


def _capture_body(name: str) -> bytes:
    raw = (CAPTURES / f"{name}.resp.bin").read_bytes()
    return raw.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize("name,expected_oids", [
    ("csrattrs", [MAC_ADDRESS, "1.2.840.113549.1.9.1", oid.SECP384R1, "2.16.840.1.101.3.4.2.2"]),
    ("csrattrs-label", [MAC_ADDRESS, "1.2.840.113549.1.9.1", oid.SECP384R1, "2.16.840.1.101.3.4.2.2"]),
    # with PoP enabled, libest appends challengePassword
    ("csrattrs-pop", [MAC_ADDRESS, "1.2.840.113549.1.9.1", oid.SECP384R1, "2.16.840.1.101.3.4.2.2",
                      oid.CHALLENGE_PASSWORD]),
])
def test_libest_server_responses(name, expected_oids):
    body = _capture_body(name)
    # libest terminates some base64 bodies with a NUL byte; the transport layer strips it, as done here
    der = base64.b64decode(body.rstrip(b"\x00").strip(), validate=True)
    c = CsrAttrs.from_der(der)
    assert c.oids == expected_oids and c.attributes == [] and c.to_der() == der
    assert c.challenge_password_requested == (name == "csrattrs-pop")


def test_libest_server_custom_response_is_the_rfc7030_example():
    der = base64.b64decode(_capture_body("csrattrs-custom").strip(), validate=True)
    assert der == (VECTORS / "rfc7030" / "sec4.5.2_csrattrs_example.der").read_bytes()
    assert CsrAttrs.from_der(der).extension_request_oids == [MAC_ADDRESS]


# ---------------------------------------------------------------- robustness: mutated inputs


def _mutations(data: bytes):
    for i in range(len(data)):
        for v in (0x00, 0x80, 0xFF, data[i] ^ 0x01, data[i] ^ 0x20):
            if v != data[i]:
                yield data[:i] + bytes([v]) + data[i + 1:]


@pytest.mark.parametrize("path", LAMPS_FILES + RFC7030_FILES + [LIBEST / "us895__TEST_ALL_ATTR.der"], ids=_id)
def test_mutated_inputs_decode_or_raise_decode_error_only(path):
    """Every single-byte mutation either decodes (then re-encodes identically and every view works) or raises
    DecodeError; nothing else escapes."""
    for m in _mutations(path.read_bytes()):
        try:
            c = CsrAttrs.from_der(m)
        except DecodeError:
            continue
        assert c.to_der() == m
        c.key_types, c.template, c.extension_request, c.extension_request_oids, repr(c)  # noqa: B018
        for a in c.attributes:
            a.typed_values  # noqa: B018
        t = c.template
        if t is not None:
            t.subject_template, t.curve, t.rsa_key_size, t.extension_templates  # noqa: B018


def test_mutated_template_views_never_raise():
    t = _rfc9908_example_template().to_der()
    for m in _mutations(t):
        try:
            x = CertificationRequestInfoTemplate.from_der(m)
        except DecodeError:
            continue
        x.subject_template, x.curve, x.rsa_key_size, x.extension_templates, x.key_parameters  # noqa: B018


def test_all_names_exist():
    assert all(hasattr(ca, n) for n in ca.__all__)


# ---------------------------------------------------------------- property: what we build, pyasn1 reads


from hypothesis import given, settings, strategies as st  # noqa: E402

_oids = st.builds(
    lambda first, second, rest: ".".join(map(str, [first, second, *rest])),
    st.integers(0, 2), st.integers(0, 39), st.lists(st.integers(0, 2**40), max_size=6))
_values = st.one_of(
    st.text(max_size=20).map(lambda s: encode(UTF8String, s)),
    st.integers(-2**70, 2**70).map(lambda n: encode(Integer, n)),
    _oids.map(lambda o: encode(ObjectIdentifier, o)),
    st.binary(max_size=40).map(lambda b: encode(OctetString, b)),
    st.just(b"\x05\x00"),
)
_items = st.lists(st.one_of(_oids, st.builds(lambda o, vs: CsrAttribute(o, vs), _oids,
                                             st.lists(_values, max_size=4))), max_size=8)


@settings(max_examples=150, deadline=None)
@given(_items)
def test_built_csrattrs_read_back_by_pyasn1(items):
    der = CsrAttrs(items).to_der()
    back = CsrAttrs.from_der(der)
    assert back.to_der() == der and len(back) == len(items)
    ref, rest = der_decoder.decode(der, asn1Spec=rfc7030.CsrAttrs())
    assert rest == b""
    for ours, theirs, given_item in zip(back.items, ref, items):
        if isinstance(given_item, str):
            assert ours == given_item == str(theirs["oid"])
        else:
            a = theirs["attribute"]
            assert ours.oid == given_item.oid == str(a["attrType"])
            assert ours.values == [bytes(v) for v in a["attrValues"]] == sorted(given_item.values)


def test_template_build_from_values_gives_the_rfc9908_example():
    t = CertificationRequestInfoTemplate.build(
        subject=[("2.5.4.3", None), ("2.5.4.11", "myDept"), [("2.5.4.11", "myGroup")]],
        key_algorithm=oid.EC_PUBLIC_KEY, key_parameters=encode(ObjectIdentifier, oid.SECP256R1),
        extensions=[("2.5.29.17", False, SAN_VALUE), ("2.5.29.15", True, KU_VALUE), ("2.5.29.37", False, None)])
    assert t.to_der() == _rfc9908_example_template().to_der()


def test_template_build_uses_extension_request_when_all_values_are_given():
    bc = Extension(extn_id="2.5.29.19", critical=True, extn_value=b"\x30\x00")
    t = CertificationRequestInfoTemplate.build(subject=[("2.5.4.6", "DE"), ("2.5.4.3", None)], extensions=[bc])
    back = CertificationRequestInfoTemplate.from_der(t.to_der())
    assert [a.oid for a in back.attributes] == [oid.EXTENSION_REQUEST]
    assert back.subject_template == [[("2.5.4.6", b"\x13\x02DE")], [("2.5.4.3", None)]]
    ref, _ = der_decoder.decode(t.to_der(), asn1Spec=_PyCRITemplate())
    exts, _ = der_decoder.decode(bytes(ref["attributes"][0]["values"][0]), asn1Spec=rfc5280.Extensions())
    assert [(str(e["extnID"]), bool(e["critical"])) for e in exts] == [("2.5.29.19", True)]
    with pytest.raises(EncodeError):
        CertificationRequestInfoTemplate.build(extensions=[bc, bc])
    with pytest.raises(EncodeError):
        CertificationRequestInfoTemplate.build(subject=[[]])
    with pytest.raises(EncodeError):
        CertificationRequestInfoTemplate.build(key_parameters=b"\x05\x00")
    with pytest.raises(EncodeError):
        CertificationRequestInfoTemplate.build(extensions=[bc], attributes=[
            CsrAttribute(oid.EXTENSION_REQUEST, [encode(ca.Extensions, [bc])])])
