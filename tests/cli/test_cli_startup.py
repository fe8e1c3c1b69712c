"""What ``import estclient`` and ``est --help`` load, and the collector pause of one-shot commands.

No timing: the start-up targets of issue 14 are measured by benchmarks/run.py. These tests pin the cause of the
speed instead (which modules a cold process imports) and that the garbage collector is back on after ``main``.
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

from estclient import cli

HEAVY = ["cryptography.x509", "httpx", "asyncio", "estclient.csr", "estclient.config", "estclient.protocol",
         "estclient.client"]


def _loaded_after(code: str) -> dict:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True, timeout=120)
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def test_import_estclient_loads_none_of_the_heavy_modules():
    assert _loaded_after("import estclient") == {m: False for m in HEAVY}


def test_est_help_loads_none_of_the_heavy_modules():
    code = ("import contextlib, io\nfrom estclient.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass")
    assert _loaded_after(code) == {m: False for m in HEAVY}


def test_the_lazy_names_are_the_real_ones():
    import estclient
    from estclient.client import EstClient
    from estclient.csr import CsrBuilder
    from estclient.protocol import Issued

    assert estclient.EstClient is EstClient and estclient.CsrBuilder is CsrBuilder and estclient.Issued is Issued
    assert {"EstClient", "CsrBuilder", "Issued", "HttpAuth"} <= set(dir(estclient))
    with pytest.raises(AttributeError):
        estclient.NoSuchThing  # noqa: B018


@pytest.mark.parametrize("command, paused", [("show", True), ("testserver", False)])
def test_one_shot_commands_pause_the_collector_and_restore_it(monkeypatch, vectors, command, paused):
    seen = []

    def fake(args):
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(cli, f"cmd_{command}", fake)
    assert gc.isenabled()
    argv = [command, str(vectors / "rfc7030" / "A.1_cacerts_response.der")] if command == "show" else [command]
    assert cli.main(argv) == 0
    assert seen == [not paused]
    assert gc.isenabled()


def test_the_collector_is_restored_when_the_command_fails(monkeypatch, vectors):
    def boom(args):
        raise OSError("disk full")

    monkeypatch.setattr(cli, "cmd_show", boom)
    assert cli.main(["show", str(vectors / "rfc7030" / "A.1_cacerts_response.der")]) == cli.EXIT_FILE  # OSError
    assert gc.isenabled()


def test_as_the_est_program_the_collector_stays_off_for_the_exit(monkeypatch, vectors):
    monkeypatch.setattr(cli, "cmd_show", lambda args: 0)
    monkeypatch.setattr(sys, "argv", ["est", "show", str(vectors / "rfc7030" / "A.1_cacerts_response.der")])
    try:
        assert cli.main() == 0
        assert not gc.isenabled()  # the process would end here: no collection over every object first
    finally:
        gc.enable()
