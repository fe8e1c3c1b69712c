"""Running in the foreground until SIGTERM or Ctrl-C: what ``est testserver``, ``est renew --watch`` (a key file
or a token key) and ``python -m estclient.testing`` share. Signal handlers can only be set from the main thread,
where these commands run."""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["stop_on_sigterm", "wait_for_stop"]


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[threading.Event]:
    """An Event that SIGTERM sets while the block runs; the handler there before is put back when it ends."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for_stop(stop: threading.Event, poll: float = 0.5) -> None:
    """Block until ``stop`` is set or Ctrl-C (the KeyboardInterrupt ends the wait and goes no further). The wait
    is cut in ``poll``-second slices so that Ctrl-C is seen at once."""
    try:
        while not stop.wait(poll):
            pass
    except KeyboardInterrupt:
        pass
