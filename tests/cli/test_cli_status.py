"""``est status FILE`` (estclient.cli._status): expiry, chain and revocation of a certificate, against the reference
server's CRL and OCSP responder on loopback. The command is run through its own ``add_parser``/``run``, as the
``est`` parser registers it; ``python -m estclient.testing --revocation`` is run as a process."""
from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from estclient.cli import _status as _cli_status
from estclient.testing import EstTestServer


def status(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="est")
    _cli_status.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["status", *argv])
    return int(args.func(args))


@pytest.fixture(scope="module")
def srv():
    with EstTestServer(revocation=True, ca_intermediate=True) as server:
        yield server


@pytest.fixture
def files(srv, tmp_path):
    """The trust anchor, the intermediate, and a fresh certificate with its chain after it in one PEM file."""
    cert_pem, _ = srv.issue_client_identity("status-test")
    chain_pem = b"".join(c.public_bytes(Encoding.PEM) for c in srv.ca.intermediates)
    (tmp_path / "ca.pem").write_bytes(srv.trust_anchor_pem)
    (tmp_path / "chain.pem").write_bytes(chain_pem)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "fullchain.pem").write_bytes(cert_pem + chain_pem)
    return tmp_path, x509.load_pem_x509_certificate(cert_pem)


def test_good_certificate(files, capsys):
    d, _ = files
    assert status(str(d / "cert.pem"), "--trust", str(d / "ca.pem"), "--chain", str(d / "chain.pem")) == 0
    out = capsys.readouterr().out
    assert re.search(r"^validity\s+valid until .* \(29 days left\)", out, re.M)
    assert re.search(r"^chain\s+valid: CN=status-test <- CN=.*Issuing CA <- CN=", out, re.M)
    assert re.search(r"^revocation\s+good \(ocsp", out, re.M)


def test_revoked_certificate_fails_with_json(srv, files, capsys):
    d, cert = files
    srv.revoke(cert)
    for method in ("ocsp", "crl"):
        assert status(str(d / "fullchain.pem"), "--trust", str(d / "ca.pem"), "--json", "--revocation", method) == 1
        doc = json.loads(capsys.readouterr().out)
        assert doc["ok"] is False and doc["chain"]["state"] == "valid"
        assert doc["revocation"]["state"] == "revoked" and doc["revocation"]["method"] == method
        assert doc["revocation"]["reason"] == "keyCompromise"


def test_without_trust_the_chain_is_not_checked_but_revocation_is(files, capsys):
    d, _ = files
    assert status(str(d / "fullchain.pem")) == 0
    out = capsys.readouterr().out
    assert "not checked (no --trust)" in out and re.search(r"^revocation\s+good", out, re.M)
    assert status(str(d / "cert.pem")) == 0  # no issuer at hand: unknown, which --require-status refuses
    assert "issuer's certificate is not available" in capsys.readouterr().out
    assert status(str(d / "cert.pem"), "--require-status") == 1


def test_chain_to_the_wrong_anchor_fails(files, capsys):
    d, _ = files
    with EstTestServer() as other:
        (d / "other.pem").write_bytes(other.trust_anchor_pem)
        assert status(str(d / "fullchain.pem"), "--trust", str(d / "other.pem"), "--revocation", "off") == 1
    assert re.search(r"^chain\s+INVALID: ", capsys.readouterr().out, re.M)


def test_expired_certificate_fails(srv, tmp_path, capsys):
    cert_pem, _ = srv.issue_client_identity("expired", lifetime=-60)
    (tmp_path / "old.pem").write_bytes(cert_pem)
    assert status(str(tmp_path / "old.pem"), "--revocation", "off") == 1
    assert re.search(r"^validity\s+EXPIRED at ", capsys.readouterr().out, re.M)


def test_bad_crl_fails_and_unreachable_responder_is_a_network_failure(files, capsys):
    d, _ = files
    with EstTestServer(revocation=True) as server:
        cert_pem, _ = server.issue_client_identity("offline")
        (d / "offline.pem").write_bytes(cert_pem + server.trust_anchor_pem)
        server.revocation.faults = {"crl-bad-signature"}
        assert status(str(d / "offline.pem"), "--revocation", "crl") == 1
        assert "signature does not verify" in capsys.readouterr().out
        server.revocation.stop()
        assert status(str(d / "offline.pem"), "--timeout", "5") == 8
        assert re.search(r"^revocation\s+ERROR: OCSP: .*CRL: ", capsys.readouterr().out, re.M)


def test_testing_main_serves_revocation_and_revokes_over_http(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "estclient.testing", "--revocation", "--auth", "none",
                             "--ca-out", str(tmp_path / "ca.pem")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        for _ in range(40):  # the banner is a dozen lines
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops it" in line:
                break
        banner = "".join(lines)
        crl_url = re.search(r"^CRL\s+(http://127\.0\.0\.1:\d+/\S+)", banner, re.M).group(1)
        ocsp_url = re.search(r"^OCSP\s+(http://127\.0\.0\.1:\d+/ocsp)", banner, re.M).group(1)
        crl = x509.load_der_x509_crl(httpx.get(crl_url, trust_env=False).content)
        assert len(crl) == 0 and ocsp_url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
