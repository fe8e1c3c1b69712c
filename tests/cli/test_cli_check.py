"""Issue 20: ``est check`` walks settings, connectivity, TLS and authorization, /cacerts, /csrattrs and the
credentials against the reference server on loopback, says what failed and what to do; docs/troubleshooting.md
is generated from the same table of outcomes."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from est_cli_helpers import REPO, run_est

from connect_proxy import ConnectProxy


def _steps(stdout: str) -> dict[str, str]:
    return {m.group(2): m.group(1).strip() for m in re.finditer(r"^\[(ok  |skip|FAIL)\] (\w+):", stdout, re.M)}


def test_check_passes_every_step_against_a_working_server(testserver):
    r = run_est("check", *testserver.conn())
    assert r.returncode == 0, r.stdout + r.stderr
    assert _steps(r.stdout) == {"settings": "ok", "connectivity": "ok", "tls": "ok", "authorization": "ok",
                                "cacerts": "ok", "csrattrs": "ok", "credentials": "ok"}
    assert "all checks passed" in r.stdout


def test_check_bootstrap_and_json(testserver):
    r = run_est("check", "--server", testserver.url, "--bootstrap-fingerprint", testserver.fingerprint, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is True
    assert [s["status"] for s in doc["steps"] if s["step"] == "cacerts"] == ["ok"]


@pytest.mark.parametrize("case, code, status", [
    ("wrong-password", "credentials-refused", 3),
    ("wrong-trust", "server-untrusted", 4),
    ("nothing-listens", "connect-refused", 8),
    ("wrong-fingerprint", "fingerprint-mismatch", 4),
    ("missing-file", "bad-settings", 2),
])
def test_check_names_the_failing_step_and_what_to_do(testserver, tmp_path, case, code, status):
    args = {
        "wrong-password": ["--server", testserver.url, "--trust", str(testserver.ca_file), "--user",
                           testserver.user, "--password=wrong"],
        "wrong-trust": ["--server", testserver.url, "--trust", str(REPO / "tests/vectors/asn1crypto/keys/test.crt")],
        "nothing-listens": ["--server", "https://127.0.0.1:9", "--trust", str(testserver.ca_file)],
        "wrong-fingerprint": ["--server", testserver.url, "--bootstrap-fingerprint", "00" * 32],
        "missing-file": ["--server", testserver.url, "--trust", str(tmp_path / "missing.pem")],
    }[case]
    r = run_est("check", *args)
    assert r.returncode == status, r.stdout + r.stderr
    assert f"({code}). What to do:" in r.stdout
    assert r.stderr.strip().startswith("est check: error: ") and f"({code})" in r.stderr
    assert "wrong" not in r.stderr.replace("wrong-", "")  # the password is never repeated


def test_check_through_a_proxy(testserver):
    with ConnectProxy() as proxy:
        r = run_est("check", *testserver.conn(), "--proxy", proxy.url)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "(the proxy)" in r.stdout and proxy.targets


def test_the_troubleshooting_page_is_the_check_outcomes_table():
    from estclient.cli._check import OUTCOMES, troubleshooting_markdown

    page = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    block = page.split("regenerate this block -->\n", 1)[1].split("<!-- end of generated block -->", 1)[0]
    assert block == troubleshooting_markdown()
    for code in OUTCOMES:
        assert f"`{code}`" in page


def test_check_reports_a_server_certificate_that_does_not_name_the_host(tmp_path):
    from estclient.testing import EstTestServer

    with EstTestServer(auth=None, tls_hostname_in_cert=False) as srv:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(srv.trust_anchor_pem)
        r = run_est("check", "--server", srv.url, "--trust", str(ca))
    assert r.returncode == 4, r.stdout + r.stderr
    assert "(server-name-mismatch). What to do:" in r.stdout
    assert _steps(r.stdout).get("authorization") == "FAIL"
