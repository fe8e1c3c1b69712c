"""estcodec.x509 against cryptography on every certificate of cryptography_vectors (x509/, custom/, PKITS) and of
certifi: what cryptography accepts decodes here and matches it field by field, re-encoding byte-identically;
the few it loads that strict DER refuses are listed with the reason (cryptography parses lazily: most of them
fail there too once the field is read)."""
import os
import warnings
from pathlib import Path

import certifi
import cryptography_vectors
import pytest
from cryptography import x509 as cx

from collections.abc import Callable

from estcodec import DecodeError, EncodeError, pem
from estcodec._der import tlv_children
from estcodec.der import encode_header
from estcodec.der import parse as der_parse
from estcodec.x509 import Certificate, Name

VECTORS = Path(os.path.dirname(cryptography_vectors.__file__)) / "x509"

# Loaded by cryptography, refused here (reason slug). None today: strict DER holds for every part of a certificate
# except the contents of its issuer's and subject's attribute values, which are checked when read (below).
STRICT_REFUSALS: dict[str, str] = {}
# Loaded by cryptography, which refuses their names once read: an attribute value whose contents are malformed,
# either a DER-valid value whose string contents are not (invalid_utf8_common_name) or a constructed value whose
# contents are not TLVs at all (name_attribute_unsupported_tag: [APPLICATION 9] around "PyCA"; der.parse refuses it).
# from_der reads them (the names are checked as DER down to each value's own TLV, the value's contents when read, as
# cryptography does); validate_names() refuses them (reason slug), as from_der did before. Certificates with one
# malformed extension value are read the same way (the value is checked when read): tests/test_x509_lenient.py.
MALFORMED_NAMES = {
    "custom/invalid_utf8_common_name.pem": "invalid-string",
    "custom/name_attribute_unsupported_tag.pem": "truncated",
}


def _certificates():
    out = []
    for path in sorted(VECTORS.rglob("*")):
        if not path.is_file() or "requests" in path.parts:
            continue
        data = path.read_bytes()
        rel = str(path.relative_to(VECTORS))
        if b"-----BEGIN" in data:
            try:
                blocks = pem.decode(data)
            except DecodeError:
                continue
            out += [(f"{rel}#{i}", der) for i, (label, der) in enumerate(blocks)
                    if "CERTIFICATE" in label and "REQUEST" not in label]
        else:
            out.append((rel, data))
    out += [(f"certifi#{i}", der) for i, (_, der) in enumerate(pem.decode(Path(certifi.where()).read_text()))]
    return out


CERTS = _certificates()


def test_corpus_is_large():
    assert len(CERTS) > 1000


def test_every_certificate_cryptography_accepts_matches_field_by_field():
    matched, refused, names_refused = 0, {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, der in CERTS:
            try:
                theirs = cx.load_der_x509_certificate(der)
            except Exception:  # noqa: BLE001 - whatever cryptography refuses is out of this comparison
                continue
            try:
                ours = Certificate.from_der(der)
            except DecodeError as err:
                refused[name.split("#")[0]] = err.reason
                continue
            try:
                ours.validate_names()
            except DecodeError as err:
                names_refused[name.split("#")[0]] = err.reason
            assert ours.to_der() == der, name
            assert ours.serial_number == theirs.serial_number, name
            assert ours.tbs_der == theirs.tbs_certificate_bytes, name
            assert ours.signature == theirs.signature, name
            assert ours.signature_algorithm_oid == theirs.signature_algorithm_oid.dotted_string, name
            assert (ours.not_before, ours.not_after) == (theirs.not_valid_before_utc, theirs.not_valid_after_utc)
            try:
                names = (theirs.subject.public_bytes(), theirs.issuer.public_bytes())
            except ValueError:  # cryptography refuses these names when they are read
                names = None
            if names is not None:
                assert (ours.subject.to_der(), ours.issuer.to_der()) == names, name
            try:
                exts = [(e.oid.dotted_string, e.critical) for e in theirs.extensions]
            except Exception:  # noqa: BLE001 - cryptography refuses these extensions when they are read
                exts = None
            if exts is not None:
                assert [(e.oid, e.critical) for e in ours.extensions] == exts, name
            matched += 1
    assert refused == STRICT_REFUSALS
    assert names_refused == MALFORMED_NAMES
    assert matched > 600


@pytest.mark.parametrize("name", sorted(MALFORMED_NAMES))
def test_malformed_name_values_raise_when_read_with_offset_and_path(name):
    path = VECTORS / name
    data = path.read_bytes()
    der = pem.load_any(data) if data.startswith(b"-----") else data
    cert = Certificate.from_der(der)                       # the structure is sound
    assert cert.to_der() == der and cert.serial_number > 0 and cert.tbs_der
    with pytest.raises(DecodeError) as info:
        cert.validate_names()
    assert info.value.reason == MALFORMED_NAMES[name]
    assert info.value.path.startswith("$.tbs_certificate.") and 0 < info.value.offset < len(der)
    assert info.value.path.endswith(".rdn_sequence[0][0].value")
    malformed = cert.issuer if ".issuer." in info.value.path else cert.subject
    for read in (lambda: malformed.attributes, lambda: malformed.rdns, lambda: malformed.common_name,
                 lambda: malformed.value):
        with pytest.raises(DecodeError) as again:
            read()
        assert again.value.offset == info.value.offset and again.value.reason == info.value.reason
    # display never raises: the malformed value shows as the hex of its DER (RFC 4514 §2.4)
    assert "=#" in malformed.rfc4514_string() and repr(cert).startswith("<Certificate subject=")
    # strict DER structure is kept: a broken RDN framing is still refused by from_der
    at = der.index(malformed.to_der())
    broken = bytearray(der)
    broken[at + 2] = 0x30                                  # the first RDN's SET tag
    with pytest.raises(DecodeError):
        Certificate.from_der(bytes(broken))


def test_name_build_uses_the_string_type_rfc5280_asks_for():
    name = Name.build([("2.5.4.6", "US"), ("1.2.840.113549.1.9.1", "a@b"), ("2.5.4.3", "h\u00e9llo")])
    assert name.to_der().hex() == ("3032310b30090603550406130255533112301006092a864886f70d0109011603614062310f300d"
                                   "06035504030c0668c3a96c6c6f")
    assert name.rfc4514_string() == "CN=h\u00e9llo,1.2.840.113549.1.9.1=a@b,C=US"


@pytest.mark.parametrize("attr", [("1.2.840.113549.1.9.1", "\u00e9@x"), ("2.5.4.6", "U*"), ("2.5.4.3", "\ud800")])
def test_name_build_refuses_values_its_string_type_cannot_hold(attr):
    with pytest.raises(EncodeError):
        Name.build([attr])


# -- custom/name_attribute_unsupported_tag.pem: an unparsable constructed value is lenient in a certificate's names
# only; the same bytes anywhere else are refused by from_der (offset and path), as before

_GARBAGE = bytes.fromhex("690450794341")   # [APPLICATION 9] constructed, length 4, contents "PyCA" (not TLVs)
_ECDSA_SHA256 = bytes.fromhex("06082a8648ce3d040302")
_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")


def _element(cls: int, tag: int, *children: bytes) -> bytes:
    # A constructed element around ``children`` (test-only re-assembly; headers from the core's writer).
    content = b"".join(children)
    return encode_header(cls, True, tag, len(content)) + content


def _unsupported_tag_parts() -> "tuple[bytes, list[bytes], bytes, bytes]":
    der = pem.load_any((VECTORS / "custom/name_attribute_unsupported_tag.pem").read_bytes())
    (_, _, _, _, cs, ce), = tlv_children(der, 0, len(der))
    tbs, alg, sig = tlv_children(der, cs, ce)
    parts = [der[c[3]:c[5]] for c in tlv_children(der, tbs[4], tbs[5])]
    return der, parts, der[alg[3]:alg[5]], der[sig[3]:sig[5]]


def _certificate(parts: "list[bytes]", alg: bytes, sig: bytes) -> bytes:
    return _element(0, 16, _element(0, 16, *parts), alg, sig)


def test_unparsable_constructed_name_value_is_kept_raw_and_refused_when_read():
    der, parts, alg, sig = _unsupported_tag_parts()
    name = parts[3]
    assert parts[5] == name and name.endswith(_GARBAGE)
    cert = Certificate.from_der(der)
    assert cert.to_der() == der and cert.tbs_der == der[4:184] and cert.version == 2
    assert cert.subject.rfc4514_string() == cert.issuer.rfc4514_string() == "CN=#" + _GARBAGE.hex()
    assert repr(cert) == f"<Certificate subject='CN=#{_GARBAGE.hex()}' serial=1>"
    for which, at in (("issuer", der.index(name)), ("subject", der.rindex(name))):
        value_at = at + len(name) - len(_GARBAGE)
        reads = ("value", "attributes", "rdns", "common_name")
        for read in reads:
            with pytest.raises(DecodeError) as info:
                getattr(getattr(cert, which), read)
            assert (info.value.reason, info.value.offset) == ("truncated", value_at + 2), (which, read)
            assert info.value.path == "$.rdn_sequence[0][0].value"
        with pytest.raises(DecodeError):
            getattr(cert, which).get("2.5.4.3")
    with pytest.raises(DecodeError) as info:
        cert.validate_names()
    assert info.value.path == "$.tbs_certificate.issuer.rdn_sequence[0][0].value"
    # schema-less DER refuses the same bytes at the same place (the gap the fuzz harness allows for names only)
    with pytest.raises(DecodeError) as schema_less:
        der_parse(der)
    assert (schema_less.value.reason, schema_less.value.offset) == ("truncated", info.value.offset)
    # the value's own TLV stays strict: a length past the attribute, or a universal string made constructed
    for bad_value in (bytes.fromhex("690550794341"), bytes.fromhex("2c0450794341")):
        bad_name = _element(0, 16, _element(0, 17, _element(0, 16, bytes.fromhex("0603550403"), bad_value)))
        with pytest.raises(DecodeError) as info:
            Certificate.from_der(_certificate(parts[:3] + [bad_name] + parts[4:], alg, sig))
        assert info.value.path.startswith("$.tbs_certificate.issuer.rdn_sequence")


def _refusal(data: bytes, decode: "Callable[[bytes], object]") -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert 0 < info.value.offset < len(data) and info.value.path.startswith("$.")
    return info.value


def test_the_same_unparsable_value_elsewhere_still_fails_from_der():
    from estcodec.cms import ContentInfo
    from estcodec.pkcs10 import CertificationRequest

    der, parts, alg, sig = _unsupported_tag_parts()
    good_name = _element(0, 16, _element(0, 17, _element(0, 16, bytes.fromhex("0603550403"),
                                                         bytes.fromhex("0c0450794341"))))
    parts = parts[:3] + [good_name, parts[4], good_name] + parts[6:]
    assert Certificate.from_der(_certificate(parts, alg, sig)).validate_names().subject.common_name == "PyCA"

    def with_part(i: int, new: bytes) -> bytes:
        return _certificate(parts[:i] + [new] + parts[i + 1:], alg, sig)

    spki_body = tlv_children(parts[6], 0, len(parts[6]))[0]
    key_bits = parts[6][tlv_children(parts[6], spki_body[4], spki_body[5])[1][3]:]
    cases = {
        # the subject public key's algorithm parameters (an ANY)
        "$.tbs_certificate.subject_public_key_info.algorithm.parameters":
            with_part(6, _element(0, 16, _element(0, 16, _EC_PUBLIC_KEY, _GARBAGE), key_bits)),
        # the signature algorithm's parameters inside the signed part (an ANY)
        "$.tbs_certificate.signature.parameters": with_part(2, _element(0, 16, _ECDSA_SHA256, _GARBAGE)),
        # an extension's structure: the value where `critical` or extnValue belongs
        "$.tbs_certificate.extensions[0]": _certificate(parts + [_element(2, 3, _element(0, 16, _element(
            0, 16, bytes.fromhex("0603551d13"), _GARBAGE, bytes.fromhex("04023000"))))], alg, sig),
    }
    for path, data in cases.items():
        err = _refusal(data, Certificate.from_der)
        assert err.path.startswith(path), (path, err)
    # names outside a certificate: a Name alone, a CSR's subject; a CSR attribute's value; a CMS content
    bad_name = _element(0, 16, _element(0, 17, _element(0, 16, bytes.fromhex("0603550403"), _GARBAGE)))
    assert _refusal(bad_name, Name.from_der).path == "$.rdn_sequence[0][0].value"
    csr = [bytes.fromhex("020100"), good_name, parts[6], bytes.fromhex("a000")]
    assert CertificationRequest.from_der(_element(0, 16, _element(0, 16, *csr), alg, sig)).subject.common_name == "PyCA"
    err = _refusal(_element(0, 16, _element(0, 16, csr[0], bad_name, *csr[2:]), alg, sig),
                   CertificationRequest.from_der)
    assert err.path.startswith("$.certification_request_info.subject.")
    attrs = _element(2, 0, _element(0, 16, bytes.fromhex("06032a0304"), _element(0, 17, _GARBAGE)))
    err = _refusal(_element(0, 16, _element(0, 16, *csr[:3], attrs), alg, sig), CertificationRequest.from_der)
    assert err.path.startswith("$.certification_request_info.attributes")
    err = _refusal(_element(0, 16, bytes.fromhex("06032a0304"), _element(2, 0, _GARBAGE)), ContentInfo.from_der)
    assert err.reason == "truncated"
