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

from estcodec import DecodeError, EncodeError, pem
from estcodec.x509 import Certificate, Name

VECTORS = Path(os.path.dirname(cryptography_vectors.__file__)) / "x509"

# Loaded by cryptography, refused here (reason slug): a name attribute value that is not DER at all (a constructed
# [APPLICATION 9] whose contents are not TLVs; der.parse refuses it too), which cryptography refuses too once the
# name is read. Strict DER holds all the way down.
STRICT_REFUSALS = {
    "custom/name_attribute_unsupported_tag.pem": "truncated",
}
# Loaded by cryptography, which refuses their names once read: a DER-valid attribute value whose string contents
# are malformed. from_der reads them (the names are checked as DER, each value's string contents when read, as
# cryptography does); validate_names() refuses them (reason slug), as from_der did before. Certificates with one
# malformed extension value are read the same way (the value is checked when read): tests/test_x509_lenient.py.
MALFORMED_NAMES = {
    "custom/invalid_utf8_common_name.pem": "invalid-string",
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


@pytest.mark.parametrize("name", sorted(STRICT_REFUSALS))
def test_strict_refusals_name_offset_and_path(name):
    path = VECTORS / name
    data = path.read_bytes()
    der = pem.load_any(data) if data.startswith(b"-----") else data
    with pytest.raises(DecodeError) as info:
        Certificate.from_der(der)
    assert info.value.reason == STRICT_REFUSALS[name]
    assert info.value.path.startswith("$.tbs_certificate.") and 0 < info.value.offset < len(der)


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
