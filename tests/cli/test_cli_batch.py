"""``est batch``: many identities from a CSV or JSON-lines file, against the reference server in another process
(the session's ``est testserver``) or, for renewals of deliberately short-lived pairs, an in-process
EstTestServer. Progress is checked on a real pseudo-terminal (the ``pty`` module)."""
from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from est_cli_helpers import clean_env, est_command, run_est
from estclient.testing import EstTestServer


def _pair(cert_path, key_path):
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    return cert, key


def _csv(path, rows):
    path.write_text("name,subject,san_dns,san_ip,key_type,cert_out,key_out\n" + "".join(r + "\n" for r in rows))
    return path


def test_batch_enrolls_and_a_rerun_skips_what_is_done(testserver, tmp_path):
    ids = _csv(tmp_path / "devices.csv", [
        'dev-a,"CN=dev-a,O=Acme\\, Inc",a.example;a2.example,,,,',
        "dev-b,CN=dev-b,,10.0.0.2,ec-p384,certs/b.crt,keys/b.key",
        "dev-c,CN=dev-c,c.example,,rsa-2048,,",
        *[f"dev-{i},CN=dev-{i},,,,," for i in range(5)],
    ])
    (tmp_path / "certs").mkdir()
    (tmp_path / "keys").mkdir()
    r = run_est("batch", str(ids), *testserver.conn(), "--concurrency", "4", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "batch: 8 identities: 8 issued, 0 skipped, 0 failed" in r.stdout
    assert "\r" not in r.stderr  # no terminal: no progress bar
    cert, _ = _pair(tmp_path / "dev-a.pem", tmp_path / "dev-a.key")
    assert cert.subject.rfc4514_string() == "O=Acme\\, Inc,CN=dev-a"
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["a.example", "a2.example"]
    cert_b, key_b = _pair(tmp_path / "certs" / "b.crt", tmp_path / "keys" / "b.key")
    assert key_b.curve.name == "secp384r1"
    assert [str(a) for a in cert_b.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)] == ["10.0.0.2"]
    assert _pair(tmp_path / "dev-c.pem", tmp_path / "dev-c.key")[1].key_size == 2048
    before = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.suffix in (".pem", ".key", ".crt")}
    assert len(before) == 16

    # the rerun: every identity holds a valid pair -> nothing is sent, nothing rewritten
    r = run_est("batch", str(ids), *testserver.conn(), "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["total"], doc["issued"], doc["skipped"], doc["failed"]) == (8, 0, 8, 0)
    assert {i["status"] for i in doc["identities"]} == {"skipped"}
    after = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.suffix in (".pem", ".key", ".crt")}
    assert after == before


def test_batch_lists_failures_with_their_reasons_and_goes_on(testserver, tmp_path):
    ids = tmp_path / "ids.jsonl"
    (tmp_path / "stale.pem").write_text("not a certificate\n")
    lines = [
        {"name": "good-1", "cn": "good-1", "san_dns": ["g1.example"]},
        {"name": "nodir", "cn": "nodir", "cert_out": "missing/nodir.pem"},
        {"name": "stale", "cn": "stale"},
        {"name": "country", "subject": "CN=country,C=DEU"},
        {"name": "good-2", "subject": "CN=good-2"},
    ]
    ids.write_text("# identities of line 3\n" + "".join(json.dumps(x) + "\n" for x in lines))
    r = run_est("batch", str(ids), *testserver.conn(), timeout=120)
    assert r.returncode != 0
    assert "batch: 5 identities: 2 issued, 0 skipped, 3 failed" in r.stdout
    failed = r.stderr.split("failed:\n", 1)[1].splitlines()
    assert len(failed) == 3, r.stderr
    assert failed[0].startswith("  nodir (line 3): no such directory: ") and "missing" in failed[0]
    assert failed[1].startswith("  stale (line 4): ") and "does not hold a valid pair" in failed[1] \
        and "--force" in failed[1]
    assert failed[2] == "  country (line 5): bad request: ConfigError: country must be a two-letter code"
    assert (tmp_path / "stale.pem").read_text() == "not a certificate\n"  # not replaced without --force
    _pair(tmp_path / "good-1.pem", tmp_path / "good-1.key")
    _pair(tmp_path / "good-2.pem", tmp_path / "good-2.key")

    # --force replaces the stale file; the good ones are skipped, the others still fail
    r = run_est("batch", str(ids), *testserver.conn(), "--force", timeout=120)
    assert "batch: 5 identities: 1 issued, 2 skipped, 2 failed" in r.stdout, r.stderr
    _pair(tmp_path / "stale.pem", tmp_path / "stale.key")


def test_batch_server_refusal_is_listed(testserver, tmp_path):
    ids = _csv(tmp_path / "ids.csv", ["ok,CN=ok,,,,,", "nopw,CN=nopw,,,,,"])
    # no credentials at all: every identity gets the server's 401, each listed with the reason
    r = run_est("batch", str(ids), *testserver.conn(auth=False), timeout=120)
    assert r.returncode == 3, r.stderr  # all failures are authentication failures: that exit status
    assert "batch: 2 identities: 0 issued, 0 skipped, 2 failed" in r.stdout
    assert "  ok (line 2): AuthenticationRequired: EST server requires authentication" in r.stderr
    assert "  nopw (line 3): AuthenticationRequired:" in r.stderr
    assert not list(tmp_path.glob("*.key"))


def test_batch_progress_bar_on_a_terminal(testserver, tmp_path):
    ids = tmp_path / "ids.jsonl"
    ids.write_text("".join(json.dumps({"cn": f"tty-{i}"}) + "\n" for i in range(12)))
    master, slave = pty.openpty()
    proc = subprocess.Popen([*est_command(), "batch", str(ids), *testserver.conn(), "-c", "3"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=clean_env(), close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        for _ in range(100_000):  # bounded: read until the child closes the terminal
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child has exited and the slave side is closed
                break
            if not data:
                break
            chunks.append(data)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = b"".join(chunks).decode()
    assert rc == 0, text
    bars = [seg for seg in text.split("\r") if seg.startswith("[")]
    assert bars, text
    assert "0/12" in bars[0] and "12/12 100%" in bars[-1] and "issued 12" in bars[-1]
    assert bars[-1].startswith("[" + "#" * 30 + "]")
    assert "batch: 12 identities: 12 issued, 0 skipped, 0 failed" in text


def test_batch_renew_in_place_then_rerun_skips(tmp_path):
    with EstTestServer(auth=None) as srv, EstTestServer(auth=None) as other:
        (tmp_path / "ca.pem").write_bytes(srv.trust_anchor_pem)
        rows = []
        for i in range(4):
            cert_pem, key_pem = srv.issue_client_identity(f"fleet-{i}", lifetime=600, san_dns=[f"f{i}.example"])
            (tmp_path / f"fleet-{i}.pem").write_bytes(cert_pem)
            (tmp_path / f"fleet-{i}.key").write_bytes(key_pem)
            rows.append(f"fleet-{i},,,,,fleet-{i}.pem,fleet-{i}.key")
        cert_pem, key_pem = other.issue_client_identity("stranger", lifetime=600)  # another CA: refused
        (tmp_path / "stranger.pem").write_bytes(cert_pem)
        (tmp_path / "stranger.key").write_bytes(key_pem)
        rows.append("stranger,,,,,stranger.pem,stranger.key")
        rows.append("absent,,,,,absent.pem,absent.key")
        ids = _csv(tmp_path / "renew.csv", rows)
        conn = ["--server", srv.url, "--trust", str(tmp_path / "ca.pem")]
        old = {i: (tmp_path / f"fleet-{i}.key").read_bytes() for i in range(4)}
        r = run_est("batch", "--renew", "--threshold", "1d", str(ids), *conn, timeout=120)
        assert "batch: 6 identities: 4 renewed, 0 skipped, 2 failed" in r.stdout, r.stderr
        assert r.returncode != 0
        assert "  stranger (line 6): " in r.stderr and "  absent (line 7): cannot renew: cannot read" in r.stderr
        for i in range(4):
            cert, _ = _pair(tmp_path / f"fleet-{i}.pem", tmp_path / f"fleet-{i}.key")
            assert (tmp_path / f"fleet-{i}.key").read_bytes() != old[i]  # a new key
            assert cert.subject.rfc4514_string() == f"CN=fleet-{i}"
            assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 29  # the server's lifetime
        renewals = [x for x in srv.requests if x.operation == "simplereenroll" and x.status == 200]
        assert sorted(x.client_certificate_subject for x in renewals) == [f"CN=fleet-{i}" for i in range(4)]

        r = run_est("batch", "--renew", "--threshold", "1d", str(ids), *conn, timeout=120)
        assert "batch: 6 identities: 0 renewed, 4 skipped, 2 failed" in r.stdout, r.stderr
        assert len([x for x in srv.requests if x.operation == "simplereenroll" and x.status == 200]) == 4


def test_batch_bad_input_is_a_usage_error(testserver, tmp_path):
    cases = {
        "unknown.csv": ("name,cn,colour\nx,x,blue\n", "unknown.csv:2: unknown field 'colour'"),
        "dup.csv": ("name,cn\nx,a\nx,b\n", "dup.csv:3: the name 'x' is used twice"),
        "subj.csv": ("subject\nEMAIL=a@b\n", "subj.csv:2: subject part 'EMAIL=a@b' is not one of"),
        "bad.jsonl": ('{"cn": "a"}\n[1]\n', "bad.jsonl:2: not a JSON object"),
        "deep.jsonl": ("[" * 100_000 + "\n", "deep.jsonl:1: not a JSON object"),
        "broken.jsonl": ('{"cn": \n', "broken.jsonl:1: not a JSON object (Expecting value)"),
        "san.jsonl": ('{"cn": "a", "san_dns": [1]}\n', "san.jsonl:1: san_dns must be a string or a list"),
        "ktype.csv": ("cn,key_type\na,dsa-1024\n", "ktype.csv:2: unknown key_type 'dsa-1024'"),
        "empty.csv": ("name,cn\n", "empty.csv: no identities"),
        "same.csv": ("name,cn,cert_out\na,a,x.pem\nb,b,x.pem\n", "also named by 'a'"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content)
        r = run_est("batch", str(tmp_path / name), *testserver.conn(), timeout=60)
        assert r.returncode == 2, (name, r.stderr)
        assert message in r.stderr and r.stderr.count("\n") == 1, (name, r.stderr)
    r = run_est("batch", str(tmp_path / "dup.csv"), *testserver.conn(), "--concurrency", "0")
    assert r.returncode == 2 and "--concurrency must be at least 1" in r.stderr
    r = run_est("batch", str(tmp_path / "dup.csv"), *testserver.conn(), "--format", "der")
    assert r.returncode == 2 and "no --format der" in r.stderr
