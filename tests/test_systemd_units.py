"""contrib/systemd: the shipped units parse, say what docs/agent.md says they do, and pass
``systemd-analyze verify`` (and score as well-hardened in ``systemd-analyze security --offline``) where systemd's
tools are installed (required when EST_REQUIRE_PEERS=1)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[1] / "contrib" / "systemd"
NAMES = ["est-agent.service", "est-agent-once.service", "est-agent.timer"]


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd's unit syntax, as far as these files use it: [Section], Key=Value (repeatable), # comments."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if m:
            current = sections.setdefault(m.group(1), {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None and re.fullmatch(r"[A-Za-z]+", key), f"line {n}: {raw!r}"
        current.setdefault(key, []).append(value)
    return sections


def units() -> dict[str, dict[str, dict[str, list[str]]]]:
    return {name: parse_unit((UNITS / name).read_text(encoding="utf-8")) for name in NAMES}


HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
             "PrivateDevices": "yes", "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "", "UMask": "0077",
             "SystemCallArchitectures": "native", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6"}


def test_units_parse_and_do_what_the_docs_say():
    u = units()
    service = u["est-agent.service"]["Service"]
    assert service["Type"] == ["notify"] and service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert service["ExecStart"] == ["/usr/bin/est agent --config /etc/est/est.toml"]
    assert service["RestartPreventExitStatus"] == ["2"] and service["Restart"] == ["on-failure"]
    assert "WatchdogSec" in service and service["StateDirectory"] == ["est"]
    once = u["est-agent-once.service"]["Service"]
    assert once["Type"] == ["oneshot"] and once["ExecStart"] == ["/usr/bin/est agent --once --config /etc/est/est.toml"]
    for s in (service, once):
        for key, value in HARDENING.items():
            assert s.get(key) == [value], key
    timer = u["est-agent.timer"]
    assert timer["Timer"]["Unit"] == ["est-agent-once.service"] and timer["Install"]["WantedBy"] == ["timers.target"]
    docs = (UNITS.parents[1] / "docs" / "agent.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert name in docs


def _copies(tmp_path: Path) -> list[Path]:
    est = Path(sys.executable).with_name("est")
    out = []
    for name in NAMES:
        text = (UNITS / name).read_text(encoding="utf-8").replace("/usr/bin/est ", f"{est} ")
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def _analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("EST_REQUIRE_PEERS") == "1":
            pytest.fail("systemd-analyze is required (EST_REQUIRE_PEERS=1)")
        pytest.skip("systemd-analyze is not installed")
    return tool


def test_systemd_analyze_verify(tmp_path):
    tool = _analyze()
    proc = subprocess.run([tool, "verify", *map(str, _copies(tmp_path))], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # verify reports unknown keys and bad values as warnings only: none may appear
    assert proc.stderr.strip() == "", proc.stderr


def test_service_exposure_is_low(tmp_path):
    tool = _analyze()
    unit = _copies(tmp_path)[0]
    proc = subprocess.run([tool, "security", "--offline=true", str(unit)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout + proc.stderr)
    if m is None:
        pytest.skip("this systemd-analyze cannot score units offline")
    assert float(m.group(1)) <= 2.0, proc.stdout[-3000:]
