"""Encrypted key files through the ``est`` command (issue #18): ``--key-out-password-file`` writes the new key as
encrypted PKCS#8, ``--key-password-file`` (or ``EST_KEY_PASSWORD``) opens an encrypted ``--key``/``--use-key``;
both directions round-trip with ``openssl pkey``. Against the session's ``est testserver`` on loopback."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from est_cli_helpers import clean_env, one_line_error, run_est

PASSWORD = "correct horse battery staple"
REQUIRE_PEERS = os.environ.get("EST_REQUIRE_PEERS") == "1"


def _openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        if REQUIRE_PEERS:
            pytest.fail("peer program missing: openssl (EST_REQUIRE_PEERS is set)")
        pytest.skip("peer program missing: openssl")
    return path


def _spki(key_or_cert: Any) -> bytes:
    public = key_or_cert.public_key()
    return bytes(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


@pytest.fixture
def pw(tmp_path: Path) -> Path:
    path = tmp_path / "key.pw"
    path.write_text(PASSWORD + "\n")
    return path


def test_enroll_writes_an_encrypted_key_that_openssl_reads(testserver: Any, tmp_path: Path, pw: Path) -> None:
    openssl = _openssl()
    res = run_est("enroll", *testserver.conn(), "--cn", "enc-1", "--out", "c.pem", "--key-out", "k.pem",
                  "--key-out-password-file", str(pw), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = (tmp_path / "k.pem").read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in res.stdout + res.stderr
    out = subprocess.run([openssl, "pkey", "-in", "k.pem", "-passin", f"file:{pw}", "-pubout"], cwd=tmp_path,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    cert = x509.load_pem_x509_certificate((tmp_path / "c.pem").read_bytes())
    assert serialization.load_pem_public_key(out.stdout).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == _spki(cert)
    # wrong password: exit 2, the file named, the password not
    bad = tmp_path / "bad.pw"
    bad.write_text("not it\n")
    res = run_est("export", "--cert", "c.pem", "--key", "k.pem", "--key-password-file", str(bad), cwd=tmp_path)
    assert res.returncode == 2
    line = one_line_error(res.stderr)
    assert "k.pem" in line and "password" in line and "not it" not in res.stderr
    res = run_est("export", "--cert", "c.pem", "--key", "k.pem", cwd=tmp_path)
    assert res.returncode == 2 and "encrypted" in one_line_error(res.stderr)


def test_an_openssl_encrypted_key_is_used_for_requests_and_tls(testserver: Any, tmp_path: Path, pw: Path) -> None:
    """A key openssl encrypted (PKCS#8 and legacy PEM) is read with --key-password-file or EST_KEY_PASSWORD: as
    --use-key for enroll and fullcmc, and as the TLS client key of reenroll and renew (which keeps it encrypted)."""
    openssl = _openssl()
    for args in (["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-out",
                  "p8.pem", "-pass", f"file:{pw}"],
                 ["genrsa", "-aes256", "-traditional", "-out", "legacy.pem", "-passout", f"file:{pw}", "2048"]):
        res = subprocess.run([openssl, *args], cwd=tmp_path, capture_output=True, timeout=120)
        assert res.returncode == 0, res.stderr
    assert (tmp_path / "p8.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert b"Proc-Type: 4,ENCRYPTED" in (tmp_path / "legacy.pem").read_bytes()
    res = run_est("enroll", *testserver.conn(), "--cn", "enc-2", "--use-key", "p8.pem", "--key-password-file",
                  str(pw), "--out", "c2.pem", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = run_est("fullcmc", *testserver.conn(), "--cn", "enc-3", "--use-key", "legacy.pem", "--out", "c3.pem",
                  cwd=tmp_path, env=clean_env(EST_KEY_PASSWORD=PASSWORD))
    assert res.returncode == 0, res.stderr
    key = serialization.load_pem_private_key((tmp_path / "p8.pem").read_bytes(), PASSWORD.encode())
    assert _spki(x509.load_pem_x509_certificate((tmp_path / "c2.pem").read_bytes())) == _spki(key)

    # reenroll over TLS with the encrypted key; the new key written encrypted too
    res = run_est("reenroll", *testserver.conn(auth=False), "--cert", "c2.pem", "--key", "p8.pem",
                  "--key-password-file", str(pw), "--out", "c4.pem", "--key-out", "k4.pem",
                  "--key-out-password-file", str(pw), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "k4.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # renew in place: the renewed key file stays encrypted with the same password
    res = run_est("renew", *testserver.conn(auth=False), "--cert", "c4.pem", "--key", "k4.pem",
                  "--threshold", "31d", cwd=tmp_path, env=clean_env(EST_KEY_PASSWORD=PASSWORD))
    assert res.returncode == 0, res.stderr
    renewed = (tmp_path / "k4.pem").read_bytes()
    assert renewed.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    key4 = serialization.load_pem_private_key(renewed, PASSWORD.encode())
    assert _spki(x509.load_pem_x509_certificate((tmp_path / "c4.pem").read_bytes())) == _spki(key4)
    out = subprocess.run([openssl, "pkey", "-in", "k4.pem", "-passin", f"file:{pw}", "-noout"], cwd=tmp_path,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr

    # csr --key-out-password-file, and export --include-key of an encrypted key
    res = run_est("csr", "--cn", "enc-5", "--out", "r.csr", "--key-out", "k5.pem", "--key-out-password-file",
                  str(pw), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "k5.pem").read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    res = run_est("export", "--cert", "c2.pem", "--key", "p8.pem", "--key-password-file", str(pw),
                  "--include-key", "--format", "pfx", "--password-file", str(pw), "--out", "c2.p12", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
