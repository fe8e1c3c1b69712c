"""Revocation of a whole certification path (RevocationChecker.check_chain, ``est status``, the agent's check): a
root, an intermediate CA and an end-entity certificate, each CA publishing a real CRL over HTTP on 127.0.0.1."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from estclient.errors import RevocationError
from estclient.revocation import RevocationChecker, check_chain_revocation

NOW = dt.datetime.now(dt.timezone.utc)


class _Pki:
    """root -> intermediate -> leaf; the intermediate's CRL distribution point is the root's CRL, the leaf's the
    intermediate's. ``revoked`` holds the serials each CA lists."""

    def __init__(self, base: str) -> None:
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.int_key = ec.generate_private_key(ec.SECP256R1())
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._cert("Chain Root", self.root_key, self.root_key, "Chain Root", ca=True, crl=None)
        self.intermediate = self._cert("Chain Issuing CA", self.int_key, self.root_key, "Chain Root", ca=True,
                                       crl=f"{base}/root.crl")
        self.leaf = self._cert("device-1", leaf_key, self.int_key, "Chain Issuing CA", ca=False,
                               crl=f"{base}/int.crl")
        self.base = base
        self.revoked: dict[str, set[int]] = {"root": set(), "int": set()}
        self.requests = 0

    @staticmethod
    def _cert(subject, key, signer, issuer, *, ca, crl):
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False))
        if ca:
            b = b.add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                              key_encipherment=False, data_encipherment=False, key_agreement=False,
                                              key_cert_sign=True, crl_sign=True, encipher_only=False,
                                              decipher_only=False), critical=True)
        if crl:
            b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(crl)], None, None, None)]), critical=False)
        return b.sign(signer, hashes.SHA256())

    def crl(self, which: str) -> bytes:
        issuer, key = (self.root, self.root_key) if which == "root" else (self.intermediate, self.int_key)
        b = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
             .last_update(NOW - dt.timedelta(minutes=5)).next_update(NOW + dt.timedelta(hours=1)))
        for serial in sorted(self.revoked[which]):
            b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial)
                                          .revocation_date(NOW - dt.timedelta(minutes=1)).build())
        return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    @property
    def path(self) -> list[x509.Certificate]:
        return [self.leaf, self.intermediate, self.root]


@pytest.fixture
def pki():
    """A PKI whose two CRLs are served on 127.0.0.1 (a port of its own), stopped after the test."""
    holder: dict[str, _Pki] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            p = holder["pki"]
            p.requests += 1
            which = {"/root.crl": "root", "/int.crl": "int"}.get(self.path)
            if which is None:
                self.send_error(404)
                return
            body = p.crl(which)
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    holder["pki"] = _Pki(f"http://127.0.0.1:{httpd.server_address[1]}")
    try:
        yield holder["pki"]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_every_certificate_but_the_anchor_is_checked(pki):
    with RevocationChecker(timeout=5) as checker:
        statuses = checker.check_chain(pki.path)
    assert [s.state.value for s in statuses] == ["good", "good"]
    assert [s.source for s in statuses] == [pki.leaf.extensions.get_extension_for_class(
        x509.CRLDistributionPoints).value[0].full_name[0].value, pki.intermediate.extensions.get_extension_for_class(
        x509.CRLDistributionPoints).value[0].full_name[0].value]
    assert pki.requests == 2


def test_a_revoked_intermediate_is_found(pki):
    pki.revoked["root"].add(pki.intermediate.serial_number)
    statuses = check_chain_revocation(pki.path, timeout=5)
    assert [s.state.value for s in statuses] == ["good", "revoked"]


def test_the_list_stops_at_a_revoked_end_entity(pki):
    pki.revoked["int"].add(pki.leaf.serial_number)
    pki.revoked["root"].add(pki.intermediate.serial_number)
    statuses = check_chain_revocation(pki.path, timeout=5)
    assert [s.state.value for s in statuses] == ["revoked"] and pki.requests == 1


def test_an_error_on_a_ca_certificate_names_it(pki):
    # the intermediate (same key, so the leaf still verifies) names a distribution point that answers 404: an
    # error that names the CA certificate, never good
    moved = _Pki._cert("Chain Issuing CA", pki.int_key, pki.root_key, "Chain Root", ca=True,
                       crl=f"{pki.base}/nothing.crl")
    with pytest.raises(RevocationError, match="CA certificate CN=Chain Issuing CA"):
        check_chain_revocation([pki.leaf, moved, pki.root], timeout=5)


def test_est_status_reports_the_chain(pki, tmp_path):
    (tmp_path / "leaf.pem").write_bytes(pki.leaf.public_bytes(serialization.Encoding.PEM)
                                        + pki.intermediate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    cmd = [sys.executable, "-m", "estclient", "status", str(tmp_path / "leaf.pem"), "--trust",
           str(tmp_path / "root.pem"), "--revocation", "crl", "--json"]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert '"chain_revocation"' in ok.stdout and '"revoked"' not in ok.stdout
    pki.revoked["root"].add(pki.intermediate.serial_number)
    bad = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "CA           CN=Chain Issuing CA: revoked" in bad.stdout


def test_agent_renews_when_an_intermediate_is_revoked(pki, tmp_path, caplog):
    """The agent's [renewal] check_revocation builds the path from the certificate file and [trust] anchors and
    checks the intermediate too: revoked there means renew now."""
    from types import SimpleNamespace

    from estclient.agent import _RevocationHook

    (tmp_path / "root.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    cfg = SimpleNamespace(trust=SimpleNamespace(anchors=str(tmp_path / "root.pem")))
    identity = SimpleNamespace(cert_pem=pki.leaf.public_bytes(serialization.Encoding.PEM)
                               + pki.intermediate.public_bytes(serialization.Encoding.PEM))
    hook = _RevocationHook(cfg)  # type: ignore[arg-type]
    try:
        assert hook(identity) is False
        assert pki.requests == 2  # the leaf's CRL and the root's
    finally:
        hook.close()
    pki.revoked["root"].add(pki.intermediate.serial_number)
    hook = _RevocationHook(cfg)  # type: ignore[arg-type]  (a new one: the first keeps its CRLs until nextUpdate)
    try:
        with caplog.at_level("WARNING", logger="estclient.agent"):
            assert hook(identity) is True
    finally:
        hook.close()
    assert any("CA certificate CN=Chain Issuing CA revoked" in r.getMessage() for r in caplog.records)
