"""Issue 20: what ``est show`` recognises beyond the core structures — PKCS#12, the RFC 7030 server-keygen
multipart body, text files — and OpenSSL's spelling of subjectAltNames and serial numbers."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from est_cli_helpers import VECTORS, one_line_error, run_est


def _cert(serial: int, sans: list[x509.GeneralName]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "show-more")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False).sign(key, hashes.SHA256()))
    return cert, key


def test_show_prints_sans_as_openssl_does_and_serials_with_their_leading_zero(tmp_path):
    cert, _ = _cert(0x80FF, [x509.DNSName("a.example"), x509.IPAddress(ipaddress.ip_address("10.0.0.7")),
                             x509.RFC822Name("ops@example.com"), x509.UniformResourceIdentifier("urn:x:1")])
    f = tmp_path / "c.pem"
    f.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    r = run_est("show", "--json", str(f))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["serial"] == "0080ff"  # the DER INTEGER's octets: 00 80 ff
    assert doc["subject_alt_names"] == ["DNS:a.example", "IP Address:10.0.0.7", "email:ops@example.com",
                                        "URI:urn:x:1"]


def test_show_recognises_pkcs12_with_and_without_a_password(tmp_path):
    cert, key = _cert(7, [x509.DNSName("p12.example")])
    open_p12 = tmp_path / "open.p12"
    open_p12.write_bytes(pkcs12.serialize_key_and_certificates(b"dev", key, cert, None,
                                                               serialization.NoEncryption()))
    r = run_est("show", "--json", str(open_p12))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "pkcs12" and doc["private_key"].startswith("EC P-256")
    assert doc["certificates"] == ["CN=show-more (serial 07)"]
    sealed = tmp_path / "sealed.p12"
    sealed.write_bytes(pkcs12.serialize_key_and_certificates(
        b"dev", key, cert, None, serialization.BestAvailableEncryption(b"secret")))
    r = run_est("show", str(sealed))
    assert r.returncode == 0 and r.stdout.startswith("PKCS#12 (PFX)") and "password is needed" in r.stdout
    assert "BEGIN" not in r.stdout


def test_show_reads_the_serverkeygen_multipart_body():
    for name in ("A.4_serverkeygen_response_multipart.CRLF.txt", "A.4_serverkeygen_response_multipart.LF.txt"):
        r = run_est("show", "--json", str(VECTORS / "rfc7030" / name))
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["type"] == "serverkeygen-multipart"
        holds = [p["holds"] for p in doc["parts"]]
        assert holds == ["private key", "CMS certs-only bundle"], doc
        assert "note" in doc["parts"][0]  # the key is described, never printed


def test_show_calls_a_text_file_a_text_file(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("server = est.example.com\nthis is a configuration file, not a certificate\n" * 20)
    r = run_est("show", str(notes))
    assert r.returncode == 1
    line = one_line_error(r.stderr)
    assert line == f"est show: error: {notes}: not a PKI file (looks like text)"
    short = tmp_path / "short.txt"
    short.write_text("junk text here\n")  # every letter is in the base64 alphabet: still text, not base64
    r = run_est("show", str(short))
    assert r.returncode == 1 and one_line_error(r.stderr).endswith("not a PKI file (looks like text)")
