"""Issue 20: shell completions (bash, zsh, fish) and the man page are generated from the one parser, so they name
every command and option ``est --help`` does; bash and groff run them for real."""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess

import pytest

from est_cli_helpers import run_est


def _parser_options() -> dict[str, set[str]]:
    from estclient.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: {f for a in p._actions for f in a.option_strings} for name, p in sub.choices.items()}


def _bash_complete(script: str, words: list[str]) -> list[str]:
    line = " ".join(words)
    probe = (f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}\n_est\n"
             'printf "%s\\n" "${COMPREPLY[@]}"\n')
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_commands_options_and_choices():
    r = run_est("completion", "bash")
    assert r.returncode == 0, r.stderr
    script = r.stdout
    assert set(_bash_complete(script, ["est", "en"])) == {"enroll"}
    assert "export" in _bash_complete(script, ["est", "ex"])
    assert set(_bash_complete(script, ["est", "enroll", "--key-t"])) == {"--key-type"}
    assert set(_bash_complete(script, ["est", "export", "--format", "p"])) == {"pem", "pfx"}
    assert "--proxy" in _bash_complete(script, ["est", "cacerts", "--pro"])
    assert "--no-credentials-probe" in _bash_complete(script, ["est", "check", "--no"])


def test_every_option_of_the_parser_is_in_each_completion_and_the_man_page():
    options = _parser_options()
    texts = {shell: run_est("completion", shell).stdout for shell in ("bash", "zsh", "fish")}
    man = run_est("manpage").stdout
    for command, flags in options.items():
        for text in (*texts.values(), man):
            assert command in text
        for flag in flags:
            assert flag in texts["bash"] and flag in texts["zsh"], (command, flag)
            fish_flag = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
            assert fish_flag in texts["fish"], (command, flag)
            assert flag.replace("-", "\\-") in man, (command, flag)


@pytest.mark.skipif(shutil.which("groff") is None, reason="needs groff")
def test_the_man_page_renders_without_warnings(tmp_path):
    page = tmp_path / "est.1"
    page.write_text(run_est("manpage").stdout)
    out = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    text = subprocess.run(["groff", "-man", "-Tutf8", str(page)], capture_output=True, text=True, timeout=60).stdout
    text = re.sub(".\x08", "", text)  # no overstrike bold
    for section in ("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT"):
        assert section in text
