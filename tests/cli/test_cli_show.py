"""``est show`` and ``python -m estcodec show``: every structure type named and summarised, on the shared
vectors (tests/vectors; provenance in its README) and, for the PKIResponse (no public sample exists, see the
vectors README), on responses built here with real keys. Runs the real commands as subprocesses."""
from __future__ import annotations

import base64
import datetime
import json
import re
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from est_cli_helpers import run_est

# (path under vectors, kind, texts that the readable summary must contain)
CASES = [
    ("rfc7030/A.1_cacerts_response.b64", "certs-only", ["count:", "4", "CN=estExampleCA OwO", "CN=estExampleCA NwN"]),
    ("rfc7030/A.3_simpleenroll_response_certs-only.der", "certs-only", ["count:", "1"]),
    ("rfc7030/A.3_simpleenroll_request_pkcs10.der", "csr",
     ["CN=demostep4 1368141352", "RSA 2048", "signature valid:   yes", "challengePassword: present"]),
    ("rfc7030/A.2_csrattrs_response.b64", "csr-attributes",
     ["macAddress", "challengePassword", "sha384", "challengePassword requested: yes"]),
    ("lamps-csrattrs-draft/realistic-acp.csrattr.der", "csr-attributes", ["extensionRequest", "subjectAltName"]),
    ("libest/csrattrs/us895__TEST_ALL_ATTR.der", "csr-attributes", ["macAddress", "unrecognized element 010100"]),
    ("rfc7030/A.4_serverkeygen_response_part1_pkcs8.der", "private-key",
     ["PKCS#8", "RSA 2048", "private key material is not shown"]),
    ("rustcrypto-formats/pkcs8/tests/examples/ed25519-encpriv-aes256-pbkdf2-sha256.pem", "private-key",
     ["encrypted PKCS#8", "PBES2"]),
    # EC PARAMETERS (explicit curve, not shown) and a SEC1 EC PRIVATE KEY in one PEM file
    ("asn1crypto/keys/test-ec.key", "private-key", ["SEC1 ECPrivateKey", "PEM EC PRIVATE KEY"]),
    ("asn1crypto/keys/test-ec-named.key", "private-key", ["SEC1 ECPrivateKey", "EC P-256"]),
    ("asn1crypto/keys/test-der.crt", "certificate",
     ["CN=Will Bond", "RSA 2048", "serial:", "bde5d9a410315c82", "not after:", "2025-05-03T14:37:16Z", "expired"]),
    ("asn1crypto/keys/test-ec-named.crt", "certificate", ["EC P-256"]),
    ("rustcrypto-formats/cms/tests/examples/cms_ber.bin", "signed-data", ["(BER,", "content type:"]),
    ("cmc/sunet-python_cmc/blob00_PKIData.der", "pki-data",
     ["signed:         yes", "id-cmc-senderNonce", "id-cmc-regInfo", "CRMF", "CN=Test CMC Client"]),
    ("cmc/pyasn1-alt-modules/rfc6402__BackwardCompatibilityTestCase__pem_text.der", "pki-data",
     ["PKCS#10", "RSA 1024"]),
    ("rfc4134/5.1.bin", "enveloped-data", ["key transport (ktri)", "rsaEncryption", "des-ede3-cbc"]),
    ("rustcrypto-formats/cms/tests/examples/enveloped_data_multi.bin", "enveloped-data",
     ["key transport (ktri)", "key agreement (kari)", "key-encryption key (kekri)", "KEK id:         deadbeef",
      "password (pwri)", "PBKDF2", "aes256-CBC"]),
    ("pyasn1-alt-modules/der/rfc5083__AuthEnvelopedDataOpenTypesTestCase__pem_text.der", "enveloped-data",
     ["AuthEnvelopedData", "aes256-GCM"]),
]


@pytest.fixture(scope="module")
def shown() -> dict[str, str]:
    """``est show`` of every vector of CASES, in one run (several files: one section per file)."""
    from est_cli_helpers import VECTORS

    names = [str(VECTORS / rel) for rel, _, _ in CASES]
    r = run_est("show", *names)
    sections = re.split(r"^==> (.+) <==\n", r.stdout, flags=re.M)[1:]
    out = dict(zip(sections[0::2], sections[1::2]))
    # a file that failed has no section, and one error line naming it: its own case fails with that line
    errors = {name: [ln for ln in r.stderr.splitlines() if name in ln and "error" in ln] for name in names}
    return {rel: out.get(name, "FAILED: " + " | ".join(errors[name]))
            for (rel, _, _), name in zip(CASES, names)}


@pytest.mark.parametrize("rel, kind, texts", CASES, ids=[c[0].rsplit("/", 1)[-1] for c in CASES])
def test_show_vectors(vectors, shown, rel, kind, texts):
    path = vectors / rel
    text = shown[rel]
    from estcodec.show import KINDS

    assert text.startswith(KINDS[kind])
    for t in texts:
        assert t in text, (t, text)
    # the JSON form (checked in-process, to keep the suite quick: it is the same summarizer, and --json itself
    # runs as a subprocess in the other tests)
    from estcodec.show import load_blocks, summarize

    doc = summarize(load_blocks(path.read_bytes())[-1][1])
    assert doc["type"] == kind and doc["name"] == KINDS[kind]
    json.dumps(doc)  # JSON-ready


def test_show_never_prints_key_material(vectors):
    der = (vectors / "rfc7030/A.4_serverkeygen_response_part1_pkcs8.der").read_bytes()
    key = serialization.load_der_private_key(der, password=None)
    numbers = key.private_numbers()
    for args in (["show"], ["show", "--json"]):
        out = run_est(*args, str(vectors / "rfc7030/A.4_serverkeygen_response_part1_pkcs8.der")).stdout
        for secret in (numbers.d, numbers.p, numbers.q):
            assert format(secret, "x")[:32] not in out.lower() and str(secret)[:32] not in out


def test_show_pem_bundle_shows_every_block(vectors, tmp_path):
    a = (vectors / "asn1crypto/keys/test.crt").read_text()
    b = (vectors / "asn1crypto/keys/test-ec-named.crt").read_text()
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(a + b)
    r = run_est("show", "--json", str(bundle))
    assert r.returncode == 0, r.stderr
    docs = json.loads(r.stdout)
    assert [d["type"] for d in docs] == ["certificate", "certificate"]
    assert docs[1]["key"] == "EC P-256" and docs[0]["pem_label"] == "CERTIFICATE"


def test_show_reads_stdin_base64(vectors):
    der = (vectors / "rfc7030/A.3_simpleenroll_request_pkcs10.der").read_bytes()
    r = run_est("show", "-", stdin=base64.encodebytes(der).decode())
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("PKCS#10 certification request")


def _ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "show test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def test_show_pki_responses_failed_and_pending(tmp_path):
    from estcodec.cmc import CmcFailInfo, PkiResponseBuilder
    from estcodec.x509 import Certificate

    key, cert = _ca()
    failed = (PkiResponseBuilder().transaction_id(99).failed(CmcFailInfo.BAD_IDENTITY, [1],
                                                             status_string="who are you?")
              .sign(key, Certificate.from_cryptography(cert)))
    f = tmp_path / "failed.der"
    f.write_bytes(failed)
    r = run_est("show", str(f))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("CMC PKIResponse")
    assert re.search(r"^  status:\s+failed$", r.stdout, re.M), r.stdout
    for t in ("failInfo:", "bad_identity", "who are you?", "transaction id:",
              "CN=show test CA"):
        assert t in r.stdout, (t, r.stdout)
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    doc = json.loads(run_est("show", "--json", "--trust", str(ca_pem), str(f)).stdout)
    assert doc["signature_verified"] is True and doc["status"] == "failed" and doc["transaction_id"] == 99
    assert doc["statuses"][0]["fail_info"].startswith("bad_identity")

    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    pending = PkiResponseBuilder().pending(b"\x01\x02token", when, [1]).build().to_der()  # bare, unsigned
    p = tmp_path / "pending.b64"
    p.write_text(base64.encodebytes(pending).decode())
    doc = json.loads(run_est("show", "--json", str(p)).stdout)
    assert doc["type"] == "pki-response" and doc["signed"] is False and doc["status"] == "pending"
    assert doc["statuses"][0]["pend_info"] == {"pend_token": "0102746f6b656e", "pend_time": "2030-01-02T03:04:05Z"}


def test_show_several_files_json_and_partial_failure(vectors, tmp_path):
    cert, csr = vectors / "asn1crypto/keys/test-der.crt", vectors / "rfc7030/A.3_simpleenroll_request_pkcs10.der"
    r = run_est("show", "--json", str(cert), str(csr))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [doc[str(cert)]["type"], doc[str(csr)]["type"]] == ["certificate", "csr"]
    r = run_est("show", str(cert), str(tmp_path / "missing.der"))
    assert r.returncode == 1 and r.stdout.startswith(f"==> {cert} <==")
    assert len(r.stderr.strip().splitlines()) == 1


def test_show_unrecognised_input_fails_with_one_line(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x30\x03\x02\x01\x05")  # SEQUENCE { INTEGER 5 }: valid DER, no PKI structure
    r = run_est("show", str(junk))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "not a structure" in r.stderr
    r = run_est("show", str(tmp_path / "missing.der"))
    assert r.returncode == 1 and "cannot read" in r.stderr


def test_python_m_estcodec_show_matches_est_show(vectors):
    path = str(vectors / "rfc4134/5.1.bin")
    a = subprocess.run([sys.executable, "-m", "estcodec", "show", path], capture_output=True, text=True,
                       timeout=60)
    assert a.returncode == 0, a.stderr
    assert a.stdout == run_est("show", path).stdout


def test_show_pki_data_nested_body_parts(vectors, tmp_path):
    from estcodec.cmc import PkiDataBuilder
    from estcodec.cms import build_certs_only
    from estcodec.x509 import Certificate

    c = Certificate.from_der((vectors / "asn1crypto/keys/test-der.crt").read_bytes())
    pki = (PkiDataBuilder().transaction_id(5).add_content_info(build_certs_only([c]))
           .add_other_msg("1.2.3.4", b"\x05\x00").build())
    f = tmp_path / "pkidata.pem"
    f.write_text(pki.to_pem() if hasattr(pki, "to_pem") else
                 "-----BEGIN CMC REQUEST-----\n" + base64.encodebytes(pki.to_der()).decode() +
                 "-----END CMC REQUEST-----\n")
    doc = json.loads(run_est("show", "--json", str(f)).stdout)
    assert doc["type"] == "pki-data" and doc["signed"] is False and doc["transaction_id"] == 5
    assert doc["cms_sequence"] == ["2: signedData"] and doc["other_msg_sequence"] == ["3: 1.2.3.4"]
    assert doc["body_parts"] == [1, 2, 3]


def test_show_escapes_control_characters_from_the_certificate(tmp_path):
    # a certificate is input from elsewhere: its names must not drive the terminal (colours, cursor, bidi)
    key = ec.generate_private_key(ec.SECP256R1())
    evil = "dev\x1b[2J\x1b[31mroot\x07\u202etxt.exe"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, evil)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(9).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("a\x1b]0;title\x07.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    f = tmp_path / "evil.pem"
    f.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    r = run_est("show", str(f))
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout and "\u202e" not in r.stdout
    assert "dev\\x1b[2J\\x1b[31mroot\\x07\\u202etxt.exe" in r.stdout
    assert "a\\x1b]0;title\\x07.example" in r.stdout
