"""Prometheus metrics of the renewal agent (optional extra ``metrics``: ``pip install estclient[metrics]``).

Every series carries the label ``certificate`` (the certificate's name in the agent's config):

- ``est_certificate_not_after_timestamp_seconds`` (gauge): notAfter of the certificate in use;
- ``est_certificate_renew_at_timestamp_seconds`` (gauge): when the renewal policy makes it due;
- ``est_renewal_attempts_total{result}`` (counter): renewal and enrollment attempts by result
  (``success``, ``failure``, ``pending``);
- ``est_last_renewal_success_timestamp_seconds`` (gauge): when a new pair was last stored;
- ``est_operation_duration_seconds{operation}`` (histogram): ``enroll``, ``reenroll``, ``hook``, ``check``;
- ``est_hook_failures_total`` (counter): deploy hook runs that failed.

They are served over HTTP (:meth:`AgentMetrics.serve`) and/or written to a textfile for node_exporter's
textfile collector (:meth:`AgentMetrics.write_textfile`, atomically).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

from .errors import ConfigError

__all__ = ["AgentMetrics", "metrics_available", "parse_listen"]


def metrics_available() -> bool:
    """True when ``prometheus-client`` is installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9469"``, ``"[::1]:9469"`` or ``":9469"`` (all addresses) -> (address, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"metrics listen address must be HOST:PORT, got {text[:60]!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class AgentMetrics:
    """The agent's metrics in a registry of their own, for one certificate ``name``."""

    def __init__(self, name: str) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError:
            raise ConfigError("metrics need the prometheus-client package: pip install 'estclient[metrics]'") \
                from None
        self.name = name
        self.registry = CollectorRegistry()
        labels = ["certificate"]
        self.not_after = Gauge("est_certificate_not_after_timestamp_seconds",
                               "notAfter of the certificate in use (Unix time)", labels, registry=self.registry)
        self.renew_at = Gauge("est_certificate_renew_at_timestamp_seconds",
                              "When the renewal policy makes the certificate due (Unix time)", labels,
                              registry=self.registry)
        self.attempts = Counter("est_renewal_attempts", "Renewal and enrollment attempts by result",
                                labels + ["result"], registry=self.registry)
        self.last_success = Gauge("est_last_renewal_success_timestamp_seconds",
                                  "When a new pair was last stored (Unix time)", labels, registry=self.registry)
        self.duration = Histogram("est_operation_duration_seconds", "Duration of agent operations",
                                  labels + ["operation"], registry=self.registry,
                                  buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        self.hook_failures = Counter("est_hook_failures", "Deploy hook runs that failed", labels,
                                     registry=self.registry)
        for result in ("success", "failure", "pending"):  # present from the start, at 0
            self.attempts.labels(name, result)
        self._server: Any = None
        self._thread: Any = None

    def set_certificate(self, cert: Any, renew_at: float | None = None) -> None:
        """Record the certificate in use (a ``cryptography`` certificate) and when it becomes due."""
        self.not_after.labels(self.name).set(cert.not_valid_after_utc.timestamp())
        if renew_at is not None:
            self.renew_at.labels(self.name).set(renew_at)

    def attempt(self, result: str) -> None:
        """Count one attempt with ``result`` (``success``, ``failure`` or ``pending``)."""
        self.attempts.labels(self.name, result).inc()
        if result == "success":
            self.last_success.labels(self.name).set(time.time())

    def hook_failed(self) -> None:
        """Count one failed deploy hook run."""
        self.hook_failures.labels(self.name).inc()

    @contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        """Observe the duration of the ``with`` block as ``operation`` (also when it raises)."""
        start = time.monotonic()
        try:
            yield
        finally:
            self.duration.labels(self.name, operation).observe(time.monotonic() - start)

    def serve(self, listen: str) -> int:
        """Serve ``/metrics`` over HTTP on ``listen`` (HOST:PORT; port 0 picks one) in a daemon thread;
        returns the port."""
        from prometheus_client import start_http_server

        host, port = parse_listen(listen)
        try:
            self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {listen}: {exc.strerror or exc}") from None
        return int(self._server.server_port)

    def stop(self) -> None:
        """Stop the HTTP endpoint (if serving)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def write_textfile(self, path: str) -> None:
        """Write the metrics to ``path`` for node_exporter's textfile collector (a temporary file renamed
        into place, so the collector never reads half a file)."""
        from prometheus_client import write_to_textfile

        try:
            write_to_textfile(path, self.registry)
        except OSError as exc:
            raise ConfigError(f"cannot write metrics textfile {path}: {exc.strerror or exc}") from None

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))
