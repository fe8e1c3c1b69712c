"""estclient.agent: the renewal agent against the real reference server (real TLS on loopback, real files).

- from no certificate to enrolled to renewed, with a deploy hook that records its calls (paths in its
  environment), metrics scraped over HTTP and read from the textfile, each renewal event logged once (JSON);
- a failing hook is reported and retried and never touches the pair; a hook that hangs is killed at its timeout;
- a crash between the steps of writing the renewed pair (fault injection at the storage layer) keeps a working
  pair, and the next round renews;
- a pending (202) enrollment is saved (key 0600) and resumed with the same request, by the API and by the agent;
- ``est agent`` as a subprocess: READY/STOPPING on $NOTIFY_SOCKET, SIGHUP reloads, SIGTERM stops it (exit 0);
- a renewal threshold not shorter than the certificate's lifetime ends the agent with exit status 2.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from estclient import EstClient, EstClientConfig, TrustAnchors
from estclient import renewal
from estclient._agent_support import JsonFormatter, sd_notify, watchdog_interval
from estclient.agent import Agent
from estclient.csr import CsrBuilder
from estclient.errors import ConfigError, PendingTimeout
from estclient.renewal import load_identity
from estclient.resume import PendingEnrollment, complete_enrollment
from estclient.testing import EstTestServer

pytest.importorskip("prometheus_client")

HOOK = ("import os, json, sys; "
        "open(sys.argv[1], 'a').write(json.dumps({k: os.environ[k] for k in "
        "('EST_EVENT', 'EST_CERT_PATH', 'EST_KEY_PATH', 'EST_CERT_NAME')}) + '\\n')")


def write_config(tmp: Path, srv: EstTestServer, *, fraction: float = 0.9, threshold: str | None = None,
                 hooks: list[list[str]] | None = None, extra: str = "", metrics: bool = True) -> Path:
    (tmp / "ca.pem").write_bytes(srv.trust_anchor_pem)
    lines = [
        "[server]", f'url = "{srv.url}"', "timeout = 10",
        "[trust]", 'anchors = "ca.pem"',
        "[auth]", f'user = "{srv.username}"', 'password = "${EST_TEST_PW}"',
        "[certificate]", 'name = "web"', 'common_name = "agent-1"', 'san_dns = ["agent-1.example"]',
        "[renewal]", f"fraction = {fraction}", 'check_interval = "1h"', "retry_delay = 0.2", "max_retries = 1",
        "max_pending_wait = 5",
    ]
    if threshold:
        lines.append(f'threshold = "{threshold}"')
    lines += ["[storage]", 'cert = "dev.pem"', 'key = "dev.key"']
    if hooks:
        lines += ["[hooks]", f"deploy = {json.dumps(hooks)}", "timeout = 20", "retry_delay = 0.5",
                  "max_attempts = 3"]
    if metrics:
        lines += ["[metrics]", 'listen = "127.0.0.1:0"', 'textfile = "est.prom"']
    path = tmp / "est.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def hook_calls(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_until(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def metric(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric_name, _, rest = head.partition("{")
        if metric_name != name:
            continue
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if got == want:
            return float(value)
    return None


def spki(obj) -> bytes:
    return obj.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# ----------------------------------------------------------------------------- in process


def test_agent_enrolls_renews_runs_hooks_and_exports_metrics(tmp_path, caplog):
    log_file = tmp_path / "hooks.log"
    hook = [sys.executable, "-c", HOOK, str(log_file)]
    with EstTestServer(cert_lifetime=8) as srv:
        cfg = write_config(tmp_path, srv, hooks=[hook])
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.name == "web"
        handler = logging.StreamHandler(stream := __import__("io").StringIO())
        handler.setFormatter(JsonFormatter())
        est_logger = logging.getLogger("estclient")
        est_logger.addHandler(handler)
        level = est_logger.level
        est_logger.setLevel(logging.INFO)
        thread = threading.Thread(target=agent.run, kwargs={"install_signals": False}, daemon=True)
        try:
            thread.start()
            # enrolled, then renewed (90% of 8 s: due after 0.8 s) at least once
            assert wait_until(lambda: [c["EST_EVENT"] for c in hook_calls(log_file)][:2] == ["enrolled", "renewed"])
            body = urllib.request.urlopen(f"http://127.0.0.1:{agent.metrics_port}/metrics", timeout=10).read().decode()
        finally:
            agent.stop()
            thread.join(30)
            est_logger.removeHandler(handler)
            est_logger.setLevel(level)
        assert not thread.is_alive()
    calls = hook_calls(log_file)
    assert calls[0] == {"EST_EVENT": "enrolled", "EST_CERT_PATH": str(tmp_path / "dev.pem"),
                        "EST_KEY_PATH": str(tmp_path / "dev.key"), "EST_CERT_NAME": "web"}
    # the pair on disk matches, key 0600, nothing pending left
    cert = x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes())
    key = serialization.load_pem_private_key((tmp_path / "dev.key").read_bytes(), None)
    assert spki(cert) == spki(key)
    assert stat.S_IMODE((tmp_path / "dev.key").stat().st_mode) == 0o600
    assert not (tmp_path / "dev.pem.pending").exists()
    # metrics over HTTP: every series named for the certificate
    successes = metric(body, "est_renewal_attempts_total", certificate="web", result="success")
    assert successes is not None and successes >= 2
    assert metric(body, "est_renewal_attempts_total", certificate="web", result="failure") == 0
    assert metric(body, "est_certificate_not_after_timestamp_seconds", certificate="web") is not None
    assert metric(body, "est_last_renewal_success_timestamp_seconds", certificate="web") > 0
    assert metric(body, "est_operation_duration_seconds_count", certificate="web", operation="enroll") == 1
    assert metric(body, "est_operation_duration_seconds_count", certificate="web", operation="reenroll") >= 1
    # the textfile (written at every round and at the stop) holds the final state
    text = (tmp_path / "est.prom").read_text()
    assert metric(text, "est_certificate_not_after_timestamp_seconds", certificate="web") == \
        cert.not_valid_after_utc.timestamp()
    assert metric(text, "est_renewal_attempts_total", certificate="web", result="success") == len(calls)
    # JSON lines; each renewal event logged once per renewal
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    renewed = [r for r in records if r["message"].startswith("renewed ")]
    needed = [r for r in records if r["message"].endswith(": renewing")]
    enrolled = [r for r in records if r.get("event") == "enrolled"]
    assert len(enrolled) == 1 and enrolled[0]["certificate"] == "web"
    assert len(renewed) == len(needed) == len(calls) - 1


def test_failing_hook_is_retried_and_never_touches_the_pair(tmp_path):
    marker = tmp_path / "fail-once"
    marker.write_text("x")
    calls = tmp_path / "calls"
    # fails while the marker exists (and removes it): the first run fails, the retry succeeds
    script = ("import os, sys; open(sys.argv[2], 'a').write('x'); "
              "m = sys.argv[1]\nif os.path.exists(m):\n    os.unlink(m); sys.exit(3)")
    with EstTestServer(cert_lifetime=3600) as srv:
        cfg = write_config(tmp_path, srv, fraction=0.3, hooks=[[sys.executable, "-c", script, str(marker),
                                                                 str(calls)]])
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        delay = agent.round()
        pair = ((tmp_path / "dev.pem").read_bytes(), (tmp_path / "dev.key").read_bytes())
        assert calls.read_text() == "x" and delay <= 1.0  # the hook failed: retried soon, not in an hour
        assert load_identity(tmp_path / "dev.pem", tmp_path / "dev.key").cert_pem == pair[0]
        text = (tmp_path / "est.prom").read_text()
        assert metric(text, "est_hook_failures_total", certificate="web") == 1
        agent.round()
        assert calls.read_text() == "xx"
        agent.round()  # nothing due, hooks done: not run again
        assert calls.read_text() == "xx"
        assert ((tmp_path / "dev.pem").read_bytes(), (tmp_path / "dev.key").read_bytes()) == pair
        agent.close()


def test_hook_that_hangs_is_killed_at_its_timeout(tmp_path):
    with EstTestServer(cert_lifetime=3600) as srv:
        cfg = write_config(tmp_path, srv, fraction=0.3, metrics=False,
                           hooks=[[sys.executable, "-c", "import time; time.sleep(600)"]])
        cfg.write_text(cfg.read_text().replace("timeout = 20", "timeout = 1"))
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        start = time.monotonic()
        assert agent.run_once() == 1  # the pair is in place but its hook failed
        assert time.monotonic() - start < 60
        assert load_identity(tmp_path / "dev.pem", tmp_path / "dev.key")


def test_crash_between_write_steps_keeps_a_working_pair(tmp_path, monkeypatch):
    with EstTestServer(cert_lifetime=3600) as srv:
        cfg = write_config(tmp_path, srv, fraction=0.3, metrics=False)
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 0
        old = ((tmp_path / "dev.pem").read_bytes(), (tmp_path / "dev.key").read_bytes())
        # the next round is forced to renew (a revocation check that says "revoked"), and the storage layer
        # fails right after the new key was renamed into place: the certificate on disk is still the old one
        stages = []

        def fault(stage: str) -> None:
            stages.append(stage)
            if stage == "key-renamed" and stages.count(stage) == 1:  # once
                raise OSError(5, "injected I/O error")

        monkeypatch.setattr(renewal, "_fault_point", fault)
        cfg.write_text(cfg.read_text().replace("[storage]", "check_revocation = true\n[storage]")
                       .replace("max_retries = 1", "max_retries = 0"))
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False,
                      revocation_check=lambda identity: True)
        assert agent.run_once() == 1
        assert "key-renamed" in stages
        assert (tmp_path / "dev.key").read_bytes() != old[1]  # the half-done swap is on disk
        ident = load_identity(tmp_path / "dev.pem", tmp_path / "dev.key")  # ... and repaired to the old pair
        assert (ident.cert_pem, ident.key_pem) == old
        # with the storage layer healthy again the next round renews
        monkeypatch.setattr(renewal, "_fault_point", lambda stage: None)
        assert agent.run_once() == 0
        new = load_identity(tmp_path / "dev.pem", tmp_path / "dev.key")
        assert new.cert_pem != old[0]
        with EstClient(EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem),
                                       client_identity=new)) as client:
            client.get_ca_certs()


def test_threshold_not_shorter_than_the_lifetime_is_refused(tmp_path):
    with EstTestServer(cert_lifetime=3600) as srv:
        cfg = write_config(tmp_path, srv, fraction=0.3, threshold="2h", metrics=False)
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 0  # the first enrollment happens
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        before = len(srv.issued_certificates)
        assert agent.run() == 2  # ... but renewing it at every round is refused
        assert len(srv.issued_certificates) == before


# ----------------------------------------------------------------------------- resume after 202


def test_pending_enrollment_is_saved_and_resumed_with_the_same_request(tmp_path):
    with EstTestServer(pending_retry_after=3600) as srv:
        conf = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem))
        from estclient import HttpAuth

        conf = EstClientConfig(srv.url, trust=conf.trust, http_auth=HttpAuth(srv.username, srv.password))
        builder = CsrBuilder().common_name("pending-1").key_type("ec-p256")
        state = tmp_path / "dev.pem.pending"
        with EstClient(conf) as client:
            pending = PendingEnrollment.start(builder, state)
            assert stat.S_IMODE((state / "request.key").stat().st_mode) == 0o600
            with pytest.raises(PendingTimeout):  # Retry-After: 3600 is beyond the budget: the wait ends
                complete_enrollment(client, pending, tmp_path / "dev.pem", tmp_path / "dev.key", max_wait=5)
        assert not (tmp_path / "dev.pem").exists() and PendingEnrollment.exists(state)
        with pytest.raises(ConfigError):
            PendingEnrollment.start(builder, state)  # one pending enrollment per directory
        # a new client (a new process, later): the same request, the same key, now issued
        with EstClient(conf) as client:
            resumed = PendingEnrollment.load(state)
            assert resumed.csr_der == pending.csr_der and "key=<hidden>" in repr(resumed)
            identity = complete_enrollment(client, resumed, tmp_path / "dev.pem", tmp_path / "dev.key", max_wait=5)
        assert spki(identity.certificate) == spki(builder.private_key)
        assert not state.exists()
        assert stat.S_IMODE((tmp_path / "dev.key").stat().st_mode) == 0o600
        assert [r.status for r in srv.requests if r.path.endswith("simpleenroll") and r.status != 401] == [202, 200]


def test_agent_resumes_a_pending_enrollment_at_its_next_round(tmp_path):
    with EstTestServer(pending_retry_after=3600) as srv:
        cfg = write_config(tmp_path, srv, metrics=False)
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 1  # pending beyond max_pending_wait
        saved = PendingEnrollment.load(tmp_path / "dev.pem.pending")
        assert agent.run_once() == 0
        cert = x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes())
        assert spki(cert) == spki(saved.private_key())


def test_agent_resumes_a_pending_renewal_after_a_restart(tmp_path):
    """A renewal the server holds pending (202) past max_pending_wait keeps its new key and request in
    dev.pem.pending (the working pair untouched); the next process re-sends that same request, though the
    certificate is not due, and the issued certificate carries the saved key (RFC 7030 §4.2.3)."""
    with EstTestServer(cert_lifetime=3600) as srv:
        cfg = write_config(tmp_path, srv, fraction=0.3, metrics=False)
        env = {"EST_TEST_PW": srv.password}
        assert Agent(cfg, environ=env, configure_logs=False).run_once() == 0  # enrolled
        first = (tmp_path / "dev.pem").read_bytes(), (tmp_path / "dev.key").read_bytes()
        srv.pending_retry_after, srv.pending_repeats = 3600, 100
        cfg.write_text(cfg.read_text().replace("[storage]", "check_revocation = true\n[storage]"))
        forced = Agent(cfg, environ=env, configure_logs=False, revocation_check=lambda identity: True)
        assert forced.run_once() == 1  # both attempts pending beyond the budget: the round fails
        saved = PendingEnrollment.load(tmp_path / "dev.pem.pending")
        assert saved.operation == "reenroll"
        assert stat.S_IMODE((tmp_path / "dev.pem.pending" / "request.key").stat().st_mode) == 0o600
        assert ((tmp_path / "dev.pem").read_bytes(), (tmp_path / "dev.key").read_bytes()) == first
        srv.pending_repeats = 1  # this key was seen: its next request is issued
        # a restart; the certificate is not due and not revoked: only the saved renewal makes this round send
        assert Agent(cfg, environ=env, configure_logs=False, revocation_check=lambda identity: False).run_once() == 0
        cert = x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes())
        assert spki(cert) == spki(saved.private_key())
        assert cert != x509.load_pem_x509_certificate(first[0])
        assert not (tmp_path / "dev.pem.pending").exists()
        sent = [r for r in srv.requests if r.path.endswith("simplereenroll") and r.status != 401]
        assert [r.status for r in sent] == [202, 202, 200]


def test_a_damaged_saved_request_is_a_clear_configuration_error(tmp_path):
    """pending.json that cannot be read, or names no known operation: ConfigError with the place, from load and
    from operation_in alike (the agent then stops with its configuration status), never a KeyError or a crash."""
    saved = tmp_path / "dev.pem.pending"
    saved.mkdir()
    assert PendingEnrollment.operation_in(saved) is None
    with pytest.raises(ConfigError, match="no pending enrollment"):
        PendingEnrollment.load(saved)
    for text, message in (("{not json", "cannot read the pending enrollment"),
                          ('{"operation": "other"}', "is not a pending enrollment record"),
                          ("[]", "is not a pending enrollment record")):
        (saved / "pending.json").write_text(text)
        for call in (PendingEnrollment.operation_in, PendingEnrollment.load):
            with pytest.raises(ConfigError, match=message):
                call(saved)
    with EstTestServer() as srv:  # the agent's round reads it first: exit status 2, nothing sent
        cfg = write_config(tmp_path, srv, metrics=False)
        assert Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False).run_once() == 2
        assert not [r for r in srv.requests if "enroll" in r.path]
    with pytest.raises(ConfigError, match="pending_dir"):
        renewal.RenewalConfig(renewal_threshold=1, check_interval=1, pending_dir="")


def test_a_refused_saved_renewal_is_removed():
    from estclient.errors import ServerError, TransportError
    from estclient.renewal import _refuses_request

    assert _refuses_request(ServerError(400, "bad request")) and _refuses_request(ServerError(403))
    assert not any(_refuses_request(e) for e in (ServerError(401), ServerError(429), ServerError(503),
                                                 TransportError("down"), PendingTimeout("later")))


# ----------------------------------------------------------------------------- systemd helpers


def test_sd_notify_and_watchdog_interval(tmp_path):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(5)
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": path})
        assert sock.recv(100) == b"READY=1"
    assert not sd_notify("READY=1", {})
    assert not sd_notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "missing.sock")})
    assert watchdog_interval({"WATCHDOG_USEC": "4000000"}) == 2.0
    assert watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None


# ----------------------------------------------------------------------------- est agent, as a process


def test_est_agent_process_notifies_reloads_on_sighup_and_stops_on_sigterm(tmp_path):
    notify_path = str(tmp_path / "notify.sock")
    with EstTestServer(cert_lifetime=3600) as srv, \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(notify_path)
        notify.settimeout(60)
        cfg = write_config(tmp_path, srv, fraction=0.3, metrics=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EST_")}
        env.update(EST_TEST_PW=srv.password, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="1000000")
        est = Path(sys.executable).with_name("est")
        cmd = [str(est)] if est.exists() else [sys.executable, "-m", "estclient.cli"]
        proc = subprocess.Popen([*cmd, "agent", "--config", str(cfg)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            messages = []
            while "READY=1" not in messages:
                messages.append(notify.recv(200).decode())
            assert (tmp_path / "dev.pem").exists()
            while "WATCHDOG=1" not in messages:  # pinged every half WATCHDOG_USEC while idle
                messages.append(notify.recv(200).decode())
            cfg.write_text(cfg.read_text().replace('level = "info"', "") + '[logging]\nformat = "json"\n')
            proc.send_signal(signal.SIGHUP)
            assert wait_until(lambda: (tmp_path / "dev.pem").exists())
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
            while "STOPPING=1" not in messages:
                messages.append(notify.recv(200).decode())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert "config reloaded" in err
    # after the reload the log is JSON lines
    last = [line for line in err.splitlines() if line.startswith("{")]
    assert last and json.loads(last[-1])["event"] == "stopped"
    assert [m for m in messages if m == "READY=1"] == ["READY=1"]


def test_est_agent_refuses_a_bad_config_with_its_location(tmp_path):
    cfg = tmp_path / "est.toml"
    cfg.write_text('[renewal]\ntreshold = "7d"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("EST_")}
    est = Path(sys.executable).with_name("est")
    cmd = [str(est)] if est.exists() else [sys.executable, "-m", "estclient.cli"]
    proc = subprocess.run([*cmd, "agent", "--config", str(cfg)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "est.toml: [renewal] unknown key 'treshold'" in proc.stderr


# ----------------------------------------------------------------------------- revocation


def test_a_revoked_certificate_is_renewed_at_once(tmp_path):
    """[renewal] check_revocation: the reference server's OCSP responder and CRL say the certificate is revoked;
    the agent renews it at once though it is far from due, and leaves the new (good) one alone."""
    with EstTestServer(cert_lifetime=3600, revocation=True) as srv:
        cfg = write_config(tmp_path, srv, fraction=0.3, metrics=False)
        cfg.write_text(cfg.read_text().replace("[storage]", "check_revocation = true\n[storage]"))
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 0  # enrolled
        first = x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes())
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 0  # good and not due: nothing to do
        assert x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes()) == first
        srv.revoke(first)
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 0  # revoked: renewed now
        second = x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes())
        assert second.serial_number != first.serial_number
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 0
        assert x509.load_pem_x509_certificate((tmp_path / "dev.pem").read_bytes()) == second


def test_failed_rounds_back_off_up_to_the_bound_and_keep_the_pair(tmp_path):
    with EstTestServer(cert_lifetime=3600) as srv:
        cfg = write_config(tmp_path, srv, fraction=0.3, metrics=False)
        agent = Agent(cfg, environ={"EST_TEST_PW": srv.password}, configure_logs=False)
        assert agent.run_once() == 0
        pair = ((tmp_path / "dev.pem").read_bytes(), (tmp_path / "dev.key").read_bytes())
    # the server is gone (its port refuses connections) and the certificate is due (a revocation check says so)
    text = cfg.read_text().replace("retry_delay = 0.2", "retry_delay = 2\nmax_retry_delay = 5") \
        .replace("max_retries = 1", "max_retries = 0").replace("[storage]", "check_revocation = true\n[storage]")
    cfg.write_text(text)
    agent = Agent(cfg, environ={"EST_TEST_PW": "x"}, configure_logs=False, revocation_check=lambda identity: True)
    delays = [agent.round() for _ in range(4)]
    agent.close()
    assert delays == [2.0, 4.0, 5.0, 5.0]
    assert ((tmp_path / "dev.pem").read_bytes(), (tmp_path / "dev.key").read_bytes()) == pair
