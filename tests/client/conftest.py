"""Shared fixtures for the estclient tests (the vector helpers live in client_vectors.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from client_vectors import CAPTURES, RFC7030, VECTORS, capture, split_http_responses  # noqa: F401 - re-exported


@pytest.fixture
def vectors() -> Path:
    return VECTORS
