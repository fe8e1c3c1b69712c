"""Tests of estcodec.pkcs10: CertificationRequest parsing against real vectors and CertificationRequestBuilder
output checked by independent verifiers.

Vectors: RFC 7030 Appendix A (tests/vectors/rfc7030), the CSRs of the PyPI package ``cryptography_vectors``
(x509/requests/), asn1crypto's CSR fixtures (tests/vectors/asn1crypto, MIT) and the CSRs of
pyasn1-alt-modules' tests (tests/vectors/pyasn1-alt-modules, BSD-2). Oracles: ``cryptography``
(load_der_x509_csr, is_signature_valid, extension and attribute values) and ``openssl req -verify``.
"""
from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path

import cryptography_vectors
import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import AttributeOID, ExtensionOID, NameOID

import estcodec
import estcodec.der
import estcodec.pem
from estcodec import _sigalgs, pkcs10
from estcodec.pkcs10 import CertificationRequest, CertificationRequestBuilder, CertificationRequestInfo
from estcodec.schema import BMPString, IA5String, PrintableString, TeletexString, UniversalString, UTF8String, encode
from estcodec.x509 import Attribute, Extension, GeneralName, oid

VECTORS = Path(__file__).resolve().parent / "vectors"
CV_REQUESTS = Path(cryptography_vectors.__file__).resolve().parent / "x509" / "requests"
OPENSSL = shutil.which("openssl")


def _openssl_req_verify(der: bytes, tmp_path: Path) -> bool:
    p = tmp_path / "req.der"
    p.write_bytes(der)
    r = subprocess.run([OPENSSL, "req", "-verify", "-noout", "-inform", "DER", "-in", str(p)],
                       capture_output=True, text=True)
    return r.returncode == 0 and "verify OK" in (r.stdout + r.stderr)


def _asn1_type(obj) -> int:
    t = obj._type
    return getattr(t, "value", t)


def _load(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".pem":
        return estcodec.pem.decode(data)[0][1]
    return data


# --- vectors: cryptography_vectors x509/requests -----------------------------------------------------------------

CV_FILES = sorted(p for p in CV_REQUESTS.iterdir() if p.suffix in (".pem", ".der"))


@pytest.mark.parametrize("path", CV_FILES, ids=lambda p: p.name)
def test_cryptography_vectors_requests(path, tmp_path):
    der = _load(path)
    try:
        ref = cx509.load_der_x509_csr(der)
    except (ValueError, cx509.InvalidVersion):
        ref = None
    if ref is None:
        with pytest.raises(estcodec.DecodeError):
            CertificationRequest.from_der(der)
        return
    csr = CertificationRequest.from_der(der)
    assert csr.to_der() == der
    assert csr.tbs_der == ref.tbs_certrequest_bytes
    assert csr.signature == ref.signature
    assert csr.signature_algorithm_oid == ref.signature_algorithm_oid.dotted_string
    assert csr.subject.to_der() == ref.subject.public_bytes()
    assert csr.public_key_info.to_der() == ref.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    # Extensions: where cryptography can read them, the same ids, criticality and values; where it refuses
    # (duplicates, multi-valued attributes, DER violations), so do we.
    try:
        ref_exts = list(ref.extensions)
    except (ValueError, cx509.DuplicateExtension):
        ref_exts = None
    if ref_exts is None:
        with pytest.raises(estcodec.DecodeError):
            csr.extensions
    else:
        ours = csr.extensions
        assert [(e.oid, e.critical) for e in ours] == [(e.oid.dotted_string, e.critical) for e in ref_exts]
        for e, r in zip(ours, ref_exts):
            want = r.value.value if isinstance(r.value, cx509.UnrecognizedExtension) else r.value.public_bytes()
            assert e.value == want
    # challengePassword: same text where cryptography reads a string; our DecodeError where the value is not a
    # DirectoryString or the attribute is not single-valued.
    try:
        ref_cp = ref.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD)
    except cx509.AttributeNotFound:
        ref_cp = None
    except ValueError:
        ref_cp = "invalid"
    has_cp = any(a.oid == pkcs10.OID_CHALLENGE_PASSWORD for a in csr.attributes)
    if ref_cp is None or (ref_cp == "invalid" and not has_cp):
        # (cryptography refuses every attribute lookup when any attribute is multi-valued; we judge only the
        # attribute asked for)
        assert csr.challenge_password is None
    elif ref_cp == "invalid" or _asn1_type(ref_cp) not in (12, 19, 20, 22, 28, 30):
        with pytest.raises(estcodec.DecodeError):
            csr.challenge_password
    else:
        assert csr.challenge_password == ref_cp.value.decode()
    # Signature: the same verdict as openssl req -verify (cryptography refuses SHA-1/DSA ones outright).
    if csr.signature_algorithm_oid in ("1.2.840.113549.1.1.3", "1.2.840.113549.1.1.4"):
        with pytest.raises(pkcs10.UnsupportedSignatureAlgorithm):
            csr.verify()
    elif OPENSSL:
        assert csr.is_signature_valid == _openssl_req_verify(der, tmp_path)
    if ref.is_signature_valid:
        csr.verify()


def test_cryptography_vectors_specific_verdicts():
    bad_version = _load(CV_REQUESTS / "bad-version.pem")
    with pytest.raises(estcodec.DecodeError) as ei:
        CertificationRequest.from_der(bad_version)
    assert ei.value.path == "$.certification_request_info.version"
    assert ei.value.reason == "invalid-value"
    assert ei.value.offset == estcodec.der.parse(bad_version)[0][0].offset  # the INTEGER inside the info
    two = CertificationRequest.from_pem((CV_REQUESTS / "two_basic_constraints.pem").read_bytes())
    with pytest.raises(estcodec.DecodeError, match="requested twice"):
        two.extensions
    old = CertificationRequest.from_pem((CV_REQUESTS / "ec_sha256_old_header.pem").read_bytes())
    old.verify()
    multi = CertificationRequest.from_der((CV_REQUESTS / "challenge-multi-valued.der").read_bytes())
    with pytest.raises(estcodec.DecodeError, match="exactly one value") as ei:
        multi.challenge_password
    assert ei.value.path == "$.certification_request_info.attributes[0].attr_values"
    invalid = CertificationRequest.from_der((CV_REQUESTS / "challenge-invalid.der").read_bytes())
    with pytest.raises(estcodec.DecodeError) as ei:
        invalid.challenge_password
    assert ei.value.reason == "unexpected-tag"
    unstructured = CertificationRequest.from_pem((CV_REQUESTS / "challenge-unstructured.pem").read_bytes())
    assert unstructured.challenge_password == "beauty"
    assert [a.oid for a in unstructured.attributes] == [pkcs10.OID_CHALLENGE_PASSWORD, pkcs10.OID_UNSTRUCTURED_NAME]
    crit = CertificationRequest.from_pem((CV_REQUESTS / "freeipa-bad-critical.pem").read_bytes())
    with pytest.raises(estcodec.DecodeError) as ei:
        crit.extensions
    assert ei.value.reason == "default-encoded"


# --- RFC 7030 Appendix A ------------------------------------------------------------------------------------------

def test_rfc7030_a3_csr_challenge_password():
    der = (VECTORS / "rfc7030" / "A.3_simpleenroll_request_pkcs10.der").read_bytes()
    csr = CertificationRequest.from_der(der)
    assert csr.to_der() == der
    assert csr.challenge_password == "+rrCir/7+EYu50T4"
    assert csr.subject.rfc4514_string() == "CN=demostep4 1368141352"
    assert csr.extensions == []
    csr.verify()  # sha1WithRSAEncryption: openssl verifies it too; cryptography refuses SHA-1 by policy
    assert csr.signature_algorithm_oid == "1.2.840.113549.1.1.5"
    ref = cx509.load_der_x509_csr(der)
    assert ref.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD).value.decode() == \
        csr.challenge_password


def test_rfc7030_a4_csr():
    der = (VECTORS / "rfc7030" / "A.4_serverkeygen_request_pkcs10.der").read_bytes()
    csr = CertificationRequest.from_der(der)
    assert csr.to_der() == der
    assert csr.challenge_password == "dFsAXmJnjokBtDvr"
    assert csr.subject.common_name == "serverKeyGen req by client in demo step 12 1368141955"
    assert csr.subject.get(oid.SERIAL_NUMBER) == ["PID:Widget SN:10"]
    assert csr.public_key_info.algorithm_oid == oid.RSA_ENCRYPTION
    csr.verify()


def test_rfc7030_pem_round_trip():
    der = (VECTORS / "rfc7030" / "A.3_simpleenroll_request_pkcs10.der").read_bytes()
    csr = CertificationRequest.from_der(der)
    again = CertificationRequest.from_pem(csr.to_pem())
    assert again.to_der() == der
    assert csr.to_pem().startswith("-----BEGIN CERTIFICATE REQUEST-----")
    assert pickle.loads(pickle.dumps(csr)).to_der() == der
    assert CertificationRequest.from_cryptography(csr.to_cryptography()).to_der() == der


# --- other real CSRs ----------------------------------------------------------------------------------------------

OTHER_CSRS = [VECTORS / "asn1crypto" / n for n in ("test-inter-der.csr", "test-third-der.csr",
                                                    "test-windows-host.csr")]
_INDEX = VECTORS / "pyasn1-alt-modules" / "index.tsv"
if _INDEX.exists():
    for _line in _INDEX.read_text().splitlines()[1:]:
        _name = _line.split("\t")[0]
        if "CertificationRequestTestCase" in _name and _line.split("\t")[2:3] != ["PKIData"]:
            OTHER_CSRS.append(VECTORS / "pyasn1-alt-modules" / "der" / f"{_name}.der")


@pytest.mark.parametrize("path", OTHER_CSRS, ids=lambda p: p.name)
def test_other_real_csrs(path, tmp_path):
    data = path.read_bytes()
    der = estcodec.pem.decode(data)[0][1] if data.startswith(b"-----") else data
    csr = CertificationRequest.from_der(der)
    assert csr.to_der() == der
    ref = cx509.load_der_x509_csr(der)
    assert csr.tbs_der == ref.tbs_certrequest_bytes
    assert csr.subject.to_der() == ref.subject.public_bytes()
    assert [e.oid for e in csr.extensions] == [e.oid.dotted_string for e in ref.extensions]
    if OPENSSL:
        assert csr.is_signature_valid == _openssl_req_verify(der, tmp_path)


# --- building -----------------------------------------------------------------------------------------------------

KEY_CASES = [
    ("rsa-pkcs1-sha256", lambda: rsa.generate_private_key(65537, 2048), None, "pkcs1v15"),
    ("rsa-pkcs1-sha512", lambda: rsa.generate_private_key(65537, 2048), "sha512", "pkcs1v15"),
    ("rsa-pss-sha256", lambda: rsa.generate_private_key(65537, 2048), None, "pss"),
    ("rsa-pss-sha384", lambda: rsa.generate_private_key(65537, 3072), "sha384", "pss"),
    ("ecdsa-p256", lambda: ec.generate_private_key(ec.SECP256R1()), None, "pkcs1v15"),
    ("ecdsa-p384", lambda: ec.generate_private_key(ec.SECP384R1()), None, "pkcs1v15"),
    ("ecdsa-p521", lambda: ec.generate_private_key(ec.SECP521R1()), None, "pkcs1v15"),
    ("ed25519", ed25519.Ed25519PrivateKey.generate, None, "pkcs1v15"),
    ("ed448", ed448.Ed448PrivateKey.generate, None, "pkcs1v15"),
]


@pytest.mark.parametrize("name,make_key,h,pad", KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_built_csr_accepted_by_cryptography_and_openssl(name, make_key, h, pad, tmp_path):
    key = make_key()
    builder = (CertificationRequestBuilder()
               .subject("CN=device 1,O=Example Corp,C=US")
               .add_extension(oid.SUBJECT_ALT_NAME, [GeneralName(dns_name="d1.example.com"),
                                                     GeneralName(rfc822_name="ops@example.com")])
               .add_extension(oid.BASIC_CONSTRAINTS, b"\x30\x00", critical=True)
               .challenge_password("tls-unique/+="))
    csr = builder.sign(key, h, rsa_padding=pad)
    der = csr.to_der()
    ref = cx509.load_der_x509_csr(der)
    assert ref.is_signature_valid
    if OPENSSL:
        assert _openssl_req_verify(der, tmp_path)
    csr.verify()
    assert ref.subject.rfc4514_string() == "CN=device 1,O=Example Corp,C=US"
    assert _asn1_type(ref.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0]) == 19  # PrintableString
    san = ref.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert san.value.get_values_for_type(cx509.DNSName) == ["d1.example.com"]
    assert san.value.get_values_for_type(cx509.RFC822Name) == ["ops@example.com"]
    bc = ref.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    assert bc.critical and bc.value.ca is False
    cp = ref.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD)
    assert cp.value == b"tls-unique/+=" and _asn1_type(cp) == 19
    assert csr.challenge_password == "tls-unique/+="
    if pad == "pss":
        assert ref.signature_algorithm_oid.dotted_string == _sigalgs.OID_RSASSA_PSS
        params = ref.signature_algorithm_parameters
        assert isinstance(params, padding.PSS)
    elif h is not None:
        assert ref.signature_hash_algorithm.name == h


def test_builder_is_immutable_and_utf8_challenge(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    base = CertificationRequestBuilder().subject([(oid.COMMON_NAME, "Zoë")])
    with_pw = base.challenge_password("pässword_{}")
    assert base is not with_pw
    plain = base.sign(key)
    assert plain.challenge_password is None and plain.attributes == []
    csr = with_pw.sign(key)
    ref = cx509.load_der_x509_csr(csr.to_der())
    cp = ref.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD)
    assert _asn1_type(cp) == 12 and cp.value.decode("utf-8") == "pässword_{}"  # UTF8String: not printable
    assert csr.challenge_password == "pässword_{}"
    assert ref.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Zoë"
    with pytest.raises(estcodec.EncodeError):
        base.add_extension(oid.BASIC_CONSTRAINTS, b"\x30\x00").add_extension(oid.BASIC_CONSTRAINTS, b"\x30\x00")
    with pytest.raises(ValueError):
        base.add_attribute(pkcs10.OID_CHALLENGE_PASSWORD, b"\x13\x01a")
    with pytest.raises(TypeError):
        base.challenge_password(b"bytes")
    if OPENSSL:
        assert _openssl_req_verify(csr.to_der(), tmp_path)


def test_builder_accepts_cryptography_objects_and_extra_attributes():
    key = ec.generate_private_key(ec.SECP384R1())
    subject = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "from cryptography")])
    ku = cx509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                        data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                        encipher_only=False, decipher_only=False)
    unstructured = encode(UTF8String, "host.example")
    csr = (CertificationRequestBuilder(subject=subject)
           .add_extension(ku, critical=True)
           .add_extension(cx509.Extension(ExtensionOID.EXTENDED_KEY_USAGE, False,
                                          cx509.ExtendedKeyUsage([cx509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])))
           .add_attribute(pkcs10.OID_UNSTRUCTURED_NAME, unstructured)
           .sign(key, "sha256"))
    ref = cx509.load_der_x509_csr(csr.to_der())
    assert ref.is_signature_valid
    assert ref.signature_hash_algorithm.name == "sha256"
    assert ref.subject == subject
    assert ref.extensions.get_extension_for_class(cx509.KeyUsage).value == ku
    assert ref.extensions.get_extension_for_class(cx509.KeyUsage).critical
    assert [e.oid for e in csr.extensions] == [oid.KEY_USAGE, oid.EXTENDED_KEY_USAGE]
    assert csr.extension(oid.EXTENDED_KEY_USAGE).parsed == [oid.KP_CLIENT_AUTH]
    assert ref.attributes.get_attribute_for_oid(AttributeOID.UNSTRUCTURED_NAME).value == b"host.example"
    assert csr.attribute(pkcs10.OID_UNSTRUCTURED_NAME).values == [unstructured]


def test_empty_subject_and_from_cryptography_builder():
    key = ed25519.Ed25519PrivateKey.generate()
    csr = CertificationRequestBuilder().sign(key)
    assert csr.subject.rdns == [] and csr.subject.to_der() == b"\x30\x00"
    assert cx509.load_der_x509_csr(csr.to_der()).is_signature_valid
    # A CSR made by cryptography's builder reads back with identical fields.
    ref = (cx509.CertificateSigningRequestBuilder()
           .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "x")]))
           .add_attribute(AttributeOID.CHALLENGE_PASSWORD, b"pw")
           .sign(key, None))
    ours = CertificationRequest.from_cryptography(ref)
    assert ours.challenge_password == "pw"
    ours.verify()


@pytest.mark.parametrize("string_type,text", [
    (PrintableString, "abc 123"), (UTF8String, "grüße"), (BMPString, "日本"), (UniversalString, "𝄞x"),
    (TeletexString, "latin"), (IA5String, "ia5@text"),
])
def test_challenge_password_every_directory_string_form(string_type, text):
    key = ec.generate_private_key(ec.SECP256R1())
    info = CertificationRequestBuilder().subject("CN=x").build_info(key.public_key())
    attr = Attribute(attr_type=pkcs10.OID_CHALLENGE_PASSWORD, attr_values=[encode(string_type, text)])
    info = CertificationRequestInfo.from_der(encode(CertificationRequestInfo, info.replace(attributes=[attr])))
    alg, sig = _sigalgs.sign(key, info.to_der())
    csr = CertificationRequest.from_der(encode(CertificationRequest, CertificationRequest(
        certification_request_info=info, signature_algorithm=alg, signature_value=sig)))
    assert csr.challenge_password == text
    csr.verify()
    assert cx509.load_der_x509_csr(csr.to_der()).is_signature_valid


# --- failures -----------------------------------------------------------------------------------------------------

def test_tampered_csr_fails_verification(tmp_path):
    key = rsa.generate_private_key(65537, 2048)
    der = bytearray(CertificationRequestBuilder().subject("CN=tamper me").sign(key).to_der())
    i = der.index(b"tamper me")
    der[i] ^= 0x20  # "Tamper me": still a valid PrintableString
    csr = CertificationRequest.from_der(bytes(der))
    with pytest.raises(pkcs10.SignatureError):
        csr.verify()
    assert not csr.is_signature_valid
    assert not cx509.load_der_x509_csr(bytes(der)).is_signature_valid
    if OPENSSL:
        assert not _openssl_req_verify(bytes(der), tmp_path)


def test_malformed_input_raises_decode_error():
    der = (VECTORS / "rfc7030" / "A.3_simpleenroll_request_pkcs10.der").read_bytes()
    for bad in (b"", b"\x30", der[:-1], der + b"\x00", b"\x04\x00", der[:100]):
        with pytest.raises(estcodec.DecodeError):
            CertificationRequest.from_der(bad)
    with pytest.raises(estcodec.DecodeError):
        CertificationRequest.from_pem("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")
    # Every truncated prefix raises DecodeError, nothing else.
    for n in range(0, len(der), 7):
        with pytest.raises(estcodec.DecodeError):
            CertificationRequest.from_der(der[:n])


def test_extension_value_checked_on_read():
    key = ec.generate_private_key(ec.SECP256R1())
    bad_bc = Extension(extn_id=oid.BASIC_CONSTRAINTS, critical=True, extn_value=b"\x04\x00")
    csr = CertificationRequestBuilder().subject("CN=x").add_extension(bad_bc).sign(key)
    with pytest.raises(estcodec.DecodeError) as ei:
        csr.extensions
    assert ei.value.path.startswith("$.certification_request_info.attributes[0].attr_values[0][0].extn_value")


# --- properties ---------------------------------------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_PROPERTY_KEY = ec.generate_private_key(ec.SECP256R1())
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(cn=_text, org=st.one_of(st.none(), _text), password=st.one_of(st.none(), _text))
def test_property_built_csr_reads_back_in_cryptography(cn, org, password):
    attrs = [(oid.COMMON_NAME, cn)] + ([(oid.ORGANIZATION, org)] if org is not None else [])
    csr = CertificationRequestBuilder(subject=attrs, challenge_password=password).sign(_PROPERTY_KEY)
    ref = cx509.load_der_x509_csr(csr.to_der())
    assert ref.is_signature_valid
    assert ref.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cn
    if org is not None:
        assert ref.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == org
    if password is None:
        assert csr.challenge_password is None
    else:
        cp = ref.attributes.get_attribute_for_oid(AttributeOID.CHALLENGE_PASSWORD)
        assert cp.value.decode("utf-8") == password == csr.challenge_password
    assert CertificationRequest.from_der(csr.to_der()).to_der() == csr.to_der()


def test_public_names():
    for module in (pkcs10, _sigalgs):
        for name in module.__all__:
            assert hasattr(module, name), name
    assert issubclass(pkcs10.SignatureError, estcodec.Error)
    assert issubclass(pkcs10.UnsupportedSignatureAlgorithm, pkcs10.SignatureError)


def test_mutations_raise_only_package_errors():
    import random

    der = CertificationRequestBuilder().subject("CN=mutate").challenge_password("pw").add_extension(
        oid.BASIC_CONSTRAINTS, b"\x30\x00").sign(_PROPERTY_KEY).to_der()
    rng = random.Random(99)
    errors = 0
    for _ in range(300):
        buf = bytearray(der)
        buf[rng.randrange(len(buf))] ^= rng.randrange(1, 256)
        try:
            csr = CertificationRequest.from_der(bytes(buf))
            csr.extensions, csr.challenge_password, csr.subject.rfc4514_string()
            csr.verify()
        except estcodec.Error:
            errors += 1
    assert errors == 300  # every byte of a CSR is signed, or is the signature or its algorithm
