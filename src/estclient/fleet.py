"""Enroll or re-enroll many identities at once through one :class:`~estclient.AsyncEstClient`.

::

    async with AsyncEstClient(config) as client:
        async with enroll_many(client, [FleetRequest(CsrBuilder().common_name(f"dev-{i}"), name=f"dev-{i}")
                                        for i in range(5000)], progress=print) as run:
            async for result in run:          # in the order they complete
                if result.ok:
                    save(result.name, result.issued.certificate)
                else:
                    log(result.name, result.error)

A fixed number of worker tasks (``concurrency``, by default the client's ``max_connections``) take the
requests one after another from the iterable, which is read lazily: memory and per-request cost do not grow
with the size of the fleet. Every request ends in exactly one :class:`FleetResult`, holding the
:class:`~estclient.Issued` certificate, the :class:`~estclient.Pending` answer, or the exception that ended
it; one identity's failure never stops the others. The ``progress`` callback gets a :class:`FleetProgress`
after each result, just before the result is handed out.

Re-enrollment (:func:`reenroll_many`) presents, for each identity, the certificate being renewed as the TLS
client certificate (RFC 7030 §4.2.2): give it as :attr:`FleetRequest.client_identity`; each such request
then runs on a short-lived client of its own that shares the configuration (and the trust anchors a
bootstrap found) of the client given. Without ``client_identity`` the shared client is used (an RA renewing
on behalf of its devices with its own identity).

Use the run as an ``async with`` block (or call :meth:`FleetRun.aclose`) when you may stop iterating early:
leaving it cancels the requests still in flight.
"""
from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .config import ClientIdentity

if TYPE_CHECKING:
    from estcodec.x509 import Certificate
from .protocol import Issued, Pending

__all__ = ["FleetRequest", "FleetResult", "FleetProgress", "FleetRun", "enroll_many", "reenroll_many"]


@dataclass(frozen=True)
class FleetRequest:
    """One identity to (re-)enroll: its CSR (a :class:`~estclient.CsrBuilder` or DER bytes), a ``name`` that
    tells its result apart (default: its position, as a string), and, for re-enrollment, the
    ``client_identity`` (certificate being renewed and its key) to present over TLS."""

    csr: Any
    name: str | None = None
    client_identity: ClientIdentity | None = None

    def __repr__(self) -> str:  # the identity holds a private key: never shown
        return f"FleetRequest(name={self.name!r})"


@dataclass(frozen=True)
class FleetResult:
    """The outcome for one request. Exactly one of ``issued``, ``pending`` and ``error`` is set."""

    index: int  # position of the request in the iterable given
    name: str
    request: FleetRequest
    issued: Issued | None = None
    pending: Pending | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when a certificate was issued for this request."""
        return self.issued is not None

    @property
    def status(self) -> str:
        """``"issued"``, ``"pending"`` or ``"failed"``."""
        return "issued" if self.issued is not None else "pending" if self.pending is not None else "failed"

    @property
    def certificate(self) -> Certificate | None:
        """The issued certificate (an :class:`estcodec.x509.Certificate`), or None."""
        return self.issued.certificate if self.issued is not None else None

    def __repr__(self) -> str:
        detail = f" error={type(self.error).__name__}: {self.error}" if self.error is not None else ""
        return f"<FleetResult #{self.index} {self.name!r} {self.status}{detail}>"


@dataclass(frozen=True)
class FleetProgress:
    """Counts after each result. ``total`` is None when the iterable has no ``len()``."""

    done: int
    total: int | None
    issued: int
    pending: int
    failed: int
    in_flight: int
    last: FleetResult


_DONE = object()


class FleetRun:
    """The running (or not yet started) fleet operation: an async iterator of :class:`FleetResult`, and an async
    context manager that cancels what is still in flight on exit. Workers start on the first ``__anext__``."""

    def __init__(
        self, operation: Callable[[FleetRequest], Any], requests: Iterable[Any], *, concurrency: int,
        progress: Callable[[FleetProgress], Any] | None,
    ) -> None:
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ValueError("concurrency must be a positive integer")
        self._operation = operation
        try:
            self.total: int | None = len(requests)  # type: ignore[arg-type]
        except TypeError:
            self.total = None
        self._source: Iterator[tuple[int, Any]] = enumerate(requests)
        self._concurrency = concurrency
        self._progress = progress
        self._queue: asyncio.Queue[Any] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._finished_workers = 0
        self._closed = False
        self.done = self.issued = self.pending = self.failed = 0
        self.in_flight = 0

    # -- iteration
    def __aiter__(self) -> FleetRun:
        return self

    async def __anext__(self) -> FleetResult:
        if self._queue is None:
            self._start()
        assert self._queue is not None
        while self._finished_workers < len(self._workers):
            item = await self._queue.get()
            if item is _DONE:
                self._finished_workers += 1
                continue
            if isinstance(item, _SourceFailed):
                await self.aclose()
                raise item.error
            result: FleetResult = item
            self.done += 1
            if result.issued is not None:
                self.issued += 1
            elif result.pending is not None:
                self.pending += 1
            else:
                self.failed += 1
            if self._progress is not None:
                self._progress(FleetProgress(self.done, self.total, self.issued, self.pending, self.failed,
                                             self.in_flight, result))
            return result
        raise StopAsyncIteration

    def _start(self) -> None:
        if self._closed:
            raise RuntimeError("this fleet run was closed")
        # bounded: workers wait for the consumer instead of piling results up
        self._queue = asyncio.Queue(maxsize=self._concurrency)
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            try:
                index, item = next(self._source)
            except StopIteration:
                break
            except Exception as exc:  # the caller's iterable failed: stop the run and say so
                await self._queue.put(_SourceFailed(exc))
                break
            request = item if isinstance(item, FleetRequest) else FleetRequest(item)
            name = request.name if request.name is not None else str(index)
            self.in_flight += 1
            try:
                outcome = await self._operation(request)
            except Exception as exc:  # noqa: BLE001 - one identity's failure is its result, not the run's
                result = FleetResult(index, name, request, error=exc)
            else:
                if isinstance(outcome, Issued):
                    result = FleetResult(index, name, request, issued=outcome)
                else:
                    result = FleetResult(index, name, request, pending=outcome)
            finally:
                self.in_flight -= 1
            await self._queue.put(result)
        await self._queue.put(_DONE)

    # -- closing
    async def aclose(self) -> None:
        """Cancel the requests still in flight and wait for the workers to stop."""
        self._closed = True
        workers, self._workers = self._workers, []
        self._finished_workers = 0
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    async def __aenter__(self) -> FleetRun:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


@dataclass(frozen=True)
class _SourceFailed:
    error: Exception


def _default_concurrency(client: Any, concurrency: int | None) -> int:
    return int(concurrency if concurrency is not None else client.config.max_connections)


def enroll_many(
    client: Any, requests: Iterable[FleetRequest | Any], *, concurrency: int | None = None,
    progress: Callable[[FleetProgress], Any] | None = None, max_wait: float | None = None,
) -> FleetRun:
    """``/simpleenroll`` for each request through ``client`` (an :class:`~estclient.AsyncEstClient`), at most
    ``concurrency`` at a time. Items may be :class:`FleetRequest` or bare CSRs. With ``max_wait`` (seconds) a
    202 answer is waited out (:meth:`~estclient.AsyncEstClient.enroll_and_wait`); without it, it becomes a
    ``pending`` result. Returns a :class:`FleetRun` to iterate with ``async for``."""

    async def one(request: FleetRequest) -> Any:
        if request.client_identity is not None:
            return await _with_identity(client, request.client_identity, request.csr, False, max_wait)
        if max_wait is not None:
            return await client.enroll_and_wait(request.csr, max_wait=max_wait)
        return await client.simple_enroll(request.csr)

    return FleetRun(one, requests, concurrency=_default_concurrency(client, concurrency), progress=progress)


def reenroll_many(
    client: Any, requests: Iterable[FleetRequest | Any], *, concurrency: int | None = None,
    progress: Callable[[FleetProgress], Any] | None = None, max_wait: float | None = None,
) -> FleetRun:
    """``/simplereenroll`` for each request, like :func:`enroll_many`. A request with ``client_identity``
    runs on its own short-lived client presenting that certificate (the one being renewed)."""

    async def one(request: FleetRequest) -> Any:
        if request.client_identity is not None:
            return await _with_identity(client, request.client_identity, request.csr, True, max_wait)
        if max_wait is not None:
            return await client.enroll_and_wait(request.csr, max_wait=max_wait, reenroll=True)
        return await client.simple_reenroll(request.csr)

    return FleetRun(one, requests, concurrency=_default_concurrency(client, concurrency), progress=progress)


async def _with_identity(client: Any, identity: ClientIdentity, csr: Any, reenroll: bool,
                         max_wait: float | None) -> Any:
    from .client import AsyncEstClient

    await client._bootstrap_once()  # one bootstrap for the fleet, not one per identity
    config = dataclasses.replace(client.config, client_identity=identity, max_connections=1)
    async with AsyncEstClient(config) as own:
        # what the shared client learned (the bootstrap's anchors, Basic after a challenge) applies here too
        own._state = dataclasses.replace(client._state)
        if max_wait is not None:
            return await own.enroll_and_wait(csr, max_wait=max_wait, reenroll=reenroll)
        if reenroll:
            return await own.simple_reenroll(csr)
        return await own.simple_enroll(csr)


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
