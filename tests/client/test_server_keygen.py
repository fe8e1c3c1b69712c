"""EstTestServer /serverkeygen over real TLS: multipart structure, plain and encrypted key parts.

Encrypted key parts are checked with independent tools: the structure with pyasn1-modules
(RFC 5652 / RFC 5958 modules), the decryption and the SignedData signature with the ``openssl cms``
command line (skipped where no openssl binary exists).
"""
from __future__ import annotations

import base64
import email
import email.policy
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import univ
from pyasn1_modules import rfc2986, rfc5652, rfc5958

from estclient.testing import EstTestServer


EST = "/.well-known/est"
DECRYPT_KEY_ID = "1.2.840.113549.1.9.16.2.37"
ASYM_DECRYPT_KEY_ID = "1.2.840.113549.1.9.16.2.54"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command line not available")


def make_csr(
    key: object | None = None, cn: str = "device-1", *, octet_attributes: dict[str, bytes] | None = None
) -> tuple[bytes, object]:
    key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    for oid, value in (octet_attributes or {}).items():
        builder = builder.add_attribute(x509.ObjectIdentifier(oid), value, _tag=_ASN1Type.OctetString)
    csr = builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]
    return csr.public_bytes(serialization.Encoding.DER), key


def spki(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def post_keygen(srv: EstTestServer, csr: bytes, *, identity: tuple[bytes, bytes] | None = None) -> httpx.Response:
    with httpx.Client(verify=srv.client_ssl_context(identity), auth=(srv.username, srv.password)) as c:
        return c.post(srv.url + EST + "/serverkeygen", content=base64.encodebytes(csr),
                      headers={"Content-Type": "application/pkcs10"})


def split_multipart(response: httpx.Response) -> list[tuple[str, str, bytes]]:
    """(full Content-Type, Content-Transfer-Encoding, decoded body) of each part, by the stdlib email parser."""
    raw = b"Content-Type: " + response.headers["content-type"].encode() + b"\r\n\r\n" + response.content
    msg = email.message_from_bytes(raw, policy=email.policy.HTTP)
    assert msg.is_multipart()
    out = []
    for part in msg.iter_parts():
        ctype = part.get_content_type()
        smime = part.get_param("smime-type")
        full = f"{ctype}; smime-type={smime}" if smime else ctype
        out.append((full, part["Content-Transfer-Encoding"], part.get_payload(decode=True)))
    return out


def _enc(value: object) -> bytes:
    return der_encoder.encode(value)


def _seq(*ders: bytes) -> bytes:
    """SEQUENCE of already-encoded elements (pyasn1's DER encoder)."""
    seq = univ.SequenceOf(componentType=univ.Any())
    seq.clear()
    for der in ders:
        seq.append(univ.Any(der))
    return der_encoder.encode(seq)


def ski_of(cert: x509.Certificate) -> bytes:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


# ------------------------------------------------------------------------------------------ plain


def test_serverkeygen_multipart_structure() -> None:
    with EstTestServer() as srv:
        csr, csr_key = make_csr(cn="keygen-device")
        r = post_keygen(srv, csr)
    assert r.status_code == 200, r.text
    ctype = r.headers["content-type"]
    assert ctype.startswith("multipart/mixed; boundary=")
    boundary = ctype.split("boundary=", 1)[1]
    body = r.content
    # CRLF line ends throughout, opening and closing delimiters as RFC 2046 §5.1.1 writes them
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert b"\n" not in body.replace(b"\r\n", b"")
    parts = split_multipart(r)
    assert [(p[0], p[1]) for p in parts] == [
        ("application/pkcs8", "base64"),
        ("application/pkcs7-mime; smime-type=certs-only", "base64"),
    ]
    key = serialization.load_der_private_key(parts[0][2], None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    [cert] = pkcs7.load_der_pkcs7_certificates(parts[1][2])
    cert.verify_directly_issued_by(srv.ca_certificate)
    assert cert.subject.rfc4514_string() == "CN=keygen-device"
    assert cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == spki(key)
    assert spki(key) != spki(csr_key)  # the CSR's key is ignored (RFC 7030 §4.4.1)


def test_serverkeygen_key_family_follows_the_csr() -> None:
    with EstTestServer() as srv:
        r = post_keygen(srv, make_csr(rsa.generate_private_key(public_exponent=65537, key_size=2048))[0])
        key = serialization.load_der_private_key(split_multipart(r)[0][2], None)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
        r = post_keygen(srv, make_csr(ec.generate_private_key(ec.SECP384R1()))[0])
        key = serialization.load_der_private_key(split_multipart(r)[0][2], None)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"


def test_serverkeygen_traditional_key_format_like_libest() -> None:
    with EstTestServer(server_keygen_key_type="rsa-2048", server_keygen_key_format="traditional") as srv:
        part = split_multipart(post_keygen(srv, make_csr()[0]))[0]
    assert part[0] == "application/pkcs8"  # labelled PKCS#8 ...
    der = part[2]
    decoded, _ = der_decoder.decode(der)  # pyasn1, no schema
    assert isinstance(decoded[1], univ.Integer)  # ... but PKCS#1 RSAPrivateKey (modulus INTEGER second)
    assert isinstance(serialization.load_der_private_key(der, None), rsa.RSAPrivateKey)


def test_serverkeygen_lf_line_endings_option() -> None:
    with EstTestServer() as srv:
        srv.multipart_line_ending = "\n"
        r = post_keygen(srv, make_csr()[0])
    assert b"\r" not in r.content
    assert len(split_multipart(r)) == 2


def test_serverkeygen_disabled_and_authenticated() -> None:
    with EstTestServer(server_keygen=False) as srv:
        assert post_keygen(srv, make_csr()[0]).status_code == 501
    with EstTestServer() as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        r = c.post(srv.url + EST + "/serverkeygen", content=base64.encodebytes(make_csr()[0]),
                   headers={"Content-Type": "application/pkcs10"})
        assert r.status_code == 401


def test_serverkeygen_pending() -> None:
    with EstTestServer(pending_retry_after=1) as srv:
        csr, _ = make_csr()
        assert post_keygen(srv, csr).status_code == 202
        assert post_keygen(srv, csr).status_code == 200


# ------------------------------------------------------------------------------------------ encrypted


def _enveloped_data(der: bytes) -> rfc5652.EnvelopedData:
    ci, rest = der_decoder.decode(der, asn1Spec=rfc5652.ContentInfo())
    assert not rest
    assert ci["contentType"] == rfc5652.id_envelopedData
    env, rest = der_decoder.decode(ci["content"], asn1Spec=rfc5652.EnvelopedData())
    assert not rest
    assert env["encryptedContentInfo"]["contentType"] == rfc5652.id_signedData
    return env


def _openssl(*args: str) -> bytes:
    assert OPENSSL is not None
    proc = subprocess.run([OPENSSL, *args], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def _verify_signed_key_package(signed_data: bytes, srv: EstTestServer, tmp_path: Path) -> bytes:
    """openssl cms -verify the decrypted SignedData against the CA; return the AsymmetricKeyPackage."""
    ci = rfc5652.ContentInfo()
    ci["contentType"] = rfc5652.id_signedData
    ci["content"] = univ.Any(signed_data)
    (tmp_path / "signed.der").write_bytes(der_encoder.encode(ci))
    (tmp_path / "ca.pem").write_bytes(srv.trust_anchor_pem)
    package = _openssl("cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "signed.der"),
                       "-CAfile", str(tmp_path / "ca.pem"), "-purpose", "any", "-binary")
    sd, _ = der_decoder.decode(signed_data, asn1Spec=rfc5652.SignedData())
    assert str(sd["encapContentInfo"]["eContentType"]) == "2.16.840.1.101.2.1.2.78.5"  # id-ct-KP-aKeyPackage
    return package


def _key_from_package(package: bytes) -> object:
    keys, rest = der_decoder.decode(package, asn1Spec=rfc5958.AsymmetricKeyPackage())
    assert not rest and len(keys) == 1  # SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey
    return serialization.load_der_private_key(der_encoder.encode(keys[0]), None)


def _check_key_matches_cert(key: object, cert_part: bytes, srv: EstTestServer) -> None:
    [cert] = pkcs7.load_der_pkcs7_certificates(cert_part)
    cert.verify_directly_issued_by(srv.issuer_certificate)
    assert cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == spki(key)


@needs_openssl
@pytest.mark.parametrize("kek_size", [16, 24, 32])
def test_serverkeygen_encrypted_to_kek(tmp_path: Path, kek_size: int) -> None:
    kek_id, kek = b"\xde\xad\xbe\xef", os.urandom(kek_size)
    with EstTestServer(server_keygen_keks={kek_id: kek, b"other": os.urandom(16)}) as srv:
        csr, _ = make_csr(octet_attributes={DECRYPT_KEY_ID: kek_id})
        r = post_keygen(srv, csr)
        assert r.status_code == 200, r.text
        (key_ctype, _, enveloped), (_, _, cert_part) = split_multipart(r)
        assert key_ctype == "application/pkcs7-mime; smime-type=server-generated-key"
        env = _enveloped_data(enveloped)
        assert int(env["version"]) == 2
        [ri] = list(env["recipientInfos"])
        kekri = ri["kekri"]
        assert int(kekri["version"]) == 4
        assert bytes(kekri["kekid"]["keyIdentifier"]) == kek_id
        wrap = {16: "2.16.840.1.101.3.4.1.5", 24: "2.16.840.1.101.3.4.1.25", 32: "2.16.840.1.101.3.4.1.45"}
        assert str(kekri["keyEncryptionAlgorithm"]["algorithm"]) == wrap[kek_size]
        (tmp_path / "env.der").write_bytes(enveloped)
        signed = _openssl("cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "env.der"),
                          "-secretkey", kek.hex(), "-secretkeyid", kek_id.hex(), "-binary")
        key = _key_from_package(_verify_signed_key_package(signed, srv, tmp_path))
        _check_key_matches_cert(key, cert_part, srv)
        # the wrong KEK does not open it
        (tmp_path / "env.der").write_bytes(enveloped)
        proc = subprocess.run([OPENSSL, "cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "env.der"),
                               "-secretkey", os.urandom(kek_size).hex(), "-secretkeyid", kek_id.hex()],
                              capture_output=True, check=False)
        assert proc.returncode != 0


def test_serverkeygen_unknown_kek_is_refused() -> None:
    with EstTestServer(server_keygen_keks={b"known": os.urandom(16)}) as srv:
        r = post_keygen(srv, make_csr(octet_attributes={DECRYPT_KEY_ID: b"unknown"})[0])
    assert r.status_code == 400
    assert "DecryptKeyIdentifier" in r.text
    assert not srv.issued_certificates


@needs_openssl
@pytest.mark.parametrize(
    ("key_type", "kind"),
    [("rsa-2048", "ktri"), ("ec-p256", "kari"), ("ec-p384", "kari")],
)
def test_serverkeygen_encrypted_to_issued_certificate(tmp_path: Path, key_type: str, kind: str) -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("decrypting-device", key_type=key_type)
        cert = x509.load_pem_x509_certificate(identity[0])
        csr, _ = make_csr(octet_attributes={ASYM_DECRYPT_KEY_ID: ski_of(cert)})
        r = post_keygen(srv, csr, identity=identity)
        assert r.status_code == 200, r.text
        (key_ctype, _, enveloped), (_, _, cert_part) = split_multipart(r)
        assert key_ctype == "application/pkcs7-mime; smime-type=server-generated-key"
        env = _enveloped_data(enveloped)
        [ri] = list(env["recipientInfos"])
        assert ri.getName() == kind
        if kind == "ktri":
            assert int(ri["ktri"]["version"]) == 2
            assert bytes(ri["ktri"]["rid"]["subjectKeyIdentifier"]) == ski_of(cert)
            assert str(ri["ktri"]["keyEncryptionAlgorithm"]["algorithm"]) == "1.2.840.113549.1.1.7"  # OAEP
        else:
            assert int(ri["kari"]["version"]) == 3
            [rek] = list(ri["kari"]["recipientEncryptedKeys"])
            assert bytes(rek["rid"]["rKeyId"]["subjectKeyIdentifier"]) == ski_of(cert)
        (tmp_path / "env.der").write_bytes(enveloped)
        (tmp_path / "recip.pem").write_bytes(identity[0])
        (tmp_path / "recip.key").write_bytes(identity[1])
        signed = _openssl("cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "env.der"),
                          "-recip", str(tmp_path / "recip.pem"), "-inkey", str(tmp_path / "recip.key"), "-binary")
        key = _key_from_package(_verify_signed_key_package(signed, srv, tmp_path))
        _check_key_matches_cert(key, cert_part, srv)


@needs_openssl
def test_serverkeygen_rsa_pkcs1v15_when_capabilities_ask(tmp_path: Path) -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("legacy-device", key_type="rsa-2048")
        cert = x509.load_pem_x509_certificate(identity[0])
        key = serialization.load_pem_private_key(identity[1], None)
        # SMIMECapabilities listing rsaEncryption and AES-128-CBC, built with pyasn1-modules
        caps = _seq(_seq(_enc(univ.ObjectIdentifier("1.2.840.113549.1.1.1"))),
                    _seq(_enc(univ.ObjectIdentifier("2.16.840.1.101.3.4.1.2"))))
        info = rfc2986.CertificationRequestInfo()
        info["version"] = 0
        info["subject"] = der_decoder.decode(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "legacy-device")]).public_bytes(),
            asn1Spec=rfc2986.Name(),
        )[0]
        info["subjectPKInfo"] = der_decoder.decode(spki(key), asn1Spec=rfc2986.SubjectPublicKeyInfo())[0]
        for attr_oid, value in [(ASYM_DECRYPT_KEY_ID, _enc(univ.OctetString(ski_of(cert)))),
                                ("1.2.840.113549.1.9.15", caps)]:
            attr = rfc2986.Attribute()
            attr["type"] = univ.ObjectIdentifier(attr_oid)
            attr["values"].append(univ.Any(value))
            info["attributes"].append(attr)
        from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

        sig = key.sign(der_encoder.encode(info), asym_padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
        req = rfc2986.CertificationRequest()
        req["certificationRequestInfo"] = info
        req["signatureAlgorithm"]["algorithm"] = univ.ObjectIdentifier("1.2.840.113549.1.1.11")  # sha256WithRSA
        req["signatureAlgorithm"]["parameters"] = univ.Any(_enc(univ.Null("")))
        req["signature"] = univ.BitString.fromOctetString(sig)
        csr = der_encoder.encode(req)
        assert x509.load_der_x509_csr(csr).is_signature_valid
        r = post_keygen(srv, csr)
        assert r.status_code == 200, r.text
        enveloped = split_multipart(r)[0][2]
        env = _enveloped_data(enveloped)
        [ri] = list(env["recipientInfos"])
        assert str(ri["ktri"]["keyEncryptionAlgorithm"]["algorithm"]) == "1.2.840.113549.1.1.1"
        assert str(env["encryptedContentInfo"]["contentEncryptionAlgorithm"]["algorithm"]) == "2.16.840.1.101.3.4.1.2"
        (tmp_path / "env.der").write_bytes(enveloped)
        (tmp_path / "recip.pem").write_bytes(identity[0])
        (tmp_path / "recip.key").write_bytes(identity[1])
        signed = _openssl("cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "env.der"),
                          "-recip", str(tmp_path / "recip.pem"), "-inkey", str(tmp_path / "recip.key"), "-binary")
        _key_from_package(_verify_signed_key_package(signed, srv, tmp_path))


def test_serverkeygen_unknown_or_unsuitable_certificate_is_refused() -> None:
    with EstTestServer() as srv:
        r = post_keygen(srv, make_csr(octet_attributes={ASYM_DECRYPT_KEY_ID: bytes(20)})[0])
        assert r.status_code == 400
        signing_only = x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
        )
        identity = srv.issue_client_identity("signer", key_type="ec-p256", key_usage=signing_only)
        cert = x509.load_pem_x509_certificate(identity[0])
        r = post_keygen(srv, make_csr(octet_attributes={ASYM_DECRYPT_KEY_ID: ski_of(cert)})[0])
        assert r.status_code == 400
        assert "key agreement" in r.text


def test_serverkeygen_refuses_a_recipient_key_that_cannot_encrypt() -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("ed-device", key_type="ed25519")  # no keyUsage: unrestricted
        cert = x509.load_pem_x509_certificate(identity[0])
        r = post_keygen(srv, make_csr(octet_attributes={ASYM_DECRYPT_KEY_ID: ski_of(cert)})[0])
        assert r.status_code == 400
        assert "neither transport nor agree keys" in r.text
        assert [c.subject.rfc4514_string() for c in srv.issued_certificates] == ["CN=ed-device"]  # nothing issued


@needs_openssl
def test_serverkeygen_encrypted_key_is_pkcs8_whatever_the_plain_format(tmp_path: Path) -> None:
    """``server_keygen_key_format="traditional"`` shapes the plain key part only: an encrypted key is a
    OneAsymmetricKey inside the AsymmetricKeyPackage (RFC 7030 §4.4.2, RFC 5958)."""
    kek_id, kek = b"k", os.urandom(16)
    with EstTestServer(server_keygen_keks={kek_id: kek}, server_keygen_key_format="traditional",
                       server_keygen_key_type="rsa-2048") as srv:
        r = post_keygen(srv, make_csr(octet_attributes={DECRYPT_KEY_ID: kek_id})[0])
        assert r.status_code == 200, r.text
        (_, _, enveloped), (_, _, cert_part) = split_multipart(r)
        (tmp_path / "env.der").write_bytes(enveloped)
        signed = _openssl("cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "env.der"),
                          "-secretkey", kek.hex(), "-secretkeyid", kek_id.hex(), "-binary")
        key = _key_from_package(_verify_signed_key_package(signed, srv, tmp_path))
        assert isinstance(key, rsa.RSAPrivateKey)
        _check_key_matches_cert(key, cert_part, srv)


def test_decrypt_key_identifier_must_be_an_octet_string() -> None:
    with EstTestServer(server_keygen_keks={b"k": os.urandom(16)}) as srv:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
        ).add_attribute(x509.ObjectIdentifier(DECRYPT_KEY_ID), b"k", _tag=_ASN1Type.UTF8String)
        csr = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        assert post_keygen(srv, csr).status_code == 400


def test_serverkeygen_ignores_the_csr_signature() -> None:
    """RFC 7030 §4.4.1: the server MUST ignore the public key values and signature in the CSR."""
    csr, _ = make_csr(cn="dummy-signature")
    broken = csr[:-3] + bytes([csr[-3] ^ 1]) + csr[-2:]
    with EstTestServer() as srv:
        r = post_keygen(srv, broken)
        assert r.status_code == 200, r.text
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            enroll = c.post(srv.url + EST + "/simpleenroll", content=base64.encodebytes(broken),
                            headers={"Content-Type": "application/pkcs10"})
        assert enroll.status_code == 400  # ... which enrollment never does
    with EstTestServer(verify_serverkeygen_signature=True) as srv:
        assert post_keygen(srv, broken).status_code == 400


@needs_openssl
def test_serverkeygen_signed_by_an_intermediate(tmp_path: Path) -> None:
    kek_id, kek = b"k", os.urandom(16)
    with EstTestServer(ca_intermediate=True, server_keygen_keks={kek_id: kek}) as srv:
        r = post_keygen(srv, make_csr(octet_attributes={DECRYPT_KEY_ID: kek_id})[0])
        assert r.status_code == 200
        (_, _, enveloped), (_, _, cert_part) = split_multipart(r)
        (tmp_path / "env.der").write_bytes(enveloped)
        signed = _openssl("cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "env.der"),
                          "-secretkey", kek.hex(), "-secretkeyid", kek_id.hex(), "-binary")
        # verified against the root alone: the SignedData carries the intermediate
        key = _key_from_package(_verify_signed_key_package(signed, srv, tmp_path))
        _check_key_matches_cert(key, cert_part, srv)
