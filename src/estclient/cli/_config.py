"""``est config init|validate|show``: write a commented config file, check one, print the effective settings.

Registered by the command line with ``add_parser(subparsers)``; ``run(args)`` returns the exit status.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

__all__ = ["add_parser", "run", "TEMPLATE", "to_toml"]

TEMPLATE = """\
# est.toml: settings of `est agent` (and the connection settings of every `est` command).
# Strings may use ${VAR} or ${VAR:-default} from the environment; relative paths are relative to this file.
# Unknown keys are refused. Check the file with `est config validate`, see the result with `est config show`.

[server]
url = "https://est.example.com:8443"     # https://host[:port]
# label = "arbitraryLabel1"              # CA label (RFC 7030 section 3.2.2)
# timeout = "30s"                        # each network step; a whole operation gets four times this
# min_retry_delay = "1s"                 # the least a 202 wait lasts
# channel_binding = "auto"               # auto | require | off

[trust]
anchors = "ca.pem"                       # the CA certificates the server's TLS certificate chains to
# bootstrap_fingerprint = "SHA256HEX"    # or: fetch /cacerts once and accept it by this fingerprint
# system = true                          # or: the system trust store

[auth]                                   # HTTP credentials for the first enrollment (sent only over verified TLS)
# user = "device-1"
# password_file = "est.pass"             # or password = "${EST_PASSWORD}"
# scheme = "basic"                       # basic | digest

[certificate]                            # what the first enrollment asks for; renewals copy the certificate
# name = "web"                           # the name in metrics and logs (default: the certificate file's stem)
common_name = "device-1.example.com"
# organization = "Example"
san_dns = ["device-1.example.com"]
# san_ip = ["192.0.2.10"]
key_type = "ec-p256"                     # ec-p256 | ec-p384 | rsa-2048 | rsa-3072 | ed25519 ...
# key_usage = ["digital_signature"]
# extended_key_usage = ["client_auth"]
# use_csrattrs = true                    # apply the server's /csrattrs

[renewal]
fraction = 0.3333                        # renew when a third of the lifetime is left ...
# threshold = "7d"                       # ... or when this is left, whichever comes first
check_interval = "1h"
max_retries = 3                          # per renewal, with growing delays
retry_delay = "5s"
max_retry_delay = "5m"
max_pending_wait = "10m"                 # how long one attempt waits out HTTP 202
# new_key = true
# check_revocation = false               # renew at once when the certificate is revoked (CRL/OCSP)

[storage]
cert = "device.pem"
key = "device.key"                       # written 0600, atomically; the old pair stays until the new is in place
# pending_dir = "device.pem.pending"     # a pending (202) enrollment's key and request
# cert_mode = "0644"

[hooks]                                  # run after each new pair; EST_CERT_PATH, EST_KEY_PATH, EST_CERT_NAME,
# deploy = ["systemctl reload nginx"]    # EST_EVENT in the environment; a string or an argv list per command
# timeout = "60s"
# max_attempts = 5
# retry_delay = "30s"

[metrics]                                # needs the 'metrics' extra (prometheus-client)
# listen = "127.0.0.1:9469"
# textfile = "/var/lib/node_exporter/textfile_collector/est.prom"

[logging]
level = "info"                           # debug | info | warning | error
format = "text"                          # text | json (one JSON object a line)
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``config`` (with ``init``, ``validate``, ``show``) to the ``est`` subcommands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "config", help="write (init), check (validate) or print (show) a config file",
        description="Write a commented config file (init), check one (validate: unknown keys and bad values are "
                    "reported with their location), or print the effective settings (show; secrets hidden).")
    actions = p.add_subparsers(dest="config_action", metavar="ACTION")
    actions.required = True
    a = actions.add_parser("init", help="write a commented config file")
    a.add_argument("path", nargs="?", default="est.toml", help="where (default ./est.toml)")
    a.add_argument("--force", action="store_true", help="replace an existing file")
    for name, text in (("validate", "check a config file"), ("show", "print the effective settings")):
        a = actions.add_parser(name, help=text)
        a.add_argument("--config", metavar="TOML", help="the file (default: the search order)")
        if name == "show":
            a.add_argument("--json", action="store_true", help="as JSON instead of TOML")
    p.set_defaults(func=run)
    return p


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        # a JSON string is a valid TOML basic string; "$" doubled so that ${...} is not expanded again
        return json.dumps(v.replace("$", "$$"), ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(type(v).__name__)  # pragma: no cover


def to_toml(doc: dict[str, dict[str, Any]]) -> str:
    """Sections of plain values (strings, numbers, booleans, lists of them) as TOML text that reads back to the
    same values (``$`` written as ``$$``)."""
    lines: list[str] = []
    for section, values in doc.items():
        lines.append(f"[{section}]")
        for key, v in values.items():
            lines.append(f"{key} = {_value(v)}")
        lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``est config ACTION`` with parsed ``args``; returns the exit status."""
    from .._atomic import write_atomic
    from ..config_file import find_config, load_config
    from ..errors import ConfigError

    try:
        if args.config_action == "init":
            path = args.path
            if os.path.exists(path) and not args.force:
                print(f"est config: error: {path} exists (use --force to replace it)", file=sys.stderr)
                return 9
            write_atomic(path, TEMPLATE.encode("utf-8"), 0o644)
            print(f"wrote {path}: edit it, then `est config validate --config {path}`")
            return 0
        path = args.config or find_config()
        cfg = load_config(path)
        if args.config_action == "validate":
            print(f"{cfg.path}: ok")
            return 0
        doc = cfg.to_dict()
        if args.json:
            print(json.dumps({"path": cfg.path, **doc}, indent=2))
        else:
            print(f"# effective settings of {cfg.path} (secrets hidden)")
            print(to_toml(doc), end="")
        return 0
    except ConfigError as exc:
        print(f"est config: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"est config: error: {exc.strerror or exc}", file=sys.stderr)
        return 9

cmd_config = run  # the name the command line dispatches to
