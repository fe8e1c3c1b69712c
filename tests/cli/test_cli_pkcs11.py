"""Token keys through the ``est`` command (issue #18), against SoftHSM2 and ``est testserver`` on loopback.

A SoftHSM2 token is made in a temporary folder (its own ``SOFTHSM2_CONF``) once per module; every ``est`` run
gets that configuration and the module path in its environment, the PIN in a file (``--pin-file``). What is on the
token is read by a separate Python process (a PKCS#11 module reads its configuration once per process, and
another test module may have loaded SoftHSM2 with its own token). Without softhsm2 or python-pkcs11 the tests
skip; under EST_REQUIRE_PEERS=1 (as ``.ci/run`` sets) they fail instead.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from est_cli_helpers import clean_env, one_line_error, run_est, start_testserver, stop_testserver

REQUIRE_PEERS = os.environ.get("EST_REQUIRE_PEERS") == "1"
MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")
PIN = "4321"
TOKEN = "est-cli"

# Lists the objects of the token (class, label, id; for private keys CKA_EXTRACTABLE and CKA_SENSITIVE) and, for
# a URI given, the SubjectPublicKeyInfo of the key it names; JSON on stdout.
_INSPECT = r"""
import json, sys
import pkcs11
from cryptography.hazmat.primitives import serialization
from estclient import keys
lib = pkcs11.lib(sys.argv[1])
with lib.get_token(token_label=sys.argv[2]).open(user_pin=sys.argv[3]) as s:
    objs = []
    for o in s.get_objects():
        cls = int(o[pkcs11.Attribute.CLASS])
        item = {"class": cls, "label": o[pkcs11.Attribute.LABEL], "id": bytes(o[pkcs11.Attribute.ID]).hex()}
        if cls == int(pkcs11.ObjectClass.PRIVATE_KEY):
            item["extractable"] = bool(o[pkcs11.Attribute.EXTRACTABLE])
            item["sensitive"] = bool(o[pkcs11.Attribute.SENSITIVE])
        objs.append(item)
out = {"objects": sorted(objs, key=lambda i: (i["class"], i["label"], i["id"]))}
if len(sys.argv) > 4:
    signer = keys.load_key(sys.argv[4], pin=sys.argv[3])
    der = signer.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out["spki"] = der.hex()
    signer.close()
print(json.dumps(out))
"""
CERTIFICATE, PRIVATE_KEY = 1, 3  # CKO_CERTIFICATE, CKO_PRIVATE_KEY


def _skip_or_fail(msg: str) -> None:
    if REQUIRE_PEERS:
        pytest.fail(msg + " (EST_REQUIRE_PEERS is set)")
    pytest.skip(msg)


class Token:
    """The test token: its module, the environment for ``est`` runs and a PIN file."""

    def __init__(self, module: str, conf: Path, pin_file: Path) -> None:
        self.module = module
        self.conf = conf
        self.pin_file = pin_file
        self.env = clean_env(SOFTHSM2_CONF=str(conf), EST_PKCS11_MODULE=module)

    def uri(self, label: str) -> str:
        return f"pkcs11:token={TOKEN};object={label}"

    def inspect(self, uri: str | None = None) -> dict[str, Any]:
        args = [sys.executable, "-c", _INSPECT, self.module, TOKEN, PIN] + ([uri] if uri else [])
        res = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        doc: dict[str, Any] = json.loads(res.stdout)
        return doc

    def objects(self, label: str) -> list[dict[str, Any]]:
        return [o for o in self.inspect()["objects"] if o["label"] == label]


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Token]:
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        _skip_or_fail("python-pkcs11 is not installed")
    tool = shutil.which("softhsm2-util")
    if tool is None:
        _skip_or_fail("peer program missing: softhsm2-util")
    module = next((p for p in MODULE_CANDIDATES if os.path.exists(p)), None)
    if module is None:
        _skip_or_fail("SoftHSM2's PKCS#11 module (Debian package softhsm2) is not installed")
    base = tmp_path_factory.mktemp("softhsm-cli")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    pin_file = base / "pin"
    pin_file.write_text(PIN + "\n")
    env = clean_env(SOFTHSM2_CONF=str(conf))
    res = subprocess.run([str(tool), "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin",
                          "87654321"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    yield Token(str(module), conf, pin_file)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``est testserver`` that also lets HTTP credentials authenticate /simplereenroll (for token keys)."""
    srv = start_testserver(tmp_path_factory.mktemp("p11-server"), "--reenroll-with-credentials")
    yield srv
    assert stop_testserver(srv) == 0


def _spki(cert: x509.Certificate) -> str:
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo).hex()


def _est(token: Token, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_est(*args, cwd=cwd, env=token.env, timeout=120)


@pytest.mark.parametrize("key_type", ["ec-p256", "rsa-2048"])
def test_enroll_with_a_key_generated_on_the_token(token: Token, server: Any, tmp_path: Path, key_type: str) -> None:
    label = f"enroll-{key_type}"
    res = _est(token, "enroll", *server.conn(), "--cn", f"device-{key_type}", "--key-out", token.uri(label),
               "--key-type", key_type, "--pin-file", str(token.pin_file), "--store-cert-on-token", "--out", "dev.pem",
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(os.listdir(tmp_path)) == ["dev.pem"], "only the certificate is written: the key stays on the token"
    cert = x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes())
    seen = token.inspect(token.uri(label))
    assert seen["spki"] == _spki(cert), "the certificate is for the token's key"
    keys_ = [o for o in seen["objects"] if o["label"] == label and o["class"] == PRIVATE_KEY]
    assert len(keys_) == 1 and keys_[0]["extractable"] is False and keys_[0]["sensitive"] is True
    assert [o for o in seen["objects"] if o["label"] == label and o["class"] == CERTIFICATE], "--store-cert-on-token"
    assert "token" in res.stdout and PIN not in res.stdout + res.stderr


def test_reenroll_and_renew_on_the_token_with_http_credentials(token: Token, server: Any, tmp_path: Path) -> None:
    """The token key cannot be the TLS client key: reenroll and renew authenticate with HTTP credentials (the
    server's reenroll_with_credentials) and say so."""
    label = "renew-me"
    pin = ["--pin-file", str(token.pin_file)]
    res = _est(token, "enroll", *server.conn(), "--cn", "renew-me", "--san-dns", "renew.example", "--key-out",
               token.uri(label), *pin, "--out", "cur.pem", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    first = x509.load_pem_x509_certificate((tmp_path / "cur.pem").read_bytes())

    # reenroll: the current key on the token, the new one made there under another label
    res = _est(token, "reenroll", *server.conn(), "--cert", "cur.pem", "--key", token.uri(label), *pin,
               "--key-out", token.uri("renew-me-2"), "--out", "next.pem", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "HTTP credentials" in res.stderr
    second = x509.load_pem_x509_certificate((tmp_path / "next.pem").read_bytes())
    assert second.subject == first.subject and second.serial_number != first.serial_number
    assert token.inspect(token.uri("renew-me-2"))["spki"] == _spki(second)

    # renew: a new key under the same label, the old pair removed only after the new certificate is stored
    old_ids = {o["id"] for o in token.objects(label)}
    res = _est(token, "renew", *server.conn(), "--cert", "cur.pem", "--key", token.uri(label), *pin,
               "--threshold", "31d", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    renewed = x509.load_pem_x509_certificate((tmp_path / "cur.pem").read_bytes())
    assert renewed.serial_number != first.serial_number and renewed.subject == first.subject
    objs = token.objects(label)
    assert not old_ids & {o["id"] for o in objs}, "the old pair is gone"
    assert {o["class"] for o in objs} >= {CERTIFICATE, PRIVATE_KEY}
    assert token.inspect(token.uri(label))["spki"] == _spki(renewed)

    # without HTTP credentials: what cannot work is said, with the routes that do
    res = _est(token, "reenroll", *server.conn(auth=False), "--cert", "cur.pem", "--key", token.uri(label), *pin,
               "--key-out", token.uri("never"), "--out", "never.pem", cwd=tmp_path)
    assert res.returncode == 2
    line = one_line_error(res.stderr)
    assert "TLS client key" in line and "HTTP credentials" in line and "docs/hardware-keys.md" in line
    assert not (tmp_path / "never.pem").exists() and token.objects("never") == []
    res = _est(token, "enroll", *server.conn(), "--cert", "cur.pem", "--key", token.uri(label), *pin,
               "--cn", "x", "--key-out", "x.key", cwd=tmp_path)
    assert res.returncode == 2 and "cannot be the TLS client key" in res.stderr


def test_renew_on_the_token_watch_and_refusal(token: Token, server: Any, testserver: Any, tmp_path: Path) -> None:
    """--watch renews a token key in the background; a server that refuses the renewal (the session's
    testserver wants the TLS client certificate) leaves the old pair and --cert as they were."""
    import signal
    import time

    from est_cli_helpers import est_command

    pin = ["--pin-file", str(token.pin_file)]
    res = _est(token, "enroll", *server.conn(), "--cn", "watch-me", "--key-out", token.uri("watch-me"), *pin,
               "--out", "w.pem", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    before = (tmp_path / "w.pem").read_bytes()
    old_ids = {o["id"] for o in token.objects("watch-me")}
    # refused (403 without a TLS client certificate): exit 5 after the retries, nothing lost
    res = _est(token, "renew", *testserver.conn(), "--cert", "w.pem", "--key", token.uri("watch-me"), *pin,
               "--threshold", "31d", "--max-retries", "1", "--retry-delay", "0.1s", cwd=tmp_path)
    assert res.returncode == 5, res.stderr
    assert "attempt 2 failed" in res.stderr and "all 2 attempts failed" in res.stderr
    assert (tmp_path / "w.pem").read_bytes() == before
    assert {o["id"] for o in token.objects("watch-me")} == old_ids
    assert PIN not in res.stderr

    proc = subprocess.Popen([*est_command(), "renew", "--watch", *server.conn(), "--cert", "w.pem", "--key",
                             token.uri("watch-me"), *pin, "--threshold", "31d", "--check-interval", "1s"],
                            cwd=tmp_path, env=token.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if "renewed" in line:
                break
        assert any("renewed" in ln for ln in seen), "".join(seen)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    assert rc == 0
    renewed = x509.load_pem_x509_certificate((tmp_path / "w.pem").read_bytes())
    assert renewed.public_bytes(serialization.Encoding.PEM) != before
    assert token.inspect(token.uri("watch-me"))["spki"] == _spki(renewed)
    assert not old_ids & {o["id"] for o in token.objects("watch-me")}


def test_fullcmc_signed_on_the_token_verifies_with_openssl(token: Token, server: Any, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        _skip_or_fail("peer program missing: openssl")
    res = _est(token, "fullcmc", *server.conn(), "--cn", "cmc-device", "--key-out", token.uri("cmc"),
               "--pin-file", str(token.pin_file), "--out", "cmc.pem", "--request-out", "req.der", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    cert = x509.load_pem_x509_certificate((tmp_path / "cmc.pem").read_bytes())
    assert token.inspect(token.uri("cmc"))["spki"] == _spki(cert)
    verify = subprocess.run([openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", "req.der", "-noverify",
                             "-certfile", "cmc.pem", "-out", "content.der"], cwd=tmp_path, capture_output=True,
                            timeout=60)
    assert verify.returncode == 0, verify.stderr.decode(errors="replace")
    assert b"Verification successful" in verify.stderr

    # the token key signs a CSR and a CMC request as --use-key too; --key-out cannot copy it
    res = _est(token, "csr", "--cn", "again", "--use-key", token.uri("cmc"), "--pin-file", str(token.pin_file),
               "--out", "again.csr", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    res = _est(token, "fullcmc", *server.conn(), "--cn", "x", "--use-key", token.uri("cmc"), "--pin-file",
               str(token.pin_file), "--key-out", "copy.key", cwd=tmp_path)
    assert res.returncode == 2 and "cannot leave" in res.stderr and not (tmp_path / "copy.key").exists()
    res = _est(token, "export", "--cert", "cmc.pem", "--key", token.uri("cmc"), "--pin-file", str(token.pin_file),
               "--include-key", "--out", "bundle.pem", cwd=tmp_path)
    assert res.returncode == 2 and "cannot leave" in res.stderr and not (tmp_path / "bundle.pem").exists()


def test_errors_are_clear_and_write_nothing(token: Token, server: Any, tmp_path: Path) -> None:
    """Wrong PIN, missing token, missing module, an object that is not a private key, a PIN in the URI: exit 2,
    one clear line, no file and no token object written, the PIN in no message."""
    res = _est(token, "enroll", *server.conn(), "--cn", "cert-only", "--key-out", token.uri("cert-only"),
               "--pin-file", str(token.pin_file), "--store-cert-on-token", "--out", "c.pem", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    os.remove(tmp_path / "c.pem")
    # a certificate object alone under a label: enroll a key, then look for it by a label that is only a cert's
    wrong_pin = tmp_path / "wrong-pin"
    wrong_pin.write_text("99999999\n")
    before = token.inspect()["objects"]
    cases = [
        (["--key-out", token.uri("new-key"), "--pin-file", str(wrong_pin)], "PIN"),
        (["--key-out", "pkcs11:token=no-such-token;object=k", "--pin-file", str(token.pin_file)], "no-such-token"),
        (["--key-out", token.uri("new-key") + "?module-path=/nonexistent/libp11.so", "--pin-file",
          str(token.pin_file)], "module"),
        (["--use-key", token.uri("no-such-key"), "--pin-file", str(token.pin_file), "--out", "x.pem"],
         "no-such-key"),
        (["--key-out", token.uri("new-key") + "?pin-value=1234"], "pin-value"),
    ]
    for extra, needle in cases:
        res = _est(token, "enroll", *server.conn(), "--cn", "fails", "--out", "never.pem", *extra, cwd=tmp_path)
        assert res.returncode == 2, (extra, res.stderr)
        line = one_line_error(res.stderr)
        assert needle.lower() in line.lower(), (needle, line)
        assert PIN not in res.stdout + res.stderr and "99999999" not in res.stderr and "1234" not in line
        assert sorted(os.listdir(tmp_path)) == ["wrong-pin"], "nothing written"
    assert token.inspect()["objects"] == before, "nothing made on the token"
    # an object under that label that is not a private key: remove the key of "cert-only", keep its certificate
    res = subprocess.run([sys.executable, "-c", _DROP_KEY, token.module, TOKEN, PIN, "cert-only"], env=token.env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = _est(token, "csr", "--cn", "x", "--use-key", token.uri("cert-only"), "--pin-file", str(token.pin_file),
               "--out", "x.csr", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "private key" in one_line_error(res.stderr) and not (tmp_path / "x.csr").exists()
    # a key made on the token for a request the server refuses is removed again
    res = _est(token, "enroll", *server.conn(auth=False), "--cn", "refused", "--key-out", token.uri("refused"),
               "--pin-file", str(token.pin_file), "--out", "r.pem", "--max-wait", "0", cwd=tmp_path)
    assert res.returncode == 3, res.stderr
    assert token.objects("refused") == [] and not (tmp_path / "r.pem").exists()


_DROP_KEY = r"""
import sys
import pkcs11
lib = pkcs11.lib(sys.argv[1])
with lib.get_token(token_label=sys.argv[2]).open(user_pin=sys.argv[3], rw=True) as s:
    for cls in (pkcs11.ObjectClass.PRIVATE_KEY, pkcs11.ObjectClass.PUBLIC_KEY):
        for o in list(s.get_objects({pkcs11.Attribute.CLASS: cls, pkcs11.Attribute.LABEL: sys.argv[4]})):
            o.destroy()
"""


def test_commands_without_token_support_refuse_a_token_key(testserver: Any, tmp_path: Path) -> None:
    """No token needed: batch, serverkeygen, --resume and the TLS identity of other commands refuse a pkcs11:
    key with one clear line (exit 2), writing nothing; flags that need a token --key-out say so."""
    (tmp_path / "ids.csv").write_text("name,cn,key_out\ndev1,dev1,pkcs11:token=t;object=dev1\n")
    res = run_est("batch", "ids.csv", *testserver.conn(), cwd=tmp_path)
    assert res.returncode == 2 and "pkcs11" in one_line_error(res.stderr)
    res = run_est("serverkeygen", *testserver.conn(), "--cn", "s", "--key-out", "pkcs11:token=t;object=s",
                  cwd=tmp_path)
    assert res.returncode == 2 and "server makes the key" in one_line_error(res.stderr)
    res = run_est("enroll", *testserver.conn(), "--cn", "r", "--resume", "--key-out", "pkcs11:token=t;object=r",
                  cwd=tmp_path)
    assert res.returncode == 2 and "--resume" in one_line_error(res.stderr)
    res = run_est("cacerts", *testserver.conn(), "--cert", "c.pem", "--key", "pkcs11:token=t;object=k",
                  cwd=tmp_path)
    assert res.returncode == 2 and "cannot be the TLS client key" in one_line_error(res.stderr)
    res = run_est("enroll", *testserver.conn(), "--cn", "x", "--key-out", "x.key", "--store-cert-on-token",
                  cwd=tmp_path)
    assert res.returncode == 2 and "--store-cert-on-token" in res.stderr
    res = run_est("csr", "--cn", "x", "--use-key", "x.key", "--key-out-password-file", "pw", "--out", "x.csr",
                  cwd=tmp_path)
    assert res.returncode == 2 and "--key-out-password-file" in res.stderr
    assert sorted(os.listdir(tmp_path)) == ["ids.csv"]
