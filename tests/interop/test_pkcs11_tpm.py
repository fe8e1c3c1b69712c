"""A TPM 2.0 key through its PKCS#11 module (issue #18): Debian's libtpm2-pkcs11-1 on a software TPM (swtpm).

The chain is swtpm (the TPM, on loopback TCP) <- tpm2-abrmd (the resource manager tpm2-pkcs11 needs: a bare swtpm
runs out of object slots, on a private D-Bus session bus) <- libtpm2_pkcs11.so (its store in a temporary folder,
the token made by ``tpm2_ptool``) <- estclient.pkcs11. The client side runs in a child Python process so that the
TPM module's environment (TCTI, store) stays out of this one. Every process started here is stopped by its PID.
Without the programs the test skips (fails under EST_REQUIRE_PEERS=1).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from estclient.testing import EstTestServer

from interop_peers import need, need_files, need_module, run, show

TPM_MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so"
CHILD = r'''
import os, sys
from cryptography.hazmat.primitives import serialization as s
from estclient import keys
from estclient.client import EstClient
from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder

url, trust, user, password = sys.argv[1:5]
spki = lambda k: k.public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
for kt in ("ec-p256", "rsa-2048"):
    signer = keys.generate_key(f"pkcs11:token=est-tpm;object=tpm-{kt}", key_type=kt)
    assert signer.exportable is False and signer.is_extractable() is False
    cfg = EstClientConfig(url, trust=TrustAnchors.from_pem(open(trust, "rb").read()), http_auth=HttpAuth(user, password),
                          timeout=60.0)
    with EstClient(cfg) as client:
        res = client.simple_enroll(CsrBuilder().common_name(f"tpm-{kt}").with_key(signer))
    cert = res.certificate.to_cryptography()
    assert spki(cert.public_key()) == spki(signer.public_key()), kt
    signer.store_certificate(cert)
    signer.close()
    again = keys.load_key(f"pkcs11:token=est-tpm;object=tpm-{kt}")
    assert again.certificate() == cert
    again.close()
    print("enrolled", kt)
'''


def _free_port_pair() -> int:
    """A loopback port P with P + 1 free too (the swtpm TCTI finds the control channel on P + 1)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = int(a.getsockname()[1])
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise AssertionError("no free pair of loopback ports")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def tpm_token(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A running swtpm + tpm2-abrmd with a PKCS#11 token ``est-tpm`` (user PIN 1234); the environment for it."""
    tools = need("swtpm", "tpm2-abrmd", "dbus-daemon", "tpm2_ptool")
    need_module("pkcs11")  # python-pkcs11, the extra 'pkcs11'
    need_files(TPM_MODULE)
    port = _free_port_pair()
    (tmp_path / "state").mkdir()
    (tmp_path / "store").mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    abrmd_log = open(tmp_path / "abrmd.log", "wb")  # noqa: SIM115 - closed below, after the process stops
    env = dict(os.environ)
    env.update(DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path / 'bus'}", TPM2TOOLS_TCTI="tabrmd:bus_type=session",
               TPM2_PKCS11_TCTI="tabrmd:bus_type=session", TPM2_PKCS11_STORE=str(tmp_path / "store"),
               TSS2_LOG="all+NONE")
    try:
        procs.append(subprocess.Popen(
            [tools["swtpm"], "socket", "--tpm2", "--tpmstate", f"dir={tmp_path / 'state'}",
             "--server", f"type=tcp,port={port},bindaddr=127.0.0.1",
             "--ctrl", f"type=tcp,port={port + 1},bindaddr=127.0.0.1", "--flags", "not-need-init,startup-clear"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            [tools["dbus-daemon"], "--session", "--nofork", f"--address={env['DBUS_SESSION_BUS_ADDRESS']}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(100):  # both listening: bounded wait
            if (tmp_path / "bus").exists() and _accepts(port):
                break
            time.sleep(0.05)
        procs.append(subprocess.Popen(
            [tools["tpm2-abrmd"], "--session", "--allow-root", "--flush-all",
             f"--tcti=swtpm:host=127.0.0.1,port={port}"], env=env,
            stdout=subprocess.DEVNULL, stderr=abrmd_log))
        for _ in range(20):  # the resource manager has taken its bus name once ptool can talk to it
            res = run([tools["tpm2_ptool"], "init"], env=env, timeout=60)
            if res.returncode == 0:
                break
            time.sleep(0.1)
        assert res.returncode == 0, show(res) + (tmp_path / "abrmd.log").read_text()
        res = run([tools["tpm2_ptool"], "addtoken", "--pid=1", "--label=est-tpm", "--userpin=1234",
                   "--sopin=5678"], env=env, timeout=120)
        assert res.returncode == 0, show(res)
        env.update(EST_PKCS11_MODULE=TPM_MODULE, EST_PKCS11_PIN="1234")
        yield env
    finally:
        for proc in reversed(procs):
            _stop(proc)
        abrmd_log.close()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_enroll_with_a_tpm_key(tpm_token: dict[str, str], tmp_path: Path) -> None:
    with EstTestServer(auth="basic") as srv:
        trust = tmp_path / "trust.pem"
        trust.write_bytes(srv.trust_anchor_pem)
        res = run([sys.executable, "-c", CHILD, srv.url, str(trust), srv.username, srv.password],
                  env=tpm_token, timeout=300)
    assert res.returncode == 0, show(res)
    assert res.stdout.decode().split() == ["enrolled", "ec-p256", "enrolled", "rsa-2048"]
