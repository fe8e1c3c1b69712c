"""``python -m estcodec SUBCOMMAND ...``: command-line tools of the codec.

Subcommands are registered in ``SUBCOMMANDS`` below: each entry names a function that adds the subcommand's
arguments to its argparse parser and a ``run(args) -> int`` function (imported lazily, so one tool's imports
do not slow down another). To add a subcommand, write ``_add_NAME(parser)`` and a
``run`` in its own module, and add one line to ``SUBCOMMANDS``.

Exit status: 0 on success, 1 when the input is bad (one line on stderr), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence


def _add_dump(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="DER, BER, PEM or base64 file ('-' for stdin)")
    p.add_argument("--ber", action="store_true", help="parse as BER directly (default: DER, BER as fallback)")
    p.add_argument("--no-expand", action="store_true",
                   help="do not expand DER encapsulated in OCTET STRINGs and BIT STRINGs")


def _add_show(p: argparse.ArgumentParser) -> None:
    from .show import add_arguments

    add_arguments(p)


def _add_compile(p: argparse.ArgumentParser) -> None:
    p.add_argument("modules", metavar="MODULE.asn", nargs="+", help="ASN.1 module files (imports resolved among them)")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the models ('-' or absent: stdout)")
    p.add_argument("--strict", action="store_true",
                   help="refuse ambiguous CHOICEs and clashing OPTIONAL tags instead of compiling them as open types")
    p.add_argument("--omit-unsupported", action="store_true",
                   help="leave out the types that cannot be compiled (named on stderr) instead of failing")


# name -> (help, add_arguments, "module:function" run with the parsed args, returning the exit status)
SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str]] = {
    "dump": ("print the element tree of a DER/BER/PEM/base64 file", _add_dump, "estcodec.dump:run"),
    "show": ("recognise a PKI structure (certificate, CSR, CMC, CMS, CSR attributes, key) and summarise it",
             _add_show, "estcodec.show:run"),
    "compile": ("compile ASN.1 modules into estcodec model declarations (Python source; needs asn1tools)",
                _add_compile, "estcodec.asn1:run"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m estcodec", description="estcodec command-line tools")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_text, add_arguments, _target) in SUBCOMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = SUBCOMMANDS[args.command][2].split(":")
    run = getattr(importlib.import_module(module_name), func_name)
    try:
        rc = int(run(args))
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        # the reader went away (`... | head`): stop quietly, as the Python docs recommend for SIGPIPE
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
