"""Whole-process figures for benchmarks/run.py: start-up (``import estclient``, ``est --help``) and one ``est
enroll`` process against the reference server, with curl posting a ready CSR to the same server as the stand-in
for libest's ``estclient`` (not installed here).

The clock is the CPU time (user + system) of the child process, the best of N runs; wall time is kept too but is
only meaningful on an idle machine. Project modules are byte-compiled first (``compileall``), as an installed
package is: with ``PYTHONDONTWRITEBYTECODE`` set, each run would otherwise compile every module it imports.
"""
from __future__ import annotations

import base64
import compileall
import importlib.util
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable


def _child_run(cmd: list[str], cwd: str | None = None) -> tuple[float, float]:
    """(CPU ms, wall ms) of one child process; raises if it fails."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... exited {p.returncode}: {p.stderr.decode(errors='replace')[-300:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu * 1000, (t1 - t0) * 1000


def best_of(cmds: dict[str, list[str]], n: int, cwd: str | None = None) -> dict[str, dict[str, float]]:
    """Best CPU and wall ms of each command over n rounds, the commands taken in turn within a round (a busy
    moment falls on all of them alike)."""
    out = {k: {"cpu_ms": float("inf"), "wall_ms": float("inf")} for k in cmds}
    for _ in range(n):
        for k, cmd in cmds.items():
            cpu, wall = _child_run(cmd, cwd)
            out[k]["cpu_ms"] = min(out[k]["cpu_ms"], cpu)
            out[k]["wall_ms"] = min(out[k]["wall_ms"], wall)
    return out


def compile_project() -> None:
    for pkg in ("estclient", "estcodec"):
        spec = importlib.util.find_spec(pkg)
        if spec is not None and spec.submodule_search_locations:
            compileall.compile_dir(list(spec.submodule_search_locations)[0], quiet=1)


def _est_command() -> list[str]:
    script = Path(sys.executable).with_name("est")
    return [str(script)] if script.exists() else [sys.executable, "-m", "estclient"]


def startup(n: int) -> dict[str, dict[str, float]]:
    compile_project()
    py = sys.executable
    return best_of({
        "python -c pass": [py, "-c", "pass"],
        "import estclient": [py, "-c", "import estclient"],
        "est --help": _est_command() + ["--help"],
        "import cryptography.x509 (for scale)": [py, "-c", "import cryptography.x509"],
    }, n)


def enroll(n: int, log: Callable[[str], None]) -> dict[str, dict[str, float]] | None:
    """``est enroll`` (new EC P-256 key, GET /csrattrs, POST /simpleenroll, certificate and key written) against
    ``estclient.testing.EstTestServer`` in this process, and curl POSTing a ready CSR to /simpleenroll."""
    curl = shutil.which("curl")
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        from estclient.testing import EstTestServer
    except ImportError as exc:
        log(f"enroll: skipped ({exc})")
        return None
    compile_project()
    with tempfile.TemporaryDirectory() as tmp, EstTestServer() as srv:
        Path(tmp, "ca.pem").write_bytes(srv.trust_anchor_pem if isinstance(srv.trust_anchor_pem, bytes)
                                        else srv.trust_anchor_pem.encode())
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-curl")]))
               .sign(key, hashes.SHA256()))
        Path(tmp, "csr.b64").write_bytes(base64.encodebytes(csr.public_bytes(serialization.Encoding.DER)))
        cmds = {
            "est enroll (one process: new key, /csrattrs, /simpleenroll, files written)": _est_command() + [
                "enroll", "-s", srv.url, "--trust", "ca.pem", "-u", srv.username, "--password", srv.password,
                "--cn", "bench-est", "--out", "cert.pem", "--key-out", "key.pem", "--force", "-q"],
        }
        if curl:
            cmds["curl POST /simpleenroll (ready CSR, reply not parsed)"] = [
                curl, "-sf", "-o", "reply.b64", "--cacert", "ca.pem", "-u", f"{srv.username}:{srv.password}",
                "-H", "Content-Type: application/pkcs10", "-H", "Content-Transfer-Encoding: base64",
                "--data-binary", "@csr.b64", f"{srv.url}/.well-known/est/simpleenroll"]
        return best_of(cmds, n, cwd=tmp)
