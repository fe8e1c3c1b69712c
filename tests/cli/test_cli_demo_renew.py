"""``est demo``, ``est testserver`` (Ctrl-C), ``est renew`` (once, failing, --watch), and the CLI's file writer
and exit-status mapping."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from est_cli_helpers import clean_env, est_command, run_est, start_testserver


def spki(obj) -> bytes:
    return obj.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_demo_walks_every_step():
    r = run_est("demo")
    assert r.returncode == 0, r.stdout + r.stderr
    for n, word in enumerate(["bootstrap", "CSR attributes", "enroll", "renew", "server-side key generation",
                              "Full PKI Request"], 1):
        assert re.search(rf"^\[{n}/6\] .*{word}.* \.\.\. ok", r.stdout, re.M | re.I), (word, r.stdout)
    assert "all 6 steps succeeded" in r.stdout
    for field in ("subject:", "serial:", "validity:", "key:"):
        assert r.stdout.count(field) >= 4, field
    assert "decrypted here" in r.stdout


def test_demo_json_and_keep(tmp_path):
    keep = tmp_path / "demo-files"
    r = run_est("demo", "--json", "--keep", str(keep))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    assert [s["step"] for s in doc["steps"]] == ["bootstrap", "csrattrs", "enroll", "reenroll", "serverkeygen",
                                                 "fullcmc"]
    assert all(s["ok"] for s in doc["steps"])
    assert doc["steps"][4]["private_key"]["encrypted_in_transit"] is True
    for key_file in keep.glob("*.key"):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        cert = x509.load_pem_x509_certificate(key_file.with_suffix(".pem").read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert spki(cert) == spki(key)
    assert len(list(keep.glob("*.key"))) == 4


def test_testserver_stops_on_ctrl_c(tmp_path):
    srv = start_testserver(tmp_path, "--auth", "digest", "--label", "arbitraryLabel1")
    try:
        assert "(digest)" in srv.banner and "/arbitraryLabel1/" in srv.banner
        # a digest-protected enrollment through the labelled path the banner shows
        r = run_est("enroll", "--server", srv.est_url + "arbitraryLabel1/", "--trust", str(srv.ca_file), "--user",
                    srv.user, f"--password={srv.password}", "--digest", "--cn", "digest-dev", "--key-out",
                    str(tmp_path / "d.key"))
        assert r.returncode == 0, r.stderr
        srv.proc.send_signal(signal.SIGINT)
        out, _ = srv.proc.communicate(timeout=10)
        assert srv.proc.returncode == 0 and "stopped." in out
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


# ----------------------------------------------------------------------------------------------- renew


def _enrolled(srv, tmp: Path, name: str) -> tuple[Path, Path]:
    cert, key = tmp / f"{name}.pem", tmp / f"{name}.key"
    r = run_est("enroll", *srv.conn(), "--cn", name, "--san-dns", f"{name}.example", "--out", str(cert),
                "--key-out", str(key))
    assert r.returncode == 0, r.stderr
    return cert, key


def test_renew_once(testserver, tmp_path):
    cert_path, key_path = _enrolled(testserver, tmp_path, "renew-once")
    old = x509.load_pem_x509_certificate(cert_path.read_bytes())
    # not yet due: nothing changes
    r = run_est("renew", *testserver.conn(auth=False), "--cert", str(cert_path), "--key", str(key_path),
                "--threshold", "1d")
    assert r.returncode == 0, r.stderr
    assert "no renewal needed" in r.stdout
    assert x509.load_pem_x509_certificate(cert_path.read_bytes()) == old
    # due (the test server issues for 30 days): renewed in place, new key, still 0600
    r = run_est("renew", *testserver.conn(auth=False), "--cert", str(cert_path), "--key", str(key_path),
                "--threshold", "60d", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["renewed"] is True
    assert [e["event"] for e in doc["events"]] == ["CheckStarted", "RenewalNeeded", "RenewalStarted",
                                                   "RenewalSucceeded"]
    new = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert new.serial_number != old.serial_number and new.subject == old.subject
    assert spki(new) == spki(key) != spki(old)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_renew_server_down_keeps_pair_and_exits_network_class(testserver, tmp_path):
    cert_path, key_path = _enrolled(testserver, tmp_path, "renew-down")
    before = cert_path.read_bytes(), key_path.read_bytes()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_est("renew", "--server", f"https://127.0.0.1:{port}", "--trust", str(testserver.ca_file), "--cert",
                str(cert_path), "--key", str(key_path), "--threshold", "60d", "--max-retries", "2",
                "--retry-delay", "0.2s", "--timeout", "5")
    assert r.returncode == 8, r.stderr
    delays = [float(x) for x in re.findall(r"next try in ([0-9.]+)s", r.stderr)]
    assert delays == [0.2, 0.4], r.stderr
    assert "no tries left" in r.stderr and "keeping the current certificate" in r.stderr
    assert (cert_path.read_bytes(), key_path.read_bytes()) == before


def test_renew_watch_renews_and_stops_on_sigterm(testserver, tmp_path):
    cert_path, key_path = _enrolled(testserver, tmp_path, "renew-watch")
    old = cert_path.read_bytes()
    proc = subprocess.Popen(
        [*est_command(), "renew", "--watch", *testserver.conn(auth=False), "--cert", str(cert_path), "--key",
         str(key_path), "--threshold", "60d", "--check-interval", "1h"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and cert_path.read_bytes() == old:
            time.sleep(0.1)
        assert cert_path.read_bytes() != old
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0, err
    assert "renewed: serial" in err and "stopped" in err
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert spki(cert) == spki(serialization.load_pem_private_key(key_path.read_bytes(), password=None))


# ----------------------------------------------------------------------------------------------- units


def test_write_file_atomic_modes_and_no_overwrite(tmp_path):
    from estclient._cli_files import KEY_MODE, OutputExists, check_writable, write_file

    old_umask = os.umask(0)
    try:
        key = tmp_path / "k.pem"
        write_file(key, b"secret", mode=KEY_MODE)
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        with pytest.raises(OutputExists):
            write_file(key, b"other", mode=KEY_MODE)
        assert key.read_bytes() == b"secret"
        with pytest.raises(OutputExists):
            check_writable([key], force=False)
        write_file(key, b"other", mode=KEY_MODE, force=True)
        assert key.read_bytes() == b"other" and stat.S_IMODE(key.stat().st_mode) == 0o600
        pub = tmp_path / "c.pem"
        write_file(pub, b"public")
        assert stat.S_IMODE(pub.stat().st_mode) == 0o644
        with pytest.raises(OSError):
            write_file(tmp_path / "missing-dir" / "x", b"x")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pem", "k.pem"]  # no temporary files left
    finally:
        os.umask(old_umask)


def test_exit_code_mapping():
    from estclient import errors as E
    from estclient.cli import EXIT_CODES, exit_code_for

    cases = [
        (E.AuthenticationRequired("x"), "auth"), (E.TlsConfigError("x"), "tls"),
        (E.BootstrapVerificationError("x"), "tls"), (E.ServerError(500, "x"), "server"),
        (E.NotSupported("fullcmc"), "server"), (E.ProtocolError("x"), "protocol"),
        (E.PendingTimeout("x"), "pending"), (E.TransportError("x"), "network"), (E.ConfigError("x"), "usage"),
        (FileExistsError("x"), "file"), (RuntimeError("x"), "error"),
    ]
    for exc, cls in cases:
        assert exit_code_for(exc) == EXIT_CODES[cls], exc
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
