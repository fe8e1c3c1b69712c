"""``est renew`` and the renewal policy (issue 19): the test server issues 30-day certificates.

- without --threshold a fresh certificate is not renewed (the default is a third of the lifetime, not 30 days);
- an explicit threshold not shorter than the lifetime still renews once, with a warning that says why every run
  would renew;
- ``--watch`` with such a threshold renews once, then not at every check (it used to renew in a loop).
"""
from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

from cryptography import x509

from est_cli_helpers import clean_env, est_command, one_line_error, run_est


def _enrolled(srv, tmp, name):
    cert, key = tmp / f"{name}.pem", tmp / f"{name}.key"
    r = run_est("enroll", *srv.conn(), "--cn", name, "--out", str(cert), "--key-out", str(key))
    assert r.returncode == 0, r.stderr
    return cert, key


def test_default_policy_leaves_a_fresh_certificate_alone(testserver, tmp_path):
    cert, key = _enrolled(testserver, tmp_path, "policy-default")
    before = cert.read_bytes()
    r = run_est("renew", *testserver.conn(auth=False), "--cert", str(cert), "--key", str(key))
    assert r.returncode == 0, r.stderr
    assert "no renewal needed" in r.stdout and "a third of its lifetime" in r.stdout
    assert cert.read_bytes() == before


def test_threshold_longer_than_the_lifetime_renews_once_with_a_warning(testserver, tmp_path):
    cert, key = _enrolled(testserver, tmp_path, "policy-warn")
    before = cert.read_bytes()
    r = run_est("renew", *testserver.conn(auth=False), "--cert", str(cert), "--key", str(key), "--threshold", "60d")
    assert r.returncode == 0, r.stderr
    assert cert.read_bytes() != before
    assert "warning: --threshold 60d" in r.stderr and "not shorter than the certificate's lifetime (30d)" in r.stderr


def test_watch_with_a_threshold_longer_than_the_lifetime_does_not_renew_in_a_loop(testserver, tmp_path):
    cert, key = _enrolled(testserver, tmp_path, "policy-watch")
    old = x509.load_pem_x509_certificate(cert.read_bytes())
    proc = subprocess.Popen(
        [*est_command(), "renew", "--watch", *testserver.conn(auth=False), "--cert", str(cert), "--key", str(key),
         "--threshold", "60d", "--check-interval", "1s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum("est renew: checking" in ln for ln in list(lines)) < 5:
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    reader.join(10)
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert sum("est renew: checking" in ln for ln in lines) >= 5, err
    assert err.count("renewed: serial") == 1, err
    assert "renewing the certificate this run issued when a third of its lifetime is left instead" in err
    new = x509.load_pem_x509_certificate(cert.read_bytes())
    assert new.serial_number != old.serial_number


def test_enroll_resume_after_the_wait_ran_out(pending_server, tmp_path):
    from cryptography.hazmat.primitives import serialization

    cert, key = tmp_path / "resumed.pem", tmp_path / "resumed.key"
    args = ["enroll", *pending_server.conn(), "--cn", "resumed", "--out", str(cert), "--key-out", str(key),
            "--resume", "--max-wait", "0"]
    r = run_est(*args)
    assert r.returncode == 7, r.stderr  # pending: the wait ran out at once
    saved = tmp_path / "resumed.key.pending"
    assert "kept in" in r.stderr and str(saved) in r.stderr
    assert (saved / "request.key").stat().st_mode & 0o777 == 0o600 and not cert.exists() and not key.exists()
    saved_key = serialization.load_pem_private_key((saved / "request.key").read_bytes(), None)
    r = run_est(*args)  # the same command later: the same request again, now issued
    assert r.returncode == 0, r.stderr
    assert "resuming the request saved in" in r.stderr
    issued = x509.load_pem_x509_certificate(cert.read_bytes())
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    assert issued.public_key().public_bytes(serialization.Encoding.DER, pub) == \
        saved_key.public_key().public_bytes(serialization.Encoding.DER, pub)
    assert key.stat().st_mode & 0o777 == 0o600 and not saved.exists()


def test_reenroll_resume_after_the_wait_ran_out(pending_server, tmp_path):
    """est reenroll --resume: the new key and the re-enrollment request wait in KEY-OUT.pending/ when the 202 wait
    runs out; the same command later re-sends that request with the current identity and writes the new pair."""
    from cryptography.hazmat.primitives import serialization

    cert, key = tmp_path / "dev.pem", tmp_path / "dev.key"
    r = run_est("enroll", *pending_server.conn(), "--cn", "re-resumed", "--out", str(cert), "--key-out", str(key),
                "--max-wait", "30")  # the first answer is 202, Retry-After 1: this one waits it out
    assert r.returncode == 0, r.stderr
    new_cert, new_key = tmp_path / "dev2.pem", tmp_path / "dev2.key"
    args = ["reenroll", *pending_server.conn(), "--cert", str(cert), "--key", str(key), "--out", str(new_cert),
            "--key-out", str(new_key), "--resume", "--max-wait", "0"]
    r = run_est(*args)
    assert r.returncode == 7, r.stderr
    saved = tmp_path / "dev2.key.pending"
    assert json.loads((saved / "pending.json").read_text())["operation"] == "reenroll"
    saved_key = serialization.load_pem_private_key((saved / "request.key").read_bytes(), None)
    # the saved request belongs to reenroll: est enroll --resume with the same --key-out refuses it
    r2 = run_est("enroll", *pending_server.conn(), "--cn", "x", "--out", str(tmp_path / "x.pem"), "--key-out",
                 str(new_key), "--resume", "--max-wait", "0")
    assert r2.returncode == 2 and "est reenroll --resume" in r2.stderr
    r = run_est(*args)
    assert r.returncode == 0, r.stderr
    issued = x509.load_pem_x509_certificate(new_cert.read_bytes())
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    assert issued.public_key().public_bytes(serialization.Encoding.DER, pub) == \
        saved_key.public_key().public_bytes(serialization.Encoding.DER, pub)
    assert issued.subject == x509.load_pem_x509_certificate(cert.read_bytes()).subject and not saved.exists()
    # --same-key has no new key to keep
    r = run_est("reenroll", *pending_server.conn(), "--cert", str(cert), "--key", str(key), "--out",
                str(tmp_path / "y.pem"), "--same-key", "--resume")
    assert r.returncode == 2 and "--same-key" in one_line_error(r.stderr)
