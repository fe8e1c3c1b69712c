"""Benchmark (not a test): many enrollments started at once through one AsyncEstClient (issue #16).

    python benchmarks/bench_fleet.py [--sizes 100,1000,10000] [--curl 200] [--json]

For each size N, in one run and against one reference server (``python -m estclient.testing``, Basic auth, in a
process of its own, stopped by its PID at the end): a fresh AsyncEstClient (``max_connections`` 20, channel
binding off) enrolls N identities, each with a fresh P-256 key and CSR, all started together with
``asyncio.gather``. It reports the wall time, the number issued and failed, the client's CPU time per enrollment
(``time.process_time``: key generation, CSR signing, TLS, HTTP, parsing) and the server's (from /proc).

The acceptance figure is the ratio of per-enrollment client CPU at the largest size to that at the smallest: the
client's own FIFO slot queue (``estclient._limits``) keeps it flat; it must stay within 1.5x.

Stand-in peer: ``curl`` in a shell-style loop, one process per enrollment (each a new TLS connection), posting
pre-made CSRs to the same server; its throughput (enrollments per second) is printed next to the client's.
Both are limited by the same pure-Python server, so the ratio says how much of that server's capacity each
client leaves unused, not how fast the client could go against a faster server.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from estclient import AsyncEstClient, CsrBuilder, EstClientConfig, HttpAuth, Issued, TrustAnchors

PASSWORD = "bench-fleet"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _proc_cpu(pid: int) -> float:
    """utime + stime of a process, seconds (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Server:
    def __init__(self, tmp: str) -> None:
        self.ca = os.path.join(tmp, "ca.pem")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "estclient.testing", "--password", PASSWORD, "--ca-out", self.ca],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.match(r"EST server\s+(https://\S+?)/\.well-known/est/", line)
        if not m:
            self.stop()
            raise SystemExit(f"the reference server did not start: {line!r}")
        self.url = m.group(1)
        for _ in range(4):
            if "Ctrl-C" in self.proc.stdout.readline():
                break

    def cpu(self) -> float:
        return _proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


async def run_size(srv: Server, n: int) -> dict:
    config = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(open(srv.ca, "rb").read()),
                             http_auth=HttpAuth("estuser", PASSWORD), channel_binding="off", timeout=30.0,
                             max_connections=20)
    async with AsyncEstClient(config) as client:
        await client.simple_enroll(CsrBuilder().common_name("warm-up"))
        builders = [CsrBuilder().common_name(f"fleet-{n}-{i}") for i in range(n)]
        s0 = srv.cpu()
        t0, c0 = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(client.simple_enroll(b) for b in builders), return_exceptions=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        server_cpu = srv.cpu() - s0
    issued = sum(isinstance(r, Issued) for r in results)
    errors: dict[str, int] = {}
    for r in results:
        if not isinstance(r, Issued):
            key = f"{type(r).__name__}: {r}"[:120]
            errors[key] = errors.get(key, 0) + 1
    return {"n": n, "wall_s": wall, "issued": issued, "failed": n - issued, "errors": errors,
            "client_cpu_ms_per_enrollment": cpu / n * 1000, "server_cpu_ms_per_enrollment": server_cpu / n * 1000,
            "enrollments_per_s": issued / wall}


def run_curl(srv: Server, n: int, tmp: str) -> dict | None:
    curl = shutil.which("curl")
    if curl is None or n <= 0:
        return None
    files = []
    for i in range(n):
        der, _ = CsrBuilder().common_name(f"curl-{i}").build()
        path = os.path.join(tmp, f"csr-{i}.b64")
        with open(path, "wb") as fh:
            fh.write(base64.encodebytes(der))
        files.append(path)
    url = f"{srv.url}/.well-known/est/simpleenroll"
    ok = 0
    s0 = srv.cpu()
    t0 = time.perf_counter()
    for path in files:  # one curl process per enrollment, as a shell loop would run it
        out = subprocess.run(
            [curl, "-s", "-o", os.devnull, "-w", "%{http_code}", "--cacert", srv.ca, "-u", f"estuser:{PASSWORD}",
             "-H", "Content-Type: application/pkcs10", "--data-binary", f"@{path}", url],
            capture_output=True, text=True, timeout=60,
        )
        ok += out.stdout.strip() == "200"
    wall = time.perf_counter() - t0
    return {"n": n, "issued": ok, "wall_s": wall, "enrollments_per_s": ok / wall,
            "server_cpu_ms_per_enrollment": (srv.cpu() - s0) / n * 1000,
            "curl_version": " ".join(subprocess.run([curl, "--version"], capture_output=True, text=True).stdout.split()[:2])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000", help="comma-separated numbers of concurrent enrollments")
    ap.add_argument("--curl", type=int, default=200, help="enrollments for the curl loop (0: skip)")
    ap.add_argument("--json", action="store_true", help="also print the results as one JSON document")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    machine = {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        srv = Server(tmp)
        try:
            rows = []
            for n in sizes:
                rows.append(asyncio.run(run_size(srv, n)))
                r = rows[-1]
                print(f"{n:>6} at once: {r['wall_s']:7.1f} s wall, {r['issued']:>6} issued, {r['failed']} failed, "
                      f"client CPU {r['client_cpu_ms_per_enrollment']:.2f} ms/enrollment, server CPU "
                      f"{r['server_cpu_ms_per_enrollment']:.2f} ms/enrollment, {r['enrollments_per_s']:.0f}/s",
                      flush=True)
                for text, count in r["errors"].items():
                    print(f"         {count} x {text}")
            curl = run_curl(srv, args.curl, tmp)
        finally:
            srv.stop()
    machine["load_after"] = os.getloadavg()
    ratio = rows[-1]["client_cpu_ms_per_enrollment"] / rows[0]["client_cpu_ms_per_enrollment"]
    verdict = "OK" if ratio <= 1.5 and all(r["failed"] == 0 for r in rows) else "FAIL"
    print(f"client CPU per enrollment, {rows[-1]['n']} vs {rows[0]['n']}: {ratio:.2f}x (limit 1.5x) {verdict}")
    if curl is not None:
        best = max(rows, key=lambda r: r["enrollments_per_s"])
        print(f"curl loop ({curl['curl_version']}): {curl['issued']}/{curl['n']} issued, "
              f"{curl['enrollments_per_s']:.1f}/s (server CPU {curl['server_cpu_ms_per_enrollment']:.2f} ms/enrollment); "
              f"AsyncEstClient at {best['n']}: {best['enrollments_per_s']:.1f}/s = "
              f"{best['enrollments_per_s'] / curl['enrollments_per_s']:.1f}x the curl loop")
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, CPython {machine['python']}, "
          f"load average {machine['load_before'][0]:.1f} before, {machine['load_after'][0]:.1f} after")
    if args.json:
        print(json.dumps({"machine": machine, "sizes": rows, "curl": curl, "cpu_ratio": ratio}, indent=2))
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
