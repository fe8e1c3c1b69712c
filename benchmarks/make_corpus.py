"""Build the benchmark corpus in ``benchmarks/corpus/`` (git-ignored).

Run with ``python benchmarks/make_corpus.py`` (add ``--force`` to rebuild). It writes:

* ``roots/NNN.der``      every root certificate in certifi's ``cacert.pem``, one DER file each, in file order;
* ``roots.list``         the same certificates concatenated (one DER after the other, no separator: a reader
                         walks the outer SEQUENCE headers);
* ``roots.pem``          the same as PEM (input of ``openssl crl2pkcs7``);
* ``roots.p7b``          a PKCS#7 certs-only bundle of them made by ``openssl crl2pkcs7 -nocrl -outform DER``
                         (OpenSSL writes the certificate SET OF unsorted, as real EST servers do);
* ``roots_sorted.p7b``   the same bundle with its SET OF in DER order (re-encoded by pyasn1), to show what the
                         unsorted set costs a strict reader;
* ``csrs/NNN.der``       200 PKCS#10 requests, alternating RSA-2048 (PKCS#1 v1.5, SHA-256) and EC P-256
                         (ECDSA SHA-256), each with a subject of 3-5 attributes and 1-4 SANs (DNS, e-mail, IP, URI);
* ``pki_response.der``   a CMC Full PKI Response (RFC 5272/6402): ContentInfo / SignedData, eContentType
                         id-cct-PKIResponse (1.3.6.1.5.5.7.12.3), a PKIResponse with one statusInfoV2 control
                         (success for body parts 1..50), and the 50 certificates issued for the first 50 CSRs in
                         SignedData.certificates; signed for real by the bench CA (ECDSA P-256, signed attributes
                         contentType + messageDigest). Built with pyasn1-modules' rfc5652/rfc6402 modules;
* ``ca.der``             the bench CA certificate that issued those 50 certificates and signed the response;
* ``MANIFEST.json``      counts, sizes and the versions of the tools that made the corpus.

Determinism: everything is derived from fixed seeds and fixed dates (EC keys from hashed labels, deterministic
ECDSA, RSA PKCS#1 v1.5) except the RSA keys: ``cryptography`` cannot derive an RSA key from a seed, so eight
RSA-2048 keys are generated once and kept in ``corpus/keys/`` for later runs (delete the folder for new ones).
The benchmark figures do not depend on the key values, only on their sizes.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import ipaddress
import json
import platform
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

N_CSRS = 200
N_RSA_KEYS = 8
N_RESPONSE_CERTS = 50

ID_CCT_PKI_RESPONSE = "1.3.6.1.5.5.7.12.3"
ID_CMC_STATUS_INFO_V2 = "1.3.6.1.5.5.7.7.25"

FIXED_NOT_BEFORE = dt.datetime(2026, 1, 1, 0, 0, 0, tzinfo=dt.timezone.utc)
FIXED_NOT_AFTER = dt.datetime(2027, 1, 1, 0, 0, 0, tzinfo=dt.timezone.utc)

_PEM_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)


def certifi_roots() -> list[bytes]:
    import certifi

    pem = Path(certifi.where()).read_bytes()
    return [base64.b64decode(b"".join(m.group(1).split())) for m in _PEM_RE.finditer(pem)]


def _pem(der: bytes, label: str = "CERTIFICATE") -> str:
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


# ---------------------------------------------------------------------------------------------------------
# keys


def _ec_key(label: str):
    from cryptography.hazmat.primitives.asymmetric import ec

    # the order of P-256
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    scalar = int.from_bytes(hashlib.sha256(b"estcodec-bench/" + label.encode()).digest(), "big") % (n - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _rsa_keys(folder: Path) -> list:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder.mkdir(parents=True, exist_ok=True)
    keys = []
    for i in range(N_RSA_KEYS):
        path = folder / f"rsa-{i}.pem"
        if path.exists():
            keys.append(serialization.load_pem_private_key(path.read_bytes(), None))
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        keys.append(key)
    return keys


def _sign_kwargs(key) -> dict:
    from cryptography.hazmat.primitives.asymmetric import ec

    return {"ecdsa_deterministic": True} if isinstance(key, ec.EllipticCurvePrivateKey) else {}


# ---------------------------------------------------------------------------------------------------------
# CSRs

_ORGS = ["Example Corp", "Acme Widgets", "Globex", "Initech", "Umbrella Research", "Stark Industries"]
_UNITS = ["Engineering", "Operations", "IoT Fleet", "PKI", "Manufacturing"]
_COUNTRIES = ["US", "DE", "FR", "JP", "BR", "SE", "CA"]


def make_csrs(rsa_keys: list) -> list[tuple[bytes, Any]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    out: list[tuple[bytes, Any]] = []
    for i in range(N_CSRS):
        key = rsa_keys[(i // 2) % len(rsa_keys)] if i % 2 == 0 else _ec_key(f"csr-{i}")
        host = f"device-{i:04d}.{_ORGS[i % len(_ORGS)].split()[0].lower()}.example"
        attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, _COUNTRIES[i % len(_COUNTRIES)])]
        if i % 3 != 0:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGS[i % len(_ORGS)]))
        if i % 4 == 1:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _UNITS[i % len(_UNITS)]))
        if i % 5 == 2:
            attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"SN{i:08d}"))
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, host))
        sans: list = [x509.DNSName(host)]
        if i % 2 == 1:
            sans.append(x509.DNSName("alt-" + host))
        if i % 3 == 1:
            sans.append(x509.RFC822Name(f"ops+{i}@example.com"))
        if i % 4 == 3:
            sans.append(x509.IPAddress(ipaddress.ip_address(f"192.0.2.{i % 250 + 1}")))
        if i % 7 == 5:
            sans.append(x509.UniformResourceIdentifier(f"urn:example:device:{i}"))
        builder = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name(attrs))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        )
        if i % 2 == 0:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=True,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
        csr = builder.sign(key, hashes.SHA256(), **_sign_kwargs(key))
        from cryptography.hazmat.primitives import serialization

        out.append((csr.public_bytes(serialization.Encoding.DER), csr))
    return out


# ---------------------------------------------------------------------------------------------------------
# CA and issued certificates


def make_ca():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = _ec_key("bench-ca")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "estcodec benchmarks"),
            x509.NameAttribute(NameOID.COMMON_NAME, "estcodec bench CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x5EED)
        .not_valid_before(FIXED_NOT_BEFORE)
        .not_valid_after(dt.datetime(2036, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return key, cert


def issue(ca_key, ca_cert, csr, serial: int):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(serial)
        .not_valid_before(FIXED_NOT_BEFORE)
        .not_valid_after(FIXED_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(san, critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)


# ---------------------------------------------------------------------------------------------------------
# CMC PKIResponse in SignedData (pyasn1-modules)


def make_pki_response(ca_key, ca_cert, issued_der: list[bytes]) -> bytes:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from pyasn1.codec.der import decoder, encoder
    from pyasn1.type import tag, univ
    from pyasn1_modules import rfc5280, rfc5652, rfc6402

    # --- the PKIResponse: one statusInfoV2 control saying success for body parts 1..N
    status = rfc6402.CMCStatusInfoV2()
    status["cMCStatus"] = rfc6402.CMCStatus("success")
    body_list = status["bodyList"]
    for i in range(len(issued_der)):
        ref = rfc6402.BodyPartReference()
        ref["bodyPartID"] = i + 1
        body_list.append(ref)
    control = rfc6402.TaggedAttribute()
    control["bodyPartID"] = 1
    control["attrType"] = univ.ObjectIdentifier(ID_CMC_STATUS_INFO_V2)
    control["attrValues"].append(encoder.encode(status))
    response = rfc6402.PKIResponse()
    response["controlSequence"].append(control)
    # cmsSequence and otherMsgSequence are present and empty (they are not OPTIONAL)
    response["cmsSequence"].clear()
    response["otherMsgSequence"].clear()
    response_der = encoder.encode(response)

    # --- SignedData
    digest = hashes.Hash(hashes.SHA256())
    digest.update(response_der)
    message_digest = digest.finalize()

    sha256 = rfc5280.AlgorithmIdentifier()
    sha256["algorithm"] = univ.ObjectIdentifier("2.16.840.1.101.3.4.2.1")

    signed_attrs = rfc5652.SignedAttributes().subtype(
        implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 0)
    )
    a_ct = rfc5652.Attribute()
    a_ct["attrType"] = rfc5652.id_contentType
    a_ct["attrValues"].append(encoder.encode(univ.ObjectIdentifier(ID_CCT_PKI_RESPONSE)))
    a_md = rfc5652.Attribute()
    a_md["attrType"] = rfc5652.id_messageDigest
    a_md["attrValues"].append(encoder.encode(univ.OctetString(message_digest)))
    signed_attrs.append(a_ct)
    signed_attrs.append(a_md)
    # the signature covers the DER of the attributes with a SET OF tag (RFC 5652 §5.4)
    attrs_as_set = rfc5652.SignedAttributes()
    attrs_as_set.append(a_ct)
    attrs_as_set.append(a_md)
    to_sign = encoder.encode(attrs_as_set)
    signature = ca_key.sign(to_sign, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))

    ca_tbs, _ = decoder.decode(ca_cert.public_bytes(serialization.Encoding.DER), asn1Spec=rfc5280.Certificate())
    sid = rfc5652.SignerIdentifier()
    ias = sid["issuerAndSerialNumber"]
    ias["issuer"] = ca_tbs["tbsCertificate"]["issuer"]
    ias["serialNumber"] = ca_tbs["tbsCertificate"]["serialNumber"]

    signer = rfc5652.SignerInfo()
    signer["version"] = 1
    signer["sid"] = sid
    signer["digestAlgorithm"] = sha256
    signer["signedAttrs"] = signed_attrs
    sig_alg = rfc5280.AlgorithmIdentifier()
    sig_alg["algorithm"] = univ.ObjectIdentifier("1.2.840.10045.4.3.2")  # ecdsa-with-SHA256
    signer["signatureAlgorithm"] = sig_alg
    signer["signature"] = signature

    sd = rfc5652.SignedData()
    sd["version"] = 3  # eContentType is not id-data
    sd["digestAlgorithms"].append(sha256)
    sd["encapContentInfo"]["eContentType"] = univ.ObjectIdentifier(ID_CCT_PKI_RESPONSE)
    sd["encapContentInfo"]["eContent"] = univ.OctetString(response_der).subtype(
        explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 0)
    )
    certs = sd["certificates"]
    for der in issued_der:
        cert, rest = decoder.decode(der, asn1Spec=rfc5280.Certificate())
        assert not rest
        choice = rfc5652.CertificateChoices()
        choice["certificate"] = cert
        certs.append(choice)
    sd["signerInfos"].append(signer)

    ci = rfc5652.ContentInfo()
    ci["contentType"] = rfc5652.id_signedData
    ci["content"] = encoder.encode(sd)
    return encoder.encode(ci)


def check_pki_response(data: bytes, ca_cert, n_certs: int) -> None:
    """Read the response back with pyasn1 and verify its signature with cryptography."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from pyasn1.codec.der import decoder, encoder
    from pyasn1_modules import rfc5652, rfc6402

    ci, rest = decoder.decode(data, asn1Spec=rfc5652.ContentInfo())
    assert not rest and ci["contentType"] == rfc5652.id_signedData
    sd, rest = decoder.decode(ci["content"], asn1Spec=rfc5652.SignedData())
    assert not rest
    assert str(sd["encapContentInfo"]["eContentType"]) == ID_CCT_PKI_RESPONSE
    assert len(sd["certificates"]) == n_certs
    resp, rest = decoder.decode(bytes(sd["encapContentInfo"]["eContent"]), asn1Spec=rfc6402.PKIResponse())
    assert not rest and str(resp["controlSequence"][0]["attrType"]) == ID_CMC_STATUS_INFO_V2
    signer = sd["signerInfos"][0]
    attrs = rfc5652.SignedAttributes()
    for a in signer["signedAttrs"]:
        attrs.append(a)
    ca_cert.public_key().verify(
        bytes(signer["signature"]), encoder.encode(attrs), ec.ECDSA(hashes.SHA256())
    )


# ---------------------------------------------------------------------------------------------------------


def _versions() -> dict:
    import importlib.metadata as md

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("cryptography", "certifi", "pyasn1", "pyasn1-modules"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    try:
        out["openssl"] = subprocess.run(
            ["openssl", "version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out["openssl"] = None
    return out


def build(force: bool = False) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    manifest_path = CORPUS / "MANIFEST.json"
    if manifest_path.exists() and not force:
        print(f"corpus already present in {CORPUS} (use --force to rebuild)")
        return
    keys_dir = CORPUS / "keys"
    for sub in ("roots", "csrs"):
        shutil.rmtree(CORPUS / sub, ignore_errors=True)
        (CORPUS / sub).mkdir(parents=True)

    roots = certifi_roots()
    for i, der in enumerate(roots):
        (CORPUS / "roots" / f"{i:03d}.der").write_bytes(der)
    (CORPUS / "roots.list").write_bytes(b"".join(roots))
    (CORPUS / "roots.pem").write_text("".join(_pem(d) for d in roots))
    subprocess.run(
        ["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(CORPUS / "roots.pem"), "-outform", "DER",
         "-out", str(CORPUS / "roots.p7b")],
        check=True,
    )
    p7_certs = _p7_check(CORPUS / "roots.p7b")
    (CORPUS / "roots_sorted.p7b").write_bytes(_der_sorted(CORPUS / "roots.p7b"))
    print(f"roots: {len(roots)} certificates, PKCS#7 bundle {len(p7_certs)} certificates")

    rsa_keys = _rsa_keys(keys_dir)
    csrs = make_csrs(rsa_keys)
    for i, (der, _) in enumerate(csrs):
        (CORPUS / "csrs" / f"{i:03d}.der").write_bytes(der)
    print(f"csrs: {len(csrs)} (RSA-2048 and EC P-256 alternating)")

    ca_key, ca_cert = make_ca()
    (CORPUS / "ca.der").write_bytes(ca_cert.public_bytes(serialization.Encoding.DER))
    issued = [
        issue(ca_key, ca_cert, csr, 0x1000 + i).public_bytes(serialization.Encoding.DER)
        for i, (_, csr) in enumerate(csrs[:N_RESPONSE_CERTS])
    ]
    response = make_pki_response(ca_key, ca_cert, issued)
    check_pki_response(response, ca_cert, N_RESPONSE_CERTS)
    (CORPUS / "pki_response.der").write_bytes(response)
    print(f"pki_response.der: {len(response)} bytes, {len(issued)} certificates, signature verified")

    accepted = 0
    for der in roots:
        try:
            x509.load_der_x509_certificate(der)
            accepted += 1
        except ValueError:
            pass
    manifest = {
        "roots": len(roots),
        "roots_bytes": sum(map(len, roots)),
        "roots_accepted_by_cryptography": accepted,
        "pkcs7_bundle_bytes": (CORPUS / "roots.p7b").stat().st_size,
        "csrs": len(csrs),
        "csrs_bytes": sum(len(d) for d, _ in csrs),
        "pki_response_certificates": len(issued),
        "pki_response_bytes": len(response),
        "made_with": _versions(),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {CORPUS}")


def _der_sorted(path: Path) -> bytes:
    """Re-encode a PKCS#7 bundle with pyasn1, whose DER encoder sorts the SET OF certificates."""
    from pyasn1.codec.der import decoder, encoder
    from pyasn1_modules import rfc5652

    ci, rest = decoder.decode(path.read_bytes(), asn1Spec=rfc5652.ContentInfo())
    assert not rest
    sd, rest = decoder.decode(ci["content"], asn1Spec=rfc5652.SignedData())
    assert not rest
    ci["content"] = encoder.encode(sd)
    out = encoder.encode(ci)
    assert len(out) == path.stat().st_size
    return out


def _p7_check(path: Path) -> list:
    from cryptography.hazmat.primitives.serialization import pkcs7

    return pkcs7.load_der_pkcs7_certificates(path.read_bytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if the corpus exists")
    args = ap.parse_args(argv)
    if shutil.which("openssl") is None:
        print("openssl is needed for the PKCS#7 bundle (openssl crl2pkcs7)", file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        # cryptography warns about a certifi root with a non-positive serial and about the unsorted SET OF
        # certificates that openssl crl2pkcs7 writes; both are expected here
        warnings.simplefilter("ignore")
        build(force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
