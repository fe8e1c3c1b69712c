"""Benchmark (not a test): what channel binding costs per enrollment (issue #13), sync and async in one run.

    python benchmarks/bench_binding.py [--n 100] [--in-process]

Against ``estclient.testing.EstTestServer(auth="basic", tls_max_version="1.2")`` on loopback (tls-unique exists
only up to TLS 1.2, so binding happens), for ``channel_binding="auto"`` and ``"off"``, with

- a kept-alive client: one client per mode, one warm-up enrollment each, then ``--n`` enrollments each, every
  one timed alone;
- a fresh client: for each of ``--n`` enrollments a new client is made, enrolls once and is closed (timed
  together);

alternating between the two modes enrollment by enrollment, so that both see the same load;

it prints the median, the 10th and 90th percentiles in milliseconds and the requests the server saw per
enrollment. The P-256 keys are generated before the clock starts, so the figures are the protocol's (TLS,
requests, CSR signing, the server's issuing). The server runs in a separate process by default, so that it
does not share the GIL with the client being measured.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

from estclient import AsyncEstClient, CsrBuilder, EstClient, EstClientConfig, HttpAuth, TrustAnchors

# The server process answers "count" on stdin with the number of requests it has seen; EOF stops it.
_SERVER = """
import json, sys
from estclient.testing import EstTestServer
srv = EstTestServer(auth="basic", tls_max_version="1.2").start()
print(json.dumps({"url": srv.url, "pem": srv.trust_anchor_pem.decode(), "user": srv.username,
                  "password": srv.password}), flush=True)
for line in sys.stdin:
    print(len(srv.requests), flush=True)
srv.stop()
"""


class Server:
    def __init__(self, in_process: bool) -> None:
        self.in_process = in_process

    def __enter__(self) -> "Server":
        if self.in_process:
            from estclient.testing import EstTestServer

            self.srv = EstTestServer(auth="basic", tls_max_version="1.2").start()
            self.info = {"url": self.srv.url, "pem": self.srv.trust_anchor_pem.decode(),
                         "user": self.srv.username, "password": self.srv.password}
        else:
            self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env=dict(os.environ))
            assert self.proc.stdout is not None
            self.info = json.loads(self.proc.stdout.readline())
        return self

    def requests(self) -> int:
        if self.in_process:
            return len(self.srv.requests)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def __exit__(self, *exc: object) -> None:
        if self.in_process:
            self.srv.stop()
        else:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def config(self, mode: str) -> EstClientConfig:
        info = self.info
        return EstClientConfig(info["url"], trust=TrustAnchors.from_pem(info["pem"].encode()),
                               http_auth=HttpAuth(info["user"], info["password"]), channel_binding=mode,
                               timeout=60)


def _builders(n: int, tag: str) -> list[CsrBuilder]:
    out = []
    for i in range(n):
        b = CsrBuilder().common_name(f"{tag}-{i}")
        b.private_key  # noqa: B018 - generate the key now, outside the timed part
        out.append(b)
    return out


MODES = ("auto", "off")
# Each run makes n enrollments per binding mode, alternating between the modes (so that both see the same load
# on a shared machine), and returns per mode the n timings and the requests the server saw during them.
Result = dict[str, tuple[list[float], int]]


def _take(srv: Server, result: Result, mode: str, seconds: float, before: int) -> None:
    times, count = result.setdefault(mode, ([], 0))
    times.append(seconds)
    result[mode] = (times, count + srv.requests() - before)


def sync_kept(srv: Server, n: int) -> Result:
    result: Result = {}
    clients = {m: EstClient(srv.config(m)) for m in MODES}
    try:
        builders = {m: _builders(n + 1, f"sk-{m}") for m in MODES}
        for m in MODES:
            clients[m].simple_enroll(builders[m][0])  # warm-up: opens what a fresh client opens
        for i in range(1, n + 1):
            for m in MODES:
                before = srv.requests()
                t0 = time.perf_counter()
                clients[m].simple_enroll(builders[m][i])
                _take(srv, result, m, time.perf_counter() - t0, before)
    finally:
        for c in clients.values():
            c.close()
    return result


def sync_fresh(srv: Server, n: int) -> Result:
    result: Result = {}
    builders = {m: _builders(n, f"sf-{m}") for m in MODES}
    for i in range(n):
        for m in MODES:
            before = srv.requests()
            t0 = time.perf_counter()
            with EstClient(srv.config(m)) as c:
                c.simple_enroll(builders[m][i])
            _take(srv, result, m, time.perf_counter() - t0, before)
    return result


async def _async_kept(srv: Server, n: int) -> Result:
    result: Result = {}
    clients = {m: AsyncEstClient(srv.config(m)) for m in MODES}
    try:
        builders = {m: _builders(n + 1, f"ak-{m}") for m in MODES}
        for m in MODES:
            await clients[m].simple_enroll(builders[m][0])
        for i in range(1, n + 1):
            for m in MODES:
                before = srv.requests()
                t0 = time.perf_counter()
                await clients[m].simple_enroll(builders[m][i])
                _take(srv, result, m, time.perf_counter() - t0, before)
    finally:
        for c in clients.values():
            await c.aclose()
    return result


async def _async_fresh(srv: Server, n: int) -> Result:
    result: Result = {}
    builders = {m: _builders(n, f"af-{m}") for m in MODES}
    for i in range(n):
        for m in MODES:
            before = srv.requests()
            t0 = time.perf_counter()
            async with AsyncEstClient(srv.config(m)) as c:
                await c.simple_enroll(builders[m][i])
            _take(srv, result, m, time.perf_counter() - t0, before)
    return result


def async_kept(srv: Server, n: int) -> Result:
    return asyncio.run(_async_kept(srv, n))


def async_fresh(srv: Server, n: int) -> Result:
    return asyncio.run(_async_fresh(srv, n))


CASES: list[tuple[str, str, Callable[[Server, int], Result]]] = [
    ("EstClient", "kept-alive", sync_kept),
    ("AsyncEstClient", "kept-alive", async_kept),
    ("EstClient", "fresh", sync_fresh),
    ("AsyncEstClient", "fresh", async_fresh),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
          f"server={'in-process' if args.in_process else 'subprocess'} TLS 1.2, Basic, n={args.n}")
    print(f"{'client':15} {'reuse':10} {'binding':7} {'median ms':>9} {'p10':>7} {'p90':>7} {'req/enroll':>10}")
    rows: list[dict[str, Any]] = []
    with Server(args.in_process) as srv:
        for client, reuse, run in CASES:
            result = run(srv, args.n)
            for mode in MODES:
                times, count = result[mode]
                reqs = count / args.n
                q = statistics.quantiles(times, n=10)
                row = {"client": client, "reuse": reuse, "binding": mode, "median_ms": statistics.median(times) * 1e3,
                       "p10_ms": q[0] * 1e3, "p90_ms": q[-1] * 1e3, "n": len(times), "requests_per_enrollment": reqs}
                rows.append(row)
                print(f"{client:15} {reuse:10} {mode:7} {row['median_ms']:9.2f} {row['p10_ms']:7.2f} "
                      f"{row['p90_ms']:7.2f} {reqs:10.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
