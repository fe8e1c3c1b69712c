"""The real ``est`` console script against ``est testserver`` in another process: every EST operation, files
(atomic, keys 0600, no overwrite without --force), and one exit status per failure class."""
from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from est_cli_helpers import KEK_HEX, KEK_ID, clean_env, one_line_error, run_est


def load_cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificates(data)[0]
    return x509.load_der_x509_certificate(data)


def load_key(path: Path):
    data = path.read_bytes()
    if data.startswith(b"-----BEGIN"):
        return serialization.load_pem_private_key(data, password=None)
    return serialization.load_der_private_key(data, password=None)


def spki(obj) -> bytes:
    key = obj.public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ca_cert(srv) -> x509.Certificate:
    return x509.load_pem_x509_certificate(srv.ca_file.read_bytes())


def assert_issued_by_ca(cert: x509.Certificate, srv) -> None:
    cert.verify_directly_issued_by(ca_cert(srv))


def enroll(srv, tmp: Path, name: str, *extra: str) -> tuple[Path, Path]:
    cert, key = tmp / f"{name}.pem", tmp / f"{name}.key"
    r = run_est("enroll", *srv.conn(), "--cn", name, "--out", str(cert), "--key-out", str(key), *extra)
    assert r.returncode == 0, r.stderr
    return cert, key


# ----------------------------------------------------------------------------------------------- cacerts


def test_cacerts_bootstrap_by_fingerprint(testserver, tmp_path):
    out = tmp_path / "cacerts.pem"
    r = run_est("cacerts", "--server", testserver.url, "--bootstrap-fingerprint", testserver.fingerprint,
                "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == testserver.ca_file.read_bytes()
    assert "[root]" in r.stdout


def test_cacerts_stdout_der_split_and_select(testserver, tmp_path):
    r = run_est("cacerts", *testserver.conn(auth=False))
    assert r.returncode == 0, r.stderr
    assert x509.load_pem_x509_certificates(r.stdout.encode()) == [ca_cert(testserver)]
    outdir = tmp_path / "split"
    outdir.mkdir()
    r = run_est("cacerts", *testserver.conn(auth=False), "--out-dir", str(outdir), "--format", "der",
                "--select", "roots")
    assert r.returncode == 0, r.stderr
    files = sorted(outdir.iterdir())
    assert len(files) == 1 and "-root-" in files[0].name
    assert x509.load_der_x509_certificate(files[0].read_bytes()) == ca_cert(testserver)
    # a certs-only PKCS#7 in DER, as the server sent it
    p7 = tmp_path / "ca.p7b"
    r = run_est("cacerts", *testserver.conn(auth=False), "--out", str(p7), "--format", "der")
    assert r.returncode == 0, r.stderr
    from cryptography.hazmat.primitives.serialization import pkcs7

    assert pkcs7.load_der_pkcs7_certificates(p7.read_bytes()) == [ca_cert(testserver)]
    # the test CA has no intermediates: asking for them is a server-side shortfall
    r = run_est("cacerts", *testserver.conn(auth=False), "--select", "intermediates")
    assert r.returncode == 5
    # DER is never dumped on a terminal
    r = run_est("cacerts", *testserver.conn(auth=False), "--format", "der")
    assert r.returncode == 2


def test_cacerts_json(testserver):
    r = run_est("cacerts", *testserver.conn(auth=False), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["count"] == 1 and doc["certificates"][0]["role"] == "root"
    assert doc["certificates"][0]["sha256_fingerprint"] == testserver.fingerprint


def test_bootstrap_wrong_fingerprint_is_tls_class(testserver):
    r = run_est("cacerts", "--server", testserver.url, "--bootstrap-fingerprint", "00" * 32)
    assert r.returncode == 4
    assert "fingerprint" in one_line_error(r.stderr)


# ----------------------------------------------------------------------------------------------- csrattrs


def test_csrattrs_readable_and_json(testserver, tmp_path):
    r = run_est("csrattrs", *testserver.conn(auth=False))
    assert r.returncode == 0, r.stderr
    assert "EST CSR attributes" in r.stdout and "sha256" in r.stdout
    out = tmp_path / "attrs.der"
    r = run_est("csrattrs", *testserver.conn(auth=False), "--json", "--out", str(out), "--format", "der")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "csr-attributes" and doc["items"] == ["sha256 (2.16.840.1.101.3.4.2.1)"]
    from estcodec.csrattrs import CsrAttrs

    assert CsrAttrs.from_der(out.read_bytes()).oids == ["2.16.840.1.101.3.4.2.1"]


# ----------------------------------------------------------------------------------------------- enroll


def test_enroll_writes_cert_and_0600_key(testserver, tmp_path):
    cert_path, key_path = enroll(testserver, tmp_path, "device-1", "--san-dns", "device-1.example",
                                 "--key-type", "ec-p384")
    cert, key = load_cert(cert_path), load_key(key_path)
    assert mode(key_path) == 0o600
    assert mode(cert_path) == 0o644
    assert spki(cert) == spki(key)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"
    assert cert.subject.rfc4514_string() == "CN=device-1"
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["device-1.example"]
    assert_issued_by_ca(cert, testserver)
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device-1.key", "device-1.pem"]


def test_enroll_der_and_json_and_stdout(testserver, tmp_path):
    key = tmp_path / "k.der"
    r = run_est("enroll", *testserver.conn(), "--cn", "json-dev", "--key-out", str(key), "--format", "der",
                "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["operation"] == "enroll" and doc["certificate"]["subject"] == "CN=json-dev"
    cert = x509.load_pem_x509_certificate(doc["certificate_pem"].encode())
    assert spki(cert) == spki(load_key(key)) and mode(key) == 0o600
    # without --out and --json the certificate PEM is the whole of stdout
    key2 = tmp_path / "k2.pem"
    r = run_est("enroll", *testserver.conn(), "--cn", "stdout-dev", "--key-out", str(key2))
    assert r.returncode == 0, r.stderr
    assert spki(x509.load_pem_x509_certificate(r.stdout.encode())) == spki(load_key(key2))


def test_enroll_with_ready_csr(testserver, tmp_path):
    csr, key = tmp_path / "req.pem", tmp_path / "req.key"
    r = run_est("csr", "--cn", "from-csr", "--san-ip", "192.0.2.7", "--out", str(csr), "--key-out", str(key))
    assert r.returncode == 0, r.stderr
    assert mode(key) == 0o600
    out = tmp_path / "from-csr.pem"
    r = run_est("enroll", *testserver.conn(), "--csr", str(csr), "--out", str(out))
    assert r.returncode == 0, r.stderr
    cert = load_cert(out)
    assert spki(cert) == spki(load_key(key))
    assert cert.subject.rfc4514_string() == "CN=from-csr"


def test_csr_from_server_attributes(testserver, tmp_path):
    csr, key = tmp_path / "r.der", tmp_path / "r.key"
    r = run_est("csr", *testserver.conn(auth=False), "--from-server", "--cn", "x", "--out", str(csr),
                "--key-out", str(key), "--format", "der", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "csr" and doc["signature_valid"] is True
    req = x509.load_der_x509_csr(csr.read_bytes())
    assert req.is_signature_valid and spki(req) == spki(load_key(key))


def test_no_overwrite_without_force(testserver, tmp_path):
    cert_path, key_path = enroll(testserver, tmp_path, "keep-me")
    before = cert_path.read_bytes(), key_path.read_bytes()
    r = run_est("enroll", *testserver.conn(), "--cn", "keep-me", "--out", str(cert_path), "--key-out",
                str(key_path))
    assert r.returncode == 9
    assert "--force" in one_line_error(r.stderr)
    assert (cert_path.read_bytes(), key_path.read_bytes()) == before
    r = run_est("enroll", *testserver.conn(), "--cn", "keep-me", "--out", str(cert_path), "--key-out",
                str(key_path), "--force")
    assert r.returncode == 0, r.stderr
    assert cert_path.read_bytes() != before[0] and key_path.read_bytes() != before[1]
    assert mode(key_path) == 0o600
    assert spki(load_cert(cert_path)) == spki(load_key(key_path))


# ----------------------------------------------------------------------------------------------- reenroll


def test_reenroll_with_new_identity(testserver, tmp_path):
    cert_path, key_path = enroll(testserver, tmp_path, "renew-me", "--san-dns", "renew-me.example")
    old = load_cert(cert_path)
    new_cert, new_key = tmp_path / "renewed.pem", tmp_path / "renewed.key"
    # no HTTP credentials: the TLS client certificate authenticates the re-enrollment
    r = run_est("reenroll", *testserver.conn(auth=False), "--cert", str(cert_path), "--key", str(key_path),
                "--out", str(new_cert), "--key-out", str(new_key))
    assert r.returncode == 0, r.stderr
    cert = load_cert(new_cert)
    assert cert.subject == old.subject and cert.serial_number != old.serial_number
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value == \
        old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert spki(cert) == spki(load_key(new_key)) != spki(old)
    assert mode(new_key) == 0o600
    assert_issued_by_ca(cert, testserver)
    # renewing in place (the usual cron job) needs --force, and keeps the pair consistent
    r = run_est("reenroll", *testserver.conn(auth=False), "--cert", str(new_cert), "--key", str(new_key),
                "--out", str(new_cert), "--key-out", str(new_key), "--force")
    assert r.returncode == 0, r.stderr
    assert spki(load_cert(new_cert)) == spki(load_key(new_key)) and mode(new_key) == 0o600


def test_reenroll_needs_identity(testserver):
    r = run_est("reenroll", *testserver.conn(), "--key-out", "/nonexistent/x.key")
    assert r.returncode == 2


# ----------------------------------------------------------------------------------------------- serverkeygen


def test_serverkeygen_encrypted_to_kek(testserver, tmp_path):
    kek = tmp_path / "kek.hex"
    kek.write_text(KEK_HEX + "\n")
    cert_path, key_path = tmp_path / "sk.pem", tmp_path / "sk.key"
    r = run_est("serverkeygen", *testserver.conn(), "--cn", "server-made", "--kek-id", KEK_ID, "--kek-file",
                str(kek), "--out", str(cert_path), "--key-out", str(key_path))
    assert r.returncode == 0, r.stderr
    assert "decrypted locally" in r.stdout
    assert mode(key_path) == 0o600
    assert spki(load_cert(cert_path)) == spki(load_key(key_path))
    assert_issued_by_ca(load_cert(cert_path), testserver)


def test_serverkeygen_encrypted_to_client_certificate(testserver, tmp_path):
    holder_cert, holder_key = enroll(testserver, tmp_path, "holder", "--key-usage", "digital_signature",
                                     "--key-usage", "key_agreement")
    cert_path, key_path = tmp_path / "sk2.pem", tmp_path / "sk2.key"
    r = run_est("serverkeygen", *testserver.conn(auth=False), "--cert", str(holder_cert), "--key",
                str(holder_key), "--encrypt-to-cert", "--cn", "for-holder", "--out", str(cert_path),
                "--key-out", str(key_path), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert "encrypted to the client certificate" in doc["private_key"]
    assert spki(load_cert(cert_path)) == spki(load_key(key_path)) != spki(load_key(holder_key))


def test_serverkeygen_plain(testserver, tmp_path):
    key_path = tmp_path / "plain.key"
    r = run_est("serverkeygen", *testserver.conn(), "--cn", "plain", "--key-type", "rsa-2048", "--key-out",
                str(key_path))
    assert r.returncode == 0, r.stderr
    cert = x509.load_pem_x509_certificate(r.stdout.encode())
    assert spki(cert) == spki(load_key(key_path)) and load_key(key_path).key_size == 2048


# ----------------------------------------------------------------------------------------------- fullcmc


def test_fullcmc_and_show_response(testserver, tmp_path):
    cert_path, key_path, resp = tmp_path / "cmc.pem", tmp_path / "cmc.key", tmp_path / "resp.der"
    r = run_est("fullcmc", *testserver.conn(), "--cn", "cmc-client", "--out", str(cert_path), "--key-out",
                str(key_path), "--response-out", str(resp))
    assert r.returncode == 0, r.stderr
    assert "cmc status: success" in r.stdout and "signature verified: yes" in r.stdout
    cert = load_cert(cert_path)
    assert spki(cert) == spki(load_key(key_path)) and mode(key_path) == 0o600
    assert_issued_by_ca(cert, testserver)
    # the Full PKI Response as the server sent it, read back offline
    r = run_est("show", str(resp), "--json", "--trust", str(testserver.ca_file))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "pki-response" and doc["signed"] is True and doc["signature_verified"] is True
    assert doc["status"] == "success" and doc["statuses"][0]["status"] == "success"
    assert "CN=cmc-client" in [c["subject"] for c in doc["certificates"]]


# ----------------------------------------------------------------------------------------------- failure classes


def test_wrong_password_is_auth_class(testserver, tmp_path):
    secret = "wrong-" + testserver.password
    r = run_est("enroll", "--server", testserver.url, "--trust", str(testserver.ca_file), "--user",
                testserver.user, f"--password={secret}", "--cn", "x", "--key-out", str(tmp_path / "x.key"))
    assert r.returncode == 3
    line = one_line_error(r.stderr)
    assert "credentials" in line and secret not in r.stderr + r.stdout
    assert not (tmp_path / "x.key").exists()  # nothing written on failure


def test_password_file_is_read_as_every_password_file(testserver, tmp_path):
    """--password-file follows the one rule of password files (estclient.keys.read_password, as the key and
    config-file passwords): the first line counts, an empty one is refused, and the password is never shown."""
    two_lines = tmp_path / "pw2"
    two_lines.write_text(testserver.password + "\r\nsecond line, ignored\n")
    r = run_est("enroll", "--server", testserver.url, "--trust", str(testserver.ca_file), "--user",
                testserver.user, "--password-file", str(two_lines), "--cn", "pw-first-line",
                "--key-out", str(tmp_path / "p.key"))
    assert r.returncode == 0, r.stderr
    empty = tmp_path / "pw0"
    empty.write_text("\nnot the first line\n")
    r = run_est("enroll", "--server", testserver.url, "--trust", str(testserver.ca_file), "--user",
                testserver.user, "--password-file", str(empty), "--cn", "pw-empty", "--key-out", str(tmp_path / "q.key"))
    assert r.returncode == 2 and "empty" in one_line_error(r.stderr)
    assert "not the first line" not in r.stderr + r.stdout and not (tmp_path / "q.key").exists()


def test_no_credentials_is_auth_class(testserver, tmp_path):
    r = run_est("enroll", *testserver.conn(auth=False), "--cn", "x", "--key-out", str(tmp_path / "x.key"))
    assert r.returncode == 3


def test_wrong_trust_is_tls_class(testserver, tmp_path):
    # a CA that did not sign the server's certificate
    import datetime

    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "some other CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .sign(key, hashes.SHA256()))
    wrong = tmp_path / "other-ca.pem"
    wrong.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    r = run_est("enroll", "--server", testserver.url, "--trust", str(wrong), "--user", testserver.user,
                f"--password={testserver.password}", "--cn", "x", "--key-out", str(tmp_path / "x.key"))
    assert r.returncode == 4
    assert "certificate" in one_line_error(r.stderr)


def test_server_refusal_is_server_class(testserver):
    r = run_est("cacerts", *testserver.conn(auth=False), "--label", "noSuchLabel")
    assert r.returncode == 5
    assert "404" in one_line_error(r.stderr)


def test_connection_refused_is_network_class():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_est("cacerts", "--server", f"https://127.0.0.1:{port}", "--bootstrap-fingerprint", "00" * 32,
                "--timeout", "5")
    assert r.returncode == 8


def test_usage_errors():
    r = run_est("cacerts")  # no server anywhere
    assert r.returncode == 2 and "--server" in one_line_error(r.stderr)
    r = run_est("enroll", "--server", "https://127.0.0.1:1", "--cn", "x")  # a new key with nowhere to go
    assert r.returncode == 2 and "--key-out" in one_line_error(r.stderr)
    r = run_est("enroll", "--no-such-flag")
    assert r.returncode == 2


def test_help_documents_exit_codes():
    r = run_est("--help")
    assert r.returncode == 0
    for code, word in ((3, "authentication"), (4, "TLS"), (5, "server"), (6, "protocol"), (7, "pending"),
                       (8, "network"), (9, "exists")):
        assert any(line.strip().startswith(str(code)) and word.lower() in line.lower()
                   for line in r.stdout.splitlines()), (code, word)


# ----------------------------------------------------------------------------------------------- 202 waiting


def test_pending_shows_progress_then_succeeds(pending_server, tmp_path):
    cert_path, key_path = tmp_path / "p.pem", tmp_path / "p.key"
    r = run_est("enroll", *pending_server.conn(), "--cn", "patient", "--out", str(cert_path), "--key-out",
                str(key_path), "--max-wait", "30")
    assert r.returncode == 0, r.stderr
    assert "pending (HTTP 202)" in r.stderr and "next try in 1s" in r.stderr and "left of --max-wait" in r.stderr
    assert spki(load_cert(cert_path)) == spki(load_key(key_path))


def test_pending_timeout_class(pending_server, tmp_path):
    r = run_est("enroll", *pending_server.conn(), "--cn", "impatient", "--key-out", str(tmp_path / "i.key"),
                "--max-wait", "0")
    assert r.returncode == 7
    assert "pending" in one_line_error(r.stderr)
    assert not (tmp_path / "i.key").exists()


# ----------------------------------------------------------------------------------------------- configuration


def test_environment_and_config_file(testserver, tmp_path):
    env = clean_env(EST_SERVER=testserver.est_url, EST_TRUST=str(testserver.ca_file), EST_USER=testserver.user,
                    EST_PASSWORD=testserver.password)
    r = run_est("enroll", "--cn", "from-env", "--key-out", str(tmp_path / "e.key"), env=env)
    assert r.returncode == 0, r.stderr
    # flags win over the environment
    bad = dict(env, EST_PASSWORD="nope")
    r = run_est("enroll", "--cn", "flag-wins", f"--password={testserver.password}", "--key-out",
                str(tmp_path / "f.key"), env=bad)
    assert r.returncode == 0, r.stderr
    r = run_est("enroll", "--cn", "flag-wins-2", "--password", "nope", "--key-out", str(tmp_path / "g.key"), env=env)
    assert r.returncode == 3
    # a TOML file with a relative trust path and a password file; the environment wins over it
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "ca.pem").write_bytes(testserver.ca_file.read_bytes())
    (conf_dir / "pw").write_text(testserver.password + "\n")
    (conf_dir / "est.toml").write_text(
        f'server = "{testserver.url}"\ntrust = "ca.pem"\nuser = "{testserver.user}"\npassword_file = "pw"\n')
    r = run_est("enroll", "--config", str(conf_dir / "est.toml"), "--cn", "from-toml", "--key-out",
                str(tmp_path / "t.key"))
    assert r.returncode == 0, r.stderr
    r = run_est("enroll", "--cn", "env-over-toml", "--key-out", str(tmp_path / "u.key"),
                env=clean_env(EST_CONFIG=str(conf_dir / "est.toml"), EST_PASSWORD="nope"))
    assert r.returncode == 3
    (conf_dir / "bad.toml").write_text('servr = "x"\n')
    r = run_est("cacerts", "--config", str(conf_dir / "bad.toml"))
    assert r.returncode == 2 and "servr" in one_line_error(r.stderr)


def test_malformed_answer_is_protocol_class(tmp_path):
    """A server that answers /cacerts with 200 and a body that is no PKCS#7: protocol class (6)."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address(
                "127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "srv.pem", tmp_path / "srv.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))

    class Garbage(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"this is not base64 of a PKCS#7 message"
            self.send_response(200)
            self.send_header("Content-Type", "application/pkcs7-mime")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        r = run_est("cacerts", "--server", f"https://127.0.0.1:{httpd.server_address[1]}", "--trust",
                    str(cert_file))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.returncode == 6, r.stderr
    assert "cacerts response" in one_line_error(r.stderr)
