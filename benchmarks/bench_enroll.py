"""Benchmark (not a test): enrollments per second against estclient.testing.EstTestServer on loopback.

    python benchmarks/bench_enroll.py [--n 300] [--concurrency 100] [--in-process]

Measures (1) one sync EstClient enrolling sequentially and (2) one AsyncEstClient with ``--concurrency``
enrollments in flight (asyncio.gather bounded by a semaphore) over a pool of ``--max-connections``. Each enrollment
generates a P-256 key, signs a PKCS#10, POSTs it over TLS 1.3 with Basic auth, and parses the certs-only
response and selects the issued certificate. The server runs in a separate process by default (with
``--in-process`` it shares the GIL with the client, which distorts the async figures). Besides the rate, the
client's own CPU time per enrollment is printed: the server (pure Python, one process) is usually the limit.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time

from estclient import AsyncEstClient, CsrBuilder, EstClient, EstClientConfig, HttpAuth, TrustAnchors

_SERVER = """
import json, sys, time
from estclient.testing import EstTestServer
srv = EstTestServer(auth="basic").start()
print(json.dumps({"url": srv.url, "pem": srv.trust_anchor_pem.decode(), "user": srv.username,
                  "password": srv.password}), flush=True)
sys.stdin.read()
"""


class Server:
    def __init__(self, in_process: bool) -> None:
        self.in_process = in_process

    def __enter__(self) -> dict:
        if self.in_process:
            from estclient.testing import EstTestServer

            self.srv = EstTestServer(auth="basic").start()
            return {"url": self.srv.url, "pem": self.srv.trust_anchor_pem.decode(), "user": self.srv.username,
                    "password": self.srv.password}
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=dict(os.environ))
        assert self.proc.stdout is not None
        return json.loads(self.proc.stdout.readline())

    def __exit__(self, *exc: object) -> None:
        if self.in_process:
            self.srv.stop()
        else:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def config(info: dict, **kw) -> EstClientConfig:
    return EstClientConfig(info["url"], trust=TrustAnchors.from_pem(info["pem"].encode()),
                           http_auth=HttpAuth(info["user"], info["password"]), timeout=120, **kw)


def bench_sync(info: dict, n: int) -> tuple[float, float]:
    with EstClient(config(info)) as c:
        c.simple_enroll(CsrBuilder().common_name("warmup"))
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            c.simple_enroll(CsrBuilder().common_name(f"sync-{i}"))
        return n / (time.perf_counter() - t0), (time.process_time() - c0) / n


async def bench_async(info: dict, n: int, concurrency: int, connections: int) -> tuple[float, float]:
    async with AsyncEstClient(config(info, max_connections=connections)) as c:
        await c.simple_enroll(CsrBuilder().common_name("warmup"))
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await c.simple_enroll(CsrBuilder().common_name(f"async-{i}"))

        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - t0), (time.process_time() - c0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--max-connections", type=int, default=20,
                    help="connection pool size of the async client (httpcore's pool scan is O(connections))")
    ap.add_argument("--in-process", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} cpus={os.cpu_count()} python={platform.python_version()} "
          f"server={'in-process' if args.in_process else 'subprocess'} n={args.n}")
    with Server(args.in_process) as info:
        rate, cpu = bench_sync(info, args.n)
        print(f"sync EstClient, sequential:      {rate:7.1f} enrollments/s  (client CPU {cpu * 1e3:.2f} ms each)")
    with Server(args.in_process) as info:
        rate, cpu = asyncio.run(bench_async(info, args.n, args.concurrency, args.max_connections))
        print(f"AsyncEstClient, {args.concurrency:3d} concurrent:  {rate:7.1f} enrollments/s  "
              f"(client CPU {cpu * 1e3:.2f} ms each, {args.max_connections} connections)")


if __name__ == "__main__":
    main()
