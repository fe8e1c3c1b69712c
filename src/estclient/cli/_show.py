"""``est show``: recognise and summarise a PKI file (the summaries are :mod:`estcodec.show`'s); its errors are
printed in the command's one format, ``est show: error: FILE: REASON``."""
from __future__ import annotations

import argparse

__all__ = ["cmd_show"]


def cmd_show(args: argparse.Namespace) -> int:
    """Summarise each file of ``args.files``; 0 when every one was recognised, else 1."""
    from estcodec.show import run

    return run(args, prog="est show")
