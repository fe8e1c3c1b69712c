"""Issue 20: what a PKI operator expects of ``est`` — no silent surprises, proxies and headers. Each test runs
the real command against ``est testserver`` on loopback (and, for ``--proxy``, a CONNECT proxy on loopback)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from connect_proxy import ConnectProxy
from est_cli_helpers import REPO, clean_env, one_line_error, run_est

DEAD = "https://127.0.0.1:9"  # nothing listens there: a command that fails for another reason sent nothing


def _new_csr(path: Path, cn: str = "csr-file") -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    path.write_bytes(csr.public_bytes(serialization.Encoding.DER))


# ----------------------------------------------------------------------------------------- no silent surprises


def test_enroll_csr_is_parsed_and_its_signature_checked_before_anything_is_sent(testserver, tmp_path):
    good = tmp_path / "good.csr"
    _new_csr(good)
    broken = bytearray(good.read_bytes())
    broken[-3] ^= 0x55  # inside the signature
    (tmp_path / "broken.csr").write_bytes(bytes(broken))
    (tmp_path / "garbage.csr").write_bytes(b"hello, this is not a request\n")
    (tmp_path / "cert.csr").write_bytes(testserver.ca_file.read_bytes())
    for name, words in (("garbage.csr", "not a PKCS#10"), ("cert.csr", "not a PKCS#10"),
                        ("broken.csr", "signature does not verify")):
        r = run_est("enroll", "--server", DEAD, "--trust", str(testserver.ca_file), "--csr", str(tmp_path / name),
                    "--out", str(tmp_path / "x.pem"))
        line = one_line_error(r.stderr)
        assert r.returncode == 1 and name in line and words in line, r.stderr
    r = run_est("enroll", *testserver.conn(), "--csr", str(good), "--out", str(tmp_path / "good.pem"))
    assert r.returncode == 0, r.stderr


def test_use_key_with_key_out_copies_the_key(testserver, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "mine.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    r = run_est("enroll", *testserver.conn(), "--cn", "use-key", "--use-key", str(key_file), "--out",
                str(tmp_path / "c.pem"), "--key-out", str(tmp_path / "copy.key"))
    assert r.returncode == 0, r.stderr
    copy = serialization.load_pem_private_key((tmp_path / "copy.key").read_bytes(), None)
    assert copy.private_numbers() == key.private_numbers()
    assert (tmp_path / "copy.key").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate((tmp_path / "c.pem").read_bytes())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    # fullcmc wrapping a ready request: --key-out is a copy of --use-key as well
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "cmc-use-key")]))
           .sign(key, hashes.SHA256()))
    (tmp_path / "r.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    r = run_est("fullcmc", *testserver.conn(), "--csr", str(tmp_path / "r.csr"), "--use-key", str(key_file), "--out",
                str(tmp_path / "cmc.pem"), "--key-out", str(tmp_path / "cmc.key"))
    assert r.returncode == 0, r.stderr
    copy = serialization.load_pem_private_key((tmp_path / "cmc.key").read_bytes(), None)
    assert copy.private_numbers() == key.private_numbers()


def test_reenroll_refuses_a_new_subject(testserver, tmp_path):
    r = run_est("enroll", *testserver.conn(), "--cn", "keeps-name", "--out", str(tmp_path / "c.pem"), "--key-out",
                str(tmp_path / "k.pem"))
    assert r.returncode == 0, r.stderr
    ident = ["--cert", str(tmp_path / "c.pem"), "--key", str(tmp_path / "k.pem")]
    r = run_est("reenroll", *testserver.conn(), *ident, "--cn", "other", "--out", str(tmp_path / "n.pem"),
                "--key-out", str(tmp_path / "n.key"))
    assert r.returncode == 2 and "--cn" in one_line_error(r.stderr) and not (tmp_path / "n.pem").exists()
    r = run_est("reenroll", *testserver.conn(), *ident, "--cn", "keeps-name", "--out", str(tmp_path / "n.pem"),
                "--key-out", str(tmp_path / "n.key"))
    assert r.returncode == 0, r.stderr


def test_explicit_hash_is_kept_over_the_servers_csr_attributes_and_said(testserver, tmp_path):
    # the test server's /csrattrs asks for sha256
    r = run_est("enroll", *testserver.conn(), "--cn", "hash-384", "--hash", "sha384", "--out",
                str(tmp_path / "c.pem"), "--key-out", str(tmp_path / "k.pem"))
    assert r.returncode == 0, r.stderr
    assert "ask for hash sha256; keeping --hash sha384" in r.stderr
    r = run_est("csr", "--cn", "x", "--hash", "sha384", "--out", str(tmp_path / "x.csr"), "--key-out",
                str(tmp_path / "x.key"), "--from-server", *testserver.conn())
    assert r.returncode == 0, r.stderr
    csr = x509.load_pem_x509_csr((tmp_path / "x.csr").read_bytes())
    assert csr.signature_hash_algorithm.name == "sha384"


def test_out_dash_writes_to_stdout_in_the_format_asked(testserver, tmp_path):
    r = run_est("enroll", *testserver.conn(), "--cn", "to-stdout", "--out", "-", "--key-out", str(tmp_path / "k"))
    assert r.returncode == 0 and r.stdout.startswith("-----BEGIN CERTIFICATE-----"), r.stderr
    assert not (tmp_path / "-").exists()
    import subprocess

    from est_cli_helpers import est_command

    p = subprocess.run([*est_command(), "enroll", *testserver.conn(), "--cn", "der-out", "--format", "der", "--out",
                        "-", "--key-out", str(tmp_path / "k2")], capture_output=True, env=clean_env(), timeout=60)
    assert p.returncode == 0, p.stderr
    assert x509.load_der_x509_certificate(p.stdout).subject.rfc4514_string() == "CN=der-out"
    # every --out takes "-"; a key never goes to stdout
    r = run_est("csr", "--cn", "csr-out", "--out", "-", "--key-out", str(tmp_path / "k3"), cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("-----BEGIN CERTIFICATE REQUEST-----"), r.stderr
    r = run_est("cacerts", *testserver.conn(auth=False), "--out", "-", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("-----BEGIN CERTIFICATE-----"), r.stderr
    r = run_est("enroll", *testserver.conn(), "--cn", "k", "--out", str(tmp_path / "c4"), "--key-out", "-",
                cwd=tmp_path)
    assert r.returncode == 2 and "standard output" in r.stderr and "PRIVATE KEY" not in r.stdout
    assert not (tmp_path / "-").exists() and not (tmp_path / "c4").exists()


def test_trust_accepts_the_der_that_cacerts_writes(testserver, tmp_path):
    p7 = tmp_path / "ca.p7b"
    r = run_est("cacerts", *testserver.conn(auth=False), "--format", "der", "--out", str(p7))
    assert r.returncode == 0, r.stderr
    r = run_est("cacerts", "--server", testserver.url, "--trust", str(p7), "--select", "roots")
    assert r.returncode == 0 and "BEGIN CERTIFICATE" in r.stdout, r.stderr
    one = tmp_path / "one.der"
    one.write_bytes(x509.load_pem_x509_certificate(testserver.ca_file.read_bytes()).public_bytes(
        serialization.Encoding.DER))
    r = run_est("cacerts", "--server", testserver.url, "--trust", str(one))
    assert r.returncode == 0, r.stderr
    (tmp_path / "junk.der").write_bytes(b"\x01\x02")
    r = run_est("cacerts", "--server", DEAD, "--trust", str(tmp_path / "junk.der"))
    assert r.returncode in (2, 4) and "junk.der" in one_line_error(r.stderr)


def test_out_directory_is_refused_before_the_request(testserver, tmp_path):
    r = run_est("enroll", "--server", DEAD, "--trust", str(testserver.ca_file), "--cn", "d", "--out", str(tmp_path),
                "--key-out", str(tmp_path / "k.pem"), "--force")
    assert r.returncode == 9 and "is a directory" in one_line_error(r.stderr), r.stderr


def test_errors_name_the_file_and_the_host_and_port(testserver, tmp_path):
    r = run_est("enroll", "--server", testserver.url, "--trust", str(testserver.ca_file), "--cert",
                str(tmp_path / "nope.pem"), "--key", str(tmp_path / "nope.key"), "--cn", "x", "--out",
                str(tmp_path / "c"), "--key-out", str(tmp_path / "k"))
    assert r.returncode == 2 and "nope.pem" in one_line_error(r.stderr), r.stderr
    r = run_est("cacerts", "--server", DEAD, "--trust", str(testserver.ca_file))
    assert r.returncode == 8 and "127.0.0.1:9" in one_line_error(r.stderr), r.stderr
    r = run_est("cacerts", "--server", testserver.url, "--trust", str(tmp_path / ".." / "nope.pem"))
    assert r.returncode == 2 and "nope.pem" in one_line_error(r.stderr), r.stderr
    port = testserver.url.rsplit(":", 1)[1]
    wrong = tmp_path / "wrong.pem"  # a CA that did not issue the server's certificate
    wrong.write_bytes((REPO / "tests/vectors/asn1crypto/keys/test.crt").read_bytes())
    r = run_est("cacerts", "--server", testserver.url, "--trust", str(wrong))
    assert r.returncode == 4 and f"127.0.0.1:{port}" in one_line_error(r.stderr), r.stderr


def test_renew_prints_each_failure_once_and_max_retries_says_what_it_counts(testserver, tmp_path):
    r = run_est("enroll", *testserver.conn(), "--cn", "renew-once", "--out", str(tmp_path / "c.pem"), "--key-out",
                str(tmp_path / "k.pem"))
    assert r.returncode == 0, r.stderr
    r = run_est("renew", "--server", testserver.url, "--trust", str(tmp_path / "c.pem"), "--cert",
                str(tmp_path / "c.pem"), "--key", str(tmp_path / "k.pem"), "--threshold", "60d", "--max-retries", "1",
                "--retry-delay", "1s")
    assert r.returncode == 4, r.stderr
    reason = "self-signed certificate"  # --trust names the leaf, not the CA: every attempt fails the same way
    assert r.stderr.count(reason) == 2, r.stderr  # attempt 1 and attempt 2, once each
    assert one_line_error(r.stderr).startswith("est renew: error: all 2 attempts failed")
    h = run_est("renew", "--help")
    assert "retries after a failed first attempt: at most N+1 attempts" in " ".join(h.stdout.split())


def test_demo_ends_with_next_steps_and_keep_accepts_force(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "ca.pem").write_text("old")
    r = run_est("demo", "--keep", str(keep), timeout=180)
    assert r.returncode == 9 and "--force" in r.stderr
    r = run_est("demo", "--keep", str(keep), "--force", timeout=180)
    assert r.returncode == 0, r.stderr
    assert "next steps" in r.stdout and "est testserver" in r.stdout
    assert (keep / "ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")


# ----------------------------------------------------------------------------------------- network


def test_proxy_tunnels_every_connection_and_the_environment_is_used_only_when_asked(testserver, tmp_path):
    port = testserver.url.rsplit(":", 1)[1]
    with ConnectProxy(user="proxyuser", password="proxy-secret") as proxy:
        url = f"http://proxyuser:proxy-secret@127.0.0.1:{proxy.port}"
        r = run_est("enroll", *testserver.conn(), "--proxy", url, "--cn", "via-proxy", "--out",
                    str(tmp_path / "c.pem"), "--key-out", str(tmp_path / "k.pem"), "-v")
        assert r.returncode == 0, r.stderr
        assert proxy.targets and set(proxy.targets) == {f"127.0.0.1:{port}"}
        assert "proxy-secret" not in r.stderr and "proxy: http://<redacted>@127.0.0.1" in r.stderr
        n = len(proxy.targets)
        # the environment's proxy is ignored unless --proxy env asks for it
        env = clean_env(HTTPS_PROXY=url, https_proxy=url)
        r = run_est("cacerts", *testserver.conn(auth=False), env=env)
        assert r.returncode == 0 and len(proxy.targets) == n, r.stderr
        r = run_est("cacerts", *testserver.conn(auth=False), "--proxy", "env", env=env)
        assert r.returncode == 0 and len(proxy.targets) == n + 1, r.stderr
        r = run_est("cacerts", *testserver.conn(auth=False), "--proxy", "env",
                    env=clean_env(HTTPS_PROXY=url, NO_PROXY="127.0.0.1"))
        assert r.returncode == 0 and len(proxy.targets) == n + 1, r.stderr
        # the proxy from the config file
        cfg = tmp_path / "est.toml"
        cfg.write_text(f'proxy = "{url}"\n')
        r = run_est("cacerts", *testserver.conn(auth=False), "--config", str(cfg))
        assert r.returncode == 0 and len(proxy.targets) == n + 2, r.stderr
        # est batch (the async client) goes through it too
        (tmp_path / "ids.csv").write_text("name,cn\nproxied-1,proxied-1\n")
        r = run_est("batch", str(tmp_path / "ids.csv"), *testserver.conn(), "--proxy", url, "--progress", "never")
        assert r.returncode == 0 and len(proxy.targets) >= n + 3, r.stderr
        # wrong proxy credentials: a network-class failure naming the proxy, not the password
        bad = f"http://proxyuser:wrong@127.0.0.1:{proxy.port}"
        r = run_est("cacerts", *testserver.conn(auth=False), "--proxy", bad)
        assert r.returncode == 8 and "wrong" not in r.stderr and proxy.refused >= 1, r.stderr
    r = run_est("cacerts", *testserver.conn(auth=False), "--proxy", "https://127.0.0.1:1")
    assert r.returncode == 2 and "proxy" in one_line_error(r.stderr)


def test_headers_and_host_header_are_sent_and_credentials_are_redacted_in_debug(testserver, tmp_path):
    r = run_est("enroll", *testserver.conn(), "--cn", "hdr", "--header", "X-Request-Id: 42", "--header",
                "X-Tenant:acme", "--host-header", "est.example.com", "--out", str(tmp_path / "c.pem"), "--key-out",
                str(tmp_path / "k.pem"), "--debug")
    assert r.returncode == 0, r.stderr
    err = r.stderr.lower()
    assert ">   x-request-id: 42" in err and ">   x-tenant: acme" in err and ">   host: est.example.com" in err
    assert "authorization: basic <redacted>" in err
    assert testserver.password not in r.stderr
    token = base64.b64encode(f"{testserver.user}:{testserver.password}".encode()).decode()
    assert token not in r.stderr
    assert "tls tlsv1." in err and "server certificate [0]" in err and "sha-256" in err
    r = run_est("cacerts", *testserver.conn(auth=False), "--header", "Authorization: Basic x")
    assert r.returncode == 2 and "Authorization" in one_line_error(r.stderr)
    r = run_est("cacerts", *testserver.conn(auth=False), "--header", "no-colon")
    assert r.returncode == 2


def test_verbose_reports_what_was_decided(testserver):
    r = run_est("cacerts", *testserver.conn(auth=False), "-v", "--json")
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)  # diagnostics never mix into stdout
    assert "trust: explicit" in r.stderr and "channel binding: auto" in r.stderr
    assert "channel binding: not on this connection (TLS 1.3" in r.stderr or "carry its tls-unique" in r.stderr
    assert "> GET " in r.stderr and "< HTTP/1.1 200" in r.stderr


@pytest.mark.parametrize("command", ["enroll", "cacerts"])
def test_verbose_is_silent_without_the_flag(testserver, tmp_path, command):
    extra = ["--cn", "quiet", "--out", str(tmp_path / "c"), "--key-out", str(tmp_path / "k")] if command == "enroll" \
        else []
    r = run_est(command, *testserver.conn(), *extra)
    assert r.returncode == 0 and "est: *" not in r.stderr


def test_explicit_key_type_is_kept_over_the_servers_csr_attributes_and_said(tmp_path):
    from estclient.testing import EstTestServer

    with EstTestServer(auth=None, csr_attrs=["1.3.132.0.34"]) as srv:  # secp384r1: the server asks for P-384
        ca = tmp_path / "ca.pem"
        ca.write_bytes(srv.trust_anchor_pem)
        conn = ["--server", srv.url, "--trust", str(ca)]
        r = run_est("enroll", *conn, "--cn", "p256", "--key-type", "ec-p256", "--out", str(tmp_path / "a.pem"),
                    "--key-out", str(tmp_path / "a.key"))
        assert r.returncode == 0, r.stderr
        assert "ask for key type ec-p384; keeping --key-type ec-p256" in r.stderr
        cert = x509.load_pem_x509_certificate((tmp_path / "a.pem").read_bytes())
        assert cert.public_key().curve.name == "secp256r1"
        r = run_est("enroll", *conn, "--cn", "p384", "--out", str(tmp_path / "b.pem"), "--key-out",
                    str(tmp_path / "b.key"))
        assert r.returncode == 0 and "keeping" not in r.stderr, r.stderr
        cert = x509.load_pem_x509_certificate((tmp_path / "b.pem").read_bytes())
        assert cert.public_key().curve.name == "secp384r1"
