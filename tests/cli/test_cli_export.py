"""Issue 20: ``est export`` — pem, der and pfx (PKCS#12 through cryptography, read back by openssl), the key only
when asked and never without a password in a PKCS#12, the chain apart with --chain-out."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from est_cli_helpers import one_line_error, run_est


@pytest.fixture(scope="module")
def pair(testserver, tmp_path_factory) -> tuple[Path, Path, Path]:
    """An enrolled certificate with the CA appended (a chain), its key, and a password file."""
    d = tmp_path_factory.mktemp("export")
    r = run_est("enroll", *testserver.conn(), "--cn", "export-me", "--out", str(d / "leaf.pem"), "--key-out",
                str(d / "leaf.key"))
    assert r.returncode == 0, r.stderr
    (d / "full.pem").write_bytes((d / "leaf.pem").read_bytes() + testserver.ca_file.read_bytes())
    (d / "pw").write_text("correct horse\n")
    return d / "full.pem", d / "leaf.key", d / "pw"


def test_export_pfx_with_key_reads_back_with_cryptography_and_openssl(pair, tmp_path):
    cert, key, pw = pair
    out = tmp_path / "dev.p12"
    r = run_est("export", "--cert", str(cert), "--key", str(key), "--format", "pfx", "--include-key", "--out",
                str(out), "--password-file", str(pw))
    assert r.returncode == 0, r.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    bundle = pkcs12.load_pkcs12(out.read_bytes(), b"correct horse")
    assert bundle.key is not None and bundle.cert.certificate.subject.rfc4514_string() == "CN=export-me"
    assert len(bundle.additional_certs) == 1
    if shutil.which("openssl"):
        p = subprocess.run(["openssl", "pkcs12", "-in", str(out), "-passin", f"file:{pw}", "-nokeys"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and "CN = export-me" in p.stdout.replace("CN=", "CN = "), p.stderr
    # a PKCS#12 with a key is never written without a password; the key must match the certificate
    r = run_est("export", "--cert", str(cert), "--key", str(key), "--format", "pfx", "--include-key", "--out",
                str(tmp_path / "nopw.p12"))
    assert r.returncode == 2 and "--password-file" in one_line_error(r.stderr)
    assert "correct horse" not in r.stderr


def test_export_pem_der_and_the_chain_apart(pair, tmp_path):
    cert, key, _ = pair
    r = run_est("export", "--cert", str(cert))
    assert r.returncode == 0 and r.stdout.count("BEGIN CERTIFICATE") == 2 and "PRIVATE KEY" not in r.stdout
    r = run_est("export", "--cert", str(cert), "--key", str(key), "--include-key", "--out", str(tmp_path / "a.pem"),
                "--chain-out", str(tmp_path / "chain.pem"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "a.pem").read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----") and text.count("BEGIN CERTIFICATE") == 1
    assert (tmp_path / "a.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "chain.pem").read_text().count("BEGIN CERTIFICATE") == 1
    r = run_est("export", "--cert", str(cert), "--format", "der", "--out", str(tmp_path / "c.der"), "--chain-out",
                str(tmp_path / "chain.p7b"))
    assert r.returncode == 0, r.stderr
    leaf = x509.load_der_x509_certificate((tmp_path / "c.der").read_bytes())
    assert leaf.subject.rfc4514_string() == "CN=export-me"
    assert len(pkcs7.load_der_pkcs7_certificates((tmp_path / "chain.p7b").read_bytes())) == 1
    r = run_est("export", "--cert", str(cert.parent / "leaf.pem"), "--format", "der", "--out",
                str(tmp_path / "leaf.der"), "--chain-out", str(tmp_path / "none.p7b"))
    assert r.returncode == 0 and "holds no chain" in r.stderr and not (tmp_path / "none.p7b").exists(), r.stderr
    # the DER chain is what --trust takes
    r = run_est("show", str(tmp_path / "chain.p7b"))
    assert r.returncode == 0 and "certs-only" in r.stdout


def test_export_refuses_what_it_cannot_do(pair, tmp_path):
    cert, key, _ = pair
    other = tmp_path / "other.key"
    from cryptography.hazmat.primitives.asymmetric import ec

    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cases = [
        (["--key", str(other), "--include-key"], "is not the key of the certificate"),
        (["--include-key"], "--include-key needs --key"),
        (["--key", str(key), "--include-key", "--format", "der", "--out", str(tmp_path / "x")], "DER holds one"),
        (["--format", "pfx"], "is binary"),
    ]
    for extra, words in cases:
        r = run_est("export", "--cert", str(cert), *extra)
        assert r.returncode == 2 and words in one_line_error(r.stderr), (extra, r.stderr)
    (tmp_path / "exists.pem").write_text("x")
    r = run_est("export", "--cert", str(cert), "--out", str(tmp_path / "exists.pem"))
    assert r.returncode == 9
