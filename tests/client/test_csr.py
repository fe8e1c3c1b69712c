"""estclient.csr.CsrBuilder: requests read back by independent decoders (cryptography, pyasn1) and by
estcodec.pkcs10; server CSR attributes from RFC 7030, RFC 9908 (lamps-csrattrs-draft vectors) and libest."""
from __future__ import annotations

import base64
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from estclient.csr import OID, CsrBuilder
from estclient.errors import ConfigError

from client_vectors import RFC7030, VECTORS, capture

LAMPS = VECTORS / "lamps-csrattrs-draft"


def load(der: bytes) -> x509.CertificationRequest:
    csr = x509.load_der_x509_csr(der)
    assert csr.is_signature_valid
    return csr


@pytest.mark.parametrize(
    "key_type, key_class, hash_name",
    [
        ("ec-p256", ec.EllipticCurvePrivateKey, "sha256"),
        ("ec-p384", ec.EllipticCurvePrivateKey, "sha384"),
        ("ec-p521", ec.EllipticCurvePrivateKey, "sha512"),
        ("ec-brainpoolp384r1", ec.EllipticCurvePrivateKey, "sha384"),
        ("rsa-2048", rsa.RSAPrivateKey, "sha256"),
        ("ed25519", ed25519.Ed25519PrivateKey, None),
    ],
)
def test_key_types(key_type, key_class, hash_name):
    der, key = CsrBuilder().common_name("k").key_type(key_type).build()
    csr = load(der)
    assert isinstance(key, key_class)
    assert (csr.signature_hash_algorithm.name if csr.signature_hash_algorithm else None) == hash_name
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert csr.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def test_subject_sans_usages():
    b = (
        CsrBuilder().common_name("device-1").organization("Example").organizational_unit("Ops").country("de")
        .state("Berlin").locality("Berlin").san_dns("d1.example", "d1.local").san_ip("192.0.2.1", "2001:db8::1")
        .san_email("ops@example.com").san_uri("urn:example:d1").key_usage("digital_signature", "key_agreement")
        .extended_key_usage("client_auth", "1.3.6.1.5.5.7.3.28")
    )
    csr = load(b.build()[0])
    assert csr.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DE"
    assert [a.value for a in csr.subject] == ["device-1", "Example", "Ops", "DE", "Berlin", "Berlin"]  # call order
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert not san.critical
    assert san.value.get_values_for_type(x509.DNSName) == ["d1.example", "d1.local"]
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("2001:db8::1")]
    assert san.value.get_values_for_type(x509.RFC822Name) == ["ops@example.com"]
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:example:d1"]
    ku = csr.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_agreement and not ku.value.key_cert_sign
    eku = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH, x509.ObjectIdentifier("1.3.6.1.5.5.7.3.28")]


def test_san_only_subject_makes_san_critical():
    csr = load(CsrBuilder().san_dns("x.example").build()[0])
    assert csr.subject == x509.Name([])
    assert csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.country("DEU"),
        lambda b: b.common_name(""),
        lambda b: b.san_ip("not-an-ip"),
        lambda b: b.key_usage("fly"),
        lambda b: b.extended_key_usage("not.an.oid"),
        lambda b: b.key_type("dsa-1024"),
        lambda b: b.with_key("key"),
        lambda b: b.decrypt_key_identifier(b""),
        lambda b: b.otp_challenge(""),
        lambda b: b.signature_hash("md5"),
    ],
)
def test_bad_input_is_config_error(call):
    with pytest.raises(ConfigError):
        call(CsrBuilder())


def test_no_challenge_password_from_build_and_binding_value_from_channel_code():
    b = CsrBuilder().common_name("cp")
    csr = load(b.build()[0])
    with pytest.raises(x509.AttributeNotFound):
        csr.attributes.get_attribute_for_oid(x509.oid.AttributeOID.CHALLENGE_PASSWORD)
    tls_unique = bytes(range(12))
    bound = load(b.build_for_connection(base64.b64encode(tls_unique).decode()))
    attr = bound.attributes.get_attribute_for_oid(x509.oid.AttributeOID.CHALLENGE_PASSWORD)
    assert attr.value == base64.b64encode(tls_unique)
    assert attr._type == 19  # PrintableString: base64 characters all fit
    assert bound.public_key().public_numbers() == b.private_key.public_key().public_numbers()


def test_repeat_build_is_byte_identical_and_changes_follow_content():
    b = CsrBuilder().common_name("same")
    first = b.build()[0]
    assert b.build()[0] == first  # ECDSA is randomized: the request is remembered, not re-signed
    assert b.build_for_connection("AAAA") != first
    b.san_dns("more.example")
    assert b.build()[0] != first


def test_with_key_keeps_key():
    key = ec.generate_private_key(ec.SECP384R1())
    der, k = CsrBuilder().common_name("mine").with_key(key).build()
    assert k is key and load(der).public_key().public_numbers() == key.public_key().public_numbers()


def test_serverkeygen_and_otp_attributes_decoded_independently():
    from pyasn1.codec.der import decoder
    from pyasn1_modules import rfc2986

    b = (
        CsrBuilder().common_name("kg").otp_challenge("123456").decrypt_key_identifier(b"kek-id-1")
        .asymmetric_decrypt_key_identifier(bytes.fromhex("a1b2c3d4"))
        .smime_capabilities("2.16.840.1.101.3.4.1.42", ("1.2.840.113549.1.1.7", bytes.fromhex("3000")))
    )
    der = b.build()[0]
    load(der)
    req, rest = decoder.decode(der, asn1Spec=rfc2986.CertificationRequest())
    assert rest == b""
    attrs = {str(a["type"]): [bytes(v) for v in a["values"]] for a in req["certificationRequestInfo"]["attributes"]}
    assert attrs[OID.OTP_CHALLENGE] == [b"\x0c\x06123456"]
    assert attrs[OID.DECRYPT_KEY_ID] == [b"\x04\x08kek-id-1"]
    assert attrs[OID.ASYMM_DECRYPT_KEY_ID] == [bytes.fromhex("0404a1b2c3d4")]
    caps = attrs[OID.SMIME_CAPABILITIES][0]
    assert caps == bytes.fromhex("301c" "300b060960864801650304012a" "300d06092a864886f70d0101073000")
    from estcodec.pkcs10 import CertificationRequest

    parsed = CertificationRequest.from_der(der)
    parsed.verify()
    assert parsed.attribute(OID.DECRYPT_KEY_ID) is not None


def test_request_agrees_with_cryptography_builder():
    """The request estcodec builds has the subject and extensions cryptography's own CSR builder gives for the
    same values, and carries the attributes cryptography cannot express (the removed fallback signer's check)."""
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    b = CsrBuilder().with_key(key).common_name("fb").san_dns("fb.example").decrypt_key_identifier(b"k")
    ref = x509.CertificateSigningRequestBuilder().subject_name(b._subject_name())
    for ext in b._extensions():
        ref = ref.add_extension(ext.value, critical=ext.critical)
    a, c = ref.sign(key, hashes.SHA256()), load(b.build_for_connection("pw"))
    assert a.subject == c.subject and list(a.extensions) == list(c.extensions)
    assert sorted(x.oid.dotted_string for x in c.attributes) == sorted(
        [OID.CHALLENGE_PASSWORD, OID.DECRYPT_KEY_ID, OID.EXTENSION_REQUEST, OID.SMIME_CAPABILITIES])


# ----------------------------------------------------------------------------- server CSR attributes


def attrs_of(der: bytes):
    from estcodec.csrattrs import CsrAttrs

    return CsrAttrs.from_der(der)


@pytest.mark.parametrize(
    "fname, key_type, hash_name, binding",
    [
        ("harkins01.csrattr.der", "rsa-4096", "sha256", True),
        ("harkins02.csrattr.der", "ec-p384", "sha384", True),
        ("harkins03.csrattr.der", "ec-p521", "sha512", True),
        ("potato-example.csrattr.der", "ec-p521", "sha512", True),
        ("rfc7030-example01.csrattr.der", "ec-p384", "sha384", True),
        ("realistic-acp.csrattr.der", "ec-p256", "sha256", False),
    ],
)
def test_with_attributes_rfc9908_examples(fname, key_type, hash_name, binding):
    b = CsrBuilder().common_name("dev").with_attributes(attrs_of((LAMPS / fname).read_bytes()))
    assert b.selected_key_type == key_type
    assert b.channel_binding_required is binding
    if key_type != "rsa-4096":  # (generating a 4096-bit key is slow and shows nothing more)
        csr = load(b.build()[0])
        assert csr.signature_hash_algorithm.name == hash_name


def test_with_attributes_copies_extension_values_with_criticality():
    server = attrs_of((LAMPS / "realistic-acp.csrattr.der").read_bytes())
    (wanted,) = [e for e in server.extension_request if e.oid == "2.5.29.17"]
    b = CsrBuilder().common_name("dev").san_dns("mine.example").with_attributes(server)
    san = load(b.build()[0]).extensions.get_extension_for_oid(x509.ObjectIdentifier("2.5.29.17"))
    assert san.critical == wanted.critical is True  # copied with its criticality
    assert san.value.public_bytes() == wanted.value  # the server's value replaces the builder's


def test_with_attributes_rfc7030_and_libest():
    b = CsrBuilder().common_name("dev").with_attributes(attrs_of((RFC7030 / "sec4.5.2_csrattrs_example.der").read_bytes()))
    assert b.selected_key_type == "ec-p384" and b.channel_binding_required
    from estclient.protocol import parse_csrattrs_response

    custom = parse_csrattrs_response(capture("csrattrs-custom")[0])
    b = CsrBuilder().common_name("dev").with_attributes(custom)
    assert b.selected_key_type == "ec-p384" and b.channel_binding_required
    csr = load(b.build()[0])
    assert csr.signature_hash_algorithm.name == "sha384"
    plain = parse_csrattrs_response(capture("csrattrs")[0])
    b = CsrBuilder().common_name("dev").with_attributes(plain)
    assert b.selected_key_type == "ec-p384" and not b.channel_binding_required


def test_with_attributes_rfc7030_a2_brainpool():
    b = CsrBuilder().common_name("bp").with_attributes(attrs_of((RFC7030 / "A.2_csrattrs_response.der").read_bytes()))
    assert b.selected_key_type == "ec-brainpoolp384r1" and b.channel_binding_required
    csr = load(b.build()[0])
    assert csr.public_key().curve.name == "brainpoolP384r1" and csr.signature_hash_algorithm.name == "sha384"


def test_with_attributes_keeps_given_key():
    key = ec.generate_private_key(ec.SECP256R1())
    b = CsrBuilder().with_key(key).common_name("k").with_attributes(
        attrs_of((LAMPS / "harkins02.csrattr.der").read_bytes()))
    assert b.private_key is key


def test_with_attributes_template():
    from estcodec.csrattrs import CertificationRequestInfoTemplate, CsrAttrsBuilder

    ku_der = x509.KeyUsage(True, False, False, False, False, False, False, False, False).public_bytes()
    template = CertificationRequestInfoTemplate.build(
        subject=[("2.5.4.10", "Template Org"), ("2.5.4.3", None)],
        key_algorithm=OID.EC_PUBLIC_KEY,
        key_parameters=bytes.fromhex("06052b81040022"),  # secp384r1
        extensions=[("2.5.29.17", True, None), ("2.5.29.15", True, ku_der)],
    )
    attrs = CsrAttrsBuilder().template(template).oid(OID.CHALLENGE_PASSWORD).build()
    b = (CsrBuilder().common_name("from-builder").organization("ignored").san_dns("t.example")
         .extended_key_usage("client_auth").with_attributes(attrs))
    assert b.selected_key_type == "ec-p384" and b.channel_binding_required
    csr = load(b.build()[0])
    assert csr.subject.rfc4514_string() == "CN=from-builder,O=Template Org"
    names = [e.oid.dotted_string for e in csr.extensions]
    assert sorted(names) == ["2.5.29.15", "2.5.29.17"]  # the template's extensions only: no EKU
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical and san.value.get_values_for_type(x509.DNSName) == ["t.example"]
    assert csr.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    # a value-less RDN the builder cannot fill is an error, not a silent omission
    with pytest.raises(ConfigError):
        CsrBuilder().organization("x").with_attributes(attrs).build()
