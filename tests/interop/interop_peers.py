"""Peer programs for the interop tests (strongSwan pki, curl, openssl, Java with Bouncy Castle): finding them, running them.

A missing peer skips its tests with the reason, except when ``EST_REQUIRE_PEERS=1`` (``.ci/run`` sets it):
then a missing peer fails the test, so CI cannot pass by skipping them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REQUIRE_PEERS = os.environ.get("EST_REQUIRE_PEERS", "") not in ("", "0")
PEER_TIMEOUT = 120  # seconds; every peer process is bounded by it and killed by its PID when it overruns


def need(*programs: str) -> dict[str, str]:
    """Paths of ``programs`` on PATH; skip (or fail, under EST_REQUIRE_PEERS) when one is missing."""
    found = {p: shutil.which(p) for p in programs}
    missing = [p for p, path in found.items() if path is None]
    if missing:
        msg = f"peer program missing: {', '.join(missing)}"
        if REQUIRE_PEERS:
            pytest.fail(msg + " (EST_REQUIRE_PEERS is set)")
        pytest.skip(msg)
    return {p: str(path) for p, path in found.items()}


def need_module(name: str) -> None:
    """Skip (or fail, under EST_REQUIRE_PEERS) when the Python module ``name`` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(name) is None:
        msg = f"Python module missing: {name}"
        if REQUIRE_PEERS:
            pytest.fail(msg + " (EST_REQUIRE_PEERS is set)")
        pytest.skip(msg)


def need_files(*paths: str) -> None:
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        msg = f"peer files missing: {', '.join(missing)}"
        if REQUIRE_PEERS:
            pytest.fail(msg + " (EST_REQUIRE_PEERS is set)")
        pytest.skip(msg)


def run(args: list[str], *, input: bytes | None = None, cwd: Path | None = None,
        timeout: float = PEER_TIMEOUT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a peer program to completion, bounded by ``timeout``; its process is killed by PID on overrun."""
    proc = subprocess.Popen(args, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{args[0]} did not finish within {timeout}s: {err.decode(errors='replace')[-2000:]}")
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def show(res: subprocess.CompletedProcess[bytes]) -> str:
    """The tail of a peer's output, for assertion messages."""
    text = (res.stdout + b"\n" + res.stderr).decode(errors="replace")
    return "\n".join(line for line in text.splitlines() if "TPM 2.0" not in line and "plugin 'tpm'" not in line)[-3000:]
