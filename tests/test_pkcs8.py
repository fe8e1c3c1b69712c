"""Tests of estcodec.pkcs8: PrivateKeyInfo / OneAsymmetricKey (RFC 5208, RFC 5958), AsymmetricKeyPackage and
the lenient importer of PKCS#1 / SEC1 keys.

Vectors (provenance in tests/vectors/README.md and the cryptography_vectors package): RFC 7030 A.4's
server-generated key, libest's serverkeygen key (PKCS#1 sent as PKCS#8), cryptography_vectors
asymmetric/PKCS8, asn1crypto's keys, RustCrypto formats' pkcs8/pkcs1 examples, RFC 4134's keys and the
pyasn1-alt-modules key blobs. Independent readers: pyasn1-modules (rfc5958, rfc5208, rfc8017, rfc5915),
``cryptography`` and pycryptodome.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import cryptography_vectors
import pytest
from Crypto.PublicKey import RSA as CryptoRSA
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.serialization import load_der_private_key
from pyasn1.codec.der import decoder as der_decoder
from pyasn1_modules import rfc5208, rfc5915, rfc5958, rfc8017

from estcodec import DecodeError, EncodeError, Error, pem
from estcodec.der import parse
from estcodec.pkcs8 import (
    V1, V2, AlgorithmIdentifier, Attribute, ECPrivateKey, EncryptedPrivateKeyInfo, OneAsymmetricKey,
    PrivateKeyInfo, RSAPrivateKey, build_asymmetric_key_package, oid, parse_asymmetric_key_package,
    parse_private_key,
)
from estcodec.schema import ObjectIdentifier, decode

VECTORS = Path(__file__).resolve().parent / "vectors"
CV_PKCS8 = Path(os.path.dirname(cryptography_vectors.__file__)) / "asymmetric" / "PKCS8"
ASN1CRYPTO = VECTORS / "asn1crypto" / "keys"
RC_PKCS8 = VECTORS / "rustcrypto-formats" / "pkcs8" / "tests" / "examples"
RC_PKCS1 = VECTORS / "rustcrypto-formats" / "pkcs1" / "tests" / "examples"
PYALT = VECTORS / "pyasn1-alt-modules" / "der"
RFC4134 = VECTORS / "rfc4134"
A4_KEY = VECTORS / "rfc7030" / "A.4_serverkeygen_response_part1_pkcs8.der"
LIBEST_KEY = VECTORS / "libest" / "serverkeygen" / "tc2-new-key.keyb64"


def _pem_blocks(path: Path) -> list[tuple[str, bytes]]:
    try:
        return pem.decode(path.read_bytes())
    except DecodeError:
        return []


def _pkcs8_vectors() -> list[tuple[str, bytes]]:
    """(name, DER) of every unencrypted PKCS#8 / OneAsymmetricKey vector."""
    out = []
    for p in sorted(CV_PKCS8.iterdir()):
        if p.suffix == ".pem":
            out += [(p.name, der) for label, der in _pem_blocks(p) if label == "PRIVATE KEY"]
    out += [(p.name, (CV_PKCS8 / p.name).read_bytes()) for p in [CV_PKCS8 / "invalid-version.der",
                                                                 CV_PKCS8 / "unknown-oid.der"]]
    for p in sorted(ASN1CRYPTO.glob("test-pkcs8*-der.key")) + [ASN1CRYPTO / "test-rsapss-der.key"]:
        out.append((p.name, p.read_bytes()))
    for name in ("test-ed25519.key", "test-ed448.key"):
        out += [(name, der) for label, der in _pem_blocks(ASN1CRYPTO / name) if label == "PRIVATE KEY"]
    for p in sorted(RC_PKCS8.glob("*-priv*.der")):
        out.append((p.name, p.read_bytes()))
    for p in sorted(RFC4134.glob("*.pri")):
        out.append((p.name, p.read_bytes()))
    out.append((A4_KEY.name, A4_KEY.read_bytes()))
    for name in ("rfc5208__PrivateKeyInfoTestCase__pem_text.der", "rfc5958__PrivateKeyTestCase__priv_key_pem_text.der"):
        out.append((name, (PYALT / name).read_bytes()))
    return out


PKCS8 = _pkcs8_vectors()
PKCS8_IDS = [f"{i}-{name}" for i, (name, _) in enumerate(PKCS8)]


def test_vector_inventory():
    assert len(PKCS8) >= 42
    assert {n for n, _ in PKCS8} >= {"ed25519-priv-pkcs8v2.der", "BobPrivRSAEncrypt.pri", A4_KEY.name}


# ---------------------------------------------------------------- PKCS#8 / OneAsymmetricKey vectors


@pytest.mark.parametrize("name,der", PKCS8, ids=PKCS8_IDS)
def test_pkcs8_vector_round_trip_and_pyasn1_agrees(name, der):
    k = OneAsymmetricKey.from_der(der)
    assert k.to_der() == der
    assert k.replace().to_der() == der  # re-encoded from values
    ref, rest = der_decoder.decode(der, asn1Spec=rfc5958.OneAsymmetricKey())
    assert rest == b""
    assert k.version == int(ref["version"])
    assert k.algorithm_oid == str(ref["privateKeyAlgorithm"]["algorithm"])
    params = ref["privateKeyAlgorithm"]["parameters"]
    assert k.algorithm_parameters == (bytes(params) if params.isValue else None)
    assert k.private_key == bytes(ref["privateKey"])
    if ref["attributes"].isValue:
        assert [(a.oid, a.values) for a in k.attributes] == [
            (str(a["attrType"]), [bytes(v) for v in a["attrValues"]]) for a in ref["attributes"]]
    else:
        assert k.attributes is None
    if ref["publicKey"].isValue:
        assert k.public_key_bytes == ref["publicKey"].asOctets()
    else:
        assert k.public_key is None
    assert parse_private_key(der).to_der() == der
    assert pickle.loads(pickle.dumps(k)).to_der() == der


@pytest.mark.parametrize("name,der", PKCS8, ids=PKCS8_IDS)
def test_pkcs8_vector_to_cryptography_matches(name, der):
    """Where cryptography reads the key, ours converts to the same key; where it refuses, we raise our own
    DecodeError, except for RFC 5958 v2 keys, which we read through their v1 form (documented)."""
    k = OneAsymmetricKey.from_der(der)
    try:
        expected = load_der_private_key(der, password=None)
    except Exception:  # noqa: BLE001 - cryptography's refusal, any kind
        expected = None
    if expected is None and k.version == V2:
        v1 = k.replace(version=V1, attributes=None, public_key=None).to_der()
        expected = load_der_private_key(v1, password=None)
    if expected is None:
        with pytest.raises(DecodeError) as info:
            k.to_cryptography()
        assert info.value.reason == "invalid-value"
        return
    got = k.to_cryptography()
    fmt = (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert got.private_bytes(*fmt) == expected.private_bytes(*fmt)


def test_v2_keys_with_public_key():
    for der in [(RC_PKCS8 / "ed25519-priv-pkcs8v2.der").read_bytes(),
                (PYALT / "rfc5958__PrivateKeyTestCase__priv_key_pem_text.der").read_bytes()]:
        k = OneAsymmetricKey.from_der(der)
        assert k.version == V2 and k.algorithm_oid == oid.ED25519
        key = k.to_cryptography()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert raw == k.public_key_bytes
        with pytest.raises(DecodeError) as info:
            k.replace(public_key=bytes(32)).to_cryptography()
        assert info.value.path == "$.public_key"


def test_pyasn1_alt_v2_key_attributes():
    k = OneAsymmetricKey.from_der((PYALT / "rfc5958__PrivateKeyTestCase__priv_key_pem_text.der").read_bytes())
    (a,) = k.attributes
    assert isinstance(a, Attribute)
    assert a.oid == "1.2.840.113549.1.9.9.20" and a.values == [b"\x0c\x0dCurdle Chairs"]


def test_rfc7030_a4_key():
    der = A4_KEY.read_bytes()
    k = PrivateKeyInfo.from_der(der)
    assert (k.version, k.algorithm_oid, k.algorithm_parameters) == (0, oid.RSA_ENCRYPTION, b"\x05\x00")
    key = k.to_cryptography()
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    # the b64 body of the RFC gives the same key
    assert parse_private_key((VECTORS / "rfc7030" / "A.4_serverkeygen_response_part1_pkcs8.b64").read_bytes()) == k
    # pycryptodome agrees on the numbers
    ref = CryptoRSA.import_key(der)
    assert (ref.n, ref.d) == (key.private_numbers().public_numbers.n, key.private_numbers().d)


def test_pem_out_and_in():
    der = A4_KEY.read_bytes()
    k = OneAsymmetricKey.from_der(der)
    text = k.to_pem()
    assert text.startswith("-----BEGIN PRIVATE KEY-----\n") and text.endswith("-----END PRIVATE KEY-----\n")
    assert pem.decode(text) == [("PRIVATE KEY", der)]
    assert OneAsymmetricKey.from_pem(text) == k
    assert serialization.load_pem_private_key(text.encode(), None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()) == der
    with pytest.raises(DecodeError) as info:
        OneAsymmetricKey.from_pem(pem.encode("RSA PRIVATE KEY", der))
    assert info.value.reason == "invalid-pem"


# ---------------------------------------------------------------- strictness


def _tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def _ed25519_key(version: int, with_public: bool) -> bytes:
    body = (_tlv(0x02, bytes([version])) + _tlv(0x30, _tlv(0x06, bytes.fromhex("2b6570")))
            + _tlv(0x04, _tlv(0x04, bytes(range(32)))))
    if with_public:
        body += _tlv(0x81, b"\x00" + bytes(32))
    return _tlv(0x30, body)


def test_version_checks():
    assert OneAsymmetricKey.from_der(_ed25519_key(0, False)).version == V1
    assert OneAsymmetricKey.from_der(_ed25519_key(1, True)).version == V2
    with pytest.raises(DecodeError) as info:
        OneAsymmetricKey.from_der(_ed25519_key(2, False))
    assert (info.value.reason, info.value.offset, info.value.path) == ("invalid-value", 2, "$.version")
    with pytest.raises(DecodeError) as info:
        OneAsymmetricKey.from_der(_ed25519_key(0, True))  # a publicKey needs v2
    assert info.value.reason == "invalid-value"
    with pytest.raises(DecodeError):
        parse_private_key(_ed25519_key(2, False))


@pytest.mark.parametrize("name,der", PKCS8[:12], ids=PKCS8_IDS[:12])
def test_truncations_and_trailing_data(name, der):
    for n in range(0, len(der), max(1, len(der) // 97)):
        with pytest.raises(DecodeError):
            OneAsymmetricKey.from_der(der[:n])
        with pytest.raises(DecodeError):
            parse_private_key(der[:n])
    with pytest.raises(DecodeError) as info:
        OneAsymmetricKey.from_der(der + b"\x00\x00")
    assert info.value.reason == "trailing-data"


def test_ber_input_needs_the_switch():
    der = _ed25519_key(0, False)
    ber = b"\x30\x80" + der[2:] + b"\x00\x00"
    with pytest.raises(DecodeError) as info:
        OneAsymmetricKey.from_der(ber)
    assert info.value.reason == "indefinite-length"
    assert OneAsymmetricKey.from_der(ber, ber=True).to_der() == der


# ---------------------------------------------------------------- lenient import: PKCS#1 and SEC1


def _same_private_key(a, b) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return a.private_bytes(*fmt) == b.private_bytes(*fmt)


PKCS1_FILES = [ASN1CRYPTO / "test-der.key", RC_PKCS1 / "rsa2048-priv.der", RC_PKCS1 / "rsa4096-priv.der", RC_PKCS1 / "rsa2048-priv-3prime.der",
               PYALT / "rfc2437__RSAPrivateKeyTestCase__pem_text.der",
               PYALT / "rfc3447__MultiprimeRSAPrivateKeyTestCase__pem_text.der"]


@pytest.mark.parametrize("path", PKCS1_FILES, ids=lambda p: p.name)
def test_pkcs1_rsa_wrapped_into_pkcs8(path):
    der = path.read_bytes()
    k = parse_private_key(der)
    assert (k.version, k.algorithm_oid, k.algorithm_parameters) == (V1, oid.RSA_ENCRYPTION, b"\x05\x00")
    assert k.private_key == der  # the PKCS#1 bytes are kept unchanged
    ref, _ = der_decoder.decode(der, asn1Spec=rfc8017.RSAPrivateKey())
    ours = RSAPrivateKey.from_der(der)
    assert (ours.modulus, ours.private_exponent) == (int(ref["modulus"]), int(ref["privateExponent"]))
    assert str(ours.modulus) not in repr(ours)
    try:
        expected = load_der_private_key(der, None)
    except Exception:  # noqa: BLE001 - e.g. multi-prime keys OpenSSL builds may refuse
        expected = None
    if expected is None:
        with pytest.raises(DecodeError):
            k.to_cryptography()
    else:
        assert _same_private_key(k.to_cryptography(), expected)
        assert CryptoRSA.import_key(k.to_der()).d == expected.private_numbers().d


def test_pkcs1_pem_forms():
    text = (RC_PKCS1 / "rsa2048-priv.pem").read_text()
    assert "BEGIN RSA PRIVATE KEY" in text
    assert parse_private_key(text).private_key == (RC_PKCS1 / "rsa2048-priv.der").read_bytes()
    assert parse_private_key(text.encode()) == parse_private_key(text)


def test_libest_serverkeygen_key_is_pkcs1_labelled_pkcs8():
    """libest returns a PKCS#1 RSAPrivateKey (base64, no PEM armour) under application/pkcs8."""
    body = LIBEST_KEY.read_bytes()
    der = pem.load_any(body)
    assert parse(der)[1].tag == 2  # second element INTEGER: PKCS#1, not PKCS#8
    k = parse_private_key(body)
    assert k.algorithm_oid == oid.RSA_ENCRYPTION and k.private_key == der
    key = k.to_cryptography()
    assert _same_private_key(key, load_der_private_key(der, None))
    assert key.key_size == 4096


def test_pkcs8_content_under_rsa_private_key_label():
    text = (CV_PKCS8 / "wrong-pem-delimiter-rsa.pem").read_bytes()
    assert b"BEGIN RSA PRIVATE KEY" in text
    k = parse_private_key(text)
    assert k.to_der() == pem.decode(text)[0][1] and k.algorithm_oid == oid.RSA_ENCRYPTION


SEC1_FILES = [ASN1CRYPTO / "test-ec-named-der.key", ASN1CRYPTO / "test-ec-der.key",
              PYALT / "rfc5915__MUDCertTestCase__private_key_pem_text.der"]


@pytest.mark.parametrize("path", SEC1_FILES, ids=lambda p: p.name)
def test_sec1_ec_wrapped_into_pkcs8(path):
    der = path.read_bytes()
    k = parse_private_key(der)
    assert k.algorithm_oid == oid.EC_PUBLIC_KEY and k.private_key == der
    ours = ECPrivateKey.from_der(der)
    assert k.algorithm_parameters == ours.parameters
    if ours.parameters[0] == 0x06:  # pyasn1-modules' ECParameters knows only namedCurve
        ref, _ = der_decoder.decode(der, asn1Spec=rfc5915.ECPrivateKey())
        assert ours.private_key == bytes(ref["privateKey"])
        assert str(ref["parameters"]["namedCurve"]) == decode(ObjectIdentifier, ours.parameters)
    else:
        assert ours.parameters[0] == 0x30  # specifiedCurve
    try:
        expected = load_der_private_key(der, None)
    except Exception:  # noqa: BLE001 - explicit curve parameters are refused by cryptography
        expected = None
    if expected is None:
        with pytest.raises(DecodeError):
            k.to_cryptography()
    else:
        assert _same_private_key(k.to_cryptography(), expected)


def test_sec1_pem_and_without_parameters():
    text = (ASN1CRYPTO / "test-ec-named.key").read_text()
    assert "BEGIN EC PRIVATE KEY" in text
    assert parse_private_key(text).algorithm_parameters == bytes.fromhex("06082a8648ce3d030107")
    key = ec.generate_private_key(ec.SECP256R1())
    sec1 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    bare = ECPrivateKey.from_der(sec1).replace(parameters=None).to_der()
    with pytest.raises(DecodeError) as info:
        parse_private_key(bare)
    assert (info.value.reason, info.value.path) == ("missing-field", "$.parameters")


@pytest.mark.parametrize("make", [
    lambda: rsa.generate_private_key(65537, 2048),
    lambda: ec.generate_private_key(ec.SECP256R1()),
    lambda: ec.generate_private_key(ec.SECP384R1()),
    lambda: ec.generate_private_key(ec.SECP521R1()),
    ed25519.Ed25519PrivateKey.generate, ed448.Ed448PrivateKey.generate,
    x25519.X25519PrivateKey.generate, x448.X448PrivateKey.generate,
], ids=["rsa2048", "p256", "p384", "p521", "ed25519", "ed448", "x25519", "x448"])
def test_cryptography_round_trip(make):
    key = make()
    k = OneAsymmetricKey.from_cryptography(key)
    assert _same_private_key(k.to_cryptography(), key)
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        trad = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
        assert _same_private_key(parse_private_key(trad).to_cryptography(), key)
    with pytest.raises(TypeError):
        OneAsymmetricKey.from_cryptography(key.public_key())


# ---------------------------------------------------------------- encrypted keys and things that are not keys


ENCRYPTED = [(p.name, der) for p in sorted(CV_PKCS8.glob("*.pem")) for label, der in _pem_blocks(p)
             if label == "ENCRYPTED PRIVATE KEY"] + [
    (p.name, p.read_bytes()) for p in sorted(RC_PKCS8.glob("*encpriv*.der"))] + [
    (n, (PYALT / n).read_bytes()) for n in ("rfc5208__EncryptedPrivateKeyInfoInfoTestCase__pem_text.der",
                                            "rfc7914__MultiprimeRSAPrivateKeyTestCase__pem_text.der")]


@pytest.mark.parametrize("name,der", ENCRYPTED, ids=[n for n, _ in ENCRYPTED])
def test_encrypted_keys_need_a_password(name, der):
    e = EncryptedPrivateKeyInfo.from_der(der)
    assert e.to_der() == der
    ref, _ = der_decoder.decode(der, asn1Spec=rfc5208.EncryptedPrivateKeyInfo())
    assert e.encryption_algorithm.algorithm == str(ref["encryptionAlgorithm"]["algorithm"])
    assert e.encrypted_data == bytes(ref["encryptedData"])
    assert e.encrypted_data.hex() not in repr(e)
    with pytest.raises(DecodeError) as info:
        parse_private_key(der)
    assert info.value.reason == "encrypted-key"


def test_encrypted_key_with_password():
    key = ec.generate_private_key(ec.SECP256R1())
    enc = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(b"correct horse"))
    assert _same_private_key(parse_private_key(enc, password=b"correct horse").to_cryptography(), key)
    with pytest.raises(DecodeError) as info:
        parse_private_key(enc, password=b"wrong")
    assert info.value.reason == "invalid-value"


@pytest.mark.parametrize("path,reason", [
    (RC_PKCS8 / "rsa2048-pub.der", "unsupported-key-format"),
    (RC_PKCS8 / "ed25519-pub.der", "unsupported-key-format"),
    (RC_PKCS8 / "ed25519-pub.pem", "invalid-pem"),
    (RC_PKCS1 / "rsa2048-pub.der", "unsupported-key-format"),     # PKCS#1 RSAPublicKey
    (ASN1CRYPTO / "test-dsa-der.key", "unsupported-key-format"),  # OpenSSL's legacy DSA key
    (ASN1CRYPTO / "test-aes128.key", "invalid-pem"),              # legacy Proc-Type encryption
    (CV_PKCS8 / "unenc-rsa-pkcs8.pub.pem", "invalid-pem"),
    (CV_PKCS8 / "rsa_pss_2048_pub.der", "unsupported-key-format"),
])
def test_not_a_private_key(path, reason):
    with pytest.raises(DecodeError) as info:
        parse_private_key(path.read_bytes())
    assert info.value.reason == reason


def test_garbage_raises_decode_error():
    # asn1crypto's test-aes128-der.key is the raw ciphertext of a legacy encrypted key
    with pytest.raises(DecodeError):
        parse_private_key((ASN1CRYPTO / "test-aes128-der.key").read_bytes())
    for junk in (b"", b"\x30", b"\x02\x01\x00", b"hello world", "not base64 !"):
        with pytest.raises(DecodeError):
            parse_private_key(junk)
    with pytest.raises(TypeError):
        parse_private_key(12345)


# ---------------------------------------------------------------- AsymmetricKeyPackage


def test_asymmetric_key_package_vector_in_content_info():
    data = (PYALT / "rfc5958__PrivateKeyOpenTypesTestCase__asymmetric_key_pkg_pem_text.der").read_bytes()
    assert parse(data)[0].value == oid.CT_KP_A_KEY_PACKAGE == "2.16.840.1.101.2.1.2.78.5"
    (k,) = parse_asymmetric_key_package(data)
    inner = parse(data)[1][0]
    ref, _ = der_decoder.decode(inner.to_der(), asn1Spec=rfc5958.AsymmetricKeyPackage())
    assert k.to_der() == bytes(inner.to_der()[inner.header_length:])  # the only key, byte for byte
    assert k.private_key == bytes(ref[0]["privateKey"]) and k.version == V2
    assert isinstance(k.to_cryptography(), ed25519.Ed25519PrivateKey)
    with pytest.raises(DecodeError):
        parse_asymmetric_key_package((PYALT / "rfc9939__OnePrivateKeyTestCase__pem_text.der").read_bytes())


def test_build_asymmetric_key_package_read_by_pyasn1():
    keys = [ed25519.Ed25519PrivateKey.generate(), OneAsymmetricKey.from_der(A4_KEY.read_bytes())]
    data = build_asymmetric_key_package(keys)
    ref, rest = der_decoder.decode(data, asn1Spec=rfc5958.AsymmetricKeyPackage())
    assert rest == b"" and len(ref) == 2
    assert [str(r["privateKeyAlgorithm"]["algorithm"]) for r in ref] == [oid.ED25519, oid.RSA_ENCRYPTION]
    back = parse_asymmetric_key_package(data)
    assert back[1].to_der() == A4_KEY.read_bytes()
    assert _same_private_key(back[0].to_cryptography(), keys[0])
    with pytest.raises(EncodeError):
        build_asymmetric_key_package([])
    with pytest.raises(DecodeError):
        parse_asymmetric_key_package(b"\x30\x00")  # SIZE (1..MAX)


def test_key_package_version_error_has_path():
    data = b"\x30" + bytes([len(_ed25519_key(0, False)) * 2]) + _ed25519_key(0, False) + _ed25519_key(3, False)
    with pytest.raises(DecodeError) as info:
        parse_asymmetric_key_package(data)
    assert info.value.path == "$[1].version" and info.value.reason == "invalid-value"
    assert info.value.offset == 2 + len(_ed25519_key(0, False)) + 2


# ---------------------------------------------------------------- secrets stay secret


def test_no_key_bytes_in_reprs_or_errors():
    der = A4_KEY.read_bytes()
    k = OneAsymmetricKey.from_der(der)
    secret = k.private_key
    rsa_key = RSAPrivateKey.from_der(secret)
    texts = [repr(k), str(k), repr(rsa_key), repr(OneAsymmetricKey.from_der(_ed25519_key(0, False)))]
    three_prime = RSAPrivateKey.from_der((RC_PKCS1 / "rsa2048-priv-3prime.der").read_bytes())
    texts.append(repr(three_prime.other_prime_infos))
    assert str(three_prime.other_prime_infos[0].prime) not in texts[-1]
    sec1 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    texts.append(repr(ECPrivateKey.from_der(sec1)))
    # errors raised on damaged keys
    damaged = [der[:-1], der[:200], der[:30] + b"\xff" + der[31:]]
    bad_scalar = OneAsymmetricKey(version=0, private_key_algorithm=AlgorithmIdentifier(
        algorithm=oid.EC_PUBLIC_KEY, parameters=bytes.fromhex("06082a8648ce3d030107")),
        private_key=ECPrivateKey(version=1, private_key=b"\xff" * 32).to_der())
    for d in damaged:
        with pytest.raises(Error) as info:
            parse_private_key(d)
        texts.append(str(info.value))
    with pytest.raises(DecodeError) as info:
        bad_scalar.to_cryptography()
    texts.append(str(info.value))
    needles = [secret[i:i + 8] for i in range(40, len(secret) - 8, 64)]
    for t in texts:
        assert "hidden" in t or "at $" in t
        for n in needles:
            assert n.hex() not in t.lower() and repr(n)[2:-1] not in t
        assert "ff" * 16 not in t.lower()


def test_private_key_contents_are_validated_for_known_algorithms():
    der = bytearray(A4_KEY.read_bytes())
    octets = parse(bytes(der))[2]
    inner_at = octets.offset + octets.header_length
    der[inner_at + 4] = 0x04  # the PKCS#1 version INTEGER becomes an OCTET STRING
    with pytest.raises(DecodeError) as info:
        OneAsymmetricKey.from_der(bytes(der))
    assert (info.value.path, info.value.reason, info.value.offset) == ("$.private_key", "unexpected-tag",
                                                                       inner_at + 4)
    # an unknown algorithm keeps an opaque privateKey
    unknown = (CV_PKCS8 / "unknown-oid.der").read_bytes()
    assert OneAsymmetricKey.from_der(unknown).algorithm_oid == "1.2.840.1004321.3213.321"
    # Ed25519's privateKey is itself an OCTET STRING (RFC 8410 CurvePrivateKey)
    bad = _ed25519_key(0, False).replace(b"\x04\x22\x04\x20", b"\x04\x22\x02\x20")
    with pytest.raises(DecodeError) as info:
        OneAsymmetricKey.from_der(bad)
    assert info.value.path == "$.private_key"


# ---------------------------------------------------------------- a real server's serverkeygen response


def test_libest_server_serverkeygen_capture():
    """libest 3.2's estserver labels the key part application/pkcs8 but sends PKCS#1; the key must be the one
    certified in the certs-only part."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    raw = (VECTORS / "libest-captures" / "serverkeygen.resp.bin").read_bytes()
    body = raw.split(b"\r\n\r\n", 1)[1]
    parts = {}
    for chunk in body.split(b"--est-server-boundary")[1:]:
        if chunk.startswith(b"--"):
            break
        headers, content = chunk.split(b"\r\n\r\n", 1)
        ctype = [h for h in headers.split(b"\r\n") if h.lower().startswith(b"content-type:")][0]
        parts[ctype.split(b":", 1)[1].strip().split(b";")[0]] = content.strip()
    key_part = parts[b"application/pkcs8"]
    k = parse_private_key(key_part)
    assert parse(pem.load_any(key_part))[1].tag == 2  # PKCS#1 under the PKCS#8 label
    (cert,) = pkcs7.load_der_pkcs7_certificates(pem.load_any(parts[b"application/pkcs7-mime"]))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert (k.to_cryptography().public_key().public_bytes(serialization.Encoding.DER, spki)
            == cert.public_key().public_bytes(serialization.Encoding.DER, spki))


# ---------------------------------------------------------------- robustness: mutated inputs


def _mutations(data: bytes, step: int = 1):
    for i in range(0, len(data), step):
        for v in (0x00, 0x80, 0xFF, data[i] ^ 0x01):
            if v != data[i]:
                yield data[:i] + bytes([v]) + data[i + 1:]


@pytest.mark.parametrize("der", [
    _ed25519_key(1, True),
    (RC_PKCS8 / "p256-priv.der").read_bytes(),
    (ASN1CRYPTO / "test-ec-named-der.key").read_bytes(),
    (RC_PKCS1 / "rsa2048-priv.der").read_bytes()[:400],  # a truncated one: every mutation must fail cleanly
    (PYALT / "rfc5958__PrivateKeyOpenTypesTestCase__asymmetric_key_pkg_pem_text.der").read_bytes(),
], ids=["ed25519-v2", "p256-pkcs8", "p256-sec1", "rsa-truncated", "key-package"])
def test_mutated_keys_decode_or_raise_decode_error_only(der):
    for m in _mutations(der):
        try:
            k = parse_private_key(m)
        except DecodeError as exc:
            assert exc.reason
            continue
        repr(k)
        try:
            k.to_cryptography()
        except DecodeError:
            pass
    for m in _mutations(der, step=3):
        try:
            parse_asymmetric_key_package(m)
        except DecodeError:
            pass


def test_all_names_exist():
    import estcodec.pkcs8 as m
    assert all(hasattr(m, n) for n in m.__all__)
