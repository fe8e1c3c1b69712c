"""``est agent``: run the renewal agent (:mod:`estclient.agent`) in the foreground, or one round (``--once``).

Registered by the command line with ``add_parser(subparsers)``; ``run(args)`` returns the exit status.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Keep one certificate alive: enroll when there is none, renew it by the renewal policy, run the deploy hooks
after each new pair, export metrics. Runs until SIGTERM (SIGHUP reloads the config file); with --once it does
one round and exits (for a systemd timer or a CronJob). Settings come from the TOML file (est config init).

exit status: 0 stopped (or, with --once, a valid certificate in place and its hooks run), 1 (--once) the round
failed, 2 configuration error (including a renewal threshold not shorter than the certificate's lifetime).
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``agent`` to the ``est`` subcommands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "agent", help="keep a certificate alive: enroll, renew, deploy hooks, metrics (until SIGTERM)",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="TOML",
                   help="config file (default: $EST_CONFIG, ./est.toml, ~/.config/est/est.toml, /etc/est/est.toml)")
    p.add_argument("--once", action="store_true", help="one round, then exit (for timers and CronJobs)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``est agent`` with parsed ``args``; returns the exit status."""
    from ..agent import EXIT_CONFIG, Agent
    from ..errors import ConfigError

    try:
        agent = Agent(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"est agent: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_CONFIG
    if getattr(args, "once", False):
        return agent.run_once()
    return agent.run()

cmd_agent = run  # the name the command line dispatches to
