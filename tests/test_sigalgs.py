"""Tests of estcodec._sigalgs: signature AlgorithmIdentifiers, signing and verifying with real keys.

Oracles: ``cryptography``'s own verify calls (independent of our AlgorithmIdentifier parsing), the
AlgorithmIdentifier bytes ``cryptography``'s CSR builder writes for the same algorithm, and pycryptodome for
RSASSA-PSS with RFC 4055 default parameters.
"""
from __future__ import annotations

import pytest
from Crypto.Hash import SHA1 as CSHA1
from Crypto.PublicKey import RSA as CryptoRSA
from Crypto.Signature import pss as cpss
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

import estcodec
from estcodec import _sigalgs as S
from estcodec.pkcs10 import CertificationRequest
from estcodec.schema import Integer, encode
from estcodec.x509 import AlgorithmIdentifier, SubjectPublicKeyInfo

DATA = b"the quick brown fox"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(rsa_key):
    return {
        "rsa": rsa_key,
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "ed448": ed448.Ed448PrivateKey.generate(),
    }


def _crypto_csr_sigalg(key, h, rsa_padding=None) -> bytes:
    b = cx509.CertificateSigningRequestBuilder().subject_name(
        cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "x")]))
    kw = {"rsa_padding": rsa_padding} if rsa_padding is not None else {}
    csr = b.sign(key, h, **kw)
    return CertificationRequest.from_der(csr.public_bytes(serialization.Encoding.DER)).signature_algorithm.to_der()


@pytest.mark.parametrize("name,h,expect_oid", [
    ("p256", None, "1.2.840.10045.4.3.2"),
    ("p384", None, "1.2.840.10045.4.3.3"),
    ("p521", None, "1.2.840.10045.4.3.4"),
    ("rsa", None, "1.2.840.113549.1.1.11"),
    ("ed25519", None, "1.3.101.112"),
    ("ed448", None, "1.3.101.113"),
])
def test_default_hash_and_oid_per_key(keys, name, h, expect_oid):
    key = keys[name]
    alg, sig = S.sign(key, DATA, hash_algorithm=h)
    assert alg.algorithm == expect_oid
    pub = key.public_key()
    # Independent check with cryptography's own verify.
    if name == "rsa":
        pub.verify(sig, DATA, padding.PKCS1v15(), hashes.SHA256())
    elif name.startswith("p"):
        hh = {"p256": hashes.SHA256(), "p384": hashes.SHA384(), "p521": hashes.SHA512()}[name]
        pub.verify(sig, DATA, ec.ECDSA(hh))
    else:
        pub.verify(sig, DATA)
    S.verify(alg, pub, DATA, sig)
    # The identifier is byte-identical to the one cryptography writes for the same algorithm.
    crypto_h = None if name.startswith("ed") else S.default_hash_for_key(key)
    assert alg.to_der() == _crypto_csr_sigalg(key, crypto_h)


@pytest.mark.parametrize("hname", ["sha224", "sha256", "sha384", "sha512"])
def test_rsa_pkcs1v15_hashes_match_cryptography_encoding(rsa_key, hname):
    alg, sig = S.sign(rsa_key, DATA, hash_algorithm=hname)
    h = S.hash_from_name(hname)
    rsa_key.public_key().verify(sig, DATA, padding.PKCS1v15(), h)
    assert alg.to_der() == _crypto_csr_sigalg(rsa_key, h)
    assert alg.parameters == b"\x05\x00"


@pytest.mark.parametrize("hname", ["sha256", "sha384", "sha512"])
def test_rsa_pss_matches_cryptography_encoding(rsa_key, hname):
    h = S.hash_from_name(hname)
    alg, sig = S.sign(rsa_key, DATA, hash_algorithm=h, rsa_padding="pss")
    assert alg.algorithm == S.OID_RSASSA_PSS
    rsa_key.public_key().verify(sig, DATA, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    want = _crypto_csr_sigalg(rsa_key, h, padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.DIGEST_LENGTH))
    assert alg.to_der() == want
    S.verify(alg, rsa_key.public_key(), DATA, sig)


def test_rsa_pss_custom_salt(rsa_key):
    alg, sig = S.sign(rsa_key, DATA, rsa_padding="pss", pss_salt_length=0)
    p = S.RSASSAPSSParams.from_der(alg.parameters)
    assert p.salt_length == 0
    S.verify(alg, rsa_key, DATA, sig)
    # Salt length is checked exactly: a signature made with another salt length fails.
    other = rsa_key.sign(DATA, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    with pytest.raises(S.SignatureError):
        S.verify(alg, rsa_key, DATA, other)


def test_rsa_pss_default_parameters_pycryptodome(rsa_key):
    # RSASSA-PSS-params all DEFAULT (an empty SEQUENCE): SHA-1, MGF1-SHA-1, salt 20, trailer 1 (RFC 4055).
    pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    signer = cpss.new(CryptoRSA.import_key(pem), salt_bytes=20)
    sig = signer.sign(CSHA1.new(DATA))
    alg = AlgorithmIdentifier(algorithm=S.OID_RSASSA_PSS, parameters=b"\x30\x00")
    S.verify(alg, rsa_key.public_key(), DATA, sig)
    assert isinstance(S.hash_for_algorithm(alg), hashes.SHA1)
    # DER forbids encoding the defaults: an explicit salt length of 20 is refused as malformed.
    bad = AlgorithmIdentifier(algorithm=S.OID_RSASSA_PSS, parameters=bytes.fromhex("3005a203020114"))
    with pytest.raises(S.UnsupportedSignatureAlgorithm):
        S.verify(bad, rsa_key.public_key(), DATA, sig)


def test_rsa_pss_bad_parameters(rsa_key):
    alg, sig = S.sign(rsa_key, DATA, rsa_padding="pss")
    with pytest.raises(S.UnsupportedSignatureAlgorithm):
        S.verify(AlgorithmIdentifier(algorithm=S.OID_RSASSA_PSS), rsa_key, DATA, sig)
    trailer2 = S.RSASSAPSSParams.from_der(alg.parameters).replace(trailer_field=2).to_der()
    with pytest.raises(S.UnsupportedSignatureAlgorithm, match="trailer"):
        S.verify(AlgorithmIdentifier(algorithm=S.OID_RSASSA_PSS, parameters=trailer2), rsa_key, DATA, sig)
    with pytest.raises(S.UnsupportedSignatureAlgorithm):
        S.verify(AlgorithmIdentifier(algorithm=S.OID_RSASSA_PSS, parameters=b"\x30\x03\x02\x01"), rsa_key, DATA,
                 sig)


@pytest.mark.parametrize("name", ["rsa", "p256", "p384", "p521", "ed25519", "ed448"])
def test_tampered_data_and_signature_fail(keys, name):
    key = keys[name]
    alg, sig = S.sign(key, DATA)
    with pytest.raises(S.SignatureError):
        S.verify(alg, key.public_key(), DATA + b"!", sig)
    bad = bytearray(sig)
    bad[len(bad) // 2] ^= 1
    with pytest.raises(S.SignatureError):
        S.verify(alg, key.public_key(), DATA, bytes(bad))
    assert not S.is_valid_signature(alg, key.public_key(), DATA, bytes(bad))
    assert S.is_valid_signature(alg, key.public_key(), DATA, sig)


def test_wrong_key_family(keys):
    alg, sig = S.sign(keys["rsa"], DATA)
    with pytest.raises(S.SignatureError, match="cannot check"):
        S.verify(alg, keys["p256"].public_key(), DATA, sig)
    alg, sig = S.sign(keys["ed25519"], DATA)
    with pytest.raises(S.SignatureError):
        S.verify(alg, keys["ed448"].public_key(), DATA, sig)


def test_unsupported_algorithms(rsa_key):
    sig = rsa_key.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    for oid in ("1.2.840.113549.1.1.4", "1.2.840.113549.1.1.3", "1.2.3.4"):  # md5WithRSA, md4WithRSA, unknown
        with pytest.raises(S.UnsupportedSignatureAlgorithm, match=oid.replace(".", r"\.")):
            S.verify(AlgorithmIdentifier(algorithm=oid), rsa_key, DATA, sig)
        with pytest.raises(S.UnsupportedSignatureAlgorithm):
            S.is_valid_signature(AlgorithmIdentifier(algorithm=oid), rsa_key, DATA, sig)
    assert issubclass(S.SignatureError, estcodec.Error)


def test_bare_rsa_encryption_needs_digest_algorithm(rsa_key):
    # CMS SignerInfos often name rsaEncryption and take the hash from digestAlgorithm (RFC 5754 §3.2).
    sig = rsa_key.sign(DATA, padding.PKCS1v15(), hashes.SHA384())
    alg = AlgorithmIdentifier(algorithm=S.OID_RSA_ENCRYPTION, parameters=b"\x05\x00")
    S.verify(alg, rsa_key, DATA, sig, digest_algorithm=S.digest_algorithm("sha384"))
    with pytest.raises(S.SignatureError):
        S.verify(alg, rsa_key, DATA, sig, digest_algorithm=S.digest_algorithm("sha256"))
    with pytest.raises(S.UnsupportedSignatureAlgorithm, match="needs a digest"):
        S.verify(alg, rsa_key, DATA, sig)


def test_ecdsa_named_by_key_algorithm(keys):
    key = keys["p256"]
    sig = key.sign(DATA, ec.ECDSA(hashes.SHA256()))
    S.verify(AlgorithmIdentifier(algorithm=S.OID_EC_PUBLIC_KEY), key, DATA, sig,
             digest_algorithm=S.digest_algorithm("sha256"))


def test_dsa_verify_only():
    key = dsa.generate_private_key(2048)
    sig = key.sign(DATA, hashes.SHA256())
    S.verify(AlgorithmIdentifier(algorithm="2.16.840.1.101.3.4.3.2"), key.public_key(), DATA, sig)
    with pytest.raises(TypeError):
        S.sign(key, DATA)


def test_ed_keys_refuse_a_hash(keys):
    with pytest.raises(ValueError):
        S.sign(keys["ed25519"], DATA, hash_algorithm="sha256")
    with pytest.raises(ValueError):
        S.sign(keys["rsa"], DATA, rsa_padding="oaep")
    alg, sig = S.sign(keys["ed25519"], DATA)
    with pytest.raises(S.UnsupportedSignatureAlgorithm, match="absent parameters"):
        S.verify(AlgorithmIdentifier(algorithm=S.OID_ED25519, parameters=b"\x05\x00"), keys["ed25519"], DATA, sig)


def test_load_public_key_forms(keys):
    key = keys["p256"]
    pub = key.public_key()
    spki_der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for form in (pub, key, spki_der, SubjectPublicKeyInfo.from_der(spki_der)):
        loaded = S.load_public_key(form)
        assert loaded.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo) == spki_der
    with pytest.raises(TypeError):
        S.load_public_key(42)
    with pytest.raises(S.SignatureError):
        S.load_public_key(b"\x30\x03\x02\x01\x00")


def test_digest_tables():
    for name, oid in [("sha1", "1.3.14.3.2.26"), ("sha256", "2.16.840.1.101.3.4.2.1"),
                      ("sha384", "2.16.840.1.101.3.4.2.2"), ("sha512", "2.16.840.1.101.3.4.2.3"),
                      ("SHA-224", "2.16.840.1.101.3.4.2.4"), ("sha3_256", "2.16.840.1.101.3.4.2.8")]:
        assert S.digest_oid(name) == oid
        assert S.hash_from_oid(oid).name == S.hash_from_name(name).name
        assert S.hash_from_oid(oid, b"\x05\x00").name == S.hash_from_name(name).name
        assert S.digest_algorithm(name).to_der() == encode(AlgorithmIdentifier,
                                                           AlgorithmIdentifier(algorithm=oid))
    shake = S.digest_algorithm(hashes.SHAKE256(digest_size=64))
    assert shake.algorithm == S.OID_SHAKE256_LEN and shake.parameters == encode(Integer, 512)
    h = S.hash_from_oid(S.OID_SHAKE256_LEN, shake.parameters)
    assert isinstance(h, hashes.SHAKE256) and h.digest_size == 64
    with pytest.raises(S.UnsupportedSignatureAlgorithm):
        S.hash_from_oid(S.OID_SHAKE256_LEN, encode(Integer, 7))
    with pytest.raises(S.UnsupportedSignatureAlgorithm):
        S.hash_from_oid(S.OID_SHAKE256_LEN, None)
    with pytest.raises(S.UnsupportedSignatureAlgorithm):
        S.hash_from_oid("1.2.840.113549.2.5")  # MD5
    with pytest.raises(S.UnsupportedSignatureAlgorithm):
        S.hash_from_oid(S.OID_SHA256, b"\x02\x01\x00")
    with pytest.raises(ValueError):
        S.hash_from_name("whirlpool")


def test_cms_digest_choice(keys):
    assert isinstance(S.cms_digest_algorithm(keys["ed25519"]), hashes.SHA512)
    h = S.cms_digest_algorithm(keys["ed448"])
    assert isinstance(h, hashes.SHAKE256) and h.digest_size == 64
    assert isinstance(S.cms_digest_algorithm(keys["p384"]), hashes.SHA384)
    assert isinstance(S.cms_digest_algorithm(keys["rsa"], "sha512"), hashes.SHA512)


def test_signature_by_cryptography_verifies_here(keys):
    # The reverse direction: signatures made by cryptography alone, named by our OIDs.
    key = keys["p384"]
    sig = key.sign(DATA, ec.ECDSA(hashes.SHA384()))
    S.verify(AlgorithmIdentifier(algorithm="1.2.840.10045.4.3.3"), key.public_key(), DATA, sig)
    with pytest.raises(S.SignatureError):
        S.verify(AlgorithmIdentifier(algorithm="1.2.840.10045.4.3.2"), key.public_key(), DATA, sig)
    with pytest.raises(InvalidSignature):  # sanity of the oracle itself
        key.public_key().verify(sig, DATA + b"x", ec.ECDSA(hashes.SHA384()))
