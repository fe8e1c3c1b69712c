"""estclient.config_file and the renewal policy: sections, unknown keys with their location, ${VAR}, the flat
files of earlier versions, the search order, `est config init|validate|show`; RenewalPolicy's arithmetic and its
refusal of a threshold that would renew right after issuance."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from estclient.config_file import find_config, load_config, parse_config, parse_duration, search_paths
from estclient.errors import ConfigError
from estclient.renewal import RenewalConfig, RenewalPolicy
from estclient.testing import EstTestServer
from estclient.cli._config import TEMPLATE, to_toml

UTC = dt.timezone.utc


def est(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("est")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "estclient.cli"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **(env or {})})


# ----------------------------------------------------------------------------- policy


class FakeCert:
    def __init__(self, lifetime_s: float, start: dt.datetime = dt.datetime(2030, 1, 1, tzinfo=UTC)) -> None:
        self.not_valid_before_utc = start
        self.not_valid_after_utc = start + dt.timedelta(seconds=lifetime_s)
        self.serial_number = 1


def test_policy_fraction_and_threshold_whichever_comes_first():
    cert = FakeCert(30 * 86400)
    start = cert.not_valid_before_utc
    third = RenewalPolicy()
    assert third.renew_at(cert) == start + dt.timedelta(days=20)
    assert not third.due(cert, start + dt.timedelta(days=19, hours=23))
    assert third.due(cert, start + dt.timedelta(days=20))
    # the threshold, when it comes first (more time left), wins; otherwise the fraction
    assert RenewalPolicy(threshold=dt.timedelta(days=15)).renew_at(cert) == start + dt.timedelta(days=15)
    assert RenewalPolicy(threshold=86400).renew_at(cert) == start + dt.timedelta(days=20)
    assert RenewalPolicy(fraction=None, threshold=86400).renew_at(cert) == start + dt.timedelta(days=29)
    assert RenewalPolicy(fraction=0.5).margin(cert) == 15 * 86400


@pytest.mark.parametrize("threshold", [30 * 86400, 60 * 86400])
def test_policy_refuses_a_threshold_that_renews_right_after_issuance(threshold):
    cert = FakeCert(30 * 86400)
    policy = RenewalPolicy(threshold=threshold)
    with pytest.raises(ConfigError, match=r"not shorter than the certificate's lifetime \(30d\)"):
        policy.check(cert)
    with pytest.raises(ConfigError):
        policy.due(cert, cert.not_valid_before_utc)


@pytest.mark.parametrize("kwargs", [dict(fraction=0), dict(fraction=1), dict(fraction=True), dict(fraction="x"),
                                    dict(threshold=0), dict(threshold=-1), dict(fraction=None, threshold=None)])
def test_policy_refuses_bad_values(kwargs):
    with pytest.raises(ConfigError):
        RenewalPolicy(**kwargs)


def test_renewal_config_takes_a_policy():
    assert RenewalConfig(1, 1, policy=RenewalPolicy()).policy == RenewalPolicy()
    with pytest.raises(ConfigError):
        RenewalConfig(1, 1, policy=42)


# ----------------------------------------------------------------------------- parsing


FULL = """
[server]
url = "https://est.example:8443"
label = "${LABEL:-tenant1}"
timeout = "10s"
[trust]
anchors = "certs/ca.pem"
[auth]
user = "dev"
password = "${PW}"
scheme = "digest"
[certificate]
common_name = "dev.example"
san_dns = ["dev.example", "alt.example"]
key_type = "ec-p384"
key_usage = ["digital_signature"]
extended_key_usage = ["client_auth"]
[renewal]
fraction = 0.25
threshold = "7d"
check_interval = "15m"
[storage]
cert = "dev.pem"
key = "${HOME_DIR}/dev.key"
cert_mode = "0640"
[hooks]
deploy = ["systemctl reload nginx", ["/bin/echo", "$${NOT_EXPANDED}"]]
[metrics]
listen = "127.0.0.1:9469"
[logging]
format = "json"
"""


def test_full_file_is_read_with_expansion_and_relative_paths(tmp_path):
    try:
        import tomllib
    except ImportError:  # Python 3.10: the backport the package depends on there
        import tomli as tomllib

    path = tmp_path / "est.toml"
    cfg = parse_config(tomllib.loads(FULL), path=str(path), environ={"PW": "s3cret", "HOME_DIR": "/srv"})
    assert cfg.server.url == "https://est.example:8443" and cfg.server.label == "tenant1"
    assert cfg.server.timeout == 10.0
    assert cfg.trust.anchors == str(tmp_path / "certs" / "ca.pem")
    assert cfg.auth.password == "s3cret" and cfg.auth.scheme == "digest"
    assert cfg.renewal.fraction == 0.25 and cfg.renewal.threshold == 7 * 86400 and cfg.renewal.check_interval == 900
    assert cfg.storage.key == "/srv/dev.key" and cfg.storage.cert_mode == 0o640
    assert cfg.hooks.deploy == [["systemctl", "reload", "nginx"], ["/bin/echo", "${NOT_EXPANDED}"]]
    assert cfg.logging.format == "json"
    assert "s3cret" not in repr(cfg) and "s3cret" not in json.dumps(cfg.to_dict())
    assert cfg.to_dict()["auth"]["password"] == "<hidden>"
    policy = cfg.renewal_policy()
    assert (policy.fraction, policy.threshold) == (0.25, 7 * 86400)
    builder = cfg.csr_builder()
    assert builder.selected_key_type == "ec-p384"
    # `est config show` prints TOML that reads back to the same values
    again = parse_config(tomllib.loads(to_toml(cfg.to_dict(hide_secrets=False))), path=str(path), environ={})
    assert again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize("text, message", [
    ('[renewal]\ntreshold = "7d"\n', "est.toml: [renewal] unknown key 'treshold'"),
    ('[renewall]\nfraction = 0.3\n', "est.toml: unknown key 'renewall'"),
    ('[renewal]\nfraction = 1.5\n', "est.toml: [renewal] fraction: expected a number between 0 and 1"),
    ('[renewal]\ncheck_interval = "soon"\n', "est.toml: [renewal] check_interval: not a duration"),
    ('[server]\nurl = 5\n', "est.toml: [server] url: expected a string, got an integer"),
    ('[auth]\npassword = "${MISSING}"\n', "est.toml: [auth] password: ${MISSING} is not set"),
    ('[auth]\npassword = "${oops"\n', "malformed"),
    ('[server]\nchannel_binding = "maybe"\n', "must be one of auto, require, off"),
    ('[storage]\ncert = "a.pem"\n', "[storage] cert and key go together"),
    ('[hooks]\ndeploy = [1]\n', "[hooks] deploy[0]: a command is a string or a list of strings"),
    ('[trust]\nanchors = "a"\nbootstrap_fingerprint = "b"\n', "not both"),
    ('[server]\nlabel = "simpleenroll"\n', "[server] label"),
    ("[est]\nserver = \"https://a\"\nbogus = 1\n", "[est] unknown key 'bogus'"),
    ('[est]\nserver = "https://a"\n[server]\nurl = "https://b"\n', "given twice"),
])
def test_bad_values_and_unknown_keys_are_refused_with_their_location(tmp_path, text, message):
    path = tmp_path / "est.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert message in str(info.value)


def test_flat_files_of_earlier_versions_stay_valid(tmp_path):
    (tmp_path / "flat.toml").write_text('server = "https://est.example"\nlabel = "l1"\ntrust = "ca.pem"\n'
                                        'user = "u"\npassword_file = "pw"\ndigest = true\ntimeout = 5\n'
                                        'cert = "c.pem"\nkey = "c.key"\nchannel-binding = "off"\n')
    (tmp_path / "table.toml").write_text('[est]\nserver = "https://est.example"\nbootstrap_fingerprint = "ab"\n')
    flat = load_config(tmp_path / "flat.toml", environ={})
    assert flat.server.url == "https://est.example" and flat.server.label == "l1"
    assert flat.trust.anchors == str(tmp_path / "ca.pem") and flat.auth.scheme == "digest"
    assert flat.storage.cert == str(tmp_path / "c.pem") and flat.server.channel_binding == "off"
    assert flat.connection_settings() == {
        "server": "https://est.example", "label": "l1", "trust": str(tmp_path / "ca.pem"),
        "cert": str(tmp_path / "c.pem"), "key": str(tmp_path / "c.key"), "user": "u",
        "password_file": str(tmp_path / "pw"), "digest": True, "timeout": 5.0, "channel_binding": "off"}
    assert load_config(tmp_path / "table.toml", environ={}).trust.bootstrap_fingerprint == "ab"


def test_search_order(tmp_path):
    cwd, xdg, etc = tmp_path / "cwd", tmp_path / "xdg", tmp_path / "etc"
    for d in (cwd, xdg / "est", etc):
        d.mkdir(parents=True)
    env = {"XDG_CONFIG_HOME": str(xdg)}
    assert search_paths(env, cwd=cwd, system_dir=etc) == [cwd / "est.toml", xdg / "est" / "est.toml",
                                                          etc / "est.toml"]
    assert search_paths({"HOME": "/home/u"}, cwd=cwd, system_dir=etc)[1] == Path("/home/u/.config/est/est.toml")
    assert find_config(env, cwd=cwd, system_dir=etc) is None
    (etc / "est.toml").write_text("")
    assert find_config(env, cwd=cwd, system_dir=etc) == etc / "est.toml"
    (xdg / "est" / "est.toml").write_text("")
    assert find_config(env, cwd=cwd, system_dir=etc) == xdg / "est" / "est.toml"
    (cwd / "est.toml").write_text("")
    assert find_config(env, cwd=cwd, system_dir=etc) == cwd / "est.toml"
    named = tmp_path / "named.toml"
    assert find_config({**env, "EST_CONFIG": str(named)}, cwd=cwd, system_dir=etc) == named
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(None, environ={"EST_CONFIG": str(named)})


def test_durations():
    assert [parse_duration(v) for v in (90, "90", "90s", "15m", "12h", "30d", "1w", 1.5)] == \
        [90, 90, 90, 900, 43200, 2592000, 604800, 1.5]
    for bad in ("", "-1s", "1y", True, None, 0):
        with pytest.raises(ConfigError):
            parse_duration(bad)


def test_client_config_from_the_file_talks_to_the_server(tmp_path):
    from estclient import EstClient

    with EstTestServer() as srv:
        (tmp_path / "ca.pem").write_bytes(srv.trust_anchor_pem)
        (tmp_path / "pw").write_text(srv.password + "\n")
        (tmp_path / "est.toml").write_text(
            f'[server]\nurl = "{srv.url}/.well-known/est/"\n[trust]\nanchors = "ca.pem"\n'
            f'[auth]\nuser = "{srv.username}"\npassword_file = "pw"\n')
        cfg = load_config(tmp_path / "est.toml", environ={})
        with EstClient(cfg.client_config()) as client:
            assert client.config.http_auth.password == srv.password
            assert client.get_ca_certs().certificates


def test_password_file_first_line_counts_and_may_not_be_empty(tmp_path):
    from estclient._file_client import read_password

    (tmp_path / "pw").write_text("s3cret\r\nanother line\n")
    (tmp_path / "est.toml").write_text('[server]\nurl = "https://est.example"\n[auth]\nuser = "u"\n'
                                       'password_file = "pw"\n')
    assert read_password(load_config(tmp_path / "est.toml", environ={})) == "s3cret"
    (tmp_path / "pw").write_text("\ns3cret\n")
    with pytest.raises(ConfigError, match="empty") as info:
        read_password(load_config(tmp_path / "est.toml", environ={}))
    assert "s3cret" not in str(info.value)
    (tmp_path / "pw").write_bytes(b"s3cr\xe9t\n")   # latin-1, not UTF-8: refused, the bytes not shown
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        read_password(load_config(tmp_path / "est.toml", environ={}))
    assert "s3cr" not in str(info.value)


# ----------------------------------------------------------------------------- est config


def test_est_config_init_validate_show(tmp_path):
    r = est("config", "init", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "est.toml").read_text()
    assert text == TEMPLATE and text.count("#") > 30
    assert est("config", "init", cwd=tmp_path).returncode == 9  # no overwrite without --force
    assert est("config", "init", "--force", cwd=tmp_path).returncode == 0
    r = est("config", "validate", cwd=tmp_path)  # found as ./est.toml
    assert r.returncode == 0 and r.stdout.strip().endswith("est.toml: ok"), r.stderr
    (tmp_path / "est.toml").write_text(text.replace("[auth]", '[auth]\npassword = "${EST_PW}"'))
    r = est("config", "show", cwd=tmp_path, env={"EST_PW": "hunter2"})
    assert r.returncode == 0, r.stderr
    assert "hunter2" not in r.stdout and 'password = "<hidden>"' in r.stdout
    assert 'url = "https://est.example.com:8443"' in r.stdout
    doc = json.loads(est("config", "show", "--json", cwd=tmp_path, env={"EST_PW": "x"}).stdout)
    assert doc["renewal"]["fraction"] == 0.3333 and doc["storage"]["cert"] == str(tmp_path / "device.pem")
    (tmp_path / "bad.toml").write_text("[renewal]\nfractoin = 0.3\n")
    r = est("config", "validate", "--config", str(tmp_path / "bad.toml"), cwd=tmp_path)
    assert r.returncode == 2 and "bad.toml: [renewal] unknown key 'fractoin'" in r.stderr


def test_split_well_known_takes_origin_and_label_from_the_printed_form() -> None:
    from estclient.config import split_well_known

    assert split_well_known("https://h:1/.well-known/est/lbl/") == ("https://h:1", "lbl")
    assert split_well_known("https://h:1/.well-known/est/lbl/", "given") == ("https://h:1", "given")
    assert split_well_known("https://h:1/.well-known/est") == ("https://h:1", None)
    # anything else is left for EstClientConfig to refuse
    for url in ("https://h:1/.well-known/estX/", "https://h/.well-known/est/a?x=1", "https://h/other"):
        assert split_well_known(url) == (url, None)
