"""Fixtures for the ``est`` command tests (helpers in est_cli_helpers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from est_cli_helpers import KEK_HEX, KEK_ID, VECTORS, start_testserver, stop_testserver


@pytest.fixture(scope="session")
def testserver(tmp_path_factory):
    """One ``est testserver`` (HTTP Basic, a KEK for encrypted server keygen) for the whole session."""
    srv = start_testserver(tmp_path_factory.mktemp("testserver"), "--kek", f"{KEK_ID}:{KEK_HEX}")
    yield srv
    assert stop_testserver(srv) == 0, "est testserver did not stop cleanly on SIGTERM"


@pytest.fixture(scope="session")
def pending_server(tmp_path_factory):
    """An ``est testserver`` that answers the first request of each key with 202, Retry-After 1."""
    srv = start_testserver(tmp_path_factory.mktemp("pending"), "--pending", "1")
    yield srv
    stop_testserver(srv)


@pytest.fixture
def vectors() -> Path:
    return VECTORS

