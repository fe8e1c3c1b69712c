"""The one flow engine (estclient._engine): EstClient and AsyncEstClient run the same flow objects through the
same driver loop, over the transport seam (estclient.transport).

Two layers: the real reference server over TLS on loopback (both clients, the same flows, the same results and
the same requests on the wire), and the sans-IO layer (scripted transports that answer from a list, sync and
async, so the loop's rules show in the requests it makes)."""
from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from estclient import flows as F
from estclient import protocol as P
from estclient._engine import Stopped
from estclient._polling import DEFAULT_RETRY_AFTER, PendingWait
from estclient.client import AsyncEstClient, EstClient
from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import AuthenticationRequired, TransportError
from estclient.testing import EstTestServer
from estclient.tls import ConnectionInfo
from estclient.transport import Received, StaleConnection

from loopback import make_ca

SRC = Path(__file__).resolve().parents[2] / "src" / "estclient"


def conf(srv: EstTestServer, **kw: Any) -> EstClientConfig:
    kw.setdefault("trust", TrustAnchors.from_pem(srv.trust_anchor_pem))
    kw.setdefault("timeout", 15.0)
    return EstClientConfig(srv.url, **kw)


def settled(srv: EstTestServer, n: int) -> list[tuple[str, int]]:
    """(operation, status) of the server's first ``n`` records (it appends each after answering: wait for them)."""
    for _ in range(300):  # bounded: 3 s
        if len(srv.requests) >= n:
            break
        time.sleep(0.01)
    return [(r.operation, r.status) for r in list(srv.requests)[:n]]


def composite(cn: str) -> Any:
    """A flow of flows: /csrattrs, then an enrollment as an operation of its own, then a call: what a new EST
    operation or automatic renewal writes, run unchanged by either client."""

    def flow(cfg: EstClientConfig, state: F.FlowState) -> F.Flow:
        attrs = yield from F.get_csr_attributes(cfg, state)
        builder = CsrBuilder().common_name(cn)
        issued = yield F.Operation(lambda c, s: F.enroll_and_wait(c, s, builder, max_wait=30))
        subject = yield F.Call(lambda cert: cert.subject.rfc4514_string(), (issued.certificate,), blocking=True)
        return len(list(attrs)), subject, issued.certificate.public_key_info.to_der() == builder.public_key_spki()

    return flow


# ------------------------------------------------------------------------------ the real server, both drivers


def test_both_drivers_run_the_same_flow_with_the_same_results() -> None:
    with EstTestServer(auth="basic", pending_retry_after=1) as srv:
        cfg = conf(srv, http_auth=HttpAuth(srv.username, srv.password), channel_binding="off", min_retry_delay=0.1)
        with EstClient(cfg) as c:
            sync_result = c._run(composite("engine-1")(c.config, c._state))
        n = len(srv.requests)
        sync_wire = settled(srv, n)

        async def run() -> Any:
            async with AsyncEstClient(cfg) as c:
                return await c._run(composite("engine-1")(c.config, c._state))

        async_result = asyncio.run(run())
        async_wire = settled(srv, 2 * n)[n:]
    assert sync_result == async_result == (async_result[0], "CN=engine-1", True)
    # the same requests in the same order: csrattrs, 401 then the Basic retry, 202, the repeat that is issued
    assert sync_wire == async_wire
    assert [op for op, _ in sync_wire].count("simpleenroll") >= 2 and ("simpleenroll", 202) in sync_wire


def test_the_transport_reports_the_connection_with_each_response() -> None:
    # the seam gives the flows the TLS version, tls-unique (TLS 1.2 only) and the verified peer chain
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    def flow(cfg: EstClientConfig, state: F.FlowState) -> F.Flow:
        rec = yield F.Send(P.build_cacerts_request(), pinned=True, tls12_only=True)
        return rec.connection

    with EstTestServer(auth=None) as srv:
        cfg = conf(srv)
        with EstClient(cfg) as c:
            sync_info = c._run(flow(c.config, c._state))

        async def run() -> Any:
            async with AsyncEstClient(cfg) as c:
                return await c._run(flow(c.config, c._state))

        async_info = asyncio.run(run())
        anchor = x509.load_pem_x509_certificate(srv.trust_anchor_pem).public_bytes(Encoding.DER)
    for info in (sync_info, async_info):
        assert info.version == "TLSv1.2" and info.tls_unique and len(info.tls_unique) >= 12
        leaf = x509.load_der_x509_certificate(info.peer_chain[0])
        assert leaf.issuer == x509.load_der_x509_certificate(anchor).subject and info.peer_chain[0] != anchor
    assert sync_info.peer_chain == async_info.peer_chain and sync_info.tls_unique != async_info.tls_unique


def test_renewal_is_a_flow_of_the_same_engine() -> None:
    # no drive loop of its own: the scheduler hands its flow to the client (stop event included)
    import inspect

    from estclient import renewal

    assert not hasattr(renewal.RenewalScheduler, "_drive") and not hasattr(renewal.AsyncRenewalScheduler, "_drive")
    assert "_run(self._core.flow(force), stop=" in inspect.getsource(renewal.RenewalScheduler.check_now)
    assert "_run(self._core.flow(force), stop=" in inspect.getsource(renewal.AsyncRenewalScheduler.check_now)
    assert renewal.DEFAULT_PENDING_DELAY == F.DEFAULT_RETRY_AFTER == DEFAULT_RETRY_AFTER


# ------------------------------------------------------------------------------ sans-IO: scripted transports

URL = "https://est.example:8443"
TRUST = TrustAnchors.from_pem(make_ca().cert_pem)
CHALLENGE = [("WWW-Authenticate", 'Basic realm="est"')]
NO_ATTRS = Received(P.EstResponse(204), ConnectionInfo("TLSv1.3"))


class Script:
    """The answers of a fake server, shared by the sync and async fakes; ``log`` records what was sent."""

    def __init__(self, answers: list[Received | BaseException]) -> None:
        self.answers = list(answers)
        self.log: list[tuple[str, str, bool, float]] = []  # (method, path, credentials?, deadline seconds)
        self.opened = 0
        self.closed = 0

    def answer(self, request: P.EstRequest, credentials: HttpAuth | None, deadline: Any) -> Received:
        self.log.append((request.method, request.path, credentials is not None, deadline.seconds))
        item = self.answers.pop(0)  # a request the script did not expect fails the test with IndexError
        if isinstance(item, BaseException):
            raise item
        return item


class SyncFake:
    def __init__(self, script: Script) -> None:
        self.script = script

    def open(self, context: Any, max_connections: int) -> SyncFake.Chan:
        self.script.opened += 1
        return SyncFake.Chan(self.script)

    class Chan:
        def __init__(self, script: Script) -> None:
            self.script = script

        def send(self, request: P.EstRequest, credentials: HttpAuth | None, deadline: Any) -> Received:
            return self.script.answer(request, credentials, deadline)

        def close(self) -> None:
            self.script.closed += 1


class AsyncFake:
    def __init__(self, script: Script) -> None:
        self.script = script

    def open(self, context: Any, max_connections: int) -> AsyncFake.Chan:
        self.script.opened += 1
        return AsyncFake.Chan(self.script)

    class Chan:
        def __init__(self, script: Script) -> None:
            self.script = script

        async def send(self, request: P.EstRequest, credentials: HttpAuth | None, deadline: Any) -> Received:
            await asyncio.sleep(0)
            return self.script.answer(request, credentials, deadline)

        async def aclose(self) -> None:
            self.script.closed += 1


def run_both(flow_of: Any, answers: list[Received | BaseException], **cfg: Any) -> tuple[Any, Any, Script, Script]:
    """Run ``flow_of(config, state)`` through EstClient and AsyncEstClient over scripted transports with the same
    answers; returns (sync outcome, async outcome, sync script, async script), an outcome being the result or
    the exception's type and message."""
    cfg.setdefault("trust", TRUST)
    config = EstClientConfig(URL, **cfg)
    s_script, a_script = Script(answers), Script(answers)

    def outcome(fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            return type(exc).__name__, str(exc)

    with EstClient(config, transport=SyncFake(s_script)) as c:
        s_out = outcome(lambda: c._run(flow_of(c.config, c._state)))

    async def run() -> Any:
        async with AsyncEstClient(config, transport=AsyncFake(a_script)) as c:
            try:
                return await c._run(flow_of(c.config, c._state))
            except Exception as exc:
                return type(exc).__name__, str(exc)

    return s_out, asyncio.run(run()), s_script, a_script


def test_fake_transport_both_drivers_same_transcript_401_then_credentials() -> None:
    answers: list[Received | BaseException] = [
        Received(P.EstResponse(401, CHALLENGE), ConnectionInfo("TLSv1.3"), True), NO_ATTRS]
    s, a, ss, sa = run_both(F.get_csr_attributes, answers, http_auth=HttpAuth("u", "p"))
    assert type(s).__name__ == type(a).__name__ == "CsrAttrs" and len(list(s)) == len(list(a)) == 0
    path, total = "/.well-known/est/csrattrs", EstClientConfig(URL, trust=TRUST).operation_timeout
    assert ss.log == sa.log == [("GET", path, False, total), ("GET", path, True, total)]


def test_fake_transport_credentials_never_over_unverified_tls() -> None:
    # the bootstrap /cacerts goes out unverified: the engine attaches nothing, whatever the flow asks
    fp = "00" * 32
    answers: list[Received | BaseException] = [Received(P.EstResponse(401, CHALLENGE), ConnectionInfo("TLSv1.3"))]
    s, a, ss, sa = run_both(F.get_ca_certs, answers, trust=TrustAnchors.bootstrap(fingerprint_sha256=fp),
                            http_auth=HttpAuth("u", "p"))
    assert s == a and s[0] == "BootstrapVerificationError"
    assert ss.log == sa.log and [cred for _, _, cred, _ in ss.log] == [False]


def test_fake_transport_one_retry_after_a_dropped_connection() -> None:
    dropped = StaleConnection(TransportError("RemoteProtocolError: Server disconnected"))
    s, a, ss, sa = run_both(F.get_csr_attributes, [dropped, NO_ATTRS])
    assert len(list(s)) == len(list(a)) == 0 and len(ss.log) == len(sa.log) == 2  # retried once, then answered
    s, a, ss, sa = run_both(F.get_csr_attributes, [dropped, dropped])
    assert s == a == ("TransportError", "RemoteProtocolError: Server disconnected") and len(ss.log) == 2


def test_fake_transport_total_deadline_before_sending() -> None:
    s, a, ss, sa = run_both(F.get_csr_attributes, [], operation_timeout=1e-9)
    assert s[0] == a[0] == "TransportError" and "total deadline" in s[1] and ss.log == sa.log == []


def test_fake_transport_an_unverified_request_after_bootstrap_is_refused() -> None:
    def flow(cfg: EstClientConfig, state: F.FlowState) -> F.Flow:
        yield F.Send(P.build_cacerts_request(), verify=False)

    s, a, ss, sa = run_both(flow, [])
    assert s == a and s[0] == "TlsConfigError" and "unverified" in s[1] and ss.log == sa.log == []


def test_fake_transport_202_waits_through_the_policy_and_frees_the_slot() -> None:
    pending = Received(P.EstResponse(202, [("Retry-After", "0")]), ConnectionInfo("TLSv1.3"))
    waits: list[tuple[float, int]] = []

    def flow(cfg: EstClientConfig, state: F.FlowState) -> F.Flow:
        wait = PendingWait(5, min_delay=0.01, on_wait=lambda d, n: waits.append((d, n)))
        for _ in range(3):
            rec = yield F.Send(P.build_csrattrs_request())
            if rec.response.status != 202:
                return "done"
            yield F.Sleep(wait.next_delay(P.parse_retry_after(rec.response.headers.get("retry-after"))))
        return "still pending"

    s, a, ss, sa = run_both(flow, [pending, pending, NO_ATTRS], max_connections=1)
    assert s == a == "done" and len(ss.log) == len(sa.log) == 3
    assert waits == [(0.01, 1), (0.01, 2)] * 2  # the floor, each wait told to the hook with its attempt


def test_fake_transport_calls_and_nested_operations() -> None:
    seen: list[str] = []

    def flow(cfg: EstClientConfig, state: F.FlowState) -> F.Flow:
        got = yield F.Call(lambda x: x * 2, (21,), blocking=True)
        seen.append("call")
        try:
            yield F.Call(lambda: 1 / 0)
        except ZeroDivisionError:
            seen.append("thrown into the flow")
        try:
            yield F.Operation(F.get_csr_attributes)
        except AuthenticationRequired:
            seen.append("nested failure thrown into the flow")
        attrs = yield F.Operation(F.get_csr_attributes)
        return got, len(list(attrs))

    four01 = Received(P.EstResponse(401, CHALLENGE), ConnectionInfo("TLSv1.3"), True)
    s, a, ss, sa = run_both(flow, [four01, NO_ATTRS])
    assert s == a == (42, 0) and ss.log == sa.log
    assert seen == ["call", "thrown into the flow", "nested failure thrown into the flow"] * 2


def test_a_stop_cuts_waits_short_and_refuses_new_operations() -> None:
    def flow(cfg: EstClientConfig, state: F.FlowState) -> F.Flow:
        cut = yield F.Sleep(3600)
        try:
            yield F.Operation(F.get_csr_attributes)
        except Stopped:
            return cut, "stopped"
        return cut, "ran"

    script = Script([])
    stop = threading.Event()
    stop.set()
    with EstClient(EstClientConfig(URL, trust=TRUST), transport=SyncFake(script)) as c:
        assert c._run(flow(c.config, c._state), stop=stop) == (True, "stopped")

    async def run() -> Any:
        event = asyncio.Event()
        event.set()
        async with AsyncEstClient(EstClientConfig(URL, trust=TRUST), transport=AsyncFake(script)) as c:
            return await c._run(flow(c.config, c._state), stop=event)

    assert asyncio.run(run()) == (True, "stopped") and script.log == []


def test_the_engine_itself_is_sans_io() -> None:
    """_engine_run yields I/O requests and receives their results: stepped here by hand, without any adapter."""
    from estclient import _engine as E

    client = EstClient(EstClientConfig(URL, trust=TRUST), transport=SyncFake(Script([])))
    run = client._engine_run(F.get_csr_attributes(client.config, client._state))
    asked = [type(run.send(None)).__name__]  # the queue slot: taken here by hand
    client._slots.acquire()
    io = run.send(None)
    asked.append(type(io).__name__)
    assert isinstance(io, E._Transmit) and io.request.path.endswith("/csrattrs")
    with pytest.raises(StopIteration) as done:
        run.send(NO_ATTRS)
    assert asked == ["_Acquire", "_Transmit"] and len(list(done.value.value)) == 0
    assert client._slots.in_use == 0  # given back by the engine
    client.close()


# ------------------------------------------------------------------------------ the seam holds

ABOVE_TRANSPORT = ["flows.py", "protocol.py", "_protocol_media.py", "_protocol_types.py", "_protocol_checks.py",
                   "_protocol_keygen.py", "_protocol_cmc.py", "_engine.py", "client.py", "transport.py", "_polling.py",
                   "_deadline.py", "renewal.py", "fleet.py"]


@pytest.mark.parametrize("name", ABOVE_TRANSPORT)
def test_nothing_above_the_transport_imports_httpx(name: str) -> None:
    tree = ast.parse((SRC / name).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"httpx", "httpcore"}, name


def test_the_client_modules_load_without_httpx() -> None:
    code = ("import sys\nimport estclient.client, estclient.flows, estclient._engine, estclient.transport\n"
            "print('httpx' in sys.modules, 'httpcore' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=120, text=True)
    assert out.stdout.split() == ["False", "False"]
