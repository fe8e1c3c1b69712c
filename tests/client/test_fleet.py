"""Many operations at once: the client's own FIFO slot queue (estclient._limits), the fleet API
(estclient.fleet), and 2,000 enrollments through one AsyncEstClient against the reference server running in
its own process. Every bound here is a count (requests, slots, results), never a time."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
from cryptography.hazmat.primitives import serialization as ser

from estclient import (
    AsyncEstClient, ClientIdentity, CsrBuilder, EstClient, EstClientConfig, EstError, HttpAuth, Issued,
    ServerError, TrustAnchors,
)
from estclient._limits import AsyncSlots, ThreadSlots
from estclient.fleet import FleetProgress, FleetRequest, enroll_many, reenroll_many
from estclient.testing import EstTestServer


def conf(srv, **kw) -> EstClientConfig:
    kw.setdefault("http_auth", HttpAuth(srv.username, srv.password))
    return EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem), **kw)


# ------------------------------------------------------------------------------------------- slots


async def test_async_slots_fifo_and_bounded():
    slots = AsyncSlots(3)
    order: list[int] = []
    active = peak = 0
    gates = [asyncio.Event() for _ in range(40)]

    async def op(i: int) -> None:
        nonlocal active, peak
        async with slots:
            order.append(i)
            active += 1
            peak = max(peak, active)
            await gates[i].wait()
            active -= 1

    tasks = [asyncio.create_task(op(i)) for i in range(40)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert order == [0, 1, 2] and slots.waiting == 37 and slots.in_use == 3
    for i in range(40):  # finish them in start order: each release admits the oldest waiter
        gates[i].set()
        for _ in range(3):
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == list(range(40)) and peak == 3
    assert (slots.in_use, slots.waiting, slots.granted, slots.waited, slots.max_waiting) == (0, 0, 40, 37, 37)


async def test_async_slots_cancelled_waiters_leak_nothing():
    slots = AsyncSlots(1)
    await slots.acquire()
    waiters = [asyncio.create_task(slots.acquire()) for _ in range(5)]
    await asyncio.sleep(0)
    waiters[1].cancel()
    waiters[3].cancel()
    await asyncio.sleep(0)
    assert slots.waiting == 3
    slots.release()  # handed to waiter 0
    await asyncio.sleep(0)
    assert waiters[0].done() and not waiters[2].done()
    waiters[2].cancel()  # cancelled while queued
    slots.release()  # skips 1 and 2 (cancelled), hands to 4... but 3 is cancelled too
    await asyncio.sleep(0)
    assert waiters[4].done() and slots.in_use == 1
    slots.release()
    assert slots.in_use == 0 and slots.waiting == 0
    # a waiter cancelled after the slot reached it passes the slot on
    await slots.acquire()
    a = asyncio.create_task(slots.acquire())
    b = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # a's future now has its result, but a has not run yet
    a.cancel()
    await asyncio.gather(a, return_exceptions=True)
    await asyncio.sleep(0)
    assert b.done() and slots.in_use == 1
    slots.release()
    assert slots.in_use == 0
    with pytest.raises(RuntimeError):
        slots.release()
    with pytest.raises(ValueError):
        AsyncSlots(0)


def test_thread_slots_fifo_and_timeout():
    slots = ThreadSlots(1)
    assert slots.acquire()
    order: list[int] = []
    started = []

    def worker(i: int) -> None:
        started.append(i)
        with slots:
            order.append(i)

    threads = []
    for i in range(6):  # queue them one by one so that their arrival order is known
        t = threading.Thread(target=worker, args=(i,))
        t.start()
        threads.append(t)
        for _ in range(1000):
            if slots.waiting == i + 1:
                break
            threading.Event().wait(0.001)
        assert slots.waiting == i + 1
    assert slots.acquire(timeout=0.01) is False and slots.waiting == 6  # timed out and left the queue
    slots.release()
    for t in threads:
        t.join(10)
    assert order == list(range(6)) and slots.in_use == 0 and slots.max_waiting == 7


# ------------------------------------------------------------------------------------------- client


async def test_waiting_for_a_slot_is_not_a_network_timeout():
    """Operations queue in the client's own slots for longer than the network timeout and still succeed."""
    with EstTestServer(auth="basic") as srv:
        async with AsyncEstClient(conf(srv, timeout=0.5, max_connections=2, channel_binding="off")) as c:
            for _ in range(2):
                await c._slots.acquire()  # every slot busy
            tasks = [asyncio.create_task(c.simple_enroll(CsrBuilder().common_name(f"q{i}"))) for i in range(6)]
            await asyncio.sleep(1.5)  # three times the timeout: an httpx pool wait would have failed by now
            assert not any(t.done() for t in tasks) and c._slots.waiting == 6
            assert not [r for r in srv.requests if r.operation == "simpleenroll"]
            c._slots.release()
            c._slots.release()
            results = await asyncio.gather(*tasks)
        assert all(isinstance(r, Issued) for r in results)
        assert [r.certificate.subject.rfc4514_string() for r in results] == [f"CN=q{i}" for i in range(6)]


async def test_operations_in_flight_never_exceed_max_connections():
    with EstTestServer(auth="basic") as srv:
        async with AsyncEstClient(conf(srv, max_connections=3, channel_binding="off")) as c:
            results = await asyncio.gather(*(c.simple_enroll(CsrBuilder().common_name(f"b{i}")) for i in range(60)))
            assert c._slots.granted == 60 and c._slots.max_waiting == 57 and c._slots.in_use == 0
        assert all(isinstance(r, Issued) for r in results)
        # only the first three went out without credentials (401 + retry); the rest used Basic at once
        enrolls = [r for r in srv.requests if r.operation == "simpleenroll"]
        assert sum(r.status == 401 for r in enrolls) <= 3 and sum(r.status == 200 for r in enrolls) == 60
        assert srv.connections_opened <= 3 + 3  # the 401s close their connection (close_after_error)


async def test_pool_work_per_operation_does_not_grow_with_the_queue(monkeypatch):
    """Why main was quadratic: httpcore's pool looks at every waiting request (``is_queued``) whenever a connection
    is freed or requested, so with n operations queued in it each operation costs O(n). With the client's own
    queue only a pool's worth of requests reach httpcore: the number of those looks per operation stays flat.
    (The real method runs; it is only counted.)"""
    cp = pytest.importorskip("httpcore._async.connection_pool")
    if not hasattr(getattr(cp, "AsyncPoolRequest", None), "is_queued"):
        pytest.skip("this httpcore has no AsyncPoolRequest.is_queued to count")
    calls = [0]
    real = cp.AsyncPoolRequest.is_queued

    def counted(self):
        calls[0] += 1
        return real(self)

    monkeypatch.setattr(cp.AsyncPoolRequest, "is_queued", counted)
    per_op = {}
    with EstTestServer(auth="basic") as srv:
        for n in (40, 320):
            async with AsyncEstClient(conf(srv, max_connections=4, channel_binding="off")) as c:
                await c.simple_enroll(CsrBuilder().common_name("warm-up"))
                calls[0] = 0
                results = await asyncio.gather(*(c.simple_enroll(CsrBuilder().common_name(f"w{i}"))
                                                 for i in range(n)))
                assert all(isinstance(r, Issued) for r in results)
                per_op[n] = calls[0] / n
    # without the client's queue (measured): 134 looks per operation at 40, 1,675 at 320
    assert per_op[320] <= 1.5 * per_op[40] + 2, per_op


def test_sync_client_shared_by_threads():
    with EstTestServer(auth="basic") as srv, EstClient(conf(srv, max_connections=2, channel_binding="off")) as c:
        results: list[object] = []

        def work(i: int) -> None:
            results.append(c.simple_enroll(CsrBuilder().common_name(f"t{i}")))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(results) == 8 and all(isinstance(r, Issued) for r in results)
        assert c._slots.granted == 8 and c._slots.in_use == 0
        assert srv.connections_opened <= 2 + 2


# ------------------------------------------------------------------------------------------- fleet


async def test_enroll_many_failures_do_not_stop_the_others():
    with EstTestServer(auth="basic") as srv:
        reqs = []
        for i in range(30):
            csr = b"\x30\x03\x02\x01\x01" if i % 10 == 7 else CsrBuilder().common_name(f"dev-{i}")
            reqs.append(FleetRequest(csr, name=f"dev-{i}"))
        seen: list[FleetProgress] = []
        async with AsyncEstClient(conf(srv, max_connections=4, channel_binding="off")) as c:
            async with enroll_many(c, reqs, concurrency=6, progress=seen.append) as run:
                results = [r async for r in run]
        assert len(results) == 30 and sorted(r.index for r in results) == list(range(30))
        failed = {r.name: r for r in results if not r.ok}
        assert sorted(failed) == ["dev-17", "dev-27", "dev-7"]
        for r in failed.values():
            assert r.status == "failed" and isinstance(r.error, ServerError) and r.error.status == 400
        for r in results:
            if r.ok:
                assert r.certificate.subject.rfc4514_string() == f"CN={r.name}"
        assert [p.done for p in seen] == list(range(1, 31))
        assert (seen[-1].issued, seen[-1].failed, seen[-1].pending, seen[-1].total) == (27, 3, 0, 30)
        assert all(p.in_flight <= 6 for p in seen)


async def test_enroll_many_pending_and_waited():
    with EstTestServer(auth="basic", pending_retry_after=1) as srv:
        async with AsyncEstClient(conf(srv, channel_binding="off")) as c:
            builders = [CsrBuilder().common_name(f"p{i}") for i in range(3)]
            first = [r async for r in enroll_many(c, builders)]
            assert sorted(r.status for r in first) == ["pending"] * 3
            assert all(r.pending.retry_after == 1 for r in first)
            again = [r async for r in enroll_many(c, (b for b in builders), max_wait=5)]
            assert sorted(r.status for r in again) == ["issued"] * 3


async def test_enroll_many_early_exit_cancels_the_rest():
    with EstTestServer(auth="basic") as srv:
        async with AsyncEstClient(conf(srv, max_connections=2, channel_binding="off")) as c:
            made = 0

            def requests():  # lazy: counts how many the run has taken
                nonlocal made
                for i in range(1000):
                    made += 1
                    yield CsrBuilder().common_name(f"e{i}")

            got = []
            async with enroll_many(c, requests(), concurrency=2) as run:
                async for r in run:
                    got.append(r)
                    if len(got) == 3:
                        break
            assert len(got) == 3 and made <= 3 + 2 + 2  # taken: the 3 consumed, 2 queued results, 2 in flight
            assert c._slots.in_use == 0
        assert sum(r.status == 200 for r in srv.requests if r.operation == "simpleenroll") <= made


async def test_enroll_many_iterable_failure_is_raised():
    def requests():
        yield CsrBuilder().common_name("one")
        raise OSError("the list of devices could not be read")

    with EstTestServer(auth="basic") as srv:
        async with AsyncEstClient(conf(srv, channel_binding="off")) as c:
            with pytest.raises(OSError, match="could not be read"):
                async with enroll_many(c, requests(), concurrency=1) as run:
                    async for _ in run:
                        pass
    with pytest.raises(ValueError):
        enroll_many(c, [], concurrency=0)


async def test_reenroll_many_presents_each_identity():
    with EstTestServer(auth="basic") as srv:
        async with AsyncEstClient(conf(srv, channel_binding="off")) as c:
            builders = [CsrBuilder().common_name(f"r{i}") for i in range(5)]
            first = [r async for r in enroll_many(c, builders)]
            assert all(r.ok for r in first)
            reqs = []
            for r in sorted(first, key=lambda r: r.index):
                key_pem = builders[r.index].private_key.private_bytes(
                    ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
                ident = ClientIdentity(r.certificate.to_pem().encode(), key_pem)
                reqs.append(FleetRequest(CsrBuilder().common_name(f"r{r.index}"), name=f"r{r.index}",
                                         client_identity=ident))
            reqs.append(FleetRequest(CsrBuilder().common_name("stranger"), name="stranger",
                                     client_identity=reqs[0].client_identity))  # subject differs: refused
            renewed = [r async for r in reenroll_many(c, reqs, concurrency=3)]
        assert sorted(r.name for r in renewed if r.ok) == [f"r{i}" for i in range(5)]
        (bad,) = [r for r in renewed if not r.ok]
        # refused by the server (400), or before sending by a client that checks the names itself
        assert bad.name == "stranger" and isinstance(bad.error, EstError) and "differs" in str(bad.error)
        re_recs = [r for r in srv.requests if r.operation == "simplereenroll" and r.status == 200]
        assert sorted(r.client_certificate_subject for r in re_recs) == [f"CN=r{i}" for i in range(5)]
        assert all(r.authenticated_by == "certificate" for r in re_recs)
        assert "PRIVATE KEY" not in repr(reqs[0])


# ------------------------------------------------------------------------------------------- 2,000 at once


@pytest.fixture
def server_process(tmp_path):
    """The reference server in its own process (``python -m estclient.testing``), stopped by its PID."""
    ca = tmp_path / "ca.pem"
    proc = subprocess.Popen(
        [sys.executable, "-m", "estclient.testing", "--password", "fleet-pw", "--ca-out", str(ca)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.match(r"EST server\s+(https://\S+?)/\.well-known/est/", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield m.group(1), ca.read_bytes()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


async def test_two_thousand_enrollments_at_once(server_process):
    url, ca_pem = server_process
    n = 2000
    config = EstClientConfig(url, trust=TrustAnchors.from_pem(ca_pem), http_auth=HttpAuth("estuser", "fleet-pw"),
                             channel_binding="off", timeout=30.0)
    async with AsyncEstClient(config) as c:
        builders = [CsrBuilder().common_name(f"device-{i:04d}") for i in range(n)]
        # a hang guard only (no assertion on time): started together, like asyncio.gather users do
        results = await asyncio.wait_for(
            asyncio.gather(*(c.simple_enroll(b) for b in builders), return_exceptions=True), timeout=600)
        errors = [r for r in results if not isinstance(r, Issued)]
        assert not errors, errors[:3]
        assert c._slots.granted == n + 0 and c._slots.max_waiting >= n - config.max_connections
    subjects = {r.certificate.subject.rfc4514_string() for r in results}
    serials = {r.certificate.serial_number for r in results}
    assert len(subjects) == n and len(serials) == n
    assert all(r.certificate.issuer.rfc4514_string() for r in results[:5])


# ------------------------------------------------------------------------------------------- the server


async def test_reference_server_serves_a_burst_with_a_bounded_pool():
    """600 clients connect at once, each on its own TLS connection: every one is served, by at most
    max_workers threads (the others wait in the server's queue, not in a thread of their own)."""
    import ssl

    n = 600
    with EstTestServer(auth=None) as srv:
        ctx = ssl.create_default_context(cadata=srv.trust_anchor_pem.decode())
        threads_before = threading.active_count()
        request = (f"GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                   "Connection: close\r\n\r\n").encode()

        async def one() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port, ssl=ctx,
                                                           server_hostname="127.0.0.1")
            try:
                writer.write(request)
                await writer.drain()
                return await reader.read(1 << 16)  # up to the server's close (Connection: close)
            finally:
                writer.close()

        async def sample() -> int:
            most = 0
            while not done.is_set():
                most = max(most, threading.active_count())
                await asyncio.sleep(0.01)
            return most

        done = asyncio.Event()
        sampler = asyncio.create_task(sample())
        answers = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
        done.set()
        most_threads = await sampler
        bad = [a for a in answers if not (isinstance(a, bytes) and a.startswith(b"HTTP/1.1 200 "))]
        assert not bad, bad[:3]
        workers = srv._httpd.worker_count
        assert workers <= srv._httpd.max_workers < n
        assert most_threads - threads_before <= srv._httpd.max_workers
        assert srv.connections_opened == n and len(srv.requests) == n
