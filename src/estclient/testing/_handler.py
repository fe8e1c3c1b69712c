"""The reference server's connections: a listening socket with a bounded pool of worker threads
(``_Server``), and the per-connection handler (``_Handler``) that does the TLS handshake, reads each
request, authenticates it, runs its operation and records and sends the answer."""
from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable, Mapping

from cryptography import x509

from ._auth import authenticate
from ._fullcmc import fullcmc
from ._http import GET_OPS, Exchange, HttpError, Reply, check_method, read_body, route
from ._operations import cacerts, csrattrs, serverkeygen, simpleenroll, simplereenroll
from ._state import RequestRecord, ServerState

_OPERATIONS: dict[str, Callable[[Exchange, bytes], Reply]] = {
    "cacerts": cacerts, "csrattrs": csrattrs, "simpleenroll": simpleenroll, "simplereenroll": simplereenroll,
    "serverkeygen": serverkeygen, "fullcmc": fullcmc,
}


class _Server(HTTPServer):
    """The listening socket plus a bounded pool of worker threads, one connection per worker at a time.

    The accept loop (``serve_forever``) only queues accepted sockets; the TLS handshake and the requests run in
    a worker. Workers are started as connections arrive, up to ``max_workers``; past that, connections wait in
    a FIFO queue (and, before ``accept``, in a listen backlog of ``request_queue_size``) until a worker is free,
    so a burst of thousands of clients costs a queue entry each, not a thread each. A keep-alive connection
    holds its worker until the client closes it or stays idle for ``idle_timeout``: the server serves
    ``max_workers`` connections at the same time.
    """

    allow_reuse_address = False
    request_queue_size = 1024
    max_workers = 64

    def __init__(self, address: tuple[str, int], est: ServerState) -> None:
        self.est = est
        super().__init__(address, _Handler)
        self._pool_cond = threading.Condition()
        self._queued: deque[tuple[Any, Any]] = deque()
        self._workers: list[threading.Thread] = []
        self._idle = 0
        self._closing = False

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._pool_cond:
            if self._closing:
                self.shutdown_request(request)
                return
            self._queued.append((request, client_address))
            if len(self._queued) > self._idle and len(self._workers) < self.max_workers:
                worker = threading.Thread(target=self._work, name=f"EstTestServer-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
            self._pool_cond.notify()

    def _work(self) -> None:
        while True:
            with self._pool_cond:
                self._idle += 1
                while not self._queued and not self._closing:
                    self._pool_cond.wait()
                self._idle -= 1
                if self._closing:
                    return
                request, client_address = self._queued.popleft()
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._pool_cond:
            self._closing = True
            queued, self._queued = list(self._queued), deque()
            self._pool_cond.notify_all()
        for request, _ in queued:  # accepted but never served
            self.shutdown_request(request)

    @property
    def worker_count(self) -> int:
        return len(self._workers)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        # connection resets and the like are part of life for a test server: no tracebacks on stderr
        self.est._note_error()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    server_version = "EstTestServer"
    sys_version = ""
    server: _Server
    request: ssl.SSLSocket

    # ---------------------------------------------------------------------------------- connection

    def setup(self) -> None:
        est = self.server.est
        self.est = est
        self.timeout = est.idle_timeout  # type: ignore[misc]  # per connection, read by StreamRequestHandler
        self.tls_ok = False
        self.connection_id = est._new_connection(self.request)
        self.peer_cert: x509.Certificate | None = None
        self.tls_unique: bytes | None = None
        self.tls_version_name: str | None = None
        try:
            self.request.settimeout(est.idle_timeout)
            self.request.do_handshake()
            self.tls_ok = True
            self.tls_version_name = self.request.version()
            if self.tls_version_name in ("TLSv1.2", "TLSv1.1", "TLSv1"):
                self.tls_unique = self.request.get_channel_binding("tls-unique")
            der = self.request.getpeercert(binary_form=True)
            if der:
                self.peer_cert = x509.load_der_x509_certificate(der)
        except (OSError, ssl.SSLError, ValueError):
            est._note_tls_failure()
        super().setup()

    def handle(self) -> None:
        if self.tls_ok:
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.est._end_connection(self.request)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # ---------------------------------------------------------------------------------- dispatch

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        started = time.perf_counter()
        auth_by: str | None = None
        op: str | None = None
        label: str | None = None
        reason: str | None = None
        body = b""
        try:
            body = read_body(self.rfile, self.headers)
            op, label = route(self.path, self.est)
            check_method(op, method)
            exchange = Exchange(self.est, method, self.path, self.headers, self.peer_cert, self.tls_unique)
            if op not in GET_OPS or self.est.auth_csrattrs and op == "csrattrs":
                auth_by = authenticate(exchange)
            status, headers, payload = _OPERATIONS[op](exchange, body)
        except HttpError as err:
            (status, headers, payload), reason = err.reply()
        except Exception as exc:  # a bug in the test server must not hang the client
            status = 500
            headers = {"Content-Type": "text/plain; charset=utf-8"}
            payload = f"Error 500: internal error ({exc.__class__.__name__})\n".encode()
        # record before answering, so that a client that has its answer also finds the record
        subject = self.peer_cert.subject.rfc4514_string() if self.peer_cert is not None else None
        self.est._record(RequestRecord(
            self.connection_id, method, self.path, op, label, status, self.tls_version_name, auth_by, subject,
        ))
        self._send(status, headers, payload, reason)
        if self.est.verbose:
            ms = (time.perf_counter() - started) * 1000
            path = "".join(c if c.isprintable() and c != " " else "?" for c in self.path[:300])  # one line per request
            self.est._log(f"{method} {path} {status} auth={auth_by or '-'} "
                          f"in={len(body)} out={0 if method == 'HEAD' else len(payload)} {ms:.1f}ms")

    def _send(self, status: int, headers: Mapping[str, str], payload: bytes, reason: str | None = None) -> None:
        close = self.est.close_after_error and (status == 202 or status >= 400)
        close = close or headers.get("Connection", "").lower() == "close"
        close = close or self.headers.get("Transfer-Encoding") is not None
        self.send_response(status, reason)
        for name, value in headers.items():
            if name.lower() not in ("connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()
