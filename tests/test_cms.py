"""Tests of estcodec.cms: certs-only parsing and building, SignedData signing and verification, chain ordering.

Vectors: RFC 7030 Appendix A certs-only bodies (tests/vectors/rfc7030), the PKCS#7 samples of the PyPI package
``cryptography_vectors`` (pkcs7/), asn1crypto's CMS fixtures incl. the indefinite-length BER one
(tests/vectors/asn1crypto, MIT), RustCrypto's certs-only and BER samples (tests/vectors/rustcrypto-formats,
Apache-2.0/MIT) and the SignedData messages of pyasn1-alt-modules' tests (tests/vectors/pyasn1-alt-modules,
BSD-2). Oracles: ``cryptography`` (load_der_pkcs7_certificates), asn1crypto's parser, ``openssl pkcs7
-print_certs`` and ``openssl cms -verify`` / ``openssl cms -sign``.
"""
from __future__ import annotations

import datetime as dt
import random
import shutil
import subprocess
import warnings
from pathlib import Path

import asn1crypto.cms
import cryptography_vectors
import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

import estcodec
import estcodec.der
from estcodec import cms
from estcodec.x509 import Certificate

VECTORS = Path(__file__).resolve().parent / "vectors"
CV_PKCS7 = Path(cryptography_vectors.__file__).resolve().parent / "pkcs7"
RUST_CMS = VECTORS / "rustcrypto-formats" / "cms" / "tests" / "examples"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
NOW = dt.datetime.now(dt.timezone.utc)
ID_CCT_PKI_DATA = "1.3.6.1.5.5.7.12.2"


def _ref_certs(data: bytes) -> list[bytes]:
    """cryptography's reading of a PKCS#7 certificate bag (its BER fallback warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if data.startswith(b"-----"):
            certs = pkcs7.load_pem_pkcs7_certificates(data)
        else:
            certs = pkcs7.load_der_pkcs7_certificates(data)
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


# --- a small PKI made with cryptography ---------------------------------------------------------------------------

def _name(cn: str) -> cx509.Name:
    return cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(key, cn, issuer_key=None, issuer_cert=None, ca=False, ski=True):
    pub = key.public_key()
    b = (cx509.CertificateBuilder().subject_name(_name(cn))
         .issuer_name(issuer_cert.subject if issuer_cert is not None else _name(cn))
         .public_key(pub).serial_number(cx509.random_serial_number())
         .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
         .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ski:
        b = b.add_extension(cx509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    if issuer_cert is not None:
        b = b.add_extension(cx509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                            critical=False)
    signer = issuer_key if issuer_key is not None else key
    h = None if isinstance(signer, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) else hashes.SHA256()
    return b.sign(signer, h)


@pytest.fixture(scope="module")
def pki():
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = _issue(root_key, "Test Root", ca=True)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = _issue(inter_key, "Test Intermediate", root_key, root, ca=True)
    signers = {}
    for name, key in [("rsa", rsa.generate_private_key(65537, 2048)), ("p256", ec.generate_private_key(ec.SECP256R1())),
                      ("p384", ec.generate_private_key(ec.SECP384R1())), ("p521", ec.generate_private_key(ec.SECP521R1())),
                      ("ed25519", ed25519.Ed25519PrivateKey.generate()), ("ed448", ed448.Ed448PrivateKey.generate())]:
        signers[name] = (key, _issue(key, f"signer {name}", inter_key, inter))
    other_root_key = ec.generate_private_key(ec.SECP256R1())
    other_root = _issue(other_root_key, "Other Root", ca=True)
    return {"root": root, "root_key": root_key, "inter": inter, "inter_key": inter_key, "signers": signers,
            "other_root": other_root}


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


# --- certs-only: vectors ------------------------------------------------------------------------------------------

RFC7030_CERTS_ONLY = {
    "A.1_cacerts_response.der": 4,
    "A.3_simpleenroll_response_certs-only.der": 1,
    "A.4_serverkeygen_response_part2_certs-only.der": 1,
}


@pytest.mark.parametrize("name,count", sorted(RFC7030_CERTS_ONLY.items()))
def test_rfc7030_certs_only(name, count):
    data = (VECTORS / "rfc7030" / name).read_bytes()
    certs = cms.parse_certs_only(data)
    assert len(certs) == count
    assert [c.to_der() for c in certs] == _ref_certs(data)
    ci = cms.ContentInfo.from_der(data)
    assert ci.to_der() == data
    sd = ci.signed_data()
    assert sd.version == 1 and sd.digest_algorithms == [] and sd.signer_infos == []
    assert sd.econtent_type == cms.OID_DATA and sd.econtent is None
    # These bodies carry an empty crls [1]; our builder omits it and otherwise writes the same structure.
    assert data.endswith(b"\xa1\x00\x31\x00")
    rebuilt = cms.build_certs_only(certs, keep_order=True)
    assert [c.to_der() for c in cms.parse_certs_only(rebuilt)] == [c.to_der() for c in certs]
    again = cms.parse_signed_data(rebuilt)
    assert again.crls is None and sd.crls == []
    for f in ("version", "digest_algorithms", "encap_content_info", "signer_infos"):
        assert getattr(again, f) == getattr(sd, f)


def test_rfc7030_a1_rollover_certificates():
    certs = cms.parse_certs_only((VECTORS / "rfc7030" / "A.1_cacerts_response.der").read_bytes())
    assert [c.subject.common_name for c in certs] == ["estExampleCA OwO", "estExampleCA NwO", "estExampleCA OwN",
                                                      "estExampleCA NwN"]
    ordered = cms.order_chain(certs)
    assert sorted(c.to_der() for c in ordered) == sorted(c.to_der() for c in certs)


def test_rfc7030_base64_body():
    b64 = (VECTORS / "rfc7030" / "A.3_simpleenroll_response_certs-only.b64").read_bytes()
    import base64

    certs = cms.parse_certs_only(base64.b64decode(b64))
    assert certs[0].subject.common_name == "demostep4 1368141352"


CERTS_ONLY_SAMPLES = [
    CV_PKCS7 / "amazon-roots.der", CV_PKCS7 / "amazon-roots.p7b", CV_PKCS7 / "isrg.pem",
    CV_PKCS7 / "authenticode.der",
    VECTORS / "asn1crypto" / "mozilla-generated-by-openssl.pkcs7.der", VECTORS / "asn1crypto" / "cms-signed.der",
    VECTORS / "asn1crypto" / "pkcs7-signed.der",
    RUST_CMS / "pkits.p7b", RUST_CMS / "pkits_ee.p7b",
]


@pytest.mark.parametrize("path", CERTS_ONLY_SAMPLES, ids=lambda p: p.name)
def test_certificate_bags_match_cryptography(path):
    data = path.read_bytes()
    certs = cms.parse_certs_only(data)
    assert certs, "every sample carries certificates"
    assert [c.to_der() for c in certs] == _ref_certs(data)
    for c in certs:
        ref = cx509.load_der_x509_certificate(c.to_der())
        assert c.serial_number == ref.serial_number
        assert c.subject.to_der() == ref.subject.public_bytes()
        assert c.tbs_der == ref.tbs_certificate_bytes
    if not data.startswith(b"-----"):
        ci = cms.parse_content_info(data)
        try:
            cms.ContentInfo.from_der(data)
        except estcodec.DecodeError:  # BER (amazon-roots.p7b): decoded in its DER form
            assert ci.to_der() == asn1crypto.cms.ContentInfo.load(data).dump(force=True)
        else:
            assert ci.to_der() == data


BER_SAMPLES = [VECTORS / "asn1crypto" / "cms-signed-indefinite-length.der", RUST_CMS / "cms_ber.bin"]


@pytest.mark.parametrize("path", BER_SAMPLES, ids=lambda p: p.name)
def test_ber_indefinite_length_inputs(path):
    data = path.read_bytes()
    with pytest.raises(estcodec.DecodeError) as ei:
        cms.ContentInfo.from_der(data)  # strict DER refuses it ...
    assert ei.value.reason in ("indefinite-length", "non-minimal-length", "constructed-primitive")
    certs = cms.parse_certs_only(data)  # ... the certs-only reader falls back to BER
    assert [c.to_der() for c in certs] == _ref_certs(data)
    # asn1crypto, an independent BER reader, sees the same certificates and content.
    ref = asn1crypto.cms.ContentInfo.load(data.rstrip(b"\n"))
    ref_sd = ref["content"]
    assert [c.chosen.dump() for c in ref_sd["certificates"]] == [c.to_der() for c in certs]
    sd = cms.parse_signed_data(data)
    assert sd.econtent == ref_sd["encap_content_info"]["content"].native
    assert len(sd.signer_infos) == len(ref_sd["signer_infos"])
    # Normalised to DER: the DER form re-reads strictly.
    der = cms.parse_content_info(data).to_der()
    assert cms.parse_certs_only(der)[0].to_der() == certs[0].to_der()
    assert cms.ContentInfo.from_der(der).to_der() == der


def test_ber_trailing_newline_is_the_only_leniency():
    data = (VECTORS / "asn1crypto" / "cms-signed-indefinite-length.der").read_bytes()
    assert data.endswith(b"\x00\x00\n")
    with pytest.raises(estcodec.DecodeError) as ei:
        cms.parse_certs_only(data[:-1] + b"\x01")
    assert ei.value.reason == "trailing-data"
    der = (VECTORS / "rfc7030" / "A.1_cacerts_response.der").read_bytes()
    with pytest.raises(estcodec.DecodeError):
        cms.ContentInfo.from_der(der + b"\n")


def test_pyasn1_alt_modules_signed_data_round_trip():
    index = (VECTORS / "pyasn1-alt-modules" / "index.tsv").read_text().splitlines()[1:]
    n = 0
    for line in index:
        name, _, sniffed = line.split("\t")
        if not sniffed.startswith("signedData"):
            continue
        data = (VECTORS / "pyasn1-alt-modules" / "der" / f"{name}.der").read_bytes()
        if "TSPResponse" in name:  # a TimeStampResp: its timeStampToken (second element) is the ContentInfo
            data = estcodec.der.parse(data)[1].to_der()
        ci = cms.ContentInfo.from_der(data)
        assert ci.to_der() == data
        sd = ci.signed_data()
        ref = asn1crypto.cms.ContentInfo.load(data)["content"]
        assert sd.econtent_type == ref["encap_content_info"]["content_type"].dotted
        assert len(sd.signer_infos) == len(ref["signer_infos"])
        assert len(sd.certificates or []) == len(ref["certificates"] or [])
        for si, rsi in zip(sd.signer_infos, ref["signer_infos"]):
            assert si.sid.name == rsi["sid"].name
            assert si.signature == rsi["signature"].native
            if si.signed_attrs is not None:
                # The signed bytes: the DER SET OF (tag 0x31) of the attributes as they arrived.
                assert si.signed_attrs_der() == b"\x31" + rsi["signed_attrs"].dump()[1:]
        n += 1
    assert n >= 25


@needs_openssl
def test_pyasn1_alt_modules_signatures_agree_with_openssl(tmp_path):
    index = (VECTORS / "pyasn1-alt-modules" / "index.tsv").read_text().splitlines()[1:]
    verdicts = {}
    for line in index:
        name, _, sniffed = line.split("\t")
        if not sniffed.startswith("signedData"):
            continue
        path = VECTORS / "pyasn1-alt-modules" / "der" / f"{name}.der"
        if "TSPResponse" in name:
            path = tmp_path / "token.der"
            path.write_bytes(estcodec.der.parse(
                (VECTORS / "pyasn1-alt-modules" / "der" / f"{name}.der").read_bytes())[1].to_der())
        sd = cms.parse_signed_data(path.read_bytes())
        if sd.econtent is None or not sd.certificate_list:
            continue  # detached or signer certificate not included: nothing either side can check
        try:
            cms.verify_signed_data(path.read_bytes())
            ours = True
        except cms.SignatureError:
            ours = False
        r = subprocess.run([OPENSSL, "cms", "-verify", "-noverify", "-inform", "DER", "-in", str(path),
                            "-out", str(tmp_path / "out")], capture_output=True)
        assert ours == (r.returncode == 0), name
        verdicts[name] = ours
    assert sum(verdicts.values()) >= 15 and not all(verdicts.values())


def test_non_signed_data_and_garbage():
    enveloped = (CV_PKCS7 / "enveloped.pem").read_bytes()
    with pytest.raises(estcodec.DecodeError, match="not id-signedData") as ei:
        cms.parse_certs_only(enveloped)
    assert ei.value.path == "$.content_type"
    for bad in (b"", b"\x30\x00", b"\x30\x80", b"garbage", b"\x30\x03\x06\x01\x00"):
        with pytest.raises(estcodec.DecodeError):
            cms.parse_certs_only(bad)
    with pytest.raises(estcodec.DecodeError):
        cms.parse_certs_only((CV_PKCS7 / "ascii-san.pem").read_bytes())  # a CERTIFICATE, not a PKCS7
    data = (VECTORS / "rfc7030" / "A.1_cacerts_response.der").read_bytes()
    for n in range(0, len(data), 13):
        with pytest.raises(estcodec.DecodeError):
            cms.parse_certs_only(data[:n])
    # An error inside the content reports its offset in the whole message.
    broken = bytearray(data)
    i = estcodec.der.parse(data)[1][0].offset  # SignedData's SEQUENCE tag, inside [0] EXPLICIT
    broken[i] = 0x31
    with pytest.raises(estcodec.DecodeError) as ei:
        cms.parse_certs_only(bytes(broken))
    assert ei.value.path == "$.content" and ei.value.offset == i and ei.value.reason == "unexpected-tag"
    # ... and deeper inside: the first certificate's serial number made an OCTET STRING.
    serial_at = estcodec.der.parse(data)[1][0][3][0][0][1].offset
    broken = bytearray(data)
    broken[serial_at] = 0x04
    with pytest.raises(estcodec.DecodeError) as ei:
        cms.parse_certs_only(bytes(broken))
    assert ei.value.offset == serial_at
    assert ei.value.path.startswith("$.content.certificates[0]") and ei.value.path.endswith("serial_number")


# --- certs-only: building -----------------------------------------------------------------------------------------

@needs_openssl
def test_build_certs_only_read_by_openssl_and_cryptography(pki, tmp_path):
    leaf = pki["signers"]["p256"][1]
    order = [leaf, pki["root"], pki["inter"]]  # deliberately not sorted, not in issuing order
    data = cms.build_certs_only([Certificate.from_cryptography(order[0]), order[1], _der(order[2])], keep_order=True)
    assert _ref_certs(data) == [_der(c) for c in order]
    p = tmp_path / "certs.p7b"
    p.write_bytes(data)
    r = subprocess.run([OPENSSL, "pkcs7", "-print_certs", "-inform", "DER", "-in", str(p)],
                       capture_output=True, text=True, check=True)
    subjects = [line.split("=", 1)[1].strip() for line in r.stdout.splitlines() if line.startswith("subject")]
    assert subjects == ["CN = signer p256", "CN = Test Root", "CN = Test Intermediate"]
    pems = [blk for blk in r.stdout.split("\n\n") if "BEGIN CERTIFICATE" in blk]
    assert len(pems) == 3
    assert [c.to_der() for c in cms.parse_certs_only(data)] == [_der(c) for c in order]
    ref = asn1crypto.cms.ContentInfo.load(data)
    assert ref["content"]["version"].native == "v1"
    assert ref["content"]["encap_content_info"]["content_type"].native == "data"


def test_build_certs_only_canonical_and_empty(pki):
    certs = [pki["signers"]["rsa"][1], pki["root"], pki["inter"]]
    canon = cms.build_certs_only(certs, canonical=True)
    got = [c.to_der() for c in cms.parse_certs_only(canon)]
    assert got == sorted(_der(c) for c in certs)
    # The canonical form is what a DER SET OF encoder writes: asn1crypto's re-encoding agrees.
    empty = cms.build_certs_only([])
    sd = cms.parse_signed_data(empty)
    assert sd.certificates is None and cms.parse_certs_only(empty) == []
    with pytest.raises(TypeError):
        cms.build_certs_only([object()])
    # canonical unless asked otherwise: the default sorts, keep_order keeps, canonical= is the older spelling
    assert cms.build_certs_only(certs) == canon == cms.build_certs_only(certs[::-1])
    kept = cms.build_certs_only(certs, keep_order=True)
    assert [c.to_der() for c in cms.parse_certs_only(kept)] == [_der(c) for c in certs]
    assert cms.build_certs_only(certs, canonical=False) == kept


def test_build_certs_only_with_crl(pki):
    crl = (cx509.CertificateRevocationListBuilder().issuer_name(pki["root"].subject)
           .last_update(NOW).next_update(NOW + dt.timedelta(days=1))
           .sign(pki["root_key"], hashes.SHA256()))
    data = cms.build_certs_only([pki["root"]], crls=[crl])
    sd = cms.parse_signed_data(data)
    assert sd.crls[0].value.to_der() == crl.public_bytes(serialization.Encoding.DER)
    ref = asn1crypto.cms.ContentInfo.load(data)["content"]
    assert ref["crls"][0].chosen.dump() == crl.public_bytes(serialization.Encoding.DER)


# --- SignedData: signing and verifying ----------------------------------------------------------------------------

def _openssl_cms_verify(data: bytes, tmp_path: Path, ca_pem: bytes, extra: list[str] = ()) -> tuple[int, bytes]:
    (tmp_path / "sd.der").write_bytes(data)
    (tmp_path / "ca.pem").write_bytes(ca_pem)
    out = tmp_path / "content.out"
    r = subprocess.run([OPENSSL, "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "sd.der"), "-binary",
                        "-CAfile", str(tmp_path / "ca.pem"), "-out", str(out), *extra],
                       capture_output=True, text=True)
    return r.returncode, (out.read_bytes() if out.exists() else b"")


SIGN_CASES = [("rsa", "pkcs1v15"), ("rsa", "pss"), ("p256", "pkcs1v15"), ("p384", "pkcs1v15"), ("p521", "pkcs1v15")]


@needs_openssl
@pytest.mark.parametrize("name,pad", SIGN_CASES, ids=[f"{n}-{p}" for n, p in SIGN_CASES])
def test_sign_signed_data_verified_by_openssl(pki, name, pad, tmp_path):
    key, cert = pki["signers"][name]
    content = b"\x30\x03\x02\x01\x07"
    data = cms.sign_signed_data(ID_CCT_PKI_DATA, content, key, cert, extra_certs=[pki["inter"]], rsa_padding=pad,
                                signing_time=NOW)
    rc, out = _openssl_cms_verify(data, tmp_path, _pem(pki["root"]))
    assert rc == 0 and out == content
    ect, ec_bytes, signer, verified = cms.verify_signed_data(data, [pki["root"]])
    assert (ect, ec_bytes, verified) == (ID_CCT_PKI_DATA, content, True)
    assert signer.to_der() == _der(cert)
    sd = cms.parse_signed_data(data)
    assert sd.version == 3  # eContentType is not id-data
    assert [c.to_der() for c in sd.certificate_list] == [_der(cert), _der(pki["inter"])]
    si = sd.signer_infos[0]
    assert si.version == 1 and si.sid.name == "issuer_and_serial_number"
    assert si.sid.value.serial_number == cert.serial_number
    assert {a.oid for a in si.signed_attrs} == {cms.OID_CONTENT_TYPE, cms.OID_MESSAGE_DIGEST, cms.OID_SIGNING_TIME}
    # Wrong trust anchor: openssl and we both refuse.
    rc, _ = _openssl_cms_verify(data, tmp_path, _pem(pki["other_root"]))
    assert rc != 0
    with pytest.raises(cms.SignatureError, match="does not chain"):
        cms.verify_signed_data(data, [pki["other_root"]])


@needs_openssl
@pytest.mark.parametrize("name", ["rsa", "p256"])
def test_sign_by_subject_key_identifier_and_id_data(pki, name, tmp_path):
    key, cert = pki["signers"][name]
    ski = cert.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value.digest
    data = cms.sign_signed_data(cms.OID_DATA, b"hello", key, cert, subject_key_identifier=ski,
                                extra_certs=[pki["inter"]])
    rc, out = _openssl_cms_verify(data, tmp_path, _pem(pki["root"]))
    assert rc == 0 and out == b"hello"
    sd = cms.parse_signed_data(data)
    assert sd.version == 3 and sd.signer_infos[0].version == 3
    assert sd.signer_infos[0].sid.value == ski
    # Without signed attributes (allowed for id-data only): the signature covers the content itself.
    plain = cms.sign_signed_data(cms.OID_DATA, b"hello", key, cert, signed_attrs=False, extra_certs=[pki["inter"]])
    rc, out = _openssl_cms_verify(plain, tmp_path, _pem(pki["root"]))
    assert rc == 0 and out == b"hello"
    assert cms.parse_signed_data(plain).version == 1
    assert cms.verify_signed_data(plain, [pki["root"]])[3]
    with pytest.raises(ValueError):
        cms.sign_signed_data(ID_CCT_PKI_DATA, b"\x30\x00", key, cert, signed_attrs=False)


def _independent_check(data: bytes, cert) -> None:
    """Verify a SignedData with asn1crypto's parser and cryptography's verify, without our decoder."""
    sd = asn1crypto.cms.ContentInfo.load(data)["content"]
    si = sd["signer_infos"][0]
    content = sd["encap_content_info"]["content"].native
    attrs = {a["type"].dotted: a["values"][0] for a in si["signed_attrs"]}
    digest_oid = si["digest_algorithm"]["algorithm"].dotted
    if digest_oid == "2.16.840.1.101.3.4.2.3":
        h = hashes.Hash(hashes.SHA512())
    else:
        assert digest_oid == "2.16.840.1.101.3.4.2.18"
        assert si["digest_algorithm"]["parameters"].dump() == b"\x02\x02\x02\x00"
        h = hashes.Hash(hashes.SHAKE256(digest_size=64))
    h.update(content)
    assert attrs[cms.OID_MESSAGE_DIGEST].native == h.finalize()
    signed = b"\x31" + si["signed_attrs"].dump()[1:]
    cert.public_key().verify(si["signature"].native, signed)


@pytest.mark.parametrize("name", ["ed25519", "ed448"])
def test_sign_signed_data_eddsa(pki, name):
    # OpenSSL 3.0 cannot sign or verify EdDSA in CMS ("no default digest"), so the oracle here is asn1crypto's
    # parser plus cryptography's EdDSA verify (RFC 8419: pure mode over the DER signed attributes).
    key, cert = pki["signers"][name]
    content = b"\x30\x00"
    data = cms.sign_signed_data(ID_CCT_PKI_DATA, content, key, cert, extra_certs=[pki["inter"]])
    _independent_check(data, cert)
    assert cms.verify_signed_data(data, [pki["root"]])[1:] == (content, Certificate.from_cryptography(cert), True)
    si = cms.parse_signed_data(data).signer_infos[0]
    assert si.signature_algorithm.algorithm == ("1.3.101.112" if name == "ed25519" else "1.3.101.113")
    assert si.signature_algorithm.parameters is None


def test_sign_without_certificate_named_by_key_identifier(pki):
    # RFC 5272 §3.2.2: a Full PKI Request signed with the key being certified carries no certificate.
    key = ec.generate_private_key(ec.SECP256R1())
    data = cms.sign_signed_data(ID_CCT_PKI_DATA, b"\x30\x00", key)
    sd = cms.parse_signed_data(data)
    assert sd.certificates is None
    ski = cx509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    assert sd.signer_infos[0].sid.name == "subject_key_identifier" and sd.signer_infos[0].sid.value == ski
    with pytest.raises(cms.SignatureError, match="no certificate or key"):
        cms.verify_signed_data(data)
    ect, content, signer, verified = cms.verify_signed_data(data, signer_public_key=key.public_key())
    assert (ect, content, signer, verified) == (ID_CCT_PKI_DATA, b"\x30\x00", None, False)
    with pytest.raises(cms.SignatureError):
        cms.verify_signed_data(data, signer_public_key=ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(cms.SignatureError):  # trust requested but no certificate to anchor
        cms.verify_signed_data(data, [pki["root"]], signer_public_key=key.public_key())


def test_verify_detects_tampering(pki):
    key, cert = pki["signers"]["p256"]
    content = b"0123456789abcdef"
    data = cms.sign_signed_data(cms.OID_DATA, content, key, cert, extra_certs=[pki["inter"]])
    # Unanchored verification still checks the signature with the included certificate.
    assert cms.verify_signed_data(data)[3] is False
    tampered = data.replace(content, b"0123456789abcdeF")
    with pytest.raises(cms.SignatureError, match="message digest"):
        cms.verify_signed_data(tampered)
    sd = cms.parse_signed_data(data)
    sig = sd.signer_infos[0].signature
    bad = bytearray(sig)
    bad[10] ^= 0xFF
    with pytest.raises((cms.SignatureError, estcodec.DecodeError)):
        cms.verify_signed_data(data.replace(sig, bytes(bad)))
    # Intermediate missing: the signer cannot be anchored to the root.
    lone = cms.sign_signed_data(cms.OID_DATA, content, key, cert)
    with pytest.raises(cms.SignatureError, match="does not chain"):
        cms.verify_signed_data(lone, [pki["root"]])
    assert cms.verify_signed_data(lone, [pki["root"], pki["inter"]])[3]


def test_content_type_attribute_checked(pki):
    key, cert = pki["signers"]["p256"]
    data = cms.sign_signed_data(ID_CCT_PKI_DATA, b"\x30\x00", key, cert)
    sd = cms.parse_signed_data(data)
    # Re-label the eContentType without touching the signed attributes.
    eci = sd.encap_content_info.replace(e_content_type="1.3.6.1.5.5.7.12.3")
    forged = sd.replace(encap_content_info=eci)
    forged_data = cms.ContentInfo.build(cms.OID_SIGNED_DATA, forged).to_der()
    with pytest.raises(cms.SignatureError, match="content-type"):
        cms.verify_signed_data(forged_data)


def test_detached_signature(pki):
    key, cert = pki["signers"]["rsa"]
    data = cms.sign_signed_data(cms.OID_DATA, b"detached body", key, cert, detached=True)
    assert cms.parse_signed_data(data).econtent is None
    with pytest.raises(cms.SignatureError, match="detached"):
        cms.verify_signed_data(data)
    assert cms.verify_signed_data(data, content=b"detached body")[1] == b"detached body"
    with pytest.raises(cms.SignatureError):
        cms.verify_signed_data(data, content=b"other body")


@needs_openssl
@pytest.mark.parametrize("keytype", ["rsa", "p384"])
def test_openssl_signed_data_verifies_here(pki, keytype, tmp_path):
    key, cert = pki["signers"][keytype]
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (tmp_path / "cert.pem").write_bytes(_pem(cert))
    (tmp_path / "inter.pem").write_bytes(_pem(pki["inter"]))
    (tmp_path / "msg.bin").write_bytes(b"made by openssl\n")
    subprocess.run([OPENSSL, "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in",
                    str(tmp_path / "msg.bin"), "-signer", str(tmp_path / "cert.pem"), "-inkey",
                    str(tmp_path / "key.pem"), "-certfile", str(tmp_path / "inter.pem"),
                    "-out", str(tmp_path / "sd.der")], check=True, capture_output=True)
    data = (tmp_path / "sd.der").read_bytes()
    ect, content, signer, verified = cms.verify_signed_data(data, [pki["root"]])
    assert (ect, content, verified) == (cms.OID_DATA, b"made by openssl\n", True)
    assert signer.to_der() == _der(cert)
    assert cms.ContentInfo.from_der(data).to_der() == data


def test_asn1crypto_signed_samples():
    # Real messages signed by other software; the indefinite-length one's digest does not match its content
    # (openssl cms -verify says the same).
    for name in ("cms-signed.der", "pkcs7-signed.der"):
        ect, content, signer, verified = cms.verify_signed_data((VECTORS / "asn1crypto" / name).read_bytes())
        assert ect == cms.OID_DATA and content.startswith(b"This is the message to encapsulate in PKCS#7/CMS")
        assert signer.subject.common_name == "Will Bond" and verified is False
    with pytest.raises(cms.SignatureError, match="message digest"):
        cms.verify_signed_data((VECTORS / "asn1crypto" / "cms-signed-indefinite-length.der").read_bytes())


# --- chains -------------------------------------------------------------------------------------------------------

def test_order_chain(pki):
    leaf = pki["signers"]["rsa"][1]
    chain = [leaf, pki["inter"], pki["root"]]
    want = [_der(c) for c in chain]
    rng = random.Random(7)
    for _ in range(6):
        shuffled = chain[:]
        rng.shuffle(shuffled)
        assert [c.to_der() for c in cms.order_chain(shuffled)] == want
    # Through a certs-only message, whose order means nothing.
    data = cms.build_certs_only([pki["root"], leaf, pki["inter"]])
    assert [c.to_der() for c in cms.order_chain(cms.parse_certs_only(data))] == want
    # Unrelated certificates follow the chain in their input order; duplicates are dropped.
    other = pki["other_root"]
    got = cms.order_chain([pki["root"], other, leaf, pki["inter"], _der(leaf)])
    assert [c.to_der() for c in got] == want + [_der(other)]
    # An explicit leaf, as a certificate or an index.
    assert [c.to_der() for c in cms.order_chain(chain[::-1], leaf=pki["inter"])] == want[1:] + want[:1]
    assert [c.to_der() for c in cms.order_chain(chain[::-1], leaf=2)] == want
    assert cms.order_chain([]) == []


def test_order_chain_prefers_key_identifiers(pki):
    # Two intermediates with the same name but different keys: the leaf's AKI picks the right one.
    root_key, root = pki["root_key"], pki["root"]
    k1, k2 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    i1 = _issue(k1, "Same Name CA", root_key, root, ca=True)
    i2 = _issue(k2, "Same Name CA", root_key, root, ca=True)
    leaf = _issue(ec.generate_private_key(ec.SECP256R1()), "leaf", k2, i2)
    got = cms.order_chain([i1, root, leaf, i2])
    assert [c.to_der() for c in got[:3]] == [_der(leaf), _der(i2), _der(root)]
    assert got[3].to_der() == _der(i1)


def test_public_names():
    for name in cms.__all__:
        assert hasattr(cms, name), name
    assert issubclass(cms.SignatureError, estcodec.Error)


def test_mutations_raise_only_package_errors(pki):
    # Invariant: a mutated message either verifies (a change outside what is signed and checked) or raises an
    # estcodec.Error (DecodeError or SignatureError), never anything else.
    key, cert = pki["signers"]["p256"]
    data = cms.sign_signed_data(ID_CCT_PKI_DATA, b"\x30\x03\x02\x01\x05", key, cert, extra_certs=[pki["inter"]])
    rng = random.Random(1234)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        try:
            cms.verify_signed_data(bytes(buf), [pki["root"]])
            outcomes["ok"] += 1
        except estcodec.Error:
            outcomes["error"] += 1
    assert outcomes["error"] > 250
