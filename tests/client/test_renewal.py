"""estclient.renewal: real EstTestServer, real TLS on loopback, real files, real SIGKILLs.

- short-lived certificates (60 s) are renewed before they expire, with the events in order (sync and async);
- with the server stopped (and the loopback TCP proxy that gives it a stable address) the scheduler reports
  RenewalFailed with growing delays, keeps the old pair, and succeeds once the server is back;
- after a renewal the client presents the new certificate (fresh handshakes, old certificate expired);
- a process killed (SIGKILL) at every step of writing a renewed pair, and at random moments of a write loop,
  leaves files from which load_identity recovers the old or the new pair, never a mix or a partial file;
- key files are 0600 whatever the umask.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from estclient import AsyncEstClient, EstClient, EstClientConfig, TrustAnchors
from estclient.errors import ConfigError, EstError, TransportError
from estclient.renewal import (
    AsyncRenewalScheduler,
    CheckStarted,
    RenewalConfig,
    RenewalError,
    RenewalExhausted,
    RenewalFailed,
    RenewalNeeded,
    RenewalPending,
    RenewalScheduler,
    RenewalStarted,
    RenewalSucceeded,
    load_identity,
    previous_path,
    save_pair,
    write_atomic,
)
from estclient.testing import EstTestServer

SRC = Path(__file__).resolve().parents[2] / "src"


# ----------------------------------------------------------------------------- helpers


class TcpProxy:
    """A loopback TCP proxy on a fixed port that can be stopped (connections refused, open ones cut) and
    started again. EstTestServer restarts on a new port (with the same CA); the proxy gives the client one
    stable address in front of it."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self._listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return self

    def stop(self) -> None:
        s, self._listener = self._listener, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                down, _ = listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream)
            except OSError:
                down.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    down.close()
                    up.close()
                    return
                self._conns.update((down, up))
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Recorder:
    """event_callback that keeps (monotonic time, event) and lets a test wait for an event type."""

    def __init__(self) -> None:
        self.items: list[tuple[float, object]] = []
        self.cond = threading.Condition()

    def __call__(self, event: object) -> None:
        with self.cond:
            self.items.append((time.monotonic(), event))
            self.cond.notify_all()

    @property
    def events(self) -> list[object]:
        with self.cond:
            return [e for _, e in self.items]

    def wait_for(self, kind: type, count: int = 1, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(isinstance(e, kind) for _, e in self.items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    async def async_wait_for(self, kind: type, count: int = 1, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while sum(isinstance(e, kind) for e in self.events) < count:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True


def client_config(url: str, srv: EstTestServer) -> EstClientConfig:
    return EstClientConfig(url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem), timeout=10.0)


def setup_pair(tmp_path: Path, srv: EstTestServer, *, lifetime: float, cn: str = "device-1") -> tuple[Path, Path]:
    cert_pem, key_pem = srv.issue_client_identity(cn, lifetime=lifetime, san_dns=[f"{cn}.example"])
    cert_path, key_path = tmp_path / "device.pem", tmp_path / "device.key"
    write_atomic(cert_path, cert_pem, 0o644)
    write_atomic(key_path, key_pem, 0o600)
    return cert_path, key_path


def spki(obj) -> bytes:
    return obj.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def disk_pair(cert_path: Path, key_path: Path):
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    return cert, key


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_renewal_sequence(events: list[object]) -> None:
    """CheckStarted* then CheckStarted, RenewalNeeded, RenewalStarted, RenewalSucceeded (then more checks)."""
    i = next(i for i, e in enumerate(events) if isinstance(e, RenewalNeeded))
    assert all(isinstance(e, CheckStarted) for e in events[:i])
    assert i >= 1 and isinstance(events[i - 1], CheckStarted)
    assert [type(e) for e in events[i:i + 3]] == [RenewalNeeded, RenewalStarted, RenewalSucceeded]


# ----------------------------------------------------------------------------- configuration


def test_config_validation_and_backoff():
    cfg = RenewalConfig(renewal_threshold=dt.timedelta(days=10), check_interval=3600, initial_retry_delay=2,
                        max_retry_delay=10)
    assert cfg.renewal_threshold == 864000.0
    assert [cfg.retry_delay(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]
    for bad in (
        dict(renewal_threshold=0, check_interval=1),
        dict(renewal_threshold=-5, check_interval=1),
        dict(renewal_threshold=10, check_interval=0),
        dict(renewal_threshold="10", check_interval=1),
        dict(renewal_threshold=10, check_interval=1, max_retries=-1),
        dict(renewal_threshold=10, check_interval=1, max_retries=1.5),
        dict(renewal_threshold=10, check_interval=1, initial_retry_delay=-1),
        dict(renewal_threshold=10, check_interval=1, key_type="dsa-1024"),
        dict(renewal_threshold=10, check_interval=1, new_key="yes"),
        dict(renewal_threshold=10, check_interval=1, event_callback=42),
        dict(renewal_threshold=10, check_interval=1, retry_backoff=0.5),
    ):
        with pytest.raises(ConfigError):
            RenewalConfig(**bad)
    with pytest.raises(TypeError):
        RenewalScheduler(None, {"renewal_threshold": 1}, "c", "k")


# ----------------------------------------------------------------------------- files


def test_write_atomic_modes_overwrite_and_no_temp_left(tmp_path):
    target = tmp_path / "secret.key"
    old = os.umask(0)  # the mode must not depend on the umask
    try:
        write_atomic(target, b"one", 0o600)
        assert mode_of(target) == 0o600
        write_atomic(target, b"two")  # default mode is 0600
        assert target.read_bytes() == b"two" and mode_of(target) == 0o600
        os.umask(0o077)
        write_atomic(tmp_path / "cert.pem", b"cert", 0o644)
        assert mode_of(tmp_path / "cert.pem") == 0o644
    finally:
        os.umask(old)
    with pytest.raises(FileExistsError):
        write_atomic(target, b"three", overwrite=False)
    assert target.read_bytes() == b"two"
    write_atomic(tmp_path / "new.key", b"fresh", overwrite=False)
    assert (tmp_path / "new.key").read_bytes() == b"fresh"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert.pem", "new.key", "secret.key"]
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing-dir" / "x", b"x")
    with pytest.raises(TypeError):
        write_atomic(target, "text")  # type: ignore[arg-type]


def test_load_identity_restores_previous_pair_and_refuses_mismatch(tmp_path):
    with EstTestServer() as srv:
        a_cert, a_key = srv.issue_client_identity("a")
        b_cert, b_key = srv.issue_client_identity("b")
    cert_path, key_path = tmp_path / "c.pem", tmp_path / "c.key"
    save_pair(cert_path, key_path, a_cert, a_key)
    assert load_identity(cert_path, key_path).cert_pem == a_cert
    with pytest.raises(ConfigError):
        save_pair(cert_path, key_path, a_cert, b_key)  # a mismatched pair is never written
    # the state a crash between the two renames leaves: new key, old certificate, old pair in .prev
    write_atomic(previous_path(cert_path), a_cert, 0o644)
    write_atomic(previous_path(key_path), a_key, 0o600)
    write_atomic(key_path, b_key, 0o600)
    (tmp_path / ".c.pem.0123456789ab.tmp").write_bytes(b_cert[:100])  # a half-written temporary file
    ident = load_identity(cert_path, key_path)
    assert (ident.cert_pem, ident.key_pem) == (a_cert, a_key)
    assert (cert_path.read_bytes(), key_path.read_bytes()) == (a_cert, a_key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.key", "c.pem"]
    assert mode_of(key_path) == 0o600
    # no usable pair at all
    write_atomic(key_path, b_key, 0o600)
    with pytest.raises(RenewalError):
        load_identity(cert_path, key_path)
    with pytest.raises(RenewalError):
        load_identity(tmp_path / "nope.pem", tmp_path / "nope.key")
    key_path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(RenewalError) as ei:
        load_identity(cert_path, key_path)
    assert "garbage" not in str(ei.value)


# ----------------------------------------------------------------------------- renewal before expiry


def test_sync_scheduler_renews_short_lived_certificate_before_expiry(tmp_path):
    rec = Recorder()
    with EstTestServer(cert_lifetime=60) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=60)
        old_cert, old_key = disk_pair(cert_path, key_path)
        cfg = RenewalConfig(renewal_threshold=56, check_interval=1, event_callback=rec)
        with EstClient(client_config(srv.url, srv)) as client:
            sched = RenewalScheduler(client, cfg, cert_path, key_path)
            with sched:
                assert rec.wait_for(RenewalSucceeded, timeout=30)
            now = dt.datetime.now(dt.timezone.utc)
            assert not sched.running
            assert now < old_cert.not_valid_after_utc  # renewed before expiry
            events = rec.events
            assert_renewal_sequence(events)
            # the first check (about 60 s left, more than the 56 s threshold) renewed nothing
            first_needed = next(i for i, e in enumerate(events) if isinstance(e, RenewalNeeded))
            assert sum(isinstance(e, CheckStarted) for e in events[:first_needed]) >= 2
            assert sum(isinstance(e, CheckStarted) for e in events) >= 3  # checked every second
            needed = next(e for e in events if isinstance(e, RenewalNeeded))
            assert needed.expires_at == old_cert.not_valid_after_utc
            succeeded = next(e for e in events if isinstance(e, RenewalSucceeded))
            new_cert, new_key = disk_pair(cert_path, key_path)
            assert succeeded.certificate.to_der() == new_cert.public_bytes(serialization.Encoding.DER)
            # a new key (of the same type), the same names, a later expiry, issued by the same CA
            assert spki(new_key) == spki(new_cert) and spki(new_key) != spki(old_key)
            assert type(new_key) is type(old_key)
            assert new_cert.subject == old_cert.subject
            san = x509.SubjectAlternativeName
            assert (new_cert.extensions.get_extension_for_class(san).value
                    == old_cert.extensions.get_extension_for_class(san).value)
            assert new_cert.not_valid_after_utc > old_cert.not_valid_after_utc
            assert new_cert in srv.issued_certificates
            assert mode_of(key_path) == 0o600 and mode_of(cert_path) == 0o644
            assert sorted(p.name for p in tmp_path.iterdir()) == ["device.key", "device.pem"]
            # the re-enrollment was authenticated by the old certificate over TLS ...
            (re,) = [r for r in srv.requests if r.operation == "simplereenroll"]
            assert re.status == 200 and re.authenticated_by == "certificate"
            # ... and the client now presents the new one
            assert client.config.client_identity.cert_pem == cert_path.read_bytes()
            again = sched.check_now(force=True)
            assert again is not None
            records = [r for r in srv.requests if r.operation == "simplereenroll"]
            assert len(records) == 2 and records[1].authenticated_by == "certificate"
            assert x509.load_pem_x509_certificate(cert_path.read_bytes()).serial_number == again.serial_number


async def test_async_scheduler_renews_short_lived_certificate_before_expiry(tmp_path):
    rec = Recorder()
    with EstTestServer(cert_lifetime=60) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=60)
        old_cert, old_key = disk_pair(cert_path, key_path)
        cfg = RenewalConfig(renewal_threshold=57, check_interval=1, event_callback=rec, key_type="rsa-2048")
        async with AsyncEstClient(client_config(srv.url, srv)) as client:
            async with AsyncRenewalScheduler(client, cfg, cert_path, key_path) as sched:
                assert sched.running
                assert await rec.async_wait_for(RenewalSucceeded, timeout=30)
            assert not sched.running
            assert dt.datetime.now(dt.timezone.utc) < old_cert.not_valid_after_utc
            assert_renewal_sequence(rec.events)
            new_cert, new_key = disk_pair(cert_path, key_path)
            assert new_key.key_size == 2048 and spki(new_key) == spki(new_cert)  # key_type honoured
            assert new_cert.subject == old_cert.subject
            assert mode_of(key_path) == 0o600
            assert client.config.client_identity.cert_pem == cert_path.read_bytes()


def test_same_key_on_request_and_pending_answers(tmp_path):
    rec = Recorder()
    with EstTestServer(cert_lifetime=60, pending_retry_after=1) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=30)
        _, old_key = disk_pair(cert_path, key_path)
        cfg = RenewalConfig(renewal_threshold=50, check_interval=30, new_key=False, event_callback=rec)
        with EstClient(client_config(srv.url, srv)) as client:
            cert = RenewalScheduler(client, cfg, cert_path, key_path).check_now()
        assert cert is not None
        assert [type(e) for e in rec.events] == [
            CheckStarted, RenewalNeeded, RenewalStarted, RenewalPending, RenewalSucceeded
        ]
        assert rec.events[3].retry_after == 1
        new_cert, new_key = disk_pair(cert_path, key_path)
        assert spki(new_key) == spki(old_key) == spki(new_cert)
        assert key_path.read_bytes() != b"" and mode_of(key_path) == 0o600
        statuses = [r.status for r in srv.requests if r.operation == "simplereenroll"]
        assert statuses == [202, 200]


async def test_async_event_callback_may_be_a_coroutine_and_errors_are_ignored(tmp_path):
    seen: list[object] = []

    async def callback(event):
        seen.append(event)
        if isinstance(event, RenewalStarted):
            raise RuntimeError("a broken handler must not stop the renewal")

    with EstTestServer(cert_lifetime=60) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=20)
        cfg = RenewalConfig(renewal_threshold=50, check_interval=30, event_callback=callback)
        async with AsyncEstClient(client_config(srv.url, srv)) as client:
            assert await AsyncRenewalScheduler(client, cfg, cert_path, key_path).check_now() is not None
    assert [type(e) for e in seen] == [CheckStarted, RenewalNeeded, RenewalStarted, RenewalSucceeded]


# ----------------------------------------------------------------------------- server down


def test_server_down_failures_with_growing_delays_then_success(tmp_path):
    rec = Recorder()
    with EstTestServer(cert_lifetime=60) as srv:
        proxy = TcpProxy(srv.port).start()
        try:
            cert_path, key_path = setup_pair(tmp_path, srv, lifetime=45)  # within the threshold at once
            before = (cert_path.read_bytes(), key_path.read_bytes())
            cfg = RenewalConfig(renewal_threshold=55, check_interval=1, max_retries=3, initial_retry_delay=0.4,
                                event_callback=rec)
            with EstClient(client_config(proxy.url, srv)) as client:
                client.get_ca_certs()  # a pooled connection exists when the server goes away
                proxy.stop()
                srv.stop()  # the server itself is down too (same CA when it comes back)
                sched = RenewalScheduler(client, cfg, cert_path, key_path).start()
                try:
                    assert rec.wait_for(RenewalExhausted, timeout=30)
                    # the old pair stays in place while the server is down
                    assert (cert_path.read_bytes(), key_path.read_bytes()) == before
                    assert rec.wait_for(RenewalFailed, count=6, timeout=30)  # the next check tries again
                    srv.start()  # back, on a new port behind the same proxy address
                    proxy.upstream = ("127.0.0.1", srv.port)
                    proxy.start()
                    assert rec.wait_for(RenewalSucceeded, timeout=30)
                finally:
                    sched.stop()
        finally:
            proxy.stop()
    items = rec.items
    events = [e for _, e in items]
    first_cycle = []
    for t, e in items:
        if isinstance(e, RenewalFailed):
            first_cycle.append((t, e))
        if isinstance(e, RenewalExhausted):
            break
    # attempts 1..4 of the first renewal, each failing because nothing listens
    assert [e.attempt for _, e in first_cycle] == [1, 2, 3, 4]
    assert all(isinstance(e.error, TransportError) for _, e in first_cycle)
    assert [e.retry_in for _, e in first_cycle] == [0.4, 0.8, 1.6, None]
    gaps = [b[0] - a[0] for a, b in zip(first_cycle, first_cycle[1:])]
    assert gaps[0] < gaps[1] < gaps[2], gaps  # the waits really grow
    for gap, (_, e) in zip(gaps, first_cycle):
        assert gap >= e.retry_in * 0.9
    exhausted = next(e for e in events if isinstance(e, RenewalExhausted))
    assert isinstance(exhausted.last_error, TransportError)
    # order within the first renewal
    i = events.index(next(e for e in events if isinstance(e, RenewalNeeded)))
    assert [type(e) for e in events[i - 1:i + 7]] == [
        CheckStarted, RenewalNeeded, RenewalStarted, RenewalFailed, RenewalFailed, RenewalFailed, RenewalFailed,
        RenewalExhausted,
    ]
    assert isinstance(events[i + 7], CheckStarted)  # the next check
    # the last renewal ended in success and the pair on disk is the new one
    last_needed = max(k for k, e in enumerate(events) if isinstance(e, RenewalNeeded))
    tail = [type(e) for e in events[last_needed:] if not isinstance(e, CheckStarted)]
    assert tail[:2] == [RenewalNeeded, RenewalStarted] and RenewalSucceeded in tail
    assert all(t is RenewalFailed for t in tail[2:tail.index(RenewalSucceeded)])
    assert (cert_path.read_bytes(), key_path.read_bytes()) != before
    new_cert, new_key = disk_pair(cert_path, key_path)
    assert spki(new_cert) == spki(new_key)


def test_check_now_raises_last_error_after_exhaustion(tmp_path):
    rec = Recorder()
    with EstTestServer(cert_lifetime=60) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=45)
        port = srv.port
    before = cert_path.read_bytes()
    cfg = RenewalConfig(renewal_threshold=50, check_interval=1, max_retries=1, initial_retry_delay=0,
                        event_callback=rec)
    with EstClient(EstClientConfig(f"https://127.0.0.1:{port}", trust=TrustAnchors.from_pem(srv.trust_anchor_pem),
                                   timeout=5)) as client:
        with pytest.raises(TransportError):
            RenewalScheduler(client, cfg, cert_path, key_path).check_now()
    assert [type(e) for e in rec.events] == [
        CheckStarted, RenewalNeeded, RenewalStarted, RenewalFailed, RenewalFailed, RenewalExhausted
    ]
    assert [e.attempt for e in rec.events if isinstance(e, RenewalFailed)] == [1, 2]
    assert cert_path.read_bytes() == before


def test_stop_is_prompt_during_backoff_and_between_checks(tmp_path):
    rec = Recorder()
    with EstTestServer(cert_lifetime=60) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=45)
        port = srv.port
    conf = EstClientConfig(f"https://127.0.0.1:{port}", trust=TrustAnchors.from_pem(srv.trust_anchor_pem))
    cfg = RenewalConfig(renewal_threshold=50, check_interval=3600, initial_retry_delay=60, event_callback=rec)
    with EstClient(conf) as client:
        sched = RenewalScheduler(client, cfg, cert_path, key_path).start()
        assert rec.wait_for(RenewalFailed, timeout=20)  # now waiting 60 s before the retry
        sched.stop(timeout=30)  # bounded join: a stop that waited out the 60 s delay would leave it running
        assert not sched.running
    assert not any(isinstance(e, RenewalExhausted) for e in rec.events)
    cfg2 = RenewalConfig(renewal_threshold=1, check_interval=3600)
    with EstClient(conf) as client:
        sched = RenewalScheduler(client, cfg2, cert_path, key_path).start()
        time.sleep(0.3)
        sched.stop(timeout=30)  # bounded join: a stop that waited out the 60 s delay would leave it running
        assert not sched.running


async def test_async_stop_is_prompt(tmp_path):
    rec = Recorder()
    with EstTestServer(cert_lifetime=60) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=45)
        port = srv.port
    conf = EstClientConfig(f"https://127.0.0.1:{port}", trust=TrustAnchors.from_pem(srv.trust_anchor_pem))
    cfg = RenewalConfig(renewal_threshold=50, check_interval=3600, initial_retry_delay=60, event_callback=rec)
    async with AsyncEstClient(conf) as client:
        sched = AsyncRenewalScheduler(client, cfg, cert_path, key_path)
        sched.start()
        assert await rec.async_wait_for(RenewalFailed, timeout=20)
        # stop() without a timeout waits for the task to end by itself (with one it would cancel the task and hide
        # a stop that waits out the 60 s delay); the outer bound turns such a stop into a TimeoutError here
        await asyncio.wait_for(sched.stop(), 30)
        assert not sched.running


# ----------------------------------------------------------------------------- crashes

_CHILD_RENEW = textwrap.dedent("""
    import os, signal, sys
    _unused_src = sys.argv[1]  # the package under test is the one installed for this interpreter
    from estclient import EstClient, EstClientConfig, TrustAnchors
    from estclient import renewal
    url, trust_path, cert_path, key_path, kill_at = sys.argv[2:7]
    kill_at = int(kill_at)
    hits = []

    def fault(stage):
        hits.append(stage)
        if len(hits) == kill_at:
            print("killed at", stage, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    renewal._fault_point = fault
    conf = EstClientConfig(url, trust=TrustAnchors.from_pem(open(trust_path, "rb").read()))
    with EstClient(conf) as client:
        sched = renewal.RenewalScheduler(client, renewal.RenewalConfig(renewal_threshold=1, check_interval=1),
                                         cert_path, key_path)
        cert = sched.check_now(force=True)
    print("done", len(hits), flush=True)
""")

_CHILD_LOOP = textwrap.dedent("""
    import sys
    _unused_src = sys.argv[1]  # the package under test is the one installed for this interpreter
    from estclient.renewal import save_pair
    cert_path, key_path = sys.argv[2:4]
    pairs = [(open(sys.argv[i], "rb").read(), open(sys.argv[i + 1], "rb").read()) for i in (4, 6)]
    print("ready", flush=True)
    n = 0
    while True:
        c, k = pairs[n % 2]
        save_pair(cert_path, key_path, c, k)
        n += 1
""")


def check_files_after_crash(tmp_path: Path, cert_path: Path, key_path: Path, allowed: list[tuple[bytes, bytes]]):
    """Whatever a kill left: no final file is partial, load_identity yields one of the allowed pairs and leaves
    exactly that pair on disk (key 0600), with no temporary or .prev files."""
    for p in (cert_path, key_path, Path(previous_path(cert_path)), Path(previous_path(key_path))):
        if p.exists():  # anything under a final name was complete when it got there
            data = p.read_bytes()
            if p.name.endswith((".pem", ".pem.prev")):
                x509.load_pem_x509_certificate(data)
            else:
                serialization.load_pem_private_key(data, None)
    raw = (cert_path.read_bytes(), key_path.read_bytes())
    if raw not in allowed:  # only the documented window: new key beside the old certificate, old pair in .prev
        prev = (Path(previous_path(cert_path)).read_bytes(), Path(previous_path(key_path)).read_bytes())
        assert prev in allowed and raw[0] == prev[0]
    ident = load_identity(cert_path, key_path)
    pair = (ident.cert_pem, ident.key_pem)
    assert pair in allowed
    assert (cert_path.read_bytes(), key_path.read_bytes()) == pair
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([cert_path.name, key_path.name])
    assert mode_of(key_path) == 0o600
    return pair


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_renewing_process_killed_at_every_write_step(tmp_path):
    """The renewing process is SIGKILLed at the 1st, 2nd, ... fault point of its write, until it survives."""
    work = tmp_path / "pair"
    work.mkdir()
    cert_path, key_path = work / "device.pem", work / "device.key"
    with EstTestServer(cert_lifetime=3600) as srv:
        trust = tmp_path / "trust.pem"
        trust.write_bytes(srv.trust_anchor_pem)
        c0, k0 = srv.issue_client_identity("crash-me", san_dns=["crash.example"])
        save_pair(cert_path, key_path, c0, k0)
        outcomes = []
        kill_at = 1
        while True:
            current = (cert_path.read_bytes(), key_path.read_bytes())
            n_issued = len(srv.issued_certificates)
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD_RENEW, str(SRC), srv.url, str(trust), str(cert_path), str(key_path),
                 str(kill_at)],
                capture_output=True, timeout=60,
            )
            out = proc.stdout.decode()
            issued = srv.issued_certificates[n_issued:]
            assert len(issued) == 1, (out, proc.stderr.decode()[-2000:])
            new_cert_pem = issued[0].public_bytes(serialization.Encoding.PEM)
            if proc.returncode == 0:
                assert out.startswith("done")
                assert cert_path.read_bytes() == new_cert_pem
                break
            assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
            assert out.startswith("killed at")
            # the new pair: the issued certificate with whichever key the child wrote (it matches the cert)
            allowed = [current]
            if cert_path.read_bytes() == new_cert_pem:
                allowed.append((new_cert_pem, key_path.read_bytes()))
            pair = check_files_after_crash(work, cert_path, key_path, allowed)
            load_identity(cert_path, key_path)  # loads again, unchanged
            outcomes.append((out.split()[-1], "new" if pair[0] == new_cert_pem else "old"))
            kill_at += 1
            assert kill_at < 40
    stages = [s for s, _ in outcomes]
    for stage in ("temp-half-written", "prev-key-written", "prev-written", "temps-written", "key-renamed",
                  "cert-renamed"):
        assert stage in stages, stages
    assert dict(outcomes)["key-renamed"] == "old" and dict(outcomes)["cert-renamed"] == "new"
    assert {o for _, o in outcomes} == {"old", "new"}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_write_loop_killed_at_random_moments(tmp_path):
    with EstTestServer() as srv:
        pairs = [srv.issue_client_identity(f"loop-{i}") for i in range(2)]
    src = tmp_path / "src"
    src.mkdir()
    args = []
    for i, (c, k) in enumerate(pairs):
        (src / f"c{i}").write_bytes(c)
        (src / f"k{i}").write_bytes(k)
        args += [str(src / f"c{i}"), str(src / f"k{i}")]
    work = tmp_path / "pair"
    work.mkdir()
    cert_path, key_path = work / "device.pem", work / "device.key"
    save_pair(cert_path, key_path, *pairs[0])
    rng = random.Random(7030)
    seen = set()
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", _CHILD_LOOP, str(SRC), str(cert_path), str(key_path), *args],
                                stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.01, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        seen.add(check_files_after_crash(work, cert_path, key_path, pairs)[0])
    assert seen  # at least one state observed; both pairs usually are


def test_no_key_bytes_in_logs(tmp_path, caplog):
    caplog.set_level("DEBUG", logger="estclient")
    with EstTestServer(cert_lifetime=60) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=20)
        cfg = RenewalConfig(renewal_threshold=50, check_interval=30)
        with EstClient(client_config(srv.url, srv)) as client:
            RenewalScheduler(client, cfg, cert_path, key_path).check_now()
    key_pem = key_path.read_bytes()
    body = b"".join(key_pem.splitlines()[1:-1]).decode()
    assert "renewed" in caplog.text
    assert body[:40] not in caplog.text and "PRIVATE KEY" not in caplog.text


def test_renewal_error_is_an_est_error():
    assert issubclass(RenewalError, EstError)


def test_encrypted_key_file_and_chain_kept(tmp_path):
    """key_password: the key files are read and written encrypted; a chain after the leaf in the certificate
    file is kept when the server returns the new certificate alone."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption

    password = b"correct horse"
    with EstTestServer(cert_lifetime=60, ca_intermediate=True) as srv:
        cert_pem, key_pem = srv.issue_client_identity("chained", lifetime=20)
        intermediate_pem = srv.issuer_certificate.public_bytes(serialization.Encoding.PEM)
        assert srv.issuer_certificate != srv.ca_certificate
        encrypted = serialization.load_pem_private_key(key_pem, None).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, BestAvailableEncryption(password))
        cert_path, key_path = tmp_path / "chained.pem", tmp_path / "chained.key"
        save_pair(cert_path, key_path, cert_pem + intermediate_pem, encrypted, key_password=password)
        cfg = RenewalConfig(renewal_threshold=50, check_interval=30, key_password=password)
        with EstClient(client_config(srv.url, srv)) as client:
            new = RenewalScheduler(client, cfg, cert_path, key_path).check_now()
        assert new is not None
        data = key_path.read_bytes()
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") and mode_of(key_path) == 0o600
        key = serialization.load_pem_private_key(data, password)
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        assert [c.serial_number for c in chain] == [new.serial_number, srv.issuer_certificate.serial_number]
        assert spki(chain[0]) == spki(key)
        with pytest.raises(RenewalError):
            load_identity(cert_path, key_path)  # without the password the pair cannot be loaded
        assert load_identity(cert_path, key_path, key_password=password).key_pem == data


def test_public_names_match_the_api_contract():
    import dataclasses
    import inspect

    import estclient.renewal as R

    for name in R.__all__:
        assert hasattr(R, name), name
    params = list(inspect.signature(RenewalConfig).parameters.values())
    assert [p.name for p in params[:5]] == [
        "renewal_threshold", "check_interval", "max_retries", "initial_retry_delay", "event_callback"]
    assert [p.default for p in params[2:5]] == [3, 1.0, None]
    assert list(inspect.signature(RenewalScheduler).parameters) == ["client", "config", "cert_path", "key_path"]
    assert list(inspect.signature(AsyncRenewalScheduler).parameters) == ["client", "config", "cert_path", "key_path"]
    for cls in (RenewalScheduler, AsyncRenewalScheduler):
        for method in ("start", "stop", "check_now"):
            assert callable(getattr(cls, method))
    assert inspect.iscoroutinefunction(AsyncRenewalScheduler.check_now)
    assert inspect.iscoroutinefunction(AsyncRenewalScheduler.stop)
    fields = {cls: [f.name for f in dataclasses.fields(cls)] for cls in (
        CheckStarted, RenewalNeeded, RenewalStarted, RenewalSucceeded, RenewalFailed, RenewalExhausted)}
    assert fields[CheckStarted] == [] and fields[RenewalStarted] == []
    assert fields[RenewalNeeded] == ["expires_at"]
    assert fields[RenewalSucceeded] == ["certificate"]
    assert fields[RenewalFailed][:2] == ["error", "attempt"]
    assert fields[RenewalExhausted] == ["last_error"]
    err = TransportError("down")
    assert RenewalFailed(err, 2) == RenewalFailed(error=err, attempt=2, retry_in=None)
    assert inspect.signature(write_atomic).parameters["mode"].default == 0o600


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_client_presents_the_renewed_certificate(tmp_path, mode):
    """After renewing a certificate that then expires, the same client keeps working: the TLS handshake (which
    refuses an expired client certificate) and /simplereenroll (which wants the certificate being renewed) see
    the new certificate. A client still holding the old pair is refused."""
    from estclient import ClientIdentity
    from estclient.csr import CsrBuilder

    # idle_timeout: the server closes kept-alive connections, so later requests need a new TLS handshake
    with EstTestServer(cert_lifetime=3600, idle_timeout=1.0) as srv:
        cert_path, key_path = setup_pair(tmp_path, srv, lifetime=3)
        old_cert, _ = disk_pair(cert_path, key_path)
        old_identity = ClientIdentity(cert_path.read_bytes(), key_path.read_bytes())
        cfg = RenewalConfig(renewal_threshold=60, check_interval=30)

        def request():
            return CsrBuilder().common_name("device-1").san_dns("device-1.example")

        def wait_for_expiry():
            left = (old_cert.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)).total_seconds()
            time.sleep(max(0.0, left) + 1.5)

        if mode == "sync":
            with EstClient(client_config(srv.url, srv)) as client:
                sched = RenewalScheduler(client, cfg, cert_path, key_path)
                first = sched.check_now()
                wait_for_expiry()
                second = client.simple_reenroll(request()).certificate  # the client itself, not the scheduler
        else:
            async def run():
                async with AsyncEstClient(client_config(srv.url, srv)) as client:
                    sched = AsyncRenewalScheduler(client, cfg, cert_path, key_path)
                    first = await sched.check_now()
                    await asyncio.to_thread(wait_for_expiry)
                    return first, (await client.simple_reenroll(request())).certificate

            first, second = asyncio.run(run())
        assert first is not None and second is not None and first.serial_number != second.serial_number
        ok = [r for r in srv.requests if r.operation == "simplereenroll" and r.status == 200]
        assert len(ok) == 2 and all(r.authenticated_by == "certificate" for r in ok)
        # control: the expired old pair no longer gets through
        stale_config = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem),
                                       client_identity=old_identity, timeout=10.0)
        with EstClient(stale_config) as stale:
            with pytest.raises(EstError):
                stale.simple_reenroll(request())


@pytest.mark.parametrize("value", [float("inf"), 11 * 365 * 86400.0])
def test_unbounded_max_pending_wait_is_refused_when_made(value):
    # an infinite budget used to be accepted here and refused only when renewal met its first 202
    with pytest.raises(ConfigError, match="max_pending_wait"):
        RenewalConfig(renewal_threshold=60, check_interval=10, max_pending_wait=value)
