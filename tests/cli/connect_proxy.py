"""A tiny HTTP CONNECT proxy on 127.0.0.1 for the ``--proxy`` tests: threads, every loop bounded, every socket
closed by ``stop()``. It records each CONNECT target and the Proxy-Authorization it received, and tunnels bytes
both ways without looking at them (TLS stays end to end)."""
from __future__ import annotations

import base64
import select
import socket
import threading

_MAX_HEAD = 8192
_MAX_TUNNELS = 32
_IDLE_SECONDS = 20.0


class ConnectProxy:
    """``with ConnectProxy(user=..., password=...) as proxy: proxy.url``; ``proxy.targets`` lists the
    ``host:port`` of each tunnel opened."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self._auth = None
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._auth = f"Basic {token}"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets: list[str] = []
        self.refused = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> "ConnectProxy":
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass
        self._listener.close()
        for t in self._threads:
            t.join(timeout=5)

    def _accept(self) -> None:
        accepted = 0
        while not self._stop.is_set() and accepted < _MAX_TUNNELS:
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            accepted += 1
            with self._lock:
                self._sockets.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _read_head(self, conn: socket.socket) -> bytes:
        head = b""
        conn.settimeout(5)
        while b"\r\n\r\n" not in head and len(head) < _MAX_HEAD:
            chunk = conn.recv(1024)
            if not chunk:
                break
            head += chunk
        return head

    def _serve(self, conn: socket.socket) -> None:
        try:
            head = self._read_head(conn)
            lines = head.split(b"\r\n")
            method, _, rest = lines[0].decode("latin-1").partition(" ")
            target = rest.split(" ", 1)[0]
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.decode("latin-1").partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if method != "CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
                return
            if self._auth is not None and headers.get("proxy-authorization") != self._auth:
                self.refused += 1
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"proxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            if host != "127.0.0.1":  # loopback only
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                return
            upstream = socket.create_connection((host, int(port)), timeout=5)
            with self._lock:
                self._sockets.append(upstream)
            self.targets.append(target)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(conn, upstream)
        except OSError:
            pass
        finally:
            conn.close()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(peers), [], [], _IDLE_SECONDS)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                peers[s].sendall(data)
