"""Operation slots: the client's own bounded, first-come-first-served queue of operations.

Why the clients need it. httpx (httpcore) keeps every request that waits for a pooled connection in one list,
and each time a connection is requested or freed it looks at every waiting request: with *n* requests queued
that is O(n) per request and O(n^2) in all (counted with 4 connections: 134 looks per enrollment with 40
started together, 1,675 with 320), so the client's CPU per enrollment grows with the number of operations
started together. Worse, the time a request waits there counts as httpx's ``pool`` timeout, so past a few
hundred queued operations they all failed with ``PoolTimeout`` although the network was fine.

So each EST operation first takes a slot here; only ``max_connections`` operations hold one at a time, which
keeps httpx's queue about as short as its pool. Waiting for a slot is an O(1) append to a deque and a wake-up
by the one that releases (the slot is handed over directly, so later arrivals cannot overtake earlier ones),
and it is not a network timeout (nor part of ``operation_timeout``, which counts from an operation's first
request, once it holds its slot).

:class:`AsyncSlots` serves asyncio tasks (one event loop at a time), :class:`ThreadSlots` serves threads that
share one synchronous client. Both count what they did (``granted``, ``waited``, ``max_waiting``), which
tests use to check the queue without looking at a clock.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncSlots", "ThreadSlots"]


class _Counters:
    def __init__(self, limit: int) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError("the number of slots must be a positive integer")
        self.limit = limit
        self.in_use = 0  # slots held right now
        self.granted = 0  # slots handed out since creation
        self.waited = 0  # of those, how many had to queue first
        self.max_waiting = 0  # the longest the queue has been

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.in_use}/{self.limit} in use, {self.waiting} waiting, "
                f"{self.granted} granted>")

    @property
    def waiting(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError


class AsyncSlots(_Counters):
    """FIFO slots for asyncio tasks. ``await acquire()`` / ``release()``, or ``async with slots:``.

    A waiter that is cancelled leaves its place without cost (its future is skipped when its turn comes); one
    cancelled just after being handed a slot passes the slot on, so slots never leak.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._queued = 0  # live waiters (cancelled ones may still sit in the deque)

    @property
    def waiting(self) -> int:
        return self._queued

    async def acquire(self) -> None:
        import asyncio  # here, not at the top: a sync client's process never loads asyncio

        if self.in_use < self.limit and not self._queued:
            self.in_use += 1
            self.granted += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._queued += 1
        self.waited += 1
        if self._queued > self.max_waiting:
            self.max_waiting = self._queued
        try:
            await fut  # release() hands its slot over: in_use stays counted for us
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot had reached us already: pass it on
            else:
                self._queued -= 1
            raise
        self.granted += 1

    def release(self) -> None:
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                self._queued -= 1
                fut.set_result(None)
                return
        if self.in_use <= 0:
            raise RuntimeError("release() without acquire()")
        self.in_use -= 1

    async def __aenter__(self) -> AsyncSlots:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.release()


class ThreadSlots(_Counters):
    """FIFO slots for threads sharing one synchronous client. ``acquire(timeout=None) -> bool`` / ``release()``,
    or ``with slots:``. Each waiter sleeps on its own lock, so a release wakes exactly the oldest waiter."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._lock = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def acquire(self, timeout: float | None = None) -> bool:
        with self._lock:
            if self.in_use < self.limit and not self._waiters:
                self.in_use += 1
                self.granted += 1
                return True
            gate = threading.Lock()
            gate.acquire()
            self._waiters.append(gate)
            self.waited += 1
            self.max_waiting = max(self.max_waiting, len(self._waiters))
        got = gate.acquire(timeout=-1 if timeout is None else max(0.0, timeout))
        if not got:
            with self._lock:
                try:
                    self._waiters.remove(gate)  # still queued: leave (O(n), only on a timeout)
                except ValueError:
                    got = True  # handed over between the timeout and the lock: keep it
        if got:
            with self._lock:
                self.granted += 1
        return got

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()  # hand the slot over: in_use unchanged
                return
            if self.in_use <= 0:
                raise RuntimeError("release() without acquire()")
            self.in_use -= 1

    def __enter__(self) -> ThreadSlots:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
