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


# What one `est enroll` process loads (issue 14: per-process enrollment). The sync client needs neither asyncio nor
# the renewal machinery (its atomic write lives in estclient._atomic), nor the option modules of `batch` and `show`,
# nor httpx's own command line (click, rich, pygments when installed).
ENROLL_ABSENT = ["asyncio", "estclient.renewal", "estclient._cli_batch", "estclient.fleet", "httpx._main", "click",
                 "estclient.cli._batch", "estclient.cli._renew", "estclient.cli._demo", "estclient.cli._cacerts",
                 "estclient.cli._trace", "estclient.cli._check", "estclient.cli._export", "estclient.cli._generate"]


def test_one_enroll_process_loads_none_of_what_it_does_not_use(testserver, tmp_path):
    argv = ["est", "enroll", *testserver.conn(), "--cn", "lazy-dev", "--out", str(tmp_path / "c.pem"),
            "--key-out", str(tmp_path / "k.pem"), "-q"]
    probe = (f"import json, sys\nsys.argv = {argv!r}\nfrom estclient.cli import main\nrc = main()\n"
             f"print(json.dumps([rc, {{m: sys.modules.get(m) is not None for m in {ENROLL_ABSENT!r}}}]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True, timeout=120)
    rc, loaded = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert rc == 0 and (tmp_path / "c.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert loaded == {m: False for m in ENROLL_ABSENT}
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600


def _options_of(parser, command: str) -> set:
    import argparse

    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {o for a in sub.choices[command]._actions for o in (a.option_strings or [a.dest])}


@pytest.mark.parametrize("command", ["batch", "show"])
def test_the_parser_declares_batch_and_show_options_whenever_the_command_line_names_them(command):
    full = cli.build_parser()
    assert _options_of(cli.build_parser([command, "--help"]), command) == _options_of(full, command)
    assert _options_of(cli.build_parser(["enroll", "--cn", command]), command) == _options_of(full, command)
    lean = _options_of(cli.build_parser(["enroll", "--cn", "x"]), command)
    assert lean < _options_of(full, command)  # the command-specific options are left out


def test_atomic_write_keeps_an_existing_file_unless_told_and_leaves_no_temporary(tmp_path):
    from estclient._atomic import write_atomic

    target = tmp_path / "key.pem"
    write_atomic(target, b"one", 0o600, overwrite=False)
    assert target.read_bytes() == b"one" and target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        write_atomic(target, b"two", 0o644, overwrite=False)
    assert target.read_bytes() == b"one"
    write_atomic(target, b"three", 0o644)
    assert target.read_bytes() == b"three" and target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]
    with pytest.raises(TypeError):
        write_atomic(target, "text", 0o600)  # type: ignore[arg-type]


def _program(tmp_path, argv: list[str], extra: str = "") -> subprocess.CompletedProcess:
    marker = tmp_path / "atexit-ran"
    code = (f"import atexit, sys\natexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n{extra}\n"
            f"sys.argv = {argv!r}\nfrom estclient.cli import program\nprogram()\n"
            "print('not reached')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_program_ends_with_its_output_exit_status_and_atexit_handlers(tmp_path):
    """``est`` (cli.program) skips the interpreter's teardown: what it printed, its exit status and the atexit
    handlers (logging's flush among them) must be as at a normal exit."""
    ok = _program(tmp_path, ["est", "completion", "bash"])
    assert ok.returncode == 0 and "complete" in ok.stdout and "not reached" not in ok.stdout
    assert (tmp_path / "atexit-ran").read_text() == "ran"
    (tmp_path / "atexit-ran").unlink()
    bad = _program(tmp_path, ["est", "show", str(tmp_path / "missing.pem")])
    assert bad.returncode == 1 and "missing.pem" in bad.stderr  # est show: 1 for an unreadable input
    assert (tmp_path / "atexit-ran").read_text() == "ran"
    usage = _program(tmp_path, ["est", "enroll", "--no-such-option"])  # argparse's SystemExit(2)
    assert usage.returncode == 2 and "--no-such-option" in usage.stderr and "not reached" not in usage.stdout
    helped = _program(tmp_path, ["est", "--help"])
    assert helped.returncode == 0 and "enroll" in helped.stdout
    # a thread still running: the usual exit, which waits for it
    (tmp_path / "atexit-ran").unlink()
    threaded = _program(tmp_path, ["est", "completion", "bash"],
                        "import threading, time\nthreading.Thread(target=time.sleep, args=(0.2,)).start()")
    assert threaded.returncode == 0 and (tmp_path / "atexit-ran").read_text() == "ran"


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_not_a_success(tmp_path):
    # standard output on a full device: the quick exit reports it as Python's own exit would (status 120)
    with open("/dev/full", "w") as full:
        code = "import sys\nsys.argv = ['est', 'completion', 'bash']\nfrom estclient.cli import program\nprogram()\n"
        r = subprocess.run([sys.executable, "-c", code], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode != 0
