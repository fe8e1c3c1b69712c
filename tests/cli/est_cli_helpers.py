"""Helpers for the ``est`` command tests: the real console script, run as a subprocess, against
``est testserver`` running in another process (its URL, CA fingerprint and credentials are parsed from what it
prints, as a person would read them)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"


def est_command() -> list[str]:
    """The installed ``est`` console script next to the interpreter, else ``python -m estclient.cli``."""
    script = Path(sys.executable).with_name("est")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "estclient.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EST_")}
    env.update(extra)
    return env


def run_est(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*est_command(), *args], cwd=cwd, env=env if env is not None else clean_env(), capture_output=True,
        text=True, timeout=timeout, input=stdin if stdin is not None else "",
    )


@dataclass
class TestServerProcess:
    proc: subprocess.Popen[str]
    url: str  # the origin, https://127.0.0.1:PORT
    est_url: str  # as printed: .../.well-known/est/
    fingerprint: str
    user: str
    password: str
    ca_file: Path
    banner: str

    def conn(self, *, auth: bool = True, trust: bool = True) -> list[str]:
        args = ["--server", self.url]
        if trust:
            args += ["--trust", str(self.ca_file)]
        if auth:
            # "--password=X": a random password may begin with "-", which argparse would take for an option
            args += ["--user", self.user, f"--password={self.password}"]
        return args


def start_testserver(tmp: Path, *extra: str) -> TestServerProcess:
    ca_file = tmp / "ca.pem"
    proc = subprocess.Popen(
        [*est_command(), "testserver", "--ca-out", str(ca_file), *extra], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=clean_env(),
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops it" in line:
            break
    banner = "".join(lines)
    if "Ctrl-C stops it" not in banner:
        proc.kill()
        raise AssertionError(f"est testserver did not start:\n{banner}")
    est_url = re.search(r"^EST test server\s+(\S+)", banner, re.M).group(1)
    fingerprint = re.search(r"^CA SHA-256\s+([0-9a-f]{64})", banner, re.M).group(1)
    cred = re.search(r"^credentials\s+(\S+) / (\S+)", banner, re.M)
    origin = re.match(r"(https://[^/]+)", est_url).group(1)
    return TestServerProcess(proc, origin, est_url, fingerprint, cred.group(1) if cred else "",
                             cred.group(2) if cred else "", ca_file, banner)


def stop_testserver(srv: TestServerProcess) -> int:
    srv.proc.send_signal(signal.SIGTERM)
    try:
        return srv.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.wait()
        return -9


KEK_ID = "6b656b2d31"  # "kek-1"
KEK_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"




def one_line_error(stderr: str) -> str:
    """The error line of a failed run: exactly one line mentioning 'error'."""
    errors = [ln for ln in stderr.splitlines() if "error" in ln.lower()]
    assert len(errors) == 1, stderr
    return errors[0]
