"""``est testserver --digest-algorithm MD5 --server-key-type rsa-2048 -v``: the switches libest's and Bouncy
Castle's clients need, and one log line per request on stderr."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

EST = "/.well-known/est/"


def test_testserver_md5_rsa_keys_and_request_log(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "estclient", "testserver", "--auth", "digest", "--digest-algorithm", "MD5",
         "--server-key-type", "rsa-2048", "-v", "--ca-out", str(ca)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stderr is not None
        banner = ""
        deadline = time.monotonic() + 30
        while "Ctrl-C stops it" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner += line
        assert "digest algorithm MD5" in banner, banner
        url = re.search(r"^EST test server\s+(https://[^/]+)", banner, re.M).group(1)
        user, password = re.search(r"^credentials\s+(\S+) / (\S+)", banner, re.M).groups()
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kg")])).sign(key, hashes.SHA256())
        body = csr.public_bytes(serialization.Encoding.DER)
        import base64
        import ssl

        ctx = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(verify=ctx) as client:
            r = client.post(url + EST + "serverkeygen", content=base64.b64encode(body),
                            headers={"Content-Type": "application/pkcs10"})
            assert r.status_code == 401 and "algorithm" not in r.headers["www-authenticate"]  # MD5: implied
            r = client.post(url + EST + "serverkeygen", content=base64.b64encode(body),
                            headers={"Content-Type": "application/pkcs10"}, auth=httpx.DigestAuth(user, password))
            assert r.status_code == 200
            key_part = r.content.split(b"application/pkcs8")[1].split(b"\r\n\r\n", 1)[1].split(b"\r\n")[0]
            pkcs8 = serialization.load_der_private_key(base64.b64decode(key_part), None)
            assert pkcs8.key_size == 2048  # RSA, as asked, though the CSR key is EC
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    log = [ln for ln in err.splitlines() if ln.startswith(("GET ", "POST ", "HEAD "))]
    assert len(log) == 3  # the digest round trip is two requests: 401, then the answer
    assert log[0].startswith(f"POST {EST}serverkeygen 401 auth=- ")
    assert log[-1].startswith(f"POST {EST}serverkeygen 200 auth=digest in=") and log[-1].endswith("ms")
    assert password not in err
