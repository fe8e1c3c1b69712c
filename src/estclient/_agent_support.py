"""Small services of the renewal agent: systemd's sd_notify, logging (text or JSON lines), deploy hooks."""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import socket
import subprocess
from dataclasses import dataclass
from typing import IO, Mapping, Sequence

__all__ = ["sd_notify", "watchdog_interval", "configure_logging", "JsonFormatter", "run_hook", "HookResult"]

log = logging.getLogger("estclient.agent")


# ----------------------------------------------------------------------------------------------- systemd


def sd_notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``"READY=1"``, ``"WATCHDOG=1"``, ``"STOPPING=1"``, ``"STATUS=..."``) to systemd's
    ``$NOTIFY_SOCKET`` (a unix datagram socket; ``@name`` is an abstract one). False when there is no socket
    or the send fails: notification is best effort, never a reason to stop."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        log.debug("sd_notify failed: %s", exc)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of ``$WATCHDOG_USEC``), or None when systemd set no watchdog
    for this process (``$WATCHDOG_PID``, when set, must be our pid)."""
    env = os.environ if environ is None else environ
    usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 2e6


# ----------------------------------------------------------------------------------------------- logging


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, plus the record's
    ``event`` and ``certificate`` when set (``extra=``), and ``error`` for an exception (its type and text)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("event", "certificate"):
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            doc["error"] = f"{type(exc).__name__}: {exc}"
        return json.dumps(doc, ensure_ascii=False)


_HANDLER_MARK = "_estclient_agent_handler"


def configure_logging(level: str = "info", fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """Send the ``estclient`` loggers to ``stream`` (default stderr) at ``level``, as text or JSON lines.
    Calling it again (a config reload) replaces the handler it installed before."""
    root = logging.getLogger("estclient")
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream)
    setattr(handler, _HANDLER_MARK, True)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False
    return handler


# ----------------------------------------------------------------------------------------------- hooks


@dataclass(frozen=True)
class HookResult:
    """How one deploy command ended: ``ok``, the exit status (None when it timed out or could not start) and
    a short description for the log."""

    argv: tuple[str, ...]
    ok: bool
    returncode: int | None
    detail: str


def run_hook(argv: Sequence[str], env: Mapping[str, str], timeout: float) -> HookResult:
    """Run one deploy command with ``env`` added to the agent's environment, stdin closed, at most ``timeout``
    seconds (then it is killed). Its output is kept short for the log."""
    full_env = dict(os.environ)
    full_env.update(env)
    try:
        proc = subprocess.run(list(argv), env=full_env, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return HookResult(tuple(argv), False, None, f"timed out after {timeout:g}s (killed)")
    except OSError as exc:
        return HookResult(tuple(argv), False, None, f"cannot run: {exc.strerror or exc}")
    tail = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip().splitlines()[-3:]
    detail = f"exit status {proc.returncode}" + (f": {' | '.join(tail)[:300]}" if tail else "")
    return HookResult(tuple(argv), proc.returncode == 0, proc.returncode, detail)
