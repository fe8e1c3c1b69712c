"""estclient._stop: the SIGTERM/Ctrl-C wait the foreground commands share."""
from __future__ import annotations

import os
import signal
import threading

import pytest

from estclient._stop import stop_on_sigterm, wait_for_stop


def test_sigterm_sets_the_event_and_the_previous_handler_comes_back() -> None:
    seen: list[int] = []
    before = signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
    try:
        with stop_on_sigterm() as stop:
            assert not stop.is_set()
            os.kill(os.getpid(), signal.SIGTERM)
            wait_for_stop(stop, poll=0.05)     # returns because the handler set it (else the test would hang)
            assert stop.is_set()
        assert seen == []                      # ours handled it, not the one before
        os.kill(os.getpid(), signal.SIGTERM)
        assert seen == [signal.SIGTERM]        # and the one before is back
    finally:
        signal.signal(signal.SIGTERM, before)


def test_handler_is_restored_when_the_block_raises() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RuntimeError):
        with stop_on_sigterm():
            raise RuntimeError("boom")
    assert signal.getsignal(signal.SIGTERM) is before


def test_ctrl_c_ends_the_wait_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()
    calls = []

    def interrupted(timeout: float | None = None) -> bool:
        calls.append(timeout)
        raise KeyboardInterrupt

    monkeypatch.setattr(stop, "wait", interrupted)
    wait_for_stop(stop, poll=0.25)   # no KeyboardInterrupt escapes
    assert calls == [0.25]


def test_wait_returns_at_once_when_already_stopped() -> None:
    stop = threading.Event()
    stop.set()
    wait_for_stop(stop)
